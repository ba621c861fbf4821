"""The PostgreSQL + pgvector store against a real server: the store contract, and what only a
database adds (unreachable server, schema versions, concurrent writers, failed transactions).

One embedded server (pgserver) per module in a temporary folder; every test gets a schema of its
own, so tests start empty and do not see each other.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.errors import IndexMismatchError, StoreUnavailableError
from qa.testing import FakeEmbedder, StoreContract

pytest.importorskip("psycopg")
pytest.importorskip("pgserver")

from qa.stores.postgres import SCHEMA_VERSION, PostgresBackend, schema  # noqa: E402
from qa.stores.postgres.backend import _embedded_server  # noqa: E402

pytestmark = pytest.mark.server
_schemas = itertools.count()


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = _embedded_server(tmp_path_factory.mktemp("pg") / "data")
    yield str(server.get_uri())
    server.cleanup()


@pytest.fixture
def backend(server_url: str) -> Iterator[PostgresBackend]:
    b = PostgresBackend.at(server_url, schema=f"t{next(_schemas)}")
    yield b
    b.close()


class TestPostgresStoreContract(StoreContract):
    @pytest.fixture
    def reopen(self) -> Callable[[PostgresBackend], PostgresBackend]:
        return lambda backend: PostgresBackend.at(backend.url, schema=backend.schema)


def _write(backend: PostgresBackend, records: Any, **kw: Any) -> Any:
    return StoreContract.write(StoreContract(), backend, records, **kw)


def _state(backend: PostgresBackend) -> tuple[Any, ...]:
    store = backend.open(StoreContract.config())
    m = store.manifest
    return (m["documents"], m["chunks"], m["sentences"], store.list_documents(),
            sorted(store.search(np.ones(StoreContract.dim, dtype=np.float32) / 8, 100)))


def test_unreachable_database_is_one_clear_line() -> None:
    b = PostgresBackend.at("postgresql://qa:s3cret@127.0.0.1:1/articles?connect_timeout=2")
    for call in (b.exists, b.open, lambda: _write(b, [])):
        with pytest.raises(StoreUnavailableError) as e:
            call()
        message = str(e.value)
        assert "\n" not in message and "s3cret" not in message
        assert "127.0.0.1:1" in message and "cannot be reached" in message


def test_unreachable_database_from_the_cli(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {"QA_STORE": "postgres", "QA_CONFIG": "",
           "QA_DATABASE_URL": "postgresql://qa@127.0.0.1:1/qa?connect_timeout=2",
           "QA_INDEX_DIR": str(tmp_path / "index"), "QA_DATA_DIR": str(tmp_path / "data"),
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "qa.cli", "ask", "Wer leitet Alibaba?"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be reached" in lines[0], out.stderr


def test_schema_version_mismatch_is_refused_and_a_rebuild_fixes_it(backend: PostgresBackend) -> None:
    recs = StoreContract().records()
    _write(backend, recs)
    conn = backend.connect()
    conn.execute(f'UPDATE "{backend.schema}".meta SET schema_version = 999')
    conn.close()
    with pytest.raises(IndexMismatchError, match=r"schema version 999.*--rebuild") as e:
        backend.open(StoreContract.config())
    assert "\n" not in str(e.value)
    with pytest.raises(IndexMismatchError, match="schema version"):
        _write(backend, recs[:1])  # an update does not write into tables of another version
    store = _write(backend, recs[:1], replace=True)
    assert store.manifest["schema_version"] == SCHEMA_VERSION
    assert [d.source for d in store.list_documents()] == ["a.txt"]


def test_concurrent_writers_are_serialised(server_url: str) -> None:
    schema = f"t{next(_schemas)}"
    recs = StoreContract().records()
    spans: list[tuple[float, float]] = []
    errors: list[BaseException] = []

    def ingest(records: Any) -> None:
        b = PostgresBackend.at(server_url, schema=schema)
        try:
            with b.lock():
                start = time.monotonic()
                time.sleep(0.5)  # read the manifest, embed ...
                b.write(StoreContract.config(), StoreContract.dim, records)
                spans.append((start, time.monotonic()))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            b.close()

    threads = [threading.Thread(target=ingest, args=([r],)) for r in recs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(spans) == 3
    spans.sort()
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans
    b = PostgresBackend.at(server_url, schema=schema)
    assert sorted(b.open().manifest["documents"]) == ["a.txt", "b.txt", "c.txt"]
    b.close()


def test_readers_do_not_wait_for_the_ingest_lock(backend: PostgresBackend) -> None:
    _write(backend, StoreContract().records("a.txt"))
    other = PostgresBackend.at(backend.url, schema=backend.schema)
    with backend.lock():
        t0 = time.monotonic()
        assert other.open(StoreContract.config()).list_documents()
        assert time.monotonic() - t0 < 2
    other.close()


@pytest.mark.parametrize("replace", [False, True])
def test_a_failing_write_leaves_the_previous_state(backend: PostgresBackend,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   replace: bool) -> None:
    recs = StoreContract().records()
    _write(backend, recs[:2])
    before = _state(backend)
    real_copy = schema._copy
    calls = []

    def failing_copy(*args: Any) -> None:
        calls.append(args[1])
        real_copy(*args)
        if len(calls) == 2:  # documents and chunks are in, sentences are not
            raise RuntimeError("the embedder died")

    monkeypatch.setattr(schema, "_copy", failing_copy)
    with pytest.raises(RuntimeError, match="embedder died"):
        _write(backend, recs[2:], delete=[recs[0].document.doc_id], replace=replace)
    monkeypatch.undo()
    assert _state(backend) == before
    assert not backend.open().manifest["documents"].get("c.txt")


def test_a_killed_ingest_leaves_the_database_consistent(backend: PostgresBackend,
                                                        tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    recs = StoreContract().records()
    _write(backend, recs[:1])
    before = _state(backend)
    ready = tmp_path / "ready"
    script = f"""
