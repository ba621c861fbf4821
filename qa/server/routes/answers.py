"""``/v1/ask`` (JSON or server-sent events), ``/v1/search`` (retrieval only), ``/v1/feedback``,
and their ``/v1/collections/{collection}/...`` forms."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from qa.assistant import Done, Retrieved, Token
from qa.errors import InputError, QAError
from qa.feedback import FEEDBACK_FILE, record_feedback
from qa.filters import parse_filter
from qa.server.bodies import AskRequest, FeedbackRequest, SearchRequest, jsonable, sse
from qa.server.errors import error_body

if TYPE_CHECKING:
    from qa.server.app import Server

log = logging.getLogger("qa.server.app")  # the logger these lines always had


def add_answer_routes(app: FastAPI, root: Server) -> None:
    srv, settings = root, root.assistant.settings  # feedback: the answers of every collection

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
        """Rate an answer by its `answer_id`: appended, with the collection it answered from, to
        the store the chat window's thumbs use (`data/feedback.jsonl`); `qa feedback export`
        turns ratings into eval candidates."""
        answer = srv.answers.get(body.answer_id)
        if answer is None:
            raise HTTPException(404, f"no answer with id {body.answer_id!r} (this server keeps "
                                f"the last {srv.answers.size} answers)")
        record = record_feedback(settings.data_dir / FEEDBACK_FILE, answer, body.rating,
                                 body.comment, answer_id=body.answer_id, via="api",
                                 collection=srv.answers.collection(body.answer_id))
        return {"answer_id": body.answer_id, "rating": record["rating"],
                "stored": record["timestamp"]}
