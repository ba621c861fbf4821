"""Sentence-level evidence: units in the index, selection under a budget, multi-part questions."""

from __future__ import annotations

import numpy as np

from qa import Assistant
from qa.answering.prompting import (
    NOT_FOUND,
    approx_tokens,
    build_messages,
    could_be_refusal,
    is_refusal,
)
from qa.chunking import sentence_units
from qa.evidence import EvidenceConfig, Scored, choose, continues, score_sentences, terms, windows
from qa.questions import question_parts
from qa.types import Chunk, Document, Hit, Sentence


def test_index_holds_a_vector_for_every_sentence(fake_assistant: Assistant) -> None:
    index = fake_assistant.index
    assert index is not None
    assert len(index.sentences) == len(index.sentence_vectors) > len(index.chunks)
    docs = {d.doc_id: d for d in index.documents}
    for u in index.sentences[:50]:
        assert docs[u.doc_id].text[u.start:u.end].strip()
    norms = np.linalg.norm(index.sentence_vectors, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-4)


def test_sentence_units_cover_the_document_in_order() -> None:
    text = "Alibaba baut. Die Cloud wächst um 26 %.\nNeue Zeile ohne Punkt"
    doc = Document("d1", "a.txt", "T", text, "x")
    units = sentence_units(doc)
    assert [text[u.start:u.end] for u in units] == [
        "Alibaba baut.", "Die Cloud wächst um 26 %.", "Neue Zeile ohne Punkt"]
    assert len({u.sentence_id for u in units}) == 3
    assert units == sentence_units(doc)  # deterministic ids


def test_evidence_is_sentence_windows_within_budget(fake_assistant: Assistant) -> None:
    q = "Welchen Marktanteil hat Alibaba Cloud im chinesischen KI-Cloud-Markt?"
    events = fake_assistant.events(q)
    retrieved = next(events)
    passages = retrieved.passages
    assert passages and len(passages) <= fake_assistant.settings.evidence_windows
    budget = fake_assistant.settings.prompt_budget_tokens
    assert sum(approx_tokens(p.text) for p in passages) <= budget + len(passages)
    index = fake_assistant.index
    for p in passages:  # each passage is an exact span of its article, with its title
        doc = index.document_by_source(p.source)
        assert doc.text[p.start:p.end] == p.text and p.title == doc.title
    assert any("Marktanteil" in p.text for p in passages)
    # windows of one article are in document order
    by_doc: dict[str, list[int]] = {}
    for p in passages:
        by_doc.setdefault(p.source, []).append(p.start)
    assert all(v == sorted(v) for v in by_doc.values())


def test_each_part_of_a_two_part_question_gets_evidence(fake_assistant: Assistant) -> None:
    q = "Wie viele Parameter hat Qwen3-Max und wo baut Alibaba neue Rechenzentren?"
    assert len(question_parts(q)) == 2
    passages = next(fake_assistant.events(q)).passages
    text = " ".join(p.text for p in passages)
    assert "Parameter" in text and "Rechenzentren" in text
    fake_assistant.ask(q)
    user = fake_assistant.generator.history[-1][-1]["content"]
    assert "Die Frage hat 2 Teile" in user and "(2) wo baut Alibaba" in user


def test_choose_takes_every_part_first_then_the_best_within_the_margin() -> None:
    sents = [Sentence(f"s{i}", "d", 10 * i, 10 * i + 9) for i in range(8)]
    scored = [Scored(1, 3.0, 0), Scored(2, 2.9, 0), Scored(6, 0.5, 1), Scored(4, -2.0, 0)]
    got = choose(scored, sents, n_parts=2, budget=30, cost=lambda i: 10,
                 cfg=EvidenceConfig(neighbours=0, margin=1.5))
    assert got == [1, 2, 6]  # part 1's best (6) is below best - margin, but within twice it
    assert choose([], sents, 1, 100, lambda i: 1) == []


def test_a_sentence_ending_in_a_colon_brings_the_sentence_it_introduces() -> None:
    """docs-de's "mit welchem Befehl erzeugt man ein Kernel-Paket?": the best sentence is
    "Nach dem Konfigurieren ... führen Sie folgenden Befehl aus:" and the command is the next
    unit, which scored too low to be taken on its own; the model then named another command."""
    text = ("Zuerst konfigurieren Sie den Kernel. Nach dem Konfigurieren führen Sie einfach "
            "folgenden Befehl aus:\nmake deb-pkg\nDas Paket liegt dann im Ordner darüber.")
    units = sentence_units(Document("d", "a.txt", "T", text, "x"))
    leads = [i for i, u in enumerate(units) if continues(text[u.start:u.end])]
    assert [text[units[i].start:units[i].end] for i in leads] == [
        "Nach dem Konfigurieren führen Sie einfach folgenden Befehl aus:"]
    scored = [Scored(leads[0], 2.0, 0)]
    cfg = EvidenceConfig(neighbours=0)
    without = choose(scored, units, 1, budget=100, cost=lambda i: 5, cfg=cfg)
    got = choose(scored, units, 1, budget=100, cost=lambda i: 5, cfg=cfg,
                 leads_on=lambda i: continues(text[units[i].start:units[i].end]))
    assert without == [leads[0]]
    assert got == [leads[0], leads[0] + 1]
    assert text[units[leads[0] + 1].start:units[leads[0] + 1].end] == "make deb-pkg"
    # the budget still binds: no room, no continuation
    assert choose(scored, units, 1, budget=5, cost=lambda i: 5, cfg=cfg,
                  leads_on=lambda i: True) == [leads[0]]


