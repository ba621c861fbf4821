"""The MCP server with the ``mcp`` SDK's own client: over stdio (``qa mcp`` in a subprocess) and
over streamable HTTP (``/mcp`` of the app on a real uvicorn on 127.0.0.1), fake models; the key
rule over HTTP; wrong argument types; one question with the real models (integration)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from test_server import KEY, LiveServer, live

from qa.answering.prompting import ABSTAIN_TEXT
from qa.assistant import Assistant
from qa.config import Settings
from qa.mcp import Tools, ask_result
from qa.testing import FakeGenerator

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ["ask", "fetch", "search"]
Session = Callable[[ClientSession], Awaitable[Any]]


def over_stdio(settings: Settings, use: Session, reply: str | None = None,
               real: bool = False, timeout: float = 120) -> Any:
    """``use(session)`` against ``qa mcp`` in a subprocess (the fakes' launcher, or the real
    ``python -m qa.cli mcp`` when ``real``)."""
    args = ["--corpus-dir", str(settings.corpus_dir), "--index-dir", str(settings.index_dir)]
    if real:
        args = ["-m", "qa.cli", "mcp", *args, "--model", "smollm2-135m"]
    else:
        args = [str(ROOT / "tests" / "mcp_fake_server.py"), *args,
                "--embed-model", "fake-embedder"]
    env = {"QA_DATA_DIR": str(settings.data_dir), "QA_CACHE_DIR": str(settings.cache_dir),
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    if real:
        env.pop("QA_CACHE_DIR")  # the bundled models are assembled in the user's cache
    if reply:
        env["QA_FAKE_REPLY"] = reply
    params = StdioServerParameters(command=sys.executable, args=args, env=env, cwd=str(ROOT))

    async def main() -> Any:
        with anyio.fail_after(timeout):
            async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
                await s.initialize()
                return await use(s)

    return anyio.run(main)


def over_http(url: str, use: Session, key: str | None = None) -> Any:
    async def main() -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        with anyio.fail_after(60):
            async with (httpx2.AsyncClient(headers=headers, timeout=60) as http,
                        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
                        ClientSession(read, write) as s):
                await s.initialize()
                return await use(s)

    return anyio.run(main)


async def list_and_call(s: ClientSession) -> dict[str, Any]:
    """Lists the tools and calls each: search, fetch of its first hit and of its document, ask."""
    tools = (await s.list_tools()).tools
    found = await s.call_tool("search", {"query": "Alibaba Cloud Umsatz", "k": 3})
    first = found.structured_content["results"][0]
    passage = await s.call_tool("fetch", {"id": first["id"]})
    document = await s.call_tool("fetch", {"id": first["source"]})
    answer = await s.call_tool("ask", {"question": "Worin investiert Alibaba?"})
    return {"tools": tools, "search": found, "passage": passage, "document": document,
            "ask": answer}


def check_tools_and_calls(got: dict[str, Any], expected_answer: Any) -> None:
    tools = {t.name: t for t in got["tools"]}
    assert sorted(tools) == TOOLS
    for t in tools.values():  # typed, read-only
        assert t.output_schema and t.annotations and t.annotations.read_only_hint
    assert tools["search"].input_schema["properties"]["k"]["maximum"] == 50
    hits = got["search"].structured_content["results"]
    assert len(hits) == 3 and not got["search"].is_error
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert all(h["id"] and h["source"].endswith(".txt") and h["title"] and h["text"]
               for h in hits)
    assert all(isinstance(h["date"], str) for h in hits)  # '': the demo articles state none
    passage = got["passage"].structured_content
    assert passage["kind"] == "passage" and passage["id"] == hits[0]["id"]
    assert passage["text"] == hits[0]["text"]
    document = got["document"].structured_content
    assert document["kind"] == "document" and document["source"] == hits[0]["source"]
    assert document["text"][passage["start"]:passage["end"]] == passage["text"]
    answer = got["ask"].structured_content
    assert answer["answer"] == expected_answer.text and not answer["abstained"]
    c = answer["citations"][0]
    assert c["n"] == 1 and c["quote"] and c["source"] == expected_answer.citations[0].source
    # the text content carries the same result, for clients that read only text
    assert json.loads(got["ask"].content[0].text)["answer"] == expected_answer.text


# -- stdio ---------------------------------------------------------------------------------------
@pytest.mark.server
def test_stdio_lists_and_calls_the_three_tools(fake_assistant: Assistant,
                                               settings: Settings) -> None:
    expected = fake_assistant.ask("Worin investiert Alibaba?")
    check_tools_and_calls(over_stdio(settings, list_and_call), expected)


@pytest.mark.server
def test_stdio_abstention_says_so_and_carries_the_closest_passages(
        fake_assistant: Assistant, settings: Settings) -> None:
    async def use(s: ClientSession) -> Any:
        return await s.call_tool("ask", {"question": "Wie viel investiert Alibaba?"})

    result = over_stdio(settings, use, reply="Alibaba investiert 999 Milliarden Dollar.")
    answer = result.structured_content
    assert not result.is_error and answer["abstained"]
    assert answer["answer"] == ABSTAIN_TEXT["de"] and answer["reason"]
    assert answer["citations"] == [] and answer["closest"]
    assert all(c["quote"] and c["source"].endswith(".txt") for c in answer["closest"])


@pytest.mark.server
def test_wrong_arguments_get_a_tool_error_not_a_traceback(fake_assistant: Assistant,
                                                          settings: Settings) -> None:
    calls = [("search", {"query": 5, "k": "many"}), ("search", {"query": "Cloud", "k": 0}),
             ("search", {}), ("fetch", {"id": ["a"]}), ("fetch", {"id": "no-such-id"}),
             ("ask", {"question": ""}), ("ask", {"question": "x" * 100_000})]

    async def use(s: ClientSession) -> list[Any]:
        out = [await s.call_tool(name, args) for name, args in calls]
        out.append(await s.call_tool("search", {"query": "Cloud", "k": 2}))  # still serving
        return out

    *errors, after = over_stdio(settings, use)
    for (name, args), r in zip(calls, errors, strict=True):
        text = r.content[0].text
        assert r.is_error, (name, args)
        assert "Traceback" not in text and len(text.splitlines()) <= 12, text
    assert "no passage or document with id 'no-such-id'" in errors[4].content[0].text
    assert not after.is_error and len(after.structured_content["results"]) == 2


# -- streamable HTTP under qa serve --------------------------------------------------------------
@pytest.mark.server
def test_http_lists_and_calls_the_three_tools(fake_assistant: Assistant) -> None:
    expected = fake_assistant.ask("Worin investiert Alibaba?")
    with live(fake_assistant) as srv:
        got = over_http(srv.url, list_and_call)
    check_tools_and_calls(got, expected)


@pytest.mark.server
def test_http_off_loopback_needs_a_key(fake_assistant: Assistant) -> None:
    async def names(s: ClientSession) -> list[str]:
        return sorted(t.name for t in (await s.list_tools()).tools)

    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "curl", "version": "0"}}}
    headers = {"Accept": "application/json, text/event-stream"}
    with live(fake_assistant, host="0.0.0.0", api_keys=(KEY,)) as srv:
        r = httpx.post(f"{srv.url}/mcp", json=init, headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        r = httpx.post(f"{srv.url}/mcp", json=init,
                       headers={**headers, "Authorization": "Bearer wrong"})
        assert r.status_code == 401
        with pytest.raises(Exception, match="TaskGroup"):  # the SDK's client fails on the 401
            over_http(srv.url, names)
        assert over_http(srv.url, names, key=KEY) == TOOLS
    with live(fake_assistant) as srv:  # loopback: reading needs no key, as for /v1/ask
        assert over_http(srv.url, names) == TOOLS


@pytest.mark.server
def test_one_app_served_twice_answers_mcp_both_times(fake_assistant: Assistant) -> None:
    from qa.server import ServerConfig, create_app

    async def names(s: ClientSession) -> list[str]:
        return sorted(t.name for t in (await s.list_tools()).tools)

    app = create_app(fake_assistant, config=ServerConfig(warm_up=False))
    for _ in range(2):  # the SDK's session manager runs once: each start makes its own
        with LiveServer(app) as srv:
            assert over_http(srv.url, names) == TOOLS


# -- pure parts ----------------------------------------------------------------------------------
def test_ask_result_of_an_answer_and_of_an_abstention(fake_assistant: Assistant) -> None:
    answer = fake_assistant.ask("Worin investiert Alibaba?")
    out = ask_result(answer, "a1")
    assert out.answer == answer.text and out.citations[0].quote == answer.citations[0].quote
    assert out.answer_id == "a1" and out.closest == []
    gen = FakeGenerator()
    gen.enqueue("Alibaba investiert 999 Milliarden Dollar.")
    refused = fake_assistant.with_generator(gen).ask("Wie viel investiert Alibaba?")
    out = ask_result(refused)
    assert out.abstained and out.answer == ABSTAIN_TEXT["de"] and out.reason
    assert [c.n for c in out.closest] == [c["n"] for c in refused.closest()]


def test_docstring_examples() -> None:
    import doctest

    import qa.mcp

    result = doctest.testmod(qa.mcp, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result


def test_fetch_by_chunk_id_and_by_source(fake_assistant: Assistant) -> None:
    tools = Tools(fake_assistant)
    hit = tools.search("Alibaba Cloud", 1).results[0]
    assert tools.fetch(hit.id).text == hit.text
    doc = tools.fetch(hit.source)
    assert doc.kind == "document" and doc.text[hit.start:hit.end] == hit.text
    with pytest.raises(Exception, match="no passage or document"):
        tools.fetch("  ")


# -- the real models -------------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.server
def test_stdio_with_the_real_models_answers_with_citations(settings: Settings) -> None:
    """``python -m qa.cli mcp`` builds the index with the real embedder and answers with the
    smallest bundled model."""
    settings = settings.replace(embed_model=Settings().embed_model)

    async def use(s: ClientSession) -> tuple[Any, Any]:
        found = await s.call_tool("search", {"query": "Qwen3-Max Parameter", "k": 3})
        answer = await s.call_tool("ask", {"question": "Wie viele Parameter hat Qwen3-Max?"})
        return found, answer

    found, answer = over_stdio(settings, use, real=True, timeout=600)
    assert any("Qwen3-Max" in h["text"] for h in found.structured_content["results"])
    a = answer.structured_content
    assert not answer.is_error and a["model"] == "smollm2-135m" and a["answer"]
    assert a["citations"] or (a["abstained"] and a["closest"])
