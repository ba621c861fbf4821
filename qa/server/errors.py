"""Error bodies of the HTTP API and the handlers that turn the library's exceptions into them.

Every error body has ``detail`` (FastAPI's convention) and ``error.message`` (OpenAI's), so
both kinds of client show the reason; the server's folders are cut out of every message.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from qa.collections import UnknownCollection
from qa.errors import InputError, QAError, StoreUnavailableError
from qa.server.answers import Busy
from qa.server.security import Forbidden

log = logging.getLogger("qa.server.app")  # the logger these lines always had
STORE_RETRY_AFTER_S = 10  # a stopped database: 503 and ask the client to come back


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


def add_error_handlers(app: FastAPI) -> None:
    """Status codes for the library's exceptions: ``InputError`` 422, ``UnknownCollection``
    404 with the list, ``Forbidden`` 403, ``StoreUnavailableError`` and ``Busy`` 503 with
    ``Retry-After``, any other ``QAError`` 500."""
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
