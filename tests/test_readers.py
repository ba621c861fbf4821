"""Office, e-book and PDF files (made by the tests with the libraries that write them): their
text, metadata and pages; bad input, one skip line each; pages in citations, the CLI and REST."""

from __future__ import annotations

import http.server
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from office_files import (
    RTF,
    damage_member,
    make_docx,
    make_encrypted_docx,
    make_epub,
    make_odt,
    make_pdf,
    make_pptx,
    make_xlsx,
    make_zip_bomb,
)
from pypdf import PdfReader

from qa.assistant import Assistant
from qa.chunking import split_sentences
from qa.config import Settings
from qa.corpus import join_pages, load_corpus, load_file
from qa.ingest.pipeline import ingest
from qa.pages import page_at, page_of
from qa.testing import FakeEmbedder, FakeGenerator

PDF_PAGES = ["Der Leuchtturm von Hörnum wurde im Jahr 1907 aus Gusseisen gebaut.",
             "Die Fähre nach Amrum fährt im Sommer dreimal täglich ab Hörnum.",
             "Die Wanderdüne bei List bewegt sich jedes Jahr um vier Meter nach Osten."]


# -- formats --------------------------------------------------------------------------------------
def test_docx_keeps_headings_lists_tables_and_metadata(tmp_path: Path) -> None:
    doc = load_file(make_docx(tmp_path / "bericht.docx"))
    blocks = doc.text.split("\n\n")
    assert blocks[0] == "Ergebnisse des dritten Quartals"  # a heading is its own paragraph
    assert "- Husum an der Nordsee" in blocks and "- Rostock an der Ostsee" in blocks
    assert blocks[-3:] == ["Region | Umsatz", "Nord | 250", "Süd | 162"]  # a row a line
    assert doc.title == "Quartalsbericht Nordwind"
    assert doc.meta["author"] == "Erika Muster" and doc.meta["date"] == "2025-03-14"
    assert doc.meta["format"] == "docx" and "pages" not in doc.meta  # a docx has no page map


def test_pptx_has_a_page_per_slide(tmp_path: Path) -> None:
    doc = load_file(make_pptx(tmp_path / "strategie.pptx"))
    assert doc.title == "Strategie 2026" and doc.meta["page_kind"] == "slide"
    assert len(doc.meta["pages"]) == 2
    second = doc.meta["pages"][1]
    assert doc.text[second:].startswith("Investitionen")
    assert "Offshore-Park Helgoland | 80 Millionen" in doc.text[second:]
    assert page_of(doc.meta, doc.text.index("Hamburg"), "de") == (1, "Folie 1")
    assert page_of(doc.meta, doc.text.index("Helgoland"), "en") == (2, "slide 2")


def test_xlsx_has_a_page_per_sheet_with_its_name(tmp_path: Path) -> None:
    doc = load_file(make_xlsx(tmp_path / "zahlen.xlsx"))
    assert doc.title == "Absatzzahlen" and doc.meta["page_labels"] == ["Umsatz", "Personal"]
    # a row names its columns, so a row quoted alone says what its numbers are
    assert ("Umsatz\nRegion | Umsatz 2025\nRegion: Nord | Umsatz 2025: 250\n"
            "Region: Süd | Umsatz 2025: 162.5") in doc.text
    assert page_of(doc.meta, doc.text.index("Rostock")) == (2, "sheet 2 (Personal)")


def test_odt_keeps_headings_lists_tables_and_metadata(tmp_path: Path) -> None:
    doc = load_file(make_odt(tmp_path / "protokoll.odt"))
    blocks = doc.text.split("\n\n")
    assert blocks[0] == "Beschlüsse" and "- Sommerfest im Juli" in blocks
    assert "Satzung | 17" in blocks
    assert doc.title == "Protokoll der Sitzung" and doc.meta["author"] == "Hans Protokoll"


def test_epub_has_a_page_per_chapter_and_skips_the_navigation(tmp_path: Path) -> None:
    doc = load_file(make_epub(tmp_path / "reise.epub"))
    assert doc.title == "Die Reise nach Sylt" and doc.meta["author"] == "Lena Autorin"
    assert doc.meta["page_kind"] == "chapter" and doc.meta["page_labels"] == ["Aufbruch", "Ankunft"]
    assert doc.text.startswith("Aufbruch\n\nAm Morgen fuhr Anna")
    assert page_of(doc.meta, doc.text.index("Fahrrädern")) == (2, "ch. 2 (Ankunft)")


