"""The on-disk index: documents, chunks, vectors, FAISS and BM25, behind one manifest.

Layout of ``index/``::

    CURRENT              name of the active version (replaced atomically)
    v-<stamp>/           manifest.json docs.jsonl chunks.jsonl vectors.npy dense.faiss lexical/
                         sentences.jsonl sentence_vectors.npy
    .lock                writers take it; readers never wait

A build writes a complete new version in a temporary folder, renames it into place, then
points ``CURRENT`` at it with ``os.replace``: a crash at any moment leaves either the old or the
new index, never a broken one. Updates are incremental: vectors of chunks whose id (a hash of
document content and offsets) is already indexed are reused, so re-ingesting an unchanged corpus
embeds nothing and returns without writing.

Sentences are a second unit beside the chunks: every sentence of every document has its own
vector, embedded at ingest (and reused by id like the chunks), so evidence can be chosen sentence
by sentence at question time without embedding anything then. They cost about five vectors per
chunk; the text is not stored twice (a sentence is an offset range into its document).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.chunking import chunk_document, sentence_units
from qa.embedders import Embedder
from qa.errors import IndexMismatchError
from qa.types import Chunk, Document, Sentence

log = logging.getLogger(__name__)

FORMAT = 2  # 2: sentence units with their own vectors
REBUILD_HINT = "run `qa ingest --rebuild` to build it again from the articles"
DEFAULT_MAX_CHUNKS = 5000  # per document: Settings.max_chunks_per_document


@dataclass(frozen=True)
class IndexConfig:
    """What an index must agree with the settings on; stored in the manifest."""

    embed_model: str
    query_prefix: str
    passage_prefix: str
    chunk_words: int
    chunk_overlap_sentences: int
    lexical_language: str = "auto"  # Snowball stemmer; "auto": the corpus's main language

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
    embedded_sentences: int = 0
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
        fd = _pin(directory)  # writers keep this version while this object lives
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
    def term_idf(self) -> Callable[[str], float]:
        """Inverse sentence frequency of the evidence terms (``qa.evidence.term_idf``)."""
        from qa.evidence import term_idf

        docs = self.documents_by_id
        return term_idf(self.sentences, lambda doc_id: docs[doc_id].text)

    @property
    def config(self) -> IndexConfig:
        return IndexConfig(**self.manifest["config"])

    def document(self, source: str) -> Document | None:
        return self._by_source.get(source)

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
            _verify_files(self.directory, self.manifest, only=name)
            part = load(self.directory)
        except Exception as e:  # noqa: BLE001 - faiss, bm25s and numpy fail in many ways on bad bytes
            raise self._corrupt(f"{name.rstrip('/')}: {e}") from e
        if len(part) != len(self.chunks):
            raise self._corrupt(f"{name.rstrip('/')} has {len(part)} rows for "
                                f"{len(self.chunks)} chunks")
        return part


LAZY_PARTS = ("dense.faiss", "lexical/")  # loaded (and verified) on first use


def _digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _seal(version: Path) -> None:
    """Record the size and sha256 of every file of a version being written in its manifest
    (``files``): a reader can then tell a complete, unaltered version from a truncated, garbled
    or swapped one before trusting it."""
    path = version / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"] = {f.relative_to(version).as_posix(): {"bytes": f.stat().st_size,
                                                             "sha256": _digest(f)}
                         for f in sorted(version.rglob("*"))
                         if f.is_file() and f.name != "manifest.json"}
    path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")


def _verify_files(version: Path, manifest: dict[str, Any], only: str | None = None,
                  skip: Sequence[str] = ()) -> None:
    """``ValueError`` naming the first file that is missing or differs from the manifest's
    record; ``only``/``skip`` select files by path prefix. Versions written before checksums
    were recorded have no ``files`` and pass."""
    files = manifest.get("files")
    if files is None:
        return
    if not isinstance(files, dict):
        raise ValueError("manifest files record is not a table")
    for name, want in files.items():
        if (only is not None and not name.startswith(only)) or name.startswith(tuple(skip)):
            continue
        path = version / name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise ValueError(f"{name} is missing") from None
        if size != want["bytes"]:
            raise ValueError(f"{name} has {size:,} bytes, the manifest says {want['bytes']:,}")
        if _digest(path) != want["sha256"]:
            raise ValueError(f"{name} does not match its checksum")


def _pin(version: Path) -> int | None:
    """A shared lock on a version folder, held while an ``Index`` uses it: the writer does not
    prune a version a live reader holds (``_prune``), so a long-running process can still load
    the dense and lexical parts after later ingests."""
    try:
        fd = os.open(version, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    except OSError:
        os.close(fd)
        return None
    return fd


def _prune(index_dir: Path, keep: int = 2) -> None:
    """Remove versions older than the newest ``keep``, except those a live reader pins."""
    versions = sorted((p for p in index_dir.glob("v-*") if p.is_dir()),
                      key=lambda p: p.stat().st_mtime)
    for stale in versions[:-keep]:
        try:
            fd = os.open(stale, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            log.info("keeping %s: a running process still reads it", stale.name)
            os.close(fd)
            continue
        try:
            shutil.rmtree(stale, ignore_errors=True)
        finally:
            os.close(fd)


def cap_chunks(chunks: list[Chunk], limit: int, source: str) -> list[Chunk]:
    """The first ``limit`` chunks of one document, with a warning when it had more: one huge
    file must not cost unbounded embedding time.

    >>> cap_chunks(["a", "b"], 5, "x.txt")
    ['a', 'b']
    """
    if len(chunks) <= limit:
        return chunks
    from qa.corpus import printable

    log.warning("%s: %d chunks, only the first %d are indexed (max_chunks_per_document)",
                printable(source), len(chunks), limit)
    return chunks[:limit]


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


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def current_version(index_dir: Path) -> Path | None:
    """The active version folder, or None when there is no index at all (no ``CURRENT``).

    A ``CURRENT`` that cannot be read or names no version folder is a corrupt index
    (``IndexMismatchError``), not a missing one: rebuilding the whole index silently from the
    corpus would hide the damage and can take long."""
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        return None
    try:
        name = pointer.read_bytes().decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise IndexMismatchError(f"index in {index_dir}/ is corrupt (CURRENT is unreadable: "
                                 f"{e}); {REBUILD_HINT}") from e
    version = index_dir / name
    if not name.startswith("v-") or "/" in name or not version.is_dir():
        shown = name if len(name) <= 80 and name.isprintable() else repr(name[:80])
        raise IndexMismatchError(f"index in {index_dir}/ is corrupt (CURRENT names {shown}, "
                                 f"which is not a version folder); {REBUILD_HINT}")
    return version


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
        _verify_files(version, manifest, skip=LAZY_PARTS)
        documents = [Document(**d) for d in _read_jsonl(version / "docs.jsonl")]
        chunks = [Chunk(**c) for c in _read_jsonl(version / "chunks.jsonl")]
        vectors = np.load(version / "vectors.npy")
        sentences = [Sentence(**r) for r in _read_jsonl(version / "sentences.jsonl")]
        sentence_vectors = np.load(version / "sentence_vectors.npy")
    except IndexMismatchError:
        raise
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise IndexMismatchError(f"index in {index_dir}/ is corrupt ({e}); {REBUILD_HINT}") from e
    if (len(chunks) != len(vectors) or (len(vectors) and vectors.shape[1] != manifest["dim"])
            or len(sentences) != len(sentence_vectors)):
        raise IndexMismatchError(f"index in {index_dir}/ is inconsistent; {REBUILD_HINT}")
    if expect is not None:
        built = manifest["config"]
        diffs = [f"{k}: index has {built.get(k)!r}, settings say {v!r}"
                 for k, v in asdict(expect).items() if built.get(k) != v]
        if diffs:
            raise IndexMismatchError(f"index in {index_dir}/ was built with other settings ("
                                     + "; ".join(diffs) + f"); {REBUILD_HINT}")
    return Index(version, manifest, documents, chunks, vectors, sentences, sentence_vectors)


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
                 progress: Callable[[int, int], None] | None = None,
                 max_chunks_per_document: int = DEFAULT_MAX_CHUNKS) -> IngestReport:
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

        chunks: list[Chunk] = []
        sentences: list[Sentence] = []
        for d in documents:
            kept = cap_chunks(chunk_document(d, config.chunk_words, config.chunk_overlap_sentences),
                              max_chunks_per_document, d.source)
            chunks += kept
            end = kept[-1].end if kept else 0  # sentences only where chunks are (the same cap)
            sentences += [u for u in sentence_units(d) if u.end <= end]
        known = {c.chunk_id: i for i, c in enumerate(old.chunks)} if old else {}
        known_s = {u.sentence_id: i for i, u in enumerate(old.sentences)} if old else {}
        todo = [(c.chunk_id, c.text) for c in chunks if c.chunk_id not in known]
        report.embedded_chunks = len(todo)
        docs_by_id = {d.doc_id: d for d in documents}
        todo += [(u.sentence_id, docs_by_id[u.doc_id].text[u.start:u.end]) for u in sentences
                 if u.sentence_id not in known_s]
        fresh: dict[str, np.ndarray] = {}
        batch = 16
        for i in range(0, len(todo), batch):
            part = todo[i:i + batch]
            for (key, _), v in zip(part, embedder.embed([t for _, t in part], "passage"),
                                   strict=True):
                fresh[key] = v
            if progress:
                progress(min(i + batch, len(todo)), len(todo))
        dim = embedder.dim
        vectors = np.zeros((len(chunks), dim), dtype=np.float32)
        for i, c in enumerate(chunks):
            vectors[i] = fresh[c.chunk_id] if c.chunk_id in fresh else old.vectors[known[c.chunk_id]]  # type: ignore[union-attr]
        sentence_vectors = np.zeros((len(sentences), dim), dtype=np.float32)
        for i, u in enumerate(sentences):
            sentence_vectors[i] = (fresh[u.sentence_id] if u.sentence_id in fresh
                                   else old.sentence_vectors[known_s[u.sentence_id]])  # type: ignore[union-attr]
        _write_version(index_dir, documents, chunks, vectors, config, dim,
                       sentences, sentence_vectors)
        report.embedded_sentences = len(todo) - report.embedded_chunks
        report.total_chunks = len(chunks)
        report.wrote = True
        report.seconds = time.perf_counter() - t0
        return report


def _write_version(index_dir: Path, documents: Sequence[Document], chunks: Sequence[Chunk],
                   vectors: np.ndarray, config: IndexConfig, dim: int,
                   sentences: Sequence[Sentence], sentence_vectors: np.ndarray) -> None:
    from qa.stores.bm25 import LexicalIndex
    from qa.stores.vectors import VectorIndex

    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=index_dir))
    try:
        _write_jsonl(tmp / "docs.jsonl", [asdict(d) for d in documents])
        _write_jsonl(tmp / "chunks.jsonl", [asdict(c) for c in chunks])
        np.save(tmp / "vectors.npy", vectors)
        _write_jsonl(tmp / "sentences.jsonl", [asdict(u) for u in sentences])
        np.save(tmp / "sentence_vectors.npy", sentence_vectors)
        VectorIndex.build(vectors).save(tmp)
        language = (config.lexical_language if config.lexical_language != "auto"
                    else stemmer_language(documents))
        LexicalIndex(language).build([c.text for c in chunks]).save(tmp)
        manifest = {
            "format": FORMAT,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "config": asdict(config),
            "dim": dim,
            "chunks": len(chunks),
            "sentences": len(sentences),
            "documents": {d.source: {"doc_id": d.doc_id, "sha256": d.sha256, "title": d.title,
                                     "chunks": sum(c.doc_id == d.doc_id for c in chunks)}
                          for d in documents},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
        _seal(tmp)
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
    # keep the previous version for readers that still have it open; drop older ones unless
    # a live reader pins them
    _prune(index_dir)
    for tmpdir in index_dir.glob(".tmp-*"):  # left by a crashed writer (we hold the lock)
        shutil.rmtree(tmpdir, ignore_errors=True)
