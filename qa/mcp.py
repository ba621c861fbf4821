"""qa as a Model Context Protocol server: ``qa mcp`` (stdio) and ``/mcp`` in ``qa serve``.

Three read-only tools with typed (structured) results, on the official ``mcp`` SDK:

* ``search(query, k)``: ranked passages (chunk ids, source, title, date, score, text), retrieval
  only, no model;
* ``fetch(id)``: a passage by its chunk id, or a whole document by its source name (ChatGPT's
  connectors need ``search`` and ``fetch``);
* ``ask(question)``: qa's checked answer with citations (quotes, sources, offsets), or an
  abstention that says plainly the documents do not say it and carries the closest passages.

The tools call one ``Tools`` object: over stdio it runs the assistant in a worker thread, under
``qa serve`` it answers through the server's answer slots (one answer at a time for the local
model, like ``/v1/ask``), so an agent cannot bypass the queue. Over HTTP the server's key rule
applies to ``/mcp`` as to every other route (``KeyGate`` sits in front of the whole app). The
price of the SDK's argument checking: a wrong argument type comes back as a tool error result
(``isError``, the MCP way of telling the model to correct its call), not as a JSON-RPC error.

``mcp`` is imported only by the functions that build a server, so ``import qa`` stays light.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from qa.errors import InputError, QAError
from qa.filters import Filter, parse_filter
from qa.types import Answer, Hit

if TYPE_CHECKING:
    from qa.assistant import Assistant

log = logging.getLogger(__name__)

SERVER_NAME = "qa"
INSTRUCTIONS = (
    "qa answers questions from a folder of documents, with sources. Use `ask` for a checked "
    "answer with citations (it says plainly when the documents do not say something), `search` "
    "for ranked passages without an answer, and `fetch` to read a passage (by its id) or a whole "
    "document (by its source name).")
MAX_K = 50


# -- typed results (the tools' output schemas) --------------------------------------------------
class SearchHit(BaseModel):
    id: str = Field(description="chunk id: pass it to fetch")
    source: str = Field(description="the document's file name")
    title: str
    date: str = Field(description="ISO publication date when the document states one, else ''")
    score: float = Field(description="fused retrieval score, higher is better")
    text: str
    start: int = Field(description="character offset of the passage in the document text")
    end: int
    url: str = Field(description="qa:// address of the passage")


class SearchResult(BaseModel):
    query: str
    results: list[SearchHit]


class FetchResult(BaseModel):
    id: str = Field(description="the id asked for")
    kind: Literal["passage", "document"]
    source: str
    title: str
    date: str
    text: str
    start: int = Field(description="offset of the text in the document (0 for a document)")
    end: int
    url: str
    metadata: dict[str, str] = Field(default_factory=dict)


class CitationOut(BaseModel):
    n: int = Field(description="the [n] marker in the answer")
    source: str
    chunk_id: str
    start: int = Field(description="character offset of the quote in the document text")
    end: int
    quote: str
    score: float


class ClosestPassage(BaseModel):
    n: int
    source: str
    title: str
    start: int
    end: int
    quote: str


class AskResult(BaseModel):
    question: str
    answer: str = Field(description="the answer with [n] markers, or the abstention")
    abstained: bool = Field(description="true when the documents do not say it")
    reason: str | None = Field(None, description="why qa abstained")
    citations: list[CitationOut]
    closest: list[ClosestPassage] = Field(
        default_factory=list, description="for an abstention: the passages that come nearest")
    model: str
    language: str
    answer_id: str | None = None
    filter: dict[str, Any] | None = Field(None, description="the filter the answer kept to")


class FilterIn(BaseModel):
    """Only these documents (``qa.filters``): the kinds ANDed, the values of one kind ORed."""

    model_config = ConfigDict(extra="forbid")
    sources: list[str] | None = Field(None, description="file names or globs, e.g. team-a/*.md")
    date_from: str | None = Field(None, description="ISO date; undated documents are left out")
    date_to: str | None = Field(None, description="ISO date, included")
    language: Literal["de", "en"] | None = None
    tags: list[str] | None = Field(None, description="folder names, e.g. team-a")

    def checked(self) -> Filter | None:
        return parse_filter(self.model_dump(exclude_none=True))


# -- conversions (pure) -------------------------------------------------------------------------
def passage_url(source: str, start: int | None = None, end: int | None = None) -> str:
    """The ``qa://`` address of a document or of a span of it.

    >>> passage_url("a b.txt"), passage_url("a.txt", 10, 42)
    ('qa://documents/a%20b.txt', 'qa://documents/a.txt#10-42')
    """
    url = f"qa://documents/{quote(source)}"
    return url if start is None else f"{url}#{start}-{end}"


def search_hit(hit: Hit, date: str = "") -> SearchHit:
    c = hit.chunk
    return SearchHit(id=c.chunk_id, source=c.source, title=c.title, date=date,
                     score=round(hit.score, 6), text=c.text, start=c.start, end=c.end,
                     url=passage_url(c.source, c.start, c.end))


def ask_result(answer: Answer, answer_id: str | None = None) -> AskResult:
    """An ``Answer`` as the ``ask`` tool's result. An abstention's text is qa's plain "the
    articles do not say" in the answer's language, with the closest passages beside it."""
    return AskResult(
        question=answer.question, answer=answer.text, abstained=answer.abstained,
        reason=answer.abstain_reason or answer.error,
        citations=[CitationOut(**c.to_dict()) for c in answer.citations],
        closest=[ClosestPassage(**c) for c in answer.closest()],
        model=answer.model, language=answer.language, answer_id=answer_id,
        filter=answer.filter)


