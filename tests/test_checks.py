"""``qa.answering.finish``, the one decision whether a reply is shown, tested without a model:
examples shaped like each eval corpus (demo news in German, English news pages, German Debian
and LaTeX documentation), and a property: a reply made only of passage text is shown."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.answering import finish
from qa.testing import passage

# demo: German news about Alibaba
DEMO = [passage(1, "Alibaba will in den nächsten drei Jahren mehr als 380 Milliarden Yuan in "
                   "Cloud- und KI-Infrastruktur investieren."),
        passage(2, "Konzernchef Eddie Wu sprach von einer historischen Chance.", "b.txt")]
# news-en: English news pages
NEWS = [passage(1, "The telescope, the world's largest, sits in a natural basin in Guizhou "
                   "province. It cost 1.2 billion yuan.", "fast.html")]
# docs-de: German documentation
DOCS = [passage(1, "Das Paket uhrzeit.sty bindet automatisch das Paket soul ein. Mit \\uhrii "
                   "gibt es die Uhrzeit nach DIN 5008 aus.", "uhrzeit.pdf")]


def test_a_supported_reply_is_shown_with_its_citation() -> None:
    v = finish("Alibaba will mehr als 380 Milliarden Yuan investieren.", DEMO,
               "Wie viel will Alibaba investieren?", 1, "de")
    assert not v.abstained and v.reason is None
    assert [c.n for c in v.citations] == [1] and "380 Milliarden" in v.citations[0].quote
    v = finish("It cost 1.2 billion yuan [1].", NEWS, "How much did the telescope cost?", 1, "en")
    assert not v.abstained and [c.source for c in v.citations] == ["fast.html"]
    v = finish("Es bindet das Paket soul ein [1].", DOCS,
               "Welches Paket bindet uhrzeit.sty automatisch ein?", 1, "de")
    assert not v.abstained


def test_an_invented_number_is_withheld_with_its_reason_and_draft() -> None:
    raw = "Alibaba will 480 Milliarden Yuan investieren [1]."
    v = finish(raw, DEMO, "Wie viel will Alibaba investieren?", 1, "de")
    assert v.abstained and v.text == "Dazu steht in den Artikeln nichts."
    assert v.reason == "numbers or names no passage holds: 480" and v.draft == raw
    assert v.citations == ()
    v = finish("The telescope cost 3.5 billion yuan [1].", NEWS,
               "How much did the telescope cost?", 1, "en")
    assert v.abstained and "3.5" in (v.reason or "")


def test_a_name_no_passage_holds_is_withheld() -> None:
    v = finish("The telescope is located in Sichuan Province, near Chengdu City [1].", NEWS,
               "Where is the telescope?", 1, "en")
    assert v.abstained and "Chengdu City" in (v.reason or "")
    v = finish("Konzernchef ist Daniel Zhang [2].", DEMO, "Wer ist Konzernchef?", 1, "de")
    assert v.abstained and "Daniel Zhang" in (v.reason or "")


def test_refusals_in_both_languages_are_abstentions() -> None:
    for raw, lang in [("NICHT_IN_DEN_ARTIKELN", "de"), ("NOT_IN_THE_ARTICLES", "en"),
                      ("Die Textstellen enthalten keine Angaben zum Gewinn.", "de"), ("", "en")]:
        v = finish(raw, DOCS, "Wie hoch ist der Gewinn?", 1, lang)
        assert v.abstained and v.reason == "the model refused", raw
    assert finish("NICHT_IN_DEN_ARTIKELN", DOCS, "Was?", 1, "de").draft is None


def test_the_answered_part_of_a_two_part_question_is_kept() -> None:
    v = finish("Es bindet das Paket soul ein [1]. NICHT_IN_DEN_ARTIKELN", DOCS,
               "Welches Paket bindet uhrzeit.sty ein, und wozu dient es?", 2, "de")
    assert not v.abstained and "soul" in v.text
    assert v.text.endswith("Zum Rest der Frage steht in den Artikeln nichts.")


def test_a_reply_without_the_kind_of_thing_asked_is_withheld() -> None:
    v = finish("Alibaba will in Cloud- und KI-Infrastruktur investieren [1].", DEMO,
               "Wie viel Geld will Alibaba investieren?", 1, "de")
    assert v.abstained and v.reason == "the reply does not contain what the question asks for"


def test_technical_answers_of_the_kind_asked_are_not_withheld() -> None:
    """docs-de: a "where" answered with a path or a newsgroup (no capitalised place name), a
    "how many" answered with an ordinal, a "non-profit" that asks for no money, a date written
    in another notation than the passage's. Each was withheld before (v16: d020, d067, d062,
    d030, d068), all five right answers."""
    man = [passage(1, "Setzen Sie LC_MESSAGES auf »german«. Die Seiten liegen unter "
                      "/usr/share/man/de/.", "faq.html")]
    v = finish("Man setzt LC_MESSAGES auf »german« und sucht unter /usr/share/man/de/ [1].", man,
               "Auf welchen Wert setzt man LC_MESSAGES, und wo sucht man dann danach?", 2, "de")
    assert not v.abstained
    news = [passage(1, "Leif Albers veröffentlichte \\mytime am 04.10.1999 in de.comp.text.tex.")]
    v = finish("Er veröffentlichte es am 04.10.1999 in de.comp.text.tex [1].", news,
               "Wann und wo veröffentlichte Leif Albers das Makro?", 2, "de")
    assert not v.abstained
    shifts = [passage(1, "Das Skript wertet nur die erste Schicht eines Tages aus.")]
    assert not finish("Das Skript wertet nur die erste Schicht aus [1].", shifts,
                      "Wie viele Schichten wertet das Skript aus?", 1, "de").abstained
    spi = [passage(1, "SPI ist eine gemeinnützige Organisation nach 501(c)(3) des US-Steuerrechts.")]
    assert not finish("SPI is a non-profit organisation under 501(c)(3) [1].", spi,
                      "Under which US tax provision is SPI a non-profit organisation?", 1,
                      "en").abstained
    ctan = [passage(1, "Version v0.2b stellte ich vom 09.08.2001 ins CTAN.", "uhrzeit.pdf")]
    v = finish("The author put v0.2b on CTAN on August 9, 2001 [1].", ctan,
               "When did the author put v0.2b on CTAN?", 1, "en")
    assert not v.abstained
    # ... but a day the passage does not give is still an invention
    v = finish("The author put v0.2b on CTAN on August 19, 2001 [1].", ctan,
               "When did the author put v0.2b on CTAN?", 1, "en")
    assert v.abstained and v.reason == "numbers or names no passage holds: 19"


def test_the_prompts_own_instruction_copied_into_a_reply_is_dropped() -> None:
    """docs-de d024: the model opened with the prompt's parts line, whose "2" no passage holds,
    so the right answer after it was withheld as an invented number."""
    bts = [passage(1, "Benutzer melden Fehler an unser Fehlerverfolgungssystem (oft BTS genannt "
                      "was Bug Tracking System bedeutet).")]
    q = "Wie heißt Debians System zur Meldung von Fehlern, und wie wird es abgekürzt?"
    raw = ("Die Frage hat 2 Teile; beantworte jeden: (1) Wie heißt Debians System zur Meldung von "
           "Fehlern? (2) wie wird es abgekürzt?  (1) Es heißt Bug Tracking System. (2) BTS.")
    v = finish(raw, bts, q, 2, "de")
    assert not v.abstained and v.text.startswith("(1) Es heißt Bug Tracking System")
    assert "Die Frage hat" not in v.text


def test_a_decided_reason_and_the_support_check_win_over_the_reply() -> None:
    raw = "Alibaba will mehr als 380 Milliarden Yuan investieren [1]."
    v = finish(raw, DEMO, "Wie viel?", 1, "de", reason="the model would refuse (p=0.90)")
    assert v.abstained and v.reason == "the model would refuse (p=0.90)"
    seen = []

    def verify(text: str, citations) -> str | None:
        seen.append((text, [c.n for c in citations]))
        return "the passages do not state this answer (p=0.20)"

    v = finish(raw, DEMO, "Wie viel will Alibaba investieren?", 1, "de", verify=verify)
    assert v.abstained and v.reason.startswith("the passages do not state") and seen[0][1] == [1]


def test_a_broken_reply_is_shown_as_broken() -> None:
    v = finish("Alibaba will mehr als 380", DEMO, "Wie viel?", 1, "de", error="stream dropped")
    assert not v.abstained and v.text.endswith("… [answer incomplete: stream dropped]")
    assert finish("", DEMO, "Wie viel?", 1, "de", error="timeout").text == "[no answer: timeout]"


_WORDS = st.sampled_from(["Hafen", "Schiffe", "legten", "genau", "an", "Stadt", "Kiel",
                          "Rekord", "Jahr", "neue", "the", "harbour", "ships", "record",
                          "Debian", "Paket", "installiert", "wurde"])
# a sentence starts with a content word: one of only stop words ("The the the the.") shares no
# term with any passage, so no citation can be attached to it, and it says nothing
_CONTENT = st.sampled_from(["Hafen", "Schiffe", "legten", "Stadt", "Kiel", "Rekord", "harbour",
                            "ships", "record", "Debian", "Paket", "installiert"])
_SENTENCE = st.tuples(_CONTENT, st.lists(st.one_of(_WORDS, st.integers(1, 5000).map(str)),
                                        min_size=3, max_size=13)).map(
    lambda t: " ".join([t[0], *t[1]]).capitalize() + ".")


@settings(max_examples=150, deadline=None)
@given(st.lists(_SENTENCE, min_size=1, max_size=4), st.data())
def test_a_reply_made_only_of_passage_text_is_shown(sentences: list[str], data) -> None:
    text = " ".join(sentences)
    reply = data.draw(st.sampled_from(sentences))
    v = finish(reply, [passage(1, text)], "Worum geht es?", 1, "de")
    assert not v.abstained, v.reason
    assert [c.n for c in v.citations] == [1]