import time
from pathlib import Path
from qa.stores.postgres import PostgresBackend, schema
from qa.testing import StoreContract
real = schema._copy
def slow_copy(*args):
    real(*args)
    Path({str(ready)!r}).write_text("x")
    time.sleep(60)
schema._copy = slow_copy
b = PostgresBackend.at({backend.url!r}, schema={backend.schema!r})
with b.lock():
    b.write(StoreContract.config(), StoreContract.dim, StoreContract().records("b.txt", "c.txt"),
            delete=[{recs[0].document.doc_id!r}])
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert ready.exists(), "the writer did not start"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _state(backend) == before
    with backend.lock():  # the killed writer's lock went with its connection
        backend.write(StoreContract.config(), StoreContract.dim, recs)
    assert len(backend.open().list_documents()) == 3


def test_dimension_change_needs_a_rebuild(backend: PostgresBackend) -> None:
    old = StoreContract().records("a.txt")[0]
    before = _write(backend, [old])
    ids = [u.sentence_id for u in old.sentences]
    for _ in range(6):  # psycopg prepares a statement from its fifth run on
        assert before.sentence_vectors_of(ids).shape == (len(ids), StoreContract.dim)
    emb = FakeEmbedder(dim=16)
    from qa.testing import CONTRACT_TEXTS, make_document, make_record

    rec = make_record(make_document(CONTRACT_TEXTS["b.txt"], "b.txt"), emb)
    with pytest.raises(IndexMismatchError, match="dimension 32.*16"):
        backend.write(StoreContract.config(), 16, [rec])
    backend.write(StoreContract.config(), 16, [rec], replace=True)
    store = backend.open()
    assert store.manifest["dim"] == 16
    assert store.search(rec.chunk_vectors[0], 1)[0][0] == rec.chunks[0].chunk_id
    # the same reading connection, its prepared statement now returning vector(16)
    got = before.sentence_vectors_of([u.sentence_id for u in rec.sentences])
    assert np.allclose(got, rec.sentence_vectors, atol=1e-5)


def test_english_documents_are_stemmed_in_english(backend: PostgresBackend) -> None:
    from qa.testing import make_document, make_record

    doc = make_document("The companies are building data centres. Shares rose sharply.", "en.txt")
    rec = make_record(doc, FakeEmbedder(dim=StoreContract.dim))
    store = _write(backend, [rec] + StoreContract().records("a.txt"))
    hits = store.lexical_search("Which company builds centres?", 5)
    assert hits and all(store.chunks_by_id([i])[0].doc_id == doc.doc_id for i, _ in hits)
    assert store.lexical_coverage("company shares") == 1.0
    assert store.lexical_coverage("the of and") == 0.0  # stop words only


def test_search_beyond_ef_search_is_exact(backend: PostgresBackend) -> None:
    store = _write(backend, StoreContract().records())
    q = FakeEmbedder(dim=StoreContract.dim).embed(["Cloud"], "query")[0]
    hits = store.search(q, 2000)
    assert len(hits) == store.manifest["chunks"]
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_settings_give_the_embedded_server(tmp_path: Path) -> None:
    from qa.config import Settings
    from qa.registry import create

    settings = Settings(store="postgres", data_dir=tmp_path / "data", embed_model="fake-embedder")
    b = create("store", "postgres", settings)
    assert isinstance(b, PostgresBackend) and b.name == "postgres"
    assert not b.exists()
    store = _write(b, StoreContract().records("a.txt"))
    assert (tmp_path / "data" / "postgres" / "PG_VERSION").exists()
    assert [d.source for d in store.list_documents()] == ["a.txt"]
    b.close(stop=True)


