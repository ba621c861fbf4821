"""The chat window's parts shared by all browser sessions, without Gradio (``ui.py`` wires them).

One ``App`` per process: the default collection's assistant (loaded at start), a
``qa.session.Session`` (the other collections of the settings, each loaded on its first use with
the one generator; the models offered; reload and warm-up: the same as ``qa serve``'s, and with
``qa serve --ui`` the same object), a ``DocumentLibrary`` and a ``PageViewer`` per collection. Which
collection a browser session reads is that session's choice (a value of its page, passed to
every call here); nothing here remembers it, so two sessions never see each other's choice.

The collections offered can be narrowed (``collections=``): ``qa serve --ui`` offers only those
that every login of the window may use, because a Gradio session does not know which API key
logged it in.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qa.collections import DEFAULT, names
from qa.errors import InputError
from qa.session import Session

if TYPE_CHECKING:
    from qa.assistant import Assistant
    from qa.config import Settings
    from qa.documents import DocumentLibrary
    from qa.page_view import PageViewer
    from qa.types import Document


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
        # the other collections (loaded on first use), the models chosen, reload and warm-up
        self.session = Session(self.assistant)
        self.catalog = self.session.catalog
        known = names(settings)
        wanted = known if collections is None else [n for n in known if n in collections]
        self.offered = [DEFAULT, *[n for n in wanted if n != DEFAULT]]
        self._libraries: dict[str, DocumentLibrary] = {DEFAULT: self.library}
        self._pages: dict[str, PageViewer] = {DEFAULT: self.pages}
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
        return self.session.assistant_of(self._name(collection))

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

    # -- models, reload, warm-up: the session's (shared with ``qa serve``'s routes) -----------
    def current_model(self) -> str:
        return self.session.current_model()

    def backends(self) -> list[str]:
        return self.session.backends()

    def models(self, backend: str) -> list[str]:
        return self.session.models(backend)

    def assistant_for(self, backend: str, model: str,
                      collection: str | None = None) -> Assistant:
        """The assistant of ``collection``, with the generator this session chose (created
        once, shared by every collection)."""
        return self.session.assistant_for(backend, model, self._name(collection))

    def lookup(self, source: str, collection: str | None = None) -> Document | None:
        index = self.assistant_of(collection).index
        return index.document_by_source(source) if index is not None else None

    def index_line(self, collection: str | None = None) -> str:
        """The settings tab's line about ``collection``'s index (Markdown): where it is, its
        documents, chunks and embedding model, the articles folder, the feedback file."""
        from qa.render import esc

        assistant = self.assistant_of(collection)
        s, index = assistant.settings, assistant.index
        where = str(assistant.store or s.index_dir)
        if index is None:
            built = "not built"
        else:
            m = index.manifest
            docs, chunks = len(m.get("documents") or {}), int(m.get("chunks") or 0)
            model = (m.get("config") or {}).get("embed_model") or s.embed_model
            built = (f"{docs} document{'' if docs == 1 else 's'}, {chunks} chunk"
                     f"{'' if chunks == 1 else 's'}, embeddings `{esc(model)}`")
        return (f"Index ({esc(self._name(collection))}): `{esc(where)}` · {built} · "
                f"articles: `{esc(s.corpus_dir)}` · feedback: `{esc(self.feedback_path)}`")

    def reload(self, collection: str | None = None) -> None:
        """Answer from ``collection``'s index as it is now (after an upload, delete, rebuild)."""
        self.session.reload(self._name(collection))

    def warm_up(self) -> str | None:
        """Load the embedder, the index and the answer model before the first question
        (``qa.session.warm_up``); the error's message, or ``None``."""
        return self.session.warm_up()


def doc_rows(library: DocumentLibrary) -> list[list[Any]]:
    """The documents panel's table: title, file, size, chunks."""
    return [[d.title, d.source, f"{d.bytes / 1024:.1f} KB", d.chunks] for d in library.list()]
