"""The OpenAI-compatible endpoints with the ``openai`` SDK as the client, on a real uvicorn
(fake models), and the curl / SDK examples of docs/api.md run against it."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from pathlib import Path

import httpx
import openai
import pytest
from test_server import KEY, SlowGenerator, live

from qa.testing import FakeGenerator

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parent.parent


def client(url: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=60)


def test_models_and_a_plain_completion(fake_assistant) -> None:
    question = "Worin investiert Alibaba?"  # the fake's quoted sentence answers it
    expected = fake_assistant.ask(question)
    with live(fake_assistant) as s:
        c = client(s.url)
        assert [m.id for m in c.models.list()] == ["qa"]
        resp = c.chat.completions.create(model="qa", messages=[
            {"role": "system", "content": "You are a pirate."},  # ignored: qa's prompt rules
            {"role": "user", "content": question}])
    text = resp.choices[0].message.content
    assert resp.choices[0].finish_reason == "stop" and resp.model == "qa"
    assert text.startswith(expected.text)
    assert "\n\nQuellen:\n[1] " in text  # German question: German heading
    extra = resp.model_extra
    assert extra["citations"][0]["source"] == expected.citations[0].source
    assert extra["qa"]["answer"] == expected.text and extra["qa"]["abstained"] is False
    assert resp.usage.prompt_tokens == expected.prompt_tokens


def test_streaming_completion(fake_assistant) -> None:
    assistant = fake_assistant.with_generator(SlowGenerator(pieces=6))
    with live(assistant) as s:
        stream = client(s.url).chat.completions.create(
            model="qa", stream=True, stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "What does Alibaba invest, hotel?"}])
        chunks = list(stream)
    deltas = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    text = "".join(deltas)
    assert len([d for d in deltas if "hotel" in d]) >= 3  # streamed piece by piece
    assert text.startswith("Alibaba hotel hotel")
    assert "\n\nSources:\n[1] " in text
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(final) == 1 and final[0].model_extra["qa"]["citations"]
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens > 0


def test_a_checked_answer_that_differs_from_the_stream_is_sent_at_the_end(fake_assistant) -> None:
    gen = FakeGenerator()
    gen.enqueue("Alibaba investiert 999 Milliarden Dollar.")  # no passage has this number
    with live(fake_assistant.with_generator(gen)) as s:
        stream = client(s.url).chat.completions.create(
            model="qa", stream=True, messages=[{"role": "user", "content":
                                                "Wie viel investiert Alibaba?"}])
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    qa_answer = chunks[-1].model_extra["qa"]
    assert qa_answer["abstained"]
    answer, _, closest = text.partition("\n\nNächstgelegene Textstellen")
    assert answer.startswith("Alibaba investiert 999") and answer.endswith(qa_answer["answer"])
    # the closest passages follow, as in qa's own answer (`closest`), so the reader finds the text
    assert qa_answer["closest"] and all(f"[{c['n']}] {c['source']}: „" in closest
                                        for c in qa_answer["closest"])


def test_earlier_turns_are_the_conversation_history(fake_assistant) -> None:
    gen = FakeGenerator()
    gen.enqueue("Wie viel investiert Alibaba in KI-Infrastruktur?")  # the rewritten follow-up
    with live(fake_assistant.with_generator(gen)) as s:
        resp = client(s.url).chat.completions.create(model="qa", messages=[
            {"role": "user", "content": "Was plant Alibaba bei KI?"},
            {"role": "assistant", "content": "Alibaba baut Rechenzentren [1].\n\nQuellen:\n"
                                             "[1] a.txt: „Rechenzentren“"},
            {"role": "user", "content": "Und wie viel investiert das Unternehmen dafür?"}])
    rewrite_prompt = " ".join(m["content"] for m in gen.history[0])
    assert "Was plant Alibaba bei KI?" in rewrite_prompt
    assert "Alibaba baut Rechenzentren" in rewrite_prompt and "Quellen:" not in rewrite_prompt
    extra = resp.model_extra["qa"]
    assert "Alibaba" in extra["standalone_question"]  # made standalone from the history


def test_openai_errors(fake_assistant) -> None:
    gen = SlowGenerator(pieces=60, delay=0.05)
    with live(fake_assistant.with_generator(gen), queue_size=0) as s:
        c = client(s.url)
        with pytest.raises(openai.NotFoundError, match="does not exist"):
            c.chat.completions.create(model="gpt-4o", messages=[{"role": "user",
                                                                 "content": "Hi"}])
        with pytest.raises(openai.UnprocessableEntityError, match="last message"):
            c.chat.completions.create(model="qa", messages=[{"role": "assistant",
                                                             "content": "Hi"}])
        with pytest.raises(openai.UnprocessableEntityError, match="messages"):
            c.chat.completions.create(model="qa", messages=[])
        busy = threading.Thread(target=lambda: c.chat.completions.create(
            model="qa", messages=[{"role": "user", "content": "Alibaba alpha?"}]))
        busy.start()
        try:
            for _ in range(100):
                if gen.running:
                    break
                threading.Event().wait(0.02)
            with pytest.raises(openai.InternalServerError) as e:
                c.chat.completions.create(model="qa", messages=[{"role": "user",
                                                                 "content": "Alibaba bravo?"}])
            assert e.value.status_code == 503 and int(e.value.response.headers["retry-after"])
        finally:
            busy.join(30)


def test_keys_with_the_sdk(fake_assistant) -> None:
    with live(fake_assistant, host="0.0.0.0", api_keys=(KEY,)) as s:
        with pytest.raises(openai.AuthenticationError):
            client(s.url, "wrong").models.list()
        resp = client(s.url, KEY).chat.completions.create(
            model="qa", messages=[{"role": "user", "content": "Wie wuchs die Cloud-Sparte?"}])
        assert resp.choices[0].message.content


# -- docs/api.md ------------------------------------------------------------------------------
def doc_blocks(lang: str) -> list[str]:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def test_the_curl_examples_of_the_docs_run(fake_assistant, tmp_path) -> None:
    blocks = [b for b in doc_blocks("sh") if "curl " in b]
    assert len(blocks) >= 5
    (tmp_path / "neu.txt").write_text("Ein neuer Artikel über Zeppeline in Friedrichshafen.",
                                      encoding="utf-8")
    with live(fake_assistant, api_keys=(KEY,)) as s:
        env = {**os.environ, "QA_API_KEY": KEY}
        for block in blocks:
            script = "set -euo pipefail\n" + block.replace("http://127.0.0.1:8000", s.url)
            r = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, (block, r.stdout, r.stderr)
            assert '"error"' not in r.stdout, (block, r.stdout)
        names = [d["source"] for d in httpx.get(f"{s.url}/v1/documents").json()["documents"]]
    assert "neu.txt" not in names and len(names) == 5  # added, then deleted


def test_the_python_examples_of_the_docs_run(fake_assistant, monkeypatch, capsys) -> None:
    blocks = doc_blocks("python")
    assert any("openai" in b for b in blocks)
    with live(fake_assistant, api_keys=(KEY,)) as s:
        monkeypatch.setenv("QA_API_KEY", KEY)
        for block in blocks:
            if "127.0.0.1:8000" not in block:
                continue  # library examples (llama-index) are run by test_llama_index.py
            exec(compile(block.replace("http://127.0.0.1:8000", s.url), "docs/api.md",
                         "exec"), {})
    assert "[1]" in capsys.readouterr().out