# -- what the tools call ------------------------------------------------------------------------
AnswerFn = Callable[[str, Filter | None], Awaitable[tuple[Answer, str | None]]]
SelectFn = Callable[[str, Any], Awaitable["Tools"]]  # (collection, the key's Grant) -> its Tools
COLLECTION_HELP = ("the collection to use (see qa collections); default: the default one")


class Tools:
    """The tools' work over one assistant. ``answer`` writes an answer (default: the assistant
    in a worker thread); the server passes one that waits for an answer slot."""

    def __init__(self, assistant: Assistant, answer: AnswerFn | None = None,
                 select: SelectFn | None = None) -> None:
        self.assistant = assistant
        self._answer = answer or self._answer_in_thread
        self._select = select or self._select_lazily
        self._catalog: Any = None
        self._of: dict[str, Tools] = {}

    async def on(self, collection: str | None, grant: Any = None) -> Tools:
        """The tools of ``collection`` (``None``: the default one), as the key's ``grant``
        allows (checked for the default collection too)."""
        return await self._select(collection or "default", grant)

    async def _select_lazily(self, collection: str, grant: Any = None) -> Tools:
        """Over stdio: the collections of the assistant's settings, loaded on first use (the
        generator shared)."""
        import anyio.to_thread

        from qa.collections import Catalog

        if self._catalog is None:
            self._catalog = Catalog(self.assistant)
        if collection not in self._of:
            assistant = await anyio.to_thread.run_sync(self._catalog.get, collection)
            self._of[collection] = self if assistant is self.assistant else Tools(assistant)
        return self._of[collection]

    async def _answer_in_thread(self, question: str,
                                allowed: Filter | None = None) -> tuple[Answer, str | None]:
        import anyio.to_thread

        kw = {"allowed": allowed} if allowed else {}
        return await anyio.to_thread.run_sync(lambda: self.assistant.ask(question, **kw)), None

    def _date(self, doc_id: str) -> str:
        index = self.assistant.index
        doc = index.document(doc_id) if index is not None else None
        return str(doc.meta.get("date") or "") if doc is not None else ""

    def search(self, query: str, k: int, allowed: Filter | None = None) -> SearchResult:
        hits = self.assistant.retrieve(query, k, allowed)[:k]
        dates = {h.chunk.doc_id: self._date(h.chunk.doc_id) for h in hits}
        return SearchResult(query=query,
                            results=[search_hit(h, dates[h.chunk.doc_id]) for h in hits])

    def fetch(self, id: str) -> FetchResult:
        index = self.assistant.index
        if index is None:
            raise QAError("no index is loaded")
        key = id.strip()
        try:
            chunk = index.chunks_by_id([key])[0] if key else None
        except (KeyError, IndexError):
            chunk = None
        if chunk is not None:
            return FetchResult(id=key, kind="passage", source=chunk.source, title=chunk.title,
                               date=self._date(chunk.doc_id), text=chunk.text,
                               start=chunk.start, end=chunk.end,
                               url=passage_url(chunk.source, chunk.start, chunk.end),
                               metadata={"doc_id": chunk.doc_id})
        doc = index.document_by_source(key) if key else None
        if doc is None:
            raise InputError(f"no passage or document with id {key!r}: use an id from search "
                             "or a document's source name")
        meta = {k: str(v) for k, v in doc.meta.items() if v not in (None, "")}
        return FetchResult(id=key, kind="document", source=doc.source, title=doc.title,
                           date=str(doc.meta.get("date") or ""), text=doc.text, start=0,
                           end=len(doc.text), url=passage_url(doc.source),
                           metadata={"doc_id": doc.doc_id, **meta})

    async def ask(self, question: str, allowed: Filter | None = None) -> AskResult:
        answer, answer_id = await self._answer(question, allowed)
        return ask_result(answer, answer_id)


