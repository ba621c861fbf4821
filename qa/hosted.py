"""Hosted answer models: any OpenAI-compatible ``/v1/chat/completions`` endpoint, streamed.

Design: the ``openai`` SDK does the HTTP (pooling, timeouts, SSE parsing, error classes carrying
status and headers); this module adds a careful client's policy on top, with the SDK's retries off
(``max_retries=0``): ours honour ``Retry-After`` (capped), back off exponentially with jitter,
never retry once a token was yielded (that would duplicate streamed text), and stay inside one
overall deadline, enforced by a watchdog that shuts the socket, so even a server that only sends
SSE keep-alive comments cannot hang a question. A stream that ends without ``finish_reason`` counts
as broken, never as a short answer. Messages name the endpoint, never the key.

Why not llama-index ``OpenAILike``: it wraps this same SDK, but costs ~1.4 s more import (2.2 s vs
0.9 s here), no other part of qa uses llama-index, and what we need (``finish_reason``, the client
for listing ``/models``) is reachable only through its internals (``raw``, ``_get_client``).

Price: ~120 lines of retry and error mapping we own and must keep in step with the SDK's exception
classes; no llama-index instrumentation of hosted calls; ``max_tokens`` is sent (every compatible
server takes it, some newest OpenAI reasoning models want ``max_completion_tokens``).
"""

from __future__ import annotations

import contextlib
import email.utils
import itertools
import logging
import random
import socket
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from qa.config import Settings
from qa.errors import GenerationError
from qa.generators import Message

log = logging.getLogger(__name__)

NO_KEY = "no-key"  # the SDK refuses an empty key; local servers ignore whatever is sent


def safe_url(url: str) -> str:
    """``url`` without user:password and query string, for messages and logs."""
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc.rpartition("@")[2], p.path, "", "")).rstrip("/")


def retry_after(headers: Any, cap: float) -> float | None:
    """Seconds a 429/503 asks us to wait (``retry-after-ms``, or ``Retry-After`` in seconds or as
    an HTTP date), capped; None when absent or unreadable."""
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


class _Failure(Exception):
    """A classified failure; ``hide`` drops the SDK exception (its text may echo the key)."""

    def __init__(self, message: str, retryable: bool = False, wait: float | None = None,
                 hide: bool = False) -> None:
        super().__init__(message)
        self.retryable, self.wait, self.hide = retryable, wait, hide


