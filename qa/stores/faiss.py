"""The FAISS store: documents, chunks and sentences in SQLite, their vectors in files, FAISS and
BM25 beside.

The embedded default (``store = "faiss"``): no server, one process. Layout of ``index/``
(``qa.stores.versions``: written aside, sealed with a checksum per file, swapped in atomically,
pinned by readers)::

    CURRENT              name of the active version (replaced atomically)
    v-<stamp>/           manifest.json rows.sqlite vectors.npy sentence_vectors.npy
                         dense.faiss lexical/ [sentences.faiss]
    .lock                writers take it; readers never wait

``rows.sqlite`` (``qa.stores.rows``) holds the documents with their texts, the chunks and the
sentences, and the sentence frequency of every evidence term, counted when the version is
written. A loaded version (``FaissIndex``) keeps none of them in memory: a question reads its
~40 chunks, the documents evidence needs and their sentences by indexed lookups, and the rows
of ``vectors.npy`` / ``sentence_vectors.npy`` it needs with ``pread``. What stays resident is
the dense index (``VectorIndex``: exact up to 100,000 chunks, HNSW above), the lexical index and
the manifest: 1,000,000 chunks fit in well under 4 GB (docs/scaling.md).

Rows of FAISS, BM25 and the vector files are positions in ``rows.sqlite``; ``FaissIndex`` turns
them into ids, so nothing outside this package sees a row number.

The corpus's best sentences (``search_sentences``) are exact up to ``SENTENCE_EXACT_MAX``
sentences (an exact ``VectorIndex``, ``sentences.faiss``: the same results as scoring every
sentence). Above, there is no index over all sentences: an HNSW graph over ~5 per chunk would
take ~9 GB at 1M chunks and hours to build. Instead the sentences of the ``SENTENCE_CHUNKS``
chunks nearest the question (from the dense index) are scored exactly. The price: a sentence
whose chunk is not among those is not found (recall@8 against all sentences 0.987 on the
synthetic 100k corpus, docs/scaling.md), where evidence also searches the sentences of the best
fused chunks anyway.

Every write produces a complete new version; documents that it does not touch are carried over
from the current version with their vectors (streamed, one document at a time), so an
incremental ingest embeds only what is new. The price of files: a write rewrites the whole
version (seconds for thousands of chunks, minutes for a million), and one machine holds it all;
``qa.stores.postgres`` is the way past both.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import IndexMismatchError
from qa.filters import Filter, allowed_ids
from qa.stores.base import (
    REBUILD_HINT,
    DocumentRecord,
    IndexConfig,
    Ranked,
    config_mismatch,
    manifest_documents,
)
from qa.stores.rows import FILE as ROWS_FILE
from qa.stores.rows import NpyWriter, RowReader, RowView, RowWriter, VectorFile
from qa.stores.vectors import FLAT_MAX
from qa.stores.versions import (
    cleanup,
    current_version,
    new_version_folder,
    pin,
    publish,
    verify_files,
    writer_lock,
)
from qa.types import Chunk, Document, Sentence

log = logging.getLogger(__name__)

FORMAT = 3  # 3: rows in rows.sqlite, read on demand; sentence search through a VectorIndex
SENTENCE_FILE = "sentences.faiss"
SENTENCE_EXACT_MAX = FLAT_MAX  # up to this many sentences, exact search over all of them ...
SENTENCE_CHUNKS = 64  # ... above, over the sentences of this many chunks nearest the question


class FaissIndex:
    """A loaded, read-only index version: the ``Store`` of the FAISS backend.

    Rows are read from ``rows.sqlite`` when asked for (``qa.stores.rows``); ``documents``,
    ``chunks`` and ``sentences`` are views that read by row (``index.chunks[i]`` is FAISS row
    ``i``), ``vectors`` / ``sentence_vectors`` read rows of the ``.npy`` files."""

    def __init__(self, directory: Path, manifest: dict[str, Any], rows: RowReader,
                 vectors: VectorFile, sentence_vectors: VectorFile) -> None:
        self.directory = directory
        self.manifest = manifest
        self.rows = rows
        self.vectors = vectors
        self.sentence_vectors = sentence_vectors
        n = rows.counts
        self.documents: RowView[Document] = RowView(rows.documents_at, n["documents"])
        self.chunks: RowView[Chunk] = RowView(rows.chunks_at, n["chunks"])
        self.sentences: RowView[Sentence] = RowView(rows.sentences_at, n["sentences"])
        self._dense = None
        self._lexical = None
        self._sentence_index = None
        self._doc_meta: list[tuple[str, str, dict[str, Any], range, range]] | None = None
        self._languages: dict[str, str] = {}  # doc_id -> "de"/"en", detected when a filter asks
        self._filtered: dict[Filter, tuple[np.ndarray, np.ndarray]] = {}
        self._loading = threading.Lock()  # a part is loaded once, whichever thread asks first
        fd = pin(directory)  # writers keep this version while this object lives
        if fd is not None:
            weakref.finalize(self, os.close, fd)

    # -- the Store protocol ---------------------------------------------------------------------
    def search(self, vector: np.ndarray, k: int, allowed: Filter | None = None) -> Ranked:
        rows = self._allowed(allowed)
        hits = self.dense.search(vector, k, rows=None if rows is None else rows[0])
        return list(zip(self.rows.chunk_ids([r for r, _ in hits]), (s for _, s in hits),
                        strict=True))

    def lexical_search(self, text: str, k: int, allowed: Filter | None = None) -> Ranked:
        rows = self._allowed(allowed)
        hits = self.lexical.search(text, k, rows=None if rows is None else rows[0])
        return list(zip(self.rows.chunk_ids([r for r, _ in hits]), (s for _, s in hits),
                        strict=True))

    def lexical_coverage(self, text: str) -> float:
        return self.lexical.coverage(text)

    def score(self, ids: Sequence[str], vector: np.ndarray) -> list[float]:
        rows = self.rows.chunk_rows(ids)
        return [float(s) for s in self.vectors.rows(rows) @ vector] if rows else []

    def chunks_by_id(self, ids: Sequence[str]) -> list[Chunk]:
        return self.rows.chunks_by_id(ids)

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        return self.rows.chunks_of(doc_id)

    def search_sentences(self, vector: np.ndarray, k: int,
                         allowed: Filter | None = None) -> list[tuple[Sentence, float]]:
        """Exact over every sentence up to ``SENTENCE_EXACT_MAX`` sentences (``sentences.faiss``,
        flat); above, exact over the sentences of the ``SENTENCE_CHUNKS`` chunks nearest to
        ``vector`` (at most that many sentences are then found). ``allowed``: only the
        sentences of the documents the filter allows."""
        subset = self._allowed(allowed)
        if k <= 0 or not len(self.sentences):
            return []
        if self.manifest.get("sentence_search", {}).get("kind") == "flat":
            hits = self.sentence_index.search(vector, k,
                                              rows=None if subset is None else subset[1])
            rows = np.array([r for r, _ in hits], dtype=np.int64)
            sims = np.array([s for _, s in hits], dtype=np.float32)
        else:
            near = self.dense.search(vector, max(SENTENCE_CHUNKS, k),
                                     rows=None if subset is None else subset[0])
            spans = self.rows.sentence_ranges([r for r, _ in near])
            rows = np.unique(np.concatenate([np.arange(lo, hi) for lo, hi in spans]
                                            or [np.zeros(0, dtype=np.int64)]))
            sims = self.sentence_vectors.rows(rows) @ vector
        order = np.lexsort((rows, -sims))[:k]  # best first, ties by row
        found = self.rows.sentences_at(rows[order].tolist())
        return [(u, float(s)) for u, s in zip(found, sims[order], strict=True)]

    def sentences_of(self, doc_id: str) -> list[Sentence]:
        return self.rows.sentences_of(doc_id)

    def sentence_vectors_of(self, ids: Sequence[str]) -> np.ndarray:
        return self.sentence_vectors.rows(self.rows.sentence_rows(ids))

    def sentence_frequencies(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        return len(self.sentences), self.rows.frequencies(terms)

    def document(self, doc_id: str) -> Document | None:
        return self.rows.document(doc_id)

    def document_by_source(self, source: str) -> Document | None:
        return self.rows.document_by_source(source)

    def list_documents(self) -> list[Document]:
        return list(self.documents)

    def _allowed(self, f: Filter | None) -> tuple[np.ndarray, np.ndarray] | None:
        """The chunk rows and sentence rows of the documents ``f`` allows (None: no filter),
        resolved from the documents table; the table and each document's language are read
        once per loaded version, the last filters' rows kept."""
        if not f:
            return None
        with self._loading:
            if (got := self._filtered.get(f)) is not None:
                return got
            if self._doc_meta is None:
                self._doc_meta = self.rows.document_meta()
            spans = {d[0]: (d[3], d[4]) for d in self._doc_meta}
            ids = allowed_ids(f, ((d[0], d[1], d[2]) for d in self._doc_meta),
                              self._language_of)
            chunk_rows = np.fromiter((r for i in ids for r in spans[i][0]), dtype=np.int64)
            sentence_rows = np.fromiter((r for i in ids for r in spans[i][1]), dtype=np.int64)
            if len(self._filtered) >= 16:
                self._filtered.pop(next(iter(self._filtered)))
            self._filtered[f] = (chunk_rows, sentence_rows)
            return chunk_rows, sentence_rows

    def _language_of(self, doc_id: str) -> str:
        if doc_id not in self._languages:
            doc = self.rows.document(doc_id)
            self._languages[doc_id] = _language_weight(doc)[0] if doc is not None else ""
        return self._languages[doc_id]

    def records(self) -> Iterator[DocumentRecord]:
        """Every document with its chunks, sentences and vectors (to carry it into a new
        version), read one document at a time."""
        for doc, chunk_rows, sentence_rows in self.rows.document_spans():
            yield DocumentRecord(
                doc, self.rows.chunks_at(chunk_rows),
                self.vectors[chunk_rows.start:chunk_rows.stop],
                self.rows.sentences_at(sentence_rows),
                self.sentence_vectors[sentence_rows.start:sentence_rows.stop])

    @property
    def dense(self):  # noqa: ANN201 - VectorIndex
        if self._dense is None:
            with self._loading:
                if self._dense is None:
                    from qa.stores.vectors import VectorIndex

                    dense = self._load_part(VectorIndex.FILE, VectorIndex.load, len(self.chunks))
                    if len(self.chunks) and dense.dim != self.manifest.get("dim"):
                        raise self._corrupt(f"{VectorIndex.FILE} has dimension {dense.dim}, "
                                            f"the manifest says {self.manifest.get('dim')}")
                    self._dense = dense
        return self._dense

    @property
    def lexical(self):  # noqa: ANN201 - LexicalIndex
        if self._lexical is None:
            with self._loading:
                if self._lexical is None:
                    from qa.stores.bm25 import LexicalIndex

                    self._lexical = self._load_part(LexicalIndex.DIR + "/", LexicalIndex.load,
                                                    len(self.chunks))
        return self._lexical

    @property
    def sentence_index(self):  # noqa: ANN201 - VectorIndex
        """The exact index over every sentence (versions of up to ``SENTENCE_EXACT_MAX``)."""
        if self._sentence_index is None:
            with self._loading:
                if self._sentence_index is None:
                    from qa.stores.vectors import VectorIndex

                    self._sentence_index = self._load_part(
                        SENTENCE_FILE, lambda d: VectorIndex.load(d, SENTENCE_FILE),
                        len(self.sentences))
        return self._sentence_index

    def _corrupt(self, why: str) -> IndexMismatchError:
        return IndexMismatchError(f"index in {self.directory.parent}/ is corrupt ({why}); "
                                  f"{REBUILD_HINT}")

    def _load_part(self, name: str, load: Callable[[Path], Any], rows: int) -> Any:
        """Load a part that is read on first use, as carefully as ``load_index`` reads the rest:
        checksums first, any failure of the reader is the corrupt-index error, and its row
        count must be ``rows`` (the number of chunks, or of sentences)."""
        try:
            verify_files(self.directory, self.manifest, only=name)
            part = load(self.directory)
        except Exception as e:  # noqa: BLE001 - faiss, bm25s and numpy fail in many ways on bad bytes
            raise self._corrupt(f"{name.rstrip('/')}: {e}") from e
        if len(part) != rows:
            raise self._corrupt(f"{name.rstrip('/')} has {len(part)} rows for {rows} "
                                f"{'chunks' if name != SENTENCE_FILE else 'sentences'}")
        return part


