"""OpenAI-compatible chat: ``POST /v1/chat/completions`` and ``GET /v1/models``.

The model ``qa`` answers the last user message from the articles; earlier user/assistant turns
are the conversation history (a follow-up is made standalone before retrieval); system messages
are ignored, because the grounding prompt is qa's own. Citations travel twice: in the message text
(the ``[n]`` markers and a "Sources:" list under the answer) for any chat front-end, in OpenAI's
own shape (``message.annotations``: a ``url_citation`` per marker, see :func:`openai_annotations`), and
as the extra fields ``citations`` and ``qa`` (the whole answer object of ``qa ask --json``) for
clients that read them.

Streaming sends the model's words as they come; qa checks the answer only when it is complete
(markers pinned to passages, abstention). So the last content chunk adds the sources list and,
when the check changed the answer (it abstained, or generation broke off), the checked text; the
final chunk carries ``delta.annotations`` (indexes into the whole streamed content), ``qa`` and
``citations``. The non-streaming reply is the checked
answer alone.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from qa.assistant import Done, Token
from qa.errors import InputError, QAError
from qa.filters import Filter, parse_filter
from qa.types import CLOSEST_TITLE, Answer

MODEL_ID = "qa"  # the default collection; another collection NAME is the model "qa:NAME"


def openai_model_id(collection: str) -> str:
    """The OpenAI ``model`` that answers from ``collection``.

    >>> openai_model_id("default"), openai_model_id("team-a")
    ('qa', 'qa:team-a')
    """
    return MODEL_ID if collection == "default" else f"{MODEL_ID}:{collection}"


def model_collection(model: str) -> str | None:
    """The collection an OpenAI ``model`` names (``qa``, ``qa:NAME``), or ``None`` for a
    model that is not qa's.

    >>> model_collection("qa"), model_collection("qa:team-a"), model_collection("gpt-4o")
    ('default', 'team-a', None)
    """
    if model == MODEL_ID:
        return "default"
    head, sep, name = model.partition(":")
    return name if sep and head == MODEL_ID and name else None
SOURCES_TITLE = {"de": "Quellen", "en": "Sources"}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: the text ones, in order
            return "\n".join(str(p.get("text", "")) for p in self.content
                             if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, top_p, user, ...: accepted, unused
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool = False  # "yes" or 1 is not a boolean
    stream_options: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None  # {"qa_filter": "<a filter as JSON>"}: see below


def metadata_filter(metadata: dict[str, Any] | None) -> Filter | None:
    """The filter of a chat request: ``metadata.qa_filter``, a JSON object as a string (OpenAI's
    ``metadata`` holds strings only; an object is taken too), with the keys of the REST API's
    ``filter``. Other metadata keys are left alone.

    >>> metadata_filter({"qa_filter": '{"sources": ["team-a/*"]}', "user": "x"}).sources
    ('team-a/*',)
    >>> metadata_filter({"qa_filter": "{oops"})
    Traceback (most recent call last):
    qa.errors.InputError: bad metadata.qa_filter: not a JSON object (Expecting property name enclosed in double quotes)
    """
    raw = (metadata or {}).get("qa_filter")
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as e:
            raise InputError(f"bad metadata.qa_filter: not a JSON object ({str(e).split(':')[0]})"
                             ) from None
    return parse_filter(raw)


def split_conversation(messages: list[ChatMessage]) -> tuple[str, list[tuple[str, str]]]:
    """The last user message, and the earlier (user, assistant) turns as history."""
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise ValueError("the last message must be the user's question")
    history: list[tuple[str, str]] = []
    pending: str | None = None
    for m in turns[:-1]:
        if m.role == "user":
            pending = m.text()
        elif pending is not None:
            history.append((pending, strip_sources(m.text())))
            pending = None
    return turns[-1].text(), history


# the headings ``sources_block`` puts under an answer, which a client sends back in the history
_APPENDED = re.compile(r"\n\n(?:" + "|".join(
    re.escape(t) for t in (*SOURCES_TITLE.values(), *CLOSEST_TITLE.values())) + r"):\n")


def strip_sources(text: str) -> str:
    """An earlier answer without the sources list this server appended to it.

    >>> strip_sources("Eddie Wu [1].\\n\\nSources:\\n[1] a.txt: „Wu“")
    'Eddie Wu [1].'
    >>> strip_sources("The articles do not say.\\n\\nClosest passages (they do not answer it "
    ...               "directly):\\n[1] a.txt: „Wu“")
    'The articles do not say.'
    """
    return _APPENDED.split(text, maxsplit=1)[0]


def sources_block(answer: Answer) -> str:
    """The sources under an answer; for an abstention its closest passages, so a client that
    shows only the message text still leads the reader to the text."""
    if closest := answer.closest():
        title = CLOSEST_TITLE.get(answer.language, CLOSEST_TITLE["en"])
        return f"\n\n{title}:\n" + "\n".join(
            f"[{c['n']}] {c['source']}: „{c['quote']}“" for c in closest)
    if answer.abstained or not answer.citations:
        return ""
    lines = []
    for c in answer.citations:
        quote = c.quote if len(c.quote) <= 160 else c.quote[:157] + "…"
        where = f", {c.page_label}" if c.page_label else ""
        lines.append(f"[{c.n}] {c.source}{where}: „{quote}“")
    return f"\n\n{SOURCES_TITLE.get(answer.language, 'Sources')}:\n" + "\n".join(lines)


_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def openai_annotations(content: str, answer: Answer, body: tuple[int, int]) -> list[dict[str, Any]]:
    """OpenAI's ``message.annotations``: a ``url_citation`` for every ``[n]`` marker in
    ``content[body[0]:body[1]]`` (the checked answer) that names one of the answer's citations,
    and for the ``[n]`` opening each line of the sources list after it. ``start_index`` and
    ``end_index`` are the marker's span in ``content`` (end exclusive, as Python slices); the
    ``url`` is the passage's ``qa://documents/<source>#<start>-<end>`` address (its offsets into
    the document text), the ``title`` its article's title.

    >>> from qa.testing import passage
    >>> from qa.types import Citation, Timings
    >>> p = passage(1, "Alibaba invests.", "a.txt", title="Alibaba")
    >>> c = Citation(1, "a.txt", p.hit.chunk.chunk_id, 0, 16, "Alibaba invests.", 0.9)
    >>> a = Answer("q", "It invests [1].", False, (c,), (p,), Timings(), "m", "en")
    >>> text = a.text + "\\n\\nSources:\\n[1] a.txt: „Alibaba invests.“"
    >>> [(x["url_citation"]["start_index"], x["url_citation"]["end_index"],
    ...   x["url_citation"]["url"]) for x in openai_annotations(text, a, (0, len(a.text)))]
    [(11, 14, 'qa://documents/a.txt#0-16'), (26, 29, 'qa://documents/a.txt#0-16')]
    """
    from qa.mcp import passage_url

    cited = {c.n: c for c in answer.citations}
    titles = {p.n: p.title for p in answer.passages}
    out = []
    for m in _MARKER.finditer(content, body[0]):
        in_body = m.end() <= body[1]
        if not in_body and (m.start() == 0 or content[m.start() - 1] != "\n"):
            continue  # after the answer only the sources list's own line markers
        for n in (int(x) for x in m.group(1).split(",")):
            if (c := cited.get(n)) is not None:
                out.append({"type": "url_citation", "url_citation": {
                    "url": passage_url(c.source, c.start, c.end),
                    "title": titles.get(n) or c.source,
                    "start_index": m.start(), "end_index": m.end()}})
    return out


def _plain(text: str) -> str:
    return " ".join(re.sub(r"\[\d+(?:\s*,\s*\d+)*\]", " ", text).split())


def add_openai_routes(app: FastAPI, srv: Any) -> None:
    created = int(time.time())

    def openai_error(status: int, message: str, code: str) -> JSONResponse:
        from qa.server.app import error_body

        return JSONResponse(error_body(status, message, code), status)

    @app.get("/v1/models", tags=["openai"])
    def models(request: Request) -> dict[str, Any]:
        """One model per collection this key may use: `qa` answers from the default
        collection, `qa:NAME` from collection NAME (all with the configured generator)."""
        from qa.server.security import grant_of

        grant = grant_of(request.scope)
        return {"object": "list", "data": [
            {"id": openai_model_id(name), "object": "model", "created": created,
             "owned_by": "qa"} for name in srv.catalog.names() if grant.may_use(name)]}

    @app.post("/v1/chat/completions", tags=["openai"])
    async def chat(body: ChatRequest, request: Request) -> Response:
        """OpenAI chat completions (streaming and not) answered by `qa` from the articles."""
        from qa.collections import UnknownCollection
        from qa.server.security import grant_of

        name = model_collection(body.model)
        try:
            if name is None:
                raise UnknownCollection(body.model, [])
            s = await srv.pick(request, name)  # a key limited elsewhere: 403 (app's handler)
        except UnknownCollection:
            grant = grant_of(request.scope)
            known = [openai_model_id(n) for n in srv.catalog.names() if grant.may_use(n)]
            return openai_error(404, f"model {body.model[:80]!r} does not exist; models: "
                                f"{', '.join(known)} (qa:NAME answers from collection NAME)",
                                "model_not_found")
        try:
            question, history = split_conversation(body.messages)
        except ValueError as e:
            return openai_error(422, str(e), "invalid_messages")
        question = s.question(question)
        try:
            allowed = metadata_filter(body.metadata)
        except InputError as e:
            return openai_error(422, str(e), "invalid_filter")
        await s.fresh()
        events = s.answer_events(question, history=history, allowed=allowed)
        cid = f"chatcmpl-{uuid.uuid4().hex}"
        if body.stream:
            usage = bool((body.stream_options or {}).get("include_usage"))
            return StreamingResponse(chat_stream(events, cid, usage, s, body.model),
                                     media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        answer = await s.final_answer(events, request)
        if answer is None:
            return Response(status_code=499)
        content = answer.text + sources_block(answer)
        return JSONResponse({
            "id": cid, "object": "chat.completion", "created": int(time.time()),
            "model": body.model,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": content,
                                     "annotations": openai_annotations(
                                         content, answer, (0, len(answer.text)))}}],
            "usage": _usage(answer, None),
            "citations": [c.to_dict() for c in answer.citations],
            "qa": {**answer.to_dict(), "answer_id": s.remember(answer)},
        })

    def chunk(cid: str, delta: dict[str, Any], finish: str | None = None, model: str = MODEL_ID,
              **extra: Any) -> str:
        import json

        body = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                             "logprobs": None}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    async def chat_stream(events: AsyncIterator[Any], cid: str, usage: bool, srv: Any,
                          model: str) -> AsyncIterator[str]:
        import json

        yield chunk(cid, {"role": "assistant", "content": ""}, model=model)
        streamed, pieces = "", 0
        try:
            async for event in events:
                if isinstance(event, Token):
                    streamed += event.text
                    pieces += 1
                    yield chunk(cid, {"content": event.text}, model=model)
                elif isinstance(event, Done):
                    a = event.answer
                    tail = sources_block(a)
                    span = (0, len(streamed))
                    if _plain(a.text) != _plain(streamed):  # the check changed the answer
                        lead = "\n\n" if streamed else ""
                        span = (len(streamed) + len(lead), len(streamed) + len(lead + a.text))
                        tail = lead + a.text + tail
                    if tail:
                        yield chunk(cid, {"content": tail}, model=model)
                    notes = openai_annotations(streamed + tail, a, span)
                    yield chunk(cid, {"annotations": notes}, "stop", model=model,
                                citations=[c.to_dict() for c in a.citations],
                                qa={**a.to_dict(), "answer_id": srv.remember(a)})
                    if usage:
                        body = {"id": cid, "object": "chat.completion.chunk",
                                "created": int(time.time()), "model": model, "choices": [],
                                "usage": _usage(a, pieces)}
                        yield f"data: {json.dumps(body)}\n\n"
        except QAError as e:
            from qa.server.app import error_body

            yield f"data: {json.dumps(error_body(500, str(e)))}\n\n"
        finally:
            await events.aclose()  # type: ignore[attr-defined]
        yield "data: [DONE]\n\n"


def _usage(answer: Answer, completion_pieces: int | None) -> dict[str, int]:
    prompt = answer.prompt_tokens or 0
    completion = completion_pieces if completion_pieces is not None else len(answer.text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}
