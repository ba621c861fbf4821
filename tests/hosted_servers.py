"""Tiny real OpenAI-compatible HTTP servers for the hosted-backend tests (no HTTP mocks).

``ScriptedServer(*script)`` listens on 127.0.0.1:<random port> in daemon threads and answers each
``POST /v1/chat/completions`` with the next behaviour of ``script`` (the last one repeats);
``GET /v1/models`` lists ``models``. Behaviours are functions of the request handler, made by
``sse``, ``status``, ``stall`` and ``raw``. Every request is recorded in ``requests``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Behaviour = Callable[["_Handler"], None]


class Headers(dict):
    """A request's headers as received, looked up without regard to case, as HTTP defines them
    (one client sends ``Authorization``, another ``authorization``)."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__((k.lower(), v) for k, v in items)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(name.lower(), default)

def free_port() -> int:
    """A port nothing listens on (bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chunk(content: str | None = None, finish: str | None = None, model: str = "m") -> dict:
    delta = {} if content is None else {"role": "assistant", "content": content}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def sse(pieces: Sequence[str] = ("Alibaba ", "invests ", "heavily ", "[1]."),
        drop_after: int | None = None, delay: float = 0.0, done: bool = True,
        finish: bool = True, comments_for: float = 0.0, hangup: bool = False) -> Behaviour:
    """200 with an SSE stream of ``pieces``; ``drop_after=n`` closes the socket after n chunks
    (mid chunked body); ``comments_for`` sends only ``: keep-alive`` comments for that long;
    ``hangup`` closes the socket after the last event instead of ending the body properly."""
    def run(h: _Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        end = time.monotonic() + comments_for
        while time.monotonic() < end and not h.server.stopping.is_set():
            h.write_chunk(b": keep-alive\n\n")
            time.sleep(0.1)
        for i, piece in enumerate(pieces):
            if drop_after is not None and i == drop_after:
                h.drop()
                return
            h.write_chunk(b"data: " + json.dumps(chunk(piece)).encode() + b"\n\n")
            if delay:
                time.sleep(delay)
        if finish:
            h.write_chunk(b"data: " + json.dumps(chunk(None, "stop")).encode() + b"\n\n")
        if done:
            h.write_chunk(b"data: [DONE]\n\n")
        if hangup:
            h.drop()
        else:
            h.write_chunk(b"")
    return run


def status(code: int, message: str = "error", code_name: str | None = None,
           headers: dict[str, str] | None = None) -> Behaviour:
    """``code`` with an OpenAI-style ``{"error": {...}}`` body."""
    def run(h: _Handler) -> None:
        h.send_json(code, {"error": {"message": message, "type": "error", "code": code_name}},
                    headers)
    return run


def stall(seconds: float) -> Behaviour:
    """Read the request, then say nothing for ``seconds`` (or until the server stops)."""
    def run(h: _Handler) -> None:
        h.server.stopping.wait(seconds)
        h.drop()
    return run


def raw(body: bytes, content_type: str = "text/event-stream") -> Behaviour:
    def run(h: _Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
    return run


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def send_json(self, code: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def drop(self) -> None:
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "test"}
                for m in self.server.models]})
        else:
            self.send_json(404, {"error": {"message": f"no route {self.path}"}})

    route = "/v1/chat/completions"  # the one POST route; the embeddings fake serves another

    def respond(self, behaviour: Any, body: dict[str, Any]) -> None:
        behaviour(self)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        s = self.server
        with s.lock:
            s.requests.append({"path": self.path, "headers": Headers(self.headers.items()), "body": body,
                               "t": time.monotonic()})
            behaviour = s.script[min(len(s.requests) - 1, len(s.script) - 1)]
            s.in_flight += 1
            s.max_in_flight = max(s.max_in_flight, s.in_flight)
        # a request stops counting as in flight before its response is sent: once the client
        # has the response it may send the next request at once, before this thread got back
        if s.delay:
            time.sleep(s.delay)
        with s.lock:
            s.in_flight -= 1
        try:
            if self.path != self.route:
                self.send_json(404, {"error": {"message": f"no route {self.path}"}})
                return
            self.respond(behaviour, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    """A fake OpenAI-compatible server answering its route by the next behaviour of
    ``script`` (the last repeats); ``handler`` picks the route (chat by default)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, script: Sequence[Any], models: Sequence[str],
                 handler: type[_Handler] = _Handler, delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.script, self.models, self.delay = list(script), list(models), delay
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.in_flight = self.max_in_flight = 0

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up (as the tests make them) are not errors here


class ScriptedServer:
    def __init__(self, *script: Behaviour, models: Sequence[str] = ("m", "qwen-plus")) -> None:
        self._server = _Server(script or [sse()], models)
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self._server.requests

    def close(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
