from __future__ import annotations

import subprocess
import sys

import pytest

from qa import Assistant, Done, InputError, Retrieved, Token
from qa.answering.prompting import ABSTAIN_TEXT, NOT_FOUND
from qa.errors import GenerationError
from qa.retrieval import rrf_fuse
from qa.testing import FakeGenerator


def test_answer_cites_the_article_that_holds_the_fact(fake_assistant: Assistant) -> None:
    a = fake_assistant.ask("Welchen Marktanteil hat Alibaba Cloud im chinesischen KI-Cloud-Markt?")
    assert not a.abstained
    assert "004_5d3a0130056c44c1.txt" in a.sources
    assert all(c.quote in fake_assistant.index.document_by_source(c.source).text for c in a.citations)
    for c in a.citations:
        assert fake_assistant.index.document_by_source(c.source).text[c.start:c.end] == c.quote
    d = a.to_dict("q1")
    assert d["id"] == "q1" and set(d["timings"]) == {"retrieve_s", "first_token_s", "total_s"}


def test_prompt_holds_the_question_and_retrieved_passages(fake_assistant: Assistant) -> None:
    gen = fake_assistant.generator
    assert isinstance(gen, FakeGenerator)
    gen.enqueue("Brasilien, Frankreich und die Niederlande [1].")
    a = fake_assistant.ask("Wo baut Alibaba neue Rechenzentren?")
    user = gen.history[-1][-1]["content"]
    assert "Frage: Wo baut Alibaba neue Rechenzentren?" in user
    assert "[1] " in user and a.passages[0].text in user
    assert a.text == "Brasilien, Frankreich und die Niederlande [1]."
    assert a.prompt_tokens and a.prompt_tokens > 50


def test_events_announce_sources_before_tokens(fake_assistant: Assistant) -> None:
    events = list(fake_assistant.events("Wie viele Parameter hat Qwen3-Max?"))
    assert isinstance(events[0], Retrieved) and events[0].passages
    assert any(isinstance(e, Token) for e in events)
    assert isinstance(events[-1], Done)
    assert "".join(fake_assistant.stream("Wie viele Parameter hat Qwen3-Max?"))


def test_refusal_becomes_an_abstention_in_the_question_language(fake_assistant: Assistant) -> None:
    fake_assistant.generator.enqueue(NOT_FOUND, NOT_FOUND)
    de = fake_assistant.ask("Wie heißt der Finanzchef von Alibaba?")
    en = fake_assistant.ask("Who is Alibaba's chief financial officer?")
    assert de.abstained and de.text == ABSTAIN_TEXT["de"] and not de.citations
    assert en.abstained and en.text == ABSTAIN_TEXT["en"] and en.language == "en"
    assert de.passages  # the closest passages are still there to show


def test_refusal_marker_is_never_streamed(fake_assistant: Assistant) -> None:
    fake_assistant.generator.enqueue("NICHT_IN_DEN_ARTIKELN")
    assert list(fake_assistant.stream("Wie heißt der Finanzchef?")) == []


def test_mid_stream_failure_is_visible(fake_assistant: Assistant) -> None:
    class Breaking(FakeGenerator):
        def stream(self, messages, max_tokens=256, temperature=0.0):  # noqa: ANN001, ANN201
            yield "Alibaba investiert "
            raise GenerationError("connection lost", partial="Alibaba investiert ")

    fake_assistant.generator = Breaking()
    a = fake_assistant.ask("Wie viel investiert Alibaba?")
    assert a.error == "connection lost" and "incomplete" in a.text and not a.abstained


def test_fallback_answers_when_the_primary_fails_first(fake_assistant: Assistant) -> None:
    class Down(FakeGenerator):
        def stream(self, messages, max_tokens=256, temperature=0.0):  # noqa: ANN001, ANN201
            raise GenerationError("server down")
            yield ""

    fake_assistant.generator = Down(name="openai:x")
    fake_assistant.fallback = FakeGenerator(name="local-fallback")
    a = fake_assistant.ask("Wie viel investiert Alibaba?")
    assert a.fallback and a.model == "local-fallback" and not a.error


@pytest.mark.parametrize("q", ["", "   ", "\x00\x01", "x" * 5000])
def test_bad_questions(fake_assistant: Assistant, q: str) -> None:
    with pytest.raises(InputError):
        fake_assistant.ask(q)


def test_rrf_prefers_items_both_rankings_agree_on() -> None:
    fused = rrf_fuse([[(1, .9), (2, .8), (3, .1), (4, 0.)], [(4, 9.0), (2, 5.0)]], [1.0, 1.0], k=60)
    assert [r for r, _ in fused] == [2, 4, 1, 3]
    assert rrf_fuse([[(1, .9)], [(2, 1.0)]], [1.0, 0.0], k=60)[0][0] == 1