def test_rtf_keeps_paragraphs_table_rows_and_escapes(tmp_path: Path) -> None:
    (tmp_path / "hafen.rtf").write_text(RTF, encoding="ascii")
    doc = load_file(tmp_path / "hafen.rtf")
    assert doc.text.split("\n\n") == [
        "Der Hafen",
        "Im Kieler Hafen legten 2025 genau 271 Kreuzfahrtschiffe an. Das ist ein Rekord.",
        "Schiff | Anläufe", "AIDA | 40", "Die Gebühr stieg um 5 €."]
    assert doc.title == "Hafenbericht Kiel" and doc.meta["author"] == "Jana Küster"


def test_pdf_pages_keep_their_numbers(tmp_path: Path) -> None:
    doc = load_file(make_pdf(tmp_path / "sylt.pdf", PDF_PAGES, title="Sylt"))
    assert doc.title == "Sylt" and doc.meta["page_kind"] == "page"
    assert doc.text.split("\n\n") == PDF_PAGES  # a paragraph break between pages
    for n, page in enumerate(PDF_PAGES, 1):
        start = doc.text.index(page)
        assert doc.meta["pages"][n - 1] == start
        assert page_of(doc.meta, start + 5, "de") == (n, f"S. {n}")


def test_a_pdf_sentence_wrapped_over_lines_is_one_sentence(tmp_path: Path) -> None:
    """fpdf2 wraps at the margin as any typesetter does; the reader joins the lines again (a
    sentence cut at a line end was half a unit in the index and half an answer in the prompt),
    while a heading keeps its own line."""
    sentence = ("Das Paket soul.sty, das uhrzeit.sty zur Darstellung hochgestellter und "
                "unterstrichener Minutenzahlen benutzt, wird beim Laden automatisch einbezogen "
                "und muss daher nicht eigens in der Präambel angegeben werden.")
    body = ("Einbindung\n" + sentence + " " + "Die Uhrzeit wird im Format nach DIN 5008 "
            "ausgegeben, wenn man das Makro uhrii verwendet, das in Tabelle 1 steht. " * 3)
    doc = load_file(make_pdf(tmp_path / "uhrzeit.pdf", [body]))
    raw = PdfReader(tmp_path / "uhrzeit.pdf").pages[0].extract_text()
    assert sentence not in raw and "\n" in raw  # the PDF itself has it on several lines
    assert sentence in doc.text
    assert doc.text.startswith("Einbindung\n")
    spans = [doc.text[a:b] for a, b in split_sentences(doc.text)]
    assert sentence in spans


@given(st.lists(st.text(alphabet="ab .\n", max_size=12).map(str.strip), max_size=8))
def test_every_offset_maps_to_the_page_that_holds_it(parts: list[str]) -> None:
    text, starts = join_pages(parts)
    assert len(starts) == len(parts) and starts == sorted(starts)
    for n, part in enumerate(parts, 1):
        if part:
            s = starts[n - 1]
            assert text[s:s + len(part)] == part  # the page's text starts where it is recorded
            assert {page_at(starts, o) for o in range(s, s + len(part))} == {n}


