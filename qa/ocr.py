"""OCR for scans: image files, and PDF pages without a text layer, read with Tesseract.

Tesseract is a system program (Debian: ``tesseract-ocr`` with ``tesseract-ocr-deu`` and
``-eng``; ``make install`` installs them), called through ``pytesseract``; PDF pages are
rendered with ``pypdfium2`` (the PDFium library in a wheel, no system package). OCR runs only
where there is no text to read: an image file, or a PDF page whose text layer holds fewer than
``MIN_PAGE_CHARS`` characters. A page with a text layer is never OCR'd, so a digital PDF costs
nothing extra.

The price is time, about one to three seconds per page on one core at 200 dpi, measured in the
README; a file that needs OCR while Tesseract is missing is skipped with a reason that says what
to install, and never stops the rest of the ingest.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")
MIN_PAGE_CHARS = 20  # a PDF page with less text than this (not counting spaces) is a scan
DEFAULT_LANGUAGES = "deu+eng"
DPI = 200
MAX_PIXELS = 60_000_000  # a bigger image (decompression bomb) is refused, not decoded


class OCRUnavailable(ValueError):
    """Tesseract (or its language data) is not installed: the reason says what to install."""


@dataclass(frozen=True)
class OCRText:
    text: str
    pages: int
    seconds: float


def needs_ocr(page_text: str) -> bool:
    """A PDF page with (almost) no text layer.

    >>> needs_ocr(""), needs_ocr("  3 \\n"), needs_ocr("Ein ganzer Satz mit Wörtern.")
    (True, True, False)
    """
    return len("".join(page_text.split())) < MIN_PAGE_CHARS


def check_tesseract(languages: str = DEFAULT_LANGUAGES) -> None:
    """Raise :class:`OCRUnavailable` unless Tesseract and the language data are installed."""
    if shutil.which("tesseract") is None:
        raise OCRUnavailable("a scan (no text layer): install Tesseract to read it "
                             "(Debian: apt-get install tesseract-ocr tesseract-ocr-deu "
                             "tesseract-ocr-eng)")
    import pytesseract

    have = set(pytesseract.get_languages(config=""))
    missing = [lang for lang in languages.split("+") if lang not in have]
    if missing:
        raise OCRUnavailable(f"a scan (no text layer): Tesseract lacks the language data "
                             f"{', '.join(missing)} (Debian: apt-get install "
                             f"{' '.join('tesseract-ocr-' + m for m in missing)})")


def _read(image: Any, languages: str) -> str:
    import pytesseract

    return str(pytesseract.image_to_string(image, lang=languages))


def ocr_image(path: Path, languages: str = DEFAULT_LANGUAGES) -> OCRText:
    """The text of an image file (every frame of a multi-page TIFF)."""
    from PIL import Image, ImageSequence

    check_tesseract(languages)
    t0 = time.perf_counter()
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_PIXELS:
                raise ValueError(f"image too large to read ({img.width}x{img.height} pixels)")
            texts = [_read(frame.convert("RGB"), languages)
                     for frame in ImageSequence.Iterator(img)]
    except (OSError, Image.DecompressionBombError) as e:
        raise ValueError(f"not a readable image ({e})") from None
    return OCRText("\n\n".join(t.strip() for t in texts), len(texts), time.perf_counter() - t0)


def ocr_pdf_pages(path: Path, pages: Sequence[int], languages: str = DEFAULT_LANGUAGES,
                  dpi: int = DPI) -> tuple[dict[int, str], float]:
    """The OCR text of the given (0-based) pages of a PDF, and the seconds it took."""
    import pypdfium2 as pdfium

    check_tesseract(languages)
    t0 = time.perf_counter()
    out: dict[int, str] = {}
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        raise ValueError(f"cannot render the PDF for OCR ({e})") from None
    try:
        for i in pages:
            page = pdf[i]
            try:
                w, h = page.get_size()
                scale = dpi / 72
                if w * h * scale * scale > MAX_PIXELS:
                    scale = (MAX_PIXELS / (w * h)) ** 0.5
                bitmap = page.render(scale=scale)
                out[i] = _read(bitmap.to_pil(), languages).strip()
            finally:
                page.close()
    finally:
        pdf.close()
    seconds = time.perf_counter() - t0
    if pages:
        log.info("%s: OCR of %d page(s) in %.1f s (%.1f s per page)", path.name, len(pages),
                 seconds, seconds / len(pages))
    return out, seconds
