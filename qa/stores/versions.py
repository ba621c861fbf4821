"""Versions of an index folder: written aside, sealed, swapped in atomically, pinned by readers.

Layout of the folder::

    CURRENT              name of the active version (replaced atomically)
    v-<stamp>/           one complete version; its manifest.json records every file's checksum
    .tmp-*/              a version being written (removed if the writer fails or crashes)
    .lock                writers take it; readers never wait

A writer fills a temporary folder (``new_version_folder``), then ``publish`` seals it
(``seal``: size and sha256 of every file in the manifest), flushes it to disk, renames it into
place and points ``CURRENT`` at it with ``os.replace``: a crash at any moment leaves either the
old or the new version, never a broken one. A reader ``pin``s the version it loaded, and
``cleanup`` (``prune``) removes old versions no reader holds. ``verify_files`` checks a version
against its seal before it is trusted.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from qa.errors import IndexMismatchError
from qa.stores.base import REBUILD_HINT

log = logging.getLogger(__name__)


def new_version_folder(index_dir: Path) -> Path:
    """An empty temporary folder in ``index_dir`` to write a version into."""
    return Path(tempfile.mkdtemp(prefix=".tmp-", dir=index_dir))


def publish(tmp: Path, index_dir: Path) -> None:
    """Make the version written in ``tmp`` (its ``manifest.json`` included) the current one:
    seal it, flush every file to disk, rename it into place, then replace ``CURRENT``."""
    seal(tmp)
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


def cleanup(index_dir: Path) -> None:
    """After a write: keep the previous version for readers that still have it open, drop
    older ones unless a live reader pins them, and remove what crashed writers left."""
    prune(index_dir)
    for tmpdir in index_dir.glob(".tmp-*"):  # left by a crashed writer (we hold the lock)
        shutil.rmtree(tmpdir, ignore_errors=True)


def digest(path: Path) -> str:
    """The sha256 of a file, hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def seal(version: Path) -> None:
    """Record the size and sha256 of every file of a version being written in its manifest
    (``files``): a reader can then tell a complete, unaltered version from a truncated, garbled
    or swapped one before trusting it."""
    path = version / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"] = {f.relative_to(version).as_posix(): {"bytes": f.stat().st_size,
                                                             "sha256": digest(f)}
                         for f in sorted(version.rglob("*"))
                         if f.is_file() and f.name != "manifest.json"}
    path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")


def verify_files(version: Path, manifest: dict[str, Any], only: str | None = None,
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
        if digest(path) != want["sha256"]:
            raise ValueError(f"{name} does not match its checksum")


def pin(version: Path) -> int | None:
    """A shared lock on a version folder, held while an ``Index`` uses it: the writer does not
    prune a version a live reader holds (``prune``), so a long-running process can still load
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


def prune(index_dir: Path, keep: int = 2) -> None:
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


MAX_POINTER_BYTES = 256  # CURRENT holds one version folder's name


def current_version(index_dir: Path) -> Path | None:
    """The active version folder, or None when there is no index at all (no ``CURRENT`` and
    no version folder).

    A ``CURRENT`` that cannot be read or names no version folder is a corrupt index
    (``IndexMismatchError``), not a missing one: rebuilding the whole index silently from the
    corpus would hide the damage and can take long."""
    pointer = index_dir / "CURRENT"
    if not pointer.exists() and not pointer.is_symlink():
        versions = sorted(p.name for p in index_dir.glob("v-*") if (p / "manifest.json").is_file())
        if versions:  # deleted beside intact versions: say so rather than rebuild everything
            raise IndexMismatchError(
                f"index in {index_dir}/ is corrupt (CURRENT is missing beside {len(versions)} "
                f"version(s); write the newest, {versions[-1]}, into CURRENT to use it, or "
                f"{REBUILD_HINT})")
        return None
    try:
        if not pointer.is_file():  # a folder, a dangling link, a device
            raise OSError("not a file")
        with open(pointer, "rb") as f:
            raw = f.read(MAX_POINTER_BYTES + 1)
        if len(raw) > MAX_POINTER_BYTES:
            raise ValueError(f"more than {MAX_POINTER_BYTES} bytes, not a version name")
        name = raw.decode("utf-8").strip()
    except (OSError, ValueError) as e:  # UnicodeDecodeError is a ValueError
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise IndexMismatchError(f"index in {index_dir}/ is corrupt (CURRENT is unreadable: "
                                 f"{why[:200]}); {REBUILD_HINT}") from e
    version = index_dir / name
    if not name.startswith("v-") or "/" in name or not version.is_dir():
        shown = name if len(name) <= 80 and name.isprintable() else repr(name[:80])
        raise IndexMismatchError(f"index in {index_dir}/ is corrupt (CURRENT names {shown}, "
                                 f"which is not a version folder); {REBUILD_HINT}")
    return version


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
