"""The on-disk index: documents, chunks, vectors, FAISS and BM25, behind one manifest.

Layout of ``index/``::

    CURRENT              name of the active version (replaced atomically)
    v-<stamp>/           manifest.json docs.jsonl chunks.jsonl vectors.npy dense.faiss lexical/
    .lock                writers take it; readers never wait

A build writes a complete new version in a temporary folder, renames it into place, then
points ``CURRENT`` at it with ``os.replace``: a crash at any moment leaves either the old or the
new index, never a broken one. Updates are incremental: vectors of chunks whose id (a hash of
document content and offsets) is already indexed are reused, so re-ingesting an unchanged corpus
embeds nothing and returns without writing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.chunking import chunk_document
from qa.embedders import Embedder
from qa.errors import IndexMismatchError
from qa.types import Chunk, Document

log = logging.getLogger(__name__)

FORMAT = 1
REBUILD_HINT = "run `qa ingest --rebuild` to build it again from the articles"


@dataclass(frozen=True)
class IndexConfig:
    """What an index must agree with the settings on; stored in the manifest."""

    embed_model: str
    query_prefix: str
    passage_prefix: str
    chunk_words: int
    chunk_overlap_sentences: int
    lexical_language: str = "german"

    @classmethod
    def from_settings(cls, s: Any) -> IndexConfig:
        return cls(s.embed_model, s.query_prefix, s.passage_prefix, s.chunk_words,
                   s.chunk_overlap_sentences)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    embedded_chunks: int = 0
    total_chunks: int = 0
    seconds: float = 0.0
    wrote: bool = False

    def summary(self) -> str:
        if not self.wrote:
            return (f"index is up to date: {len(self.unchanged)} documents, "
                    f"{self.total_chunks} chunks ({self.seconds:.2f} s)")
        return (f"indexed {len(self.added)} new, {len(self.changed)} changed, "
                f"{len(self.removed)} removed, {len(self.unchanged)} unchanged documents; "
                f"{self.embedded_chunks} chunks embedded, {self.total_chunks} in total "
                f"({self.seconds:.1f} s)")


class Index:
    """A loaded, read-only index version."""

    def __init__(self, directory: Path, manifest: dict[str, Any], documents: list[Document],
                 chunks: list[Chunk], vectors: np.ndarray) -> None:
        self.directory = directory
        self.manifest = manifest
        self.documents = documents
        self.chunks = chunks
        self.vectors = vectors
        self._by_source = {d.source: d for d in documents}
        self._dense = None
        self._lexical = None

    @property
    def config(self) -> IndexConfig:
        return IndexConfig(**self.manifest["config"])

    def document(self, source: str) -> Document | None:
        return self._by_source.get(source)

    @property
    def dense(self):  # noqa: ANN201 - FaissStore
        if self._dense is None:
            from qa.store import FaissStore

            self._dense = FaissStore.load(self.directory)
        return self._dense

    @property
    def lexical(self):  # noqa: ANN201 - LexicalIndex
        if self._lexical is None:
            from qa.lexical import LexicalIndex

            self._lexical = LexicalIndex.load(self.directory)
        return self._lexical


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def current_version(index_dir: Path) -> Path | None:
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        return None
    version = index_dir / pointer.read_text().strip()
    return version if version.is_dir() else None


def load_index(index_dir: Path, expect: IndexConfig | None = None) -> Index:
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
        documents = [Document(**d) for d in _read_jsonl(version / "docs.jsonl")]
        chunks = [Chunk(**c) for c in _read_jsonl(version / "chunks.jsonl")]
        vectors = np.load(version / "vectors.npy")
    except IndexMismatchError:
        raise
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise IndexMismatchError(f"index in {index_dir}/ is corrupt ({e}); {REBUILD_HINT}") from e
    if len(chunks) != len(vectors) or (len(vectors) and vectors.shape[1] != manifest["dim"]):
        raise IndexMismatchError(f"index in {index_dir}/ is inconsistent; {REBUILD_HINT}")
    if expect is not None:
        built = manifest["config"]
        diffs = [f"{k}: index has {built.get(k)!r}, settings say {v!r}"
                 for k, v in asdict(expect).items() if built.get(k) != v]
        if diffs:
            raise IndexMismatchError(f"index in {index_dir}/ was built with other settings ("
                                     + "; ".join(diffs) + f"); {REBUILD_HINT}")
    return Index(version, manifest, documents, chunks, vectors)


@contextlib.contextmanager
def _writer_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def update_index(index_dir: Path, documents: Sequence[Document], embedder: Embedder,
                 config: IndexConfig, rebuild: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> IngestReport:
    """Make the index hold exactly ``documents``, embedding only chunks it does not have yet."""
    t0 = time.perf_counter()
    report = IngestReport()
    with _writer_lock(index_dir):
        old: Index | None = None
        if not rebuild and current_version(index_dir) is not None:
            try:
                old = load_index(index_dir, expect=config)
            except IndexMismatchError as e:
                log.info("rebuilding from scratch: %s", e)
        old_docs = {d.source: d for d in old.documents} if old else {}
        new_sources = {d.source for d in documents}
        for d in documents:
            prev = old_docs.get(d.source)
            if prev is None:
                report.added.append(d.source)
            elif prev.doc_id != d.doc_id:
                report.changed.append(d.source)
            else:
                report.unchanged.append(d.source)
        report.removed = sorted(set(old_docs) - new_sources)
        if old is not None and not (report.added or report.changed or report.removed):
            report.total_chunks = len(old.chunks)
            report.seconds = time.perf_counter() - t0
            return report

        chunks = [c for d in documents for c in chunk_document(
            d, config.chunk_words, config.chunk_overlap_sentences)]
        known = {c.chunk_id: i for i, c in enumerate(old.chunks)} if old else {}
        todo = [c for c in chunks if c.chunk_id not in known]
        fresh: dict[str, np.ndarray] = {}
        batch = 16
        for i in range(0, len(todo), batch):
            part = todo[i:i + batch]
            for c, v in zip(part, embedder.embed([c.text for c in part], "passage"), strict=True):
                fresh[c.chunk_id] = v
            if progress:
                progress(min(i + batch, len(todo)), len(todo))
        dim = embedder.dim
        vectors = np.zeros((len(chunks), dim), dtype=np.float32)
        for i, c in enumerate(chunks):
            vectors[i] = fresh[c.chunk_id] if c.chunk_id in fresh else old.vectors[known[c.chunk_id]]  # type: ignore[union-attr]
        _write_version(index_dir, documents, chunks, vectors, config, dim)
        report.embedded_chunks = len(todo)
        report.total_chunks = len(chunks)
        report.wrote = True
        report.seconds = time.perf_counter() - t0
        return report


def _write_version(index_dir: Path, documents: Sequence[Document], chunks: Sequence[Chunk],
                   vectors: np.ndarray, config: IndexConfig, dim: int) -> None:
    from qa.lexical import LexicalIndex
    from qa.store import FaissStore

    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=index_dir))
    try:
        _write_jsonl(tmp / "docs.jsonl", [asdict(d) for d in documents])
        _write_jsonl(tmp / "chunks.jsonl", [asdict(c) for c in chunks])
        np.save(tmp / "vectors.npy", vectors)
        FaissStore.build(vectors).save(tmp)
        LexicalIndex(config.lexical_language).build([c.text for c in chunks]).save(tmp)
        manifest = {
            "format": FORMAT,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "config": asdict(config),
            "dim": dim,
            "chunks": len(chunks),
            "documents": {d.source: {"doc_id": d.doc_id, "sha256": d.sha256, "title": d.title,
                                     "chunks": sum(c.doc_id == d.doc_id for c in chunks)}
                          for d in documents},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
        for f in tmp.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        name = "v-" + time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6}"
        tmp.rename(index_dir / name)
        pointer = index_dir / "CURRENT.tmp"
        pointer.write_text(name)
        with open(pointer, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(pointer, index_dir / "CURRENT")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # keep the previous version for readers that still have it open; drop older ones
    versions = sorted((p for p in index_dir.glob("v-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for stale in versions[:-2]:
        shutil.rmtree(stale, ignore_errors=True)
    for tmpdir in index_dir.glob(".tmp-*"):  # left by a crashed writer (we hold the lock)
        shutil.rmtree(tmpdir, ignore_errors=True)