LAZY_PARTS = ("dense.faiss", "lexical/", SENTENCE_FILE)  # loaded (and verified) on first use
MANIFEST_KEYS = ("dim", "config", "chunks", "sentences", "documents")


def load_index(index_dir: Path, expect: IndexConfig | None = None) -> FaissIndex:
    """Load the active version; raises ``IndexMismatchError`` (with a rebuild hint) when it is
    missing, corrupt, or was built with settings other than ``expect``."""
    version = current_version(index_dir)
    if version is None:
        raise IndexMismatchError(f"no index in {index_dir}/: run `qa ingest` first")
    try:
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError(f"manifest.json holds a JSON {type(manifest).__name__}, not an "
                             "object")
        if manifest.get("format") != FORMAT:
            raise IndexMismatchError(f"index in {index_dir}/ has format {manifest.get('format')},"
                                     f" this qa reads {FORMAT}; {REBUILD_HINT}")
        missing = [k for k in MANIFEST_KEYS if k not in manifest]
        if missing or not isinstance(manifest["config"], dict) or not isinstance(
                manifest.get("documents", {}), dict):
            raise ValueError(f"manifest.json lacks {', '.join(missing) or 'a config object'}")
        verify_files(version, manifest, skip=LAZY_PARTS)
        rows = RowReader(version / ROWS_FILE)
        vectors = VectorFile(version / "vectors.npy")  # rows read on demand
        sentence_vectors = VectorFile(version / "sentence_vectors.npy")
    except IndexMismatchError:
        raise
    except (OSError, ValueError, TypeError, KeyError, sqlite3.Error) as e:
        raise IndexMismatchError(f"index in {index_dir}/ is corrupt ({e}); {REBUILD_HINT}") from e
    n = rows.counts
    if (n["chunks"] != len(vectors) or n["chunks"] != manifest.get("chunks")
            or (len(vectors) and vectors.shape[1] != manifest["dim"])
            or n["sentences"] != len(sentence_vectors)
            or n["sentences"] != manifest.get("sentences")):
        raise IndexMismatchError(f"index in {index_dir}/ is inconsistent; {REBUILD_HINT}")
    if expect is not None:
        mismatch = config_mismatch(manifest["config"], expect, f"{index_dir}/")
        if mismatch is not None:
            raise mismatch
    return FaissIndex(version, manifest, rows, vectors, sentence_vectors)


