"""The embeddings-server backend (``qa.embedders.openai``) against real sockets.

Unit tier: a scripted fake ``/v1/embeddings`` server on 127.0.0.1 (vectors from
``qa.testing.FakeEmbedder``, so they carry signal) with faults: HTTP errors, Retry-After, stalls,
wrong counts, garbage, NaN, varying dimensions, shuffled ``index`` order, unnormalised rows.

Integration and server tiers: ``EmbedderContract`` against the in-process sentence-transformers
embedder, and against a real Infinity server (``infinity_emb v2``) started here as a subprocess
on a free port, serving the project's converted multilingual-e5-small; its vectors must match the
in-process ones (cosine >= 0.99 per text, German and English). Infinity cannot be installed beside
the project's pins (it wants transformers 4.x and numpy 1.x), so it lives in its own virtual
environment: ``make embed-server`` (or set ``QA_INFINITY_EMB`` to an ``infinity_emb`` executable).
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import logging
import math
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hosted_servers import _Handler as ChatHandler
from hosted_servers import _Server

from qa import registry
from qa.config import Settings
from qa.embedders.openai import OpenAIEmbedder, make_openai_embedder
from qa.errors import ModelError, QAError
from qa.testing import EmbedderContract, FakeEmbedder

KEY = "sk-embed-SECRET456"
MODEL = "fake-e5"
DIM = 8


@pytest.fixture(autouse=True)
def no_hang():
    faulthandler.dump_traceback_later(240, exit=True)  # a hung test kills the run, loudly
    yield
    faulthandler.cancel_dump_traceback_later()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a scripted fake embeddings server --------------------------------------------------------
Behaviour = Callable[["_Handler", list[str]], None]


def vectors(texts: Sequence[str], dim: int = DIM) -> list[list[float]]:
    """What the fake server embeds: FakeEmbedder rows, scaled by 3 (servers may not normalise);
    a text without words (all zeros there) gets a unit vector, as a real model's would not be 0."""
    rows = FakeEmbedder(dim).embed(list(texts), "passage") * 3.0
    rows[~rows.any(axis=1), 0] = 1.0
    return rows.tolist()


def ok(dim: int = DIM, shuffle: bool = True) -> Behaviour:
    """200 with one row per text; ``shuffle`` sends them in reverse order, by ``index``."""
    def run(h: _Handler, texts: list[str]) -> None:
        data = [{"object": "embedding", "index": i, "embedding": v}
                for i, v in enumerate(vectors(texts, dim))]
        h.send_json(200, {"object": "list", "model": MODEL,
                          "data": data[::-1] if shuffle else data,
                          "usage": {"prompt_tokens": 1, "total_tokens": 1}})
    return run


def reply(edit: Callable[[list[dict[str, Any]]], Any]) -> Behaviour:
    """200 with the well-formed reply's ``data`` passed through ``edit``."""
    def run(h: _Handler, texts: list[str]) -> None:
        data = [{"object": "embedding", "index": i, "embedding": v}
                for i, v in enumerate(vectors(texts))]
        h.send_json(200, {"object": "list", "data": edit(data)})
    return run


def status(code: int, message: str = "error", code_name: str | None = None,
           headers: dict[str, str] | None = None) -> Behaviour:
    def run(h: _Handler, texts: list[str]) -> None:
        h.send_json(code, {"error": {"message": message, "type": "error", "code": code_name}},
                    headers)
    return run


def stall(seconds: float) -> Behaviour:
    def run(h: _Handler, texts: list[str]) -> None:
        h.server.stopping.wait(seconds)
        h.close_connection = True
    return run


def raw(body: bytes, content_type: str = "text/html") -> Behaviour:
    def run(h: _Handler, texts: list[str]) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
    return run


class _Handler(ChatHandler):
    """The embeddings route of the shared fake server; a behaviour gets the input texts."""

    route = "/v1/embeddings"

    def respond(self, behaviour: Any, body: dict[str, Any]) -> None:
        behaviour(self, list(body.get("input") or []))


