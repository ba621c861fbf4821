"""Figures for docs/postgres.md: the PostgreSQL store beside the FAISS one. Prints, asserts nothing.

Demo corpus (real embedder, vectors embedded once): the store write of a full ingest, an unchanged
re-ingest, and per-call latency of the store reads one question makes (dense, lexical, sentence
search) and of the whole retrieval step (question embedding included), over the gold questions.
``--synthetic N``: N random unit chunks (and N sentences) of dimension 384 with words from the
corpus (vectors clustered in a 48-dimensional subspace, like sentence embeddings), written in
one piece: load and index-build time, read latency at that size, HNSW recall against exact.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.assistant import Assistant  # noqa: E402
from qa.composition import make_embedder  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.corpus import load_corpus  # noqa: E402
from qa.evaluation import load_gold  # noqa: E402
from qa.indexing import records_for, update_index  # noqa: E402
from qa.stores.base import DocumentRecord, IndexConfig, Store  # noqa: E402
from qa.stores.faiss import FaissBackend  # noqa: E402
from qa.stores.postgres import PostgresBackend  # noqa: E402
from qa.stores.postgres.backend import _embedded_server  # noqa: E402
from qa.testing import FakeGenerator  # noqa: E402
from qa.types import Chunk, Document, Sentence  # noqa: E402


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def latency(name: str, calls: list[Callable[[], object]]) -> None:
    for call in calls[:3]:  # warm caches and plans
        call()
    ms = sorted(timed(c) * 1000 for c in calls)
    print(f"  {name:<22} median {statistics.median(ms):7.2f} ms   "
          f"p95 {ms[int(0.95 * (len(ms) - 1))]:7.2f} ms   ({len(ms)} calls)")


def demo(url: str, tmp: Path) -> None:
    settings = Settings.load(index_dir=tmp / "index", corpus_dir=ROOT / "data" / "articles",
                             data_dir=tmp / "data")
    embedder = make_embedder(settings)
    embedder.embed(["warm-up"], "query")
    docs = load_corpus([settings.corpus_dir]).documents
    config = IndexConfig.from_settings(settings)
    t = time.perf_counter()
    records = records_for(docs, embedder, config)
    print(f"demo corpus: {len(docs)} documents, {sum(len(r.chunks) for r in records)} chunks, "
          f"{sum(len(r.sentences) for r in records)} sentences; embedding "
          f"{time.perf_counter() - t:.1f} s (the same for both stores)")
    gold = load_gold(ROOT / "eval" / "gold.jsonl")
    questions = [g["question"] for g in gold]
    vectors = embedder.embed(questions, "query")
    backends = {"faiss": FaissBackend(tmp / "index"), "postgres": PostgresBackend.at(url)}
    for name, backend in backends.items():
        with backend.lock():
            t = time.perf_counter()
            backend.write(config, embedder.dim, records, replace=True)
            write_s = time.perf_counter() - t
        t = time.perf_counter()
        update_index(backend, docs, embedder, config)
        print(f"{name}: write of the whole corpus {write_s * 1000:.0f} ms, "
              f"unchanged re-ingest {(time.perf_counter() - t) * 1000:.0f} ms")
        reads(backend.open(config), vectors, questions)
        assistant = Assistant.load(settings.replace(store=name, database_url=url),
                                   embedder=embedder, generator=FakeGenerator())
        latency("retrieve (whole step)", [lambda q=q, a=assistant: a.retrieve(q) for q in questions])


def reads(store: Store, vectors: np.ndarray, questions: list[str]) -> None:
    latency("search k=20", [lambda v=v: store.search(v, 20) for v in vectors])
    latency("lexical_search k=20", [lambda q=q: store.lexical_search(q, 20) for q in questions])
    latency("search_sentences k=20", [lambda v=v: store.search_sentences(v, 20) for v in vectors])


def synthetic(url: str, n: int, dim: int = 384) -> None:
    rng = np.random.default_rng(0)
    # like sentence embeddings, not uniform noise: clusters in a 48-dimensional subspace
    basis = np.linalg.qr(rng.standard_normal((dim, 48)))[0].T
    centres = rng.standard_normal((max(1, n // 1000), 48))

    def unit_vectors(count: int) -> np.ndarray:
        v = (centres[rng.integers(len(centres), size=count)]
             + 0.5 * rng.standard_normal((count, 48))) @ basis
        v = (v + 0.02 * rng.standard_normal((count, dim))).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    words = " ".join(d.text for d in load_corpus([ROOT / "data" / "articles"]).documents).split()
    per_doc = 50
    records = []
    for d in range(n // per_doc):
        texts = [" ".join(rng.choice(words, 60)) for _ in range(per_doc)]
        text = "\n".join(texts)
        doc = Document(f"d{d:08d}", f"{d:08d}.txt", f"doc {d}", text, f"h{d}")
        chunks, sentences, start = [], [], 0
        for i, t in enumerate(texts):
            chunks.append(Chunk(f"c{d:08d}-{i}", doc.doc_id, doc.source, doc.title, t, start,
                                start + len(t)))
            sentences.append(Sentence(f"s{d:08d}-{i}", doc.doc_id, start, start + len(t)))
            start += len(t) + 1
        v = unit_vectors(2 * per_doc)
        records.append(DocumentRecord(doc, chunks, v[:per_doc], sentences, v[per_doc:]))
    config = IndexConfig("synthetic", "", "", 60, 0)
    backend = PostgresBackend.at(url, schema="synthetic")
    t = time.perf_counter()
    with backend.lock():
        backend.write(config, dim, records, replace=True)
    total = time.perf_counter() - t
    print(f"synthetic: {n} chunks + {n} sentences (dim {dim}) written in {total:.1f} s "
          f"({2 * n / total:.0f} vectors/s, HNSW and GIN built in the same transaction)")
    store = backend.open(config)
    exact = np.vstack([r.chunk_vectors for r in records])
    queries = exact[rng.integers(len(exact), size=50)] + 0.05 * rng.standard_normal((50, dim))
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    reads(store, queries, [" ".join(rng.choice(words, 8)) for _ in range(50)])
    ids = [c.chunk_id for r in records for c in r.chunks]
    recall = []
    for v in queries[:20]:
        want = {ids[i] for i in np.argsort(-(exact @ v))[:20]}
        recall.append(len(want & {i for i, _ in store.search(v, 20)}) / 20)
    print(f"  HNSW recall@20 against exact search: {statistics.mean(recall):.3f}")
    t = time.perf_counter()
    extra = records[0]
    doc = Document("extra", "extra.txt", "extra", extra.document.text, "x")
    moved = DocumentRecord(doc, [Chunk(c.chunk_id + "x", "extra", "extra.txt", "extra", c.text,
                                       c.start, c.end) for c in extra.chunks],
                           extra.chunk_vectors,
                           [Sentence(u.sentence_id + "x", "extra", u.start, u.end)
                            for u in extra.sentences], extra.sentence_vectors)
    with backend.lock():
        backend.write(config, dim, [moved])
    print(f"  adding one document of {per_doc} chunks to it: "
          f"{(time.perf_counter() - t) * 1000:.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--synthetic", type=int, default=0, help="also N synthetic chunks")
    ap.add_argument("--no-demo", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        server = _embedded_server(Path(tmp) / "pg")
        print(f"embedded server (pgserver) initialised and started in "
              f"{time.perf_counter() - t:.1f} s")
        url = str(server.get_uri())
        if not args.no_demo:
            demo(url, Path(tmp))
        if args.synthetic:
            synthetic(url, args.synthetic)
        server.cleanup()


if __name__ == "__main__":
    main()
