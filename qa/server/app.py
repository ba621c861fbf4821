"""The HTTP API: a thin FastAPI edge over ``Assistant`` and ``DocumentLibrary``.

Routes parse the request, call the library and turn its exceptions into status codes; nothing
here retrieves, prompts or checks citations. This module holds what the routes share (``Server``:
the assistant of each collection, its library, the answer slots) and ``create_app``, which adds
the route groups of ``qa.server.routes``, the error handlers of ``qa.server.errors``, the OpenAI
routes and the MCP tools. Answers go through ``AnswerSlots`` (one at a time
for the local model, a bounded queue, 503 past it); search, documents and health do not wait for
the model. Every error body has ``detail`` (FastAPI's convention) and ``error.message``
(OpenAI's), so both kinds of client show the reason.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool

from qa.assistant import Assistant, Done, check_question
from qa.collections import DEFAULT, Catalog, UnknownCollection
from qa.documents import DocumentLibrary
from qa.errors import QAError
from qa.feedback import RecentAnswers
from qa.filters import Filter
from qa.server.answers import AnswerSlots, stream_events

# re-exports for one release: these lived here until the route groups moved out (2026-12)
from qa.server.bodies import (  # noqa: F401
    FILTER_HELP,
    AskRequest,
    Body,
    FeedbackRequest,
    RebuildRequest,
    SearchRequest,
    jsonable,
    no_lone_surrogates,
    sse,
)
from qa.server.errors import (  # noqa: F401
    STORE_RETRY_AFTER_S,
    add_error_handlers,
    error_body,
    hide_paths,
)
from qa.server.routes.answers import add_answer_routes
from qa.server.routes.collections import add_collection_routes
from qa.server.routes.documents import add_document_routes
from qa.server.routes.health import add_health_routes
from qa.server.security import BodyLimit, EdgeGuard, Grant, KeyCheck, KeyGate, grant_of, is_loopback
from qa.session import Session, reload
from qa.telemetry import Metrics
from qa.types import Answer

log = logging.getLogger(__name__)
FRESH_CHECK_S = 1.0  # how often a request looks for a version written by another process


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: tuple[str, ...] = ()
    local_changes_without_key: bool = False  # loopback only: add/delete/rebuild without a key
    concurrency: int | None = None  # answers at a time; None: 1 for the local model, else 8
    queue_size: int = 8  # answers waiting for a slot; past that 503
    max_request_bytes: int = 1 << 20  # JSON bodies
    max_upload_bytes: int | None = None  # document uploads; None: settings.max_file_bytes + 1 MiB
    warm_up: bool = True  # load the embedder, index and model in the background at start
    allowed_hosts: tuple[str, ...] = ()  # Host names served on loopback besides localhost & co
    body_timeout_s: float = 30.0  # longest pause while a request body arrives; then 408

    def __post_init__(self) -> None:
        if self.queue_size < 0 or (self.concurrency is not None and self.concurrency < 1):
            raise QAError("the queue size must be 0 or more and the concurrency 1 or more")
        if self.max_request_bytes <= 0 or (self.max_upload_bytes or 1) <= 0:
            raise QAError("request size limits must be positive")


class Server:
    """What the routes share: the assistant, the library, the answer slots, readiness."""

    def __init__(self, assistant: Assistant, library: DocumentLibrary | None,
                 config: ServerConfig, catalog: Catalog | None = None,
                 session: Session | None = None) -> None:
        self.assistant = assistant
        self.library = library or DocumentLibrary(assistant.settings, assistant.embedder,
                                                     assistant.store)
        self.config = config
        local = assistant.settings.backend == "local"
        self.slots = AnswerSlots(config.concurrency or (1 if local else 8), config.queue_size)
        self.ready = threading.Event()
        self.warm_error: str | None = None
        self.answers = RecentAnswers()  # by answer_id, for POST /v1/feedback
        self.metrics = Metrics(queue_depth=lambda: self.slots.admitted)  # GET /metrics
        self._looked = 0.0  # when ``fresh`` last looked for a newer index version
        # the other collections (loaded on first use), warm-up and reload: ``qa.session``'s,
        # the chat window's own object with ``qa serve --ui``
        self.session = session or Session(assistant, catalog)
        self.catalog = self.session.catalog
        self.name = DEFAULT
        self._views: dict[str, Server] = {}

    async def pick(self, request: Request, name: str | None = None) -> Server:
        """The server of the request's collection: ``name``, else the route's ``{collection}``,
        else ``default``; checked against the request's key."""
        return await self.open(name or request.path_params.get("collection") or DEFAULT,
                               grant_of(request.scope))

    async def open(self, name: str, grant: Grant) -> Server:
        """The server of collection ``name`` (loaded on first use, in a worker thread):
        ``UnknownCollection`` listing the ones ``grant`` may use, ``Forbidden`` when it may
        not use this one. It shares the answer slots, the model, the metrics and the answer
        ids with every other collection."""
        known = self.catalog.names()
        if name not in known:
            raise UnknownCollection(name, [n for n in known if grant.may_use(n)])
        grant.check(name)
        if name == DEFAULT:
            return self
        view = self._views.get(name)
        if view is None:
            assistant = await run_in_threadpool(self.catalog.get, name)
            view = self._views.setdefault(name, self._view(name, assistant))
        return view

    def _view(self, name: str, assistant: Assistant) -> Server:
        import copy

        view = copy.copy(self)
        view.assistant, view.name, view._looked = assistant, name, 0.0
        view.library = DocumentLibrary(assistant.settings, assistant.embedder, assistant.store)
        return view

    def remember(self, answer: Answer) -> str:
        """The id under which ``answer`` can be rated (with this server's collection)."""
        return self.answers.add(answer, self.name)

    def stale(self) -> bool:
        """Whether the index folder's ``CURRENT`` names another version than the one loaded
        (``qa ingest`` ran in another process). Stores without versions are never stale."""
        from qa.stores.versions import current_version

        held = getattr(self.assistant.index, "directory", None)
        if not isinstance(held, Path):
            return False
        try:
            now = current_version(held.parent)
        except QAError:  # a damaged CURRENT: keep answering from the loaded version
            return False
        return now is not None and now != held

    async def fresh(self) -> None:
        """Reload the index when another process wrote a new version (looked at once a
        second at most: one small file read)."""
        if time.monotonic() - self._looked < FRESH_CHECK_S:
            return
        self._looked = time.monotonic()
        if await run_in_threadpool(self.stale):
            log.info("a new index version was written; reloading")
            await self.reload()

    def warm_up(self) -> None:
        """``qa.session.warm_up``: ready when it worked, else its error for /readyz."""
        self.warm_error = self.session.warm_up()
        if self.warm_error is None:
            self.ready.set()

    def question(self, text: str) -> str:
        return check_question(text, self.assistant.settings.max_question_chars)

    def answer_events(self, question: str, language: str | None = None,
                      top_k: int | None = None,
                      history: list[tuple[str, str]] | None = None,
                      allowed: Filter | None = None) -> AsyncIterator[Any]:
        """The pipeline's events for one question; raises ``Busy`` when no place is left."""
        ticket = self.slots.admit()
        kw = {"allowed": allowed} if allowed else {}
        return stream_events(ticket, lambda: self._observed(self.assistant.events(
            question, language=language, top_k=top_k, history=history or None, **kw)))

    def _observed(self, events: Iterator[Any]) -> Iterator[Any]:
        """``events``, with the final answer counted in the metrics."""
        for event in events:
            if isinstance(event, Done):
                self.metrics.observe(event.answer)
            yield event

    async def final_answer(self, events: AsyncIterator[Any], request: Request) -> Answer | None:
        """The ``Done`` answer; ``None`` when the client left first (the answer is stopped)."""
        async def consume() -> Answer:
            async for event in events:
                if isinstance(event, Done):
                    return event.answer
            raise QAError("the pipeline ended without an answer")

        task = asyncio.ensure_future(consume())
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=0.25)
                if done:
                    return task.result()
                if await request.is_disconnected():
                    task.cancel()
                    return None
        finally:
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await events.aclose()  # type: ignore[attr-defined]

    async def reload(self) -> None:
        """This collection's index as it is now, search structures loaded (``qa.session``)."""
        await run_in_threadpool(reload, self.assistant)


