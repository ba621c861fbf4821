"""A cited PDF page as a picture, with the cited words highlighted (the chat window's page view).

``render_page`` renders one page with PDFium (``pypdfium2``), finds the quote in the page's own
text layer and draws translucent boxes over its characters with PIL; the result is a PNG. The
quote comes from ``Document.text``, which pypdf extracted (line-end hyphens removed), while the
boxes come from PDFium's text layer, so the two texts are matched after normalising whitespace
and line-end hyphens (``find_quote``); a quote that runs onto the next page is matched by its
longest prefix found on this page. A page whose text layer does not hold the quote (a scan read
by OCR, a font without a Unicode map) is shown without highlight, with ``found=False``.

``PageViewer`` is what the UI holds: it opens only files inside the corpus folder (a source is
resolved against it, and anything that resolves outside, symlinks included, is refused), keeps a
small LRU cache per (file, its mtime and size, page, quote), and serialises PDFium calls, which
are not thread-safe. The price of a picture instead of a PDF viewer: text on it cannot be
selected, and a page costs tens of kilobytes in the sources panel.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from qa.errors import InputError, QAError
from qa.ocr import PDFIUM_LOCK as _pdfium_lock  # PDFium is not thread-safe

log = logging.getLogger(__name__)

DEFAULT_SCALE = 1.5  # 72 dpi * 1.5 = 108 dpi: an A4 page is 893 x 1263 px, body text readable
MAX_SIDE_PX = 2000  # a poster-sized page is scaled down to this
HIGHLIGHT_RGBA = (255, 200, 0, 110)  # translucent amber, the colour of mark.qa-hl
_PAD_PX = 2

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in image pixels, origin top left


class PageViewError(QAError):
    """A page that cannot be shown (a file that is not a readable PDF, no such page)."""


@dataclass(frozen=True)
class PageImage:
    """One rendered page: the PNG, the highlight boxes drawn on it and whether the quote was
    found on the page at all."""

    png: bytes
    page: int  # 1-based
    pages: int  # pages in the file
    width: int
    height: int
    boxes: tuple[Box, ...]
    found: bool
    seconds: float  # time to render, highlight and encode


def _normalised(text: str) -> tuple[str, list[int]]:
    """``text`` with line-end hyphens inside words removed, whitespace runs made one space,
    ligatures and other compatibility characters decomposed (NFKC) and letters lower-cased, plus for each character of the result its index in ``text``.

    >>> _normalised("Kreuz-\\r\\nfahrt  Schiff")
    ('kreuzfahrt schiff', [0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 15, 16, 17, 18, 19, 20])
    """
    out: list[str] = []
    index: list[int] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "-\u00ad\ufffe\x02" and out and out[-1].isalnum():  # "Kreuz-\nfahrt"
            j = i + 1
            while j < n and text[j] in " \t\r\n":
                j += 1
            line_end = any(c in "\r\n" for c in text[i + 1:j])
            if j < n and text[j].isalnum() and (line_end or ch != "-"):
                i = j  # the typesetter's hyphen (or PDFium's soft-hyphen mark) and the break
                continue
        if ch.isspace() or ch == "\x00":
            if out and out[-1] != " ":
                out.append(" ")
                index.append(i)
            i += 1
            continue
        for c in unicodedata.normalize("NFKC", ch).lower():  # "ﬀ" (pypdf) is "ff" (PDFium)
            out.append(c)
            index.append(i)
        i += 1
    return "".join(out), index


def find_quote(page_text: str, quote: str, min_chars: int = 20) -> tuple[int, int] | None:
    """(start, end) character indexes of ``quote`` in ``page_text``, matched without regard to
    case, whitespace and line-end hyphens; a quote that does not fit on the page is matched by
    its longest word-boundary prefix of at least ``min_chars`` characters (it continues on the
    next page). None when not found.

    >>> find_quote("Im Kieler Hafen legten\\r\\n271 Kreuz-\\r\\nfahrtschiffe an.", "271 Kreuzfahrtschiffe")
    (24, 48)
    >>> find_quote("Seite 1: Der Hafen wächst seit Jahren", "Der Hafen wächst seit Jahren stetig")
    (9, 37)
    >>> find_quote("Die veröffentlichte Version", "veröﬀentlichte")  # a ligature in the quote
    (4, 19)
    >>> find_quote("Nichts davon.", "Der Hafen") is None
    True
    """
    hay, index = _normalised(page_text)
    needle = _normalised(quote)[0].strip()
    if not needle or not hay:
        return None
    while True:
        at = hay.find(needle)
        if at >= 0:
            last = at + len(needle) - 1
            return index[at], index[last] + 1
        cut = needle.rfind(" ")
        if cut < min_chars:
            return None
        needle = needle[:cut]


def _merge_boxes(boxes: list[Box]) -> list[Box]:
    """Boxes of one line (overlapping vertically and touching horizontally) merged into one."""
    out: list[Box] = []
    for b in sorted(boxes, key=lambda b: (b[1], b[0])):
        if out:
            x0, y0, x1, y1 = out[-1]
            same_line = min(y1, b[3]) - max(y0, b[1]) > 0.5 * min(y1 - y0, b[3] - b[1])
            if same_line and b[0] <= x1 + 8:
                out[-1] = (min(x0, b[0]), min(y0, b[1]), max(x1, b[2]), max(y1, b[3]))
                continue
        out.append(b)
    return out


def render_page(pdf_path: Path | str, page_index: int, quote: str = "",
                scale: float = DEFAULT_SCALE) -> PageImage:
    """Page ``page_index`` (0-based) of the PDF at ``pdf_path`` as a PNG, with the characters of
    ``quote`` (if found on the page) under translucent highlight boxes. Raises
    ``PageViewError`` for a file that is not a readable PDF or a page it does not have."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    t0 = time.perf_counter()
    with _pdfium_lock:
        try:
            pdf = pdfium.PdfDocument(str(pdf_path))
        except (pdfium.PdfiumError, OSError) as e:
            raise PageViewError(f"cannot open {Path(pdf_path).name} as a PDF ({e})") from None
        try:
            pages = len(pdf)
            if not 0 <= page_index < pages:
                raise PageViewError(f"{Path(pdf_path).name} has no page {page_index + 1} "
                                    f"(it has {pages})")
            page = pdf[page_index]
            width_pt, height_pt = page.get_size()
            scale = min(scale, MAX_SIDE_PX / max(width_pt, height_pt, 1.0))
            rects: list[tuple[float, float, float, float]] = []
            span = None
            if quote.strip():
                textpage = page.get_textpage()
                count = textpage.count_chars()
                text = textpage.get_text_range(0, count) if count > 0 else ""
                if len(text) == count:  # one character per index: offsets are char indexes
                    span = find_quote(text, quote)
                if span is not None:
                    n = textpage.count_rects(span[0], span[1] - span[0])
                    rects = [textpage.get_rect(i) for i in range(n)]
                textpage.close()
            image = page.render(scale=scale).to_pil().convert("RGB")
            page.close()
        finally:
            pdf.close()
    boxes = _merge_boxes([
        (int(left * scale) - _PAD_PX, int((height_pt - top) * scale) - _PAD_PX,
         int(right * scale) + _PAD_PX, int((height_pt - bottom) * scale) + _PAD_PX)
        for left, bottom, right, top in rects if right > left and top > bottom])
    if boxes:
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for box in boxes:
            draw.rectangle(box, fill=HIGHLIGHT_RGBA)
        image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=3)
    seconds = time.perf_counter() - t0
    log.debug("rendered %s page %d in %.3f s (%d boxes)", Path(pdf_path).name, page_index + 1,
              seconds, len(boxes))
    return PageImage(buf.getvalue(), page_index + 1, pages, image.width, image.height,
                     tuple(boxes), span is not None, seconds)