@pytest.mark.integration
def test_demo_corpus_retrieval_matches_the_faiss_store(tmp_path: Path) -> None:
    """`qa ingest` into the embedded server, then the retrieval-only eval on the gold set with
    the real embedder: hit@5 within 0.02 of the FAISS store's on the same corpus."""
    import os
    import subprocess
    import sys

    from qa.assistant import Assistant
    from qa.composition import make_embedder
    from qa.config import Settings
    from qa.evaluation import load_gold, run
    from qa.ingest.pipeline import ingest
    from qa.testing import FakeGenerator

    root = Path(__file__).resolve().parent.parent
    articles = root / "data" / "articles"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_CONFIG="", QA_STORE="postgres", QA_DATA_DIR=str(tmp_path / "data"),
               QA_CORPUS_DIR=str(articles), QA_INDEX_DIR=str(tmp_path / "index"))
    out = subprocess.run([sys.executable, "-m", "qa.cli", "ingest"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0 and "indexed 5 new" in out.stdout, out.stdout + out.stderr[-2000:]

    base = Settings(corpus_dir=articles, index_dir=tmp_path / "index",
                    data_dir=tmp_path / "data", cache_dir=Settings().cache_dir)
    embedder = make_embedder(base)
    gold = load_gold(root / "eval" / "gold.jsonl")
    scores = {}
    for store in ("postgres", "faiss"):
        settings = base.replace(store=store)
        if store == "faiss":
            ingest(settings, embedder=embedder)
        assistant = Assistant.load(settings, embedder=embedder, generator=FakeGenerator())
        manifest = assistant.index.manifest
        assert (manifest["store"], manifest["chunks"]) == (store, 50)
        scores[store] = run(settings, gold, retrieval_only=True, assistant=assistant)["scores"]
        if store == "postgres":
            assistant.store.close(stop=True)  # type: ignore[union-attr]
    assert abs(scores["postgres"]["hit@5"] - scores["faiss"]["hit@5"]) <= 0.02, scores


def test_document_frequencies_follow_every_write(backend: PostgresBackend) -> None:
    from qa.testing import CONTRACT_TEXTS, make_document, make_record

    recs = StoreContract().records()
    _write(backend, recs)
    _write(backend, [], delete=[recs[1].document.doc_id])
    changed = make_record(make_document(CONTRACT_TEXTS["a.txt"] + " Die Cloud wächst.", "a.txt"),
                          FakeEmbedder(dim=StoreContract.dim))
    _write(backend, [changed, recs[2]], delete=[recs[0].document.doc_id])
    s = f'"{backend.schema}"'
    conn = backend.connect()
    kept = dict(conn.execute(f"SELECT lexeme, df FROM {s}.lexemes").fetchall())
    counted = dict(conn.execute(f"SELECT u.lexeme, count(*) FROM {s}.chunks c, unnest(c.tsv) u "
                                "GROUP BY u.lexeme").fetchall())
    conn.close()
    assert kept == counted and "cloud" in kept


def test_lexical_candidates_come_from_the_rarest_words(backend: PostgresBackend,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.stores.postgres import store as reading

    recs = StoreContract().records()
    store = _write(backend, recs)
    exact = store.lexical_search("Prozent Hongkong", 10)
    monkeypatch.setattr(reading, "CANDIDATES", 1)  # only the rarest word gathers candidates
    pruned = store.lexical_search("Prozent Hongkong", 10)
    assert pruned[0] == exact[0] and len(pruned) < len(exact)
    assert store.chunks_by_id([pruned[0][0]])[0].doc_id == recs[2].document.doc_id


def test_one_process_asks_whether_an_index_exists_then_builds_and_reads_it(
        server_url: str) -> None:
    """The UI's first start on a new database: ``exists()`` opens the reading connection
    before the vector extension exists; after the first write that connection must read
    vectors (it failed with "cannot adapt type 'ndarray'" before the reader was reset)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    from qa.testing import StoreContract

    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS qa_fresh")
        admin.execute("CREATE DATABASE qa_fresh")
    backend = PostgresBackend.at(make_conninfo(server_url, dbname="qa_fresh"))
    contract = StoreContract()
    assert not backend.exists()
    store = contract.write(backend, contract.records())
    q = contract.records("a.txt")[0].chunk_vectors[0]
    assert store.search(q, 1)[0][1] > 0.99
    backend.close()


def test_threads_share_a_bounded_pool_and_all_read_right(server_url: str) -> None:
    """Eight threads (an HTTP server's workers, the UI's sessions) read through one backend at
    once: every answer is the one a lone reader gets, and no more than ``pool_size``
    connections are opened."""
    from concurrent.futures import ThreadPoolExecutor

    backend = PostgresBackend.at(server_url, schema=f"t{next(_schemas)}", pool_size=3)
    contract = StoreContract()
    recs = contract.records()
    store = contract.write(backend, recs)
    emb = FakeEmbedder(dim=StoreContract.dim)
    questions = ["Cloud Umsatz", "Prozent Hongkong", "Wer leitet Alibaba?", "Aktien Gewinn"]
    vectors = emb.embed(questions, "query")
    ids = [c.chunk_id for r in recs for c in r.chunks]

    def read(i: int) -> tuple[Any, ...]:
        j = i % len(questions)
        return (store.search(vectors[j], 5), store.lexical_search(questions[j], 5),
                [c.chunk_id for c in store.chunks_by_id(ids[j::3])],
                len(store.list_documents()))

    expected = [read(i) for i in range(len(questions))]
    try:
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(read, range(200)))
        assert got == [expected[i % len(questions)] for i in range(200)]
        stats = backend._read_connection()._connections().get_stats()
        assert stats["pool_max"] == 3 and 1 <= stats["pool_size"] <= 3
        assert stats["requests_num"] >= 800  # every call took a connection from the pool
    finally:
        backend.close()


def test_a_database_that_goes_down_under_the_pool_is_one_clear_line(tmp_path: Path) -> None:
    """The pool's connections are open when the server stops: the next read says so in one
    line at once (not after the pool's wait for a free connection)."""
    server = _embedded_server(tmp_path / "data")
    backend = PostgresBackend.at(str(server.get_uri()), pool_size=2)
    contract = StoreContract()
    store = contract.write(backend, contract.records())
    assert store.lexical_search("Cloud", 3)
    server.cleanup()  # stops it: this process was its only user
    try:
        for _ in range(2):  # the pool is closed, and the next call finds it down as well
            t = time.perf_counter()
            with pytest.raises(StoreUnavailableError) as e:
                store.lexical_search("Cloud", 3)
            assert time.perf_counter() - t < 5
            message = str(e.value)
            assert "\n" not in message and "cannot be reached" in message
    finally:
        backend.close()


def test_a_file_with_a_nul_byte_after_8kb_does_not_stop_the_ingest(
        backend: PostgresBackend, tmp_path: Path) -> None:
    """Issue 24, defect 4: PostgreSQL text cannot hold NUL; the file is skipped with its
    reason and the other articles go in."""
    import shutil

    from qa.config import Settings
    from qa.ingest.pipeline import ingest

    corpus = tmp_path / "articles"
    shutil.copytree(Path(__file__).resolve().parent.parent / "data" / "articles", corpus)
    (corpus / "nul.txt").write_bytes(b"Ein Satz \xc3\xbcber Rechenzentren. " * 400 + b"\x00 Ende.")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", data_dir=tmp_path,
                        embed_model="fake-embedder")
    report, skipped = ingest(settings, embedder=FakeEmbedder(), store=backend)
    assert len(skipped) == 1 and skipped[0].path.endswith("nul.txt") and "NUL byte" in str(skipped[0])
    assert len(report.added) == 5 and report.wrote


def test_a_process_ended_by_sigterm_does_not_keep_the_embedded_server_for_ever(
        tmp_path: Path) -> None:
    """Issue 24, defect 11: a process killed without running its exit handlers stays on
    pgserver's list of users, and the server was never stopped again; the next user forgets
    it, and the server stops when that one exits cleanly."""
    import json
    import os
    import signal
    import subprocess
    import sys

    data = tmp_path / "pg"
    start = ("import sys, time; from qa.stores.postgres.backend import _embedded_server; "
             "_embedded_server(sys.argv[1]); print('up', flush=True); "
             "time.sleep(120)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    killed = subprocess.Popen([sys.executable, "-c", start, str(data)], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert killed.stdout is not None and killed.stdout.readline().strip() == "up"
    finally:
        killed.send_signal(signal.SIGTERM)  # Python's default: no exit handlers
        killed.wait(30)
    assert killed.pid in json.loads((data / ".handle_pids.json").read_text())
    assert (data / "postmaster.pid").exists()
    clean = subprocess.run([sys.executable, "-c", "import sys; from qa.stores.postgres.backend "
                            "import _embedded_server; _embedded_server(sys.argv[1])", str(data)],
                           env=env, capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stderr
    assert not (data / "postmaster.pid").exists()  # the last user stopped it
    assert json.loads((data / ".handle_pids.json").read_text()) == []
