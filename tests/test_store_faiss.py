"""The FAISS store against the store contract (``qa.testing.StoreContract``), plus what only
it has: versions that readers keep while a writer replaces them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from qa.errors import IndexMismatchError
from qa.stores.faiss import FORMAT, FaissBackend
from qa.stores.rows import RowView
from qa.testing import FakeEmbedder, StoreContract


class TestFaissStoreContract(StoreContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> FaissBackend:
        return FaissBackend(tmp_path / "index")

    @pytest.fixture
    def reopen(self) -> Callable[[FaissBackend], FaissBackend]:
        return lambda backend: FaissBackend(backend.index_dir)


def test_a_reader_keeps_its_version_while_a_writer_replaces_it(tmp_path: Path) -> None:
    contract = StoreContract()
    backend = FaissBackend(tmp_path / "index")
    before = contract.write(backend, contract.records("a.txt"))
    after = contract.write(backend, contract.records("b.txt"), replace=True)
    q = contract.records("a.txt")[0].chunk_vectors[0]
    assert before.document_by_source("a.txt") is not None
    assert before.search(q, 1)[0][1] == pytest.approx(1.0, abs=1e-4)  # loads its own files now
    assert after.document_by_source("a.txt") is None


def test_the_manifest_names_the_store_and_its_dense_index(tmp_path: Path) -> None:
    contract = StoreContract()
    store = contract.write(FaissBackend(tmp_path / "index"), contract.records())
    assert store.manifest["store"] == "faiss" and store.manifest["dense"]


# -- rows on disk (qa.stores.rows) ----------------------------------------------------------------

def _store(tmp_path: Path, *sources: str):  # noqa: ANN202 - a FaissIndex
    contract = StoreContract()
    recs = contract.records(*sources)
    return contract.write(FaissBackend(tmp_path / "index"), recs), recs


def test_rows_are_read_from_sqlite_and_equal_the_written_ones(tmp_path: Path) -> None:
    store, recs = _store(tmp_path)
    assert isinstance(store.chunks, RowView) and isinstance(store.sentences, RowView)
    assert list(store.documents) == [r.document for r in recs]
    assert list(store.chunks) == [c for r in recs for c in r.chunks]
    assert list(store.sentences) == [u for r in recs for u in r.sentences]
    assert store.chunks[-1] == recs[-1].chunks[-1] and store.chunks[1:3] == list(store.chunks)[1:3]
    with pytest.raises(IndexError):
        store.chunks[len(store.chunks)]
    carried = list(store.records())
    assert [r.document for r in carried] == [r.document for r in recs]
    for got, want in zip(carried, recs, strict=True):
        assert list(got.chunks) == list(want.chunks)
        assert list(got.sentences) == list(want.sentences)
        assert np.array_equal(got.chunk_vectors, want.chunk_vectors)
        assert np.array_equal(got.sentence_vectors, want.sentence_vectors)


def test_a_chunk_keeps_a_source_and_title_of_its_own(tmp_path: Path) -> None:
    rec = StoreContract().records("a.txt")[0]
    odd = dataclasses.replace(rec.chunks[0], source="elsewhere.txt", title="Other")
    rec = dataclasses.replace(rec, chunks=[odd, *rec.chunks[1:]])
    store = StoreContract().write(FaissBackend(tmp_path / "index"), [rec])
    assert store.chunks_by_id([odd.chunk_id, rec.chunks[1].chunk_id]) == [odd, rec.chunks[1]]


def test_the_sqlite_file_is_sealed_with_the_version(tmp_path: Path) -> None:
    store, _ = _store(tmp_path)
    rows = store.directory / "rows.sqlite"
    files = store.manifest["files"]
    assert files["rows.sqlite"]["bytes"] == rows.stat().st_size
    assert "sentences.faiss" in files
    assert not [p.name for p in store.directory.iterdir() if p.name.startswith("rows.sqlite-")]
    data = bytearray(rows.read_bytes())
    data[len(data) // 2] ^= 0xFF
    rows.write_bytes(bytes(data))
    with pytest.raises(IndexMismatchError, match=r"corrupt \(rows.sqlite does not match its "
                                                 r"checksum\); run `qa ingest --rebuild`"):
        FaissBackend(tmp_path / "index").open()


def test_an_older_format_asks_for_a_rebuild(tmp_path: Path) -> None:
    store, _ = _store(tmp_path, "a.txt")
    path = store.directory / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format"] = 2  # jsonl rows, loaded whole
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError) as e:
        FaissBackend(tmp_path / "index").open()
    assert str(e.value) == (f"index in {tmp_path / 'index'}/ has format 2, this qa reads "
                            f"{FORMAT}; run `qa ingest --rebuild` to build it again from the "
                            f"articles")
    assert "\n" not in str(e.value)


def test_sentence_frequencies_are_stored_not_counted_at_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.text import terms

    _, recs = _store(tmp_path)
    monkeypatch.setattr("qa.evidence.terms", lambda text: pytest.fail("counted at open"))
    store = FaissBackend(tmp_path / "index").open()
    want: dict[str, int] = {}
    for r in recs:
        for u in r.sentences:
            for t in terms(r.document.text[u.start:u.end]):
                want[t] = want.get(t, 0) + 1
    assert store.sentence_frequencies(set(want) | {"zzyzx"}) == (len(store.sentences), want)


def test_exact_sentence_search_is_the_full_matrix_product(tmp_path: Path) -> None:
    """Below ``SENTENCE_EXACT_MAX`` the results are those of the earlier store: every sentence
    scored, best first, ties by row."""
    store, recs = _store(tmp_path)
    assert store.manifest["sentence_search"] == {"kind": "flat"}
    sentences = [u for r in recs for u in r.sentences]
    vectors = np.vstack([r.sentence_vectors for r in recs])
    for q in FakeEmbedder(dim=32).embed(["Cloud Prozent", "Qwen Modell", "Aktie"], "query"):
        sims = vectors @ q
        order = np.lexsort((np.arange(len(sims)), -sims))[:5]
        got = store.search_sentences(q, 5)
        assert [u for u, _ in got] == [sentences[i] for i in order]
        assert [s for _, s in got] == pytest.approx(sims[order].tolist(), abs=1e-6)


def test_a_large_store_searches_the_sentences_of_the_nearest_chunks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("qa.stores.faiss.SENTENCE_EXACT_MAX", 0)  # as if it were large
    store, recs = _store(tmp_path)
    assert store.manifest["sentence_search"] == {"kind": "nearest-chunks"}
    assert not (store.directory / "sentences.faiss").exists()
    emb = FakeEmbedder(dim=32)
    exact = FaissBackend(tmp_path / "exact")
    monkeypatch.setattr("qa.stores.faiss.SENTENCE_EXACT_MAX", 10**6)
    reference = StoreContract().write(exact, recs)
    for q in emb.embed(["Cloud Prozent", "Qwen Modell", "Aktie Hongkong"], "query"):
        # with every chunk near enough, the same sentences as the exact search
        assert store.search_sentences(q, 4) == pytest_approx_sentences(
            reference.search_sentences(q, 4))
        monkeypatch.setattr("qa.stores.faiss.SENTENCE_CHUNKS", 1)  # (k chunks when k is more)
        nearest = store.chunks_by_id([store.search(q, 1)[0][0]])[0]
        (found, _), = store.search_sentences(q, 1)
        assert found.doc_id == nearest.doc_id
        assert found.start < nearest.end and nearest.start < found.end
        monkeypatch.setattr("qa.stores.faiss.SENTENCE_CHUNKS", 64)


def pytest_approx_sentences(ranked):  # noqa: ANN001, ANN201
    return [(u, pytest.approx(s, abs=1e-6)) for u, s in ranked]


def test_reads_from_several_threads(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store, recs = _store(tmp_path)
    emb = FakeEmbedder(dim=32)
    questions = ["Cloud Prozent", "Qwen Modell Parameter", "Aktie Hongkong", "Eddie Wu"]

    def answer(question: str) -> tuple:
        q = emb.embed([question], "query")[0]
        hits = store.search(q, 5)
        chunks = store.chunks_by_id([i for i, _ in hits])
        docs = [store.document(c.doc_id) for c in chunks]
        sentences = [store.sentences_of(d.doc_id) for d in docs if d]
        return (hits, store.lexical_search(question, 5), chunks, docs, sentences,
                [u for u, _ in store.search_sentences(q, 3)],
                store.sentence_vectors_of([u.sentence_id for u in sentences[0]]).tolist())

    want = [answer(q) for q in questions]
    fresh = FaissBackend(tmp_path / "index").open()  # its parts load in the threads
    store = fresh
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(answer, questions * 25))
    assert got == want * 25
    assert len(store.rows._open) >= 2  # one connection per thread


def test_records_with_missing_vectors_are_refused_and_the_old_version_stays(
        tmp_path: Path) -> None:
    store, recs = _store(tmp_path, "a.txt")
    bad = dataclasses.replace(StoreContract().records("b.txt")[0],
                              sentence_vectors=np.zeros((1, 32), dtype=np.float32))
    backend = FaissBackend(tmp_path / "index")
    with pytest.raises(ValueError, match="b.txt"), backend.lock():
        backend.write(StoreContract.config(), 32, [bad])
    assert backend.open().directory == store.directory
    assert not list((tmp_path / "index").glob(".tmp-*"))
