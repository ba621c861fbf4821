"""Issue 22's "done when", as one scenario: a folder mixing a saved web page, docx, pptx, xlsx,
odt, epub, rtf, a text PDF and a scanned PDF (real files written by their libraries, the scan
read by the real Tesseract) is ingested by `qa ingest` with one line per file, and a question
about each is answered by `qa ask --json` with a citation into that file, at its page where
the file has pages. Fake embedder and generator (``fake_models``): the models are not what is
tested here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from office_files import (
    RTF,
    make_docx,
    make_epub,
    make_odt,
    make_pdf,
    make_pptx,
    make_scan,
    make_xlsx,
)

from qa import cli
from qa.testing import FakeGenerator

PAGE = """<html><head><title>Leuchtfeuer an der Elbe</title></head><body>
<nav><a href="/">Start</a> | <a href="/news">Nachrichten</a></nav>
<article><h1>Leuchtfeuer an der Elbe</h1>
<p>Das Leuchtfeuer Pagensand an der Unterelbe wurde im Jahr 1911 in Betrieb genommen und
leuchtet seither jede Nacht über dem Fahrwasser der großen Containerschiffe.</p>
<p>Die Wasserstraßenverwaltung ersetzte die Lampe 2019 durch eine sparsame LED-Optik, die
weiter reicht als das alte Glühlicht und kaum Wartung braucht.</p></article>
<footer>Impressum · Datenschutz</footer></body></html>"""

SCAN_LINES = ["Die Schleuse Geesthacht hebt Schiffe", "um bis zu vier Meter an."]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "leuchtfeuer.html").write_text(PAGE, encoding="utf-8")
    make_docx(docs / "bericht.docx")
    make_pptx(docs / "strategie.pptx")
    make_xlsx(docs / "absatz.xlsx")
    make_odt(docs / "protokoll.odt")
    make_epub(docs / "reise.epub")
    (docs / "hafen.rtf").write_text(RTF, encoding="latin-1")
    make_pdf(docs / "sylt.pdf", ["Der Leuchtturm von Hörnum auf Sylt steht an der Südspitze.",
                                 "Der Leuchtturm von Hörnum wurde 1907 aus Gusseisen gebaut."])
    make_scan(docs / "schleuse.pdf", SCAN_LINES)  # a scan: no text layer
    return docs


# question -> (the reply the fake model gives, the file its citation must point into, the page
# label that citation must carry, or None for a file without pages)
QUESTIONS = {
    "Wann wurde das Leuchtfeuer Pagensand an der Unterelbe in Betrieb genommen?":
        ("Das Leuchtfeuer Pagensand wurde im Jahr 1911 in Betrieb genommen.",
         "leuchtfeuer.html", None),
    "Auf wie viel steigerte die Nordwind AG ihren Umsatz im dritten Quartal?":
        ("Die Nordwind AG steigerte ihren Umsatz auf 412 Millionen Euro.", "bericht.docx", None),
    "Um wie viel wuchs die Nachfrage nach Windstrom?":
        ("Die Nachfrage nach Windstrom wuchs um zwölf Prozent.", "strategie.pptx", "slide 1"),
    "Wie viele Mitarbeiter hat der Standort Rostock?":
        ("Am Standort Rostock arbeiten 31 Mitarbeiter.", "absatz.xlsx", "sheet 2 (Personal)"),
    "Wie viele Mitglieder hat der neue Vorstand des Vereins?":
        ("Der Verein beschloss einen neuen Vorstand mit fünf Mitgliedern.", "protokoll.odt",
         None),
    "Womit fuhr Anna am Morgen nach Westerland?":
        ("Anna fuhr am Morgen mit dem Zug von Hamburg nach Westerland.", "reise.epub",
         "ch. 1 (Aufbruch)"),
    "Wie viele Kreuzfahrtschiffe legten 2025 im Kieler Hafen an?":
        ("Im Kieler Hafen legten 2025 genau 271 Kreuzfahrtschiffe an.", "hafen.rtf", None),
    "Wann wurde der Leuchtturm von Hörnum aus Gusseisen gebaut?":
        ("Der Leuchtturm von Hörnum wurde 1907 aus Gusseisen gebaut.", "sylt.pdf", "p. 2"),
    "Um wie viele Meter hebt die Schleuse Geesthacht Schiffe an?":
        ("Die Schleuse Geesthacht hebt Schiffe um bis zu vier Meter an.", "schleuse.pdf",
         "p. 1"),
}


def test_a_mixed_folder_ingests_with_a_line_per_file_and_answers_from_each(
        folder: Path, tmp_path: Path, fake_models: FakeGenerator,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # the data folder (feedback) inside the test's folder
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the OCR cache
    where = ["--corpus-dir", str(folder), "--index-dir", str(tmp_path / "index")]
    assert cli.main(["ingest", *where]) == 0
    out = capsys.readouterr().out.splitlines()
    files = sorted(p.name for p in folder.iterdir())
    added = sorted(line.split()[1] for line in out if line.startswith("+ "))
    assert added == files, out  # one line per file
    lines = {line.split()[1]: line for line in out if line.startswith("+ ")}
    assert lines["sylt.pdf"] == "+ sylt.pdf (pdf, 2 pages, 1 chunk)"
    assert "2 slides" in lines["strategie.pptx"] and "2 sheets" in lines["absatz.xlsx"]
    assert any(line.startswith("schleuse.pdf: 1 page read by OCR in") for line in out), out
    assert out[-1].startswith("indexed 9 new, 0 changed, 0 removed, 0 unchanged documents")

    for question, (reply, source, label) in QUESTIONS.items():
        fake_models.enqueue(reply)  # without [n]: qa attaches the citation by term overlap
        assert cli.main(["ask", "--json", "--language", "en", question, *where]) == 0
        got = json.loads(capsys.readouterr().out)
        assert not got["abstained"], (question, got.get("abstain_reason"))
        cited = [c for c in got["citations"] if c["source"] == source]
        assert cited, (question, [c["source"] for c in got["citations"]])
        assert all(c["quote"] for c in cited)
        if label is None:
            assert all(c["page"] is None for c in cited)
        else:
            assert cited[0]["page_label"] == label, (question, cited[0])