# -- bad input ------------------------------------------------------------------------------------
class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        _Recorder.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 that records every request: an external reference
    that was fetched would show up here."""
    _Recorder.hits = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _bad_files(d: Path) -> dict[str, str]:
    """Bad files of every kind, and a piece of the one skip line each must get."""
    from pptx import Presentation
    from pypdf import PdfWriter

    (d / "kaputt.docx").write_bytes(b"PK\x03\x04 this is not really a zip at all" * 20)
    make_encrypted_docx(d / "geschuetzt.docx")
    # damaged XML inside a valid zip: the library's parse error becomes the skip line
    damage_member(make_docx(d / "a.tmp"), d / "xml.docx", "word/document.xml")
    damage_member(make_pptx(d / "b.tmp"), d / "xml.pptx", "ppt/slides/slide1.xml")
    damage_member(make_xlsx(d / "c.tmp"), d / "xml.xlsx", "xl/worksheets/sheet1.xml")
    for tmp in d.glob("*.tmp"):
        tmp.unlink()
    (d / "kaputt.rtf").write_bytes(b"{\\rtf1 {\\b no end")  # read as far as it goes: too short
    (d / "falsch.rtf").write_bytes(b"<html>not rtf</html>")
    w = PdfWriter()
    w.add_blank_page(200, 200)
    w.encrypt("geheim")
    with open(d / "geschuetzt.pdf", "wb") as f:
        w.write(f)
    with open(d / "leer.pdf", "wb") as f:
        PdfWriter().write(f)
    Presentation().save(str(d / "leer.pptx"))
    make_zip_bomb(d / "bombe.docx")
    make_zip_bomb(d / "bombe.epub", member="OEBPS/chap_1.xhtml")
    (d / "makro.docm").write_bytes(b"PK\x03\x04")
    (d / "makro.xlsm").write_bytes(b"PK\x03\x04")
    return {"kaputt.docx": "corrupt docx file", "geschuetzt.docx": "password-protected",
            "geschuetzt.pdf": "password-protected PDF", "leer.pdf": "PDF has no pages",
            "leer.pptx": "presentation has no slides", "bombe.docx": "zip-bomb-like docx",
            "bombe.epub": "zip-bomb-like epub", "falsch.rtf": "not an RTF file",
            "kaputt.rtf": "no article text after cleaning",
            "xml.docx": "unreadable docx file (XMLSyntaxError", "xml.pptx": "unreadable pptx file",
            "xml.xlsx": "unreadable xlsx file",
            "makro.docm": "macro-enabled Office file (.docm): not read (macros are never run)",
            "makro.xlsm": "save it as .xlsx"}


def test_bad_files_get_one_clear_line_each_and_the_rest_loads(tmp_path: Path,
                                                               recorder: str) -> None:
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    d = tmp_path / "mixed"
    d.mkdir()
    expected = _bad_files(d)
    make_pptx(d / "gut.pptx")
    # references to files outside the book/document: never fetched
    make_epub(d / "extern.epub", extra_head=f'<link rel="stylesheet" href="{recorder}/x.css"/>'
              f'<img src="{recorder}/bild.png"/>')
    make_docx(d / "extern.docx")
    ext = docx.Document(str(d / "extern.docx"))
    ext.part.relate_to(f"{recorder}/bild.png", RT.IMAGE, is_external=True)
    ext.part.relate_to(f"{recorder}/vorlage.dotx", RT.IMAGE.replace("image", "attachedTemplate"),
                     is_external=True)
    ext.save(str(d / "extern.docx"))

    result = load_corpus([d])
    assert sorted(doc.source for doc in result.documents) == ["extern.docx", "extern.epub",
                                                              "gut.pptx"]
    lines = {s.path: str(s) for s in result.skipped}
    assert sorted(lines) == sorted(expected)
    for name, piece in expected.items():
        assert piece in lines[name], lines[name]
        assert "\n" not in lines[name] and "Traceback" not in lines[name]
    assert _Recorder.hits == []


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    from qa.ingest.readers import open_zip

    data = make_zip_bomb(tmp_path / "b.docx").read_bytes()
    assert len(data) < 2_000_000
    with pytest.raises(ValueError, match=r"declares 300 MB unpacked"):
        open_zip(data, "docx")
    # a legitimate file passes: its ratio is small
    assert open_zip(make_docx(tmp_path / "ok.docx").read_bytes(), "docx").namelist()


def test_an_owner_password_pdf_is_read(tmp_path: Path) -> None:
    """Encrypted with an empty user password (printing restricted): readable without asking."""
    from pypdf import PdfReader, PdfWriter

    plain = make_pdf(tmp_path / "plain.pdf", PDF_PAGES[:2])
    w = PdfWriter(clone_from=PdfReader(plain))
    w.encrypt(user_password="", owner_password="chef", algorithm="AES-128")
    out = io.BytesIO()
    w.write(out)
    (tmp_path / "owner.pdf").write_bytes(out.getvalue())
    doc = load_file(tmp_path / "owner.pdf")
    assert doc.text.split("\n\n") == PDF_PAGES[:2]


# -- pages in answers -----------------------------------------------------------------------------
@pytest.fixture
def paged(tmp_path: Path) -> Assistant:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    make_pdf(corpus / "sylt.pdf", PDF_PAGES, title="Sylt")
    make_pptx(corpus / "strategie.pptx")
    make_docx(corpus / "bericht.docx")
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", data_dir=tmp_path / "data",
                 embed_model="fake-embedder", cache_dir=tmp_path / "cache")
    embedder = FakeEmbedder()
    ingest(s, embedder=embedder)
    return Assistant.load(s, embedder=embedder, generator=FakeGenerator())


def _cite(assistant: Assistant, question: str, reply: str, source: str) -> Any:
    assert isinstance(assistant.generator, FakeGenerator)
    assistant.generator.enqueue(reply)
    a = assistant.ask(question)
    assert not a.abstained, a.abstain_reason
    [c] = [c for c in a.citations if c.source == source]
    doc = assistant.index.document_by_source(source)
    assert doc is not None and doc.text[c.start:c.end] == c.quote
    return c


def test_a_docx_question_is_answered_with_a_citation_into_it(paged: Assistant) -> None:
    c = _cite(paged, "Wie hoch war der Umsatz der Nordwind AG im dritten Quartal?",
              "Der Umsatz stieg auf 412 Millionen Euro [1].", "bericht.docx")
    assert "412 Millionen" in c.quote and c.page is None and c.page_label is None


def test_citations_carry_the_pdf_page_and_the_slide(paged: Assistant) -> None:
    c = _cite(paged, "Wann wurde der Leuchtturm von Hörnum gebaut?",
              "Der Leuchtturm wurde 1907 gebaut [1].", "sylt.pdf")
    assert "1907" in c.quote and (c.page, c.page_label) == (1, "S. 1")
    c = _cite(paged, "Um wie viele Meter bewegt sich die Wanderdüne bei List?",
              "Sie wandert vier Meter im Jahr [1].", "sylt.pdf")
    assert "Wanderdüne" in c.quote and (c.page, c.page_label) == (3, "S. 3")
    c = _cite(paged, "Wie viel kostet der Offshore-Park Helgoland?",
              "Der Offshore-Park Helgoland kostet 80 Millionen [1].", "strategie.pptx")
    assert c.page == 2 and c.page_label == "Folie 2"


def test_an_index_without_page_maps_still_answers_without_pages(
        paged: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """An index built before pages were recorded: its documents' meta has no page map."""
    import dataclasses

    from qa.corpus import LoadResult
    from qa.ingest import pipeline

    def without_pages(*args: Any, **kwargs: Any) -> LoadResult:
        got = load_corpus(*args, **kwargs)
        return LoadResult([dataclasses.replace(d, meta={
            k: v for k, v in d.meta.items() if k not in ("pages", "page_kind", "page_labels")})
            for d in got.documents], got.skipped)

    monkeypatch.setattr(pipeline, "load_corpus", without_pages)
    ingest(paged.settings, embedder=paged.embedder, rebuild=True)
    paged.reload_index()
    doc = paged.index.document_by_source("sylt.pdf")
    assert doc is not None and "pages" not in doc.meta
    c = _cite(paged, "Wann wurde der Leuchtturm von Hörnum gebaut?",
              "Der Leuchtturm wurde 1907 gebaut [1].", "sylt.pdf")
    assert c.page is None and c.to_dict()["page"] is None


