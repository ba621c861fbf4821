"""Retrieval at scale on a synthetic corpus (`make bench-scale`). Prints, asserts nothing.

    python scripts/bench_scale.py --chunks 1000000 --backends faiss-exact,faiss-ann --queries 1000

The corpus: ``N`` chunks of ~100 words drawn with Zipf frequencies (s=1) from the vocabulary of
``data/articles`` (German: about 1,700 distinct words, so posting lists are far longer than in a
real corpus of that size: the pessimistic case for the lexical side), and one unit-length
float32 vector of 384 dimensions per chunk from a fixed seed. The vectors are clustered and of a
low intrinsic dimension (``N / 1000`` cluster centres in a subspace of ``--latent`` = 48
dimensions, Gaussian spread around each, a little isotropic noise in all 384 dimensions), like
sentence embeddings and unlike uniform random vectors, on which no ANN index does well. A query is a corpus vector
with Gaussian noise added (renormalised) and four words of that chunk's text.

Each step runs in its own subprocess, so the peak resident memory reported for a backend is that
of the process which loaded its index and answered the queries, nothing else:

1. ``corpus``: vectors, texts, queries, the exact top-10 of every query (batched exact search),
   and the lexical index (``qa.stores.bm25.LexicalIndex``), written into a work directory;
2. ``build`` per backend: ``faiss-exact`` (``VectorIndex`` flat), ``faiss-ann`` (``VectorIndex``
   HNSW with its default parameters, whatever the size): the indexes alone; ``faiss-store``: a
   real ``qa.stores.faiss.FaissBackend`` version written through ``write`` from synthetic
   ``DocumentRecord``s (``StoreRecords``: documents of 10 chunks, 5 sentences of 20 words per
   chunk, a sentence's vector its chunk's plus noise, cosine ~0.79), then the exact top 8
   sentences of every query over all sentence vectors; ``postgres``
   (``qa.stores.postgres.PostgresBackend`` on an embedded ``pgserver``);
3. ``query`` per backend: the whole retrieval per question, timed: dense search, lexical search
   and ``qa.retrieval.rrf_fuse`` (20 candidates each, as ``HybridRetriever`` asks for), after
   a few warm-up queries; recall@10 of the dense side against the exact top-10. For
   ``faiss-store`` the store is opened with ``FaissBackend.open`` and a question is what the
   assistant does apart from embedding and generating: ``HybridRetriever.retrieve`` (k 20) and
   ``qa.evidence.select_evidence`` (corpus-wide ``search_sentences``, documents, sentences and
   sentence vectors of the best chunks, term frequencies), both timed; recall@8 of
   ``search_sentences`` against the exact top 8 (``--sweep-sentence-chunks``: at other
   ``SENTENCE_CHUNKS``); the peak RSS is that of this process, every store part included;
4. ``chunks``: the memory of holding ``N`` ``qa.types.Chunk`` objects in Python (skipped with
   ``--no-chunk-objects``);
5. optional: ``--sweep-ef`` times the HNSW dense search alone at several ``efSearch``;
   ``--lexical-baseline`` times bm25s's own ``retrieve`` against ``LexicalIndex.search``.

``build_s`` of ``faiss-exact`` and ``faiss-ann`` is the dense index build plus the lexical build
(shared, timed once); that of ``faiss-store`` and ``postgres`` is their whole ``write``. Output:
a table, then one line per backend, ``RESULT backend=... chunks=... build_s=... p50_ms=...
p95_ms=... recall@10=... rss_mb=...`` (``faiss-store`` adds ``retrieve_p95_ms``,
``evidence_p95_ms`` and ``sentence_recall@8``), and ``RESULT chunk_objects=... rss_mb=...``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIM = 384
WORDS = 100  # words per chunk
QUERY_WORDS = 4
CANDIDATES = 20  # per retriever, as HybridRetriever asks for
SEED = 20261121
BACKENDS = ("faiss-exact", "faiss-ann", "faiss-store", "postgres")
STORE_DOC_CHUNKS = 10  # faiss-store: chunks per synthetic document ...
STORE_SENTENCES = 5  # ... and sentences per chunk (20 words each)
SENTENCE_NOISE = 0.04  # per dimension: a sentence vector has a cosine of ~0.8 to its chunk's
EVIDENCE_K = 8  # the corpus's best sentences evidence asks for (EvidenceConfig.global_sentences)


# ---------------------------------------------------------------- synthetic corpus (step 1)

def vocabulary() -> list[str]:
    """The demo corpus's words, most frequent first."""
    counts: Counter[str] = Counter()
    for path in sorted((ROOT / "data" / "articles").glob("*.txt")):
        counts.update(re.findall(r"[^\W\d_]+", path.read_text(encoding="utf-8").lower()))
    return [w for w, _ in sorted(counts.items(), key=lambda x: (-x[1], x[0]))]


