"""The hybrid retriever over a real (FAISS) store with the fake embedder: fusion, the cosine
of lexical-only hits, the adaptive lexical weight, and that it reads the store only through
the protocol."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.retrieval import HybridRetriever, rrf_fuse
from qa.stores.faiss import FaissBackend
from qa.testing import FakeEmbedder, StoreContract


@pytest.fixture
def store(tmp_path: Path):  # noqa: ANN201 - FaissIndex
    contract = StoreContract()
    contract.dim = 256
    return contract.write(FaissBackend(tmp_path / "index"), contract.records())


def test_rrf_rewards_agreement_and_keeps_first_seen_order_on_ties() -> None:
    fused = rrf_fuse([[("a", 0.9), ("b", 0.8)], [("b", 5.0), ("c", 1.0)]], [1.0, 1.0], k=60)
    assert [i for i, _ in fused] == ["b", "a", "c"]
    tie = rrf_fuse([[("a", 0.9)], [("c", 5.0)]], [1.0, 1.0])
    assert [i for i, _ in tie] == ["a", "c"] and tie[0][1] == tie[1][1]  # a was seen first
    assert rrf_fuse([[("a", 1.0)], [("b", 1.0)]], [0.0, 1.0])[0][0] == "b"


def test_hits_carry_both_ranks_and_every_hit_has_its_cosine(store) -> None:  # noqa: ANN001
    emb = FakeEmbedder(dim=256)
    r = HybridRetriever(store, emb, candidates=3)
    hits = r.retrieve("Um wie viel Prozent stieg die Aktie in Hongkong?", 4)
    assert hits and hits[0].chunk.source == "c.txt"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    q = emb.embed(["Um wie viel Prozent stieg die Aktie in Hongkong?"], "query")[0]
    for h in hits:
        assert h.dense_score == pytest.approx(store.score([h.chunk.chunk_id], q)[0], abs=1e-5)
    assert any(h.lexical_rank is not None for h in hits)
    assert r.last_query is not None and np.allclose(r.last_query[1], q)


def test_lexical_only_and_dense_only(store) -> None:  # noqa: ANN001
    emb = FakeEmbedder(dim=256)
    lexical = HybridRetriever(store, emb, dense_weight=0.0).retrieve("Hongkong", 2)
    assert lexical[0].chunk.source == "c.txt" and lexical[0].dense_rank is None
    assert lexical[0].dense_score is not None  # cosine from the stored vector
    dense = HybridRetriever(store, emb, lexical_weight=0.0).retrieve("Hongkong", 2)
    assert all(h.lexical_rank is None for h in dense)


def test_a_question_in_another_language_gets_less_lexical_weight(store) -> None:  # noqa: ANN001
    assert store.lexical_coverage("Aktie Hongkong") == 1.0
    assert store.lexical_coverage("shares rose sharply yesterday") < 0.5