def resolve_in_corpus(corpus_dir: Path | str, source: str) -> Path:
    """The file ``source`` (a path relative to the corpus folder) inside ``corpus_dir``; an
    ``InputError`` for anything that resolves outside it (``..``, an absolute path, a symlink
    that leaves it) or is not a file.

    >>> resolve_in_corpus("/srv/corpus", "../etc/passwd")
    Traceback (most recent call last):
    qa.errors.InputError: refusing to open '../etc/passwd': it is not inside the corpus folder
    """
    root = Path(corpus_dir).resolve()
    path = (root / source).resolve()
    if not source or Path(source).is_absolute() or not path.is_relative_to(root) or path == root:
        raise InputError(f"refusing to open {source!r}: it is not inside the corpus folder")
    if not path.is_file():
        raise InputError(f"{source!r} is not a file of the corpus folder")
    return path


class PageViewer:
    """Rendered pages of the corpus's PDFs, cached: ``view(source, page, quote)``."""

    def __init__(self, corpus_dir: Path | str, scale: float = DEFAULT_SCALE,
                 cache_size: int = 64) -> None:
        self.corpus_dir = Path(corpus_dir)
        self.scale = scale
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[object, ...], PageImage] = OrderedDict()
        self._lock = threading.Lock()

    def view(self, source: str, page: int, quote: str = "") -> PageImage:
        """Page ``page`` (1-based) of the corpus file ``source`` with ``quote`` highlighted."""
        path = resolve_in_corpus(self.corpus_dir, source)
        if path.suffix.lower() != ".pdf":
            raise InputError(f"{source!r} is not a PDF")
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size, int(page), quote)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        image = render_page(path, int(page) - 1, quote, self.scale)
        with self._lock:
            self._cache[key] = image
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return image
