"""Feedback over the API: every answer of qa serve has an ``answer_id`` (REST, streaming, the
OpenAI route, MCP); ``POST /v1/feedback`` appends to the chat window's store; ``qa feedback
export`` turns the ratings into gold-format eval candidates. Real uvicorn on 127.0.0.1, fake
models, the export run as the command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import openai
import pytest
from test_mcp import over_http
from test_server import KEY, live, sse_events

from qa.assistant import Assistant
from qa.config import Settings
from qa.feedback import read_feedback
from qa.testing import FakeGenerator

pytestmark = pytest.mark.server
GOLD_KEYS = {"id", "question", "language", "kind", "answerable", "reference", "facts",
             "evidence", "multi_part", "split"}


def export(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qa.cli", "feedback", "export", *args],
                          capture_output=True, text=True, timeout=60)


def test_rated_answers_land_in_the_store_and_in_the_export(fake_assistant: Assistant,
                                                           settings: Settings,
                                                           tmp_path: Path) -> None:
    gen = FakeGenerator()
    gen.enqueue("Alibaba investiert 999 Milliarden Dollar.")  # abstains: no passage has 999
    with live(fake_assistant.with_generator(gen)) as s:
        refused = httpx.post(f"{s.url}/v1/ask", json={"question": "Wie viel investiert Alibaba?"},
                             timeout=30).json()
        with httpx.stream("POST", f"{s.url}/v1/ask", timeout=30, json={
                "question": "Worin investiert Alibaba?", "stream": True}) as r:
            done = [d for e, d in sse_events(r.iter_lines()) if e == "done"][0]
        chat = openai.OpenAI(base_url=f"{s.url}/v1", api_key="-", max_retries=0).chat
        reply = chat.completions.create(model="qa", messages=[
            {"role": "user", "content": "Was baut Alibaba?"}])

        async def ask(session):  # noqa: ANN001, ANN202
            return await session.call_tool("ask", {"question": "Wer ist CEO von Alibaba?"})

        by_mcp = over_http(s.url, ask).structured_content
        ids = [refused["answer_id"], done["answer_id"], reply.model_extra["qa"]["answer_id"],
               by_mcp["answer_id"]]
        assert refused["abstained"] and len(set(ids)) == 4
        ratings = [(ids[0], -1, "Steht im Artikel: 53 Milliarden"), (ids[1], "up", None),
                   (ids[2], 1, ""), (ids[3], "-1", None)]
        for answer_id, rating, comment in ratings:
            r = httpx.post(f"{s.url}/v1/feedback", json={"answer_id": answer_id,
                                                         "rating": rating, "comment": comment})
            assert r.status_code == 201, r.text
        # bad input: one clear line each, and nothing stored
        r = httpx.post(f"{s.url}/v1/feedback", json={"answer_id": "ans_nope", "rating": 1})
        assert r.status_code == 404 and "no answer with id 'ans_nope'" in r.json()["detail"]
        r = httpx.post(f"{s.url}/v1/feedback", json={"answer_id": ids[0], "rating": 5})
        assert r.status_code == 422 and "rating" in r.json()["detail"]
        r = httpx.post(f"{s.url}/v1/feedback", json={"answer_id": ids[0], "rating": 1,
                                                     "comment": "x" * 3000})
        assert r.status_code == 422 and "comment" in r.json()["detail"]

    store = settings.data_dir / "feedback.jsonl"  # where the chat window's thumbs write too
    records = read_feedback(store)
    assert [(r["answer_id"], r["rating"], r["via"]) for r in records] == [
        (ids[0], "down", "api"), (ids[1], "up", "api"), (ids[2], "up", "api"),
        (ids[3], "down", "api")]
    assert records[0]["comment"] == "Steht im Artikel: 53 Milliarden"
    assert records[1]["citations"] and records[1]["passages"]  # the whole rated answer

    out = tmp_path / "candidates.jsonl"
    p = export("--file", str(store), "--rating", "down", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert f"2 eval candidates from 4 ratings in {store} written to {out}" in p.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [f"fb-{ids[0]}", f"fb-{ids[3]}"]
    first = rows[0]
    assert set(first) >= GOLD_KEYS and first["split"] == "tune"
    assert first["question"] == "Wie viel investiert Alibaba?" and first["answerable"] is True
    assert first["feedback"]["comment"] == "Steht im Artikel: 53 Milliarden"
    # thumbs up on an answer: its text and citations as the reference and evidence
    up = [json.loads(x) for x in export("--file", str(store), "--rating", "up").stdout
          .splitlines()]
    streamed = next(r for r in up if r["id"] == f"fb-{ids[1]}")
    assert streamed["reference"] == done["answer"] and streamed["answerable"] is True
    assert [e["quote"] for e in streamed["evidence"]] == [c["quote"] for c in done["citations"]]


def test_feedback_off_loopback_needs_a_key(fake_assistant: Assistant) -> None:
    with live(fake_assistant, host="0.0.0.0", api_keys=(KEY,)) as s:
        auth = {"Authorization": f"Bearer {KEY}"}
        answer = httpx.post(f"{s.url}/v1/ask", json={"question": "Worin investiert Alibaba?"},
                            headers=auth, timeout=30).json()
        body = {"answer_id": answer["answer_id"], "rating": "down"}
        assert httpx.post(f"{s.url}/v1/feedback", json=body).status_code == 401
        assert httpx.post(f"{s.url}/v1/feedback", json=body, headers=auth).status_code == 201


def test_export_of_a_missing_or_torn_file(tmp_path: Path) -> None:
    p = export("--file", str(tmp_path / "none.jsonl"))
    assert p.returncode == 0 and p.stdout == "" and "0 eval candidates from 0 ratings" in p.stderr
    torn = tmp_path / "f.jsonl"
    torn.write_text('{"rating": "down", "question": "Wer?", "abstained": false}\n{"rat',
                    encoding="utf-8")
    rows = [json.loads(x) for x in export("--file", str(torn)).stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["answerable"] is None and rows[0]["evidence"] == []
