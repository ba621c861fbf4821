"""`qa serve` as a command, on the real embedder and the smallest bundled model: ready, answers
over REST and through the openai SDK, stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest
from hosted_servers import free_port

pytestmark = [pytest.mark.integration, pytest.mark.server]


def test_qa_serve_command_answers_with_the_real_models(tmp_path: Path, corpus: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "QA_DATA_DIR": str(tmp_path / "data")}
    env.pop("QA_API_KEYS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--port", str(port), "--corpus-dir",
         str(corpus), "--index-dir", str(tmp_path / "index"), "--model", "smollm2-135m"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240  # builds the index, loads both models
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "not ready in time"
            time.sleep(0.5)
        r = httpx.post(f"{url}/v1/ask", json={"question": "Wie viele Parameter hat Qwen3-Max?"},
                       timeout=120)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["model"] == "smollm2-135m" and answer["answer"]
        assert answer["timings"]["total_s"] > 0

        hits = httpx.post(f"{url}/v1/search", json={"question": "Qwen3-Max Parameter"}).json()
        assert any("Qwen3-Max" in h["chunk"]["text"] for h in hits["hits"][:3])

        client = openai.OpenAI(base_url=f"{url}/v1", api_key="-", max_retries=0, timeout=120)
        reply = client.chat.completions.create(
            model="qa", messages=[{"role": "user", "content": "Wie wuchs die Cloud-Sparte?"}])
        assert reply.choices[0].message.content
        assert reply.model_extra["qa"]["model"] == "smollm2-135m"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert f"qa API on {url}/v1" in out


def test_a_line_said_during_a_model_load_is_not_lost() -> None:
    """llama-cpp-python points fds 1 and 2 at /dev/null while it loads a model (verbose=False);
    a line printed by another thread meanwhile was lost (qa serve's address line, intermittently,
    when the warm-up loaded the model). ``say`` waits for the load. Here a thread holds the load
    lock and mutes fd 1 the way llama-cpp-python does, while the main thread says a line."""
    code = (
        "import os, threading, time\n"
        "from qa.generators.llamacpp import STDIO_LOCK, say\n"
        "held = threading.Event()\n"
        "def load():\n"
        "    with STDIO_LOCK:\n"
        "        saved = os.dup(1); null = os.open(os.devnull, os.O_WRONLY)\n"
        "        os.dup2(null, 1); held.set(); time.sleep(0.5)\n"
        "        os.dup2(saved, 1); os.close(null); os.close(saved)\n"
        "t = threading.Thread(target=load); t.start(); held.wait()\n"
        "say('qa API on http://127.0.0.1:1/v1')\n"
        "t.join()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "qa API on http://127.0.0.1:1/v1" in out.stdout
