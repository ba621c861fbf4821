"""What the chat window and the HTTP server share about the assistants they answer with: the
warm-up, the reload of a collection's index, and the choice of the model.

One ``Session`` per process (not a browser session: a tab keeps its choices in its page and
passes them to every call). It holds the default collection's assistant, a ``Catalog`` of the
other collections (each loaded on its first use) and the generators chosen in the window,
each created once and shared by every collection. ``qa serve --ui`` builds one and gives it to
both edges, so a collection is loaded once, the warm-up runs once, and an upload through one edge
is answered from by the other.

The warm-up loads what the first question would (the embedder, the index's search structures,
the local model's file) but generates nothing and sends nothing to a hosted model. The price:
the first answer of a hosted model also opens its connection, and a wrong key or address shows
on the first question, not at start.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from qa.collections import Catalog
from qa.errors import InputError

if TYPE_CHECKING:
    from qa.assistant import Assistant
    from qa.config import Settings
    from qa.generators import Generator

log = logging.getLogger("qa.session")
WARM_UP_QUESTION = "warm up"


def load_search(assistant: Assistant) -> None:
    """Load the index's search structures (the lexical index is read on its first search) now,
    not on the next question."""
    if assistant.index is not None:
        assistant.index.lexical_search(WARM_UP_QUESTION, 1)


def warm_up(assistant: Assistant) -> str | None:
    """Load the embedder (one question embedded), the index's search structures and the local
    answer models (the generator and the fallback; nothing is generated) before the first
    question. Returns ``None`` when that worked, else the error's message (also logged: the
    first question meets the error again and shows it)."""
    from qa.generators.llamacpp import LocalGenerator

    t0 = time.perf_counter()
    try:
        assistant.retrieve(WARM_UP_QUESTION)
        load_search(assistant)
        for g in (assistant.generator, assistant.fallback):
            if isinstance(g, LocalGenerator):
                _ = g.llm  # loads the GGUF
    except Exception as e:  # noqa: BLE001 - returned, for /readyz; the first question shows it
        log.warning("warm-up failed: %s", e)
        return str(e) or type(e).__name__
    log.info("warmed up in %.1f s", time.perf_counter() - t0)
    return None


def reload(assistant: Assistant) -> None:
    """Answer from the store's current state (after an ingest, upload, delete or rebuild), with
    its search structures loaded now."""
    assistant.reload_index()
    load_search(assistant)


class Session:
    """The assistants one process answers with: the default one (``assistant``), the other
    collections (``catalog``, by default one of its own over ``assistant``) and the generators
    chosen by ``assistant_for``."""

    def __init__(self, assistant: Assistant, catalog: Catalog | None = None) -> None:
        self.assistant = assistant
        self.settings: Settings = assistant.settings
        self.catalog = catalog or Catalog(assistant)
        self._generators: dict[tuple[str, str], Generator] = {
            (self.settings.backend, self.current_model()): assistant.generator}
        self._lock = threading.Lock()

    # -- collections ---------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Every collection of the settings, ``default`` first."""
        return self.catalog.names()

    def assistant_of(self, collection: str | None = None) -> Assistant:
        """The assistant of ``collection`` (default: the default one), loaded on first use;
        ``UnknownCollection`` for a name that is none."""
        return self.catalog.get(collection)

    def warm_up(self) -> str | None:
        """``warm_up`` of the default collection's assistant (the others load on first use)."""
        return warm_up(self.assistant)

    def reload(self, collection: str | None = None) -> Assistant:
        """``reload`` of ``collection``'s assistant; returns it."""
        assistant = self.assistant_of(collection)
        reload(assistant)
        return assistant

    # -- models --------------------------------------------------------------------------------
    def current_model(self) -> str:
        return self.settings.model

    def backends(self) -> list[str]:
        """The backends offered: the registry's default, the configured one, and the others
        (hosted) when an API key is set."""
        from qa import registry

        s = self.settings
        default = registry.names("generator")[0]  # the registry lists the default first
        return [b for b in registry.names("generator")
                if b in (default, s.backend) or bool(s.openai_api_key)]

    def models(self, backend: str) -> list[str]:
        """The models offered for ``backend``: the configured hosted model, or the bundled
        local ones (with the configured one first when it is a file of its own)."""
        from qa.models import MODELS

        if backend == "openai":
            return [self.settings.openai_model]
        models = list(MODELS)
        if self.settings.llm not in models:
            models.insert(0, self.settings.llm)
        return models

    def generator(self, backend: str, model: str) -> Generator:
        """The generator of ``model`` on ``backend``, created on first use and kept;
        ``InputError`` for one that is not offered."""
        from qa import composition

        if backend not in self.backends() or model not in self.models(backend):
            raise InputError(f"model {model!r} of backend {backend!r} is not offered here")
        key = (backend, model)
        with self._lock:
            generator = self._generators.get(key)
            if generator is None:
                generator = self._generators[key] = composition.make_generator(
                    self.settings.with_model(model, backend))
        return generator

    def assistant_for(self, backend: str, model: str,
                      collection: str | None = None) -> Assistant:
        """The assistant of ``collection``, answering with ``model`` on ``backend`` (one
        generator per model, shared by every collection)."""
        generator = self.generator(backend, model)
        base = self.assistant_of(collection)
        if generator is base.generator:
            return base
        return base.with_generator(generator)