def test_import_is_light() -> None:
    code = ("import sys, qa; heavy = [m for m in ('torch', 'faiss', 'llama_cpp', 'gradio', "
            "'llama_index', 'sentence_transformers', 'bm25s', 'docx', 'pptx', 'openpyxl', "
            "'pypdf', 'lxml') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- abstention from the model's own uncertainty (StartProbing generators) ---------------------

@pytest.fixture
def probing_assistant(fake_assistant: Assistant) -> Assistant:
    from qa.testing import FakeProbingGenerator

    return fake_assistant.with_generator(FakeProbingGenerator())


def test_a_sure_refusal_abstains_without_generating(probing_assistant: Assistant) -> None:
    gen = probing_assistant.generator
    gen.probability = 0.9
    a = probing_assistant.ask("Wie heißt der Finanzchef von Alibaba?")
    assert a.abstained and a.text == ABSTAIN_TEXT["de"] and not a.citations
    assert gen.probes == 1 and gen.history == []  # no token generated


def test_an_unsure_refusal_is_retried_with_the_marker_banned(probing_assistant: Assistant) -> None:
    from qa.answering.prompting import REFUSAL_MARKERS

    gen = probing_assistant.generator
    gen.probability = 0.3
    gen.enqueue(NOT_FOUND, "Alibaba baut Rechenzentren in Brasilien [1].")
    events = list(probing_assistant.events("Wo baut Alibaba Rechenzentren?"))
    a = events[-1].answer
    assert gen.avoided == [(), REFUSAL_MARKERS]
    assert not a.abstained and a.text.startswith("Alibaba baut Rechenzentren in Brasilien")
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    assert "NICHT" not in streamed and streamed.startswith("Alibaba")


def test_a_retried_answer_is_checked_like_any_other(probing_assistant: Assistant) -> None:
    gen = probing_assistant.generator
    gen.probability = 0.3
    gen.enqueue(NOT_FOUND, "Der Finanzchef verdient 987654 Euro [1].")  # a number no passage has
    a = probing_assistant.ask("Wie viel verdient der Finanzchef?")
    assert a.abstained and len(gen.avoided) == 2


def test_a_confident_answer_is_not_retried(probing_assistant: Assistant) -> None:
    gen = probing_assistant.generator
    gen.probability = 0.01
    gen.enqueue("Alibaba baut Rechenzentren in Brasilien [1].")
    assert not probing_assistant.ask("Wo baut Alibaba Rechenzentren?").abstained
    assert gen.avoided == [()]


def test_threshold_one_turns_the_probe_and_the_retry_off(probing_assistant: Assistant) -> None:
    a = probing_assistant
    off = Assistant(a.retriever, a.generator, a.settings.replace(abstain_threshold=1.0), a.index,
                    embedder=a.embedder, store=a.store)
    off.generator.probability = 0.99
    off.generator.enqueue(NOT_FOUND)
    assert off.ask("Wie heißt der Finanzchef?").abstained
    assert off.generator.probes == 0 and off.generator.avoided == [()]


def test_a_refusal_already_shown_in_words_is_not_retried(probing_assistant: Assistant) -> None:
    gen = probing_assistant.generator
    gen.probability = 0.3
    gen.enqueue("Die Textstellen enthalten keine Angaben zum Finanzchef.")
    a = probing_assistant.ask("Wie heißt der Finanzchef?")
    assert a.abstained and len(gen.avoided) == 1


# -- why qa abstained ---------------------------------------------------------------------------

def test_an_abstention_says_why_and_keeps_the_withheld_reply(probing_assistant: Assistant) -> None:
    gen = probing_assistant.generator
    gen.probability = 0.9
    sure = probing_assistant.ask("Wie heißt der Finanzchef von Alibaba?")
    assert sure.abstain_reason == "the model would refuse (p=0.90)" and sure.draft is None
    assert sure.refusal_probability == pytest.approx(0.9)
    gen.probability = 0.01
    gen.enqueue("Der Finanzchef verdient 987654 Euro [1].")
    invented = probing_assistant.ask("Wie viel verdient der Finanzchef?")
    assert invented.abstain_reason == "numbers or names no passage holds: 987654"
    assert invented.draft == "Der Finanzchef verdient 987654 Euro [1]."
    d = invented.to_dict()
    assert d["abstain_reason"] == invented.abstain_reason and d["draft"] == invented.draft
    gen.enqueue("Alibaba baut Rechenzentren in Brasilien [1].")
    answered = probing_assistant.ask("Wo baut Alibaba Rechenzentren?")
    assert not answered.abstained and answered.abstain_reason is None and answered.draft is None
    assert "abstain_reason" not in answered.to_dict()


@pytest.mark.parametrize("question, reply", [
    ("Wie viel zahlt Apple an Alibaba für die KI-Funktionen?",
     "Die KI-Funktionen werden von Apple an Alibaba bezahlt [1]."),
    ("Who heads the Alibaba Cloud unit?", "The Alibaba Cloud unit is headed by Alibaba Cloud [1]."),
])
def test_a_reply_without_what_was_asked_is_no_answer(fake_assistant: Assistant, question: str,
                                                       reply: str) -> None:
    fake_assistant.generator.enqueue(reply)
    a = fake_assistant.ask(question)
    assert a.abstained and a.abstain_reason == "the reply does not contain what the question asks for"
    assert a.draft == reply


def test_a_reply_with_what_was_asked_is_kept(fake_assistant: Assistant) -> None:
    fake_assistant.generator.enqueue("Alibaba Cloud hält 35,8 Prozent des Marktes [1].")
    a = fake_assistant.ask("Wie hoch ist der Marktanteil von Alibaba Cloud in China?")
    assert not a.abstained and "35,8" in a.text


def test_an_answer_to_part_of_the_question_is_kept_and_the_rest_said_missing(
        fake_assistant: Assistant) -> None:
    from qa.answering.prompting import REST_MISSING_TEXT

    fake_assistant.generator.enqueue("Alibaba baut Rechenzentren in Brasilien [1]. NICHT_IN_DEN_ARTIKELN")
    events = list(fake_assistant.events("Wo baut Alibaba Rechenzentren, und was kosten sie?"))
    a = events[-1].answer
    assert not a.abstained and a.citations
    assert a.text.startswith("Alibaba baut Rechenzentren in Brasilien")
    assert a.text.endswith(REST_MISSING_TEXT["de"]) and "NICHT_IN" not in a.text
    assert "NICHT" not in "".join(e.text for e in events if isinstance(e, Token))


def test_a_part_answered_with_the_marker_is_said_missing(fake_assistant: Assistant) -> None:
    from qa.answering.prompting import REST_MISSING_TEXT

    fake_assistant.generator.enqueue(
        "(1) Alibaba baut Rechenzentren in Brasilien [1].\n(2) NICHT_IN_DEN_ARTIKELN")
    a = fake_assistant.ask("Wo baut Alibaba Rechenzentren, und gibt es Zinsen?")
    assert not a.abstained and a.citations
    assert a.text == f"(1) Alibaba baut Rechenzentren in Brasilien [1]. {REST_MISSING_TEXT['de']}"


def test_a_non_answer_before_the_marker_is_still_no_answer(fake_assistant: Assistant) -> None:
    fake_assistant.generator.enqueue(
        "Alibaba steckt Geld in Startups wie Moonshot [1]. NICHT_IN_DEN_ARTIKELN",
        "Ark Invest kaufte 2021 Aktien [1]. NICHT_IN_DEN_ARTIKELN")
    a = fake_assistant.ask("Wie viele KI-Fachleute will Alibaba ausbilden, und wann beginnt es?")
    assert a.abstained and a.abstain_reason == "the reply does not contain what the question asks for"
    # a question of one part: the text before the marker is not taken as an answer
    one = fake_assistant.ask("Wie viele Alibaba-Aktien hat Ark Invest gekauft?")
    assert one.abstained and one.abstain_reason == "the model refused"


def _retrying(fake_assistant: Assistant, on: bool = True) -> Assistant:
    return Assistant.load(fake_assistant.settings.replace(retry_unsupported=on),
                          embedder=fake_assistant.embedder, generator=FakeGenerator())


def test_a_reply_with_an_invented_number_is_written_once_more(fake_assistant: Assistant) -> None:
    q = "Wie viel investiert Alibaba?"
    assistant = _retrying(fake_assistant)
    gen = assistant.generator
    second_reply = "Cathie Wood investierte 16,3 Millionen US-Dollar in Alibaba [3]."
    gen.enqueue("Alibaba investiert 4817 Milliarden Yuan [1].", second_reply)
    a = assistant.ask(q)
    assert not a.abstained and a.text == second_reply and [c.n for c in a.citations] == [3]
    assert len(gen.history) == 2  # the second try sees the first reply and what was invented
    first, second = gen.history
    assert second[:len(first)] == first
    assert second[-2] == {"role": "assistant",
                          "content": "Alibaba investiert 4817 Milliarden Yuan [1]."}
    assert "„4817“" in second[-1]["content"] and NOT_FOUND in second[-1]["content"]


def test_a_second_reply_that_fails_again_keeps_the_first_reason(fake_assistant: Assistant) -> None:
    assistant = _retrying(fake_assistant)
    assistant.generator.enqueue("Alibaba investiert 4817 Milliarden Yuan [1].",
                                "Es sind 9999 Milliarden Yuan [1].")
    a = assistant.ask("Wie viel investiert Alibaba?")
    assert a.abstained and a.abstain_reason is not None
    assert a.abstain_reason.startswith("numbers or names no passage holds: 4817")
    assert a.draft == "Alibaba investiert 4817 Milliarden Yuan [1]."
    refused = _retrying(fake_assistant)
    refused.generator.enqueue("Alibaba investiert 4817 Milliarden Yuan [1].", NOT_FOUND)
    assert refused.ask("Wie viel investiert Alibaba?").abstained


def test_no_second_try_when_it_is_off_or_the_reason_is_another(fake_assistant: Assistant) -> None:
    off = _retrying(fake_assistant, on=False)
    off.generator.enqueue("Alibaba investiert 4817 Milliarden Yuan [1].")
    assert off.ask("Wie viel investiert Alibaba?").abstained and len(off.generator.history) == 1
    on = _retrying(fake_assistant)
    on.generator.enqueue(NOT_FOUND)  # a refusal is not an invention: no second try
    assert on.ask("Wie viel investiert Alibaba?").abstained and len(on.generator.history) == 1