# -- the MCP server -----------------------------------------------------------------------------
def build_server(tools: Tools) -> Any:
    """An ``mcp`` ``MCPServer`` with the three read-only tools over ``tools``."""
    import anyio.to_thread
    from mcp.server.mcpserver import Context, MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    from qa import __version__

    server: Any = MCPServer(SERVER_NAME, title="qa: answers from your documents",
                            instructions=INSTRUCTIONS, version=__version__, log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False,
                                idempotent_hint=True, open_world_hint=False)

    async def run(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        except QAError as e:  # one clear line back to the client, never a traceback
            raise ToolError(str(e)) from None

    def with_context(fn: Callable[..., Any]) -> Callable[..., Any]:
        """``ctx`` annotated with the SDK's ``Context`` itself (this module's annotations are
        strings, and ``mcp`` is imported here only), so the SDK passes the request's context."""
        fn.__annotations__["ctx"] = Context | None
        return fn

    async def tools_of(collection: str | None, ctx: Any) -> Tools:
        """The tools of ``collection``, as the HTTP request's key allows (stdio: any)."""
        from qa.server.security import grant_of

        request = getattr(getattr(ctx, "request_context", None), "request", None)
        try:
            return await tools.on(collection,
                                  grant_of(getattr(request, "scope", None) or {}))
        except QAError as e:
            raise ToolError(str(e)) from None

    @server.tool(annotations=read_only, title="Search the documents")
    @with_context
    async def search(query: Annotated[str, Field(description="what to look for")],
                     k: Annotated[int, Field(ge=1, le=MAX_K,
                                             description="how many passages")] = 5,
                     filter: FilterIn | None = None,  # noqa: A002 - the tool's argument name
                     collection: Annotated[str | None, Field(description=COLLECTION_HELP)] = None,
                     ctx: Context | None = None,
                     ) -> SearchResult:
        """Ranked passages of the indexed documents for a query (retrieval only, no answer):
        chunk ids, source file, title, date, score and text; `filter` keeps to some
        documents (sources, date range, language, tags)."""
        on = await tools_of(collection, ctx)
        result: SearchResult = await run(
            lambda: on.search(query, k, filter.checked() if filter else None))
        return result

    @server.tool(annotations=read_only, title="Read a passage or document")
    @with_context
    async def fetch(id: Annotated[str, Field(description="a chunk id from search, or a "
                                                         "document's source name")],
                    collection: Annotated[str | None, Field(description=COLLECTION_HELP)] = None,
                    ctx: Context | None = None,
                    ) -> FetchResult:
        """The text of a passage (by chunk id) or of a whole document (by source name)."""
        on = await tools_of(collection, ctx)
        result: FetchResult = await run(on.fetch, id)
        return result

    @server.tool(annotations=read_only, title="Answer from the documents")
    @with_context
    async def ask(question: Annotated[str, Field(description="the question, in German or "
                                                             "English")],
                  filter: FilterIn | None = None,  # noqa: A002 - the tool's argument name
                  collection: Annotated[str | None, Field(description=COLLECTION_HELP)] = None,
                  ctx: Context | None = None,
                  ) -> AskResult:
        """A checked answer from the documents with citations (quotes, sources, offsets). When
        the documents do not say it, `abstained` is true, the answer says so, and `closest`
        lists the passages that come nearest. `filter` keeps to some documents."""
        on = await tools_of(collection, ctx)
        try:
            return await on.ask(question, filter.checked() if filter else None)
        except QAError as e:
            raise ToolError(str(e)) from None

    return server


def run_stdio(assistant: Assistant) -> None:
    """Serve the tools over stdin/stdout until the client closes them (``qa mcp``)."""
    build_server(Tools(assistant)).run("stdio")


def server_tools(srv: Any) -> Tools:
    """``Tools`` for ``qa serve``: answers wait for one of the server's answer slots (like
    ``/v1/ask``), and a full queue is one clear error line."""
    from qa.assistant import Done
    from qa.server.answers import Busy

    async def answer(question: str, allowed: Filter | None = None
                     ) -> tuple[Answer, str | None]:
        try:
            events = srv.answer_events(srv.question(question), allowed=allowed)
        except Busy as e:
            raise QAError("the model is busy answering other questions; try again in "
                          f"{e.retry_after} s") from None
        try:
            async for event in events:
                if isinstance(event, Done):
                    remember = getattr(srv, "remember", None)
                    return event.answer, remember(event.answer) if remember else None
        finally:
            await events.aclose()
        raise QAError("the pipeline ended without an answer")

    async def select(collection: str, grant: Any) -> Tools:
        from qa.server.security import FULL

        view = await srv.open(collection, grant or FULL)
        return server_tools(view) if view is not srv else tools

    tools = Tools(srv.assistant, answer, select)
    return tools


class _CurrentManager:
    """ASGI app handing each request to the session manager of the app's current run."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make
        self.manager = make()
        self.used = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.manager.handle_request(scope, receive, send)

    def for_a_run(self) -> Any:
        if self.used:  # the SDK's manager runs once: a new one for each start of the app
            self.manager = self.make()
        self.used = True
        return self.manager


def mount(app: Any, tools: Tools, host: str = "127.0.0.1") -> None:
    """Streamable HTTP at ``/mcp`` on the FastAPI ``app`` (stateless, JSON responses), its
    session manager run by the app's lifespan (a new one for each start: a test may serve one
    app twice). The app's middleware (API keys, body limit) applies to ``/mcp`` as to every
    route."""
    from starlette.routing import Route

    server = build_server(tools)

    def new_manager() -> Any:
        server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True,
                                   json_response=True, host=host)
        return server.session_manager

    current = _CurrentManager(new_manager)
    app.router.routes.append(Route("/mcp", endpoint=current, methods=["GET", "POST", "DELETE"]))
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> Any:
        async with current.for_a_run().run(), outer(a) as state:
            yield state

    app.router.lifespan_context = lifespan
