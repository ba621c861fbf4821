"""OpenAI's citation shape on /v1/chat/completions (``message.annotations``, ``url_citation``),
read with the ``openai`` client from the app on a real uvicorn on 127.0.0.1 (fake models)."""

from __future__ import annotations

import re

import openai
import pytest
from test_server import SlowGenerator, live

from qa.assistant import Assistant
from qa.testing import FakeGenerator

pytestmark = pytest.mark.server


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=60)


def check(content: str, notes: list[dict], qa_answer: dict) -> None:
    """Every annotation spans an [n] marker of ``content`` naming a citation of the answer; each
    citation is annotated in the answer and in the sources list."""
    cited = {c["n"]: c for c in qa_answer["citations"]}
    assert notes and {n["type"] for n in notes} == {"url_citation"}
    for note in notes:
        u = note["url_citation"]
        marker = content[u["start_index"]:u["end_index"]]
        assert re.fullmatch(r"\[\d+(, ?\d+)*\]", marker), marker
        c = next(cited[int(n)] for n in re.findall(r"\d+", marker) if int(n) in cited)
        assert u["url"] == f"qa://documents/{c['source']}#{c['start']}-{c['end']}"
        assert u["title"]
    body_end = content.find("\n\n")
    for n in cited:
        spans = [x["url_citation"]["start_index"] for x in notes
                 if content[x["url_citation"]["start_index"]:].startswith(f"[{n}]")]
        assert any(s < body_end for s in spans) and any(s > body_end for s in spans), n


def test_a_completion_carries_annotations_and_the_old_fields(fake_assistant: Assistant) -> None:
    with live(fake_assistant) as s:
        resp = client(s.url).chat.completions.create(
            model="qa", messages=[{"role": "user", "content": "Worin investiert Alibaba?"}])
    message = resp.choices[0].message
    notes = [a.model_dump() for a in message.annotations or []]
    check(message.content or "", notes, resp.model_extra["qa"])
    # the typed objects of the client
    first = message.annotations[0].url_citation
    assert first.url.startswith("qa://documents/") and first.end_index > first.start_index
    # the custom fields stay for old clients
    assert resp.model_extra["citations"] == resp.model_extra["qa"]["citations"]


def test_the_final_stream_chunk_carries_annotations_into_the_streamed_text(
        fake_assistant: Assistant) -> None:
    with live(fake_assistant.with_generator(SlowGenerator(pieces=6))) as s:
        chunks = list(client(s.url).chat.completions.create(
            model="qa", stream=True,
            messages=[{"role": "user", "content": "What does Alibaba invest, hotel?"}]))
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(final) == 1
    notes = final[0].choices[0].delta.model_extra["annotations"]
    check(content, notes, final[0].model_extra["qa"])
    assert all("annotations" not in (c.choices[0].delta.model_extra or {})
               for c in chunks if c.choices and c is not final[0])


def test_an_abstention_has_no_annotations(fake_assistant: Assistant) -> None:
    gen = FakeGenerator()
    gen.enqueue("Alibaba investiert 999 Milliarden Dollar [1].", "Alibaba investiert 999 [1].")
    with live(fake_assistant.with_generator(gen)) as s:
        c = client(s.url)
        resp = c.chat.completions.create(model="qa", messages=[
            {"role": "user", "content": "Wie viel investiert Alibaba?"}])
        chunks = list(c.chat.completions.create(model="qa", stream=True, messages=[
            {"role": "user", "content": "Wie viel investiert Alibaba?"}]))
    assert resp.model_extra["qa"]["abstained"] and resp.choices[0].message.annotations == []
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"][0]
    assert final.model_extra["qa"]["abstained"]
    assert final.choices[0].delta.model_extra["annotations"] == []
