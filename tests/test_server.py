"""qa serve on a real uvicorn on 127.0.0.1 (fake embedder and generators): every REST endpoint,
the key rules, body limits, 422s, streaming order, the answer queue (503 + Retry-After), a client
leaving mid-stream, and 20 concurrent clients each getting their own answer."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
import uvicorn
from hosted_servers import free_port

from qa.assistant import Assistant
from qa.errors import QAError
from qa.server import ServerConfig, create_app
from qa.server.security import KeyCheck

pytestmark = pytest.mark.server

KEY = "test-key-0123456789"
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
         "sierra", "tango"]


class LiveServer:
    """``app`` served by a real uvicorn in a daemon thread; ``url`` is its base address."""

    def __init__(self, app: Any, host: str = "127.0.0.1") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@contextlib.contextmanager
def live(assistant: Assistant, **config: Any) -> Iterator[LiveServer]:
    config.setdefault("warm_up", False)
    host = config.get("host", "127.0.0.1")
    with LiveServer(create_app(assistant, config=ServerConfig(**config)), host) as srv:
        yield srv


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """(event, data) pairs of a text/event-stream."""
    event, data = "message", []
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            yield event, json.loads("\n".join(data))
            event, data = "message", []


class SlowGenerator:
    """Thread-safe: answers "<word> ... [1]." with the question's code word, one piece every
    ``delay`` seconds; records how many pieces it wrote and whether a stream was closed early."""

    def __init__(self, pieces: int = 6, delay: float = 0.01) -> None:
        self.name = "slow-generator"
        self.pieces = pieces
        self.delay = delay
        self.written = 0
        self.closed_early = threading.Event()
        self.running = 0
        self.max_running = 0
        self._lock = threading.Lock()

    def stream(self, messages: Sequence[dict], max_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        prompt = messages[-1]["content"]
        word = next((w for w in WORDS if re.search(rf"\b{w}\b", prompt)), "none")
        with self._lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        finished = False
        try:
            yield f"Alibaba {word} "
            for _ in range(self.pieces - 2):
                time.sleep(self.delay)
                with self._lock:
                    self.written += 1
                yield f"{word} "
            yield "investiert [1]."
            finished = True
        finally:
            with self._lock:
                self.running -= 1
            if not finished:
                self.closed_early.set()


@pytest.fixture
def slow_assistant(fake_assistant: Assistant) -> Assistant:
    return fake_assistant.with_generator(SlowGenerator())


# -- health, docs, answers --------------------------------------------------------------------
def test_health_ready_docs_and_models_on_loopback_without_a_key(fake_assistant) -> None:
    with live(fake_assistant, warm_up=True) as s:
        assert httpx.get(f"{s.url}/healthz").json() == {"status": "ok"}
        deadline = time.monotonic() + 10
        while (r := httpx.get(f"{s.url}/readyz")).status_code != 200:
            assert r.status_code == 503 and time.monotonic() < deadline
            time.sleep(0.05)
        ready = r.json()
        assert ready["ready"] and ready["documents"] == 5 and ready["chunks"] > 5
        assert ready["model"] == "fake-generator"
        assert "/v1/ask" in httpx.get(f"{s.url}/openapi.json").json()["paths"]
        assert "swagger" in httpx.get(f"{s.url}/docs").text.lower()
        assert [m["id"] for m in httpx.get(f"{s.url}/v1/models").json()["data"]] == ["qa"]


def test_ask_returns_the_answer_object_of_qa_ask_json(fake_assistant) -> None:
    # not a quantity question: the fake's quoted sentence need not hold a number to be an answer
    question = "Worin investiert Alibaba?"
    expected = fake_assistant.ask(question).to_dict()
    with live(fake_assistant) as s:
        r = httpx.post(f"{s.url}/v1/ask", json={"question": question}, timeout=30)
    assert r.status_code == 200, r.text
    got = r.json()
    assert set(got) == set(expected) | {"answer_id"}  # the id to rate it by (/v1/feedback)
    assert got["answer"] == expected["answer"] and got["citations"] == expected["citations"]
    assert got["citations"] and not got["abstained"]
    assert got["model"] == "fake-generator"


def test_ask_streams_retrieved_then_tokens_then_done(slow_assistant) -> None:
    question = "Worin investiert Alibaba? Stichwort golf"
    with live(slow_assistant) as s, httpx.stream(
            "POST", f"{s.url}/v1/ask", json={"question": question, "stream": True,
                                             "top_k": 2}, timeout=30) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = list(sse_events(r.iter_lines()))
    kinds = [e for e, _ in events]
    assert kinds[0] == "retrieved" and kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"token"} and len(kinds) > 3
    retrieved = events[0][1]
    assert retrieved["question"] == question and retrieved["language"] == "de"
    assert 1 <= len(retrieved["passages"]) <= 2
    p = retrieved["passages"][0]
    assert p["n"] == 1 and p["source"].endswith(".txt") and p["text"]
    assert p["hit"]["chunk"]["chunk_id"] and "text" not in p["hit"]["chunk"]
    assert retrieved["hits"] and "score" in retrieved["hits"][0]
    streamed = "".join(d["text"] for e, d in events if e == "token")
    assert "golf" in streamed
    done = events[-1][1]
    assert "golf" in done["answer"] and done["citations"][0]["n"] == 1


def test_search_ranks_passages_with_scores(fake_assistant) -> None:
    with live(fake_assistant) as s:
        r = httpx.post(f"{s.url}/v1/search", json={"question": "Qwen3-Max Parameter",
                                                   "top_k": 5})
    assert r.status_code == 200
    body = r.json()
    hits = body["hits"]
    assert [h["rank"] for h in hits] == [1, 2, 3, 4, 5]
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert hits[0]["chunk"]["text"] and hits[0]["chunk"]["source"].endswith(".txt")
    assert body["took_s"] < 5


@pytest.mark.parametrize(("body", "message"), [
    ({}, "question: Field required"),
    ({"question": 3}, "question: Input should be a valid string"),
    ({"question": "Wer?", "top_k": 0}, "top_k: Input should be greater than or equal to 1"),
    ({"question": "Wer?", "language": "fr"}, "language: Input should be 'auto', 'de' or 'en'"),
    ({"question": "Wer?", "questoin": "x"}, "questoin: Extra inputs are not permitted"),
    ({"question": "   "}, "the question is empty"),
    ({"question": "x" * 2001}, "the question is too long"),
    ({"question": "Wer?", "history": [{"question": "a"}]}, "history.0.answer: Field required"),
])
def test_schema_errors_are_422_with_a_clear_message(fake_assistant, body, message) -> None:
    with live(fake_assistant) as s:
        for path in ("/v1/ask", "/v1/search"):
            if path == "/v1/search" and set(body) - {"question", "top_k"}:
                continue
            r = httpx.post(f"{s.url}{path}", json=body)
            assert r.status_code == 422, (path, r.text)
            assert message in r.json()["detail"] and message in r.json()["error"]["message"]


def test_malformed_json_is_422(fake_assistant) -> None:
    with live(fake_assistant) as s:
        r = httpx.post(f"{s.url}/v1/ask", content=b'{"question": ',
                       headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]


def test_request_size_limits(fake_assistant) -> None:
    with live(fake_assistant, max_request_bytes=10_000) as s:
        big = {"question": "Wer?", "history": [{"question": "x" * 6000, "answer": "y" * 6000}]}
        r = httpx.post(f"{s.url}/v1/ask", json=big)
        assert r.status_code == 413 and "too large" in r.json()["detail"]

        def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield b'{"question": "'
            for _ in range(20):
                yield b"x" * 1000
            yield b'"}'

        r = httpx.post(f"{s.url}/v1/ask", content=chunked(),
                       headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert httpx.post(f"{s.url}/v1/search", json={"question": "Cloud"}).status_code == 200


# -- documents and keys -----------------------------------------------------------------------
def test_document_changes_need_a_key_even_on_loopback(fake_assistant) -> None:
    with live(fake_assistant) as s:  # no keys configured: reading works, changing is refused
        assert len(httpx.get(f"{s.url}/v1/documents").json()["documents"]) == 5
        r = httpx.post(f"{s.url}/v1/documents", files={"files": ("neu.txt", b"Text.")})
        assert r.status_code == 403 and "QA_API_KEYS" in r.json()["detail"]
        assert httpx.delete(f"{s.url}/v1/documents/x.txt").status_code == 403
        assert httpx.post(f"{s.url}/v1/documents:rebuild").status_code == 403
    with live(fake_assistant, api_keys=(KEY, "other-key")) as s:
        assert httpx.post(f"{s.url}/v1/search", json={"question": "Cloud"}).status_code == 200
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY},
                        {"Authorization": f"Basic {KEY}"}):
            r = httpx.post(f"{s.url}/v1/documents:rebuild", headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
            assert KEY not in r.text


def test_upload_search_delete_rebuild(fake_assistant, settings) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    article = ("Der Zeppelin-Konzern eröffnet ein Werk in Friedrichshafen. Die Luftschiffe "
               "fliegen mit Helium. Der Betrieb beginnt im Frühjahr.").encode()
    with live(fake_assistant, api_keys=(KEY,)) as s:
        r = httpx.post(f"{s.url}/v1/documents", headers=auth,
                       files=[("files", ("zeppelin.txt", article, "text/plain"))])
        assert r.status_code == 201, r.text
        assert r.json()["added"] == ["zeppelin.txt"] and r.json()["chunks"] > 0
        assert (settings.corpus_dir / "zeppelin.txt").read_bytes() == article
        hits = httpx.post(f"{s.url}/v1/search", json={"question": "Zeppelin Luftschiffe "
                                                      "Friedrichshafen"}).json()["hits"]
        assert hits[0]["chunk"]["source"] == "zeppelin.txt"  # the index was reloaded
        names = [d["source"] for d in httpx.get(f"{s.url}/v1/documents").json()["documents"]]
        assert "zeppelin.txt" in names and len(names) == 6

        r = httpx.post(f"{s.url}/v1/documents", headers=auth,
                       files=[("files", ("zeppelin.txt", article, "text/plain"))])
        assert r.status_code == 422 and "exists already" in r.json()["detail"]

        r = httpx.delete(f"{s.url}/v1/documents/zeppelin.txt", headers=auth)
        assert r.status_code == 200 and r.json()["deleted"] == "zeppelin.txt"
        assert not (settings.corpus_dir / "zeppelin.txt").exists()
        assert httpx.delete(f"{s.url}/v1/documents/zeppelin.txt", headers=auth).status_code == 404
        hits = httpx.post(f"{s.url}/v1/search", json={"question": "Zeppelin"}).json()["hits"]
        assert all(h["chunk"]["source"] != "zeppelin.txt" for h in hits)

        r = httpx.post(f"{s.url}/v1/documents:rebuild", headers=auth, json={"full": False})
        assert r.status_code == 200 and r.json()["chunks"] > 0 and r.json()["skipped"] == []


@pytest.mark.parametrize(("name", "reason"), [
    ("../../etc/evil.txt", "must not contain a path"),
    ("..\\evil.txt", "must not contain a path"),
    (".hidden.txt", "must not start with '.'"),
    ("script.exe", "unsupported file type"),
    ("rechnung\u202etxt.exe.txt", "control characters"),  # right-to-left override
])
def test_uploads_with_unsafe_names_are_refused_and_nothing_changes(fake_assistant, settings,
                                                                    name, reason) -> None:
    before = sorted(p.name for p in settings.corpus_dir.iterdir())
    with live(fake_assistant, local_changes_without_key=True) as s:
        r = httpx.post(f"{s.url}/v1/documents",
                       files=[("files", ("ok.txt", b"Ein guter Text mit Inhalt.")),
                              ("files", (name, b"Inhalt.", "text/plain"))])
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["detail"].startswith("nothing was added")
        assert any(reason in x["reason"] for x in body["rejected"]), body
    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == before
    assert not (settings.corpus_dir.parent.parent / "etc").exists()


def test_upload_size_limit(fake_assistant) -> None:
    with live(fake_assistant, local_changes_without_key=True, max_upload_bytes=50_000) as s:
        r = httpx.post(f"{s.url}/v1/documents", files={"files": ("gross.txt", b"a " * 40_000)})
    assert r.status_code == 413


def test_bound_beyond_loopback_every_endpoint_needs_a_key(fake_assistant) -> None:
    with pytest.raises(QAError, match="QA_API_KEYS"):
        create_app(fake_assistant, config=ServerConfig(host="0.0.0.0", warm_up=False))
    with pytest.raises(QAError, match="127.0.0.1 only"):
        create_app(fake_assistant, config=ServerConfig(host="0.0.0.0", api_keys=(KEY,),
                                                       local_changes_without_key=True))
    with live(fake_assistant, host="0.0.0.0", api_keys=(KEY,)) as s:
        calls = [("GET", "/healthz", None), ("GET", "/readyz", None), ("GET", "/docs", None),
                 ("GET", "/openapi.json", None), ("GET", "/v1/models", None),
                 ("GET", "/v1/documents", None), ("POST", "/v1/search", {"question": "Cloud"}),
                 ("POST", "/v1/ask", {"question": "Cloud?"}),
                 ("POST", "/v1/chat/completions",
                  {"model": "qa", "messages": [{"role": "user", "content": "Cloud?"}]})]
        for method, path, body in calls:
            r = httpx.request(method, f"{s.url}{path}", json=body, timeout=30)
            assert r.status_code == 401, (path, r.status_code)
            r = httpx.request(method, f"{s.url}{path}", json=body, timeout=30,
                              headers={"Authorization": f"Bearer {KEY}"})
            assert r.status_code == 200, (path, r.status_code, r.text)


def test_keys_are_compared_in_constant_time(monkeypatch) -> None:
    import hmac

    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    check = KeyCheck(["k1", "k2", "k3"])
    assert check.valid("k1") and not check.valid("k4") and not check.valid("")
    assert len(compared) == 6  # every key, whether the first matched or none did
    assert not check.valid(None) and not KeyCheck([]).valid("k1")


# -- load -------------------------------------------------------------------------------------
def test_queue_limit_answers_503_with_retry_after(fake_assistant) -> None:
    gen = SlowGenerator(pieces=40, delay=0.05)  # ~2 s per answer
    with live(fake_assistant.with_generator(gen), queue_size=1) as s:
        results: dict[str, int] = {}

        def ask(word: str) -> None:
            r = httpx.post(f"{s.url}/v1/ask", json={"question": f"Alibaba {word}?"}, timeout=60)
            results[word] = r.status_code

        threads = [threading.Thread(target=ask, args=(w,)) for w in ("alpha", "bravo")]
        for t in threads:
            t.start()
            time.sleep(0.3)  # alpha runs, bravo waits
        t0 = time.monotonic()
        r = httpx.post(f"{s.url}/v1/ask", json={"question": "Alibaba charlie?"}, timeout=60)
        assert time.monotonic() - t0 < 1  # refused at once, not after a wait
        assert r.status_code == 503
        assert int(r.headers["retry-after"]) >= 1 and "busy" in r.json()["detail"]
        for t in threads:
            t.join(60)
        assert results == {"alpha": 200, "bravo": 200}
        assert gen.max_running == 1  # the local model answers one at a time
        r = httpx.post(f"{s.url}/v1/ask", json={"question": "Alibaba delta?"}, timeout=60)
        assert r.status_code == 200 and "delta" in r.json()["answer"]


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/ask", {"question": "Alibaba echo?", "stream": True}),
    ("/v1/ask", {"question": "Alibaba echo?"}),
    ("/v1/chat/completions", {"model": "qa", "stream": True,
                              "messages": [{"role": "user", "content": "Alibaba echo?"}]}),
    ("/v1/chat/completions", {"model": "qa",
                              "messages": [{"role": "user", "content": "Alibaba echo?"}]}),
])
def test_a_client_leaving_mid_answer_frees_its_slot(fake_assistant, path, body) -> None:
    gen = SlowGenerator(pieces=400, delay=0.05)  # 20 s if nobody stopped it
    with live(fake_assistant.with_generator(gen), queue_size=0) as s:
        sock = socket.create_connection(("127.0.0.1", s.port))
        data = json.dumps(body).encode()
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        deadline = time.monotonic() + 10
        while gen.written < 3:  # the model is writing this client's answer
            assert time.monotonic() < deadline
            time.sleep(0.02)
        r = httpx.post(f"{s.url}/v1/ask", json={"question": "Alibaba kilo?"}, timeout=30)
        assert r.status_code == 503  # the one slot is taken, no queue
        sock.close()
        assert gen.closed_early.wait(5)  # the pipeline was stopped ...
        written = gen.written
        gen.pieces = 4  # the next answer is a short one
        deadline = time.monotonic() + 5
        while (r := httpx.post(f"{s.url}/v1/ask", json={"question": "Alibaba lima?"},
                               timeout=30)).status_code == 503:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert r.status_code == 200 and "lima" in r.json()["answer"]  # ... and the slot freed
        assert written < 100


@pytest.mark.parametrize("concurrency", [1, 4])
def test_twenty_concurrent_clients_each_get_their_own_answer(fake_assistant,
                                                             concurrency) -> None:
    gen = SlowGenerator(pieces=8, delay=0.005)
    with live(fake_assistant.with_generator(gen), concurrency=concurrency, queue_size=20) as s:
        results: dict[str, tuple[str, str]] = {}
        errors: list[str] = []

        def client(word: str) -> None:
            try:
                with httpx.stream("POST", f"{s.url}/v1/ask", timeout=120,
                                  json={"question": f"Was investiert Alibaba, {word}?",
                                        "stream": True}) as r:
                    assert r.status_code == 200, r.status_code
                    events = list(sse_events(r.iter_lines()))
                streamed = "".join(d["text"] for e, d in events if e == "token")
                results[word] = (streamed, events[-1][1]["answer"])
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(f"{word}: {e!r}")

        threads = [threading.Thread(target=client, args=(w,)) for w in WORDS]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert not errors and len(results) == 20
    for word, (streamed, answer) in results.items():
        others = [w for w in WORDS if w != word]
        assert word in streamed and word in answer
        assert not any(re.search(rf"\b{w}\b", streamed + answer) for w in others), word
    assert gen.max_running == concurrency or (concurrency > 1 and gen.max_running > 1)


# -- the chat window in the same process ------------------------------------------------------
def test_serve_ui_mounts_the_chat_window_beside_the_api(settings, fake_models) -> None:
    from qa.server import build

    app = build(settings, ServerConfig(warm_up=False), ui=True)
    with LiveServer(app) as s:
        r = httpx.get(f"{s.url}/ui/", follow_redirects=True, timeout=30)
        assert r.status_code == 200 and "gradio" in r.text.lower()
        assert httpx.get(f"{s.url}/ui/config", timeout=30).status_code == 200
        r = httpx.post(f"{s.url}/v1/ask", json={"question": "Wie wuchs die Cloud?"}, timeout=30)
        assert r.status_code == 200 and r.json()["model"] == "fake-generator"


def test_serve_ui_beyond_loopback_needs_a_login(settings, fake_models) -> None:
    from qa.server import build

    settings = settings.replace(ui_users="anna:s3cret")
    app = build(settings, ServerConfig(host="0.0.0.0", api_keys=(KEY,), warm_up=False), ui=True)
    with LiveServer(app, host="0.0.0.0") as s, httpx.Client(base_url=s.url, timeout=30) as c:
        assert c.get("/ui/config").status_code == 401
        assert c.post("/ui/login", data={"username": "me", "password": "wrong"}).status_code \
            >= 400
        assert c.get("/ui/config").status_code == 401
        r = c.post("/ui/login", data={"username": "me", "password": KEY})
        assert r.status_code < 400, r.text
        assert c.get("/ui/config").status_code == 200
        assert c.get("/v1/models").status_code == 401  # the API wants the bearer key itself
    with LiveServer(app, host="0.0.0.0") as s, httpx.Client(base_url=s.url, timeout=30) as c:
        assert c.post("/ui/login", data={"username": "anna", "password": KEY + "x"}
                      ).status_code >= 400
        assert c.post("/ui/login", data={"username": "anna", "password": "s3cret"}
                      ).status_code < 400  # a chat-window user (QA_UI_USERS) works too
        assert c.get("/ui/config").status_code == 200


def test_answer_slots_serve_in_arrival_order_and_a_cancelled_waiter_leaves() -> None:
    from qa.server.answers import AnswerSlots, Busy

    slots = AnswerSlots(concurrency=1, queue_size=3)
    first = slots.admit()
    assert first.wait_for_slot()
    waiters = [slots.admit() for _ in range(3)]
    with pytest.raises(Busy):
        slots.admit()
    order: list[int] = []

    def wait(i: int) -> None:
        if waiters[i].wait_for_slot():
            order.append(i)
            time.sleep(0.02)
            waiters[i].release(0.02)

    threads = [threading.Thread(target=wait, args=(i,)) for i in (2, 1, 0)]
    for t in threads:  # started in reverse order: the order of admission still wins
        t.start()
    waiters[1].cancel.set()  # this one's client left while waiting
    time.sleep(0.2)
    assert slots.admitted == 3  # first runs, 0 and 2 wait, 1 has left
    first.release(1.0)
    for t in threads:
        t.join(5)
    assert order == [0, 2] and slots.admitted == 0


def test_serve_watch_indexes_a_new_file_and_the_server_answers_from_it(
        settings, fake_models, monkeypatch) -> None:
    """`qa serve --watch`: the folder is followed beside the server; an added file is indexed
    once it settles (a line per file, then the ingest's summary, through the server's print
    lock) and the running server searches it at its next request."""
    from qa.cli.serving import _follow_in_background
    from qa.ingest.pipeline import ingest
    from qa.server import build
    from qa.testing import FakeEmbedder

    ingest(settings, embedder=FakeEmbedder())
    said: list[str] = []
    monkeypatch.setattr("qa.generators.llamacpp.say", said.append)
    stop = threading.Event()
    app = build(settings, ServerConfig(warm_up=False))
    with LiveServer(app) as s:
        thread = _follow_in_background(settings, 0.1, stop)
        try:
            _wait(lambda: any(line.startswith("watching ") for line in said))
            (settings.corpus_dir / "zeppelin.txt").write_text(
                "Die Zeppelin-Werft in Friedrichshafen baut ein neues Luftschiff.", encoding="utf-8")
            _wait(lambda: any("indexed 1 new" in line for line in said))
            assert "+ zeppelin.txt" in said
            r = httpx.post(f"{s.url}/v1/search", json={"question": "Zeppelin Luftschiff",
                                                       "top_k": 10}, timeout=30)
            assert r.status_code == 200
            assert "zeppelin.txt" in [h["chunk"]["source"] for h in r.json()["hits"]]
        finally:
            stop.set()
            thread.join(timeout=10)
    assert not thread.is_alive()


def _wait(ok: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not ok():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