def test_cli_json_and_sources_show_the_page(paged: Assistant, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from qa import cli

    monkeypatch.setattr(cli.answering, "_load", lambda args: paged)
    q = "Wann wurde der Leuchtturm von Hörnum gebaut?"
    paged.generator.enqueue("Der Leuchtturm wurde 1907 gebaut [1].")  # type: ignore[attr-defined]
    assert cli.main(["ask", "--json", q]) == 0
    got = json.loads(capsys.readouterr().out)
    [c] = [c for c in got["citations"] if c["source"] == "sylt.pdf"]
    assert c["page"] == 1 and c["page_label"] == "S. 1"
    paged.generator.enqueue("Der Leuchtturm wurde 1907 gebaut [1].")  # type: ignore[attr-defined]
    assert cli.main(["ask", q]) == 0
    assert "sylt.pdf, S. 1: „" in capsys.readouterr().out


def test_rest_answer_carries_the_page(paged: Assistant) -> None:
    from test_server import live

    paged.generator.enqueue("Die Wanderdüne wandert vier Meter im Jahr [1].")  # type: ignore[attr-defined]
    with live(paged) as s:
        r = httpx.post(f"{s.url}/v1/ask", json={
            "question": "Um wie viele Meter bewegt sich die Wanderdüne bei List?"}, timeout=30)
    assert r.status_code == 200, r.text
    [c] = [c for c in r.json()["citations"] if c["source"] == "sylt.pdf"]
    assert c["page"] == 3 and c["page_label"] == "S. 3"


def test_the_source_card_shows_the_page(paged: Assistant) -> None:
    from qa.render import render_sources

    paged.generator.enqueue("Der Offshore-Park Helgoland kostet 80 Millionen [1].")  # type: ignore[attr-defined]
    a = paged.ask("Wie viel kostet der Offshore-Park Helgoland?")
    html = render_sources(a, 1, paged.index.document_by_source)
    assert '<span class="qa-page">Folie 2</span>' in html
