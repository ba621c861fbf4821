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

import asyncio
import hmac
import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
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


class Forbidden(QAError):
    """The request's key may not do this (another collection, or a change with a read-only
    key): ``403``."""


@dataclass(frozen=True)
class Grant:
    """What a key may do: the collections it may use (``None``: all) and whether it may
    change documents. A plain key (and a request on an open endpoint without one) may do
    everything, as before collections."""

    collections: frozenset[str] | None = None
    read_only: bool = False

    def may_use(self, collection: str) -> bool:
        return self.collections is None or collection in self.collections

    def check(self, collection: str, change: bool = False) -> None:
        if not self.may_use(collection):
            raise Forbidden(f"this API key may not use collection {collection!r}")
        if change and self.read_only:
            raise Forbidden("this API key is read-only: it may not change documents")


FULL = Grant()


def parse_grant(entry: str) -> tuple[str, Grant]:
    """A configured key and what it may do: ``KEY`` (everything), ``KEY:ro`` (read-only),
    ``KEY@a+b`` (collections a and b only), ``KEY@a:ro``. ``QAError`` for a bad limit, without
    the key in the message.

    >>> parse_grant("k1")
    ('k1', Grant(collections=None, read_only=False))
    >>> key, grant = parse_grant("k3@team-a+default:ro")
    >>> key, sorted(grant.collections or ()), grant.read_only
    ('k3', ['default', 'team-a'], True)
    >>> parse_grant("k4@Team A")
    Traceback (most recent call last):
    qa.errors.QAError: an API key's limit 'Team A' is not COLLECTION[+COLLECTION...][:ro]
    """
    read_only = entry.endswith(":ro")
    key = entry[:-3] if read_only else entry
    if "@" not in key:
        return key, Grant(None, read_only)
    key, _, limit = key.rpartition("@")
    names = limit.split("+")
    if not key or not all(re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", n) for n in names):
        raise QAError(f"an API key's limit {limit[:80]!r} is not COLLECTION[+COLLECTION...][:ro]")
    return key, Grant(frozenset(names), read_only)


MIN_PUBLIC_KEY_CHARS = 16  # a key that guards a server reachable from other machines
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class KeyCheck:
    """The configured API keys and the rule of when one is needed. A blank key is no key; off
    loopback every key must have at least ``MIN_PUBLIC_KEY_CHARS`` characters."""

    def __init__(self, keys: Iterable[str], host: str = "127.0.0.1",
                 local_changes_without_key: bool = False) -> None:
        parsed = [parse_grant(k.strip()) for k in keys if k.strip()]
        kept = [k for k, _ in parsed]
        self._keys = tuple(k.encode("utf-8") for k in kept)
        self._grants = tuple(g for _, g in parsed)
        self.public = not is_loopback(host)
        self.local_changes_without_key = local_changes_without_key
        if self.public and not self._keys:
            raise QAError(f"binding to {host} makes the server reachable from other machines: "
                          "set QA_API_KEYS (or --api-key) first, or bind to 127.0.0.1")
        short = [k for k in kept if len(k) < MIN_PUBLIC_KEY_CHARS]
        if self.public and short:
            raise QAError(f"binding to {host}: {len(short)} API key(s) shorter than "
                          f"{MIN_PUBLIC_KEY_CHARS} characters; use long random keys "
                          "(python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        if self.public and local_changes_without_key:
            raise QAError("--no-auth-for-local-changes is for 127.0.0.1 only; "
                          f"{host} is reachable from other machines")

    @property
    def configured(self) -> bool:
        return bool(self._keys)

    def valid(self, presented: str | None) -> bool:
        """Constant time in the presented key's content: every configured key is compared."""
        return self.grant(presented) is not None

    def grant(self, presented: str | None) -> Grant | None:
        """What the presented key may do, or ``None`` for no valid key; every configured key
        is compared (constant time in the presented key's content)."""
        if not presented or not self._keys:
            return None
        given = presented.encode("utf-8")
        found = None
        for key, grant in zip(self._keys, self._grants, strict=True):
            if hmac.compare_digest(given, key) and found is None:
                found = grant
        return found

    def collections_named(self) -> set[str]:
        """The collections the keys' limits name (checked against the settings at start)."""
        return {n for g in self._grants for n in (g.collections or ())}

    def window_collections(self, known: list[str]) -> list[str]:
        """Of ``known``, the collections the chat window may offer when its logins are these
        keys: those that every key which may log in (one that may use ``default`` and change
        documents) may use, since a window session does not know which key logged it in.

        >>> KeyCheck(["k1", "k2@default+a", "k3@b:ro"]).window_collections(["default", "a", "b"])
        ['default', 'a']
        """
        logins = [g for g in self._grants if g.may_use("default") and not g.read_only]
        return [n for n in known if all(g.may_use(n) for g in logins)]

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


class BodyTimeout(HTTPException):
    """Raised from ``receive`` when the client stops sending its body (a slow-body attack holds
    a connection open for ever otherwise)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"request body not received within {seconds:g} s")


class BodyLimit:
    """ASGI middleware: ``413`` for a request body over ``limit_for(scope)`` bytes (``None``: the
    path is not limited here, e.g. the mounted UI, which has its own limit), and ``408`` when
    a body does not arrive in ``timeout_s`` seconds between two of its parts."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int | None],
                 timeout_s: float | None = None) -> None:
        self.app = app
        self.limit_for = limit_for
        self.timeout_s = timeout_s

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
        body_done = False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done or self.timeout_s is None:  # afterwards: waiting for a disconnect
                message = await receive()
            else:
                try:
                    message = await asyncio.wait_for(receive(), self.timeout_s)
                except TimeoutError:
                    raise BodyTimeout(self.timeout_s) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
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
        except (BodyTooLarge, BodyTimeout) as e:
            if not started:
                await _reply(send, e.status_code, str(e.detail))


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
    >>> changes_documents("POST", "/v1/collections/team-a/documents:rebuild")
    True
    """
    if method in ("GET", "HEAD", "OPTIONS"):
        return False
    if path.startswith("/v1/collections/"):
        path = "/v1/" + path[len("/v1/collections/"):].partition("/")[2]
    return path.startswith("/v1/documents")


GRANT = "qa.grant"  # the ASGI scope key holding the request's ``Grant``


def grant_of(scope: Any) -> Grant:
    """The ``Grant`` ``KeyGate`` put in an ASGI scope (everything when none: stdio, tests)."""
    grant = scope.get(GRANT) if isinstance(scope, dict) else None
    return grant if isinstance(grant, Grant) else FULL


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
        changes = changes_documents(scope["method"], path)
        if changes and not self.keys.needed(True):  # --no-auth-for-local-changes
            why = cross_site(dict(scope.get("headers") or []))
            if why:
                await _reply(send, 403, f"document changes without a key must come from this "
                             f"server's own origin ({why}); send an API key instead")
                return
        headers = dict(scope.get("headers") or [])
        token = bearer(headers.get(b"authorization", b"").decode("latin-1"))
        grant = self.keys.grant(token) if token else None
        if self.keys.needed(changes):
            if not self.keys.configured:
                await _reply(send, 403, "changing documents needs an API key: set QA_API_KEYS "
                             "(or start with --no-auth-for-local-changes on 127.0.0.1)")
                return
            if grant is None:
                await _reply(send, 401, "a valid API key is needed: send "
                             "'Authorization: Bearer <key>'",
                             [(b"www-authenticate", b"Bearer")])
                return
        if changes and grant is not None and grant.read_only:
            await _reply(send, 403, "this API key is read-only: it may not change documents")
            return
        scope[GRANT] = grant or FULL  # the routes check the collection (qa.server.app)
        await self.app(scope, receive, send)


def host_name(host: str) -> str:
    """The name of a ``Host`` header (or an origin's host part) without its port, lower-case.

    >>> host_name("LocalHost:8000"), host_name("[::1]:8000"), host_name("127.0.0.1")
    ('localhost', '::1', '127.0.0.1')
    """
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def cross_site(headers: dict[bytes, bytes]) -> str:
    """Why a browser request comes from another site (a web page posting to this server), or
    "" when it does not. Clients that are not browsers send neither header and pass.

    >>> cross_site({b"host": b"127.0.0.1:8000", b"origin": b"http://127.0.0.1:8000"})
    ''
    >>> cross_site({b"host": b"127.0.0.1:8000", b"origin": b"https://evil.example"})
    'Origin https://evil.example'
    >>> cross_site({b"sec-fetch-site": b"cross-site"})
    'Sec-Fetch-Site cross-site'
    """
    site = headers.get(b"sec-fetch-site", b"").decode("latin-1").strip().lower()
    if site and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site {site}"
    origin = headers.get(b"origin")
    if origin is None:
        return ""
    text = origin.decode("latin-1").strip()
    own = headers.get(b"host", b"").decode("latin-1").strip().lower()
    if text.lower().partition("://")[2].rstrip("/") != own or not own:
        return f"Origin {text}"
    return ""


class EdgeGuard:
    """ASGI middleware, outermost: ``X-Content-Type-Options: nosniff`` on every response, and,
    for a server bound to loopback, a ``Host`` check against DNS rebinding (a web page whose
    name now points at 127.0.0.1 would otherwise read the open endpoints): the ``Host`` must
    be localhost, 127.0.0.1, [::1] or one of ``allowed_hosts``; else ``400``."""

    def __init__(self, app: ASGIApp, loopback: bool, allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.loopback = loopback
        self.allowed = set(LOOPBACK_NAMES) | {host_name(h) for h in allowed_hosts if h.strip()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-content-type-options" for k, _ in headers):
                    headers.append((b"x-content-type-options", b"nosniff"))  # once
                message["headers"] = headers
            await send(message)

        host = dict(scope.get("headers") or []).get(b"host")
        if self.loopback and host is not None:
            name = host_name(host.decode("latin-1"))
            if name not in self.allowed:
                await _reply(nosniff, 400, f"Host {name[:100]!r} is not served here: this server "
                             "answers to localhost, 127.0.0.1 and [::1] (add a name with "
                             "--allowed-host)")
                return
        await self.app(scope, receive, nosniff)
