"""The hosted backend against real sockets: tiny scripted servers on 127.0.0.1 (no HTTP mocks).

Unit tier: no model, every test well under a few seconds; a faulthandler guard kills the run
(with tracebacks) instead of letting a hang block CI.
"""

from __future__ import annotations

import email.utils
import faulthandler
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hosted_servers import ScriptedServer, free_port, raw, sse, stall, status

from qa.assistant import Assistant
from qa.composition import make_generator
from qa.config import Settings
from qa.errors import GenerationError
from qa.generators.openai import OpenAIGenerator, make_hosted_generator, retry_after
from qa.ingest.pipeline import ingest
from qa.retrieval import HybridRetriever
from qa.stores.base import IndexConfig
from qa.stores.faiss import load_index
from qa.testing import FakeEmbedder, FakeGenerator

KEY = "sk-test-SECRET123"
MESSAGES = [{"role": "system", "content": "Answer from the passages."},
            {"role": "user", "content": "How much will Alibaba invest?"}]


@pytest.fixture(autouse=True)
def no_hang():
    faulthandler.dump_traceback_later(60, exit=True)  # a hung test kills the run, loudly
    yield
    faulthandler.cancel_dump_traceback_later()


def gen(base_url: str, **kw: object) -> OpenAIGenerator:
    opts: dict = {"timeout_s": 1.0, "connect_timeout_s": 0.5, "max_retries": 2,
                  "backoff_s": 0.05, "deadline_s": 10.0, **kw}  # slack for a loaded CI machine
    model = opts.pop("model", "m")
    key = opts.pop("key", KEY)
    return OpenAIGenerator(model, base_url, key, **opts)


def fails(g: OpenAIGenerator) -> tuple[GenerationError, float]:
    t0 = time.monotonic()
    with pytest.raises(GenerationError) as info:
        list(g.stream(MESSAGES, max_tokens=50))
    return info.value, time.monotonic() - t0


# -- happy path and the request contract ------------------------------------------------------
def test_streams_pieces_and_sends_an_openai_request():
    with ScriptedServer(sse()) as s:
        pieces = list(gen(s.base_url).stream(MESSAGES, max_tokens=50, temperature=0.0))
        req = s.requests[0]
    assert pieces == ["Alibaba ", "invests ", "heavily ", "[1]."]
    assert req["path"] == "/v1/chat/completions"
    assert req["body"]["model"] == "m" and req["body"]["stream"] is True
    assert req["body"]["messages"] == MESSAGES and req["body"]["max_tokens"] == 50
    assert req["headers"]["Authorization"] == f"Bearer {KEY}"


def test_settings_env_and_make_generator_build_it_without_leaking_the_key(tmp_path):
    env = {"QA_CONFIG": "", "QA_BACKEND": "openai",
           "QA_OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "QA_OPENAI_API_KEY": KEY,
           "QA_OPENAI_MODEL": "qwen-plus", "QA_OPENAI_TIMEOUT_S": "7"}
    settings = Settings.load(env=env)
    g = make_generator(settings)
    assert isinstance(g, OpenAIGenerator) and g.name == "openai:qwen-plus"
    assert g.base_url == "http://127.0.0.1:9/v1" and g.timeout_s == 7.0
    assert isinstance(make_hosted_generator(settings), OpenAIGenerator)
    for text in (repr(g), repr(settings), str(settings.public_dict())):
        assert KEY not in text


def test_base_url_credentials_never_shown():
    g = OpenAIGenerator("m", "https://user:pw@example.invalid/v1?token=x", KEY)
    assert g.url == "https://example.invalid/v1" and "pw" not in repr(g)
    with pytest.raises(GenerationError, match="http:// or https://"):
        OpenAIGenerator("m", "127.0.0.1:11434/v1")


def test_import_stays_light():
    code = "import qa.generators.openai, sys; print('openai' in sys.modules, 'httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# -- retries: before the first token only -----------------------------------------------------
def test_connection_refused_is_a_clear_error_fast():
    port = free_port()
    err, elapsed = fails(gen(f"http://127.0.0.1:{port}/v1"))
    assert f"cannot connect to http://127.0.0.1:{port}/v1" in str(err)
    assert "3 attempts" in str(err) and err.partial == ""
    assert elapsed < 2.0


