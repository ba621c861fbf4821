"""Collections on the PostgreSQL store, against a real embedded server (pgserver): each
collection in a schema of its own in one database. Ingest, search, filters and delete stay in
their collection, in the library (``Catalog``, ``DocumentLibrary``) and over HTTP on a real
uvicorn; a bad name never reaches SQL.

One server per module; every test gets its own global ``pg_schema`` prefix, so the collections'
schemas (``<prefix>_team_a``) of two tests do not meet.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_collections import ORCA, ZEBRA, sources
from test_server import LiveServer

from qa.assistant import Assistant, ingest
from qa.collections import Catalog, UnknownCollection, describe, names, pg_schema, resolve
from qa.config import Settings
from qa.documents import DocumentLibrary
from qa.errors import QAError
from qa.filters import Filter
from qa.server import ServerConfig, create_app
from qa.testing import FakeEmbedder, FakeGenerator

pytest.importorskip("psycopg")
pytest.importorskip("pgserver")

from qa.stores.postgres import PostgresBackend  # noqa: E402
from qa.stores.postgres.backend import _embedded_server  # noqa: E402

pytestmark = pytest.mark.server
_prefixes = itertools.count()
LYNX = "The lynx project is led by Lea Kurz. It started in Graz in 2020.\n"


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = _embedded_server(tmp_path_factory.mktemp("pg") / "data")
    yield str(server.get_uri())
    server.cleanup()


@pytest.fixture
def two(tmp_path: Path, settings: Settings, server_url: str) -> Iterator[Settings]:
    """team-a (zebra) and team-b (orca) beside the default collection (the demo articles), all
    on PostgreSQL in one database; nothing built yet."""
    for name, text in (("a", ZEBRA), ("b", ORCA)):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{'zebra' if name == 'a' else 'orca'}.txt").write_text(text)
    prefix = f"c{next(_prefixes)}"
    toml = tmp_path / "qa.toml"
    toml.write_text(f'corpus_dir = "{settings.corpus_dir}"\nindex_dir = "{tmp_path / "index"}"\n'
                    f'data_dir = "{settings.data_dir}"\ncache_dir = "{settings.cache_dir}"\n'
                    f'embed_model = "fake-embedder"\nstore = "postgres"\n'
                    f'database_url = "{server_url}"\npg_schema = "{prefix}"\n'
                    f'[collections.team-a]\ncorpus_dir = "{tmp_path / "a"}"\n'
                    f'[collections.team-b]\ncorpus_dir = "{tmp_path / "b"}"\nlanguage = "en"\n')
    yield Settings.load(toml, env={})


def build(two: Settings) -> Settings:
    embedder = FakeEmbedder()
    for name in names(two):
        ingest(resolve(two, name), embedder=embedder)
    return two


def test_each_collection_has_its_own_schema(two: Settings) -> None:
    prefix = two.pg_schema
    a, b = resolve(two, "team-a"), resolve(two, "team-b")
    assert (a.pg_schema, b.pg_schema) == (f"{prefix}_team_a", f"{prefix}_team_b")
    assert PostgresBackend(a).schema == f"{prefix}_team_a"
    assert PostgresBackend(two).schema == prefix  # the default collection: the global schema
    assert pg_schema("qa", "x" * 64).startswith("qa_xxx") and len(pg_schema("qa", "x" * 64)) == 41
    rows = {r["name"]: r for r in describe(two)}
    assert rows["team-a"]["index"] == f"postgres schema {prefix}_team_a"
    assert rows["team-a"]["documents"] is None  # not built yet


def test_a_document_in_one_collection_is_not_found_in_another(two: Settings,
                                                              server_url: str) -> None:
    build(two)
    embedder, generator = FakeEmbedder(), FakeGenerator()
    catalog = Catalog(Assistant.load(two, embedder=embedder, generator=generator))
    a, b = catalog.get("team-a"), catalog.get("team-b")
    assert a.generator is generator and a.store.schema != b.store.schema  # type: ignore[attr-defined]
    for question in ("Who leads the zebra project?", "Who leads the orca project?"):
        assert {h.chunk.source for h in a.retrieve(question)} == {"zebra.txt"}
        assert {h.chunk.source for h in b.retrieve(question)} == {"orca.txt"}
        assert not {h.chunk.source for h in catalog.get(None).retrieve(question)} & {
            "zebra.txt", "orca.txt"}
    rows = {r["name"]: r for r in describe(two)}
    assert (rows["default"]["documents"], rows["team-a"]["documents"],
            rows["team-b"]["documents"]) == (5, 1, 1)
    # the tables really are in separate schemas of the one database
    import psycopg

    with psycopg.connect(server_url) as conn:
        found = {r[0] for r in conn.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'documents' "
            "AND table_schema LIKE %s", (f"{two.pg_schema}%",))}
    assert found == {two.pg_schema, f"{two.pg_schema}_team_a", f"{two.pg_schema}_team_b"}


def test_add_filter_and_delete_stay_in_their_collection(two: Settings, tmp_path: Path) -> None:
    build(two)
    embedder = FakeEmbedder()
    catalog = Catalog(Assistant.load(two, embedder=embedder, generator=FakeGenerator()))
    a, b = catalog.get("team-a"), catalog.get("team-b")
    library_a = DocumentLibrary(a.settings, a.embedder, a.store)
    library_b = DocumentLibrary(b.settings, b.embedder, b.store)
    lynx = tmp_path / "lynx.txt"
    lynx.write_text(LYNX)
    library_a.add([lynx])
    a.reload_index()
    b.reload_index()
    assert {d.source for d in library_a.list()} == {"zebra.txt", "lynx.txt"}
    assert {d.source for d in library_b.list()} == {"orca.txt"}
    question = "Who leads the lynx project?"
    assert a.retrieve(question)[0].chunk.source == "lynx.txt"
    assert "lynx.txt" not in {h.chunk.source for h in b.retrieve(question)}
    # a filter narrows within the collection; it cannot reach into another one
    only_zebra = a.retrieve(question, allowed=Filter(sources=("zebra.txt",)))
    assert {h.chunk.source for h in only_zebra} == {"zebra.txt"}
    assert b.retrieve(question, allowed=Filter(sources=("lynx.txt", "zebra.txt"))) == []
    # deleting from one leaves the other (and the same name in another is not touched)
    library_b.add([(lynx, "lynx.txt")])
    library_a.delete("lynx.txt")
    a.reload_index()
    b.reload_index()
    assert {d.source for d in library_a.list()} == {"zebra.txt"}
    assert {d.source for d in library_b.list()} == {"orca.txt", "lynx.txt"}
    assert b.retrieve(question)[0].chunk.source == "lynx.txt"
    assert "lynx.txt" not in {h.chunk.source for h in a.retrieve(question)}


def test_http_routes_per_collection_on_postgres(two: Settings) -> None:
    build(two)
    key = "pg-key-0123456789abcdef"
    assistant = Assistant.load(two, embedder=FakeEmbedder(), generator=FakeGenerator())
    app = create_app(assistant, config=ServerConfig(api_keys=(key,), warm_up=False))
    with LiveServer(app) as srv, httpx.Client(
            base_url=srv.url, timeout=60, headers={"Authorization": f"Bearer {key}"}) as http:
        q = {"question": "Who leads the zebra project?"}
        a = http.post("/v1/collections/team-a/search", json=q).json()
        b = http.post("/v1/collections/team-b/search", json=q).json()
        assert sources(a["hits"]) == {"zebra.txt"} and sources(b["hits"]) == {"orca.txt"}
        ask = http.post("/v1/collections/team-a/ask", json=q).json()
        assert "Anna Berg" in ask["answer"] and ask["citations"][0]["source"] == "zebra.txt"
        files = {"files": ("lynx.txt", LYNX.encode(), "text/plain")}
        r = http.post("/v1/collections/team-b/documents", files=files)
        assert r.status_code == 201, r.text
        docs_b = {d["source"] for d in http.get("/v1/collections/team-b/documents").json()[
            "documents"]}
        docs_a = {d["source"] for d in http.get("/v1/collections/team-a/documents").json()[
            "documents"]}
        assert (docs_a, docs_b) == ({"zebra.txt"}, {"orca.txt", "lynx.txt"})
        lynx_q = {"question": "Who leads the lynx project?"}
        r = http.post("/v1/collections/team-b/search",
                      json={**lynx_q, "filter": {"sources": ["lynx.txt"]}}).json()
        assert sources(r["hits"]) == {"lynx.txt"}
        r = http.post("/v1/collections/team-a/search",
                      json={**lynx_q, "filter": {"sources": ["lynx.txt"]}}).json()
        assert r["hits"] == []
        assert http.delete("/v1/collections/team-a/documents/lynx.txt").status_code == 404
        r = http.delete("/v1/collections/team-b/documents/lynx.txt")
        assert r.status_code == 200 and r.json()["deleted"] == "lynx.txt"
        assert http.post("/v1/collections/team-b/search", json=lynx_q).json()["hits"][0][
            "chunk"]["source"] == "orca.txt"
        listed = {c["name"]: c for c in http.get("/v1/collections").json()["collections"]}
        assert (listed["team-a"]["documents"], listed["team-b"]["documents"]) == (1, 1)
        r = http.post("/v1/collections/Bad%20Name/search", json=q)
        assert r.status_code == 404 and r.json()["collections"] == ["default", "team-a", "team-b"]


@pytest.mark.parametrize("name", ['a"; DROP SCHEMA qa CASCADE; --', "Team A", "../a", "x" * 65])
def test_a_bad_collection_name_never_reaches_sql(two: Settings, name: str,
                                                 server_url: str) -> None:
    with pytest.raises(UnknownCollection):
        resolve(two, name)
    with pytest.raises(QAError, match="bad collection name"):
        pg_schema("qa", name)
    with pytest.raises(QAError, match="postgres schema name"):
        PostgresBackend.at(server_url, schema=name)