class FakeServer:
    """``POST /v1/embeddings`` answered by the next behaviour of ``script`` (the last repeats)."""

    def __init__(self, *script: Behaviour, models: Sequence[str] = (MODEL,),
                 delay: float = 0.0) -> None:
        self._server = _Server(script or [ok()], models, _Handler, delay)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         kwargs={"poll_interval": 0.05}).start()

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self._server.requests

    @property
    def max_in_flight(self) -> int:
        return self._server.max_in_flight

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()


def emb(base_url: str, **kw: Any) -> OpenAIEmbedder:
    opts: dict[str, Any] = {"timeout_s": 1.0, "connect_timeout_s": 0.5, "max_retries": 2,
                            "backoff_s": 0.05, "deadline_s": 10.0, "batch_size": 4,
                            "concurrency": 4, **kw}
    return OpenAIEmbedder(opts.pop("model", MODEL), base_url, opts.pop("key", KEY), **opts)


def fails(e: OpenAIEmbedder, texts: Sequence[str] = ("a", "b", "c")) -> tuple[ModelError, float]:
    t0 = time.monotonic()
    with pytest.raises(ModelError) as info:
        e.embed(list(texts), "passage")
    return info.value, time.monotonic() - t0


def expected(texts: Sequence[str], prefix: str = "passage: ") -> np.ndarray:
    return FakeEmbedder(DIM).embed([prefix + t for t in texts], "passage")


# -- the contract, against the fake server ----------------------------------------------------
class TestFakeServerEmbedder(EmbedderContract):
    @pytest.fixture(scope="class")
    def embedder(self):
        with FakeServer(ok(dim=64)) as s:
            yield emb(s.base_url, dim=None)


# -- happy path and the request contract ------------------------------------------------------
def test_request_contract_prefixes_order_and_normalisation():
    with FakeServer(ok()) as s:
        e = emb(s.base_url, batch_size=8, concurrency=1)
        v = e.embed(["Alibaba baut", "Qwen3-Max"], "query")
        req = s.requests[0]
    assert req["path"] == "/v1/embeddings"
    assert req["body"] == {"model": MODEL, "input": ["query: Alibaba baut", "query: Qwen3-Max"],
                           "encoding_format": "float"}
    assert req["headers"]["Authorization"] == f"Bearer {KEY}"
    assert v.dtype == np.float32 and v.shape == (2, DIM) and e.dim == DIM
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-6)  # the server sent norm 3
    assert np.allclose(v, expected(["Alibaba baut", "Qwen3-Max"], "query: "), atol=1e-6)


def test_concurrent_batches_keep_the_input_order():
    texts = [f"Satz {i} über Thema {i % 5} und Wort{i}" for i in range(37)]
    with FakeServer(ok(), delay=0.2) as s:
        e = emb(s.base_url, batch_size=4, concurrency=4)
        t0 = time.monotonic()
        v = e.embed(texts, "passage")
        elapsed = time.monotonic() - t0
        sizes = sorted(len(r["body"]["input"]) for r in s.requests)
        assert s.max_in_flight == 4
    assert sizes == [1] + [4] * 9 and elapsed < 10 * 0.2  # 10 requests, 4 at a time
    assert np.allclose(v, expected(texts), atol=1e-6)


def test_a_short_call_is_spread_over_the_concurrent_requests():
    with FakeServer(ok(), delay=0.1) as s:
        emb(s.base_url, batch_size=16, concurrency=4).embed([f"t{i}" for i in range(16)],
                                                            "passage")
        assert [len(r["body"]["input"]) for r in s.requests] == [4, 4, 4, 4]
        assert s.max_in_flight == 4


def test_empty_texts_are_sent_as_a_space_without_a_prefix():
    with FakeServer(ok()) as s:
        emb(s.base_url, passage_prefix="", concurrency=1).embed(["", "x"], "passage")
        assert s.requests[0]["body"]["input"] == [" ", "x"]


