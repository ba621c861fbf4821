from __future__ import annotations

from pathlib import Path

import pytest

from qa.corpus import clean_text, load_corpus, load_file


def write(p: Path, data: bytes | str) -> Path:
    p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return p


def test_demo_corpus_metadata(corpus: Path) -> None:
    result = load_corpus([corpus])
    assert not result.skipped
    assert [d.source for d in result.documents] == sorted(p.name for p in corpus.iterdir())
    doc = result.documents[0]
    assert doc.title.startswith("Starkes Cloud-Wachstum")
    assert len(doc.sha256) == 64 and len(doc.doc_id) == 64
    assert "Rechenzentren in Brasilien" in doc.text


def test_furniture_is_dropped_but_article_text_kept() -> None:
    raw = ("Foto: IHOR SULYATYTSKYY/Shutterstock\nAlibaba setzt auf KI.\n·\n\n\n\n"
           "- https://example.com/a\nQuellenangabe folgt.")
    assert clean_text(raw) == "Alibaba setzt auf KI.\n\nQuellenangabe folgt."


def test_html_scripts_and_navigation_are_removed(tmp_path: Path) -> None:
    html = ("<html><head><title>Alibaba &amp; KI</title><script>alert(1)</script></head><body>"
            "<nav>Home | Login</nav><article><h1>Alibaba baut</h1><p>Neue Rechenzentren in "
            "Brasilien und Frankreich.</p><p>Die Cloud wächst um 26 Prozent.</p></article>"
            "<footer>© 2025</footer></body></html>")
    doc = load_file(write(tmp_path / "a.html", html))
    assert doc.title == "Alibaba baut"  # the article's heading before <title> (often "… | Site")
    assert "alert" not in doc.text and "Login" not in doc.text and "©" not in doc.text
    assert "Neue Rechenzentren in Brasilien und Frankreich." in doc.text


def test_html_byline_and_site_are_metadata_not_text(tmp_path: Path) -> None:
    html = ("<html><head><title>Teleskop | Example News</title>"
            '<meta name="author" content="Erika Muster">'
            '<meta property="og:site_name" content="Example News">'
            '<meta property="article:published_time" content="2025-03-04"></head><body>'
            "<article><h1>Das Teleskop</h1><p class='byline'>Von Erika Muster</p>"
            "<p>Das Radioteleskop FAST steht in der Provinz Guizhou im Süden Chinas. Es hat "
            "einen Durchmesser von 500 Metern und wurde im Jahr 2016 fertiggestellt.</p>"
            "<p>Forscher nutzen es, um Pulsare zu finden; bis heute wurden über 800 "
            "entdeckt.</p></article></body></html>")
    doc = load_file(write(tmp_path / "t.html", html))
    assert doc.meta["author"] == "Erika Muster" and doc.meta["site"] == "Example News"
    assert doc.meta["date"].startswith("2025-03-04")
    assert "Provinz Guizhou" in doc.text and "800" in doc.text


def test_html_lines_wrapped_in_the_source_stay_one_paragraph(tmp_path: Path) -> None:
    para = ("Wenn Sie auf Ihrem Debian-System Pakete bauen möchten, benötigen\nSie eine "
            "grundlegende Entwicklungsumgebung. Um diese Umgebung zu erstellen,\nmüssen Sie "
            "einfach nur das Paket <code>build-essential</code> installieren.")
    html = ("<html><body><main><h2>Pakete bauen</h2><p>" + para + "</p><ul><li>eins</li>"
            "<li>zwei</li></ul><p>Ein zweiter Absatz mit genug Wörtern für den Extraktor, damit "
            "er ihn als Text erkennt und behält.</p></main></body></html>")
    doc = load_file(write(tmp_path / "w.html", html))
    assert ("Um diese Umgebung zu erstellen, müssen Sie einfach nur das Paket build-essential "
            "installieren.") in doc.text  # one sentence, not three paragraphs
    assert "- eins\n\n- zwei" in doc.text


def test_html_without_an_article_falls_back_to_its_blocks(tmp_path: Path) -> None:
    html = "<html><body><table><tr><td>apt-get install foo</td><td>installiert foo</td></tr></table></body></html>"
    doc = load_file(write(tmp_path / "f.html", html))
    assert "apt-get install foo" in doc.text and "installiert foo" in doc.text


def test_markdown(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path / "a.md", "# Titel\n\nEin [Link](http://x) und **fett** im Text."))
    assert doc.title == "Titel"
    assert "Ein Link und fett im Text." in doc.text


def test_pdf(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    fig.text(0.1, 0.5, "Alibaba investiert 53 Milliarden Dollar in KI.")
    fig.savefig(tmp_path / "a.pdf")
    plt.close(fig)
    doc = load_file(tmp_path / "a.pdf")
    assert "53 Milliarden Dollar" in doc.text


def test_windows_1252_is_read(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path / "a.txt", "Die Größe wächst schnell heute.".encode("cp1252")))
    assert "Größe wächst" in doc.text


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("empty.txt", b"", "empty file"),
    ("blank.txt", b"  \n\n ", "no article text"),
    ("bin.txt", b"\x00\x01\x02binary" * 10, "binary"),
    ("archiv.zip", b"PK\x03\x04....", "unsupported file type"),
    ("image.png", b"\x89PNG....", "not a readable image"),
    ("fake.pdf", b"hello, not a pdf", "not a PDF"),
    ("broken.pdf", b"%PDF-1.4 garbage", "PDF"),
    ("junk.txt", bytes(range(128, 256)) * 4 + b"\x81\x8d\x8f\x90\x9d" * 50, "not UTF-8"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 30 else "")
def test_bad_files_are_skipped_with_a_reason(tmp_path: Path, name: str, data: bytes,
                                             reason: str) -> None:
    (tmp_path / "in").mkdir()
    write(tmp_path / "in" / name, data)
    write(tmp_path / "in" / "good.txt", "Alibaba baut neue Rechenzentren in Europa.")
    result = load_corpus([tmp_path / "in"])
    assert [d.source for d in result.documents] == ["good.txt"]
    assert len(result.skipped) == 1
    assert result.skipped[0].path == name
    assert reason in result.skipped[0].reason


def test_too_large(tmp_path: Path) -> None:
    p = write(tmp_path / "big.txt", "Wort " * 1000)
    with pytest.raises(ValueError, match="too large"):
        load_file(p, max_bytes=100)


def test_missing_path_is_reported(tmp_path: Path) -> None:
    result = load_corpus([tmp_path / "nope.txt"])
    assert result.skipped and "does not exist" in result.skipped[0].reason


def test_hidden_files_are_ignored(tmp_path: Path) -> None:
    write(tmp_path / ".hidden.txt", "Geheimer Text mit Worten.")
    write(tmp_path / "a.txt", "Offener Text mit Worten.")
    assert [d.source for d in load_corpus([tmp_path]).documents] == ["a.txt"]
