"""Lexical (BM25) index with Snowball stemming, via bm25s + PyStemmer.

German stemming and stop words by default: the articles are German, and BM25 on stems was the
strongest single retriever measured on them. English questions get little from this side; the
dense retriever carries them.

bm25s builds the index (a sparse document x term matrix of precomputed BM25 scores) and stores
it; ``search`` reads that matrix itself, with the same scores, because bm25s's pure-numpy
retrieval costs ~40 ms a query (90-210 ms p95) at 1M chunks: it adds each posting with
``np.add.at`` and then partitions all 1M scores. Here a term in at least ``DENSE_SHARE`` of the documents is held as a
dense column (one vectorised add instead of a scatter of most of the corpus; 4 bytes a
document each, at most ``DENSE_MAX_MB``), the other terms are scattered, and the top k are
picked among the documents at or above a threshold read off every ``SAMPLE_STRIDE``-th score
(exact: ``k`` sampled documents reach it). Measured in docs/scaling.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DENSE_SHARE = 0.1  # terms in at least this share of the documents are held as dense columns
DENSE_MAX_MB = 512  # ... up to this much memory, the most frequent terms first
SAMPLE_STRIDE = 64  # top-k threshold from every 64th score


def _quiet_bm25s() -> None:
    """bm25s sets its own logger to DEBUG when imported, over the application's logging set-up
    (a ``DEBUG bm25s: Building index ...`` line on every ingest): hand the level back."""
    logger = logging.getLogger("bm25s")
    if logger.level == logging.DEBUG:
        logger.setLevel(logging.NOTSET)


class LexicalIndex:
    DIR = "lexical"

    def __init__(self, language: str = "german") -> None:
        import bm25s
        import Stemmer

        _quiet_bm25s()
        from bm25s.tokenization import Tokenizer

        self.language = language
        stop: str | list[str] = {"german": "de", "english": "en"}.get(language, [])
        self._tokenizer = Tokenizer(stemmer=Stemmer.Stemmer(language), stopwords=stop, lower=True)
        self._bm25 = bm25s.BM25()
        self._size = 0
        self._dense: dict[int, np.ndarray] = {}  # token id -> its scores for every document

    def build(self, texts: Sequence[str]) -> LexicalIndex:
        self._tokenizer.reset_vocab()
        tokens = self._tokenizer.tokenize(list(texts), return_as="tuple", show_progress=False)
        self._bm25.index(tokens, show_progress=False)
        self._size = len(texts)
        self._densify()
        return self

    def _densify(self) -> None:
        """Dense columns for the terms most documents have (see the module docstring)."""
        sc = self._bm25.scores
        indptr, n = np.asarray(sc["indptr"]), self._size
        df = np.diff(indptr)
        frequent = np.flatnonzero(df >= max(1, DENSE_SHARE * n))
        budget = int(DENSE_MAX_MB * 2**20 // max(1, 4 * n))
        self._dense = {}
        for t in frequent[np.argsort(-df[frequent], kind="stable")][:budget]:
            col = np.zeros(n, dtype=np.float32)
            s, e = int(indptr[t]), int(indptr[t + 1])
            col[sc["indices"][s:e]] = sc["data"][s:e]
            self._dense[int(t)] = col

    def search(self, query: str, k: int,
               rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` best rows for ``query``; ``rows``: only these compete (a filter), the
        scores of the others are masked before the top k is taken."""
        if self._size == 0 or (rows is not None and not len(rows)):
            return []
        ids = self._tokenizer.tokenize([query], update_vocab=False, return_as="ids",
                                       show_progress=False)
        if not ids or not any(t for t in ids[0] if t != 0):
            return []
        known = self._bm25.unique_token_ids_set
        scores = self._scores([t for t in ids[0] if t in known])
        if rows is not None:
            keep = np.zeros(self._size, dtype=bool)
            keep[np.asarray(rows, dtype=np.int64)] = True
            scores[~keep] = 0.0
        return top_k(scores, k)

    def _scores(self, token_ids: list[int]) -> np.ndarray:
        """BM25 of every document for these query tokens (repeated tokens count again, as in
        bm25s)."""
        sc = self._bm25.scores
        data, indices, indptr = sc["data"], sc["indices"], sc["indptr"]
        scores = np.zeros(self._size, dtype=np.float32)
        for t in token_ids:
            if (col := self._dense.get(t)) is not None:
                scores += col
            else:  # a document occurs once in a term's postings: a plain scatter-add is right
                s, e = int(indptr[t]), int(indptr[t + 1])
                scores[indices[s:e]] += data[s:e]
        if self._bm25.nonoccurrence_array is not None:  # BM25L/BM25+ (not the default)
            scores += self._bm25.nonoccurrence_array[token_ids].sum()
        return scores

    def coverage(self, query: str) -> float:
        """Share of the query's content words (stop words aside) that occur in the corpus: low for
        a question in another language than the articles, where BM25 has little to go on.

        >>> LexicalIndex().build(["Alibaba baut Rechenzentren"]).coverage("Wo baut Alibaba?")
        1.0
        """
        if self._size == 0:
            return 0.0
        stop = set(self._tokenizer.stopwords or ())
        words = [w for w in self._tokenizer.splitter(query.lower()) if w not in stop]
        if not words:
            return 0.0
        ids = self._tokenizer.tokenize([query], update_vocab=False, return_as="ids",
                                       show_progress=False)
        known = [t for t in ids[0] if t != 0] if ids else []
        return min(1.0, len(known) / len(words))

    def save(self, directory: Path) -> None:
        d = directory / self.DIR
        d.mkdir(parents=True, exist_ok=True)
        self._bm25.save(str(d), show_progress=False)
        self._tokenizer.save_vocab(str(d))
        (d / "meta.json").write_text(json.dumps({"language": self.language, "size": self._size}))

    def __len__(self) -> int:
        return self._size

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        """Read ``lexical/``; ``ValueError`` when its parts do not fit together (the score
        matrix would otherwise fail, or answer from wrong rows, only at query time)."""
        import bm25s

        d = directory / cls.DIR
        meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
        idx = cls(meta["language"])
        idx._bm25 = bm25s.BM25.load(str(d), show_progress=False)
        idx._tokenizer.load_vocab(str(d))
        idx._size = int(meta["size"])
        scores = idx._bm25.scores  # CSC: one column per token, row indices are documents
        data, indices, indptr = (np.asarray(scores[k]) for k in ("data", "indices", "indptr"))
        if int(scores.get("num_docs", -1)) != idx._size:
            raise ValueError(f"{cls.DIR}: {scores.get('num_docs')} documents scored, "
                             f"meta.json says {idx._size}")
        if (len(data) != len(indices) or not len(indptr) or int(indptr[-1]) != len(data)
                or (len(indptr) > 1 and bool((np.diff(indptr) < 0).any()))
                or (len(indices) and (int(indices.max()) >= idx._size or int(indices.min()) < 0))):
            raise ValueError(f"{cls.DIR}: the score matrix is inconsistent")
        idx._densify()
        return idx


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The ``k`` best ``(row, score)`` with a score above 0, best first (ties: lower row first).

    Exact without partitioning all of ``scores``: the k-th best of every ``SAMPLE_STRIDE``-th
    score is a threshold at least ``k`` documents reach, so only those at or above it compete.

    >>> top_k(np.array([0.0, 2.0, 0.5, 2.0, 0.0], dtype=np.float32), 2)
    [(1, 2.0), (3, 2.0)]
    >>> top_k(np.zeros(3, dtype=np.float32), 2)
    []
    """
    if k <= 0 or not len(scores):
        return []
    sample = scores[::SAMPLE_STRIDE]
    threshold = float(np.partition(sample, len(sample) - k)[len(sample) - k]) \
        if len(sample) >= k else 0.0
    rows = np.flatnonzero(scores >= threshold) if threshold > 0 else np.flatnonzero(scores > 0)
    if len(rows) > k:  # keep every row tied with the k-th best: the lowest of them win below
        kth = -np.partition(-scores[rows], k - 1)[k - 1]
        rows = rows[scores[rows] >= kth]
    order = np.lexsort((rows, -scores[rows]))[:k]  # rows ascend: the tie-break
    return [(int(r), float(s)) for r, s in zip(rows[order], scores[rows[order]], strict=True)]