def create_app(assistant: Assistant, library: DocumentLibrary | None = None,
               config: ServerConfig | None = None, catalog: Catalog | None = None,
               session: Session | None = None) -> FastAPI:
    """The API over ``assistant`` (and ``library``, by default one over the same settings;
    ``catalog``, the other collections, by default one of its own; ``session``, by default one
    over ``assistant`` and ``catalog``: the chat window's with ``qa serve --ui``)."""
    config = config or ServerConfig()
    keys = KeyCheck(config.api_keys, config.host, config.local_changes_without_key)
    srv = root = Server(assistant, library, config, catalog, session)
    unknown = keys.collections_named() - set(root.catalog.names())
    if unknown:
        raise QAError(f"API key limits name unknown collection(s) {', '.join(sorted(unknown))}; "
                      f"collections: {', '.join(root.catalog.names())}")
    settings = assistant.settings
    upload_limit = config.max_upload_bytes or settings.max_file_bytes + (1 << 20)

    app = FastAPI(title="qa", version=_version(),
                  description="Answers from your articles, with sources. Send "
                  "`Authorization: Bearer <key>` (keys from QA_API_KEYS) where a key is needed.")
    app.state.qa = srv
    if config.warm_up:
        threading.Thread(target=srv.warm_up, name="qa-warm-up", daemon=True).start()
    else:
        srv.ready.set()

    def limit_for(scope: Any) -> int | None:
        path = scope.get("path", "")
        if path.startswith("/ui"):
            return None  # the mounted Gradio app limits its own uploads
        uploads = path == "/v1/documents" or (path.startswith("/v1/collections/")
                                               and path.endswith("/documents"))
        return upload_limit if uploads else config.max_request_bytes

    app.add_middleware(BodyLimit, limit_for=limit_for, timeout_s=config.body_timeout_s)
    app.add_middleware(KeyGate, keys=keys)
    app.add_middleware(EdgeGuard, loopback=is_loopback(config.host),
                       allowed_hosts=config.allowed_hosts)

    add_error_handlers(app)
    add_health_routes(app, srv)
    add_answer_routes(app, root)
    add_collection_routes(app, root)
    add_document_routes(app, root)
    from qa.server.openai_compat import add_openai_routes

    add_openai_routes(app, srv)
    from qa.mcp import mount, server_tools

    mount(app, server_tools(srv), config.host)  # MCP (streamable HTTP) at /mcp
    return app


def _version() -> str:
    from qa import __version__

    return __version__
