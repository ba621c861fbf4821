"""Named collections: the pure rules (qa.collections, key limits), the CLI (two collections built
and asked with the fake embedder and generator), and the HTTP server on a real uvicorn on
127.0.0.1 (REST, the OpenAI route's ``model``, MCP's ``collection``, keys limited to a collection
and read-only, 404 with the list)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_mcp import over_http
from test_server import LiveServer

from qa.assistant import Assistant
from qa.cli import main
from qa.collections import DEFAULT, Catalog, UnknownCollection, describe, names, resolve
from qa.config import Settings
from qa.errors import QAError
from qa.ingest.pipeline import ingest
from qa.server import ServerConfig, create_app
from qa.server.security import Forbidden, Grant, KeyCheck, parse_grant
from qa.testing import FakeEmbedder, FakeGenerator

ZEBRA = "The zebra project is led by Anna Berg. It started in Hamburg in 2021.\n"
ORCA = "The orca project is led by Otto Lind. It started in Bergen in 2019.\n"


@pytest.fixture
def two(tmp_path: Path, settings: Settings) -> Settings:
    """Settings with collections team-a (one zebra file) and team-b (one orca file, English)
    beside the default one (the demo articles); no index built yet."""
    for name, text in (("a", ZEBRA), ("b", ORCA)):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{'zebra' if name == 'a' else 'orca'}.txt").write_text(text)
    toml = tmp_path / "qa.toml"
    toml.write_text(f'corpus_dir = "{settings.corpus_dir}"\nindex_dir = "{tmp_path / "index"}"\n'
                    f'data_dir = "{settings.data_dir}"\ncache_dir = "{settings.cache_dir}"\n'
                    'embed_model = "fake-embedder"\n'
                    f'[collections.team-a]\ncorpus_dir = "{tmp_path / "a"}"\n'
                    f'[collections.team-b]\ncorpus_dir = "{tmp_path / "b"}"\nlanguage = "en"\n'
                    f'index_dir = "{tmp_path / "ix-b"}"\ntop_k = 2\n')
    return Settings.load(toml, env={})


def built(two: Settings) -> Settings:
    embedder = FakeEmbedder()
    for name in names(two):
        ingest(resolve(two, name), embedder=embedder)
    return two


# -- the rules (pure) -----------------------------------------------------------------------------
def test_a_collection_is_the_global_settings_with_its_overrides(two: Settings,
                                                                 tmp_path: Path) -> None:
    assert names(two) == ["default", "team-a", "team-b"]
    assert resolve(two, None) is two and resolve(two, DEFAULT) is two
    a, b = resolve(two, "team-a"), resolve(two, "team-b")
    assert a.corpus_dir == tmp_path / "a" and a.index_dir == tmp_path / "index-team-a"
    assert (b.index_dir, b.language, b.top_k) == (tmp_path / "ix-b", "en", 2)
    assert a.embed_model == b.embed_model == "fake-embedder" and a.collections == {}
    # a QA_* variable is global: it reaches every collection that does not set it
    env = Settings.load(tmp_path / "qa.toml", env={"QA_TOP_K": "7", "QA_LANGUAGE": "de"})
    assert resolve(env, "team-a").top_k == 7 and resolve(env, "team-b").top_k == 2
    assert resolve(env, "team-b").language == "en"
    with pytest.raises(UnknownCollection, match="no collection named 'nope'; collections: "
                       "default, team-a, team-b"):
        resolve(two, "nope")


@pytest.mark.parametrize("table, message", [
    ('[collections."Team A"]\ncorpus_dir = "x"', "bad collection name 'Team A'"),
    ("[collections.default]\ntop_k = 2", "'default' is the global settings"),
    ('[collections.a]\nllm = "smollm2-135m"', "llm is shared by all collections"),
    ("[collections.a]\ncolour = 1", "collections.a: unknown setting(s) colour"),
    ('[collections.a]\nindex_dir = "index"', "'default' and 'a' use the same index folder"),
    ('[collections.a]\nindex_dir = "ix"\n[collections.b]\nindex_dir = "ix"',
     "'a' and 'b' use the same index folder"),
    ('store = "postgres"\n[collections.team-a]\ntop_k = 2\n[collections.team_a]\ntop_k = 3',
     "'team-a' and 'team_a' use the same PostgreSQL schema qa_team_a: give one its own pg_schema"),
    ('store = "postgres"\n[collections.a]\npg_schema = "qa"', "'default' and 'a' use the same "
     "PostgreSQL schema qa"),
    ('[collections.a]\npg_schema = "A; DROP"', "pg_schema must be 1 to 41 of a-z"),
    ('[collections.a]\npg_schema = "pg_catalog"', "pg_schema must be"),
    ("[collections.a]\ntop_k = 0", "top_k must be positive"),
    ("collections = 3", "collections must be a table"),
])
def test_bad_collections_are_refused_when_the_settings_are_read(tmp_path: Path, table: str,
                                                                message: str) -> None:
    toml = tmp_path / "qa.toml"
    toml.write_text(table + "\n")
    with pytest.raises(QAError) as e:
        Settings.load(toml, env={})
    assert message in str(e.value)


def test_key_limits_parse_and_check() -> None:
    assert parse_grant("plain-key") == ("plain-key", Grant())
    assert parse_grant("k@team-a") == ("k", Grant(frozenset({"team-a"})))
    assert parse_grant("k@a+b:ro") == ("k", Grant(frozenset({"a", "b"}), read_only=True))
    assert parse_grant("k:ro") == ("k", Grant(None, read_only=True))
    with pytest.raises(QAError) as e:
        parse_grant("secret-key@Team A")
    assert "secret-key" not in str(e.value)  # a key never shows in a message
    keys = KeyCheck(["all-key", "a-key@team-a", "ro-key@team-a:ro"])
    assert keys.grant("a-key") == Grant(frozenset({"team-a"}))
    assert keys.grant("a-key@team-a") is None and keys.grant("nope") is None
    assert keys.valid("all-key") and keys.collections_named() == {"team-a"}
    with pytest.raises(Forbidden, match="may not use collection 'team-b'"):
        Grant(frozenset({"team-a"})).check("team-b")
    with pytest.raises(Forbidden, match="read-only"):
        Grant(read_only=True).check("team-a", change=True)


def test_catalog_loads_each_collection_once_with_the_one_generator(two: Settings) -> None:
    built(two)
    embedder, generator = FakeEmbedder(), FakeGenerator()
    default = Assistant.load(two, embedder=embedder, generator=generator)
    catalog = Catalog(default)
    a = catalog.get("team-a")
    assert catalog.get("team-a") is a and catalog.get(None) is default
    assert a.generator is generator and a.embedder is embedder  # one model in memory
    assert a.settings.corpus_dir.name == "a"
    sources = {h.chunk.source for h in a.retrieve("Who leads the zebra project?")}
    assert sources == {"zebra.txt"}
    with pytest.raises(UnknownCollection):
        catalog.get("nope")
    rows = {r["name"]: r for r in describe(two)}
    assert (rows["team-a"]["documents"], rows["team-b"]["documents"]) == (1, 1)
    assert rows["default"]["documents"] == 5


# -- the CLI --------------------------------------------------------------------------------------
def test_cli_ingests_and_asks_each_collection_apart(two: Settings, tmp_path: Path,
                                                    fake_models: None,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = str(tmp_path / "qa.toml")
    assert main(["collections", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "team-a" in out and "not built" in out
    for name in ("team-a", "team-b"):
        assert main(["--collection", name, "ingest", "--config", config]) == 0
    capsys.readouterr()
    assert main(["ask", "--collection", "team-a", "--json", "--config", config,
                 "Who leads the zebra project?"]) == 0
    a = json.loads(capsys.readouterr().out)
    assert "Anna Berg" in a["answer"] and a["sources"] == ["zebra.txt"]
    assert main(["--collection", "team-b", "ask", "--json", "--config", config,
                 "Who leads the zebra project?"]) == 0
    b = json.loads(capsys.readouterr().out)
    seen = {c["source"] for c in b["citations"] + b.get("closest", [])}
    assert seen == {"orca.txt"} and "Anna" not in b["answer"]
    assert b["language"] == "en"
    assert main(["collections", "--json", "--config", config]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["team-a"]["documents"] == rows["team-b"]["documents"] == 1
    assert rows["default"]["documents"] is None  # never built here


def test_cli_unknown_collection_is_one_line_with_the_list(two: Settings, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    config = str(tmp_path / "qa.toml")
    assert main(["--collection", "nope", "ask", "--config", config, "Wer?"]) == 2
    err = capsys.readouterr().err
    assert err == ("error: no collection named 'nope'; collections: default, team-a, "
                   "team-b\n")
    assert main(["ask", "--collection", "Bad Name", "--config", config, "Wer?"]) == 2
    assert "collections: default, team-a, team-b" in capsys.readouterr().err
    assert main(["--collection", "team-a", "serve", "--config", config]) == 2
    assert "does not take --collection" in capsys.readouterr().err


# -- HTTP -----------------------------------------------------------------------------------------
ALL, A_ONLY, A_READ = "all-key-0123456789", "a-only-key-0123456789", "a-read-key-0123456789"


def serve(two: Settings, **config: Any) -> LiveServer:
    built(two)
    assistant = Assistant.load(two, embedder=FakeEmbedder(), generator=FakeGenerator())
    config.setdefault("warm_up", False)
    app = create_app(assistant, config=ServerConfig(**config))
    return LiveServer(app)


def sources(hits: list[dict[str, Any]]) -> set[str]:
    return {h["chunk"]["source"] if "chunk" in h else h["source"] for h in hits}


@pytest.mark.server
def test_http_two_collections_answer_independently(two: Settings) -> None:
    with serve(two) as srv, httpx.Client(base_url=srv.url, timeout=30) as http:
        r = http.get("/v1/collections").json()["collections"]
        assert [c["name"] for c in r] == ["default", "team-a", "team-b"]
        assert [c["model"] for c in r] == ["qa", "qa:team-a", "qa:team-b"]
        assert r[1]["loaded"] is False and r[1]["documents"] is None  # loaded on first use
        q = {"question": "Who leads the zebra project?"}
        a = http.post("/v1/collections/team-a/search", json=q).json()
        b = http.post("/v1/collections/team-b/search", json=q).json()
        assert sources(a["hits"]) == {"zebra.txt"} and sources(b["hits"]) == {"orca.txt"}
        plain = http.post("/v1/search", json=q).json()  # the plain routes: the default
        assert not sources(plain["hits"]) & {"zebra.txt", "orca.txt"}
        ask = http.post("/v1/collections/team-a/ask", json=q).json()
        assert "Anna Berg" in ask["answer"] and ask["citations"][0]["source"] == "zebra.txt"
        assert http.get("/v1/collections").json()["collections"][1]["documents"] == 1
        docs = http.get("/v1/collections/team-b/documents").json()["documents"]
        assert [d["source"] for d in docs] == ["orca.txt"]
        # unknown: 404 with the list, in both error shapes
        for path in ("/v1/collections/nope/ask", "/v1/collections/Bad%20Name/search"):
            r = http.post(path, json=q)
            assert r.status_code == 404, path
            body = r.json()
            assert body["collections"] == ["default", "team-a", "team-b"]
            assert "collections: default, team-a, team-b" in body["error"]["message"]
        assert http.get("/v1/collections/nope/documents").status_code == 404


@pytest.mark.server
def test_openai_model_names_the_collection(two: Settings) -> None:
    with serve(two) as srv, httpx.Client(base_url=srv.url, timeout=30) as http:
        ids = [m["id"] for m in http.get("/v1/models").json()["data"]]
        assert ids == ["qa", "qa:team-a", "qa:team-b"]
        msg = [{"role": "user", "content": "Who leads the orca project?"}]
        r = http.post("/v1/chat/completions", json={"model": "qa:team-b", "messages": msg})
        body = r.json()
        assert r.status_code == 200 and body["model"] == "qa:team-b"
        assert "Otto Lind" in body["choices"][0]["message"]["content"]
        assert {c["source"] for c in body["citations"]} == {"orca.txt"}
        with http.stream("POST", "/v1/chat/completions",
                         json={"model": "qa:team-a", "messages": msg, "stream": True}) as s:
            chunks = [json.loads(line[6:]) for line in s.iter_lines()
                      if line.startswith("data: {")]
        assert {c["model"] for c in chunks} == {"qa:team-a"}
        assert "orca.txt" not in json.dumps(chunks) and "Otto" not in json.dumps(chunks)
        r = http.post("/v1/chat/completions", json={"model": "qa:nope", "messages": msg})
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
        assert "models: qa, qa:team-a, qa:team-b" in r.json()["error"]["message"]


@pytest.mark.server
def test_documents_change_per_collection(two: Settings) -> None:
    with serve(two, api_keys=(ALL,)) as srv, httpx.Client(
            base_url=srv.url, timeout=30, headers={"Authorization": f"Bearer {ALL}"}) as http:
        files = {"files": ("lynx.txt", b"The lynx project is led by Lea Kurz.\n", "text/plain")}
        r = http.post("/v1/collections/team-a/documents", files=files)
        assert r.status_code == 201, r.text
        a = {d["source"] for d in http.get("/v1/collections/team-a/documents").json()["documents"]}
        assert a == {"zebra.txt", "lynx.txt"}
        plain = {d["source"] for d in http.get("/v1/documents").json()["documents"]}
        assert "lynx.txt" not in plain
        hits = http.post("/v1/collections/team-a/search",
                         json={"question": "Who leads the lynx project?"}).json()["hits"]
        assert hits[0]["chunk"]["source"] == "lynx.txt"
        r = http.delete("/v1/collections/team-a/documents/lynx.txt")
        assert r.status_code == 200 and r.json()["deleted"] == "lynx.txt"
        r = http.post("/v1/collections/team-b/documents:rebuild", json={"full": False})
        assert r.status_code == 200
        assert http.delete("/v1/collections/team-b/documents/zebra.txt").status_code == 404


@pytest.mark.server
def test_ratings_are_stored_and_exported_with_the_collection_that_answered(
        two: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    from qa.feedback import read_feedback

    q = {"question": "Who leads the zebra project?"}
    msg = [{"role": "user", "content": "Who leads the orca project?"}]
    with serve(two) as srv, httpx.Client(base_url=srv.url, timeout=30) as http:
        ids = [http.post("/v1/collections/team-a/ask", json=q).json()["answer_id"],
               http.post("/v1/chat/completions", json={"model": "qa:team-b", "messages": msg}
                         ).json()["qa"]["answer_id"],
               http.post("/v1/ask", json=q).json()["answer_id"]]
        for answer_id in ids:  # one route rates the answers of every collection
            r = http.post("/v1/feedback", json={"answer_id": answer_id, "rating": "down"})
            assert r.status_code == 201, r.text
    store = two.data_dir / "feedback.jsonl"
    assert [(r["answer_id"], r["collection"]) for r in read_feedback(store)] == [
        (ids[0], "team-a"), (ids[1], "team-b"), (ids[2], "default")]
    capsys.readouterr()
    assert main(["feedback", "export", "--file", str(store)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # the same question in two collections: two candidates, each with its collection
    assert [(r["id"], r["question"], r["feedback"]["collection"]) for r in rows] == [
        (f"fb-{ids[0]}", q["question"], "team-a"),
        (f"fb-{ids[1]}", msg[0]["content"], "team-b"),
        (f"fb-{ids[2]}", q["question"], "default")]


@pytest.mark.server
def test_keys_limited_to_a_collection_and_read_only(two: Settings) -> None:
    keys = (ALL, f"{A_ONLY}@team-a", f"{A_READ}@team-a:ro")
    q = {"question": "Who leads the zebra project?"}
    files = {"files": ("lynx.txt", b"The lynx project is led by Lea Kurz.\n", "text/plain")}

    def as_key(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    with serve(two, host="0.0.0.0", api_keys=keys) as srv, httpx.Client(
            base_url=srv.url, timeout=30) as http:
        assert http.post("/v1/collections/team-a/search", json=q).status_code == 401
        assert http.post("/v1/collections/team-a/search", json=q,
                         headers=as_key(A_ONLY)).status_code == 200
        for path in ("/v1/collections/team-b/search", "/v1/search"):  # default is another
            r = http.post(path, json=q, headers=as_key(A_ONLY))
            assert r.status_code == 403, path
            assert r.json()["error"]["message"].startswith("this API key may not use collection")
        # an unknown collection lists only the ones the key may use
        r = http.post("/v1/collections/nope/search", json=q, headers=as_key(A_ONLY))
        assert r.status_code == 404 and r.json()["collections"] == ["team-a"]
        assert [c["name"] for c in http.get(
            "/v1/collections", headers=as_key(A_ONLY)).json()["collections"]] == ["team-a"]
        assert [m["id"] for m in http.get("/v1/models", headers=as_key(A_ONLY)).json()[
            "data"]] == ["qa:team-a"]
        msg = [{"role": "user", "content": "Who leads the orca project?"}]
        r = http.post("/v1/chat/completions", json={"model": "qa:team-b", "messages": msg},
                      headers=as_key(A_ONLY))
        assert r.status_code == 403
        # read-only: reads yes, changes no
        assert http.post("/v1/collections/team-a/ask", json=q,
                         headers=as_key(A_READ)).status_code == 200
        r = http.post("/v1/collections/team-a/documents", files=files, headers=as_key(A_READ))
        assert r.status_code == 403 and "read-only" in r.json()["detail"]
        r = http.post("/v1/collections/team-a/documents:rebuild", headers=as_key(A_READ))
        assert r.status_code == 403
        r = http.post("/v1/collections/team-b/documents", files=files, headers=as_key(A_ONLY))
        assert r.status_code == 403
        r = http.post("/v1/collections/team-a/documents", files=files, headers=as_key(A_ONLY))
        assert r.status_code == 201, r.text
        # MCP over HTTP: the same key rule for the tools' collection argument
        async def use(s: Any) -> Any:
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert "collection" in tools["ask"].input_schema["properties"]
            assert "ctx" not in tools["ask"].input_schema["properties"]
            own = await s.call_tool("search", {"query": "zebra project", "collection": "team-a"})
            other = await s.call_tool("search", {"query": "orca", "collection": "team-b"})
            plain = await s.call_tool("search", {"query": "orca"})
            return own, other, plain
        own, other, plain = over_http(srv.url, use, A_ONLY)
        assert sources(own.structured_content["results"]) >= {"zebra.txt"}
        assert other.is_error and "may not use collection 'team-b'" in other.content[0].text
        assert plain.is_error  # the default collection is another one too


@pytest.mark.server
def test_mcp_tools_take_a_collection(two: Settings) -> None:
    async def use(s: Any) -> Any:
        b = await s.call_tool("ask", {"question": "Who leads the orca project?",
                                      "collection": "team-b"})
        passage = await s.call_tool("fetch", {"id": "orca.txt", "collection": "team-b"})
        missing = await s.call_tool("fetch", {"id": "orca.txt"})  # not in the default one
        unknown = await s.call_tool("search", {"query": "x", "collection": "nope"})
        return b, passage, missing, unknown

    with serve(two) as srv:
        b, passage, missing, unknown = over_http(srv.url, use)
    assert "Otto Lind" in b.structured_content["answer"]
    assert b.structured_content["citations"][0]["source"] == "orca.txt"
    assert passage.structured_content["text"] == ORCA.strip()
    assert missing.is_error
    assert unknown.is_error and "collections: default, team-a, team-b" in unknown.content[0].text


@pytest.mark.server
def test_a_key_limit_naming_no_collection_is_refused_at_start(two: Settings) -> None:
    assistant = Assistant.load(built(two), embedder=FakeEmbedder(), generator=FakeGenerator())
    with pytest.raises(QAError, match="unknown collection"):
        create_app(assistant, config=ServerConfig(api_keys=(f"{ALL}@team-c",), warm_up=False))


@pytest.mark.server
def test_collection_names_in_paths_are_refused(two: Settings) -> None:
    with pytest.raises(UnknownCollection):
        resolve(two, "../a")
    with serve(two) as srv, httpx.Client(base_url=srv.url, timeout=30) as http:
        for name in ("..%2Fa", "%2e%2e", "TEAM-A", "a" * 70, "team-a%00"):
            r = http.post(f"/v1/collections/{name}/search", json={"question": "x"})
            assert r.status_code == 404, name  # no route, or no such collection
        for name in ("TEAM-A", "a" * 70, "team-a%00"):
            r = http.post(f"/v1/collections/{name}/search", json={"question": "x"})
            assert r.json()["collections"] == ["default", "team-a", "team-b"], name


@pytest.mark.server
def test_the_curl_lines_of_the_docs_collections_section_run(two: Settings, tmp_path: Path
                                                            ) -> None:
    import subprocess

    text = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
    block = text.split("## Collections", 1)[1].split("```console", 1)[1].split("```", 1)[0]
    lines = block.replace("\\\n", "").splitlines()
    curls = [ln for ln in lines if ln.startswith("curl ")]
    assert len(curls) == 2
    with serve(two) as srv:
        for line in curls:
            r = subprocess.run(["bash", "-c", line.replace("localhost:8000", srv.url)],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0 and '"error"' not in r.stdout, (line, r.stdout)
            assert "team-b" in r.stdout or "orca.txt" in r.stdout
