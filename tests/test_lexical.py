"""LexicalIndex.search reads bm25s's score matrix itself: the same hits as bm25s's retrieve."""

from __future__ import annotations

import numpy as np
import pytest

from qa.stores import bm25
from qa.stores.bm25 import LexicalIndex, top_k

WORDS = ["rechenzentrum", "cloud", "alibaba", "investition", "milliarden", "dollar", "modell",
         "sprache", "daten", "server", "netz", "strom", "kühlung", "chip", "rechner", "plattform",
         "kunde", "markt", "preis", "wachstum"]


def corpus(n: int, seed: int = 3) -> list[str]:
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, len(WORDS) + 1)
    return [" ".join(rng.choice(WORDS, size=rng.integers(3, 30), p=p / p.sum()))
            for _ in range(n)]


def bm25s_hits(index: LexicalIndex, query: str, k: int) -> list[tuple[int, float]]:
    """What the index answered before: bm25s's own retrieve."""
    ids = index._tokenizer.tokenize([query], update_vocab=False, return_as="ids",
                                    show_progress=False)
    if not ids or not any(t for t in ids[0] if t != 0):
        return []
    rows, scores = index._bm25.retrieve(ids, k=min(k, len(index)), show_progress=False)
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]


@pytest.mark.parametrize("dense_share", [1.1, 0.2, 0.0])  # no, some, every term dense
def test_search_matches_bm25s(monkeypatch, tmp_path, dense_share: float) -> None:
    monkeypatch.setattr(bm25, "DENSE_SHARE", dense_share)
    monkeypatch.setattr(bm25, "SAMPLE_STRIDE", 7)
    texts = corpus(3000)
    index = LexicalIndex().build(texts)
    assert bool(index._dense) == (dense_share < 1)
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    rng = np.random.default_rng(5)
    queries = [" ".join(rng.choice(WORDS, size=rng.integers(1, 5))) for _ in range(60)]
    queries += ["unbekannt", "Kühlung kühlung", "der die das", ""]
    for q in queries:
        for k in (1, 10, 50):
            want = bm25s_hits(index, q, k)
            for got in (index.search(q, k), loaded.search(q, k)):
                # the same scores; rows may differ only among equal scores
                assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-5)
                tied = {round(s, 4) for _, s in want}
                assert {r for r, s in got if round(s, 4) not in tied} == \
                       {r for r, s in want if round(s, 4) not in tied}


def test_k_larger_than_the_corpus_and_empty_index() -> None:
    index = LexicalIndex().build(["Alibaba baut Rechenzentren", "Strom für Server"])
    assert [r for r, _ in index.search("Alibaba Server", 10)] in ([0, 1], [1, 0])
    assert LexicalIndex().search("Alibaba", 3) == []


def test_top_k_ties_and_threshold() -> None:
    scores = np.zeros(1000, dtype=np.float32)
    scores[[5, 700, 300, 999]] = [1.0, 3.0, 3.0, 2.0]
    assert top_k(scores, 3) == [(300, 3.0), (700, 3.0), (999, 2.0)]
    assert top_k(scores, 10) == [(300, 3.0), (700, 3.0), (999, 2.0), (5, 1.0)]
    many = np.random.default_rng(0).random(100_000).astype(np.float32)
    want = np.argsort(-many, kind="stable")[:20]
    assert [r for r, _ in top_k(many, 20)] == want.tolist()
    flat = np.ones(500, dtype=np.float32)  # every score tied: the lowest rows
    assert [r for r, _ in top_k(flat, 4)] == [0, 1, 2, 3]
