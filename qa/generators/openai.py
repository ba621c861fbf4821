"""Hosted answer models: any OpenAI-compatible ``/v1/chat/completions`` endpoint, streamed.

Design: the ``openai`` SDK does the HTTP (pooling, timeouts, SSE parsing, error classes carrying
status and headers); this module adds a careful client's policy on top, with the SDK's retries off
(``max_retries=0``): ours honour ``Retry-After`` (capped), back off exponentially with jitter,
never retry once a token was yielded (that would duplicate streamed text), and stay inside one
overall deadline, enforced by a watchdog that shuts the socket, so even a server that only sends
SSE keep-alive comments cannot hang a question. A stream that ends without ``finish_reason`` counts
as broken, never as a short answer. Messages name the endpoint, never the key. The client, the
error mapping and the retry policy live in ``qa.openai_client``, shared with the embeddings
backend (``qa.embedders.openai``); this module keeps what is particular to streaming.

Why not llama-index ``OpenAILike``: it wraps this same SDK, but costs ~1.4 s more import (2.2 s vs
0.9 s here), no other part of qa uses llama-index, and what we need (``finish_reason``, the client
for listing ``/models``) is reachable only through its internals (``raw``, ``_get_client``).

Price: ~120 lines of retry and error mapping we own (in ``qa.openai_client``) and must keep in step with the SDK's exception
classes; no llama-index instrumentation of hosted calls; ``max_tokens`` is sent (every compatible
server takes it, some newest OpenAI reasoning models want ``max_completion_tokens``).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from typing import Any

from qa.config import Settings
from qa.errors import GenerationError
from qa.generators import Message
from qa.openai_client import (
    NO_KEY,
    Endpoint,
    Failure,
    RetryPolicy,
    connection_broke,
    retry_after,
    safe_url,
)

__all__ = ["NO_KEY", "OpenAIGenerator", "make_hosted_generator", "retry_after", "safe_url"]

log = logging.getLogger(__name__)

class OpenAIGenerator:
    """Streams answers from an OpenAI-compatible server (OpenAI, DashScope, Ollama, vLLM, ...)."""

    def __init__(self, model: str, base_url: str, api_key: str = "", *, timeout_s: float = 60.0,
                 connect_timeout_s: float = 5.0, max_retries: int = 3,
                 deadline_s: float | None = None, backoff_s: float = 0.5,
                 backoff_cap_s: float = 8.0, retry_after_cap_s: float = 30.0) -> None:
        if not model:
            raise GenerationError("no hosted model name: set QA_OPENAI_MODEL or pass --model")
        self.endpoint = Endpoint(base_url, api_key, timeout_s=timeout_s,
                                 connect_timeout_s=connect_timeout_s, what="hosted",
                                 key_env="QA_OPENAI_API_KEY",
                                 reply_kind="OpenAI chat-completion chunks", error=GenerationError)
        self.model, self.base_url = model, self.endpoint.base_url
        self.name = f"openai:{model}"
        self.url = self.endpoint.url  # what messages and logs show
        self.timeout_s, self.connect_timeout_s = timeout_s, connect_timeout_s
        self.policy = RetryPolicy(max(0, max_retries), backoff_s, backoff_cap_s,
                                  retry_after_cap_s)
        self.max_retries = self.policy.max_retries
        self.deadline_s = deadline_s or 2 * timeout_s + connect_timeout_s

    def __repr__(self) -> str:  # never the key
        return f"OpenAIGenerator(model={self.model!r}, base_url={self.url!r})"

    @property
    def client(self) -> Any:
        return self.endpoint.client

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
                failure = self.endpoint.classify(e, self.model)
                if failure is None:
                    raise
                cause = None if failure.hide else e
                if text:  # never retried: the caller has shown these pieces already
                    raise GenerationError(f"the answer broke off after {len(text)} characters: "
                                          f"{failure}", text) from cause
                wait, final = self.policy.decide(failure, attempt, t0, deadline)
                if final is not None:
                    raise GenerationError(final) from cause
                log.warning("%s: %s; retry %d/%d in %.1f s", self.name, failure, attempt,
                            self.max_retries, wait)
                time.sleep(wait)

    def _attempt(self, messages: Sequence[Message], max_tokens: int, temperature: float,
                 deadline: float) -> Generator[str, None, None]:
        """One request: its text pieces, or an exception for ``Endpoint.classify``."""
        resp = self.client.chat.completions.create(
            model=self.model, messages=list(messages), max_tokens=max_tokens,
            temperature=temperature, stream=True, timeout=self.endpoint.timeout(deadline))
        cut = threading.Event()
        timer = threading.Timer(max(0.0, deadline - time.monotonic()), _cut_off, (resp, cut))
        timer.daemon = True
        timer.start()
        finished, odd, got_text = False, 0, False
        too_late = Failure(f"{self.url} gave no complete answer within the "
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
            if not (finished and connection_broke(e)):  # a hang-up after finish_reason is
                raise                                      # the end of a complete answer
            log.debug("%s closed the connection after the last chunk (%s)", self.url, e)
        finally:
            timer.cancel()
            resp.close()
        if cut.is_set():
            raise too_late
        if not finished:
            ctype = resp.response.headers.get("content-type", "")
            if "event-stream" not in ctype or (odd and not got_text):
                raise Failure(f"malformed reply from {self.url}: not OpenAI chat-completion "
                              f"chunks ({ctype or 'no content type'}, {odd} event(s) without "
                              "'choices')")
            raise Failure(f"the stream from {self.url} ended before the answer was complete "
                          "(no finish_reason)", retryable=True)


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