def test_500_then_200_succeeds_after_a_retry():
    with ScriptedServer(status(500, "boom"), sse()) as s:
        assert "".join(gen(s.base_url).stream(MESSAGES)) == "Alibaba invests heavily [1]."
        assert len(s.requests) == 2


def test_429_retry_after_seconds_is_honoured():
    with ScriptedServer(status(429, "slow down", headers={"Retry-After": "1"}), sse()) as s:
        t0 = time.monotonic()
        assert "".join(gen(s.base_url).stream(MESSAGES)).endswith("[1].")
        elapsed = time.monotonic() - t0
        gap = s.requests[1]["t"] - s.requests[0]["t"]
    assert elapsed >= 0.9 and gap >= 0.9 and elapsed < 3


def test_429_retry_after_http_date_is_honoured():
    when = email.utils.formatdate(time.time() + 2, usegmt=True)  # whole seconds: waits 1-2 s
    with ScriptedServer(status(429, headers={"Retry-After": when}), sse()) as s:
        assert "".join(gen(s.base_url).stream(MESSAGES))
        gap = s.requests[1]["t"] - s.requests[0]["t"]
    assert 0.9 <= gap < 3


def test_retry_after_is_capped():
    with ScriptedServer(status(503, headers={"Retry-After": "3600"}), sse()) as s:
        t0 = time.monotonic()
        assert "".join(gen(s.base_url, retry_after_cap_s=0.3).stream(MESSAGES))
        assert 0.25 <= time.monotonic() - t0 < 2


def test_backoff_grows_and_retries_are_bounded():
    with ScriptedServer(status(502, "bad gateway")) as s:
        err, _ = fails(gen(s.base_url, max_retries=3, backoff_s=0.2))
        t = [r["t"] for r in s.requests]
    assert len(t) == 4 and "HTTP 502" in str(err) and "4 attempts" in str(err)
    gaps = [b - a for a, b in zip(t, t[1:], strict=False)]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4  # base * 2**n, jitter 0.5-1


def test_retry_after_parsing():
    assert retry_after({"retry-after": "2"}, 30) == 2
    assert retry_after({"retry-after": "120"}, 30) == 30
    assert retry_after({"retry-after-ms": "250"}, 30) == 0.25
    assert retry_after({"retry-after": "soon"}, 30) is None
    assert retry_after({}, 30) is None
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert retry_after({"retry-after": past}, 30) == 0


def test_stall_past_the_read_timeout_fails_within_the_bound():
    with ScriptedServer(stall(30)) as s:
        err, elapsed = fails(gen(s.base_url, max_retries=1))
        assert len(s.requests) == 2
    assert "did not answer within 1 s" in str(err)
    assert elapsed < 1.0 * 2 + 1.5  # two attempts of a 1 s read timeout, plus slack


def test_stall_after_the_first_token_keeps_the_partial_and_does_not_retry():
    with ScriptedServer(sse(pieces=["Alibaba ", "invests"], delay=5)) as s:
        err, elapsed = fails(gen(s.base_url))
        assert len(s.requests) == 1
    assert err.partial == "Alibaba " and "broke off" in str(err) and elapsed < 2.5


def test_a_server_that_only_sends_keepalives_hits_the_deadline():
    with ScriptedServer(sse(comments_for=30)) as s:
        err, elapsed = fails(gen(s.base_url, deadline_s=1.5))
    assert "1.5 s deadline" in str(err) and elapsed < 2.5


# -- broken streams ---------------------------------------------------------------------------
def test_dropped_stream_raises_with_the_partial_text_and_no_retry():
    with ScriptedServer(sse(drop_after=2)) as s:
        err, elapsed = fails(gen(s.base_url))
        assert len(s.requests) == 1  # never retried after text was streamed
    assert err.partial == "Alibaba invests " and "broke off" in str(err) and elapsed < 2


def test_drop_before_the_first_token_is_retried():
    with ScriptedServer(sse(drop_after=0), sse()) as s:
        assert "".join(gen(s.base_url).stream(MESSAGES)) == "Alibaba invests heavily [1]."
        assert len(s.requests) == 2