class OpenAIGenerator:
    """Streams answers from an OpenAI-compatible server (OpenAI, DashScope, Ollama, vLLM, ...)."""

    def __init__(self, model: str, base_url: str, api_key: str = "", *, timeout_s: float = 60.0,
                 connect_timeout_s: float = 5.0, max_retries: int = 3,
                 deadline_s: float | None = None, backoff_s: float = 0.5,
                 backoff_cap_s: float = 8.0, retry_after_cap_s: float = 30.0) -> None:
        if not model:
            raise GenerationError("no hosted model name: set QA_OPENAI_MODEL or pass --model")
        if not base_url.startswith(("http://", "https://")):
            raise GenerationError(f"the hosted base URL must start with http:// or https://, "
                                  f"not {safe_url(base_url)!r} (e.g. http://127.0.0.1:11434/v1)")
        self.model, self.base_url = model, base_url.rstrip("/")
        self.name = f"openai:{model}"
        self.url = safe_url(self.base_url)  # what messages and logs show
        self._key = api_key
        self.timeout_s, self.connect_timeout_s = timeout_s, connect_timeout_s
        self.max_retries = max(0, max_retries)
        self.deadline_s = deadline_s or 2 * timeout_s + connect_timeout_s
        self.backoff_s, self.backoff_cap_s = backoff_s, backoff_cap_s
        self.retry_after_cap_s = retry_after_cap_s
        self._client: Any = None

    def __repr__(self) -> str:  # never the key
        return f"OpenAIGenerator(model={self.model!r}, base_url={self.url!r})"

    @property
    def client(self) -> Any:
        if self._client is None:
            import httpx
            import openai

            self._client = openai.OpenAI(
                api_key=self._key or NO_KEY, base_url=self.base_url, max_retries=0,
                timeout=httpx.Timeout(self.timeout_s, connect=self.connect_timeout_s))
        return self._client

    def _clean(self, text: object, limit: int = 200) -> str:
        s = " ".join(str(text).split())
        if self._key:
            s = s.replace(self._key, "***")
        return s if len(s) <= limit else s[:limit - 1] + "…"

    def stream(self, messages: Sequence[Message], max_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        self.client  # noqa: B018 - import the SDK before the deadline clock starts
        t0 = time.monotonic()
        deadline, text = t0 + self.deadline_s, ""
        for attempt in itertools.count(1):
            try:
                with contextlib.closing(self._attempt(messages, max_tokens, temperature,
                                                      deadline)) as pieces:
                    for piece in pieces:
                        text += piece
                        yield piece
                return
            except Exception as e:  # noqa: BLE001 - every failure is mapped or re-raised
                failure = self._classify(e)
                if failure is None:
                    raise
                cause = None if failure.hide else e
                if text:  # never retried: the caller has shown these pieces already
                    raise GenerationError(f"the answer broke off after {len(text)} characters: "
                                          f"{failure}", text) from cause
                wait = failure.wait if failure.wait is not None else min(
                    self.backoff_cap_s, self.backoff_s * 2 ** (attempt - 1)) * random.uniform(.5, 1)
                late = time.monotonic() + wait >= deadline
                if not failure.retryable or attempt > self.max_retries or late:
                    tries = (f" (after {attempt} attempts, {time.monotonic() - t0:.1f} s)"
                             if attempt > 1 else "")
                    if failure.retryable and late and attempt <= self.max_retries:
                        tries += f"; waiting {wait:.0f} s more would pass the deadline"
                    raise GenerationError(f"{failure}{tries}") from cause
                log.warning("%s: %s; retry %d/%d in %.1f s", self.name, failure, attempt,
                            self.max_retries, wait)
                time.sleep(wait)

    def _attempt(self, messages: Sequence[Message], max_tokens: int, temperature: float,
                 deadline: float) -> Generator[str, None, None]:
        """One request: its text pieces, or an exception for ``_classify``."""
        import httpx

        left = deadline - time.monotonic()
        resp = self.client.chat.completions.create(
            model=self.model, messages=list(messages), max_tokens=max_tokens,
            temperature=temperature, stream=True,
            timeout=httpx.Timeout(min(self.timeout_s, left),
                                  connect=min(self.connect_timeout_s, left)))
        cut = threading.Event()
        timer = threading.Timer(max(0.0, deadline - time.monotonic()), _cut_off, (resp, cut))
        timer.daemon = True
        timer.start()
        finished, odd, got_text = False, 0, False
        too_late = _Failure(f"{self.url} gave no complete answer within the "
                            f"{self.deadline_s:g} s deadline")
        try:
            for chunk in resp:
                choices = getattr(chunk, "choices", None)
                if not choices:  # []: a usage chunk; None: not a chat-completion chunk at all
                    odd += choices is None
                    continue
                piece = getattr(choices[0].delta, "content", None)
                if piece:
                    got_text = True
                    yield piece
                finished = finished or bool(choices[0].finish_reason)
                if time.monotonic() > deadline:
                    cut.set()
                    break
        except Exception as e:
            if cut.is_set():
                raise too_late from None
            if not (finished and isinstance(e, httpx.TransportError)):
                raise
            log.debug("%s closed the connection after the last chunk (%s)", self.url, e)
        finally:
            timer.cancel()
            resp.close()
        if cut.is_set():
            raise too_late
        if not finished:
            ctype = resp.response.headers.get("content-type", "")
            if "event-stream" not in ctype or (odd and not got_text):
                raise _Failure(f"malformed reply from {self.url}: not OpenAI chat-completion "
                               f"chunks ({ctype or 'no content type'}, {odd} event(s) without "
                               "'choices')")
            raise _Failure(f"the stream from {self.url} ended before the answer was complete "
                           "(no finish_reason)", retryable=True)

    # -- errors -> messages ---------------------------------------------------------------------
    def _classify(self, e: Exception) -> _Failure | None:
        import httpx
        import openai

        if isinstance(e, _Failure):
            return e
        if isinstance(e, openai.APITimeoutError | httpx.TimeoutException):
            return _Failure(f"{self.url} did not answer within {self.timeout_s:g} s", True)
        if isinstance(e, openai.APIConnectionError):
            why = self._clean(e.__cause__ or e)
            return _Failure(f"cannot connect to {self.url} ({why})", True)
        if isinstance(e, httpx.TransportError):  # raised while reading the stream
            return _Failure(f"the connection to {self.url} broke ({self._clean(e)})", True)
        if isinstance(e, openai.APIStatusError):
            return self._status_failure(e)
        if isinstance(e, openai.APIError):  # an error event inside the stream
            return _Failure(f"{self.url} reported an error: {self._clean(e.message)}")
        if isinstance(e, ValueError | AttributeError | TypeError | KeyError | IndexError):
            return _Failure(f"malformed reply from {self.url}: not OpenAI chat-completion "
                            f"chunks ({type(e).__name__}: {self._clean(e, 120)})")
        return None

    def _status_failure(self, e: Any) -> _Failure:
        status, code = e.status_code, getattr(e, "code", None)
        body = e.body if isinstance(e.body, dict) else {}
        detail = self._clean(body.get("message") or e.message)
        if status in (401, 403):
            hint = ("no API key is set: set QA_OPENAI_API_KEY" if not self._key else
                    "check QA_OPENAI_API_KEY" if status == 401 else
                    f"the key is not allowed to use {self.model!r}")
            return _Failure(f"authentication failed at {self.url} (HTTP {status}): {hint}",
                            hide=True)
        if status == 404 or code == "model_not_found":
            return _Failure(self._unknown_model(status, detail), hide=True)
        if status == 429 and code == "insufficient_quota":
            return _Failure(f"{self.url}: quota exhausted (HTTP 429): {detail}", hide=True)
        if status in (408, 429) or status >= 500:
            wait = retry_after(e.response.headers, self.retry_after_cap_s)
            return _Failure(f"{self.url} answered HTTP {status}: {detail}", True, wait, hide=True)
        return _Failure(f"{self.url} rejected the request (HTTP {status}): {detail}", hide=True)

    def _unknown_model(self, status: int, detail: str) -> str:
        import httpx

        try:
            page = self.client.models.list(timeout=httpx.Timeout(
                min(5.0, self.timeout_s), connect=self.connect_timeout_s))
            ids = sorted(str(m.id) for m in page.data)
        except Exception as e:  # noqa: BLE001 - the listing is only a hint
            log.debug("cannot list models at %s: %s", self.url, self._clean(e))
            return (f"model {self.model!r} is not served by {self.url} (HTTP {status}: "
                    f"{detail}); check the model name and the base URL (usually ends in /v1)")
        if self.model in ids:
            return (f"{self.url} answered HTTP {status} for {self.model!r} although it lists "
                    f"that model: {detail}")
        shown = ", ".join(ids[:30]) + (" …" if len(ids) > 30 else "") if ids else "none listed"
        return f"model {self.model!r} is not served by {self.url}; available: {shown}"


def _cut_off(stream: Any, cut: threading.Event) -> None:
    """Deadline watchdog: shut the socket so a blocked read returns at once."""
    cut.set()
    try:
        sock = stream.response.extensions["network_stream"].get_extra_info("socket")
        sock.shutdown(socket.SHUT_RDWR)
    except Exception:  # noqa: BLE001 - no socket to shut: close the response instead
        with contextlib.suppress(Exception):
            stream.response.close()


def make_hosted_generator(settings: Settings) -> OpenAIGenerator:
    """The hosted generator that ``settings`` describe (``backend = "openai"``)."""
    if settings.backend != "openai":
        raise GenerationError(f"no hosted backend called {settings.backend!r}; use 'openai'")
    return OpenAIGenerator(settings.openai_model, settings.openai_base_url,
                           settings.openai_api_key, timeout_s=settings.openai_timeout_s,
                           connect_timeout_s=settings.openai_connect_timeout_s,
                           max_retries=settings.openai_max_retries)
