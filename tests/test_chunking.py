from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.chunking import chunk_document, chunk_spans, split_sentences
from qa.corpus import load_corpus
from tests.conftest import ARTICLES


def test_german_sentence_rules() -> None:
    text = ("Vom 24. bis 26. September 2025 tagte die Konferenz. Dr. Wu sprach z.B. über KI. "
            "Der Umsatz stieg um 12,6 Prozent. Im Jahr 2024. Neu")
    got = [text[s:e] for s, e in split_sentences(text)]
    assert got == ["Vom 24. bis 26. September 2025 tagte die Konferenz.",
                   "Dr. Wu sprach z.B. über KI.", "Der Umsatz stieg um 12,6 Prozent.",
                   "Im Jahr 2024.", "Neu"]


def test_headings_are_their_own_sentences() -> None:
    text = "Globale Expansion\nAlibaba baut Rechenzentren. Sie sind groß."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Globale Expansion", "Alibaba baut Rechenzentren.", "Sie sind groß."]


def test_chunks_of_the_demo_corpus_round_trip_and_respect_size() -> None:
    docs = load_corpus([ARTICLES]).documents
    assert len(docs) == 5
    for doc in docs:
        chunks = chunk_document(doc, max_words=80, overlap=1)
        assert chunks
        for c in chunks:
            assert doc.text[c.start:c.end] == c.text
            assert len(c.text.split()) <= 80
        # every word of the document is in some chunk
        covered = set()
        for c in chunks:
            covered.update(range(c.start, c.end))
        assert all(i in covered for i, ch in enumerate(doc.text) if not ch.isspace())
        assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_ids_are_deterministic() -> None:
    doc = load_corpus([ARTICLES]).documents[0]
    assert [c.chunk_id for c in chunk_document(doc)] == [c.chunk_id for c in chunk_document(doc)]


def test_empty_and_whitespace() -> None:
    assert chunk_spans("") == []
    assert chunk_spans("   \n\n  ") == []
    with pytest.raises(ValueError):
        chunk_spans("a b", max_words=0)


_text = st.lists(
    st.one_of(st.text(alphabet="abcäöüß ÄÖÜXYZ0123456789,", min_size=1, max_size=30),
              st.sampled_from([". ", "! ", "? ", "\n", "\n\n", " 29. September ", " Dr. ", "…"])),
    max_size=60).map("".join)


@settings(max_examples=200, deadline=None)
@given(text=_text, max_words=st.integers(1, 40), overlap=st.integers(0, 3))
def test_spans_cover_every_word_and_round_trip(text: str, max_words: int, overlap: int) -> None:
    spans = chunk_spans(text, max_words, overlap)
    covered: set[int] = set()
    for s, e in spans:
        assert 0 <= s < e <= len(text)
        assert text[s:e] == text[s:e].strip()
        assert len(text[s:e].split()) <= max_words
        covered.update(range(s, e))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    assert spans == sorted(spans)
    # progress: no span starts before the previous one
    assert all(a[0] < b[0] for a, b in zip(spans, spans[1:], strict=False))
