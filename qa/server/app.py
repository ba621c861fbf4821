"""The HTTP API: a thin FastAPI edge over ``Assistant`` and ``DocumentLibrary``.

Routes parse the request, call the library and turn its exceptions into status codes; nothing
here retrieves, prompts or checks citations. Answers go through ``AnswerSlots`` (one at a time
for the local model, a bounded queue, 503 past it); search, documents and health do not wait for
the model. Every error body has ``detail`` (FastAPI's convention) and ``error.message``
(OpenAI's), so both kinds of client show the reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException

from qa.assistant import Assistant, Done, Retrieved, Token, check_question
from qa.collections import DEFAULT, Catalog, UnknownCollection
from qa.documents import DocumentLibrary
from qa.errors import InputError, QAError, StoreUnavailableError
from qa.feedback import FEEDBACK_FILE, RecentAnswers, record_feedback
from qa.filters import Filter, parse_filter
from qa.server.answers import AnswerSlots, Busy, stream_events
from qa.server.security import (
    BodyLimit,
    EdgeGuard,
    Forbidden,
    Grant,
    KeyCheck,
    KeyGate,
    grant_of,
    is_loopback,
)
from qa.telemetry import Metrics
from qa.types import Answer, Chunk, Passage

log = logging.getLogger(__name__)
FRESH_CHECK_S = 1.0  # how often a request looks for a version written by another process
STORE_RETRY_AFTER_S = 10  # a stopped database: 503 and ask the client to come back


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


def no_lone_surrogates(value: Any, where: str = "") -> None:
    """``ValueError`` for a string (anywhere in ``value``) holding a lone UTF-16 surrogate, as
    JSON's ``"\\ud800"`` gives: it is not text, and no part of the pipeline can encode it."""
    if isinstance(value, str):
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            raise ValueError(f"{where or 'a text'} is not valid Unicode (a lone surrogate)")
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            no_lone_surrogates(getattr(value, name), name)
    elif isinstance(value, list | tuple):
        for item in value:
            no_lone_surrogates(item, where)
    elif isinstance(value, dict):
        for k, item in value.items():
            no_lone_surrogates(k, where)
            no_lone_surrogates(item, where)


FILTER_HELP = ("only these documents: sources (globs), date_from, date_to (ISO dates; "
               "documents without a date are left out), language (de/en), tags (folder names)")


class Body(BaseModel):
    """A JSON request body: no unknown fields, no coercion (``true`` is not 1, ``"yes"`` is not
    a boolean), no lone surrogates."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="after")
    def _text_is_unicode(self) -> Body:
        no_lone_surrogates(self)
        return self


class AskRequest(Body):
    class Turn(Body):
        question: str
        answer: str

    question: str = Field(description="the question, in German or English")
    history: list[Turn] = Field(default_factory=list, max_length=50,
                                description="earlier turns; a follow-up is made standalone")
    language: Literal["auto", "de", "en"] | None = None
    top_k: int | None = Field(None, ge=1, le=20, description="passages given to the model")
    stream: bool = Field(False, description="server-sent events: retrieved, token..., done")
    filter: dict[str, Any] | None = Field(None, description=FILTER_HELP)


class SearchRequest(Body):
    question: str
    top_k: int | None = Field(None, ge=1, le=100)
    filter: dict[str, Any] | None = Field(None, description=FILTER_HELP)


class FeedbackRequest(Body):
    answer_id: str = Field(max_length=100, description="`answer_id` of an answer of this server")
    rating: Literal["up", "down", "+1", "-1"] | Literal[1, -1] = Field(
        description="+1/-1 or up/down")
    comment: str | None = Field(None, max_length=2000)


class RebuildRequest(Body):
    full: bool = Field(True, description="embed every chunk again (false: reuse unchanged)")


def jsonable(obj: Any, chunk_text: bool = True) -> Any:
    """Dataclasses (``Retrieved``, ``Hit``, ``Passage``, ...) as JSON values, field by field, so
    fields added later are served too; ``chunk_text=False`` leaves out the chunks' text (a
    passage carries its own)."""
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if is_dataclass(obj) and not isinstance(obj, type):
        d = {f.name: jsonable(getattr(obj, f.name), chunk_text) for f in fields(obj)
             if chunk_text or not (isinstance(obj, Chunk) and f.name == "text")}
        if isinstance(obj, Passage):
            d["source"] = obj.source
        return d
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(x, chunk_text) for x in obj]
    if isinstance(obj, dict):
        return {str(k): jsonable(v, chunk_text) for k, v in obj.items()}
    if isinstance(obj, float):
        return round(obj, 6)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def sse(event: str, data: Any) -> str:
    """One server-sent event; a value JSON does not know is sent as its text."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def hide_paths(message: str) -> str:
    """``message`` without the server's folders: an absolute path keeps only its last folder.

    >>> hide_paths("index in /srv/qa/index/ is corrupt (rows.sqlite); see http://h/x/y")
    'index in …/index/ is corrupt (rows.sqlite); see http://h/x/y'
    >>> hide_paths("cannot read /home/ann/articles/a.txt")
    'cannot read …/a.txt'
    """
    def short(m: Any) -> str:
        named = m.end() < len(message) and message[m.end()] not in " \t'\"`()"
        return "…/" if named else "…/" + m.group(0).strip("/").split("/")[-1] + "/"

    return re.sub(r"(?<![\w:/.~-])/(?:[^\s/'\"`()]+/)+", short, message)


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    message = hide_paths(message)
    kind = {401: "authentication_error", 403: "permission_error", 404: "not_found_error",
            413: "invalid_request_error", 422: "invalid_request_error",
            503: "overloaded_error"}.get(status, "server_error" if status >= 500
                                         else "invalid_request_error")
    return {"detail": message, "error": {"message": message, "type": kind, "code": code}}


