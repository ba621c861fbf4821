"""The FAISS store: documents, chunks, sentences and their vectors in files, FAISS and BM25 beside.

The embedded default (``store = "faiss"``): no server, one process, exact search. Layout of
``index/`` (``qa.stores.versions``)::

    CURRENT              name of the active version (replaced atomically)
    v-<stamp>/           manifest.json docs.jsonl chunks.jsonl vectors.npy dense.faiss lexical/
                         sentences.jsonl sentence_vectors.npy
    .lock                writers take it; readers never wait

Every write produces a complete new version in a temporary folder, renames it into place, then
points ``CURRENT`` at it with ``os.replace``: a crash at any moment leaves either the old or the
new index, never a broken one. Documents that a write does not touch are carried over from the
current version with their vectors, so an incremental ingest embeds only what is new. Rows of
FAISS and BM25 are positions in ``chunks.jsonl``; ``FaissIndex`` turns them into chunk ids, so
nothing outside this module sees a row number.

The price of files: a write rewrites the whole version (seconds for thousands of chunks), and
one machine holds it all; ``qa.stores.postgres`` is the way past both.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import IndexMismatchError
from qa.stores.base import (
    REBUILD_HINT,
    DocumentRecord,
    IndexConfig,
    Ranked,
    config_mismatch,
    manifest_documents,
)
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

FORMAT = 2  # 2: sentence units with their own vectors


class FaissIndex:
    """A loaded, read-only index version: the ``Store`` of the FAISS backend."""

    def __init__(self, directory: Path, manifest: dict[str, Any], documents: list[Document],
                 chunks: list[Chunk], vectors: np.ndarray,
                 sentences: list[Sentence] | None = None,
                 sentence_vectors: np.ndarray | None = None) -> None:
        self.directory = directory
        self.manifest = manifest
        self.documents = documents
        self.chunks = chunks
        self.vectors = vectors
        self.sentences = sentences or []
        self.sentence_vectors = (sentence_vectors if sentence_vectors is not None
                                 else np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0),
                                               dtype=np.float32))
        self._by_source = {d.source: d for d in documents}
        self._dense = None
        self._lexical = None
        fd = pin(directory)  # writers keep this version while this object lives
        if fd is not None:
            weakref.finalize(self, os.close, fd)

    # maps derived from the loaded data, built at first use and kept while the index is loaded
    @functools.cached_property
    def documents_by_id(self) -> dict[str, Document]:
        return {d.doc_id: d for d in self.documents}

    @functools.cached_property
    def chunks_by_doc(self) -> dict[str, list[Chunk]]:
        out: dict[str, list[Chunk]] = {}
        for c in self.chunks:
            out.setdefault(c.doc_id, []).append(c)
        return out

    @functools.cached_property
    def sentences_by_doc(self) -> dict[str, list[int]]:
        from qa.evidence import sentences_by_doc

        return sentences_by_doc(self.sentences)

    @functools.cached_property
    def _chunk_rows(self) -> dict[str, int]:
        return {c.chunk_id: i for i, c in enumerate(self.chunks)}

    @functools.cached_property
    def _sentence_rows(self) -> dict[str, int]:
        return {u.sentence_id: i for i, u in enumerate(self.sentences)}

    @functools.cached_property
    def _term_frequencies(self) -> dict[str, int]:
        from qa.evidence import terms

        docs = self.documents_by_id
        df: dict[str, int] = {}
        for u in self.sentences:
            for w in terms(docs[u.doc_id].text[u.start:u.end]):
                df[w] = df.get(w, 0) + 1
        return df

    # -- the Store protocol ---------------------------------------------------------------------
    def search(self, vector: np.ndarray, k: int) -> Ranked:
        chunks = self.chunks
        return [(chunks[row].chunk_id, s) for row, s in self.dense.search(vector, k)]

    def lexical_search(self, text: str, k: int) -> Ranked:
        chunks = self.chunks
        return [(chunks[row].chunk_id, s) for row, s in self.lexical.search(text, k)]

    def lexical_coverage(self, text: str) -> float:
        return self.lexical.coverage(text)

    def score(self, ids: Sequence[str], vector: np.ndarray) -> list[float]:
        rows = [self._chunk_rows[i] for i in ids]
        return [float(s) for s in self.vectors[rows] @ vector] if rows else []

    def chunks_by_id(self, ids: Sequence[str]) -> list[Chunk]:
        return [self.chunks[self._chunk_rows[i]] for i in ids]

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        return list(self.chunks_by_doc.get(doc_id, []))

    def search_sentences(self, vector: np.ndarray, k: int) -> list[tuple[Sentence, float]]:
        if k <= 0 or not len(self.sentences):
            return []
        sims = self.sentence_vectors @ vector
        k = min(k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.lexsort((top, -sims[top]))]
        return [(self.sentences[i], float(sims[i])) for i in top]

    def sentences_of(self, doc_id: str) -> list[Sentence]:
        return [self.sentences[i] for i in self.sentences_by_doc.get(doc_id, [])]

    def sentence_vectors_of(self, ids: Sequence[str]) -> np.ndarray:
        rows = [self._sentence_rows[i] for i in ids]
        return np.asarray(self.sentence_vectors[rows], dtype=np.float32)

    def sentence_frequencies(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        df = self._term_frequencies
        return len(self.sentences), {t: df[t] for t in terms if t in df}

    def document(self, doc_id: str) -> Document | None:
        return self.documents_by_id.get(doc_id)

    def document_by_source(self, source: str) -> Document | None:
        return self._by_source.get(source)

    def list_documents(self) -> list[Document]:
        return list(self.documents)

    def records(self) -> Iterator[DocumentRecord]:
        """Every document with its chunks, sentences and vectors (to carry it into a new version)."""
        crow, srow = self._chunk_rows, self._sentence_rows
        for d in self.documents:
            chunks = self.chunks_by_doc.get(d.doc_id, [])
            sents = self.sentences_of(d.doc_id)
            yield DocumentRecord(d, chunks, self.vectors[[crow[c.chunk_id] for c in chunks]],
                                 sents, self.sentence_vectors[[srow[u.sentence_id] for u in sents]])

    @property
    def dense(self):  # noqa: ANN201 - VectorIndex
        if self._dense is None:
            from qa.stores.vectors import VectorIndex

            self._dense = self._load_part(VectorIndex.FILE, VectorIndex.load)
            if len(self.chunks) and self._dense.dim != self.manifest.get("dim"):
                raise self._corrupt(f"{VectorIndex.FILE} has dimension {self._dense.dim}, "
                                    f"the manifest says {self.manifest.get('dim')}")
        return self._dense

    @property
    def lexical(self):  # noqa: ANN201 - LexicalIndex
        if self._lexical is None:
            from qa.stores.bm25 import LexicalIndex

            self._lexical = self._load_part(LexicalIndex.DIR + "/", LexicalIndex.load)
        return self._lexical

    def _corrupt(self, why: str) -> IndexMismatchError:
        return IndexMismatchError(f"index in {self.directory.parent}/ is corrupt ({why}); "
                                  f"{REBUILD_HINT}")

    def _load_part(self, name: str, load: Callable[[Path], Any]) -> Any:
        """Load a part that is read on first use, as carefully as ``load_index`` reads the rest:
        checksums first, any failure of the reader is the corrupt-index error, and its row
        count must be the number of chunks."""
        try:
            verify_files(self.directory, self.manifest, only=name)
            part = load(self.directory)
        except Exception as e:  # noqa: BLE001 - faiss, bm25s and numpy fail in many ways on bad bytes
            raise self._corrupt(f"{name.rstrip('/')}: {e}") from e
        if len(part) != len(self.chunks):
            raise self._corrupt(f"{name.rstrip('/')} has {len(part)} rows for "
                                f"{len(self.chunks)} chunks")
        return part



LAZY_PARTS = ("dense.faiss", "lexical/")  # loaded (and verified) on first use


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def load_index(index_dir: Path, expect: IndexConfig | None = None) -> FaissIndex:
    """Load the active version; raises ``IndexMismatchError`` (with a rebuild hint) when it is
    missing, corrupt, or was built with settings other than ``expect``."""
    version = current_version(index_dir)
    if version is None:
        raise IndexMismatchError(f"no index in {index_dir}/: run `qa ingest` first")
    try:
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise IndexMismatchError(f"index in {index_dir}/ has format {manifest.get('format')},"
                                     f" this qa reads {FORMAT}; {REBUILD_HINT}")
        verify_files(version, manifest, skip=LAZY_PARTS)
        documents = [Document(**d) for d in _read_jsonl(version / "docs.jsonl")]
        chunks = [Chunk(**c) for c in _read_jsonl(version / "chunks.jsonl")]
        vectors = np.load(version / "vectors.npy", mmap_mode="r")  # read on demand
        sentences = [Sentence(**r) for r in _read_jsonl(version / "sentences.jsonl")]
        sentence_vectors = np.load(version / "sentence_vectors.npy", mmap_mode="r")
    except IndexMismatchError:
        raise
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise IndexMismatchError(f"index in {index_dir}/ is corrupt ({e}); {REBUILD_HINT}") from e
    if (len(chunks) != len(vectors) or (len(vectors) and vectors.shape[1] != manifest["dim"])
            or len(sentences) != len(sentence_vectors)):
        raise IndexMismatchError(f"index in {index_dir}/ is inconsistent; {REBUILD_HINT}")
    if expect is not None:
        mismatch = config_mismatch(manifest["config"], expect, f"{index_dir}/")
        if mismatch is not None:
            raise mismatch
    return FaissIndex(version, manifest, documents, chunks, vectors, sentences, sentence_vectors)


def stemmer_language(documents: Sequence[Document]) -> str:
    """The Snowball stemmer for the corpus: the language most of its text is in ("german" or
    "english", from stop words). A mixed corpus is stemmed in its main language; the dense side
    carries questions in the other (the lexical weight follows vocabulary coverage).

    >>> stemmer_language([Document("a", "a", "", "The cloud grew and the shares rose.", "x")])
    'english'
    """
    from qa.prompting import detect_language

    weight = {"de": 0, "en": 0}
    for d in documents:
        weight[detect_language(d.text[:5000])] += len(d.text)
    return "english" if weight["en"] > weight["de"] else "german"




def _write_version(index_dir: Path, config: IndexConfig, dim: int,
                   records: Sequence[DocumentRecord]) -> None:
    from qa.stores.bm25 import LexicalIndex
    from qa.stores.vectors import VectorIndex

    documents = [r.document for r in records]
    chunks = [c for r in records for c in r.chunks]
    sentences = [u for r in records for u in r.sentences]
    vectors = _stack([r.chunk_vectors for r in records], dim)
    sentence_vectors = _stack([r.sentence_vectors for r in records], dim)
    tmp = new_version_folder(index_dir)
    try:
        _write_jsonl(tmp / "docs.jsonl", [asdict(d) for d in documents])
        _write_jsonl(tmp / "chunks.jsonl", [asdict(c) for c in chunks])
        np.save(tmp / "vectors.npy", vectors)
        _write_jsonl(tmp / "sentences.jsonl", [asdict(u) for u in sentences])
        np.save(tmp / "sentence_vectors.npy", sentence_vectors)
        dense = VectorIndex.build(vectors)
        dense.save(tmp)
        language = (config.lexical_language if config.lexical_language != "auto"
                    else stemmer_language(documents))
        LexicalIndex(language).build([c.text for c in chunks]).save(tmp)
        manifest = {
            "format": FORMAT,
            "store": "faiss",
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "config": asdict(config),
            "dim": dim,
            "dense": getattr(dense, "kind", "flat"),
            "chunks": len(chunks),
            "sentences": len(sentences),
            "documents": manifest_documents(records),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
        publish(tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    cleanup(index_dir)


def _stack(parts: Sequence[np.ndarray], dim: int) -> np.ndarray:
    parts = [np.asarray(p, dtype=np.float32).reshape(-1, dim) for p in parts]
    return np.vstack(parts) if parts else np.zeros((0, dim), dtype=np.float32)


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
        put in (a document already present keeps its place) and ``delete`` taken out."""
        self.index_dir.mkdir(parents=True, exist_ok=True)
        kept: list[DocumentRecord] = []
        if not replace and self.exists():
            old = self._current(config)
            if old.manifest.get("dim") != dim and old.documents:
                raise IndexMismatchError(
                    f"index in {self.index_dir}/ has vectors of dimension "
                    f"{old.manifest.get('dim')}, the embedder gives {dim}; {REBUILD_HINT}")
            kept = list(old.records())
        new = {r.document.doc_id: r for r in upserts}
        gone = set(delete)
        records = [new.pop(r.document.doc_id, r) for r in kept
                   if r.document.doc_id not in gone]
        records += [r for r in upserts if r.document.doc_id in new]
        self._opened = None  # superseded: let the old version go
        _write_version(self.index_dir, config, dim, records)


def from_settings(settings: Any) -> FaissBackend:
    """The FAISS store of ``settings.index_dir`` (registry name ``faiss``)."""
    return FaissBackend(settings.index_dir)
