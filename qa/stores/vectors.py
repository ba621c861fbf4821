"""The FAISS vector index of the FAISS store: nearest rows to a query vector, by cosine.

The index is chosen by size. Up to ``FLAT_MAX`` vectors, ``IndexFlatIP``: exact, no training,
and a query over 100,000 x 384 vectors costs ~15 ms on 2 cores. Above it, exact search grows
linearly (~150 ms at 1M), so ``IndexHNSWFlat`` with inner product: a graph search of a few
milliseconds at 1M, at the price of a build of minutes (~3,000 vectors/s on 2 cores), about
``2 * M * 4`` bytes per vector on top of the vectors, and a recall a little under 1 (measured in
docs/scaling.md: ``scripts/bench_scale.py``). Either way the vectors are L2-normalised, so the
scores are cosines, higher is better (FAISS's HNSW returns inner products, not distances, for
``METRIC_INNER_PRODUCT``). ``kind`` and ``params`` say what was built, for the manifest.

Rows are positions in the FAISS store's files; ``qa.stores.faiss`` turns them into ids, so
nothing outside this package sees them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

FLAT_MAX = 100_000  # exact search up to this many vectors, HNSW above
HNSW_M = 32  # graph neighbours per vector (2 * M on the bottom layer)
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96  # candidates kept while searching; raised to k when k is larger
SMALL_BATCH = 16  # fewer queries than this are searched on one thread
ADD_BLOCK = 65_536  # rows added to the index at a time while building
SUBSET_EXACT_MAX = 20_000  # HNSW with a filter: up to this many allowed rows scored exactly


class VectorIndex:
    FILE = "dense.faiss"

    def __init__(self, index) -> None:  # noqa: ANN001 - faiss.Index
        self.index = index

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str = "auto", *, flat_max: int = FLAT_MAX,
              m: int = HNSW_M, ef_construction: int = HNSW_EF_CONSTRUCTION,
              ef_search: int = HNSW_EF_SEARCH) -> VectorIndex:
        """An index over the rows of ``vectors`` (L2-normalised float32). ``kind``: "flat",
        "hnsw", or "auto": flat up to ``flat_max`` rows, HNSW above.

        >>> rows = np.eye(3, 4, dtype=np.float32)
        >>> VectorIndex.build(rows).kind, VectorIndex.build(rows, flat_max=2).kind
        ('flat', 'hnsw')
        """
        import faiss

        if not isinstance(vectors, np.ndarray):
            vectors = np.asarray(vectors, dtype=np.float32)
        if kind == "auto":
            kind = "flat" if len(vectors) <= flat_max else "hnsw"
        index: Any
        if kind == "flat":
            index = faiss.IndexFlatIP(vectors.shape[1])
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = ef_construction
            index.hnsw.efSearch = ef_search
        else:
            raise ValueError(f"unknown vector index kind {kind!r} (flat, hnsw or auto)")
        for s in range(0, len(vectors), ADD_BLOCK):  # a memory-mapped array is read block by block
            index.add(np.ascontiguousarray(vectors[s:s + ADD_BLOCK], dtype=np.float32))
        return cls(index)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def kind(self) -> str:
        """ "flat" (exact) or "hnsw" (approximate)."""
        return "hnsw" if hasattr(self.index, "hnsw") else "flat"

    @property
    def params(self) -> dict[str, Any]:
        """What the manifest records: the kind and, for HNSW, its parameters."""
        if self.kind == "flat":
            return {"kind": "flat"}
        h = self.index.hnsw
        return {"kind": "hnsw", "M": int(h.nb_neighbors(1)),
                "efConstruction": int(h.efConstruction), "efSearch": int(h.efSearch)}

    def search(self, query: np.ndarray, k: int,
               rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` rows nearest to ``query``: ``[(row, cosine)]``, best first. ``rows``: only
        these rows compete (a filter): FAISS's id selection (``IDSelectorBatch``) on the flat
        index, and on HNSW too above ``SUBSET_EXACT_MAX`` rows; below it they are scored
        exactly, as a graph search that skips most nodes may stop short of ``k``.

        >>> ix = VectorIndex.build(np.eye(3, dtype=np.float32))
        >>> q = np.array([0.2, 1.0, 0.5], dtype=np.float32)
        >>> [r for r, _ in ix.search(q, 3, rows=np.array([2, 0]))]
        [2, 0]
        """
        if rows is not None:
            return self._search_rows(query.reshape(-1), k, np.asarray(rows, dtype=np.int64))
        hits = self.search_many(query.reshape(1, -1), k)
        return hits[0] if hits else []

    def _search_rows(self, query: np.ndarray, k: int, rows: np.ndarray) -> list[tuple[int, float]]:
        if len(self) == 0 or k <= 0 or len(rows) == 0:
            return []
        import faiss

        if self.kind == "hnsw" and len(rows) <= SUBSET_EXACT_MAX:
            rows = np.unique(rows)
            sims = self.vectors(rows) @ query.astype(np.float32)
            order = np.lexsort((rows, -sims))[:k]
            return [(int(rows[i]), float(sims[i])) for i in order]
        sel = faiss.IDSelectorBatch(rows)
        if self.kind == "hnsw":
            params: Any = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                sel=sel, efSearch=max(int(self.index.hnsw.efSearch), k))
        else:
            params = faiss.SearchParameters(sel=sel)  # type: ignore[call-arg]
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, found = self.index.search(
                np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32),
                min(k, len(rows), len(self)), params=params)
        finally:
            faiss.omp_set_num_threads(threads)
        return [(int(r), float(s)) for r, s in zip(found[0], scores[0], strict=True) if r >= 0]

    def search_many(self, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """``search`` for each row of ``queries`` in one call (FAISS uses every core for it)."""
        if len(self) == 0 or k <= 0:
            return [[] for _ in range(len(queries))]
        import faiss

        q = np.ascontiguousarray(queries, dtype=np.float32)
        threads = faiss.omp_get_max_threads()
        if len(q) < SMALL_BATCH:  # OpenMP's idle threads spin: 2-3x slower on a busy machine
            faiss.omp_set_num_threads(1)  # (per calling thread, as OpenMP's setting is)
        try:
            scores, rows = self.index.search(q, min(k, len(self)))
        finally:
            faiss.omp_set_num_threads(threads)
        return [[(int(r), float(s)) for r, s in zip(rr, ss, strict=True) if r >= 0]
                for rr, ss in zip(rows, scores, strict=True)]

    def vectors(self, rows: list[int] | np.ndarray) -> np.ndarray:
        """The stored vectors of these rows (both kinds keep them in full), one row each: the
        cosine of a lexical-only hit without a second copy of all vectors in memory.

        >>> VectorIndex.build(np.eye(3, dtype=np.float32)).vectors([2, 0]).tolist()
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
        """
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if len(rows) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if rows.min() < 0 or rows.max() >= len(self):
            raise IndexError(f"rows outside 0..{len(self) - 1}")
        return self.index.reconstruct_batch(rows)

    def save(self, directory: Path, name: str = FILE) -> None:
        import faiss

        faiss.write_index(self.index, str(directory / name))

    @classmethod
    def load(cls, directory: Path, name: str = FILE) -> VectorIndex:
        """Read ``name`` (``dense.faiss``; either kind, HNSW keeps its ``efSearch``);
        ``ValueError`` when it is missing or not a FAISS index (faiss itself raises
        ``RuntimeError`` with a C++ trace in the message)."""
        import faiss

        path = directory / name
        if not path.is_file() or path.stat().st_size == 0:
            raise ValueError(f"{name} is missing or empty")
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            first = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
            raise ValueError(f"{name} is not a readable FAISS index ({first[:200]})") from e
        return cls(index)