def test_dim_is_probed_once_when_unknown_and_taken_from_settings_otherwise():
    with FakeServer(ok()) as s:
        e = emb(s.base_url)
        assert e.dim == DIM and len(s.requests) == 1
        assert e.embed([], "query").shape == (0, DIM) and len(s.requests) == 1
        assert emb(s.base_url, dim=DIM).dim == DIM and len(s.requests) == 1


def test_base64_embeddings_are_read():
    import base64

    def b64(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for d in data:
            d["embedding"] = base64.b64encode(np.asarray(d["embedding"], "<f4").tobytes()).decode()
        return data

    with FakeServer(reply(b64)) as s:
        v = emb(s.base_url).embed(["a b", "c"], "passage")
    assert np.allclose(v, expected(["a b", "c"]), atol=1e-6)


# -- retries ----------------------------------------------------------------------------------
def test_500_then_success_is_retried():
    with FakeServer(status(500, "boom"), ok()) as s:
        v = emb(s.base_url, concurrency=1).embed(["a", "b"], "passage")
        assert len(s.requests) == 2
    assert np.allclose(v, expected(["a", "b"]), atol=1e-6)


def test_429_retry_after_is_honoured():
    with FakeServer(status(429, "slow down", headers={"Retry-After": "1"}), ok()) as s:
        emb(s.base_url).embed(["a"], "passage")
        gap = s.requests[1]["t"] - s.requests[0]["t"]
    assert 0.9 <= gap < 3


def test_retries_are_bounded_and_counted():
    with FakeServer(status(503, "overloaded")) as s:
        err, _ = fails(emb(s.base_url, max_retries=2), ["a"])
        assert len(s.requests) == 3
    assert str(err).startswith(f"cannot embed with '{MODEL}': {s.base_url} answered HTTP 503: "
                               "overloaded (after 3 attempts")


def test_a_stalled_server_times_out_within_the_bound():
    with FakeServer(stall(30)) as s:
        err, elapsed = fails(emb(s.base_url, max_retries=1), ["a"])
        assert len(s.requests) == 2
    assert "did not answer within 1 s" in str(err) and elapsed < 2 * 1.0 + 1.5


def test_connection_refused_is_one_clear_line_fast():
    port = free_port()
    err, elapsed = fails(emb(f"http://127.0.0.1:{port}/v1"))
    assert f"cannot connect to http://127.0.0.1:{port}/v1" in str(err)
    assert "\n" not in str(err) and elapsed < 3


def test_one_failed_batch_fails_the_call():
    def sometimes(h: _Handler, texts: list[str]) -> None:
        (status(400, "input too long") if "passage: t5" in texts else ok())(h, texts)

    with FakeServer(sometimes) as s:
        err, _ = fails(emb(s.base_url, batch_size=2), [f"t{i}" for i in range(8)])
    assert "rejected the request (HTTP 400): input too long" in str(err)


# -- bad replies: clear, not retried ----------------------------------------------------------
@pytest.mark.parametrize("behaviour,message", [
    (reply(lambda d: d[:-1]), "malformed reply from .*: 2 embeddings for 3 texts"),
    (raw(b"<html>502 Bad Gateway</html>"), "malformed reply .*: not JSON \\(text/html: '<html>"),
    (raw(b'{"object": "list"}', "application/json"), "no 'data' list"),
    (raw(b'[1, 2]', "application/json"), "no 'data' list"),
    (reply(lambda d: [{**x, "embedding": [math.nan] * DIM} for x in d]), "NaN or infinite"),
    (reply(lambda d: [{**x, "embedding": x["embedding"][:4 + x["index"]]} for x in d]),
     "varying dimension \\(4, 5, 6\\)"),
    (reply(lambda d: [{**x, "embedding": "not base64!"} for x in d]), "neither numbers nor"),
    (reply(lambda d: [{**x, "embedding": ["1"] * DIM} for x in d]), "not a list of numbers"),
    (reply(lambda d: [{**x, "index": 0} for x in d]), "index 0: not one of 0..2 once each"),
    (reply(lambda d: [{**x, "embedding": [0.0] * DIM} for x in d]), "a vector of zeros"),
    (raw(b'{"error": {"message": "CUDA out of memory"}}', "application/json"),
     "reported an error: CUDA out of memory"),
])
def test_bad_replies_are_one_clear_line(behaviour, message):
    with FakeServer(behaviour) as s:
        err, _ = fails(emb(s.base_url, batch_size=8, concurrency=1))
        assert len(s.requests) == 1  # garbage is not retried
    assert "\n" not in str(err)
    with pytest.raises(ModelError, match=message):
        raise err


def test_a_dimension_change_between_replies_is_refused():
    with FakeServer(ok(dim=8), ok(dim=16)) as s:
        e = emb(s.base_url, concurrency=1)
        e.embed(["a"], "passage")
        err, _ = fails(e, ["b"])
    assert "sent 16-dimensional vectors, expected 8 (its first reply)" in str(err)


def test_the_default_models_dimension_is_known_and_checked():
    with FakeServer(ok(dim=768)) as s:
        settings = Settings(embed_backend="openai", embed_base_url=s.base_url)
        e = make_openai_embedder(settings)
        assert e.dim == 384 and not s.requests  # known without asking the server
        err, _ = fails(e, ["a"])
    assert "sent 768-dimensional vectors, expected 384 (multilingual-e5-small has 384" in str(err)
    assert "set embed_dim" in str(err)


# -- status errors ----------------------------------------------------------------------------
def test_401_names_the_setting_and_never_the_key(caplog):
    caplog.set_level(logging.DEBUG)
    with FakeServer(status(401, f"Incorrect API key provided: {KEY}")) as s:
        e = emb(s.base_url)
        err, _ = fails(e)
    assert "authentication failed" in str(err) and "QA_EMBED_API_KEY" in str(err)
    assert err.__cause__ is None
    for text in (str(err), repr(err), caplog.text, repr(e)):
        assert KEY not in text


def test_unknown_model_lists_the_served_ones():
    with FakeServer(status(404, "model not found", "model_not_found"),
                    models=["bge-m3", "multilingual-e5-small"]) as s:
        err, _ = fails(emb(s.base_url, model="e5"))
    assert str(err) == (f"cannot embed with 'e5': model 'e5' is not served by {s.base_url}; "
                        "available: bge-m3, multilingual-e5-small")


def test_413_suggests_smaller_batches():
    with FakeServer(status(413, "batch size 64 > maximum allowed batch size 32")) as s:
        err, _ = fails(emb(s.base_url))
    assert "HTTP 413" in str(err) and "embed_batch_size" in str(err)


# -- settings, registry -----------------------------------------------------------------------
def test_settings_build_it_through_the_registry_without_leaking_the_key():
    env = {"QA_CONFIG": "", "QA_EMBED_BACKEND": "openai", "QA_EMBED_MODEL": "bge-m3",
           "QA_EMBED_BASE_URL": "http://127.0.0.1:9/v1", "QA_EMBED_API_KEY": KEY,
           "QA_EMBED_CONCURRENCY": "2", "QA_EMBED_TIMEOUT_S": "7", "QA_EMBED_DIM": "1024",
           "QA_QUERY_PREFIX": "", "QA_PASSAGE_PREFIX": ""}
    settings = Settings.load(env=env)
    e = registry.create("embedder", settings.embed_backend, settings)
    assert isinstance(e, OpenAIEmbedder) and e.name == "openai:bge-m3" and e.dim == 1024
    assert e.concurrency == 2 and e.endpoint.timeout_s == 7.0 and e.prefixes["query"] == ""
    for text in (repr(e), repr(settings), str(settings.public_dict())):
        assert KEY not in text


@pytest.mark.parametrize("changes,message", [
    ({}, "embed_base_url must be the embeddings server's http:// or https:// URL"),
    ({"embed_base_url": "127.0.0.1:8080/v1"}, "not '127.0.0.1:8080/v1'"),
    ({"embed_base_url": "http://x/v1", "embed_concurrency": 0}, "embed_concurrency must be"),
    ({"embed_base_url": "http://x/v1", "embed_timeout_s": -1}, "embed_timeout_s must be"),
    ({"embed_base_url": "http://x/v1", "embed_max_retries": -1}, "embed_max_retries must not"),
    ({"embed_base_url": "http://x/v1", "embed_dim": -3}, "embed_dim must not be negative"),
])
def test_settings_are_validated(changes, message):
    with pytest.raises(QAError, match=message):
        Settings(embed_backend="openai", **changes)


def test_import_stays_light():
    import sys

    code = ("import qa.embedders.openai, sys; "
            "print('openai' in sys.modules, 'httpx' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


# -- an index built through a server ----------------------------------------------------------
@pytest.fixture
def server_settings(tmp_path: Path):
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "a.txt").write_text(
        "Alibaba investiert\n\nAlibaba wird 380 Milliarden Yuan in KI-Infrastruktur investieren. "
        "Das Geld fließt in Rechenzentren.\n", encoding="utf-8")
    (tmp_path / "articles" / "q.txt").write_text(
        "Qwen3-Max\n\nQwen3-Max hat mehr als eine Billion Parameter.\n", encoding="utf-8")
    with FakeServer(ok(dim=32)) as s:
        yield s, Settings(corpus_dir=tmp_path / "articles", index_dir=tmp_path / "index",
                          data_dir=tmp_path / "data", cache_dir=tmp_path / "cache",
                          embed_model=MODEL, embed_backend="openai", embed_base_url=s.base_url)


def test_an_index_built_through_the_server_answers_and_records_model_and_dim(server_settings):
    from qa.assistant import Assistant
    from qa.ingest.pipeline import ingest
    from qa.testing import FakeGenerator

    server, settings = server_settings
    report, _ = ingest(settings)
    assert report.total_chunks == 2 and server.requests
    manifest = json.loads(next(settings.index_dir.glob("*/manifest.json")).read_text())
    assert manifest["config"]["embed_model"] == MODEL and manifest["dim"] == 32
    hits = Assistant.load(settings, generator=FakeGenerator()).retrieve("Qwen3-Max Parameter")
    assert hits


def test_an_index_of_another_model_is_refused(server_settings):
    from qa.assistant import Assistant
    from qa.errors import IndexMismatchError
    from qa.ingest.pipeline import ingest
    from qa.testing import FakeGenerator

    _, settings = server_settings
    ingest(settings)
    with pytest.raises(IndexMismatchError, match="embed_model: index has 'fake-e5'"):
        Assistant.load(settings.replace(embed_model="other-model", embed_dim=32),
                       generator=FakeGenerator())


def test_querying_with_another_dimension_is_refused_clearly(server_settings):
    from qa.assistant import Assistant
    from qa.errors import IndexMismatchError
    from qa.ingest.pipeline import ingest
    from qa.testing import FakeGenerator

    server, settings = server_settings
    ingest(settings)  # 32 dimensions
    with FakeServer(ok(dim=16)) as other:  # another model served under the same name
        moved = settings.replace(embed_base_url=other.base_url)
        with pytest.raises(IndexMismatchError, match="dimension"):
            Assistant.load(moved, generator=FakeGenerator()).retrieve("Qwen3-Max Parameter")


# -- the real model: in process, and served by Infinity ---------------------------------------
GERMAN = ["Alibaba investiert 380 Milliarden Yuan in KI-Infrastruktur.",
          "Wie viele Parameter hat Qwen3-Max?",
          "Die Rechenzentren stehen in China, Malaysia und Europa; der Strombedarf wächst."]
ENGLISH = ["Alibaba will invest 380 billion yuan in AI infrastructure.",
           "How many parameters does Qwen3-Max have?",
           "Cloud revenue grew by a quarter, driven by demand for AI services."]


@pytest.fixture(scope="module")
def local_embedder():
    from qa.embedders import make_local_embedder

    embedder = make_local_embedder(Settings())
    try:
        embedder.embed(["warm up"], "query")
    except ModelError as e:
        pytest.skip(f"the bundled model is not available: {e}")
    return embedder


@pytest.mark.integration
class TestLocalEmbedder(EmbedderContract):
    @pytest.fixture
    def embedder(self, local_embedder):
        return local_embedder


def _infinity() -> str | None:
    exe = os.environ.get("QA_INFINITY_EMB") or str(
        Settings().cache_dir / "infinity-venv" / "bin" / "infinity_emb")
    return exe if Path(exe).is_file() else shutil.which("infinity_emb")


def _served_model_dir(tmp: Path) -> Path:
    """The converted model as Infinity's transformers 4.x reads it: the same files (linked), with
    ``PreTrainedTokenizerFast`` (4.x's name for loading tokenizer.json verbatim) instead of
    transformers 5's ``TokenizersBackend`` in tokenizer_config.json."""
    from qa.e5_convert import ensure_e5_model

    source = ensure_e5_model(Settings().cache_dir)
    target = tmp / "multilingual-e5-small"
    target.mkdir()
    for f in source.iterdir():
        if f.name != "tokenizer_config.json":
            (target / f.name).symlink_to(f)
    config = json.loads((source / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    (target / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return target


@contextlib.contextmanager
def infinity_server(model_dir: Path, name: str = "multilingual-e5-small"):
    """``infinity_emb v2`` on 127.0.0.1:<free port>, serving ``model_dir`` as ``name`` under
    /v1; yields the base URL, stops the process on exit."""
    exe = _infinity()
    if exe is None:
        pytest.skip("Infinity is not installed: `make embed-server` (own venv), or set "
                    "QA_INFINITY_EMB to an infinity_emb executable")
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "INFINITY_ANONYMOUS_USAGE_STATS": "0",
           "DO_NOT_TRACK": "1", "TOKENIZERS_PARALLELISM": "false"}
    log_file = model_dir.parent / "infinity.log"
    with open(log_file, "wb") as out:
        proc = subprocess.Popen(
            [exe, "v2", "--model-id", str(model_dir), "--served-model-name", name,
             "--host", "127.0.0.1", "--port", str(port), "--url-prefix", "/v1",
             "--engine", "torch", "--device", "cpu", "--no-model-warmup",
             "--batch-size", "32"], stdout=out, stderr=subprocess.STDOUT, env=env)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                tail = log_file.read_text(errors="replace")[-2000:]
                pytest.fail(f"Infinity exited with {proc.returncode}:\n{tail}")
            with contextlib.suppress(OSError), \
                    urllib.request.urlopen(base_url + "/models", timeout=2) as r:
                if name in r.read().decode():
                    break
            if time.monotonic() > deadline:
                pytest.fail("Infinity did not come up within 180 s")
            time.sleep(0.5)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def infinity_url(tmp_path_factory, local_embedder):
    with infinity_server(_served_model_dir(tmp_path_factory.mktemp("infinity"))) as url:
        yield url


@pytest.fixture(scope="module")
def served_embedder(infinity_url):
    settings = Settings(embed_backend="openai", embed_base_url=infinity_url,
                        embed_timeout_s=120)
    return make_openai_embedder(settings)


@pytest.mark.integration
@pytest.mark.server
class TestInfinityEmbedder(EmbedderContract):
    @pytest.fixture
    def embedder(self, served_embedder):
        return served_embedder


@pytest.mark.integration
@pytest.mark.server
@pytest.mark.parametrize("kind", ["query", "passage"])
@pytest.mark.parametrize("texts", [GERMAN, ENGLISH], ids=["de", "en"])
def test_served_vectors_match_the_in_process_ones(served_embedder, local_embedder, kind, texts):
    served = served_embedder.embed(texts, kind)
    local = local_embedder.embed(texts, kind)
    cosines = np.sum(served * local, axis=1)
    assert served.shape == local.shape == (len(texts), 384)
    assert cosines.min() >= 0.99, cosines
