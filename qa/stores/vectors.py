"""The FAISS vector index of the FAISS store: nearest rows to a query vector.

FAISS ``IndexFlatIP`` over L2-normalised vectors: exact cosine search, no training, and fast
enough for tens of thousands of chunks on a laptop. Rows are positions in the FAISS store's
files; ``qa.stores.faiss`` turns them into ids, so nothing outside this package sees them.
"""

from __future__ import annotations

from pathlib import Path
import numpy as np


class VectorIndex:
    FILE = "dense.faiss"

    def __init__(self, index) -> None:  # noqa: ANN001 - faiss.Index
        self.index = index

    @classmethod
    def build(cls, vectors: np.ndarray) -> VectorIndex:
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            index.add(vectors)
        return cls(index)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if len(self) == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        scores, rows = self.index.search(q, min(k, len(self)))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def save(self, directory: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(directory / self.FILE))

    @classmethod
    def load(cls, directory: Path) -> VectorIndex:
        """Read ``dense.faiss``; ``ValueError`` when it is missing or not a FAISS index (faiss
        itself raises ``RuntimeError`` with a C++ trace in the message)."""
        import faiss

        path = directory / cls.FILE
        if not path.is_file() or path.stat().st_size == 0:
            raise ValueError(f"{cls.FILE} is missing or empty")
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            first = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
            raise ValueError(f"{cls.FILE} is not a readable FAISS index ({first[:200]})") from e
        return cls(index)
