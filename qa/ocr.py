"""OCR for scans: image files, and PDF pages without a text layer, read with Tesseract.

Tesseract is a system program (Debian: ``tesseract-ocr`` with ``tesseract-ocr-deu`` and
``-eng``; ``make install`` installs them), called through ``pytesseract``; PDF pages are
rendered with ``pypdfium2`` (the PDFium library in a wheel, no system package). OCR runs only
where there is no text to read: an image file, or a PDF page whose text layer holds fewer than
``MIN_PAGE_CHARS`` characters. A page with a text layer is never OCR'd, so a digital PDF costs
nothing extra.

The price is time, a few seconds per page at 200 dpi (measured in the README). So the text of
every OCR'd file is kept in a cache keyed by the file's SHA-256, the pages, the resolution and
the languages (``<cache>/ocr/``, ``$XDG_CACHE_HOME/qa`` by default): an unchanged scan is not
read again at the next ingest. A file that needs OCR while Tesseract is missing is skipped with a
reason that says what to install, and never stops the rest of the ingest.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.config import default_cache_dir

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")
MIN_PAGE_CHARS = 20  # a PDF page with less text than this (not counting spaces) is a scan
DEFAULT_LANGUAGES = "deu+eng"
DPI = 200
MAX_PIXELS = 60_000_000  # a bigger image (decompression bomb) is refused, not decoded
# PDFium is not thread-safe (pypdfium2's docs): every use in qa (OCR here, the UI's page view in
# qa.page_view) holds this lock
PDFIUM_LOCK = threading.Lock()


class OCRUnavailable(ValueError):
    """Tesseract (or its language data) is not installed: the reason says what to install."""


@dataclass(frozen=True)
class OCRText:
    pages: list[str]  # the text of each page (frame)
    seconds: float  # when it was read (a cached text keeps the time of its reading)

    @property
    def text(self) -> str:
        return "\n\n".join(self.pages)


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
    missing = [lang for lang in languages.split("+") if lang not in _installed_languages()]
    if missing:
        raise OCRUnavailable(f"a scan (no text layer): Tesseract lacks the language data "
                             f"{', '.join(missing)} (Debian: apt-get install "
                             f"{' '.join('tesseract-ocr-' + m for m in missing)})")


@functools.cache
def _installed_languages() -> frozenset[str]:
    """Tesseract's language data (a subprocess: asked once per process)."""
    import pytesseract

    return frozenset(pytesseract.get_languages(config=""))


def _read(image: Any, languages: str) -> str:
    import pytesseract

    return str(pytesseract.image_to_string(image, lang=languages))


def cache_dir() -> Path:
    return default_cache_dir() / "ocr"


def _cached(data: bytes, key: str, compute: Any) -> Any:
    """``compute()``'s JSON result, kept under the hash of ``data`` and ``key``."""
    name = hashlib.sha256(data).hexdigest() + "-" + hashlib.sha256(key.encode()).hexdigest()[:16]
    path = cache_dir() / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    result = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:  # a read-only cache costs time, never the text
        log.debug("cannot keep the OCR text in %s: %s", path, e)
    return result


def ocr_image(data: bytes, languages: str = DEFAULT_LANGUAGES) -> OCRText:
    """The text of an image file's bytes (every frame of a multi-page TIFF)."""
    def compute() -> dict[str, Any]:
        from PIL import Image, ImageSequence

        check_tesseract(languages)  # only when reading: a cached text needs no Tesseract
        t0 = time.perf_counter()
        try:
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise ValueError(f"image too large to read ({img.width}x{img.height} "
                                     "pixels)")
                texts = [_read(frame.convert("RGB"), languages).strip()
                         for frame in ImageSequence.Iterator(img)]
        except (OSError, Image.DecompressionBombError) as e:
            why = re.sub(r"\s*<_io\.BytesIO object at 0x[0-9a-f]+>", "", str(e))
            raise ValueError(f"not a readable image ({why})") from None
        return {"pages": texts, "seconds": time.perf_counter() - t0}

    got = _cached(data, f"image {languages}", compute)
    return OCRText(list(got["pages"]), float(got["seconds"]))


def ocr_pdf_pages(data: bytes, pages: Sequence[int], languages: str = DEFAULT_LANGUAGES,
                  dpi: int = DPI) -> tuple[dict[int, str], float]:
    """The OCR text of the given (0-based) pages of a PDF's bytes, and the seconds it took
    (when it was read, not taken from the cache)."""
    def compute() -> dict[str, Any]:
        import pypdfium2 as pdfium

        check_tesseract(languages)  # only when reading: a cached text needs no Tesseract

        t0 = time.perf_counter()
        out: dict[str, str] = {}
        for i in pages:  # render under the lock, read (Tesseract, the slow part) outside it
            with PDFIUM_LOCK:
                image = _render(pdfium, data, i, dpi)
            out[str(i)] = _read(image, languages).strip()
        return {"pages": out, "seconds": time.perf_counter() - t0}

    got = _cached(data, f"pdf {list(pages)} {languages} {dpi}", compute)
    seconds = float(got["seconds"])
    if pages:
        log.info("OCR of %d page(s) in %.1f s (%.1f s per page)", len(pages), seconds,
                 seconds / len(pages))
    return {int(k): v for k, v in got["pages"].items()}, seconds


def _render(pdfium: Any, data: bytes, index: int, dpi: int) -> Any:
    """Page ``index`` of the PDF ``data`` as a PIL image (at most ``MAX_PIXELS``)."""
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        raise ValueError(f"cannot render the PDF for OCR ({e})") from None
    try:
        page = pdf[index]
        try:
            w, h = page.get_size()
            scale = dpi / 72
            if w * h * scale * scale > MAX_PIXELS:
                scale = (MAX_PIXELS / (w * h)) ** 0.5
            return page.render(scale=scale).to_pil()
        finally:
            page.close()
    finally:
        pdf.close()