def test_score_prefers_the_sentence_with_the_question_terms() -> None:
    text = "Alibaba baut in Brasilien. Das Wetter war gut. Qwen3-Max hat eine Billion Parameter."
    doc = Document("d", "a.txt", "T", text, "x")
    units = sentence_units(doc)
    vecs = np.eye(3, dtype=np.float32)
    hits = [Hit(Chunk("c", "d", "a.txt", "T", text, 0, len(text)), 1.0)]
    q = "Wie viele Parameter hat Qwen3-Max?"
    out = score_sentences(np.ones((1, 3), dtype=np.float32) / np.sqrt(3), [terms(q)], hits,
                          units, vecs, lambda _: text)
    assert out[0].index == 2


def test_per_part_scoring_finds_a_part_the_whole_question_drowns() -> None:
    """news-en's "How many airbags ... and how large is its touchscreen?": the whole question's
    vector and terms favour airbag sentences, so the touchscreen sentence ranked seventh; scored
    against its own part it is that part's best, and taken."""
    text = ("The Sentra has 10 airbags. Airbags protect the driver. The airbags fold away. "
            "It has an 8-inch touchscreen.")
    doc = Document("d", "a.txt", "T", text, "x")
    units = sentence_units(doc)
    # dimension 0: airbags, 1: touchscreen; the whole question leans to airbags
    vecs = np.array([[1, 0], [0.95, 0.05], [0.9, 0.1], [0.2, 0.98]], dtype=np.float32)
    parts = ["How many airbags does the Sentra have and how large is its touchscreen?",
             "How many airbags does the Sentra have?", "how large is its touchscreen?"]
    qv = np.array([[0.95, 0.3], [1, 0], [0, 1]], dtype=np.float32)
    hits = [Hit(Chunk("c", "d", "a.txt", "T", text, 0, len(text)), 1.0)]

    def chosen(per_part: bool) -> list[int]:
        cfg = EvidenceConfig(per_part=per_part, margin=1.0, neighbours=0)
        k = 3 if per_part else 1
        sc = score_sentences(qv[:k], [terms(p) for p in parts[:k]], hits, units, vecs,
                             lambda _: text, cfg)
        return choose(sc, units, n_parts=k, budget=100, cost=lambda i: 5, cfg=cfg)

    assert 3 not in chosen(per_part=False)
    assert 3 in chosen(per_part=True) and 0 in chosen(per_part=True)


def test_windows_group_by_article_in_document_order() -> None:
    sents = [Sentence("a0", "A", 0, 5), Sentence("a1", "A", 6, 9), Sentence("b0", "B", 0, 5)]
    assert windows([0, 1, 2], sents, {2: 0, 1: 1}) == [[2], [0, 1]]


def test_prompt_has_article_headers_parts_and_a_number_glossary_for_english() -> None:
    chunk = Chunk("c", "d", "a.txt", "Alibaba baut", "x", 0, 1)
    from qa.types import Passage
    p = [Passage(1, Hit(chunk, 1.0), "Qwen3-Max hat über eine Billion Parameter.", 0, 42,
                 "Alibaba baut", "2025-09-24")]
    user = build_messages("How many parameters and when?", p, "en",
                          ["How many parameters?", "when?"])[-1]["content"]
    assert "Article: Alibaba baut (2025-09-24)\n[1] Qwen3-Max" in user
    assert "'Billion(en)' is English 'trillion'" in user
    assert "The question has 2 parts" in user
    assert user.rstrip().endswith("with the exact numbers and names from the passages.")
    de = build_messages("Wie viele?", p, "de")[-1]["content"]
    assert "trillion" not in de and de.index("Frage: Wie viele?") < de.index("Antworte auf Deutsch")


def test_refusals_in_either_language_are_recognised_and_never_streamed() -> None:
    for reply in (NOT_FOUND, "NOT_IN_THE_ARTICLES", "The passages do not mention the price.",
                  "Die Textstellen enthalten keine Angaben dazu."):
        assert is_refusal(reply), reply
    assert not is_refusal("Die Cloud wuchs um 26 Prozent [1].")
    assert all(could_be_refusal(NOT_FOUND[:i]) for i in range(1, len(NOT_FOUND) + 1))
    assert not could_be_refusal("Die")


def test_english_refusal_token_is_not_streamed(fake_assistant: Assistant) -> None:
    fake_assistant.generator.enqueue("NOT_IN_THE_ARTICLES")
    assert list(fake_assistant.stream("Who is Alibaba's chief financial officer?")) == []


def test_answer_with_a_name_from_outside_the_articles_abstains(fake_assistant: Assistant) -> None:
    fake_assistant.generator.enqueue("Der Finanzchef ist Toby Xu Hong [1].")
    a = fake_assistant.ask("Wer ist der Finanzchef von Alibaba?")
    assert a.abstained and not a.citations


def test_english_answers_get_german_billionen_as_trillions() -> None:
    from qa.answering.rules import fix_german_trillions
    from qa.types import Passage

    chunk = Chunk("c", "d", "a.txt", "T", "x", 0, 1)
    p = [Passage(1, Hit(chunk, 1.0), "Qwen3-Max hat über eine Billion Parameter; 3,2 Milliarden "
                 "Dollar; 18 Billionen Token.", 0, 80)]
    assert fix_german_trillions("It has over one billion parameters, 18 billion tokens and "
                                "raised 3.2 billion dollars.", p) == (
        "It has over one trillion parameters, 18 trillion tokens and raised 3.2 billion dollars.")


def test_a_refusal_marker_appended_to_a_sentence_is_not_streamed(fake_assistant: Assistant) -> None:
    fake_assistant.generator.enqueue("Alibaba setzt groß auf KI. NICHT_IN_DEN_ARTIKELN")
    shown = "".join(fake_assistant.stream("Wie viel investiert Alibaba?"))
    assert "NICHT" not in shown and "Alibaba setzt" in shown
