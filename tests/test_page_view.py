"""qa.page_view: a cited PDF page rendered with the quote highlighted, on PDFs made here."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from office_files import make_pdf

from qa.errors import InputError
from qa.page_view import (
    HIGHLIGHT_RGBA,
    PageViewer,
    PageViewError,
    find_quote,
    render_page,
    resolve_in_corpus,
)

Image = pytest.importorskip("PIL.Image")

PAGES = ["Erste Seite. Der Hafen von Kiel liegt an der Ostsee und ist sehr alt.",
         "Zweite Seite. Im Kieler Hafen legten 2025 genau 271 Kreuzfahrtschiffe an, was ein "
         "neuer Rekord ist und die Stadt freut, weil die Einnahmen aus Gebühren stiegen. "
         "Noch ein Satz über das Wetter am Hafen.",
         "Dritte Seite. Hier geht es um Fahrräder in Quedlinburg."]
QUOTE = ("Im Kieler Hafen legten 2025 genau 271 Kreuzfahrtschiffe an, was ein neuer Rekord ist "
         "und die Stadt freut")  # runs over a line break of the PDF


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    make_pdf(root / "hafen.pdf", PAGES, title="Hafenbericht")
    return root


def highlighted_pixels(png: bytes, box: tuple[int, int, int, int] | None = None) -> int:
    """Pixels of the highlight colour (amber over white) in the image, or inside ``box``."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    if box is not None:
        img = img.crop(box)
    r, g, b = HIGHLIGHT_RGBA[:3]
    a = HIGHLIGHT_RGBA[3] / 255
    want = tuple(round(c * a + 255 * (1 - a)) for c in (r, g, b))  # over a white background
    return sum(1 for px in img.getdata() if all(abs(p - w) <= 3 for p, w in zip(px, want, strict=True)))


def test_quote_on_page_two_of_three_is_boxed(corpus: Path) -> None:
    view = render_page(corpus / "hafen.pdf", 1, QUOTE)
    assert view.found and view.page == 2 and view.pages == 3
    assert view.png.startswith(b"\x89PNG")
    assert (view.width, view.height) == Image.open(io.BytesIO(view.png)).size
    assert len(view.boxes) == 2, view.boxes  # the quote covers parts of two lines
    first, second = sorted(view.boxes, key=lambda b: b[1])
    assert second[1] > first[1]  # the second line is below the first
    assert all(0 <= x0 < x1 <= view.width and 0 <= y0 < y1 <= view.height
               for x0, y0, x1, y1 in view.boxes)
    # the page's top third holds the text: the boxes are there, and they are painted
    assert first[1] < view.height / 3
    assert highlighted_pixels(view.png, first) > 0.3 * (first[2] - first[0]) * (first[3] - first[1])
    # the other pages have no highlight for it
    other = render_page(corpus / "hafen.pdf", 0, QUOTE)
    assert not other.found and other.boxes == ()
    assert highlighted_pixels(other.png) == 0


def test_quote_not_on_the_page_shows_the_page_without_highlight(corpus: Path) -> None:
    view = render_page(corpus / "hafen.pdf", 1, "Fahrräder in Quedlinburg")  # it is on page 3
    assert not view.found and view.boxes == ()
    assert view.png.startswith(b"\x89PNG") and view.width > 500
    assert highlighted_pixels(view.png) == 0
    assert render_page(corpus / "hafen.pdf", 2, "Fahrräder in Quedlinburg").found


def test_render_time_per_page_at_a_readable_scale(corpus: Path) -> None:
    render_page(corpus / "hafen.pdf", 0, "")  # PDFium loaded once
    t0 = time.perf_counter()
    view = render_page(corpus / "hafen.pdf", 1, QUOTE)
    seconds = time.perf_counter() - t0
    assert view.width >= 850  # A4 at 1.5 x 72 dpi: body text readable
    assert seconds < 0.5, seconds  # measured 0.05 s here on a shared 2-core machine


def test_find_quote_matches_pdfium_text_with_line_breaks_and_hyphens() -> None:
    page = "Im Kieler Hafen legten 271 Kreuz-\r\nfahrtschiffe an, ein Rekord."
    s, e = find_quote(page, "271 Kreuzfahrtschiffe an")  # pypdf's text: hyphen removed
    assert page[s:e] == "271 Kreuz-\r\nfahrtschiffe an"
    assert find_quote(page, "") is None and find_quote("", "x") is None


def test_paths_outside_the_corpus_are_refused(corpus: Path, tmp_path: Path) -> None:
    secret = make_pdf(tmp_path / "geheim.pdf", ["Geheim."])
    (corpus / "link.pdf").symlink_to(secret)
    viewer = PageViewer(corpus)
    for source in ("../geheim.pdf", str(secret), "link.pdf", "", "."):
        with pytest.raises(InputError, match="not inside the corpus folder"):
            viewer.view(source, 1, "Geheim")
    with pytest.raises(InputError, match="not a file"):
        resolve_in_corpus(corpus, "fehlt.pdf")
    (corpus / "notiz.txt").write_text("Text", encoding="utf-8")
    with pytest.raises(InputError, match="not a PDF"):
        viewer.view("notiz.txt", 1)


def test_bad_pdf_and_missing_page_are_one_clear_error(corpus: Path) -> None:
    (corpus / "kaputt.pdf").write_bytes(b"%PDF-1.4 not really")
    viewer = PageViewer(corpus)
    with pytest.raises(PageViewError, match="cannot open kaputt.pdf as a PDF"):
        viewer.view("kaputt.pdf", 1)
    with pytest.raises(PageViewError, match="has no page 9 \\(it has 3\\)"):
        viewer.view("hafen.pdf", 9)


def test_viewer_caches_per_file_page_and_quote(corpus: Path) -> None:
    viewer = PageViewer(corpus, cache_size=2)
    a = viewer.view("hafen.pdf", 2, QUOTE)
    assert viewer.view("hafen.pdf", 2, QUOTE) is a
    assert viewer.view("hafen.pdf", 2, "Noch ein Satz") is not a
    # a changed file is rendered again
    make_pdf(corpus / "hafen.pdf", PAGES[::-1])
    st = (corpus / "hafen.pdf").stat()
    os.utime(corpus / "hafen.pdf", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert viewer.view("hafen.pdf", 2, QUOTE) is not a
