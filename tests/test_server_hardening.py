"""Issue 24 at the HTTP edge, against a real uvicorn on 127.0.0.1 (fake embedder and generator):
lone surrogates, empty and short keys, documents in subfolders, NUL uploads, the Host check
against DNS rebinding, same-origin document changes without a key, nosniff, strict booleans,
503 for a stopped database, and no server paths in error bodies."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from test_server import KEY, live

from qa.assistant import Assistant
from qa.cli import main
from qa.config import Settings
from qa.errors import QAError, StoreUnavailableError
from qa.ingest.pipeline import ingest
from qa.server.security import KeyCheck
from qa.testing import FakeEmbedder, FakeGenerator

pytestmark = pytest.mark.server
AUTH = {"Authorization": f"Bearer {KEY}"}


def _one_line_error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    message = r.json()["detail"]
    assert "\n" not in message and "Traceback" not in r.text
    return message


# -- 5: lone surrogates ------------------------------------------------------------------------

def test_lone_surrogates_are_422_not_500(fake_assistant: Assistant) -> None:
    with live(fake_assistant) as s:
        for path, body in [
                ("/v1/search", '{"question": "\\ud800"}'),
                ("/v1/search", '{"question": "Wie w\\u00e4chst die Cloud? \\ud800"}'),
                ("/v1/ask", '{"question": "Cloud?", "history": [{"question": "a\\udfff", '
                            '"answer": "b"}]}')]:
            r = httpx.post(f"{s.url}{path}", content=body,
                           headers={"content-type": "application/json"})
            assert r.status_code == 422, (path, body, r.text)
            assert "not valid Unicode" in r.json()["detail"] or "empty" in r.json()["detail"]
        r = httpx.post(f"{s.url}/v1/search", json={"question": "Wie wächst die Cloud?"})
        assert r.status_code == 200 and r.json()["hits"]


# -- 9: an empty key is no key; short keys off loopback ----------------------------------------

def test_an_empty_or_short_key_does_not_open_a_public_server(
        settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for keys in ([""], ["   "], ["short-key"]):
        with pytest.raises(QAError, match="QA_API_KEYS|shorter than 16"):
            KeyCheck(keys, "0.0.0.0")
    KeyCheck(["a-long-enough-key-0123"], "0.0.0.0")
    KeyCheck(["short"], "127.0.0.1")  # on loopback a short key is the operator's affair
    monkeypatch.setenv("QA_CONFIG", "")
    monkeypatch.delenv("QA_API_KEYS", raising=False)

    def no_model(*a: object, **kw: object) -> None:
        raise AssertionError("loaded the index before refusing the key")

    monkeypatch.setattr("qa.assistant.Assistant.load", no_model)
    assert main(["serve", "--host", "0.0.0.0", "--port", "1", "--api-key", "",
                 "--index-dir", str(settings.index_dir)]) == 2
    err = capsys.readouterr().err
    assert "reachable from other machines" in err and len(err.strip().splitlines()) == 1


# -- 10: documents in subfolders ---------------------------------------------------------------

def test_a_document_in_a_subfolder_can_be_deleted(settings: Settings) -> None:
    sub = settings.corpus_dir / "sub"
    sub.mkdir()
    (sub / "nested.txt").write_text("Ein Artikel im Unterordner über Rechenzentren in Island.")
    (sub / "other.txt").write_text("Noch ein Artikel im Unterordner über Chips aus Hangzhou.")
    embedder = FakeEmbedder()
    ingest(settings, embedder=embedder)
    assistant = Assistant.load(settings, embedder=embedder, generator=FakeGenerator())
    with live(assistant, api_keys=(KEY,)) as s:
        listed = {d["source"] for d in httpx.get(f"{s.url}/v1/documents").json()["documents"]}
        assert {"sub/nested.txt", "sub/other.txt"} <= listed
        for path in ("sub%2Fnested.txt", "sub/other.txt"):
            r = httpx.delete(f"{s.url}/v1/documents/{path}", headers=AUTH)
            assert r.status_code == 200, (path, r.text)
        listed = {d["source"] for d in httpx.get(f"{s.url}/v1/documents").json()["documents"]}
        assert not {"sub/nested.txt", "sub/other.txt"} & listed and len(listed) == 5
        r = httpx.delete(f"{s.url}/v1/documents/sub/missing.txt", headers=AUTH)
        assert _one_line_error(r, 404).startswith("no document named")
    assert not (sub / "nested.txt").exists() and not (sub / "other.txt").exists()


# -- 4 at the API: a NUL byte after 8 KB -------------------------------------------------------

def test_an_upload_with_a_nul_byte_after_8kb_is_refused_with_its_reason(
        fake_assistant: Assistant) -> None:
    body = "Ein Satz über Rechenzentren. ".encode() * 400 + b"\x00 Ende."
    with live(fake_assistant, api_keys=(KEY,)) as s:
        r = httpx.post(f"{s.url}/v1/documents", headers=AUTH,
                       files=[("files", ("nul.txt", body, "text/plain"))])
        assert "NUL byte" in _one_line_error(r, 422)
        assert len(httpx.get(f"{s.url}/v1/documents").json()["documents"]) == 5


# -- the Host check, same-origin changes, nosniff ----------------------------------------------

def test_dns_rebinding_host_names_are_refused_on_loopback(fake_assistant: Assistant) -> None:
    with live(fake_assistant, allowed_hosts=("qa.internal",)) as s:
        for host in ("evil.example", f"evil.example:{s.port}", "127.0.0.1.nip.io"):
            r = httpx.get(f"{s.url}/v1/documents", headers={"Host": host})
            assert "is not served here" in _one_line_error(r, 400)
        for host in (f"localhost:{s.port}", f"127.0.0.1:{s.port}", "[::1]", "QA.internal:80"):
            assert httpx.get(f"{s.url}/v1/documents", headers={"Host": host}).status_code == 200


def test_document_changes_without_a_key_must_be_same_origin(fake_assistant: Assistant) -> None:
    article = b"Der Zeppelin-Konzern baut ein Werk in Friedrichshafen. Es beginnt im Mai."
    with live(fake_assistant, local_changes_without_key=True) as s:
        for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                        {"Sec-Fetch-Site": "cross-site"}):
            r = httpx.post(f"{s.url}/v1/documents", headers=headers,
                           files=[("files", ("evil.txt", article, "text/plain"))])
            assert "own origin" in _one_line_error(r, 403)
            r = httpx.post(f"{s.url}/v1/documents:rebuild", headers=headers)
            assert r.status_code == 403
        names = {d["source"] for d in httpx.get(f"{s.url}/v1/documents").json()["documents"]}
        assert "evil.txt" not in names
        r = httpx.post(f"{s.url}/v1/documents", headers={"Origin": s.url},
                       files=[("files", ("same.txt", article, "text/plain"))])
        assert r.status_code == 201, r.text
        r = httpx.post(f"{s.url}/v1/documents",  # a client that is not a browser
                       files=[("files", ("cli.txt", article, "text/plain"))])
        assert r.status_code == 201, r.text


def test_every_response_says_nosniff(fake_assistant: Assistant) -> None:
    with live(fake_assistant, api_keys=(KEY,)) as s:
        for r in (httpx.get(f"{s.url}/healthz"), httpx.get(f"{s.url}/v1/documents"),
                  httpx.post(f"{s.url}/v1/documents:rebuild"),  # 401 from the key gate
                  httpx.post(f"{s.url}/v1/search", json={"question": 1}),
                  httpx.post(f"{s.url}/v1/search", content=b"x" * (2 << 20))):  # 413
            assert r.headers.get("x-content-type-options") == "nosniff", r.status_code


# -- strict booleans ---------------------------------------------------------------------------

def test_booleans_and_numbers_are_not_coerced(fake_assistant: Assistant) -> None:
    with live(fake_assistant) as s:
        for path, body in [("/v1/ask", {"question": "Cloud?", "stream": "yes"}),
                           ("/v1/ask", {"question": "Cloud?", "stream": 1}),
                           ("/v1/ask", {"question": "Cloud?", "top_k": True}),
                           ("/v1/search", {"question": "Cloud?", "top_k": "3"}),
                           ("/v1/chat/completions",
                            {"messages": [{"role": "user", "content": "Cloud?"}],
                             "stream": "yes"})]:
            r = httpx.post(f"{s.url}{path}", json=body)
            assert r.status_code == 422, (path, body, r.text)
        r = httpx.post(f"{s.url}/v1/search", json={"question": "Cloud?", "top_k": 3})
        assert r.status_code == 200 and len(r.json()["hits"]) == 3


# -- a stopped database; no server paths in error bodies ---------------------------------------

def test_a_stopped_database_is_503_with_retry_after(fake_assistant: Assistant,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*a: object, **kw: object) -> None:  # what PostgresBackend raises when it stopped
        raise StoreUnavailableError("PostgreSQL at postgresql://qa@db/qa cannot be reached "
                                    "(connection refused); start it")

    monkeypatch.setattr(fake_assistant, "retrieve", down)
    with live(fake_assistant) as s:
        r = httpx.post(f"{s.url}/v1/search", json={"question": "Cloud?"})
        assert "cannot be reached" in _one_line_error(r, 503)
        assert r.headers["retry-after"] == "10"


def test_error_bodies_hold_no_server_paths(fake_assistant: Assistant, settings: Settings,
                                           tmp_path: Path) -> None:
    shutil.rmtree(settings.corpus_dir)  # a rebuild of a folder that is gone
    settings.corpus_dir.mkdir()
    (settings.corpus_dir / "empty.txt").write_bytes(b"")
    with live(fake_assistant, api_keys=(KEY,)) as s:
        r = httpx.post(f"{s.url}/v1/documents:rebuild", headers=AUTH)
        message = _one_line_error(r, 500)
        assert "no readable articles" in message
        assert str(tmp_path) not in r.text and "…/articles" in message


# -- connections whose body never finishes -----------------------------------------------------

def test_a_body_that_never_finishes_is_408_and_the_connection_freed(
        fake_assistant: Assistant) -> None:
    import socket
    import time

    with live(fake_assistant, body_timeout_s=1.0) as s:
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as sock:
            sock.sendall(b"POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                         b"application/json\r\nContent-Length: 100\r\n\r\n{\"question\": ")
            t0 = time.monotonic()
            reply = b""
            while b"within" not in reply and (part := sock.recv(4096)):
                reply += part
            reply = reply.decode()
            assert reply.startswith("HTTP/1.1 408"), reply
            assert time.monotonic() - t0 < 5 and "not received within 1 s" in reply
        r = httpx.post(f"{s.url}/v1/search", json={"question": "Cloud?"})  # others go on
        assert r.status_code == 200


# -- a running server notices a version written by qa ingest -----------------------------------

def test_a_running_server_answers_from_the_version_a_cli_ingest_wrote(
        fake_assistant: Assistant, settings: Settings) -> None:
    import time

    question = {"question": "Wo steht das Zeppelinwerk Friedrichshafen?", "top_k": 1}
    with live(fake_assistant) as s:
        first = httpx.post(f"{s.url}/v1/search", json=question).json()["hits"]
        assert first[0]["chunk"]["source"] != "zeppelin.txt"
        (settings.corpus_dir / "zeppelin.txt").write_text(
            "Das Zeppelinwerk Friedrichshafen steht am Bodensee. Es baut Luftschiffe.")
        report, _ = ingest(settings, embedder=FakeEmbedder())  # as another process would
        assert report.added == ["zeppelin.txt"]
        time.sleep(1.1)  # the server looks once a second
        hits = httpx.post(f"{s.url}/v1/search", json=question).json()["hits"]
        assert hits[0]["chunk"]["source"] == "zeppelin.txt"