def test_clean_close_without_finish_is_not_silent_truncation():
    with ScriptedServer(sse(finish=False, done=False)) as s:
        err, _ = fails(gen(s.base_url))
    assert err.partial == "Alibaba invests heavily [1]." and "ended before" in str(err)


def test_hangup_after_the_final_chunk_is_a_complete_answer():
    with ScriptedServer(sse(done=False, hangup=True)) as s:
        assert "".join(gen(s.base_url).stream(MESSAGES)) == "Alibaba invests heavily [1]."


@pytest.mark.parametrize("module", ["httpx", "httpx2"])
def test_transport_errors_of_either_http_library_are_connection_failures(module):
    """openai 1.x/2.x raise httpx's errors, 3.x httpx2's (wrapped in APIConnectionError while a
    stream is read): both are a broken connection, retryable, and a hang-up after finish_reason."""
    import importlib

    from qa.openai_client import Endpoint, connection_broke

    lib = importlib.import_module(module)  # the locked install has both (gradio needs httpx)
    ep = Endpoint("http://127.0.0.1:9/v1", "", timeout_s=1, connect_timeout_s=1, what="hosted",
                  key_env="K", reply_kind="chunks", error=GenerationError)
    broke = ep.classify(lib.ReadError("peer closed"), "m")
    assert broke is not None and broke.retryable and "connection" in str(broke)
    slow = ep.classify(lib.ReadTimeout("slow"), "m")
    assert slow is not None and slow.retryable and "did not answer" in str(slow)
    assert connection_broke(lib.RemoteProtocolError("incomplete chunked read"))
    assert not connection_broke(ValueError("not json"))


def test_retry_after_beyond_the_deadline_gives_up_at_once():
    with ScriptedServer(status(429, "slow down", headers={"Retry-After": "20"})) as s:
        err, elapsed = fails(gen(s.base_url, deadline_s=3))
        assert len(s.requests) == 1
    assert "HTTP 429" in str(err) and "deadline" in str(err) and elapsed < 2


@pytest.mark.parametrize("body,ctype", [
    (b"data: {not json\n\n", "text/event-stream"),
    (b'data: {"foo": 1}\n\ndata: [DONE]\n\n', "text/event-stream"),
    (b'data: 42\n\n', "text/event-stream"),
    (b'{"choices": [{"message": {"content": "hi"}}]}', "application/json"),
])
def test_malformed_replies_are_clear_errors(body, ctype):
    with ScriptedServer(raw(body, ctype)) as s:
        err, _ = fails(gen(s.base_url))
        assert len(s.requests) == 1
    assert "malformed reply" in str(err)


def test_error_event_inside_the_stream():
    with ScriptedServer(raw(b'data: {"error": {"message": "overloaded"}}\n\n')) as s:
        err, _ = fails(gen(s.base_url))
    assert "reported an error: overloaded" in str(err)


# -- status errors: clear, not retried, never the key -----------------------------------------
def test_401_mentions_authentication_and_never_the_key(caplog):
    caplog.set_level(logging.DEBUG)
    with ScriptedServer(status(401, f"Incorrect API key provided: {KEY}")) as s:
        g = gen(s.base_url)
        err, _ = fails(g)
        assert s.requests[0]["headers"]["Authorization"] == f"Bearer {KEY}"  # it was sent
        assert len(s.requests) == 1
    assert "authentication failed" in str(err) and "HTTP 401" in str(err)
    assert err.__cause__ is None  # the SDK error (with the server's text) is not chained
    for text in (str(err), repr(err), caplog.text, repr(g)):
        assert KEY not in text and "SECRET" not in text


def test_401_without_a_key_says_so():
    with ScriptedServer(status(401)) as s:
        err, _ = fails(gen(s.base_url, key=""))
        assert "Authorization" in s.requests[0]["headers"]  # the SDK needs some key
    assert "no API key is set" in str(err) and "QA_OPENAI_API_KEY" in str(err)


def test_403_is_an_authentication_failure():
    with ScriptedServer(status(403, "forbidden")) as s:
        err, _ = fails(gen(s.base_url, model="gpt-x"))
    assert "authentication failed" in str(err) and "'gpt-x'" in str(err)