def stemmer_language(documents: Iterable[Document]) -> str:
    """The Snowball stemmer for the corpus: the language most of its text is in ("german" or
    "english", from stop words). A mixed corpus is stemmed in its main language; the dense side
    carries questions in the other (the lexical weight follows vocabulary coverage).

    >>> stemmer_language([Document("a", "a", "", "The cloud grew and the shares rose.", "x")])
    'english'
    """
    return _main_language(_language_weight(d) for d in documents)


def _language_weight(d: Document) -> tuple[str, int]:
    from qa.text import detect_language

    return detect_language(d.text[:5000]), len(d.text)


def _main_language(weights: Iterable[tuple[str, int]]) -> str:
    total = {"de": 0, "en": 0}
    for language, n in weights:
        total[language] += n
    return "english" if total["en"] > total["de"] else "german"


def _write_version(index_dir: Path, config: IndexConfig, dim: int,
                   records: Iterable[DocumentRecord]) -> None:
    """Write ``records`` as a new version and make it current. The records are read once, one
    at a time, straight into the files: what is held meanwhile is the chunk texts (for the
    lexical index) and the manifest's table of documents, not the vectors."""
    from qa.stores.bm25 import LexicalIndex
    from qa.stores.vectors import VectorIndex

    tmp = new_version_folder(index_dir)
    try:
        rows = RowWriter(tmp / ROWS_FILE)
        chunk_vectors = NpyWriter(tmp / "vectors.npy", dim)
        sentence_vectors = NpyWriter(tmp / "sentence_vectors.npy", dim)
        texts: list[str] = []
        documents: dict[str, dict[str, Any]] = {}
        languages: list[tuple[str, int]] = []  # (language, length) of each document
        try:
            for r in records:
                if len(r.chunk_vectors) != len(r.chunks) or (
                        len(r.sentence_vectors) != len(r.sentences)):
                    raise ValueError(f"{r.document.source}: {len(r.chunks)} chunks and "
                                     f"{len(r.sentences)} sentences, {len(r.chunk_vectors)} "
                                     f"and {len(r.sentence_vectors)} vectors")
                rows.add(r.document, r.chunks, r.sentences)
                chunk_vectors.add(r.chunk_vectors)
                sentence_vectors.add(r.sentence_vectors)
                texts.extend(c.text for c in r.chunks)
                documents.update(manifest_documents([r]))
                languages.append(_language_weight(r.document))
        except BaseException:
            rows.abort()
            chunk_vectors.abort()
            sentence_vectors.abort()
            raise
        rows.close()
        chunk_vectors.close()
        sentence_vectors.close()
        language = (config.lexical_language if config.lexical_language != "auto"
                    else _main_language(languages))
        LexicalIndex(language).build(texts).save(tmp)
        del texts
        dense = VectorIndex.build(np.load(tmp / "vectors.npy", mmap_mode="r"))
        dense.save(tmp)
        dense_kind = dense.kind
        del dense
        if rows.sentences <= SENTENCE_EXACT_MAX:
            VectorIndex.build(np.load(tmp / "sentence_vectors.npy", mmap_mode="r"),
                              kind="flat").save(tmp, SENTENCE_FILE)
            sentence_search: dict[str, Any] = {"kind": "flat"}
        else:
            sentence_search = {"kind": "nearest-chunks"}
        manifest = {
            "format": FORMAT,
            "store": "faiss",
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "config": asdict(config),
            "dim": dim,
            "dense": dense_kind,
            "sentence_search": sentence_search,
            "chunks": rows.chunks,
            "sentences": rows.sentences,
            "documents": documents,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
        publish(tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    cleanup(index_dir)


class FaissBackend:
    """The FAISS store in a folder (``StoreBackend``): versions, ``CURRENT`` and the lock."""

    name = "faiss"

    def __init__(self, index_dir: Path | str) -> None:
        self.index_dir = Path(index_dir)
        self._opened: FaissIndex | None = None  # the last version opened: write reuses it

    def __repr__(self) -> str:
        return f"FaissBackend({str(self.index_dir)!r})"

    def __str__(self) -> str:
        return f"{self.index_dir} (FAISS)"

    def exists(self) -> bool:
        return current_version(self.index_dir) is not None

    def open(self, expect: IndexConfig | None = None) -> FaissIndex:
        self._opened = load_index(self.index_dir, expect)
        return self._opened

    def _current(self, config: IndexConfig) -> FaissIndex:
        """The current version for a write: the one last opened when it is still current (an
        ingest opens it to compare the documents, then writes), else read now."""
        opened = self._opened
        if opened is None or opened.directory != current_version(self.index_dir):
            return load_index(self.index_dir, config)
        mismatch = config_mismatch(opened.manifest["config"], config, f"{self.index_dir}/")
        if mismatch is not None:
            raise mismatch
        return opened

    def lock(self) -> contextlib.AbstractContextManager[None]:
        return writer_lock(self.index_dir)

    def write(self, config: IndexConfig, dim: int, upserts: Sequence[DocumentRecord],
              delete: Sequence[str] = (), replace: bool = False) -> None:
        """A new version: the current one's documents (unless ``replace``) with ``upserts``
        put in (a document already present keeps its place) and ``delete`` taken out. The
        records are streamed into the new version one by one: kept documents are read from
        the current one as they are written, and ``upserts`` may be a lazy sequence."""
        self.index_dir.mkdir(parents=True, exist_ok=True)
        records: Iterable[DocumentRecord] = upserts
        if not replace and self.exists():
            old = self._current(config)
            if old.manifest.get("dim") != dim and old.documents:
                raise IndexMismatchError(
                    f"index in {self.index_dir}/ has vectors of dimension "
                    f"{old.manifest.get('dim')}, the embedder gives {dim}; {REBUILD_HINT}")
            records = _merged(old.records(), upserts, set(delete))
        self._opened = None  # superseded: the old version goes once the write has read it
        _write_version(self.index_dir, config, dim, records)


def _merged(kept: Iterable[DocumentRecord], upserts: Sequence[DocumentRecord],
            gone: set[str]) -> Iterator[DocumentRecord]:
    """``kept`` without the documents in ``gone``, each replaced in place by the (last) upsert
    of the same ``doc_id``; then the upserts that replaced nothing, in their order."""
    last = {r.document.doc_id: i for i, r in enumerate(upserts)}
    placed: set[str] = set()
    for r in kept:
        doc_id = r.document.doc_id
        if doc_id in gone:
            continue
        if doc_id in last and doc_id not in placed:
            placed.add(doc_id)
            yield upserts[last[doc_id]]
        else:
            yield r
    yield from (r for r in upserts if r.document.doc_id not in placed)


def from_settings(settings: Any) -> FaissBackend:
    """The FAISS store of ``settings.index_dir`` (registry name ``faiss``)."""
    return FaissBackend(settings.index_dir)
