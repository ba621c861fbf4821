"""What the hosted chat backend and the embeddings backend share: one OpenAI-compatible endpoint.

Design: the ``openai`` SDK does the HTTP (pooling, timeouts, error classes carrying status and
headers) with its own retries off (``max_retries=0``); ``Endpoint`` builds that client and turns
every SDK or transport failure into a ``Failure`` (one line that names the endpoint, never the
key, and says whether a retry may help), and ``RetryPolicy`` decides how long to wait before the
next attempt: ``Retry-After`` when the server sends one (capped), else exponential backoff with
jitter, always inside one overall deadline. ``call_with_retries`` is the loop for a plain request;
the streaming chat backend runs its own loop (it must never retry once text was shown) with the
same two pieces.

Price: the mapping follows the SDK's exception classes, so an SDK major version may need a look.
"""

from __future__ import annotations

import email.utils
import importlib
import itertools
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from qa.errors import ModelError

log = logging.getLogger(__name__)

NO_KEY = "no-key"  # the SDK refuses an empty key; local servers ignore whatever is sent
T = TypeVar("T")


def safe_url(url: str) -> str:
    """``url`` without user:password and query string, for messages and logs.

    >>> safe_url("https://user:pw@example.org/v1/?token=x")
    'https://example.org/v1'
    """
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc.rpartition("@")[2], p.path, "", "")).rstrip("/")


def retry_after(headers: Any, cap: float) -> float | None:
    """Seconds a 429/503 asks us to wait (``retry-after-ms``, or ``Retry-After`` in seconds or as
    an HTTP date), capped; None when absent or unreadable.

    >>> retry_after({"retry-after": "2"}, 30), retry_after({"retry-after": "120"}, 30)
    (2.0, 30)
    """
    try:
        if ms := headers.get("retry-after-ms"):
            return max(0.0, min(cap, float(ms) / 1000))
        value = (headers.get("retry-after") or "").strip()
        if not value:
            return None
        try:
            secs = float(value)
        except ValueError:
            secs = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        return max(0.0, min(cap, secs))
    except (TypeError, ValueError, OverflowError):
        return None


