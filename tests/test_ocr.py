"""OCR of scans with the real Tesseract: image files and image-only PDF pages, made here; their
text cached; scans in a folder ingested and cited with their page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from office_files import make_scan

from qa import ocr
from qa.assistant import Assistant
from qa.config import Settings
from qa.corpus import load_corpus
from qa.ingest.pipeline import ingest
from qa.pages import page_of
from qa.testing import FakeEmbedder, FakeGenerator

LINES = ["Alibaba investiert 380 Milliarden Yuan", "in Rechenzentren und Cloud-Dienste."]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _scan(path: Path, lines: list[str] = LINES) -> Path:
    return make_scan(path, lines)  # .png: an image; .pdf: a PDF page holding only that image


def _mixed_pdf(path: Path, tmp: Path) -> Path:
    """Page 1 with a text layer, page 2 a scan (an image only)."""
    from fpdf import FPDF

    png = _scan(tmp / "page2.png", ["Der Umsatz stieg auf 412 Millionen Euro.",
                                    "Das meldete die Nordwind AG."])
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, "Der Leuchtturm von Hoernum wurde 1907 gebaut. Er ist 34 Meter hoch.")
    pdf.add_page()
    pdf.image(str(png), x=10, y=10, w=190)
    pdf.output(str(path))
    return path


def test_an_image_is_read(tmp_path: Path) -> None:
    got = ocr.ocr_image(_scan(tmp_path / "scan.png").read_bytes())
    assert "380 Milliarden Yuan" in got.text and "Rechenzentren" in got.text
    assert len(got.pages) == 1 and got.seconds > 0


def test_a_pdf_page_without_text_layer_is_read(tmp_path: Path) -> None:
    from pypdf import PdfReader

    pdf = _scan(tmp_path / "scan.pdf")
    assert ocr.needs_ocr(PdfReader(pdf).pages[0].extract_text())
    texts, seconds = ocr.ocr_pdf_pages(pdf.read_bytes(), [0])
    assert "380 Milliarden" in texts[0] and seconds > 0


def test_an_unchanged_scan_is_not_read_again(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    data = _scan(tmp_path / "scan.png").read_bytes()
    first = ocr.ocr_image(data)

    def no_tesseract(*args: Any) -> str:
        raise AssertionError("read again")

    monkeypatch.setattr(ocr, "_read", no_tesseract)
    assert ocr.ocr_image(data) == first
    assert list((tmp_path / "cache" / "qa" / "ocr").glob("*.json"))


def test_missing_tesseract_says_what_to_install(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr.shutil, "which", lambda name: None)
    with pytest.raises(ocr.OCRUnavailable, match="apt-get install tesseract-ocr"):
        ocr.ocr_image(_scan(tmp_path / "scan.png").read_bytes())


def test_missing_language_data_is_named(tmp_path: Path) -> None:
    with pytest.raises(ocr.OCRUnavailable, match="tesseract-ocr-xyz"):
        ocr.ocr_image(_scan(tmp_path / "scan.png").read_bytes(), languages="deu+xyz")


def test_a_corrupt_image_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="not a readable image"):
        ocr.ocr_image(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)


def test_a_huge_image_is_refused_before_decoding(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "MAX_PIXELS", 1000)
    with pytest.raises(ValueError, match="too large"):
        ocr.ocr_image(_scan(tmp_path / "scan.png").read_bytes())


# -- scans in a folder ---------------------------------------------------------------------------
def _folder(tmp_path: Path) -> Path:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    _scan(corpus / "foto.png")
    _scan(corpus / "scan.pdf", ["Die Fabrik in Husum hat 48 Mitarbeiter.",
                                "Sie wurde 2019 eröffnet."])
    _mixed_pdf(corpus / "gemischt.pdf", tmp_path)
    (corpus / "kaputt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    return corpus


def test_scans_in_a_folder_are_read_with_their_pages(tmp_path: Path) -> None:
    got = load_corpus([_folder(tmp_path)])
    docs = {d.source: d for d in got.documents}
    assert sorted(docs) == ["foto.png", "gemischt.pdf", "scan.pdf"]
    assert [s.path for s in got.skipped] == ["kaputt.png"]
    assert "not a readable image" in got.skipped[0].reason
    assert "380 Milliarden" in docs["foto.png"].text and docs["foto.png"].meta["ocr_pages"] == "1"
    assert "48 Mitarbeiter" in docs["scan.pdf"].text
    mixed = docs["gemischt.pdf"]
    assert mixed.meta["ocr_pages"] == "1" and float(mixed.meta["ocr_seconds"]) > 0
    assert page_of(mixed.meta, mixed.text.index("1907"), "de") == (1, "S. 1")
    assert page_of(mixed.meta, mixed.text.index("412 Millionen"), "de") == (2, "S. 2")


def test_without_tesseract_scans_are_skipped_and_text_pages_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr.shutil, "which", lambda name: None)
    got = load_corpus([_folder(tmp_path)])
    assert [d.source for d in got.documents] == ["gemischt.pdf"]  # its text page
    assert "1907" in got.documents[0].text and "412" not in got.documents[0].text
    reasons = {s.path: s.reason for s in got.skipped}
    assert "install Tesseract" in reasons["scan.pdf"] and "install Tesseract" in reasons["foto.png"]


def test_a_question_about_a_scanned_page_is_cited_with_its_page(tmp_path: Path) -> None:
    corpus = _folder(tmp_path)
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", data_dir=tmp_path / "data",
                 embed_model="fake-embedder", cache_dir=tmp_path / "models")
    embedder, generator = FakeEmbedder(), FakeGenerator()
    report, skipped = ingest(s, embedder=embedder)
    assert len(report.added) == 3 and [k.path for k in skipped] == ["kaputt.png"]
    generator.enqueue("Der Umsatz stieg auf 412 Millionen Euro [1].")
    a = Assistant.load(s, embedder=embedder, generator=generator).ask(
        "Auf wie viel stieg der Umsatz der Nordwind AG?")
    assert not a.abstained, a.abstain_reason
    [c] = [c for c in a.citations if c.source == "gemischt.pdf"]
    assert "412 Millionen" in c.quote and (c.page, c.page_label) == (2, "S. 2")


def test_the_ingest_names_each_file_read_by_ocr(tmp_path: Path) -> None:
    from qa.ingest.pipeline import ocr_note

    corpus = _folder(tmp_path)
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", data_dir=tmp_path / "data",
                 embed_model="fake-embedder", cache_dir=tmp_path / "models")
    report, _ = ingest(s, embedder=FakeEmbedder())
    assert sorted(n.split(":")[0] for n in report.notes) == ["foto.png", "gemischt.pdf",
                                                             "scan.pdf"]
    assert all("read by OCR in" in n and "per page" in n for n in report.notes)
    again, _ = ingest(s, embedder=FakeEmbedder())
    assert again.notes == [] and not again.wrote  # unchanged: no line, nothing read again
    assert ocr_note("a.png", {"ocr_pages": "1", "ocr_seconds": "2.0"}) == (
        "a.png: 1 page read by OCR in 2.0 s (2.0 s per page)")
