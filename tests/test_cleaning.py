"""Furniture cleaning, titles and dates: pure functions, and the demo corpus as a whole.

The corpus test lists every line cleaning drops from the five demo articles, with its class: a
change to the patterns that drops one more line (an article sentence, say) fails here and shows
the line. Gold evidence spans are checked separately (tests/test_gold.py), so no evidence
sentence can be lost either.
"""

from __future__ import annotations

from pathlib import Path

from qa.cleaning import drop_furniture, find_date, find_title, headline_like
from qa.corpus import clean_text, load_corpus, load_file

ARTICLES = Path(__file__).resolve().parent.parent / "data" / "articles"

EXPECTED_DROPS = {
    "000": [("read-also link", "Lesen Sie dazu auch: Alibaba überrascht mit starkem Quartalsgewinn"),
            ("tail block", "Und: Unterschätzter Gigant: Chinas Börse hängt S&P 500"),
            ("tail block", "Übrigens: Wer in die Welt der etablierten Technologie-Aktien"),
            ("securities widget", "Alibaba Group (WKN: A117ME)"),
            ("disclaimer", "Hinweis auf Interessenkonflikte:"),
            ("disclaimer", "Der Preis der Finanzinstrumente wird von einem Index")],
    "001": [("photo credit", "Foto: IHOR SULYATYTSKYY/Shutterstock"),
            ("question to the reader", "Besitzt du neben Bitcoin")],
    "002": [("subscription or analysis teaser", "Alibaba-Aktie: Kaufen oder verkaufen?!"),
            ("subscription or analysis teaser", "Die neusten Alibaba-Zahlen sprechen"),
            ("subscription or analysis teaser", "Alibaba: Kaufen oder verkaufen? Hier weiterlesen")],
    "003": [("lone bullet or separator", "·"),
            ("caption or credit", "Alibaba Clud Expansion | Dr. Wrede & Partner")],
    "004": [("source list", "- https://")] * 10 + [
            ("headline of another story", "Großbritannien erhält 39 Milliarden Dollar"),
            ("headline of another story", "18/09/2025Figure AI sichert sich"),
            ("date of a teaser", "18/09/2025"),
            ("source list", "Quellenangabe")],
}


def test_every_dropped_line_of_the_demo_corpus_is_listed() -> None:
    for path in sorted(ARTICLES.iterdir()):
        dropped: list = []
        clean_text(path.read_text(encoding="utf-8"), dropped)
        got = [(d.why, d.line) for d in dropped]
        want = EXPECTED_DROPS[path.name[:3]]
        assert len(got) == len(want), (path.name, got)
        for (why, line), (want_why, prefix) in zip(got, want, strict=True):
            assert why == want_why and line.startswith(prefix), (path.name, why, line)


def test_demo_titles_are_headlines_or_first_sentences() -> None:
    titles = {d.source[:3]: d.title for d in load_corpus([ARTICLES]).documents}
    assert titles["002"] == "Alibaba Aktie: KI-Offensive eskaliert!"
    assert titles["003"] == "Alibaba im KI-Revolutionszyklus"
    # 004 opened with two headlines of other stories: its title is its own first sentence
    assert titles["004"].startswith("Alibaba hat gerade eine kühne Aussage")
    assert titles["001"].startswith("Alibaba setzt auf künstliche Intelligenz")
    assert all(len(t.split()) <= 18 for t in titles.values())


def test_article_text_stays_when_it_only_resembles_furniture() -> None:
    text = ("Alibaba baut Rechenzentren in Brasilien.\n"
            "Ein Hinweis auf Interessenkonflikte fehlt in dem Bericht, sagte Wu.\n"
            "Die Anleihen | so Analysten | sind gefragt, weil die Zinsen fallen.\n"
            "Wer kaufen will, muss warten.\n"
            "Was bedeutet das für Anleger?")
    kept, dropped = drop_furniture(text)
    assert kept == text and dropped == []


def test_english_furniture_classes() -> None:
    text = ("Alibaba opened data centres in Brazil.\nIt also plans sites in Mexico.\n"
            "Cloud revenue grew 26 percent.\n\nRead more: Alibaba stock jumps\n"
            "Subscribe now to our newsletter\nDisclaimer:\nThe author holds shares.\n\n"
            "Sources\n- https://example.com/a\nWhat do you think about this?")
    kept, dropped = drop_furniture(text)
    assert kept.strip() == ("Alibaba opened data centres in Brazil.\nIt also plans sites in "
                            "Mexico.\nCloud revenue grew 26 percent.")
    assert {d.why for d in dropped} >= {"read-also link", "disclaimer", "source list"}


def test_a_tail_paragraph_of_prose_is_kept() -> None:
    prose = " ".join(["Das Wachstum des Cloud-Geschäfts bleibt der wichtigste Treiber."] * 6)
    text = "Alibaba wächst.\nDie Cloud wächst.\nDie Aktie steigt.\n\nLesen Sie auch: X\n" + prose
    kept, dropped = drop_furniture(text)
    assert prose in kept and [d.why for d in dropped] == ["read-also link"]


def test_dates() -> None:
    assert find_date("Veröffentlicht am 24.09.2025\nText.") == "2025-09-24"
    assert find_date("Published: September 18, 2025\nText.") == "2025-09-18"
    assert find_date("18/09/2025 | 08:15 Uhr\nAlibaba baut.") == "2025-09-18"
    assert find_date("Am 24.09.2025 sprach Wu.") == ""  # an event in the story, not the date
    assert find_date("x", meta_date="2025-02-30T00:00:00") == ""  # invalid
    assert find_date("x", meta_date="2025-02-28T00:00:00") == "2025-02-28"


def test_titles_and_dates_from_html_and_markdown(tmp_path: Path) -> None:
    html = ("<html><head><title>Alibaba | Site</title><meta property='og:title' content='Alibaba "
            "baut'><meta property='article:published_time' content='2025-09-24T10:00:00Z'></head>"
            "<body><article><p>Neue Rechenzentren in Brasilien und Frankreich.</p></article>"
            "</body></html>")
    (tmp_path / "a.html").write_text(html, encoding="utf-8")
    doc = load_file(tmp_path / "a.html")
    assert doc.title == "Alibaba baut" and doc.meta["date"] == "2025-09-24"
    (tmp_path / "b.md").write_text("Intro line without end\n\n# Die Überschrift\n\nText hier.",
                                   encoding="utf-8")
    assert load_file(tmp_path / "b.md").title == "Die Überschrift"


def test_headline_like_and_title_fallback() -> None:
    assert headline_like("Partnerschaft mit Nvidia als Gamechanger")
    assert not headline_like("Die Aktie stieg um 12,6 Prozent.")
    assert find_title("Ein sehr langer erster Satz mit vielen Wörtern, der kein Titel ist, weil er "
                      "mit einem Punkt endet und weit über vierzehn Wörter hat.").endswith("…")
    assert find_title("") == ""