class Failure(Exception):
    """A classified failure; ``hide`` drops the SDK exception (its text may echo the key)."""

    def __init__(self, message: str, retryable: bool = False, wait: float | None = None,
                 hide: bool = False) -> None:
        super().__init__(message)
        self.retryable, self.wait, self.hide = retryable, wait, hide


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait: ``max_retries`` retries after the first attempt."""

    max_retries: int = 3
    backoff_s: float = 0.5
    backoff_cap_s: float = 8.0
    retry_after_cap_s: float = 30.0

    def decide(self, failure: Failure, attempt: int, started: float,
               deadline: float) -> tuple[float, str | None]:
        """``(seconds to wait, None)`` to retry after attempt number ``attempt`` (from 1), or
        ``(0, message)`` to give up with ``message``."""
        wait = min(failure.wait, self.retry_after_cap_s) if failure.wait is not None else min(
            self.backoff_cap_s, self.backoff_s * 2 ** (attempt - 1)) * random.uniform(.5, 1)
        late = time.monotonic() + wait >= deadline
        if failure.retryable and attempt <= self.max_retries and not late:
            return wait, None
        tries = (f" (after {attempt} attempts, {time.monotonic() - started:.1f} s)"
                 if attempt > 1 else "")
        if failure.retryable and late and attempt <= self.max_retries:
            tries += f"; waiting {wait:.0f} s more would pass the deadline"
        return 0.0, f"{failure}{tries}"


class Endpoint:
    """An OpenAI-compatible base URL with its key: the SDK client and failure -> message.

    ``what`` names it in messages ("hosted", "embeddings"); ``key_env`` names the setting a user
    fixes when the key is wrong; ``reply_kind`` says what a well-formed reply is
    (``malformed reply from ...: not <reply_kind>``).
    """

    def __init__(self, base_url: str, api_key: str = "", *, timeout_s: float = 60.0,
                 connect_timeout_s: float = 5.0, what: str = "hosted",
                 key_env: str = "QA_OPENAI_API_KEY", reply_kind: str = "an OpenAI reply",
                 error: type[ModelError] = ModelError,
                 example: str = "http://127.0.0.1:11434/v1") -> None:
        if not base_url.startswith(("http://", "https://")):
            raise error(f"the {what} base URL must start with http:// or https://, not "
                        f"{safe_url(base_url)!r} (e.g. {example})")
        self.base_url = base_url.rstrip("/")
        self.url = safe_url(self.base_url)  # what messages and logs show
        self.key = api_key
        self.timeout_s, self.connect_timeout_s = timeout_s, connect_timeout_s
        self.key_env, self.reply_kind = key_env, reply_kind
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import openai

            self._client = openai.OpenAI(
                api_key=self.key or NO_KEY, base_url=self.base_url, max_retries=0,
                timeout=openai.Timeout(self.timeout_s, connect=self.connect_timeout_s))
        return self._client

    def timeout(self, deadline: float) -> Any:
        """The SDK's ``Timeout`` that never runs past ``deadline`` (a ``time.monotonic`` value)."""
        import openai

        left = max(0.01, deadline - time.monotonic())
        return openai.Timeout(min(self.timeout_s, left), connect=min(self.connect_timeout_s, left))

    def clean(self, text: object, limit: int = 200) -> str:
        """``text`` on one line, at most ``limit`` characters, with the key masked."""
        s = " ".join(str(text).split())
        if self.key:
            s = s.replace(self.key, "***")
        return s if len(s) <= limit else s[:limit - 1] + "…"

    def classify(self, e: Exception, model: str) -> Failure | None:
        """The failure ``e`` means, or None for an exception that is not about the endpoint."""
        import openai

        if isinstance(e, Failure):
            return e
        if isinstance(e, (openai.APITimeoutError, *http_errors("TimeoutException"))):
            return Failure(f"{self.url} did not answer within {self.timeout_s:g} s", True)
        if isinstance(e, openai.APIConnectionError):
            why = self.clean(e.__cause__ or e)
            return Failure(f"cannot connect to {self.url} ({why})", True)
        if isinstance(e, http_errors("TransportError")):  # raised while reading a body or stream
            return Failure(f"the connection to {self.url} broke ({self.clean(e)})", True)
        if isinstance(e, openai.APIStatusError):
            return self.status_failure(e, model)
        if isinstance(e, openai.APIError):  # an error event inside a stream
            return Failure(f"{self.url} reported an error: {self.clean(e.message)}")
        if isinstance(e, ValueError | AttributeError | TypeError | KeyError | IndexError):
            return Failure(f"malformed reply from {self.url}: not {self.reply_kind} "
                           f"({type(e).__name__}: {self.clean(e, 120)})")
        return None

    def status_failure(self, e: Any, model: str) -> Failure:
        status, code = e.status_code, getattr(e, "code", None)
        body = e.body if isinstance(e.body, dict) else {}
        detail = self.clean(body.get("message") or e.message)
        if status in (401, 403):
            hint = (f"no API key is set: set {self.key_env}" if not self.key else
                    f"check {self.key_env}" if status == 401 else
                    f"the key is not allowed to use {model!r}")
            return Failure(f"authentication failed at {self.url} (HTTP {status}): {hint}",
                           hide=True)
        if status == 404 or code == "model_not_found":
            return Failure(self.unknown_model(model, status, detail), hide=True)
        if status == 429 and code == "insufficient_quota":
            return Failure(f"{self.url}: quota exhausted (HTTP 429): {detail}", hide=True)
        if status in (408, 429) or status >= 500:
            wait = retry_after(e.response.headers, math.inf)  # the policy caps it
            return Failure(f"{self.url} answered HTTP {status}: {detail}", True, wait, hide=True)
        return Failure(f"{self.url} rejected the request (HTTP {status}): {detail}", hide=True)

    def unknown_model(self, model: str, status: int, detail: str) -> str:
        import openai

        try:
            page = self.client.models.list(timeout=openai.Timeout(
                min(5.0, self.timeout_s), connect=self.connect_timeout_s))
            ids = sorted(str(m.id) for m in page.data)
        except Exception as e:  # noqa: BLE001 - the listing is only a hint
            log.debug("cannot list models at %s: %s", self.url, self.clean(e))
            return (f"model {model!r} is not served by {self.url} (HTTP {status}: "
                    f"{detail}); check the model name and the base URL (usually ends in /v1)")
        if model in ids:
            return (f"{self.url} answered HTTP {status} for {model!r} although it lists "
                    f"that model: {detail}")
        shown = ", ".join(ids[:30]) + (" …" if len(ids) > 30 else "") if ids else "none listed"
        return f"model {model!r} is not served by {self.url}; available: {shown}"


def http_errors(name: str) -> tuple[type[Exception], ...]:
    """The exception class ``name`` of each HTTP library the SDK may use (``httpx`` under
    openai 1.x/2.x, ``httpx2`` under 3.x; both where both are installed), so the mapping does not
    depend on which one a given SDK version talks through."""
    found = []
    for module in ("httpx2", "httpx"):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def connection_broke(e: BaseException) -> bool:
    """Whether ``e`` is the connection failing (reset, closed, timed out) rather than a reply the
    server sent: the SDK's ``APIConnectionError`` (openai 3.x wraps transport errors met while
    reading a stream in it) or a raw transport error of its HTTP library (openai 1.x)."""
    import openai

    return isinstance(e, (openai.APIConnectionError, *http_errors("TransportError")))


def call_with_retries(attempt: Callable[[float], T], endpoint: Endpoint, model: str,
                      policy: RetryPolicy, deadline_s: float, name: str,
                      error: type[ModelError] = ModelError) -> T:
    """``attempt(deadline)`` until it returns, retrying what ``policy`` allows; a failure that
    is not retried becomes one ``error`` line (without the SDK exception when it may hold the
    key). ``deadline`` is a ``time.monotonic`` value the attempt must not run past."""
    t0 = time.monotonic()
    deadline = t0 + deadline_s
    for number in itertools.count(1):
        try:
            return attempt(deadline)
        except Exception as e:  # noqa: BLE001 - every failure is mapped or re-raised
            failure = endpoint.classify(e, model)
            if failure is None:
                raise
            wait, final = policy.decide(failure, number, t0, deadline)
            if final is not None:
                raise error(final) from (None if failure.hide else e)
            log.warning("%s: %s; retry %d/%d in %.1f s", name, failure, number,
                        policy.max_retries, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")