class Server:
    """What the routes share: the assistant, the library, the answer slots, readiness."""

    def __init__(self, assistant: Assistant, library: DocumentLibrary | None,
                 config: ServerConfig) -> None:
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
        self.catalog = Catalog(assistant)  # the other collections, loaded on first use
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
        """The id under which ``answer`` can be rated."""
        return self.answers.add(answer)

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
        from qa.generators.llamacpp import LocalGenerator

        t0 = time.perf_counter()
        try:
            self.assistant.retrieve("warm up")
            for g in (self.assistant.generator, self.assistant.fallback):
                if isinstance(g, LocalGenerator):
                    _ = g.llm  # loads the GGUF; nothing is generated
            self.ready.set()
            log.info("ready in %.1f s", time.perf_counter() - t0)
        except Exception as e:  # noqa: BLE001 - shown by /readyz
            self.warm_error = str(e)
            log.warning("warm-up failed: %s", e)

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
        await run_in_threadpool(self.assistant.reload_index)


def create_app(assistant: Assistant, library: DocumentLibrary | None = None,
               config: ServerConfig | None = None) -> FastAPI:
    """The API over ``assistant`` (and ``library``, by default one over the same settings)."""
    config = config or ServerConfig()
    keys = KeyCheck(config.api_keys, config.host, config.local_changes_without_key)
    srv = root = Server(assistant, library, config)
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

    # -- errors -------------------------------------------------------------------------------
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors():
            where = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
            parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        return JSONResponse(error_body(422, "invalid request: " + "; ".join(parts)), 422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(error_body(exc.status_code, str(exc.detail)), exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(error_body(422, str(exc)), 422)

    @app.exception_handler(QAError)
    async def qa_error(request: Request, exc: QAError) -> JSONResponse:
        log.warning("%s %s: %s", request.method, request.url.path, exc)  # paths kept here
        return JSONResponse(error_body(500, str(exc)), 500)

    @app.exception_handler(UnknownCollection)
    async def unknown_collection(request: Request, exc: UnknownCollection) -> JSONResponse:
        body = error_body(404, str(exc), "collection_not_found")
        return JSONResponse({**body, "collections": exc.known}, 404)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse(error_body(403, str(exc)), 403)

    @app.exception_handler(StoreUnavailableError)
    async def store_down(request: Request, exc: StoreUnavailableError) -> JSONResponse:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(error_body(503, str(exc), "store_unavailable"), 503,
                            headers={"Retry-After": str(STORE_RETRY_AFTER_S)})

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> JSONResponse:
        return JSONResponse(error_body(503, "the model is busy answering other questions; "
                                       f"try again in {exc.retry_after} s", "busy"), 503,
                            headers={"Retry-After": str(exc.retry_after)})

    # -- health -------------------------------------------------------------------------------
    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        """The index and the model are loaded (503 until then)."""
        index = srv.assistant.index
        body = {"ready": srv.ready.is_set() and index is not None,
                "model": getattr(srv.assistant.generator, "name", "unknown"),
                "documents": len(index.manifest["documents"]) if index is not None else 0,
                "chunks": int(index.manifest["chunks"]) if index is not None else 0,
                "answers_admitted": srv.slots.admitted}
        if srv.warm_error:
            body["error"] = srv.warm_error
        return JSONResponse(body, 200 if body["ready"] else 503)

    @app.get("/metrics", tags=["health"])
    def metrics() -> Response:
        """Prometheus metrics: seconds per stage, prompt tokens, answers by outcome,
        abstentions by reason, answers admitted (running or waiting), documents changed."""
        body, content_type = srv.metrics.render()
        return Response(body, media_type=content_type)

    # -- answers ------------------------------------------------------------------------------
    @app.post("/v1/ask", tags=["answers"])
    @app.post("/v1/collections/{collection}/ask", tags=["collections"])
    async def ask(body: AskRequest, request: Request) -> Response:
        """The answer object of `qa ask --json`; with `stream: true` server-sent events
        `retrieved` (sources, before any token), `token`..., `done` (the answer)."""
        srv = await root.pick(request)
        question = srv.question(body.question)
        allowed = parse_filter(body.filter)
        await srv.fresh()
        history = [(t.question, t.answer) for t in body.history]
        language = body.language if body.language in ("de", "en") else None
        events = srv.answer_events(question, language, body.top_k, history, allowed)
        if body.stream:
            return StreamingResponse(ask_stream(events, srv), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache",
                                              "X-Accel-Buffering": "no"})
        answer = await srv.final_answer(events, request)
        if answer is None:
            return Response(status_code=499)
        return JSONResponse({**answer.to_dict(), "answer_id": srv.remember(answer)})

    async def ask_stream(events: AsyncIterator[Any], srv: Server) -> AsyncIterator[str]:
        try:
            async for event in events:
                if isinstance(event, Retrieved):
                    yield sse("retrieved", jsonable(event, chunk_text=False))
                elif isinstance(event, Token):
                    yield sse("token", {"text": event.text})
                elif isinstance(event, Done):
                    yield sse("done", {**event.answer.to_dict(),
                                       "answer_id": srv.remember(event.answer)})
        except QAError as e:
            yield sse("error", error_body(422 if isinstance(e, InputError) else 500, str(e)))
        except Exception:
            log.exception("answer stream failed")
            yield sse("error", error_body(500, "internal error while answering"))
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    @app.post("/v1/search", tags=["answers"])
    @app.post("/v1/collections/{collection}/search", tags=["collections"])
    async def search(body: SearchRequest, request: Request) -> dict[str, Any]:
        """Ranked passages with their scores: retrieval only, no model (milliseconds)."""
        t0 = time.perf_counter()
        srv = await root.pick(request)
        question = srv.question(body.question)
        allowed = parse_filter(body.filter)
        await srv.fresh()
        hits = await run_in_threadpool(srv.assistant.retrieve, question,
                                       body.top_k or srv.assistant.settings.top_k, allowed)
        out = {"question": question, "took_s": round(time.perf_counter() - t0, 4),
               "hits": [{"rank": i, **jsonable(h)} for i, h in enumerate(hits, 1)]}
        return {**out, "filter": allowed.to_dict()} if allowed else out

    @app.post("/v1/feedback", tags=["answers"], status_code=201)
    def feedback(body: FeedbackRequest) -> dict[str, Any]:
        """Rate an answer by its `answer_id`: appended to the store the chat window's thumbs
        use (`data/feedback.jsonl`); `qa feedback export` turns ratings into eval candidates."""
        answer = srv.answers.get(body.answer_id)
        if answer is None:
            raise HTTPException(404, f"no answer with id {body.answer_id!r} (this server keeps "
                                f"the last {srv.answers.size} answers)")
        record = record_feedback(settings.data_dir / FEEDBACK_FILE, answer, body.rating,
                                 body.comment, answer_id=body.answer_id, via="api")
        return {"answer_id": body.answer_id, "rating": record["rating"],
                "stored": record["timestamp"]}

    # -- documents ----------------------------------------------------------------------------
    @app.get("/v1/collections", tags=["collections"])
    def list_collections(request: Request) -> dict[str, Any]:
        """The collections this key may use: `default` (the plain routes') first; `documents`
        is known once a collection is loaded (on its first use)."""
        grant = grant_of(request.scope)
        rows = []
        for name in root.catalog.names():
            if not grant.may_use(name):
                continue
            loaded = root.catalog.loaded(name)
            index = loaded.index if loaded is not None else None
            rows.append({"name": name, "model": openai_model_id(name),
                         "language": root.catalog.settings_of(name).language,
                         "loaded": loaded is not None,
                         "documents": len(index.manifest["documents"]) if index else None})
        return {"collections": rows}

    @app.get("/v1/documents", tags=["documents"])
    @app.get("/v1/collections/{collection}/documents", tags=["collections"])
    async def list_documents(request: Request) -> dict[str, Any]:
        """The indexed documents."""
        srv = await root.pick(request)
        docs = await run_in_threadpool(srv.library.list)
        return {"documents": [asdict(d) for d in docs]}

    @app.post("/v1/documents", tags=["documents"], status_code=201)
    @app.post("/v1/collections/{collection}/documents", tags=["collections"], status_code=201)
    async def add_documents(request: Request,
                            files: list[UploadFile] = File(...),  # noqa: B008
                            replace: bool = Form(False)) -> JSONResponse:  # noqa: B008
        """Upload .txt/.md/.html/.pdf/.docx/.pptx/.xlsx/.odt/.epub/.rtf files (multipart, field
        `files`); all or nothing, with the validation and messages of the UI's documents tab."""
        srv = await root.pick(request)
        with tempfile.TemporaryDirectory(prefix="qa-upload-") as tmp:
            specs: list[tuple[Path | str, str]] = []
            for i, f in enumerate(files):
                path = Path(tmp) / f"{i}.upload"  # never the client's name on disk
                with path.open("wb") as out:
                    await run_in_threadpool(shutil.copyfileobj, f.file, out, 1 << 20)
                specs.append((path, f.filename or ""))
            result = await run_in_threadpool(srv.library.add, specs, None, replace)
        if not result.ok:
            body = error_body(422, result.summary())
            body["rejected"] = [{"name": r.name, "reason": r.reason} for r in result.rejected]
            return JSONResponse(body, 422)
        await srv.reload()
        srv.metrics.document_changed("added", len(result.added))
        srv.metrics.document_changed("replaced", len(result.replaced))
        return JSONResponse({"added": result.added, "replaced": result.replaced,
                             "chunks": result.report.total_chunks if result.report else None,
                             "summary": result.summary()}, 201)

    @app.delete("/v1/documents/{name:path}", tags=["documents"])
    @app.delete("/v1/collections/{collection}/documents/{name:path}", tags=["collections"])
    async def delete_document(name: str, request: Request) -> dict[str, Any]:
        """Remove a document from the index; its file goes to the trash folder. A document in
        a subfolder is named with its folder: `sub/nested.txt` (or `sub%2Fnested.txt`)."""
        srv = await root.pick(request)
        known = {d.source for d in await run_in_threadpool(srv.library.list)}
        if name not in known:
            raise HTTPException(404, f"no document named {name!r}")
        result = await run_in_threadpool(srv.library.delete, name)
        await srv.reload()
        srv.metrics.document_changed("deleted")
        return {"deleted": result.source, "summary": result.summary()}

    @app.post("/v1/documents:rebuild", tags=["documents"])
    @app.post("/v1/collections/{collection}/documents:rebuild", tags=["collections"])
    async def rebuild(request: Request, body: RebuildRequest | None = None) -> dict[str, Any]:
        """Index exactly the readable files of the corpus folder again."""
        srv = await root.pick(request)
        report, skipped = await run_in_threadpool(
            lambda: srv.library.rebuild(full=body.full if body else True))
        await srv.reload()
        return {"summary": report.summary(), "chunks": report.total_chunks,
                "skipped": [{"path": str(s.path), "reason": s.reason} for s in skipped]}

    from qa.server.openai_compat import add_openai_routes, openai_model_id

    add_openai_routes(app, srv)
    from qa.mcp import mount, server_tools

    mount(app, server_tools(srv), config.host)  # MCP (streamable HTTP) at /mcp
    return app


def _version() -> str:
    from qa import __version__

    return __version__
