"""qa.render: escaping, [n] marker links, highlight offsets, abstention panels."""

from __future__ import annotations

import re

from qa.render import (
    anchor_id,
    context_window,
    esc,
    highlight,
    link_markers,
    locate,
    md_escape,
    merge_spans,
    render_answer,
    render_document,
    render_partial,
    render_passage,
    render_retrieved,
    render_sources,
)
from qa.types import Answer, Chunk, Citation, Document, Hit, Passage, Timings

TEXT = ("Alibaba plant neue Rechenzentren. Der Konzern investiert 53 Milliarden Dollar in KI. "
        "Davon gehen 10 Milliarden nach Europa.\n\nEin zweiter Absatz <script>alert(1)</script> "
        "mit Markup & Zeichen.")
DOC = Document(doc_id="d1", source="a<b>.txt", title="Alibaba <i>KI</i>", text=TEXT,
               sha256="x", meta={"bytes": len(TEXT)})


def lookup(source: str) -> Document | None:
    return DOC if source == DOC.source else None


def passage(n: int, start: int, end: int, source: str = DOC.source) -> Passage:
    chunk = Chunk(chunk_id=f"c{n}", doc_id="d1", source=source, title=DOC.title,
                  text=TEXT[start:end], start=start, end=end)
    return Passage(n, Hit(chunk, score=0.5, dense_score=0.87), TEXT[start:end], start, end)


def span_of(s: str) -> tuple[int, int]:
    i = TEXT.index(s)
    return i, i + len(s)


def answer(text: str, citations=(), abstained=False, passages=None, **kw) -> Answer:
    ps = passages if passages is not None else (passage(1, 0, 120), passage(2, *span_of(
        "Ein zweiter Absatz <script>alert(1)</script> mit Markup & Zeichen.")))
    return Answer(question="Wie viel?", text=text, abstained=abstained,
                  citations=tuple(citations), passages=tuple(ps), timings=Timings(),
                  model="m", **kw)


def cite(n: int, quote: str) -> Citation:
    s, e = span_of(quote)
    return Citation(n=n, source=DOC.source, chunk_id=f"c{n}", start=s, end=e, quote=quote,
                    score=0.5)


