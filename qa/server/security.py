"""Who may call the server, and how much they may send.

* API keys are bearer tokens from ``QA_API_KEYS`` (comma-separated) or ``--api-key``. A presented
  key is compared with every configured key in constant time (``hmac.compare_digest`` on all of
  them, no early exit) and is never logged or echoed.
* Bound to anything but loopback, every endpoint needs a key, and the server refuses to start
  without one. On loopback, reading endpoints are open and the ones that change documents still
  need a key, unless the operator switched that off (``--no-auth-for-local-changes``), which is
  refused for a non-loopback address.
* ``BodyLimit`` refuses a request body over its limit with ``413``, whether the client announced
  its length or streams it chunked, before the route reads it.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from qa.errors import QAError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this machine.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("::1")
    (True, True, True)
    >>> is_loopback("0.0.0.0"), is_loopback("192.168.1.5"), is_loopback("")
    (False, False, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_keys(text: str | None) -> tuple[str, ...]:
    """Keys from ``QA_API_KEYS``: comma- or whitespace-separated, blanks dropped.

    >>> parse_keys(" k1, k2 ,,k3 ")
    ('k1', 'k2', 'k3')
    """
    return tuple(k for k in (text or "").replace(",", " ").split() if k)


class KeyCheck:
    """The configured API keys and the rule of when one is needed."""

    def __init__(self, keys: Iterable[str], host: str = "127.0.0.1",
                 local_changes_without_key: bool = False) -> None:
        self._keys = tuple(k.encode("utf-8") for k in keys)
        self.public = not is_loopback(host)
        self.local_changes_without_key = local_changes_without_key
        if self.public and not self._keys:
            raise QAError(f"binding to {host} makes the server reachable from other machines: "
                          "set QA_API_KEYS (or --api-key) first, or bind to 127.0.0.1")
        if self.public and local_changes_without_key:
            raise QAError("--no-auth-for-local-changes is for 127.0.0.1 only; "
                          f"{host} is reachable from other machines")

    @property
    def configured(self) -> bool:
        return bool(self._keys)

    def valid(self, presented: str | None) -> bool:
        """Constant time in the presented key's content: every configured key is compared."""
        if not presented or not self._keys:
            return False
        given = presented.encode("utf-8")
        ok = False
        for key in self._keys:
            ok |= hmac.compare_digest(given, key)
        return ok

    def needed(self, changes_documents: bool) -> bool:
        return self.public or (changes_documents and not self.local_changes_without_key)


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header.

    >>> bearer("Bearer abc"), bearer("bearer  abc "), bearer("Basic abc"), bearer(None)
    ('abc', 'abc', None, None)
    """
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class BodyTooLarge(HTTPException):
    """Raised from ``receive``: an HTTPException, so the app's handlers answer 413 whichever
    part of the framework was reading the body."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body too large (more than {limit:,} bytes)")


class BodyLimit:
    """ASGI middleware: ``413`` for a request body over ``limit_for(scope)`` bytes (``None``: the
    path is not limited here, e.g. the mounted UI, which has its own limit)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int | None]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                await _reply(send, 400, "invalid Content-Length header")
                return
            if int(length) > limit:
                await _reply(send, 413, f"request body too large ({int(length):,} bytes, at "
                             f"most {limit:,})")
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as e:
            if not started:
                await _reply(send, 413, str(e.detail))


async def _reply(send: Send, status: int, message: str,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
    kind = {401: "authentication_error", 403: "permission_error"}.get(status,
                                                                       "invalid_request_error")
    body = json.dumps({"detail": message, "error": {"message": message, "type": kind,
                                                     "code": None}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def changes_documents(method: str, path: str) -> bool:
    """Whether a request adds, deletes or rebuilds documents.

    >>> changes_documents("POST", "/v1/documents"), changes_documents("GET", "/v1/documents")
    (True, False)
    >>> changes_documents("DELETE", "/v1/documents/a.txt"), changes_documents("POST", "/v1/ask")
    (True, False)
    """
    return method not in ("GET", "HEAD", "OPTIONS") and path.startswith("/v1/documents")


class KeyGate:
    """ASGI middleware: ``401`` without a valid key where ``KeyCheck.needed`` says one is needed
    (all of the API and its docs when public); ``403`` for document changes when no key is
    configured. The mounted UI (``/ui``) is left to Gradio's own login."""

    def __init__(self, app: ASGIApp, keys: KeyCheck) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path == "/ui" or path.startswith("/ui/"):
            await self.app(scope, receive, send)
            return
        if self.keys.needed(changes_documents(scope["method"], path)):
            if not self.keys.configured:
                await _reply(send, 403, "changing documents needs an API key: set QA_API_KEYS "
                             "(or start with --no-auth-for-local-changes on 127.0.0.1)")
                return
            headers = dict(scope.get("headers") or [])
            token = bearer(headers.get(b"authorization", b"").decode("latin-1"))
            if not self.keys.valid(token):
                await _reply(send, 401, "a valid API key is needed: send "
                             "'Authorization: Bearer <key>'",
                             [(b"www-authenticate", b"Bearer")])
                return
        await self.app(scope, receive, send)
