"""Pages of a paged document: where each page (PDF page, slide, sheet, e-book chapter) starts.

``qa.corpus.load_file`` records ``Document.meta["pages"]``, the offset in ``Document.text`` at
which each page starts (ascending; an empty page starts where the next one does), with
``page_kind`` and, where the file names its pages (sheet names, chapter titles),
``page_labels``. The map travels with the document's metadata (JSON in both stores); a document
without it (an unpaged format, or an index built before pages were recorded) has no page.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from qa.types import Citation, Document, Passage

# the word before a page number, per page kind and language
PAGE_WORDS = {"page": {"de": "S.", "en": "p."}, "slide": {"de": "Folie", "en": "slide"},
              "sheet": {"de": "Blatt", "en": "sheet"}, "chapter": {"de": "Kap.", "en": "ch."}}


def page_at(starts: Sequence[int], offset: int) -> int | None:
    """The 1-based number of the page that holds ``offset``, given where the pages start; None
    without pages. Empty pages share their start with the next page, which holds the text.

    >>> page_at([0, 120, 340], 0), page_at([0, 120, 340], 130), page_at([0, 120, 340], 9999)
    (1, 2, 3)
    >>> page_at([0, 50, 50, 90], 60), page_at([], 5) is None
    (3, True)
    """
    if not starts:
        return None
    return max(1, bisect_right(starts, offset))


def _starts(meta: Mapping[str, Any]) -> list[int]:
    pages = meta.get("pages")
    if not isinstance(pages, list) or not all(isinstance(p, int) for p in pages):
        return []  # no map (an unpaged document, or an index built before pages were kept)
    return pages


def page_count(meta: Mapping[str, Any]) -> tuple[int, str]:
    """(how many pages, slides or sheets the document has, which of them: "page", "slide",
    "sheet"); 0 for a document without pages.

    >>> page_count({"pages": [0, 40, 90], "page_kind": "slide"}), page_count({})
    ((3, 'slide'), (0, 'page'))
    """
    return len(_starts(meta)), str(meta.get("page_kind") or "page")


def page_of(meta: Mapping[str, Any], offset: int, language: str = "en"
            ) -> tuple[int | None, str | None]:
    """(page number, how to show it) for ``offset`` in a document with metadata ``meta``.

    >>> page_of({"pages": [0, 40], "page_kind": "page"}, 45, "de")
    (2, 'S. 2')
    >>> page_of({"pages": [0, 40], "page_kind": "sheet", "page_labels": ["Umsatz", "Personal"]}, 3)
    (1, 'sheet 1 (Umsatz)')
    >>> page_of({"format": "txt"}, 3)
    (None, None)
    """
    page = page_at(_starts(meta), offset)
    if page is None:
        return None, None
    words = PAGE_WORDS.get(str(meta.get("page_kind", "page")), PAGE_WORDS["page"])
    text = f"{words.get(language, words['en'])} {page}"
    labels = meta.get("page_labels")
    if isinstance(labels, list) and page <= len(labels) and labels[page - 1]:
        text += f" ({labels[page - 1]})"
    return page, text


def with_pages(citations: Sequence[Citation], passages: Sequence[Passage],
               document: Callable[[str], Document | None], language: str = "en"
               ) -> list[Citation]:
    """``citations`` with the page each quote starts on, read from the cited documents' page
    maps (``document`` looks one up by ``doc_id``; each is looked up once)."""
    doc_ids = {p.n: p.hit.chunk.doc_id for p in passages}
    metas: dict[str, Mapping[str, Any]] = {}
    out = []
    for c in citations:
        doc_id = doc_ids.get(c.n)
        if doc_id is None:
            out.append(c)
            continue
        if doc_id not in metas:
            doc = document(doc_id)
            metas[doc_id] = doc.meta if doc is not None else {}
        page, label = page_of(metas[doc_id], c.start, language)
        out.append(replace(c, page=page, page_label=label) if page is not None else c)
    return out
