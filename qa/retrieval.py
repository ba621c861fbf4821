"""Hybrid retrieval: dense + lexical search of a store, fused by weighted reciprocal rank fusion.

RRF needs no score calibration between a cosine and a BM25 score, which is why it is used here;
the dense cosine is kept on every hit because abstention and the UI need an absolute measure.
English questions over German articles: BM25 finds few shared stems and its ranking is mostly
noise, so the lexical weight is scaled by the share of the question's words that occur in the
corpus at all (``Store.lexical_coverage``): a German question keeps full weight, an English one
keeps what its names and numbers earn. No language lists, so it works for any corpus language.
The retriever reads the store only through its protocol (``qa.stores.base.Store``), so the
FAISS files and PostgreSQL answer the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from qa.embedders import Embedder
from qa.errors import IndexMismatchError
from qa.filters import Filter
from qa.stores.base import REBUILD_HINT, Store
from qa.types import Hit


class Retriever(Protocol):
    """The ``k`` best chunks for a question, best first."""

    def retrieve(self, question: str, k: int) -> list[Hit]: ...


class FilteringRetriever(Protocol):
    """A retriever that can search only the documents a ``Filter`` allows."""

    def retrieve(self, question: str, k: int, allowed: Filter | None = None) -> list[Hit]: ...


def rrf_fuse(rankings: list[list[tuple[str, float]]], weights: list[float],
             k: int = 60) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion of several ``[(id, score)]`` rankings. Ties keep the
    order in which ids were first seen (the first ranking's order first).

    >>> rrf_fuse([[("a", .9), ("b", .5)], [("b", 7.0), ("c", 1.0)]], [1.0, 1.0], k=60)[0][0]
    'b'
    """
    fused: dict[str, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for rank, (key, _) in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + w / (k + rank)
    return sorted(fused.items(), key=lambda x: -x[1])


@dataclass
class HybridRetriever:
    index: Store
    embedder: Embedder
    candidates: int = 20
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    adaptive: bool = True  # scale the lexical weight by the question's vocabulary coverage
    last_seconds: float = 0.0
    last_query: tuple[str, np.ndarray] | None = None  # (question, its vector): evidence reuses it
    _dim_checked: bool = field(default=False, repr=False)

    def retrieve(self, question: str, k: int, allowed: Filter | None = None) -> list[Hit]:
        """The ``k`` best chunks, of the documents ``allowed`` allows (the store applies it)."""
        t0 = time.perf_counter()
        q = self.embedder.embed([question], "query")[0]
        self._check_dimension(len(q))
        self.last_query = (question, q)
        store = self.index
        kw = {"allowed": allowed} if allowed else {}  # stores without filters still work
        dense = store.search(q, self.candidates, **kw) if self.dense_weight > 0 else []
        lexical = (store.lexical_search(question, self.candidates, **kw)
                   if self.lexical_weight > 0 else [])
        lexical_weight = self.lexical_weight
        if self.adaptive and lexical:
            lexical_weight *= store.lexical_coverage(question)
        fused = rrf_fuse([dense, lexical], [self.dense_weight, lexical_weight], self.rrf_k)
        # equal fused scores are ordered by place in the corpus (file name, then offset), so the
        # ranking does not depend on which backend found a chunk first or on hash ids
        by_id = {c.chunk_id: c for c in store.chunks_by_id([cid for cid, _ in fused])}
        fused = sorted(fused, key=lambda x: (-x[1], by_id[x[0]].source, by_id[x[0]].start))[:k]
        d_rank = {cid: (i, s) for i, (cid, s) in enumerate(dense, start=1)}
        l_rank = {cid: (i, s) for i, (cid, s) in enumerate(lexical, start=1)}
        # a lexical-only hit's cosine is still known from its stored vector
        missing = [cid for cid, _ in fused if cid not in d_rank]
        cosine = dict(zip(missing, store.score(missing, q), strict=True)) if missing else {}
        hits = []
        for cid, score in fused:
            chunk = by_id[cid]
            dr, ds = d_rank.get(cid, (None, None))
            lr, ls = l_rank.get(cid, (None, None))
            hits.append(Hit(chunk=chunk, score=score, dense_score=cosine.get(cid, ds),
                            lexical_score=ls, dense_rank=dr, lexical_rank=lr))
        self.last_seconds = time.perf_counter() - t0
        return hits

    def _check_dimension(self, dim: int) -> None:
        """An index of another vector dimension than the embedder's is refused in one line
        (FAISS would fail with a bare assertion, PostgreSQL with a type error)."""
        if self._dim_checked:
            return
        built = self.index.manifest.get("dim")
        if self.index.manifest.get("chunks") and built != dim:
            raise IndexMismatchError(
                f"the index has vectors of dimension {built}, the embedder "
                f"{getattr(self.embedder, 'name', '?')!r} gives {dim}; {REBUILD_HINT}")
        self._dim_checked = True
