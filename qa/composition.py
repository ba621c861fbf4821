"""Builds the parts from ``Settings``: the embedder, the store, the retriever, the generator.

Every backend is created through ``qa.registry`` (the one module that names them), so this
module only wires settings to factories. Code that needs a part calls these through the module
(``composition.make_embedder(settings)``), not a copy imported by name, so a test can replace a
factory in one place (``monkeypatch.setattr("qa.composition.make_embedder", ...)``) and
``Assistant.load``, ``ingest`` and the edges all build the replacement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa import registry

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.embedders import Embedder
    from qa.generators import Generator
    from qa.retrieval import HybridRetriever
    from qa.stores.base import Store, StoreBackend

__all__ = ["make_embedder", "make_generator", "make_retriever", "make_store", "open_index"]


def make_embedder(settings: Settings) -> Embedder:
    """The embedder ``settings.embed_backend`` names (``qa.registry``)."""
    return registry.create("embedder", settings.embed_backend, settings)


def make_store(settings: Settings) -> StoreBackend:
    """Where the index lives, as ``settings.store`` names it (``qa.registry``)."""
    return registry.create("store", settings.store, settings)


def open_index(store: StoreBackend, settings: Settings) -> Store:
    """The store's current state; ``IndexMismatchError`` when it was built with other settings
    (a vector dimension other than the embedder's is refused by the retriever, at the first
    question, so that loading does not have to load the embedding model)."""
    from qa.stores.base import IndexConfig

    return store.open(IndexConfig.from_settings(settings))


def make_retriever(index: Store, embedder: Embedder, settings: Settings) -> HybridRetriever:
    """The hybrid (dense + BM25) retriever over ``index`` with the settings' weights."""
    from qa.retrieval import HybridRetriever

    return HybridRetriever(index, embedder, settings.candidates, settings.rrf_k,
                           settings.dense_weight, settings.lexical_weight,
                           settings.adaptive_lexical)


def make_generator(settings: Settings, backend: str | None = None) -> Generator:
    """The generator ``backend`` names, by default ``settings.backend`` (``qa.registry``)."""
    return registry.create("generator", backend or settings.backend, settings)
