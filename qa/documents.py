"""The document library: list, add, delete and rebuild the indexed articles.

The same operations back the UI's documents tab, and are there for the CLI and Python users::

    lib = DocumentLibrary(settings)
    result = lib.add(["neu.html"])          # validated, copied into the corpus folder, indexed
    if result.rejected: print(result.summary())
    lib.delete("neu.html")                  # out of the index, file moved to data/trash/

Guarantees:

* **All or nothing.** Every file of an ``add`` is checked first (``qa.corpus.load_file``: type,
  size, empty, binary, no text; and its name). If any is refused, nothing changes: no file is
  copied, the index is untouched, and ``AddResult.rejected`` says why for each refused file.
* **Atomic files.** An accepted file is written to a hidden temporary file inside the corpus
  folder (validated there, on the bytes that will be kept) and linked into place; a replaced
  file is kept aside until the index is written, and restored if indexing fails.
* **Safe names.** A name with a path separator, ``..``, a leading dot, control characters, or
  one that clashes with an existing document (unless ``replace=True``) is refused.
* **Consistent index.** The index is updated to exactly the current documents plus the new ones
  (``qa.indexing.update_index`` into the configured store: only new documents are embedded,
  the switch is atomic). The current documents are read under the store's writer lock, so an
  ``qa ingest`` running meanwhile is waited for and its work kept; operations of several
  threads or processes on the same index are serialised.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qa.config import Settings
from qa.corpus import SUPPORTED, Skipped, load_corpus, load_file
from qa.embedders import Embedder
from qa.errors import IndexMismatchError, InputError
from qa.indexing import IngestReport, update_index
from qa.ingest.readers import unsupported
from qa.stores.base import IndexConfig, StoreBackend
from qa.types import Document

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
FileSpec = Path | str | tuple[Path | str, str]  # a file, or (file, name to store it under)
MAX_NAME_BYTES = 200
TRASH_DIR = "trash"
LOCK_FILE = ".documents.lock"


@dataclass(frozen=True)
class DocInfo:
    source: str  # file name inside the corpus folder
    title: str
    bytes: int
    chunks: int
    format: str
    # what the page says about itself (web pages: trafilatura's metadata), "" when unknown
    author: str = ""
    date: str = ""
    site: str = ""


@dataclass(frozen=True)
class Rejected:
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass
class AddResult:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    report: IngestReport | None = None

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary(self) -> str:
        if self.rejected:
            why = "; ".join(str(r) for r in self.rejected)
            return f"nothing was added: {why}"
        parts = []
        if self.added:
            parts.append(f"added {', '.join(self.added)}")
        if self.replaced:
            parts.append(f"replaced {', '.join(self.replaced)}")
        chunks = f" ({self.report.total_chunks} chunks in the index)" if self.report else ""
        return "; ".join(parts) + chunks if parts else "nothing to add"


@dataclass
class DeleteResult:
    source: str
    trashed: Path | None  # where the file went (None: it was only in the index)
    report: IngestReport | None

    def summary(self) -> str:
        where = f"; the file is in {self.trashed}" if self.trashed else ""
        return f"deleted {self.source}{where}"


def check_name(name: str) -> str:
    """The name a file may have in the corpus folder, or ``ValueError`` with the reason.

    >>> check_name("Artikel 1.txt")
    'Artikel 1.txt'
    >>> check_name("../etc/passwd.txt")
    Traceback (most recent call last):
    ...
    ValueError: name must not contain a path ('/' or '\\\\')
    """
    name = unicodedata.normalize("NFC", str(name)).strip()
    if not name:
        raise ValueError("empty file name")
    if "/" in name or "\\" in name:
        raise ValueError("name must not contain a path ('/' or '\\\\')")
    if name in (".", "..") or name.startswith("."):
        raise ValueError("name must not start with '.' (hidden files are not indexed)")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ValueError("name contains control characters")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise ValueError(f"name too long (over {MAX_NAME_BYTES} bytes)")
    if Path(name).suffix.lower() not in SUPPORTED:
        raise ValueError(unsupported(Path(name).suffix.lower()))
    return name


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


class DocumentLibrary:
    """The articles of ``settings.corpus_dir`` and the index in ``settings.index_dir``."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 store: StoreBackend | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._store = store

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from qa.composition import make_embedder

            self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def store(self) -> StoreBackend:
        """Where the index lives (``settings.store``), made on first use."""
        if self._store is None:
            from qa.composition import make_store

            self._store = make_store(self.settings)
        return self._store

    @property
    def corpus_dir(self) -> Path:
        return self.settings.corpus_dir

    @property
    def trash_dir(self) -> Path:
        return self.settings.data_dir / TRASH_DIR

    # -- reading ------------------------------------------------------------------------------
    def _indexed(self) -> tuple[list[Document], dict[str, int]] | None:
        try:
            if not self.store.exists():
                return None
            index = self.store.open()
        except IndexMismatchError as e:
            log.warning("cannot read the index: %s", e)
            return None
        counts = {s: int(v.get("chunks", 0))
                  for s, v in index.manifest.get("documents", {}).items()}
        return index.list_documents(), counts

    def list(self) -> list[DocInfo]:
        """The indexed documents, by file name."""
        got = self._indexed()
        if got is None:
            return []
        docs, counts = got
        return sorted((DocInfo(d.source, d.title, int(d.meta.get("bytes", len(d.text.encode()))),
                               counts.get(d.source, 0), str(d.meta.get("format", "")),
                               str(d.meta.get("author") or ""), str(d.meta.get("date") or ""),
                               str(d.meta.get("site") or ""))
                       for d in docs), key=lambda i: i.source.lower())

    def document(self, source: str) -> Document | None:
        got = self._indexed()
        return next((d for d in got[0] if d.source == source), None) if got else None

    def _current(self) -> dict[str, Document]:
        """What the index holds now; without a usable index, what the corpus folder holds."""
        got = self._indexed()
        if got is not None:
            return {d.source: d for d in got[0]}
        if not self.corpus_dir.is_dir():
            return {}
        loaded = load_corpus([self.corpus_dir], max_bytes=self.settings.max_file_bytes,
                             follow_symlinks=self.settings.follow_symlinks)
        return {d.source: d for d in loaded.documents}

    # -- writing ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """The library lock and then the store's writer lock: the document set is read, changed
        and written by one writer, so an ingest running meanwhile (``qa ingest``, another
        process) is waited for and its documents are kept."""
        with self._locked(), self.store.lock():
            yield

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One library writer at a time (threads and processes): the index's own lock is
        taken by ``update_index`` inside, so this one is a different file."""
        self.settings.index_dir.mkdir(parents=True, exist_ok=True)
        with open(self.settings.index_dir / LOCK_FILE, "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _update(self, documents: Sequence[Document], progress: Progress | None = None,
                rebuild: bool = False) -> IngestReport:
        """Called under ``_writing``: the store's writer lock is held."""
        return update_index(self.store, documents, self.embedder,
                            IndexConfig.from_settings(self.settings), rebuild=rebuild,
                            progress=progress, locked=True,
                            max_chunks_per_document=self.settings.max_chunks_per_document)

    def _inside(self, source: str) -> Path:
        """The file of ``source`` in the corpus folder; refuses anything that escapes it."""
        root = self.corpus_dir.resolve()
        path = (self.corpus_dir / source).resolve()
        if source.startswith("/") or not path.is_relative_to(root) or path == root:
            raise InputError(f"{source!r} is not a file inside {self.corpus_dir}")
        return self.corpus_dir / source

    def _stage(self, src: Path, name: str) -> tuple[Path, Document]:
        """Copy ``src`` to a hidden temporary file in the corpus folder and validate it there."""
        suffix = Path(name).suffix
        fd, tmp_name = tempfile.mkstemp(prefix=".upload-", suffix=suffix, dir=self.corpus_dir)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, open(src, "rb") as f:
                copied = 0
                while block := f.read(1 << 20):
                    copied += len(block)
                    if copied > self.settings.max_file_bytes:
                        raise ValueError(f"too large (more than {self.settings.max_file_bytes:,}"
                                         " bytes)")
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            doc = load_file(tmp, source=name, max_bytes=self.settings.max_file_bytes)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp, doc

    def add(self, files: Sequence[FileSpec], progress: Progress | None = None,
            replace: bool = False) -> AddResult:
        """Validate ``files``, copy them into the corpus folder and index them; all or nothing.

        A file is given as a path (stored under its own name) or as ``(path, name)``. Refused
        files are reported in ``AddResult.rejected``, and then nothing is changed at all."""
        items = [(Path(f[0]), f[1]) if isinstance(f, tuple) else (Path(f), Path(f).name)
                 for f in files]
        if not items:
            raise InputError(f"no files given: choose {', '.join(SUPPORTED)} files to add")
        self.corpus_dir.mkdir(parents=True, exist_ok=True)
        result = AddResult()
        staged: list[tuple[Path, str, Document, bool]] = []  # tmp, name, doc, replaces
        try:
            with self._writing():
                current = self._current()
                seen: set[str] = set()
                for src, raw_name in items:
                    try:
                        name = check_name(raw_name)
                        if name in seen:
                            raise ValueError("given twice")
                        exists = name in current or (self.corpus_dir / name).exists()
                        if exists and not replace:
                            raise ValueError("a document with this name exists already "
                                             "(delete it first, or choose replace)")
                        if not src.is_file():
                            raise ValueError("not a file" if src.exists() else "does not exist")
                        tmp, doc = self._stage(src, name)
                    except (ValueError, OSError) as e:
                        reason = str(e) if not isinstance(e, OSError) else (e.strerror or str(e))
                        result.rejected.append(Rejected(str(raw_name), reason))
                        continue
                    seen.add(name)
                    staged.append((tmp, name, doc, exists))
                if result.rejected:
                    return result
                self._commit(staged, current, result, progress)
                staged = []
        finally:
            for tmp, *_ in staged:
                tmp.unlink(missing_ok=True)
        return result

    def _commit(self, staged: builtins.list[tuple[Path, str, Document, bool]],
                current: dict[str, Document], result: AddResult,
                progress: Progress | None) -> None:
        placed: list[Path] = []
        kept: list[tuple[Path, Path]] = []  # (aside, target): old versions of replaced files
        try:
            for tmp, name, _doc, replaces in staged:
                target = self.corpus_dir / name
                if replaces and target.exists():
                    aside = target.with_name(f".replaced-{time.monotonic_ns()}-{name}")
                    os.link(target, aside)
                    kept.append((aside, target))
                    os.replace(tmp, target)
                else:
                    try:
                        os.link(tmp, target)  # fails if the name appeared meanwhile
                    except FileExistsError as e:
                        raise InputError(f"{name}: a file with this name appeared meanwhile; "
                                         "nothing was added") from e
                    tmp.unlink()
                placed.append(target)
                (result.replaced if replaces else result.added).append(name)
            docs = dict(current)
            for _tmp, name, doc, _ in staged:
                docs[name] = doc
            result.report = self._update(list(docs.values()), progress)
        except BaseException:
            restored = {t for _, t in kept}
            for aside, target in kept:
                os.replace(aside, target)
            for target in placed:
                if target not in restored:
                    target.unlink(missing_ok=True)
            result.added.clear()
            result.replaced.clear()
            raise
        for aside, target in kept:  # the old versions go to the trash, not away
            self._to_trash(aside, target.name)
        for target in placed:
            with contextlib.suppress(OSError):
                _fsync_file(target)

    def _to_trash(self, path: Path, name: str | None = None) -> Path:
        self.trash_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        dest = self.trash_dir / f"{stamp}-{name or path.name}"
        n = 1
        while dest.exists():
            n += 1
            dest = self.trash_dir / f"{stamp}-{n}-{name or path.name}"
        shutil.move(str(path), dest)
        return dest

    def delete(self, source: str) -> DeleteResult:
        """Remove ``source`` from the index, then move its file to ``data_dir/trash``."""
        with self._writing():
            current = self._current()
            path = self._inside(source)
            if source not in current and not path.is_file():
                raise InputError(f"no document named {source!r}")
            remaining = [d for s, d in current.items() if s != source]
            if source in current and not remaining:
                raise InputError(f"{source} is the only document; the index needs at least one "
                                 "(add another one first)")
            report = self._update(remaining) if source in current else None
            trashed = self._to_trash(path, Path(source).name) if path.is_file() else None
        return DeleteResult(source, trashed, report)

    def rebuild(self, progress: Progress | None = None,
                full: bool = True) -> tuple[IngestReport, builtins.list[Skipped]]:
        """Index exactly the readable files of the corpus folder (``full``: embed every chunk
        again; otherwise reuse the vectors of unchanged chunks). Unreadable files are skipped
        and returned; with no readable file at all the index is left as it was."""
        from qa.ingest.pipeline import ingest

        with self._locked():
            return ingest(self.settings, [self.corpus_dir], embedder=self.embedder,
                          rebuild=full, progress=progress)
