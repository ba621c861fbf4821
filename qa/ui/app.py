"""The chat window's parts shared by all browser sessions, without Gradio (``ui.py`` wires them).

One ``App`` per process: the default collection's assistant (loaded at start) and, for the other
collections of the settings (``qa.collections``), a ``Catalog`` that loads each on its first use
with the one generator, a ``DocumentLibrary`` and a ``PageViewer`` per collection. Which
collection a browser session reads is that session's choice (a value of its page, passed to
every call here); nothing here remembers it, so two sessions never see each other's choice.

The collections offered can be narrowed (``collections=``): ``qa serve --ui`` offers only those
that every login of the window may use, because a Gradio session does not know which API key
logged it in.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qa.collections import DEFAULT, Catalog, names
from qa.errors import InputError

if TYPE_CHECKING:
    from qa.assistant import Assistant
    from qa.config import Settings
    from qa.documents import DocumentLibrary
    from qa.page_view import PageViewer
    from qa.types import Document

log = logging.getLogger("qa.ui")


class App:
    """Per-process parts shared by all browser sessions; per-session data is in the page."""

    def __init__(self, settings: Settings, collections: Sequence[str] | None = None) -> None:
        from qa.assistant import Assistant
        from qa.documents import DocumentLibrary
        from qa.feedback import RecentAnswers
        from qa.page_view import PageViewer

        self.settings = settings
        self.assistant = Assistant.load(settings)
        self.library = DocumentLibrary(settings, self.assistant.embedder,
                                       self.assistant.store)
        self.feedback_path = settings.data_dir / "feedback.jsonl"
        # answer ids as the HTTP API gives them (``ans_...``): a thumb is stored with its id
        self.answers = RecentAnswers()
        self.pages = PageViewer(settings.corpus_dir)  # cited PDF pages, only from the corpus
        self.catalog = Catalog(self.assistant)  # the other collections, loaded on first use
        known = names(settings)
        wanted = known if collections is None else [n for n in known if n in collections]
        self.offered = [DEFAULT, *[n for n in wanted if n != DEFAULT]]
        self._libraries: dict[str, DocumentLibrary] = {DEFAULT: self.library}
        self._pages: dict[str, PageViewer] = {DEFAULT: self.pages}
        self._generators = {(settings.backend, self.current_model()): self.assistant.generator}
        self._lock = threading.Lock()

    # -- collections -------------------------------------------------------------------------
    def collections(self) -> list[str]:
        """The collections a session may choose, ``default`` first."""
        return list(self.offered)

    def _name(self, collection: str | None) -> str:
        name = collection or DEFAULT
        if name not in self.offered:
            raise InputError(f"collection {str(name)[:80]!r} is not offered here; "
                             f"collections: {', '.join(self.offered)}")
        return name

    def assistant_of(self, collection: str | None = None) -> Assistant:
        """The assistant of ``collection`` (default: the default one), loaded on first use;
        ``InputError`` for a collection that is not offered."""
        return self.catalog.get(self._name(collection))

    def library_of(self, collection: str | None = None) -> DocumentLibrary:
        """The documents of ``collection``: its corpus folder and its index."""
        from qa.documents import DocumentLibrary

        name = self._name(collection)
        with self._lock:
            library = self._libraries.get(name)
        if library is None:
            assistant = self.assistant_of(name)
            with self._lock:
                library = self._libraries.setdefault(name, DocumentLibrary(
                    assistant.settings, assistant.embedder, assistant.store))
        return library

    def pages_of(self, collection: str | None = None) -> PageViewer:
        from qa.page_view import PageViewer

        name = self._name(collection)
        with self._lock:
            if name not in self._pages:
                self._pages[name] = PageViewer(self.catalog.settings_of(name).corpus_dir)
            return self._pages[name]

    # -- models ------------------------------------------------------------------------------
    def current_model(self) -> str:
        return self.settings.model

    def backends(self) -> list[str]:
        from qa import registry

        s = self.settings
        default = registry.names("generator")[0]  # the registry lists the default first
        # another backend (hosted) is offered when it is the configured one or has a key
        return [b for b in registry.names("generator")
                if b in (default, s.backend) or bool(s.openai_api_key)]

    def models(self, backend: str) -> list[str]:
        from qa.models import MODELS

        if backend == "openai":
            return [self.settings.openai_model]
        models = list(MODELS)
        if self.settings.llm not in models:
            models.insert(0, self.settings.llm)
        return models

    def assistant_for(self, backend: str, model: str,
                      collection: str | None = None) -> Assistant:
        """The assistant of ``collection``, with the generator this session chose (created
        once, shared by every collection)."""
        from qa.composition import make_generator

        if backend not in self.backends() or model not in self.models(backend):
            raise InputError(f"model {model!r} of backend {backend!r} is not offered here")
        key = (backend, model)
        with self._lock:
            generator = self._generators.get(key)
            if generator is None:
                generator = self._generators[key] = make_generator(
                    self.settings.with_model(model, backend))
        base = self.assistant_of(collection)
        if generator is base.generator:
            return base
        return base.with_generator(generator)

    def lookup(self, source: str, collection: str | None = None) -> Document | None:
        index = self.assistant_of(collection).index
        return index.document_by_source(source) if index is not None else None

    def reload(self, collection: str | None = None) -> None:
        assistant = self.assistant_of(collection)
        assistant.reload_index()
        index = assistant.index
        if index is not None:  # load the search structures now, not on the next question
            index.lexical_search("warm up", 1)

    def warm_up(self) -> None:
        """Load the embedder, the indexes and the answer model before the first question."""
        from qa.generators import generate

        t0 = time.perf_counter()
        try:
            self.assistant.retrieve("Aufwärmen")
            generate(self.assistant.generator, [{"role": "user", "content": "Hi"}], max_tokens=1)
            log.info("warmed up in %.1f s", time.perf_counter() - t0)
        except Exception as e:  # noqa: BLE001 - a failed warm-up shows on the first question
            log.warning("warm-up failed: %s", e)


def doc_rows(library: DocumentLibrary) -> list[list[Any]]:
    """The documents panel's table: title, file, size, chunks."""
    return [[d.title, d.source, f"{d.bytes / 1024:.1f} KB", d.chunks] for d in library.list()]