def make_vectors(n: int, rng: np.random.Generator, latent: int = 48,
                 block: int = 100_000) -> np.ndarray:
    basis, _ = np.linalg.qr(rng.standard_normal((DIM, latent)))
    centres = rng.standard_normal((max(16, n // 1000), latent)).astype(np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    for s in range(0, n, block):
        b = min(block, n - s)
        z = centres[rng.integers(len(centres), size=b)] + 0.7 * rng.standard_normal(
            (b, latent), dtype=np.float32)
        x = z @ basis.T.astype(np.float32) + 0.15 * rng.standard_normal((b, DIM), dtype=np.float32)
        out[s:s + b] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def make_texts(n: int, words: list[str], rng: np.random.Generator,
               block: int = 100_000) -> list[str]:
    p = 1.0 / np.arange(1, len(words) + 1)
    cdf = np.cumsum(p / p.sum())
    vocab = np.array(words, dtype=object)
    texts: list[str] = []
    for s in range(0, n, block):
        b = min(block, n - s)
        ids = np.minimum(np.searchsorted(cdf, rng.random((b, WORDS))), len(words) - 1)
        texts.extend(" ".join(row) for row in vocab[ids])
    return texts


def step_corpus(work: Path, n: int, q: int, latent: int) -> dict:
    from qa.stores.bm25 import LexicalIndex
    from qa.stores.vectors import VectorIndex

    rng = np.random.default_rng(SEED)
    t = time.perf_counter()
    vectors = make_vectors(n, rng, latent)
    texts = make_texts(n, vocabulary(), rng)
    gen_s = time.perf_counter() - t
    np.save(work / "vectors.npy", vectors)
    (work / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")

    rows = rng.choice(n, size=q, replace=False)
    noise = rng.standard_normal((q, DIM), dtype=np.float32) * (0.35 / np.sqrt(DIM))
    queries = vectors[rows] + noise
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    qtexts = [" ".join(rng.choice(texts[r].split(), size=QUERY_WORDS, replace=False))
              for r in rows]
    np.save(work / "queries.npy", queries.astype(np.float32))
    (work / "queries.json").write_text(json.dumps(qtexts, ensure_ascii=False), encoding="utf-8")

    t = time.perf_counter()  # exact top-10 in one batched search (BLAS), not query by query
    exact = VectorIndex.build(vectors, kind="flat")
    truth = np.array([[r for r, _ in hits] for hits in exact.search_many(queries, 10)])
    np.save(work / "truth.npy", truth)
    truth_s = time.perf_counter() - t
    del exact, vectors

    t = time.perf_counter()
    LexicalIndex("german").build(texts).save(work)
    lexical_s = time.perf_counter() - t
    return {"generate_s": gen_s, "truth_s": truth_s, "lexical_build_s": lexical_s}


# ---------------------------------------------------------------- per backend (steps 2, 3)

def pg_url(work: Path) -> str:
    """The embedded server's address (started if need be; it stops when this process ends)."""
    import warnings

    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pgserver

        return str(pgserver.get_server(work / "pgdata", cleanup_mode="stop").get_uri())


def server_mb(work: Path) -> float:
    """Proportional set size (shared memory split between them) of the PostgreSQL processes."""
    pid_file = work / "pgdata" / "postmaster.pid"
    if not pid_file.is_file():
        return 0.0
    root = int(pid_file.read_text().split()[0])
    pids = {root}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with_ppid = stat.read_text().rsplit(")", 1)[-1].split()
        if int(with_ppid[1]) == root:
            pids.add(int(stat.parent.name))
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def step_build(work: Path, backend: str, n: int) -> dict:
    vectors = np.load(work / "vectors.npy", mmap_mode="r")
    if backend in ("faiss-exact", "faiss-ann"):
        from qa.stores.vectors import VectorIndex

        t = time.perf_counter()
        index = VectorIndex.build(vectors, kind="flat" if backend == "faiss-exact" else "hnsw")
        build_s = time.perf_counter() - t
        out = work / backend
        out.mkdir(exist_ok=True)
        index.save(out)
        return {"dense_build_s": build_s, "kind": index.kind, "params": index.params}
    if backend == "faiss-store":
        return build_store(work, vectors)
    if backend == "postgres":
        return build_postgres(work, vectors)
    raise SystemExit(f"unknown backend {backend!r}")


def synthetic_records(work: Path, vectors: np.ndarray | None, per_doc: int = 50):  # noqa: ANN201
    """The corpus as ``DocumentRecord``s of ``per_doc`` chunks each. No sentences: they serve
    evidence, not retrieval, and the FAISS backends are measured without them too."""
    from qa.stores.base import DocumentRecord
    from qa.types import Chunk, Document

    with open(work / "texts.txt", encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f]
    no_sentences = np.zeros((0, DIM), dtype=np.float32)
    for s in range(0, len(texts), per_doc):
        part = texts[s:s + per_doc]
        body = "\n".join(part)
        doc_id = hashlib.sha256(body.encode()).hexdigest()
        doc = Document(doc_id, f"synthetic_{s // per_doc:06d}.txt", f"Synthetic {s}", body,
                       doc_id)
        chunks, pos = [], 0
        for i, text in enumerate(part):
            cid = hashlib.sha256(f"{doc_id}:{i}".encode()).hexdigest()
            chunks.append(Chunk(cid, doc_id, doc.source, doc.title, text, pos, pos + len(text)))
            pos += len(text) + 1
        v = no_sentences if vectors is None else np.ascontiguousarray(vectors[s:s + per_doc])
        yield DocumentRecord(doc, chunks, v, [], no_sentences)


class StoreRecords(Sequence):
    """The corpus as ``DocumentRecord``s of ``STORE_DOC_CHUNKS`` chunks, made when indexed (a
    lazy sequence: ``FaissBackend.write`` streams it, so no more than one record is held).
    A document's text is its chunks' texts, one per line; each chunk is ``STORE_SENTENCES``
    sentences of 20 words; a sentence's vector is its chunk's plus Gaussian noise
    (``SENTENCE_NOISE`` per dimension, renormalised), from a seed per document."""

    def __init__(self, texts: list[str], vectors: np.ndarray) -> None:
        self.texts, self.vectors = texts, vectors

    def __len__(self) -> int:
        return -(-len(self.texts) // STORE_DOC_CHUNKS)

    def __getitem__(self, i):  # noqa: ANN001, ANN204
        from qa.stores.base import DocumentRecord
        from qa.types import Chunk, Document, Sentence

        if not 0 <= i < len(self):
            raise IndexError(i)
        s = i * STORE_DOC_CHUNKS
        part = self.texts[s:s + STORE_DOC_CHUNKS]
        body = "\n".join(part)
        doc_id = hashlib.sha256(body.encode()).hexdigest()
        doc = Document(doc_id, f"synthetic_{i:06d}.txt", f"Synthetic {i}", body, doc_id)
        chunks, sentences, per_chunk, pos = [], [], [], 0
        for j, text in enumerate(part):
            cid = hashlib.sha256(f"{doc_id}:{j}".encode()).hexdigest()[:16]
            chunks.append(Chunk(cid, doc_id, doc.source, doc.title, text, pos, pos + len(text)))
            words = [m.span() for m in re.finditer(r"\S+", text)]
            per = -(-len(words) // STORE_SENTENCES)
            for k in range(0, len(words), per):
                a, b = pos + words[k][0], pos + words[min(k + per, len(words)) - 1][1]
                sid = "s" + hashlib.sha256(f"{doc_id}:{a}:{b}".encode()).hexdigest()[1:16]
                sentences.append(Sentence(sid, doc_id, a, b))
            per_chunk.append(len(sentences) - sum(per_chunk))
            pos += len(text) + 1
        cv = np.ascontiguousarray(self.vectors[s:s + len(part)], dtype=np.float32)
        rng = np.random.default_rng([SEED, i])
        sv = np.repeat(cv, per_chunk, axis=0)
        sv += SENTENCE_NOISE * rng.standard_normal(sv.shape, dtype=np.float32)
        sv /= np.linalg.norm(sv, axis=1, keepdims=True)
        return DocumentRecord(doc, chunks, cv, sentences, sv)


def store_config():  # noqa: ANN201 - IndexConfig of the synthetic store
    from qa.stores.base import IndexConfig

    return IndexConfig("synthetic", "", "", WORDS, 0, "german")


def build_store(work: Path, vectors: np.ndarray) -> dict:
    """A real ``FaissBackend`` version, written through ``write`` from the lazy records; then
    the exact top sentences of every query over all sentence vectors (for the recall of
    ``search_sentences``)."""
    from qa.stores.faiss import FaissBackend, current_version

    with open(work / "texts.txt", encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f]
    backend = FaissBackend(work / "faiss-store")
    records = StoreRecords(texts, vectors)
    t = time.perf_counter()
    with backend.lock():
        backend.write(store_config(), DIM, records, replace=True)
    write_s = time.perf_counter() - t
    write_rss_mb = peak_rss_mb()
    del texts, records
    version = current_version(backend.index_dir)
    manifest = json.loads((version / "manifest.json").read_text())
    t = time.perf_counter()
    np.save(work / "sentence_truth.npy", exact_top(np.load(version / "sentence_vectors.npy",
                                                           mmap_mode="r"),
                                                   np.load(work / "queries.npy"), EVIDENCE_K))
    files = {f.name: sum(g.stat().st_size for g in ([f] if f.is_file() else f.rglob("*")))
             for f in version.iterdir()}
    return {"write_s": write_s, "sentence_truth_s": time.perf_counter() - t,
            "write_rss_mb": write_rss_mb, "kind": manifest["dense"],
            "sentence_search": manifest["sentence_search"]["kind"],
            "sentences": manifest["sentences"], "documents": len(manifest["documents"]),
            "files_mb": {k: round(v / 2**20) for k, v in sorted(files.items())},
            "version_mb": round(sum(f.stat().st_size for f in version.rglob("*")
                                    if f.is_file()) / 2**20)}


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int,
              block: int = 50_000) -> np.ndarray:
    """Rows of the ``k`` best of ``vectors`` for each query, by a blockwise matrix product."""
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_r = np.zeros((len(queries), k), dtype=np.int64)
    for s in range(0, len(vectors), block):
        sims = queries @ np.asarray(vectors[s:s + block], dtype=np.float32).T
        kk = min(k, sims.shape[1])
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        cand_s = np.hstack([best_s, np.take_along_axis(sims, top, axis=1)])
        cand_r = np.hstack([best_r, top + s])
        keep = np.argsort(-cand_s, axis=1, kind="stable")[:, :k]
        best_s, best_r = (np.take_along_axis(cand_s, keep, axis=1),
                          np.take_along_axis(cand_r, keep, axis=1))
    return best_r


class GivenVector:
    """An embedder that returns the vector it was given for the next question (the queries'
    vectors are made, not embedded)."""

    name = "synthetic"
    dim = DIM
    vector: np.ndarray

    def embed(self, texts, kind):  # noqa: ANN001, ANN201
        return np.repeat(self.vector[None, :], len(texts), axis=0)


def query_store(work: Path, limit: int | None, warmup: int, sweep: list[int]) -> dict:
    """The real store in this process: ``HybridRetriever.retrieve`` (dense, lexical, fusion,
    chunks by id, cosines of lexical-only hits; k 20 as the assistant asks) and then
    ``select_evidence`` as the assistant calls it (corpus-wide ``search_sentences``, the
    documents and sentences of the best chunks, their sentence vectors, term frequencies),
    both timed; recall of ``search` (top 10) and ``search_sentences`` (top 8) outside the
    timing."""
    import qa.stores.faiss as faiss_store
    from qa.answering.prompting import approx_tokens
    from qa.evidence import EvidenceConfig, select_evidence
    from qa.retrieval import HybridRetriever
    from qa.stores.faiss import FaissBackend

    queries = np.load(work / "queries.npy")[:limit]
    qtexts = json.loads((work / "queries.json").read_text(encoding="utf-8"))[:limit]
    truth = np.load(work / "truth.npy")[:limit]
    sentence_truth = np.load(work / "sentence_truth.npy")[:limit]
    rss = {"start": peak_rss_mb()}
    t = time.perf_counter()
    store = FaissBackend(work / "faiss-store").open(store_config())
    load_s = time.perf_counter() - t
    rss["open"] = current_rss_mb()
    embedder = GivenVector()
    retriever = HybridRetriever(store, embedder)
    cfg = EvidenceConfig()

    def ask(qv: np.ndarray, qt: str) -> tuple[float, float, int]:
        embedder.vector = qv
        t0 = time.perf_counter()
        hits = retriever.retrieve(qt, CANDIDATES)
        t1 = time.perf_counter()
        passages = select_evidence([qt], hits, store, embedder, 300, approx_tokens, cfg,
                                   first_vector=qv)
        return t1 - t0, time.perf_counter() - t1, len(passages)

    t = time.perf_counter()
    ask(queries[0], qtexts[0])  # loads the dense and lexical indexes
    first_s = time.perf_counter() - t
    for i in range(1, min(warmup, len(queries))):
        ask(queries[i], qtexts[i])
    retrieve_ms, evidence_ms, passages = [], [], []
    for qv, qt in zip(queries, qtexts, strict=True):
        r, e, n = ask(qv, qt)
        retrieve_ms.append(r * 1000)
        evidence_ms.append(e * 1000)
        passages.append(n)
    rss["peak"] = peak_rss_mb()
    total = np.array(retrieve_ms) + np.array(evidence_ms)
    found = [store.rows.chunk_rows([cid for cid, _ in store.search(qv, 10)]) for qv in queries]
    recall = float(np.mean([len(set(f) & set(tr)) / 10 for f, tr in zip(found, truth, strict=True)]))

    def sentence_recall() -> tuple[float, float, float]:
        times, got = [], []
        for qv in queries:
            t0 = time.perf_counter()
            hits = store.search_sentences(qv, EVIDENCE_K)
            times.append((time.perf_counter() - t0) * 1000)
            got.append(set(store.rows.sentence_rows([u.sentence_id for u, _ in hits])))
        r = float(np.mean([len(g & set(tr)) / EVIDENCE_K
                           for g, tr in zip(got, sentence_truth, strict=True)]))
        return r, float(np.median(times)), float(np.percentile(times, 95))

    default_chunks = faiss_store.SENTENCE_CHUNKS
    sentence = {"default": sentence_recall()}
    for n in sweep:
        faiss_store.SENTENCE_CHUNKS = n
        sentence[str(n)] = sentence_recall()
    rss["after_sweep"] = peak_rss_mb()
    rss.update(resident_now())
    pct = lambda x, p: float(np.percentile(x, p))  # noqa: E731
    return {"kind": store.manifest["dense"], "load_s": load_s, "first_query_s": first_s,
            "p50_ms": pct(total, 50), "p95_ms": pct(total, 95),
            "retrieve_p50_ms": pct(retrieve_ms, 50), "retrieve_p95_ms": pct(retrieve_ms, 95),
            "evidence_p50_ms": pct(evidence_ms, 50), "evidence_p95_ms": pct(evidence_ms, 95),
            "passages_mean": float(np.mean(passages)), "recall@10": recall,
            "sentence_search": store.manifest["sentence_search"]["kind"],
            "sentence_chunks_default": default_chunks,
            "sentence_recall": sentence, "rss_mb": rss["peak"], "rss": rss, "server_mb": 0.0}


def build_postgres(work: Path, vectors: np.ndarray) -> dict:
    from qa.stores.base import IndexConfig
    from qa.stores.postgres import PostgresBackend

    backend = PostgresBackend.at(pg_url(work))
    config = IndexConfig("synthetic", "", "", WORDS, 0, "german")
    records = list(synthetic_records(work, vectors))
    t = time.perf_counter()
    backend.write(config, DIM, records, replace=True)
    return {"write_s": time.perf_counter() - t, "server_mb": server_mb(work)}


def step_query(work: Path, backend: str, limit: int | None = None, warmup: int = 20,
               sweep: list[int] | None = None) -> dict:
    from qa.retrieval import rrf_fuse

    if backend == "faiss-store":
        return query_store(work, limit, warmup, sweep or [])

    queries = np.load(work / "queries.npy")[:limit]
    qtexts = json.loads((work / "queries.json").read_text(encoding="utf-8"))[:limit]
    truth = np.load(work / "truth.npy")[:limit]
    t = time.perf_counter()
    if backend in ("faiss-exact", "faiss-ann"):
        from qa.stores.bm25 import LexicalIndex
        from qa.stores.vectors import VectorIndex

        dense_index, lexical_index = VectorIndex.load(work / backend), LexicalIndex.load(work)
        dense, lexical = dense_index.search, lexical_index.search
        kind = dense_index.kind
    else:
        from qa.stores.postgres import PostgresBackend

        store = PostgresBackend.at(pg_url(work)).open()
        dense, lexical, kind = store.search, store.lexical_search, "pgvector hnsw"
    load_s = time.perf_counter() - t

    for i in range(min(warmup, len(queries))):
        rrf_fuse([dense(queries[i], CANDIDATES), lexical(qtexts[i], CANDIDATES)], [1.0, 1.0])
    times, dense_ms, lexical_ms, found = [], [], [], []
    for qv, qt in zip(queries, qtexts, strict=True):
        t0 = time.perf_counter()
        d = dense(qv, CANDIDATES)
        t1 = time.perf_counter()
        lx = lexical(qt, CANDIDATES)
        t2 = time.perf_counter()
        rrf_fuse([d, lx], [1.0, 1.0])
        t3 = time.perf_counter()
        times.append(t3 - t0)
        dense_ms.append(t1 - t0)
        lexical_ms.append(t2 - t1)
        found.append([r for r, _ in d[:10]])
    rss_mb = peak_rss_mb()  # before the ids are mapped to rows below
    if backend == "postgres":
        to_row = {c.chunk_id: i for i, c in enumerate(
            c for r in synthetic_records(work, None) for c in r.chunks)}
        found = [[to_row[i] for i in ids] for ids in found]
    recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
    ms = np.array(times) * 1000
    return {"kind": kind, "load_s": load_s, "p50_ms": float(np.percentile(ms, 50)),
            "p95_ms": float(np.percentile(ms, 95)),
            "dense_p50_ms": float(np.median(dense_ms)) * 1000,
            "dense_p95_ms": float(np.percentile(dense_ms, 95)) * 1000,
            "lexical_p50_ms": float(np.median(lexical_ms)) * 1000,
            "lexical_p95_ms": float(np.percentile(lexical_ms, 95)) * 1000,
            "recall@10": recall, "rss_mb": rss_mb,
            "server_mb": server_mb(work) if backend == "postgres" else 0.0}


def step_sweep(work: Path, efs: list[int]) -> dict:
    """Dense search alone on the HNSW index at several ``efSearch``: latency and recall@10."""
    from qa.stores.vectors import VectorIndex

    queries, truth = np.load(work / "queries.npy"), np.load(work / "truth.npy")
    index = VectorIndex.load(work / "faiss-ann")
    out = {}
    for ef in efs:
        index.index.hnsw.efSearch = ef
        for q in queries[:20]:
            index.search(q, CANDIDATES)
        times, recall = [], []
        for q, t in zip(queries, truth, strict=True):
            t0 = time.perf_counter()
            hits = index.search(q, CANDIDATES)
            times.append(time.perf_counter() - t0)
            recall.append(len({r for r, _ in hits[:10]} & set(t.tolist())) / 10)
        ms = np.array(times) * 1000
        out[str(ef)] = {"p50_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95)),
                        "recall@10": float(np.mean(recall))}
    return out


def step_lexical(work: Path) -> dict:
    """``LexicalIndex.search`` against bm25s's own ``retrieve`` (what it called before) on the
    same index and queries: milliseconds per query, and whether the hits agree."""
    from qa.stores.bm25 import LexicalIndex

    index = LexicalIndex.load(work)
    qtexts = json.loads((work / "queries.json").read_text(encoding="utf-8"))[:300]

    def bm25s_retrieve(q: str, k: int) -> list[tuple[int, float]]:
        ids = index._tokenizer.tokenize([q], update_vocab=False, return_as="ids",
                                        show_progress=False)
        rows, scores = index._bm25.retrieve(ids, k=k, show_progress=False)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]

    out: dict = {"dense_terms": len(index._dense)}
    hits = {}
    for name, fn in (("search", index.search), ("bm25s_retrieve", bm25s_retrieve)):
        times, hits[name] = [], []
        for q in qtexts:
            t0 = time.perf_counter()
            hits[name].append(fn(q, CANDIDATES))
            times.append(time.perf_counter() - t0)
        ms = np.array(times) * 1000
        out[name] = {"p50_ms": float(np.median(ms)), "p95_ms": float(np.percentile(ms, 95))}
    out["same_scores"] = all(
        np.allclose([s for _, s in a], [s for _, s in b], rtol=1e-5)
        for a, b in zip(hits["search"], hits["bm25s_retrieve"], strict=True))
    return out


def step_chunks(work: Path) -> dict:
    """Resident memory of ``N`` ``Chunk`` objects (texts and ids included) in one process."""
    from qa.types import Chunk

    before = current_rss_mb()
    chunks = []
    pos = 0
    with open(work / "texts.txt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            text = line.rstrip("\n")
            doc_id = hashlib.sha256(str(i // 50).encode()).hexdigest()
            chunks.append(Chunk(hashlib.sha256(f"{doc_id}:{i}".encode()).hexdigest(), doc_id,
                                f"synthetic_{i // 50:06d}.txt", f"Synthetic {i // 50}",
                                text, pos, pos + len(text)))
            pos += len(text) + 1
    text_mb = sum(sys.getsizeof(c.text) for c in chunks) / 2**20
    return {"chunk_objects": len(chunks), "rss_mb": current_rss_mb() - before,
            "text_mb": text_mb}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def resident_now() -> dict[str, float]:
    """Resident memory now by kind (MB): anonymous (the process's own) and file pages."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) / 1024
    return out


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


# ---------------------------------------------------------------- driver

def child(step: str, work: Path, *args: str) -> dict:
    cmd = [sys.executable, __file__, "--step", step, "--work", str(work), *args]
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - t
    print(f"  {step} {' '.join(args)}: {json.dumps(result)}", file=sys.stderr, flush=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--backends", default="faiss-exact,faiss-ann")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--work", type=Path, default=None,
                    help="keep the corpus and indexes here (default: a temporary directory)")
    ap.add_argument("--time-queries", type=int, default=None,
                    help="time only the first this many of the queries (a slow backend)")
    ap.add_argument("--latent", type=int, default=48,
                    help="intrinsic dimension of the vectors (default 48; higher is harder)")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse the indexes already built in --work (and their build times)")
    ap.add_argument("--sweep-ef", type=lambda v: [int(x) for x in v.split(",")], default=[],
                    help="also time faiss-ann's dense search alone at these efSearch values")
    ap.add_argument("--lexical-baseline", action="store_true",
                    help="also time bm25s's own retrieve against LexicalIndex.search")
    ap.add_argument("--sweep-sentence-chunks", type=lambda v: [int(x) for x in v.split(",")],
                    default=[], help="faiss-store: also time search_sentences alone and its "
                    "recall@8 with SENTENCE_CHUNKS at these values")
    ap.add_argument("--no-chunk-objects", action="store_true",
                    help="skip measuring the memory of N Chunk objects")
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--backend", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.step:  # a child: one step, one JSON line on stdout
        result = {"corpus": lambda: step_corpus(args.work, args.chunks, args.queries,
                                                args.latent),
                  "build": lambda: step_build(args.work, args.backend, args.chunks),
                  "query": lambda: step_query(args.work, args.backend, args.time_queries,
                                              sweep=args.sweep_sentence_chunks),
                  "chunks": lambda: step_chunks(args.work),
                  "sweep": lambda: step_sweep(args.work, args.sweep_ef),
                  "lexical": lambda: step_lexical(args.work)}[args.step]()
        print(json.dumps(result))
        return

    backends = [b for b in args.backends.split(",") if b]
    if unknown := set(backends) - set(BACKENDS):
        raise SystemExit(f"unknown backends: {', '.join(sorted(unknown))}")
    tmp = None
    work = args.work
    if work is None:
        tmp = tempfile.mkdtemp(prefix="bench-scale-")
        work = Path(tmp)
    work.mkdir(parents=True, exist_ok=True)
    try:
        n = str(args.chunks)
        meta = work / "corpus.json"
        want = {"chunks": args.chunks, "queries": args.queries, "latent": args.latent}
        corpus = json.loads(meta.read_text()) if meta.is_file() else {}
        if {k: corpus.get(k, 48 if k == "latent" else None) for k in want} != want:
            corpus = child("corpus", work, "--chunks", n, "--queries", str(args.queries),
                           "--latent", str(args.latent))
            corpus.update(want)
            meta.write_text(json.dumps(corpus))
        rows = []
        for b in backends:
            saved = work / f"{b}.build.json"
            if args.reuse and saved.is_file():
                built = json.loads(saved.read_text())
            else:
                built = child("build", work, "--backend", b, "--chunks", n)
                saved.write_text(json.dumps(built))
            sweep_sc = (["--sweep-sentence-chunks", ",".join(map(str, args.sweep_sentence_chunks))]
                        if b == "faiss-store" and args.sweep_sentence_chunks else [])
            queried = child("query", work, "--backend", b,
                            *(["--time-queries", str(args.time_queries)] if args.time_queries
                              else []), *sweep_sc)
            if b == "faiss-ann" and args.sweep_ef:
                sweep = child("sweep", work, "--sweep-ef", ",".join(map(str, args.sweep_ef)))
            build_s = built.get("write_s") or built["dense_build_s"] + corpus["lexical_build_s"]
            rows.append({"backend": b, "chunks": args.chunks, "build_s": build_s,
                         "kind": queried["kind"], "params": built.get("params", {}),
                         "built": built, **queried})
        lexical = child("lexical", work) if args.lexical_baseline else None
        objects = None if args.no_chunk_objects else child("chunks", work, "--chunks", n)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n{args.chunks:,} chunks, {args.time_queries or args.queries} queries, dense "
          f"{CANDIDATES} + lexical {CANDIDATES} candidates + RRF; lexical build "
          f"{corpus['lexical_build_s']:.0f} s")
    head = ("backend", "index", "build s", "p50 ms", "p95 ms", "dense p95", "lexical p95",
            "recall@10", "RSS MB", "server MB")
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in rows:
        index = r["kind"] + "".join(f" {k}={v}" for k, v in r["params"].items() if k != "kind")
        server = f"{r['server_mb']:.0f}" if r["server_mb"] else "-"
        dense_p95, lexical_p95 = (f"{r[k]:.1f}" if k in r else "-" for k in ("dense_p95_ms",
                                                                      "lexical_p95_ms"))
        print(f"| {r['backend']} | {index} | {r['build_s']:.0f} | {r['p50_ms']:.1f} | "
              f"{r['p95_ms']:.1f} | {dense_p95} | {lexical_p95} | "
              f"{r['recall@10']:.3f} | {r['rss_mb']:.0f} | {server} |")
    if args.sweep_ef and "faiss-ann" in backends:
        print("\nfaiss-ann dense search alone, by efSearch:\n| efSearch | p50 ms | p95 ms | "
              "recall@10 |\n|---|---|---|---|")
        for ef, f in ((e, f) for e, f in sweep.items() if isinstance(f, dict)):
            print(f"| {ef} | {f['p50_ms']:.2f} | {f['p95_ms']:.2f} | {f['recall@10']:.3f} |")
    if lexical:
        print(f"\nlexical search alone, 300 queries ({lexical['dense_terms']} dense terms; same "
              f"scores: {lexical['same_scores']}):\n| | p50 ms | p95 ms |\n|---|---|---|")
        for name in ("search", "bm25s_retrieve"):
            print(f"| {name} | {lexical[name]['p50_ms']:.2f} | {lexical[name]['p95_ms']:.2f} |")
    for r in rows:
        if r["backend"] == "faiss-store":
            print_store(r)
    if objects:
        print(f"{objects['chunk_objects']:,} Chunk objects: {objects['rss_mb']:.0f} MB resident "
              f"({objects['text_mb']:.0f} MB of it chunk texts)\n")
    for r in rows:
        print(f"RESULT backend={r['backend']} chunks={r['chunks']} build_s={r['build_s']:.1f} "
              f"p50_ms={r['p50_ms']:.2f} p95_ms={r['p95_ms']:.2f} "
              f"recall@10={r['recall@10']:.4f} rss_mb={r['rss_mb']:.0f}"
              + (f" server_mb={r['server_mb']:.0f}" if r["server_mb"] else "")
              + (f" retrieve_p95_ms={r['retrieve_p95_ms']:.2f} "
                 f"evidence_p95_ms={r['evidence_p95_ms']:.2f} "
                 f"sentence_recall@8={r['sentence_recall']['default'][0]:.4f}"
                 if r["backend"] == "faiss-store" else ""))
    if objects:
        print(f"RESULT chunk_objects={objects['chunk_objects']} rss_mb={objects['rss_mb']:.0f}")


def print_store(r: dict) -> None:
    """The faiss-store run in detail: the write, the query process, sentence search."""
    b = r["built"]
    print(f"\nfaiss-store: {b['documents']:,} documents, {r['chunks']:,} chunks, "
          f"{b['sentences']:,} sentences; write {b['write_s']:.0f} s (peak RSS of the writer "
          f"{b['write_rss_mb']:.0f} MB), version {b['version_mb']:,} MB: "
          + ", ".join(f"{k} {v:,}" for k, v in b["files_mb"].items()) + " MB")
    print(f"query process: open {r['load_s']:.1f} s (checksums included), first question "
          f"{r['first_query_s']:.1f} s (loads the indexes), RSS MB "
          + ", ".join(f"{k} {v:.0f}" for k, v in r["rss"].items()))
    print(f"dense {r['kind']}, sentence search {r['sentence_search']}; per question "
          f"(ms, p50 / p95): retrieval {r['retrieve_p50_ms']:.1f} / {r['retrieve_p95_ms']:.1f}, "
          f"evidence {r['evidence_p50_ms']:.1f} / {r['evidence_p95_ms']:.1f}, both "
          f"{r['p50_ms']:.1f} / {r['p95_ms']:.1f}; {r['passages_mean']:.1f} passages")
    print("| SENTENCE_CHUNKS | search_sentences p50 ms | p95 ms | recall@8 |\n|---|---|---|---|")
    for n, (recall, p50, p95) in r["sentence_recall"].items():
        name = (("all (exact)" if r["sentence_search"] == "flat"
                 else f"{r['sentence_chunks_default']} (default)") if n == "default" else n)
        print(f"| {name} | {p50:.2f} | {p95:.2f} | {recall:.3f} |")
    print()


if __name__ == "__main__":
    main()
