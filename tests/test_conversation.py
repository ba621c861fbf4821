"""qa.conversation: the follow-up heuristic, the rewrite prompt, sanitising, and the rewrite."""

from __future__ import annotations

import pytest

from qa.answering.prompting import approx_tokens
from qa.conversation import (
    PROMPT_TOKENS,
    build_rewrite_messages,
    fallback_question,
    looks_like_followup,
    required_terms,
    rewrite_followup,
    sanitize_rewrite,
)
from qa.errors import ModelError
from qa.testing import FakeGenerator

HISTORY = [("Wie viel investiert Alibaba in KI?",
            "Alibaba investiert 53 Milliarden Dollar in KI und Cloud [1].")]
FALLBACK = "Wie viel investiert Alibaba in KI? Und wie viel davon in Europa?"


@pytest.mark.parametrize("question", [
    "Und wie viel davon in Europa?",
    "Und in Europa?",
    "Und wie viel?",
    "What about Tencent?",
    "How much does it cost?",
    "Was hat er dort gesagt?",
    "Wann wurde es gegründet?",
    "Warum?",
    "And in Europe?",
    "Wer war dabei?",
])
def test_followups(question: str) -> None:
    assert looks_like_followup(question)


@pytest.mark.parametrize("question", [
    "Wie viel investiert Alibaba in KI?",
    "How many parameters does Qwen3-Max have?",
    "Wer ist der CEO von Alibaba?",
    "Welche Modelle hat DeepSeek veröffentlicht?",
    "Gibt es Pläne für Rechenzentren in Europa?",
    "Is there a data center in Europe?",
    "Können Sie mir sagen, wie viel Alibaba in KI investiert?",
    "Welche Rolle spielt Nvidia bei den Plänen von Alibaba für Rechenzentren in Europa und Asien?",
    "",
])
def test_standalone_questions(question: str) -> None:
    assert not looks_like_followup(question)


def test_prompt_is_tiny_and_in_the_question_language() -> None:
    long_answer = "Alibaba investiert sehr viel Geld in viele Dinge. " * 30
    history = [("Erste Frage zu Tencent?", long_answer), ("Wie viel investiert Alibaba?",
                                                        long_answer)]
    msgs = build_rewrite_messages("Und wie viel davon in Europa?", history)
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert sum(approx_tokens(m["content"]) for m in msgs) <= PROMPT_TOKENS
    assert "Folgefrage: Und wie viel davon in Europa?" in msgs[1]["content"]
    assert "Wie viel investiert Alibaba?" in msgs[1]["content"]  # the last turn is kept
    en = build_rewrite_messages("And what about Europe?", [("How much does Alibaba invest?",
                                                            "53 billion [1].")])
    assert "Follow-up: And what about Europe?" in en[1]["content"] and "[1]" not in en[1]["content"]


@pytest.mark.parametrize("output, expected", [
    ("Wie viel investiert Alibaba in Europa?", "Wie viel investiert Alibaba in Europa?"),
    ('Frage: „Wie viel investiert Alibaba in KI in Europa?“',
     "Wie viel investiert Alibaba in KI in Europa?"),
    ("Eigenständige Frage: Wie viel von Alibabas KI-Geld geht nach Europa\n\nErklärung: …",
     "Wie viel von Alibabas KI-Geld geht nach Europa?"),
    ("**Standalone question:** 'How much does Alibaba invest in Europe?'",
     "How much does Alibaba invest in Europe?"),
    ("", FALLBACK),  # empty
    ("   \n  ", FALLBACK),
    ("Wie viel investiert Alibaba in KI?", FALLBACK),  # lost "Europa"
    ("Wie viel geht nach Europa?", FALLBACK),  # resolved nothing from the previous turn
    ("Alibaba Europa " * 40, FALLBACK),  # too long
    ("Und wie viel davon in Europa?", FALLBACK),  # echoed the follow-up
    ("In Europa investiert Alibaba nichts.", FALLBACK),  # answered instead of rewriting
])
def test_sanitize(output: str, expected: str) -> None:
    assert sanitize_rewrite(output, "Und wie viel davon in Europa?", HISTORY) == expected


def test_required_terms_and_fallback() -> None:
    assert required_terms("Und wie viel davon in Europa 2025?") == ["europa", "2025"]
    assert required_terms("Warum?") == []
    assert fallback_question("Und dort?", HISTORY) == "Wie viel investiert Alibaba in KI? Und dort?"
    assert fallback_question("Und dort?", []) == "Und dort?"


def test_rewrite_calls_the_model_only_for_followups() -> None:
    gen = FakeGenerator()
    q = "Wie viel investiert Tencent in KI?"
    assert rewrite_followup(gen, q, HISTORY) == q
    assert rewrite_followup(gen, "Und wie viel davon in Europa?", []) == \
        "Und wie viel davon in Europa?"
    assert gen.history == []  # no model call at all
    gen.enqueue("Frage: Wie viel investiert Alibaba in Europa?")
    assert rewrite_followup(gen, "Und wie viel davon in Europa?", HISTORY) == \
        "Wie viel investiert Alibaba in Europa?"
    assert len(gen.history) == 1
    prompt = gen.history[0][-1]["content"]
    assert "Und wie viel davon in Europa?" in prompt and "Wie viel investiert Alibaba" in prompt


def test_rewrite_falls_back_on_garbage_and_on_errors() -> None:
    gen = FakeGenerator()
    gen.enqueue("I am a helpful assistant and I like turtles.")
    assert rewrite_followup(gen, "Und wie viel davon in Europa?", HISTORY) == FALLBACK

    class Broken:
        name = "broken"

        def stream(self, messages, max_tokens=256, temperature=0.0):
            raise ModelError("backend down")
            yield ""  # pragma: no cover

    assert rewrite_followup(Broken(), "Und wie viel davon in Europa?", HISTORY) == FALLBACK


def test_assistant_uses_the_rewrite(tmp_path) -> None:
    """End to end with fakes: the follow-up is rewritten before retrieval and reported."""
    from qa.assistant import Assistant, Retrieved
    from qa.config import Settings
    from qa.indexing import update_index
    from qa.retrieval import HybridRetriever
    from qa.stores.base import IndexConfig
    from qa.stores.faiss import load_index
    from qa.testing import FakeEmbedder
    from qa.types import Document

    settings = Settings(index_dir=tmp_path / "index", corpus_dir=tmp_path, data_dir=tmp_path,
                        embed_model="fake")
    text = "Alibaba investiert 53 Milliarden Dollar. Davon gehen zehn Milliarden nach Europa."
    docs = [Document("d1", "a.txt", "A", text, "s")]
    emb = FakeEmbedder()
    update_index(settings.index_dir, docs, emb, IndexConfig.from_settings(settings))
    index = load_index(settings.index_dir)
    gen = FakeGenerator()
    assistant = Assistant(HybridRetriever(index, emb), gen, settings, index, embedder=emb)
    gen.enqueue("Wie viel investiert Alibaba in Europa?")
    events = list(assistant.events("Und wie viel davon in Europa?", history=HISTORY))
    assert isinstance(events[0], Retrieved)
    assert events[0].question == "Wie viel investiert Alibaba in Europa?"
    assert events[-1].answer.standalone_question == "Wie viel investiert Alibaba in Europa?"