def test_server_messages_are_scrubbed_of_the_key():
    with ScriptedServer(status(400, f"bad request for key {KEY}")) as s:
        err, _ = fails(gen(s.base_url))
        assert len(s.requests) == 1
    assert "rejected the request (HTTP 400)" in str(err) and KEY not in str(err)


def test_unknown_model_names_it_and_lists_the_served_ones():
    with ScriptedServer(status(404, "The model `qwen-pluss` does not exist.", "model_not_found"),
                        models=["qwen-plus", "qwen-max"]) as s:
        err, _ = fails(gen(s.base_url, model="qwen-pluss"))
    assert str(err) == (f"model 'qwen-pluss' is not served by {s.base_url}; "
                        "available: qwen-max, qwen-plus")


def test_a_base_url_without_v1_gets_a_hint():
    with ScriptedServer(sse()) as s:
        err, _ = fails(gen(s.base_url.removesuffix("/v1")))
    assert "model 'm' is not served by" in str(err) and "HTTP 404" in str(err)
    assert "usually ends in /v1" in str(err)


# -- through a real Assistant -----------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Settings, FakeEmbedder]:
    root = tmp_path_factory.mktemp("tiny")
    (root / "articles").mkdir()
    (root / "articles" / "alibaba.txt").write_text(
        "Alibaba invests\n\nAlibaba will invest 380 billion yuan in AI infrastructure over "
        "three years. The money goes to data centres.\n", encoding="utf-8")
    (root / "articles" / "qwen.txt").write_text(
        "Qwen3-Max\n\nQwen3-Max has more than one trillion parameters. It was released in "
        "September 2025.\n", encoding="utf-8")
    settings = Settings(index_dir=root / "index", corpus_dir=root / "articles",
                        embed_model="fake-embedder", cache_dir=Path(root / "cache"))
    embedder = FakeEmbedder()
    ingest(settings, embedder=embedder)
    return settings, embedder


def assistant(tiny, generator, fallback=None) -> Assistant:
    settings, embedder = tiny
    index = load_index(settings.index_dir, expect=IndexConfig.from_settings(settings))
    retriever = HybridRetriever(index, embedder, settings.candidates, settings.rrf_k,
                                settings.dense_weight, settings.lexical_weight)
    return Assistant(retriever, generator, settings, index, fallback=fallback, embedder=embedder)


QUESTION = "How much will Alibaba invest in AI infrastructure?"


def test_assistant_answers_through_the_hosted_generator(tiny):
    with ScriptedServer(sse(["Alibaba will invest ", "380 billion yuan ", "[1]."])) as s:
        answer = assistant(tiny, gen(s.base_url)).ask(QUESTION)
    assert answer.error is None and not answer.abstained and not answer.fallback
    assert answer.model == "openai:m" and answer.citations[0].source == "alibaba.txt"
    assert "380 billion" in answer.text and answer.timings.first_token_s is not None


def test_assistant_shows_a_dropped_stream_as_incomplete(tiny):
    with ScriptedServer(sse(["Alibaba will invest ", "380 billion ", "yuan [1]."],
                            drop_after=2)) as s:
        answer = assistant(tiny, gen(s.base_url), fallback=FakeGenerator()).ask(QUESTION)
    assert answer.error and "broke off" in answer.error
    assert "incomplete" in answer.text and answer.text.startswith("Alibaba will invest 380")
    assert not answer.fallback  # text had been streamed: no switch to the fallback
    assert answer.to_dict()["error"] == answer.error


def test_fallback_answers_when_the_hosted_server_is_down(tiny):
    down = gen(f"http://127.0.0.1:{free_port()}/v1")
    t0 = time.monotonic()
    # the fake quotes "Alibaba invests": an answer to "what", not to "how much"
    answer = assistant(tiny, down, fallback=FakeGenerator()).ask("What does Alibaba invest in?")
    assert answer.fallback and answer.error is None and answer.model == "fake-generator"
    assert answer.to_dict()["fallback"] is True and answer.citations
    assert time.monotonic() - t0 < 3.0
