"""Pure functions that turn answers, passages and documents into safe HTML for the UI.

Everything that comes from an article, a question or a model is untrusted: it goes through
``html.escape`` before it is put into markup, and text meant for a Markdown component is also
backslash-escaped so that the model cannot produce links, images or headings. The only markup in
the output is the markup written here: ``<mark>`` for cited words, ``<a href="#...">`` for the
``[n]`` markers (anchor links to the passage cards of the sources panel), the card's link to the
original file (a URL the caller builds, escaped here) and a few containers.

Offsets are those of ``Citation`` and ``Passage``: character offsets into ``Document.text``.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qa.chunking import split_sentences
from qa.pages import page_of
from qa.types import Answer, Citation, Document, Passage

if TYPE_CHECKING:
    from qa.page_view import PageImage

DocumentLookup = Callable[[str], Document | None]
# (source, 1-based page, quote) -> the page rendered with the quote highlighted (qa.page_view);
# raises QAError when the page cannot be shown
PageLookup = Callable[[str, int, str], "PageImage"]
# (source, 1-based page of a PDF or None) -> the link to the original file, or None (qa.ui.originals)
OriginalLink = Callable[[str, int | None], str | None]

LABELS = {
    "de": {
        "sources": "Quellen",
        "reading": "Gelesene Textstellen – die Antwort wird geschrieben …",
        "not_answer": "Nächstgelegene Textstellen – sie enthalten die Antwort nicht",
        "uncited": "Weitere gelesene Textstellen (nicht zitiert)",
        "full": "Ganzen Artikel anzeigen",
        "understood": "Verstanden als",
        "abstained": "Keine Antwort in den Artikeln",
        "abstain_hint": "Die nächstgelegenen Textstellen stehen bei den Quellen; "
                        "sie enthalten die Antwort nicht.",
        "error": "Fehler",
        "incomplete": "Die Antwort ist unvollständig (die Generierung brach ab).",
        "relevance": "Relevanz",
        "missing": "Artikel nicht mehr im Index",
        "none": "Keine passenden Textstellen gefunden.",
        "empty": "Stellen Sie eine Frage – die Quellen erscheinen hier.",
        "page_show": "Seite ansehen",
        "page_alt": "{page} von {source}, Zitat markiert",
        "page_alt_plain": "{page} von {source}",
        "page_not_found": "Das Zitat wurde auf der Seite nicht gefunden (z. B. ein Scan); "
                          "die Seite ist ohne Markierung gezeigt.",
        "page_error": "Die Seite kann nicht gezeigt werden",
        "original": "Original öffnen",
        "original_page": "Original auf {page} öffnen",
        "filter": "Filter",
    },
    "en": {
        "sources": "Sources",
        "reading": "Passages being read – the answer is being written …",
        "not_answer": "Closest passages – they do not contain the answer",
        "uncited": "Other passages read (not cited)",
        "full": "Show the whole article",
        "understood": "Understood as",
        "abstained": "No answer in the articles",
        "abstain_hint": "The closest passages are shown with the sources; they do not "
                        "contain the answer.",
        "error": "Error",
        "incomplete": "The answer is incomplete (generation broke off).",
        "relevance": "relevance",
        "missing": "article no longer in the index",
        "none": "No matching passages found.",
        "empty": "Ask a question – the sources appear here.",
        "page_show": "View the page",
        "page_alt": "{page} of {source}, quote highlighted",
        "page_alt_plain": "{page} of {source}",
        "page_not_found": "The quote was not found on the page (a scan, for example); the "
                          "page is shown without highlight.",
        "page_error": "The page cannot be shown",
        "original": "Open the original",
        "original_page": "Open the original at {page}",
        "filter": "Filter",
    },
}

_MARKER = re.compile(r"\[(\d+)\]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$])")


def _labels(language: str | None) -> dict[str, str]:
    return LABELS.get(language or "de", LABELS["de"])


def esc(text: object) -> str:
    """HTML-escape anything (quotes included), for text and attribute values."""
    return html.escape(str(text), quote=True)


def md_escape(text: str) -> str:
    """Escape text for a Markdown component that also renders HTML: HTML-escape (``<>&``;
    quotes stay, this is element content, and the chat shows ``&#x27;`` verbatim), then
    backslash-escape Markdown punctuation, so the text shows verbatim.

    >>> md_escape("<b>*x*</b> [1](javascript:y)")
    '&lt;b&gt;\\\\*x\\\\*&lt;/b&gt; \\\\[1\\\\]\\\\(javascript:y\\\\)'
    """
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))


def html_text(text: str) -> str:
    """Escape text for the inside of an HTML block of a Markdown component (where Markdown is
    not parsed): HTML-escape and turn line breaks into ``<br>``, so that no blank line can end
    the block and let Markdown start again."""
    return html.escape(str(text), quote=False).replace("\r", "").replace("\n", "<br>")


def anchor_id(turn: int, n: int) -> str:
    """Id of the card of passage ``n`` of answer ``turn`` in the sources panel."""
    return f"qa-t{int(turn)}-p{int(n)}"


def cite_link(turn: int, n: int) -> str:
    return (f'<a class="qa-cite" href="#{anchor_id(turn, n)}" '
            f'title="Quelle {int(n)}">[{int(n)}]</a>')


def link_markers(text: str, turn: int, valid: Iterable[int]) -> str:
    """Escape ``text`` for the chat and turn each ``[n]`` of a known passage into an anchor link
    to its card; other bracketed numbers stay (escaped) text."""
    ok = set(valid)
    out: list[str] = []
    pos = 0
    for m in _MARKER.finditer(text):
        out.append(md_escape(text[pos:m.start()]))
        n = int(m.group(1))
        out.append(cite_link(turn, n) if n in ok else md_escape(m.group(0)))
        pos = m.end()
    out.append(md_escape(text[pos:]))
    return "".join(out)


def _standalone_detail(question: str | None, language: str) -> str:
    if not question:
        return ""
    return (f'<details class="qa-standalone"><summary>{esc(_labels(language)["understood"])}'
            f'</summary>{html_text(question)}</details>\n\n')


def render_partial(text: str, turn: int, passages: Sequence[Passage],
                   standalone: str | None = None, language: str = "de") -> str:
    """Chat content while tokens stream in."""
    body = link_markers(text, turn, {p.n for p in passages}) if text else "…"
    return _standalone_detail(standalone, language) + body


def describe_filter(conditions: Mapping[str, Any] | None) -> str:
    """One line for the filter an answer was restricted to (``Answer.filter``), or "".

    >>> describe_filter({"sources": ["a.pdf", "b/*"], "date_from": "2025-09-01"})
    'source a.pdf or b/*, from 2025-09-01'
    >>> describe_filter(None)
    ''
    """
    from qa.filters import Filter

    if not conditions:
        return ""
    f = Filter(sources=tuple(str(x) for x in conditions.get("sources") or ()),
               date_from=conditions.get("date_from"), date_to=conditions.get("date_to"),
               language=conditions.get("language"),
               tags=tuple(str(x) for x in conditions.get("tags") or ()))
    return f.describe() if f else ""


def _filter_note(conditions: Mapping[str, Any] | None, language: str) -> str:
    text = describe_filter(conditions)
    if not text:
        return ""
    return (f'<div class="qa-filter-note">{esc(_labels(language)["filter"])}: '
            f"{html_text(text)}</div>\n\n")


def render_answer(answer: Answer, turn: int) -> str:
    """Chat content of a finished answer: linked markers; an abstention looks different; the
    filter the answer was restricted to, if any, above it."""
    lab = _labels(answer.language)
    head = (_filter_note(answer.filter, answer.language)
            + _standalone_detail(answer.standalone_question, answer.language))
    if answer.abstained:
        return (head + f'<div class="qa-abstain"><strong>ℹ {esc(lab["abstained"])}.</strong> '
                f"{html_text(answer.text)}<br><em>{esc(lab['abstain_hint'])}</em></div>")
    body = link_markers(answer.text, turn, {c.n for c in answer.citations})
    if answer.error:
        body += f'\n\n<div class="qa-error">⚠ {esc(lab["incomplete"])}</div>'
    return head + body


def render_error(message: str, language: str = "de") -> str:
    return (f'<div class="qa-error"><strong>{esc(_labels(language)["error"])}:</strong> '
            f"{html_text(message)}</div>")


# -- passages with context and highlights ---------------------------------------------------

def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping, non-empty spans.

    >>> merge_spans([(5, 9), (0, 2), (8, 12), (3, 3)])
    [(0, 2), (5, 12)]
    """
    out: list[tuple[int, int]] = []
    for s, e in sorted((s, e) for s, e in spans if e > s):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def highlight(text: str, spans: Iterable[tuple[int, int]], lo: int = 0,
              hi: int | None = None, css_class: str = "qa-hl") -> str:
    """Escaped ``text[lo:hi]`` with ``<mark>`` around ``spans`` (offsets into ``text``; clipped
    to the window).

    >>> highlight("a <b> c", [(2, 5)])
    'a <mark class="qa-hl">&lt;b&gt;</mark> c'
    """
    hi = len(text) if hi is None else min(hi, len(text))
    lo = max(0, lo)
    out: list[str] = []
    pos = lo
    for s, e in merge_spans((max(s, lo), min(e, hi)) for s, e in spans):
        out.append(esc(text[pos:s]))
        out.append(f'<mark class="{esc(css_class)}">{esc(text[s:e])}</mark>')
        pos = e
    out.append(esc(text[pos:hi]))
    return "".join(out)


def context_window(text: str, start: int, end: int, sentences: int = 1,
                   max_chars: int = 900) -> tuple[int, int]:
    """(lo, hi) around ``text[start:end]``: the sentences it touches plus ``sentences`` on each
    side, inside the same paragraph, cut to about ``max_chars``."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    spans = split_sentences(text)
    if not spans:
        return start, end
    inside = [i for i, (s, e) in enumerate(spans) if s < max(end, start + 1) and e > start]
    if not inside:  # offsets between sentences: the nearest following one
        inside = [next((i for i, (s, _) in enumerate(spans) if s >= start), len(spans) - 1)]
    first, last = max(0, inside[0] - sentences), min(len(spans) - 1, inside[-1] + sentences)
    lo, hi = min(spans[first][0], start), max(spans[last][1], end)
    # stay inside the paragraph around the span
    para_lo = text.rfind("\n\n", 0, start)
    para_hi = text.find("\n\n", end)
    lo = max(lo, para_lo + 2 if para_lo >= 0 else 0)
    hi = min(hi, para_hi if para_hi >= 0 else len(text))
    lo, hi = min(lo, start), max(hi, end)
    if hi - lo > max_chars:  # keep the span, trim the context evenly
        room = max(0, max_chars - (end - start)) // 2
        lo, hi = max(lo, start - room), min(hi, end + room)
    return lo, hi


def locate(doc: Document | None, start: int, end: int, quote: str) -> tuple[int, int] | None:
    """Offsets of ``quote`` in ``doc``: the given ones when they still match, else the first
    occurrence (the document may have changed since the answer), else None."""
    if doc is None or not quote:
        return None
    if 0 <= start <= end <= len(doc.text) and doc.text[start:end] == quote:
        return start, end
    i = doc.text.find(quote)
    return (i, i + len(quote)) if i >= 0 else None


def _excerpt(doc: Document, lo: int, hi: int, spans: Sequence[tuple[int, int]],
             css_class: str) -> str:
    before = "… " if lo > 0 else ""
    after = " …" if hi < len(doc.text) else ""
    return esc(before) + highlight(doc.text, spans, lo, hi, css_class) + esc(after)


def render_document(doc: Document, spans: Sequence[tuple[int, int]] = (),
                    css_class: str = "qa-hl") -> str:
    """A whole article, escaped, with optional highlighted spans."""
    return (f'<div class="qa-article"><div class="qa-article-title">{esc(doc.title)}</div>'
            f'<div class="qa-article-file">{esc(doc.source)}</div>'
            f'<div class="qa-article-text">{highlight(doc.text, spans, 0, None, css_class)}'
            "</div></div>")


def render_page_view(source: str, page: int, page_label: str, quote: str,
                     page_image: PageLookup, language: str = "de") -> str:
    """The cited page of a PDF behind a disclosure: the page as a PNG (a ``data:`` URL, so no
    file route is opened) with the quote highlighted, or a line saying why it is not."""
    from qa.errors import QAError

    lab = _labels(language)
    summary = f'<summary>{esc(page_label)} – {esc(lab["page_show"])}</summary>'
    try:
        view = page_image(source, page, quote)
    except QAError as e:
        return (f'<details class="qa-pageview">{summary}<div class="qa-page-note">'
                f'{esc(lab["page_error"])}: {esc(e)}</div></details>')
    alt = lab["page_alt" if view.found else "page_alt_plain"].format(page=page_label,
                                                                     source=source)
    note = "" if view.found else f'<div class="qa-page-note">{esc(lab["page_not_found"])}</div>'
    data = base64.b64encode(view.png).decode("ascii")
    return (f'<details class="qa-pageview">{summary}{note}'
            f'<img class="qa-page-img" src="data:image/png;base64,{data}" alt="{esc(alt)}" '
            f'width="{int(view.width)}" height="{int(view.height)}" '
            f'data-found="{"1" if view.found else "0"}" loading="lazy"></details>')


def render_original_link(href: str | None, page_label: str | None,
                         language: str = "de") -> str:
    """The card's link to the original file (a new tab), at ``page_label`` for a PDF page.

    >>> render_original_link("original/default/a.pdf#page=2", "S. 2")
    '<div class="qa-original"><a href="original/default/a.pdf#page=2" target="_blank" rel="noopener noreferrer">Original auf S. 2 öffnen ↗</a></div>'
    """
    if not href:
        return ""
    lab = _labels(language)
    text = lab["original_page"].format(page=page_label) if page_label else lab["original"]
    return (f'<div class="qa-original"><a href="{esc(href)}" target="_blank" '
            f'rel="noopener noreferrer">{esc(text)} ↗</a></div>')


def render_passage(passage: Passage, turn: int, lookup: DocumentLookup,
                   citation: Citation | None = None, kind: str = "cited",
                   language: str = "de", page_image: PageLookup | None = None,
                   original: OriginalLink | None = None) -> str:
    """One card: [n], title, file, the cited words highlighted inside a few sentences of
    context, a link to the original file (with ``original``; at the page, for a PDF), the cited
    PDF page as a picture (with ``page_image``), and the whole article behind a disclosure."""
    lab = _labels(language)
    chunk = passage.hit.chunk
    doc = lookup(chunk.source)
    same = doc is not None and doc.doc_id == chunk.doc_id  # offsets still point into it
    if citation is not None:
        span = ((citation.start, citation.end) if same else
                locate(doc, citation.start, citation.end, citation.quote))
    else:
        span = (passage.start, passage.end) if same else locate(doc, passage.start, passage.end,
                                                                passage.text)
    title = doc.title if doc is not None else chunk.title
    score = passage.hit.dense_score
    meta = (f' <span class="qa-score">{esc(lab["relevance"])} {score:.2f}</span>'
            if score is not None else "")
    byline = " · ".join(str(v) for v in ((doc.meta.get("author"), doc.meta.get("site"),
                                          doc.meta.get("date")) if doc is not None else ())
                         if v)  # metadata of the page, never mixed into its text
    page_no, page = (page_of(doc.meta, span[0], language) if doc is not None and span is not None
                     else (None, None))  # "S. 3", "slide 2" for a paged document
    where = f' <span class="qa-page">{esc(page)}</span>' if page else ""
    head = (f'<div class="qa-card-head"><span class="qa-n">[{int(passage.n)}]</span> '
            f'<span class="qa-title">{esc(title)}</span> '
            f'<span class="qa-file">{esc(chunk.source)}</span>{where}{meta}'
            + (f'<div class="qa-byline">{esc(byline)}</div>' if byline else "") + "</div>")
    if doc is not None and span is not None:
        if citation is not None:  # the cited words, marked, inside their sentences
            lo, hi = context_window(doc.text, *span)
            excerpt = _excerpt(doc, lo, hi, [span], "qa-hl")
        else:  # what the model read, as it read it
            excerpt = _excerpt(doc, span[0], span[1], [], "qa-hl")
        body = f'<div class="qa-context">{excerpt}</div>'
        if original is not None:
            pdf_page = page_no if doc.meta.get("format") == "pdf" and page else None  # #page=N
            body += render_original_link(original(chunk.source, pdf_page),
                                         page if pdf_page else None, language)
        if (citation is not None and page_image is not None and page_no is not None and page
                and doc is not None and doc.meta.get("format") == "pdf"):
            body += render_page_view(chunk.source, page_no, page, doc.text[span[0]:span[1]],
                                     page_image, language)
        css = "qa-hl" if citation is not None else "qa-span"
        full = (f'<details class="qa-full"><summary>{esc(lab["full"])}</summary>'
                f"{render_document(doc, [span], css)}</details>")
    else:  # the article is gone or changed: show what the model read
        text = citation.quote if citation is not None else passage.text
        body = (f'<div class="qa-context">{esc(text)}</div>'
                + (f'<div class="qa-missing">{esc(lab["missing"])}</div>' if doc is None else ""))
        full = ""
    return (f'<div class="qa-card qa-{esc(kind)}" id="{anchor_id(turn, passage.n)}">'
            f"{head}{body}{full}</div>")


def _panel(title: str, cards: Sequence[str], extra: str = "", css: str = "") -> str:
    return (f'<div class="qa-sources {esc(css)}"><div class="qa-sources-title">{esc(title)}</div>'
            + "".join(cards) + extra + "</div>")


def render_retrieved(passages: Sequence[Passage], turn: int, lookup: DocumentLookup,
                     language: str = "de") -> str:
    """The sources panel while the model is still writing."""
    lab = _labels(language)
    if not passages:
        return _panel(lab["sources"], [f'<div class="qa-none">{esc(lab["none"])}</div>'])
    return _panel(lab["reading"], [render_passage(p, turn, lookup, kind="reading",
                                                  language=language) for p in passages],
                  css="qa-pending")


def render_sources(answer: Answer, turn: int, lookup: DocumentLookup,
                   page_image: PageLookup | None = None,
                   original: OriginalLink | None = None) -> str:
    """The sources panel for a finished answer: cited passages with their quotes highlighted
    (and, with ``page_image``, a cited PDF page as a picture), then the passages read but not
    cited; for an abstention, the closest passages, labelled as not containing the answer.
    With ``original``, every card links to its original file."""
    lab = _labels(answer.language)
    if not answer.passages:
        return _panel(lab["sources"], [f'<div class="qa-none">{esc(lab["none"])}</div>'])
    if answer.abstained or not answer.citations:
        cards = [render_passage(p, turn, lookup, kind="not-answer", language=answer.language,
                                original=original) for p in answer.passages]
        return _panel(lab["not_answer"], cards, css="qa-abstained")
    by_n = {p.n: p for p in answer.passages}
    cited = [c for c in sorted(answer.citations, key=lambda c: c.n) if c.n in by_n]
    cards = [render_passage(by_n[c.n], turn, lookup, citation=c, kind="cited",
                            language=answer.language, page_image=page_image,
                            original=original) for c in cited]
    cited_ns = {c.n for c in cited}
    rest = [render_passage(p, turn, lookup, kind="uncited", language=answer.language,
                           original=original) for p in answer.passages if p.n not in cited_ns]
    extra = (f'<details class="qa-uncited-list"><summary>{esc(lab["uncited"])} ({len(rest)})'
             f"</summary>{''.join(rest)}</details>" if rest else "")
    return _panel(lab["sources"], cards, extra)


def render_empty(language: str = "de") -> str:
    return f'<div class="qa-sources qa-empty">{esc(_labels(language)["empty"])}</div>'


CSS = """
.qa-sources { font-size: 0.92em; }
.qa-sources-title { font-weight: 600; margin: 0 0 .5em 0; }
.qa-abstained .qa-sources-title { color: #a15c00; }
.qa-card { border: 1px solid var(--border-color-primary, #ddd); border-radius: 8px;
           padding: .6em .8em; margin: 0 0 .6em 0; scroll-margin-top: 1em; }
.qa-card:target { outline: 3px solid #f5b400; }
.qa-not-answer { border-style: dashed; opacity: .9; }
.qa-card-head { margin-bottom: .35em; }
.qa-n { font-weight: 700; }
.qa-title { font-weight: 600; }
.qa-byline { font-size: 0.85em; color: var(--body-text-color-subdued, #777); }
.qa-file, .qa-page, .qa-score, .qa-missing { color: var(--body-text-color-subdued, #777);
                                   font-size: .85em; margin-left: .4em; }
.qa-context { line-height: 1.45; white-space: pre-wrap; }
mark.qa-hl { background: #ffe58a; color: inherit; padding: 0 1px; border-radius: 2px; }
mark.qa-span { background: #e8eefc; color: inherit; }
.qa-full summary, .qa-uncited-list summary, .qa-standalone summary { cursor: pointer;
           color: var(--link-text-color, #2563eb); font-size: .9em; }
.qa-article { max-height: 420px; overflow-y: auto; margin-top: .4em; padding: .5em;
              background: var(--background-fill-secondary, #f7f7f7); border-radius: 6px; }
.qa-article-title { font-weight: 700; }
.qa-article-file { color: var(--body-text-color-subdued, #777); font-size: .85em; }
.qa-article-text { white-space: pre-wrap; line-height: 1.45; margin-top: .4em; }
.qa-abstain { border-left: 4px solid #f0a020; background: rgba(240,160,32,.10);
              padding: .4em .7em; border-radius: 4px; }
.qa-error { border-left: 4px solid #d33; padding: .3em .6em; }
a.qa-cite { text-decoration: none; font-weight: 600; }
.qa-empty, .qa-none { color: var(--body-text-color-subdued, #777); }
.qa-standalone { font-size: .9em; margin-bottom: .3em; }
.qa-filter-note { font-size: .85em; color: var(--body-text-color-subdued, #777);
                  margin-bottom: .3em; }
.qa-pageview { margin-top: .4em; }
.qa-pageview summary { cursor: pointer; color: var(--link-text-color, #2563eb); font-size: .9em; }
img.qa-page-img { display: block; max-width: 100%; height: auto; margin-top: .4em;
                  border: 1px solid var(--border-color-primary, #ddd); }
.qa-page-note { font-size: .85em; color: #a15c00; margin: .3em 0; }
.qa-original { margin-top: .3em; font-size: .9em; }
"""
