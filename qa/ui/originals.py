"""The original files of the corpus, served inline to the chat window: the source card's link
"open the original at page N" (``original/<collection>/<source>#page=N``).

Gradio serves its own files as downloads (``Content-Disposition: attachment``), where a PDF's
``#page=N`` does nothing, so the window gets one route of its own, added to Gradio's app (by
``app_kwargs={"routes": ...}``, which ``launch`` and ``mount_gradio_app`` both take): it lives
under the window's root (``/`` for ``python ui.py``, ``/ui/`` under ``qa serve --ui``), so the
card's relative link works in both, and Gradio's login cookie reaches it.

What it serves: a file only when it is a document of the collection (in its index) and its path,
resolved, lies inside the collection's corpus folder (``qa.page_view.resolve_in_corpus``: no
``..``, no absolute path, no symbolic link that leaves the folder); anything else is ``404`` with
one line. Who may read it: whoever may use the window (its login cookie, or no login where the
window has none: loopback only); under ``qa serve`` also an API key (``Authorization: Bearer``)
that may use the collection, and off loopback nothing else, like every other route there.

How: ``Content-Disposition: inline`` with the file's own type, ``nosniff``, no caching, and
``Cross-Origin-Resource-Policy: same-origin``. A saved web page is served as ``text/plain``,
and everything but a PDF also under ``Content-Security-Policy: sandbox``, so nothing from the
corpus can run a script on the window's origin. PDFs go without the sandbox: Chromium refuses to
show a PDF in a sandboxed document, and its viewer (like Firefox's) runs a PDF's scripts apart
from the page's origin anyway. The price of a route inside Gradio's app: the login check reads
Gradio's session cookie the way Gradio's own routes do (``App.tokens``, ``App.cookie_id``), so a
Gradio upgrade that changes them fails closed, with a 500, until this module follows.
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from qa.collections import DEFAULT
from qa.corpus import text_encoding
from qa.errors import QAError
from qa.page_view import resolve_in_corpus

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from qa.render import OriginalLink
    from qa.server.security import KeyCheck
    from qa.ui.app import App

log = logging.getLogger(__name__)

ROUTE = "original"  # relative to the window's root

MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".txt": "text/plain", ".md": "text/plain", ".markdown": "text/plain",
    ".html": "text/plain", ".htm": "text/plain",  # the saved page's source, never run
    ".rtf": "application/rtf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".epub": "application/epub+zip",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".tif": "image/tiff", ".tiff": "image/tiff", ".webp": "image/webp",
}



def original_href(collection: str | None, source: str, page: int | None = None) -> str:
    """The card's link to ``source`` of ``collection`` (relative to the window's root), at
    ``page`` of a PDF.

    >>> original_href(None, "team a/Bericht #2.pdf", 3)
    'original/default/team%20a/Bericht%20%232.pdf#page=3'
    >>> original_href("team-a", "notiz.txt")
    'original/team-a/notiz.txt'
    """
    href = f"{ROUTE}/{quote(collection or DEFAULT, safe='')}/{quote(source, safe='/')}"
    return href + (f"#page={int(page)}" if page else "")


def link_maker(app: App, collection: str | None) -> OriginalLink:
    """For the source cards of ``collection``: the link to a source's original, or None when the
    route would refuse it (the file left the corpus folder, or never was inside it)."""
    def link(source: str, page: int | None) -> str | None:
        try:
            resolve_in_corpus(app.pages_of(collection).corpus_dir, source)
        except QAError:
            return None
        return original_href(collection, source, page)

    return link


def original_response(path: Path) -> Response:
    """``path`` served inline, with its type and the headers of the module's docstring."""
    from starlette.responses import FileResponse

    suffix = path.suffix.lower()
    media_type = MEDIA_TYPES.get(suffix, "application/octet-stream")
    if media_type == "text/plain":
        media_type += f"; charset={text_encoding(path.read_bytes())}"
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
               "Cross-Origin-Resource-Policy": "same-origin"}
    if suffix != ".pdf":
        headers["Content-Security-Policy"] = "sandbox"
    return FileResponse(path, media_type=media_type, headers=headers,
                        filename=path.name, content_disposition_type="inline")


def _line(status: int, text: str, **headers: str) -> Response:
    from starlette.responses import PlainTextResponse

    return PlainTextResponse(text[:300] + "\n", status, headers={
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
        "Cache-Control": "no-store", **headers})


async def window_login(request: Request, open_window: bool = True) -> bool:
    """Whether the request may use the chat window it reached: the window has no login (and
    ``open_window`` allows that), or the request carries the session cookie of one (Gradio's
    ``get_current_user``, read the same way)."""
    gradio_app: Any = request.app
    if gradio_app.auth is None and gradio_app.auth_dependency is None:
        return open_window
    if gradio_app.auth_dependency is not None:
        user = gradio_app.auth_dependency(request)
        return (await user if inspect.isawaitable(user) else user) is not None
    cookie_id = gradio_app.cookie_id
    token = (request.cookies.get(f"access-token-{cookie_id}")
             or request.cookies.get(f"access-token-unsecure-{cookie_id}"))
    return token is not None and gradio_app.tokens.get(token) is not None


def original_routes(app: App, keys: KeyCheck | None = None) -> list[Route]:
    """The route for Gradio's app (``app_kwargs={"routes": original_routes(app)}``): the
    originals of ``app``'s collections. ``keys``: the API keys of ``qa serve``, whose rules
    it then follows (off loopback a key, or a login of the window, is needed)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.routing import Route

    from qa.server.security import bearer

    public = keys is not None and keys.public

    async def allowed(request: Request, collection: str) -> bool:
        if public and keys is not None:
            grant = keys.grant(bearer(request.headers.get("authorization")))
            if grant is not None and grant.may_use(collection):
                return True
        return await window_login(request, open_window=not public)  # off loopback: a login

    def serve(collection: str, source: str) -> Response:
        path = resolve_in_corpus(app.pages_of(collection).corpus_dir, source)
        if app.lookup(source, collection) is None:
            raise QAError(f"{source!r} is not a document of collection {collection!r}")
        return original_response(path)

    async def original(request: Request) -> Response:
        collection = request.path_params["collection"]
        source = request.path_params["source"]
        if not await allowed(request, collection):
            if public:
                return _line(401, "a login to the chat window or an API key is needed",
                             **{"WWW-Authenticate": "Bearer"})
            return _line(401, "a login to the chat window is needed")
        try:
            return await run_in_threadpool(serve, collection, source)
        except (QAError, OSError) as e:  # not offered, not inside the corpus, not indexed, gone
            log.info("original refused: %s", e)
            return _line(404, f"not found: {source[:120]!r} is not a document of collection "
                              f"{collection[:80]!r}")

    return [Route(f"/{ROUTE}/{{collection}}/{{source:path}}", original, methods=["GET"],
                  name="qa-original")]
