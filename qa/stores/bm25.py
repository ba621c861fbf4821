"""Lexical (BM25) index with Snowball stemming, via bm25s + PyStemmer.

German stemming and stop words by default: the articles are German, and BM25 on stems was the
strongest single retriever measured on them. English questions get little from this side; the
dense retriever carries them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)


class LexicalIndex:
    DIR = "lexical"

    def __init__(self, language: str = "german") -> None:
        import bm25s
        import Stemmer
        from bm25s.tokenization import Tokenizer

        self.language = language
        stop: str | list[str] = {"german": "de", "english": "en"}.get(language, [])
        self._tokenizer = Tokenizer(stemmer=Stemmer.Stemmer(language), stopwords=stop, lower=True)
        self._bm25 = bm25s.BM25()
        self._size = 0

    def build(self, texts: Sequence[str]) -> LexicalIndex:
        self._tokenizer.reset_vocab()
        tokens = self._tokenizer.tokenize(list(texts), return_as="tuple", show_progress=False)
        self._bm25.index(tokens, show_progress=False)
        self._size = len(texts)
        return self

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        if self._size == 0:
            return []
        ids = self._tokenizer.tokenize([query], update_vocab=False, return_as="ids",
                                       show_progress=False)
        if not ids or not any(t for t in ids[0] if t != 0):
            return []
        rows, scores = self._bm25.retrieve(ids, k=min(k, self._size), show_progress=False)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]

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
        import numpy as np

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
        return idx
