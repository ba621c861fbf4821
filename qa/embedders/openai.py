"""Embeddings from a server: any OpenAI-compatible ``/v1/embeddings`` endpoint.

text-embeddings-inference, vLLM, Infinity, llama.cpp's server and OpenAI itself all answer
``POST {base_url}/embeddings`` with ``{"data": [{"index": i, "embedding": [...]}, ...]}``.

Design: texts are prefixed like the in-process embedder does ("query: " / "passage: " for e5),
split into requests of at most ``batch_size`` texts, spread evenly over up to ``concurrency``
requests in flight (threads; the SDK's client is thread-safe), so that even a short call keeps a
server with dynamic batching busy. Each request goes through ``qa.openai_client``, the same client,
error messages and retry policy (``Retry-After``, backoff, one deadline) as the hosted chat
backend. The client does not trust the server: rows are put back in input order by their
``index``, counted, checked for one dimension (the one in settings or of the first reply), for
NaN/inf and zero rows, and L2-normalised here (servers differ in whether they normalise).

Price: a malformed reply is never retried (a server that sends garbage sends it again), and one
failed request fails the whole call (requests already in flight finish in the background, bounded
by their deadline); the dimension of an unconfigured model costs one probe request when it is
asked for before any text was embedded.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from qa.embedders import DEFAULT_EMBED_MODEL, Kind
from qa.errors import ModelError
from qa.openai_client import Endpoint, Failure, RetryPolicy, call_with_retries

log = logging.getLogger(__name__)

KNOWN_DIMS = {DEFAULT_EMBED_MODEL: 384}


class OpenAIEmbedder:
    """Vectors from an OpenAI-compatible embeddings server; float32, L2-normalised, input order."""

    def __init__(self, model: str, base_url: str, api_key: str = "", *,
                 query_prefix: str = "query: ", passage_prefix: str = "passage: ",
                 dim: int | None = None, dim_source: str = "the dimension given",
                 batch_size: int = 16, concurrency: int = 4,
                 timeout_s: float = 60.0, connect_timeout_s: float = 5.0, max_retries: int = 3,
                 deadline_s: float | None = None, backoff_s: float = 0.5,
                 backoff_cap_s: float = 8.0, retry_after_cap_s: float = 30.0) -> None:
        if not model:
            raise ModelError("no embedding model name: set QA_EMBED_MODEL")
        self.endpoint = Endpoint(base_url, api_key, timeout_s=timeout_s,
                                 connect_timeout_s=min(connect_timeout_s, timeout_s),
                                 what="embeddings", key_env="QA_EMBED_API_KEY",
                                 reply_kind="an OpenAI embeddings reply",
                                 example="http://127.0.0.1:8080/v1")
        self.model = model
        self.name = f"openai:{model}"
        self.url = self.endpoint.url
        self.prefixes = {"query": query_prefix, "passage": passage_prefix}
        self.batch_size, self.concurrency = max(1, batch_size), max(1, concurrency)
        self.policy = RetryPolicy(max(0, max_retries), backoff_s, backoff_cap_s,
                                  retry_after_cap_s)
        self.deadline_s = deadline_s or 2 * timeout_s + connect_timeout_s
        self._dim = dim or None
        self._dim_from = dim_source if dim else ""
        self._lock = threading.Lock()
        self.requests = 0  # sent, retries included: for tests and figures

    def __repr__(self) -> str:  # never the key
        return f"OpenAIEmbedder(model={self.model!r}, base_url={self.url!r})"

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.embed(["dimension probe"], "query")
        assert self._dim is not None
        return self._dim

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefix = self.prefixes[kind]
        # an empty input is an error for OpenAI and TEI; a space embeds the same "nothing"
        inputs = [prefix + t or " " for t in texts]
        size = min(self.batch_size, math.ceil(len(inputs) / self.concurrency))
        parts = [inputs[i:i + size] for i in range(0, len(inputs), size)]
        if len(parts) == 1:
            return self._request(parts[0])
        pool = ThreadPoolExecutor(min(self.concurrency, len(parts)),
                                  thread_name_prefix="qa-embed")
        try:
            futures = [pool.submit(self._request, p) for p in parts]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for f in futures:  # the first failure in input order, when there is one
                if f in done and f.exception() is not None:
                    raise f.exception()  # type: ignore[misc]
            return np.vstack([f.result() for f in futures])
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _request(self, batch: list[str]) -> np.ndarray:
        """One batch through the retry loop: its rows, checked and normalised."""
        self.endpoint.client  # noqa: B018 - import the SDK before the deadline clock starts
        try:
            vectors = call_with_retries(lambda deadline: self._attempt(batch, deadline),
                                        self.endpoint, self.model, self.policy, self.deadline_s,
                                        self.name)
        except ModelError as e:
            hint = ("; send fewer texts per request (embed_batch_size)"
                    if "HTTP 413" in str(e) else "")
            raise ModelError(f"cannot embed with {self.model!r}: {e}{hint}") from e.__cause__
        with self._lock:
            if self._dim is None:
                self._dim, self._dim_from = vectors.shape[1], "its first reply"
                log.info("%s at %s: %d-dimensional vectors", self.model, self.url, self._dim)
        if vectors.shape[1] != self._dim:
            raise ModelError(f"cannot embed with {self.model!r}: {self.url} sent "
                             f"{vectors.shape[1]}-dimensional vectors, expected {self._dim} "
                             f"({self._dim_from}); is another model served under that name?")
        return vectors

    def _attempt(self, batch: list[str], deadline: float) -> np.ndarray:
        with self._lock:
            self.requests += 1
        raw = self.endpoint.client.embeddings.with_raw_response.create(
            model=self.model, input=batch, encoding_format="float",
            timeout=self.endpoint.timeout(deadline))
        response = raw.http_response
        return self._parse(response.content, response.headers.get("content-type", ""),
                           len(batch))

    def _parse(self, body: bytes, ctype: str, n: int) -> np.ndarray:
        """Rows of ``body`` in input order, L2-normalised; ``Failure`` for anything odd."""
        url = self.url

        def bad(why: str) -> Failure:
            return Failure(f"malformed reply from {url}: {why}")

        try:
            obj: Any = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return_text = self.endpoint.clean(body[:80].decode("utf-8", "replace"), 80)
            raise bad(f"not JSON ({ctype or 'no content type'}: {return_text!r})") from None
        if isinstance(obj, dict) and isinstance(obj.get("error"), dict | str):
            err = obj["error"]
            raise Failure(f"{url} reported an error: "
                          f"{self.endpoint.clean(err.get('message', err) if isinstance(err, dict) else err)}")
        data = obj.get("data") if isinstance(obj, dict) else None
        if not isinstance(data, list):
            raise bad("not an OpenAI embeddings reply (no 'data' list)")
        if len(data) != n:
            raise bad(f"{len(data)} embeddings for {n} texts")
        rows: list[Any] = [None] * n
        for pos, item in enumerate(data):
            if not isinstance(item, dict):
                raise bad(f"item {pos} of 'data' is not an object")
            index = item.get("index", pos)
            if not isinstance(index, int) or not 0 <= index < n or rows[index] is not None:
                raise bad(f"item {pos} has index {index!r}: not one of 0..{n - 1} once each")
            rows[index] = _vector(item.get("embedding"), pos, bad)
        dims = sorted({len(r) for r in rows})
        if len(dims) > 1:
            raise bad(f"vectors of varying dimension ({', '.join(map(str, dims))}) in one reply")
        if dims[0] == 0:
            raise bad("empty vectors")
        vectors = np.asarray(rows, dtype=np.float64)
        if not np.isfinite(vectors).all():
            raise bad("NaN or infinite values in the vectors")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if (norms == 0).any():
            raise bad("a vector of zeros")
        return (vectors / norms).astype(np.float32)


def _vector(value: Any, pos: int, bad: Any) -> list[float] | np.ndarray:
    """One ``embedding`` value: a list of numbers, or base64 float32 from servers that send
    that whatever ``encoding_format`` says."""
    if isinstance(value, str):
        try:
            return np.frombuffer(base64.b64decode(value, validate=True), dtype="<f4")
        except ValueError:
            raise bad(f"item {pos}: 'embedding' is neither numbers nor base64") from None
    if not isinstance(value, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in value):
        raise bad(f"item {pos}: 'embedding' is not a list of numbers")
    return value


def make_openai_embedder(settings: Any) -> OpenAIEmbedder:
    """The server embedder described by ``settings`` (registry name ``openai``)."""
    known = KNOWN_DIMS.get(settings.embed_model)
    source = ("embed_dim" if settings.embed_dim else
              f"{settings.embed_model} has {known} dimensions; set embed_dim for another")
    return OpenAIEmbedder(
        settings.embed_model, settings.embed_base_url, settings.embed_api_key,
        query_prefix=settings.query_prefix, passage_prefix=settings.passage_prefix,
        dim=settings.embed_dim or known, dim_source=source,
        batch_size=settings.embed_batch_size, concurrency=settings.embed_concurrency,
        timeout_s=settings.embed_timeout_s, max_retries=settings.embed_max_retries)
