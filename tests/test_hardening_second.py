"""Issue 24 regressions (second hardening pass): document identity, uploads during an ingest,
NUL bytes, undecodable question files, index damage outside the one-line rule.

Every file is made by the test itself; the library runs with the fake embedder and generator,
the CLI in-process with them patched in (no model is loaded).
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from qa.assistant import Assistant
from qa.cli import main
from qa.config import Settings
from qa.errors import IndexMismatchError
from qa.ingest.pipeline import ingest
from qa.stores.faiss import current_version, load_index
from qa.testing import FakeEmbedder, FakeGenerator


def _ix(settings: Settings) -> list[str]:
    return ["--index-dir", str(settings.index_dir), "--embed-model", "fake-embedder"]


# -- 1: a document's identity is its source ----------------------------------------------------

def test_a_copy_of_a_file_is_a_second_document_and_the_folder_settles(
        settings: Settings, fake_models: FakeGenerator, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = settings.corpus_dir
    ingest_cli = ["ingest", "--corpus-dir", str(corpus), *_ix(settings)]
    assert main(ingest_cli) == 0
    first = sorted(p.name for p in corpus.glob("*.txt"))
    shutil.copy(corpus / first[0], corpus / "b_copy.txt")
    capsys.readouterr()
    outs = []
    for _ in range(3):
        assert main(ingest_cli) == 0
        outs.append(capsys.readouterr().out)
    assert "1 new" in outs[0]
    assert "up to date: 6 documents" in outs[1] and "up to date: 6 documents" in outs[2]
    index = load_index(settings.index_dir)
    assert sorted(d.source for d in index.documents) == sorted([*first, "b_copy.txt"])


def test_an_index_keyed_by_text_alone_asks_for_a_rebuild(settings: Settings) -> None:
    ingest(settings, embedder=FakeEmbedder())
    version = current_version(settings.index_dir)
    assert version is not None
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["config"]["doc_identity"] == "source"
    del manifest["config"]["doc_identity"]  # as an index written before issue 24
    (version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match=r"doc_identity: index has None.*--rebuild"):
        Assistant.load(settings, embedder=FakeEmbedder(), generator=FakeGenerator())
    report, _ = ingest(settings, embedder=FakeEmbedder())  # qa ingest rebuilds it
    assert report.wrote and len(report.added) == 5
    Assistant.load(settings, embedder=FakeEmbedder(), generator=FakeGenerator())


# -- 2: an upload during an ingest of the same folder ------------------------------------------

def _upload(settings: Settings, name: str, text: str) -> threading.Thread:
    """``DocumentLibrary.add`` of one new file in a thread of its own (as the server runs it)."""
    from qa.documents import DocumentLibrary

    src = settings.data_dir / "uploads" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text(text)
    lib = DocumentLibrary(settings, embedder=FakeEmbedder())
    thread = threading.Thread(target=lib.add, args=([src],))
    thread.start()
    return thread


def test_an_upload_during_an_ingest_keeps_the_ingests_documents(settings: Settings) -> None:
    ingest(settings, embedder=FakeEmbedder())
    (settings.corpus_dir / "neu.txt").write_text("Alibaba eröffnet ein Rechenzentrum in Island. "
                                                  "Es kostet zwei Milliarden Yuan.")
    started: list[threading.Thread] = []

    class UploadWhileEmbedding(FakeEmbedder):
        def embed(self, texts, kind):  # type: ignore[no-untyped-def]
            if not started:  # the ingest holds the writer lock and embeds: upload now
                started.append(_upload(settings, "upload.txt", "Ein hochgeladener Artikel über "
                                       "Chips aus Hangzhou."))
                started[0].join(timeout=2)
            return super().embed(texts, kind)

    report, _ = ingest(settings, embedder=UploadWhileEmbedding())
    assert report.added == ["neu.txt"]
    started[0].join(timeout=30)
    sources = {d.source for d in load_index(settings.index_dir).documents}
    assert {"neu.txt", "upload.txt"} <= sources and len(sources) == 7


def test_an_ingest_started_during_an_upload_keeps_the_upload(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.ingest import pipeline

    ingest(settings, embedder=FakeEmbedder())
    read_folder = pipeline.load_corpus
    started: list[threading.Thread] = []

    def folder_then_upload(*args, **kw):  # type: ignore[no-untyped-def]
        loaded = read_folder(*args, **kw)
        started.append(_upload(settings, "upload.txt", "Ein hochgeladener Artikel über Chips "
                               "aus Hangzhou."))
        started[0].join(timeout=2)  # the upload finishes here unless it waits for the ingest
        return loaded

    monkeypatch.setattr(pipeline, "load_corpus", folder_then_upload)
    ingest(settings, embedder=FakeEmbedder())
    started[0].join(timeout=30)
    assert "upload.txt" in {d.source for d in load_index(settings.index_dir).documents}


# -- 3: the database password is never printed -------------------------------------------------

PASSWORD_FORMS = [
    "host=127.0.0.1 port=1 user=qa password=s3cret dbname=qa connect_timeout=2",
    "host=127.0.0.1 port=1 password='s3 cret' connect_timeout=2",
    "qa:s3cret@127.0.0.1:1/qa",  # a URL without its scheme
    "postgresql://qa:s3 cret@127.0.0.1:1/qa?connect_timeout=2",  # a space in the password
    "postgresql://qa:s3cret@[::1:1/qa?connect_timeout=2",  # an unterminated IPv6 host
    "postgresql://qa:s3cret@127.0.0.1:1/qa?connect_timeout=2",
]


@pytest.mark.parametrize("url", PASSWORD_FORMS)
def test_no_message_shows_the_database_password(url: str) -> None:
    pytest.importorskip("psycopg")
    from qa.errors import StoreUnavailableError
    from qa.stores.postgres import PostgresBackend

    backend = PostgresBackend.at(url)
    messages = [repr(backend), backend.where]
    for call in (backend.exists, backend.open):
        with pytest.raises(StoreUnavailableError) as e:
            call()
        messages.append(str(e.value))
        assert e.value.__cause__ is None  # libpq's own message quotes the string
    for m in messages:
        assert "s3cret" not in m and "s3 cret" not in m and "\n" not in m, m
    assert "cannot be reached" in messages[-1] or "not a valid" in messages[-1]


@pytest.mark.parametrize("url", PASSWORD_FORMS[:3])
def test_qa_serve_does_not_print_the_database_password(
        url: str, settings: Settings, fake_models: FakeGenerator,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("psycopg")
    monkeypatch.setenv("QA_DATABASE_URL", url)
    code = main(["serve", "--store", "postgres", "--port", "1", *_ix(settings)])
    out = capsys.readouterr()
    assert code != 0 and "s3cret" not in out.err + out.out and "s3 cret" not in out.err + out.out
    assert len(out.err.strip().splitlines()) == 1, out.err


# -- 4: a NUL byte after the first 8 KB --------------------------------------------------------

def _nul_after_8kb(folder: Path) -> Path:
    path = folder / "nul.txt"
    path.write_bytes(("Ein Satz über Rechenzentren in Hangzhou. " * 300).encode()
                     + b"\x00" + b" Danach geht der Text weiter.")
    return path


def test_a_nul_byte_after_8kb_skips_the_file_with_its_reason(settings: Settings) -> None:
    from qa.corpus import clean_text, load_corpus

    _nul_after_8kb(settings.corpus_dir)
    loaded = load_corpus([settings.corpus_dir])
    assert [s.reason for s in loaded.skipped if s.path.endswith("nul.txt")] == [
        "binary content (NUL byte at offset 12,600), not text"]
    assert len(loaded.documents) == 5  # the rest goes in
    assert "\x00" not in clean_text("Aus einem PDF:\x00 ein Satz mit NUL.")


# -- 12: no bm25s debug lines ------------------------------------------------------------------

def test_no_bm25s_debug_line_on_ingest_or_upload(settings: Settings,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from qa.documents import DocumentLibrary

    caplog.set_level(logging.WARNING)  # the application's choice, as qa serve or a script sets it
    caplog.handler.setLevel(logging.NOTSET)  # a handler that shows what loggers let through
    logging.getLogger("bm25s").setLevel(logging.DEBUG)  # what importing bm25s does
    ingest(settings, embedder=FakeEmbedder())
    upload = settings.data_dir / "neu.txt"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_text("Ein neuer Artikel über Rechenzentren in Island.")
    assert DocumentLibrary(settings, embedder=FakeEmbedder()).add([upload]).ok
    assert "Building index" not in caplog.text and "bm25s" not in caplog.text


# -- 6, 7: qa answer refuses bad input before any model work -----------------------------------

def test_answer_with_a_questions_file_that_is_not_utf8_is_one_line(
        settings: Settings, fake_models: FakeGenerator, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    ingest(settings, embedder=FakeEmbedder())
    q = tmp_path / "q.jsonl"
    q.write_bytes(json.dumps({"id": "1", "question": "Wer baut Rechenzentren?"}).encode()
                  + b"\n" + '{"id": "2", "question": "Wie groß ist München?"}'.encode("latin-1"))
    out = tmp_path / "a.jsonl"
    assert main(["answer", "--questions", str(q), "--out", str(out), *_ix(settings)]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8 text" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
    assert fake_models.history == []


def test_answer_out_naming_a_folder_is_refused_before_any_answer(
        settings: Settings, fake_models: FakeGenerator, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    ingest(settings, embedder=FakeEmbedder())
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"id": "1", "question": "Wer baut Rechenzentren?"}) + "\n")
    folder = tmp_path / "answers"
    folder.mkdir()
    assert main(["answer", "--questions", str(q), "--out", str(folder), *_ix(settings)]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and len(err.strip().splitlines()) == 1
    assert fake_models.history == [] and list(folder.iterdir()) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# -- 8: index damage outside the one-line rule -------------------------------------------------

def _sql(statement: str):  # noqa: ANN202 - a damage function running SQL on rows.sqlite
    def damage(version: Path) -> None:
        import sqlite3

        con = sqlite3.connect(version / "rows.sqlite")
        con.execute(statement)
        con.commit()
        con.close()
    return damage


def _manifest(change):  # noqa: ANN001, ANN202 - a damage function rewriting manifest.json
    def damage(version: Path) -> None:
        path = version / "manifest.json"
        path.write_text(json.dumps(change(json.loads(path.read_text()))))
    return damage


def _reseal(version: Path) -> None:
    """Make the checksums match the damaged files again (damage the checksums cannot see)."""
    from qa.stores.versions import digest

    manifest = json.loads((version / "manifest.json").read_text())
    for name, entry in manifest.get("files", {}).items():
        entry.update(bytes=(version / name).stat().st_size, sha256=digest(version / name))
    (version / "manifest.json").write_text(json.dumps(manifest))


def _without(*keys: str):  # noqa: ANN202
    return _manifest(lambda m: {k: v for k, v in m.items() if k not in keys})


ROW_DAMAGE = {
    "first document row deleted": _sql("DELETE FROM documents WHERE row = 0"),
    "a chunk row deleted": _sql("DELETE FROM chunks WHERE row = 3"),
    "chunk text a blob": _sql("UPDATE chunks SET text = x'ff00ff'"),
    "chunk offsets garbled": _sql("UPDATE chunks SET start_offset = 'abc', end_offset = -7"),
    "document metadata garbled": _sql("UPDATE documents SET meta = '{not json'"),
    "sentence offsets garbled": _sql("UPDATE sentences SET end_offset = 'x'"),
    "chunks of no document": _sql("UPDATE chunks SET doc_row = 999"),
    "term counts garbled": _sql("UPDATE terms SET df = 'x'"),
}
MANIFEST_DAMAGE = {
    "manifest without dim": _without("dim"),
    "manifest without config": _without("config"),
    "manifest a list": _manifest(lambda m: [m]),
    "manifest a number": _manifest(lambda m: 3),
}


@pytest.mark.parametrize("sealed", [False, True], ids=["unsealed", "resealed"])
@pytest.mark.parametrize("damage", list(ROW_DAMAGE) + list(MANIFEST_DAMAGE))
def test_garbled_rows_and_manifests_are_the_corrupt_index_line(
        settings: Settings, fake_models: FakeGenerator, capsys: pytest.CaptureFixture[str],
        damage: str, sealed: bool) -> None:
    ingest(settings, embedder=FakeEmbedder())
    version = current_version(settings.index_dir)
    assert version is not None
    if not sealed:
        _manifest(lambda m: {k: v for k, v in m.items() if k != "files"})(version)
    {**ROW_DAMAGE, **MANIFEST_DAMAGE}[damage](version)
    if sealed and damage in ROW_DAMAGE:
        _reseal(version)
    capsys.readouterr()
    code = main(["ask", "Wie viel investiert Alibaba in KI?", *_ix(settings)])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    assert code == 2 or "corrupt" in out.out + out.err, (code, out)
    message = [line for line in (out.out + out.err).splitlines() if "corrupt" in line]
    assert message and "--rebuild" in message[0] and len(message[0]) < 400


def test_a_current_that_is_a_folder_or_huge_is_one_short_line_and_no_rebuild(
        settings: Settings, fake_models: FakeGenerator,
        capsys: pytest.CaptureFixture[str]) -> None:
    ingest(settings, embedder=FakeEmbedder())
    current = settings.index_dir / "CURRENT"
    current.unlink()
    current.mkdir()
    for command in (["ask", "Wer investiert?"], ["ingest", "--corpus-dir",
                                                 str(settings.corpus_dir)]):
        assert main([*command, *_ix(settings)]) == 2
        err = capsys.readouterr().err
        assert "corrupt (CURRENT is unreadable" in err and len(err.strip().splitlines()) == 1
    assert len(list(settings.index_dir.glob("v-*"))) == 1  # nothing was rebuilt
    current.rmdir()
    current.write_bytes(b"v-" + b"x" * 5_000_000)
    assert main(["ask", "Wer investiert?", *_ix(settings)]) == 2
    err = capsys.readouterr().err
    assert "corrupt (CURRENT is unreadable" in err and len(err) < 400


# -- 11: qa serve stopped with SIGTERM runs its exit handlers ----------------------------------

def test_sigterm_ends_qa_serve_through_its_exit_handlers(tmp_path: Path) -> None:
    """What pgserver's exit handler needs (it takes the process off the embedded PostgreSQL's
    list of users); uvicorn re-raises SIGTERM after its graceful shutdown."""
    import os
    import subprocess
    import sys

    marker = tmp_path / "exit-handlers-ran"
    script = ("import atexit, os, pathlib, signal, sys; "
              "from qa.server import _exit_cleanly_on_sigterm; "
              "atexit.register(lambda: pathlib.Path(sys.argv[1]).write_text('ok')); "
              "_exit_cleanly_on_sigterm(); signal.raise_signal(signal.SIGTERM)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run([sys.executable, "-c", script, str(marker)], env=env, timeout=60)
    assert done.returncode == 128 + 15 and marker.read_text() == "ok"


def test_a_deleted_current_beside_intact_versions_is_reported_not_rebuilt(
        settings: Settings) -> None:
    ingest(settings, embedder=FakeEmbedder())
    version = current_version(settings.index_dir)
    assert version is not None
    (settings.index_dir / "CURRENT").unlink()
    embedder = FakeEmbedder()
    with pytest.raises(IndexMismatchError, match=rf"CURRENT is missing beside 1 version.*"
                                                 rf"{version.name}.*--rebuild"):
        ingest(settings, embedder=embedder)
    assert embedder.calls == []  # no silent full rebuild
    (settings.index_dir / "CURRENT").write_text(version.name)  # the remedy the line names
    report, _ = ingest(settings, embedder=embedder)
    assert not report.wrote
