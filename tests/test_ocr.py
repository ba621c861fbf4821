"""OCR of scans with the real Tesseract: an image file and an image-only PDF page, made here."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from qa import ocr

LINES = ["Alibaba investiert 380 Milliarden Yuan", "in Rechenzentren und Cloud-Dienste."]


def _scan(path: Path) -> Path:
    font = ImageFont.load_default(size=36)
    img = Image.new("RGB", (1400, 260), "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(LINES):
        draw.text((40, 40 + 80 * i), line, fill="black", font=font)
    img.save(path)  # .png: an image; .pdf: a PDF page holding only that image (a scan)
    return path


def test_an_image_is_read(tmp_path: Path) -> None:
    got = ocr.ocr_image(_scan(tmp_path / "scan.png"))
    assert "380 Milliarden Yuan" in got.text and "Rechenzentren" in got.text
    assert got.pages == 1 and got.seconds > 0


def test_a_pdf_page_without_text_layer_is_read(tmp_path: Path) -> None:
    from pypdf import PdfReader

    pdf = _scan(tmp_path / "scan.pdf")
    assert ocr.needs_ocr(PdfReader(pdf).pages[0].extract_text())
    texts, seconds = ocr.ocr_pdf_pages(pdf, [0])
    assert "380 Milliarden" in texts[0] and seconds > 0


def test_missing_tesseract_says_what_to_install(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr.shutil, "which", lambda name: None)
    with pytest.raises(ocr.OCRUnavailable, match="apt-get install tesseract-ocr"):
        ocr.ocr_image(_scan(tmp_path / "scan.png"))


def test_missing_language_data_is_named(tmp_path: Path) -> None:
    with pytest.raises(ocr.OCRUnavailable, match="tesseract-ocr-xyz"):
        ocr.ocr_image(_scan(tmp_path / "scan.png"), languages="deu+xyz")


def test_a_corrupt_image_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(ValueError, match="not a readable image"):
        ocr.ocr_image(bad)


def test_a_huge_image_is_refused_before_decoding(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "MAX_PIXELS", 1000)
    with pytest.raises(ValueError, match="too large"):
        ocr.ocr_image(_scan(tmp_path / "scan.png"))