def test_escaping_of_text_and_markdown() -> None:
    assert esc('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"
    out = md_escape("[klick](javascript:alert(1)) *fett* <img src=x onerror=y>")
    assert "<" not in out and "](javascript" not in out
    assert "\\[klick\\]" in out and "\\*fett\\*" in out
    assert md_escape("Alibaba's \"Plan\"") == "Alibaba's \"Plan\""  # the chat shows &#x27; raw


def test_link_markers_only_for_known_passages() -> None:
    out = link_markers("A [1]. B [2][7]. <b>x</b>", turn=3, valid={1, 2})
    assert f'href="#{anchor_id(3, 1)}"' in out and f'href="#{anchor_id(3, 2)}"' in out
    assert "#qa-t3-p7" not in out and "\\[7\\]" in out
    assert "<b>" not in out and "&lt;b&gt;" in out


def test_answer_links_to_cited_cards() -> None:
    a = answer("53 Milliarden Dollar [1].", [cite(1, "Der Konzern investiert 53 Milliarden "
                                                      "Dollar in KI.")])
    html = render_answer(a, 0)
    panel = render_sources(a, 0, lookup)
    for target in re.findall(r'href="#([^"]+)"', html):
        assert f'id="{target}"' in panel
    assert "qa-abstain" not in html


def test_highlight_offsets_and_context() -> None:
    c = cite(1, "Der Konzern investiert 53 Milliarden Dollar in KI.")
    a = answer("53 Milliarden [1].", [c])
    panel = render_sources(a, 0, lookup)
    marked = re.findall(r'<mark class="qa-hl">(.*?)</mark>', panel)
    assert marked and marked[0] == c.quote
    # context: the neighbouring sentences of the same paragraph, not the next paragraph
    card = panel.split('id="qa-t0-p1"')[1].split("</div>")[1:3]
    assert "Alibaba plant neue Rechenzentren." in panel and "Europa" in "".join(card)


def test_highlight_function() -> None:
    assert highlight("abcdef", [(1, 3), (2, 4)], 0, 5) == 'a<mark class="qa-hl">bcd</mark>e'
    assert highlight("a<b", [(1, 2)]) == 'a<mark class="qa-hl">&lt;</mark>b'
    assert highlight("abcdef", [(0, 10)], 2, 4) == '<mark class="qa-hl">cd</mark>'
    assert merge_spans([(3, 5), (1, 2), (4, 8)]) == [(1, 2), (3, 8)]


def test_context_window_stays_in_paragraph_and_limit() -> None:
    s, e = span_of("Der Konzern investiert 53 Milliarden Dollar in KI.")
    lo, hi = context_window(TEXT, s, e, sentences=1)
    assert TEXT[lo:hi].startswith("Alibaba") and TEXT[lo:hi].endswith("Europa.")
    lo, hi = context_window(TEXT, s, e, sentences=5, max_chars=60)
    assert lo <= s and hi >= e and hi - lo <= max(60, e - s)


def test_locate_falls_back_when_offsets_moved() -> None:
    assert locate(DOC, 0, 7, "Alibaba") == (0, 7)
    s, e = span_of("Europa")
    assert locate(DOC, 0, 6, "Europa") == (s, e)
    assert locate(DOC, 0, 5, "nicht da") is None
    assert locate(None, 0, 5, "x") is None


def test_untrusted_article_text_is_escaped_everywhere() -> None:
    p = passage(1, *span_of("Ein zweiter Absatz <script>alert(1)</script> mit Markup & Zeichen."))
    card = render_passage(p, 0, lookup)
    assert "<script>" not in card and "&lt;script&gt;" in card
    assert "<i>" not in card and "&lt;i&gt;KI&lt;/i&gt;" in card  # title
    assert "a&lt;b&gt;.txt" in card  # file name
    full = render_document(DOC)
    assert "<script>" not in full and "&amp; Zeichen" in full


def test_abstention_looks_different_and_keeps_passages() -> None:
    a = answer("Dazu steht in den Artikeln nichts.", abstained=True)
    html = render_answer(a, 1)
    assert "qa-abstain" in html
    panel = render_sources(a, 1, lookup)
    assert "enthalten die Antwort nicht" in panel
    assert panel.count('class="qa-card qa-not-answer"') == 2
    assert 'id="qa-t1-p1"' in panel and 'id="qa-t1-p2"' in panel


def test_english_labels() -> None:
    a = answer("The articles do not say.", abstained=True, language="en")
    assert "do not contain the answer" in render_sources(a, 0, lookup)


def test_uncited_passages_are_listed_separately() -> None:
    a = answer("53 Milliarden [1].", [cite(1, "Der Konzern investiert 53 Milliarden Dollar "
                                                "in KI.")])
    panel = render_sources(a, 0, lookup)
    assert "nicht zitiert" in panel and 'id="qa-t0-p2"' in panel


def test_missing_document_shows_passage_text() -> None:
    p = passage(1, 0, 33, source="weg.txt")
    card = render_passage(p, 0, lookup)
    assert "Alibaba plant neue Rechenzentren." in card and "nicht mehr im Index" in card


def test_standalone_question_detail_and_partial() -> None:
    a = answer("x [1].", [cite(1, "Alibaba plant neue Rechenzentren.")],
               standalone_question="Wie viel <davon> in Europa?")
    html = render_answer(a, 0)
    assert "<details" in html and "&lt;davon&gt;" in html and "<davon>" not in html
    partial = render_partial("Teil [1", 0, a.passages)
    assert "qa-cite" not in partial
    assert "qa-cite" in render_partial("Teil [1]", 0, a.passages)
    assert render_partial("", 0, a.passages).endswith("…")


def test_retrieved_panel_has_anchor_ids() -> None:
    ps = [passage(1, 0, 33), passage(2, 34, 85)]
    panel = render_retrieved(ps, 4, lookup)
    assert 'id="qa-t4-p1"' in panel and 'id="qa-t4-p2"' in panel and "qa-span" in panel
    assert "Keine passenden" in render_retrieved([], 4, lookup)


def test_a_card_shows_the_pages_byline_as_metadata_escaped() -> None:
    page = Document(doc_id="d1", source=DOC.source, title=DOC.title, text=TEXT, sha256="x",
                    meta={"author": "Erika <b>Muster</b>", "site": "Example News",
                          "date": "2025-03-04"})
    card = render_passage(passage(1, 0, 40), 0, lambda s: page)
    assert '<div class="qa-byline">Erika &lt;b&gt;Muster&lt;/b&gt; · Example News · 2025-03-04' in card
    assert "qa-byline" not in render_passage(passage(1, 0, 40), 0, lookup)  # none given: none shown


def test_page_view_of_a_cited_pdf_page() -> None:
    from qa.errors import InputError
    from qa.page_view import PageImage
    from qa.render import describe_filter, render_page_view

    seen = []

    def page_image(source: str, page: int, quote: str) -> PageImage:
        seen.append((source, page, quote))
        return PageImage(b"\x89PNG-not-really", page, 3, 10, 20, ((1, 2, 3, 4),), True, 0.01)

    html_ = render_page_view('a"<b>.pdf', 2, "S. 2", "Zitat", page_image)
    assert seen == [('a"<b>.pdf', 2, "Zitat")]
    assert 'alt="S. 2 von a&quot;&lt;b&gt;.pdf, Zitat markiert"' in html_  # escaped
    assert 'src="data:image/png;base64,iVBORy1ub3QtcmVhbGx5"' in html_ and 'data-found="1"' in html_

    def not_found(source: str, page: int, quote: str) -> PageImage:
        return PageImage(b"png", page, 3, 10, 20, (), False, 0.01)

    html_ = render_page_view("a.pdf", 2, "p. 2", "Zitat", not_found, "en")
    assert "quote was not found on the page" in html_ and 'alt="p. 2 of a.pdf"' in html_

    def refused(source: str, page: int, quote: str) -> PageImage:
        raise InputError("refusing to open '../x.pdf': it is not inside the corpus folder")

    html_ = render_page_view("../x.pdf", 1, "p. 1", "Zitat", refused, "en")
    assert "<img" not in html_ and "The page cannot be shown: refusing to open" in html_
    assert describe_filter({"date_to": "2025-09-30", "tags": ["a"]}) == "until 2025-09-30, tag a"


def test_cards_link_to_the_original_at_the_pdf_page() -> None:
    pdf = Document(doc_id="d1", source=DOC.source, title=DOC.title, text=TEXT, sha256="x",
                   meta={"format": "pdf", "pages": [0, 60], "page_kind": "page"})
    seen = []

    def original(source: str, page: int | None) -> str | None:
        seen.append((source, page))
        return f'original/default/{source}"' + (f"#page={page}" if page else "")

    a = answer("53 Milliarden [1].", [cite(1, "Der Konzern investiert 53 Milliarden Dollar "
                                                "in KI.")])
    panel = render_sources(a, 0, lambda s: pdf, original=original)
    assert seen == [(DOC.source, 1), (DOC.source, 2)]  # the cited card, then the one read
    card = panel.split('id="qa-t0-p2"')[0]
    assert ('<a href="original/default/a&lt;b&gt;.txt&quot;#page=1" target="_blank" '
            'rel="noopener noreferrer">Original auf S. 1 öffnen ↗</a>') in card  # escaped
    en = render_passage(passage(1, 0, 40), 0, lambda s: pdf, language="en", original=original)
    assert "Open the original at p. 1 ↗" in en
    # another format: the file, no page; no link where the caller has none
    plain = render_passage(passage(1, 0, 40), 0, lookup, original=original)
    assert seen[-1] == (DOC.source, None) and "Original öffnen ↗" in plain
    assert "qa-original" not in render_passage(passage(1, 0, 40), 0, lookup,
                                               original=lambda s, p: None)
    assert "qa-original" not in render_sources(a, 0, lookup)  # not asked for: none
    assert "qa-original" not in render_passage(passage(1, 0, 33, source="weg.txt"), 0, lookup,
                                               original=original)  # no document, no link
