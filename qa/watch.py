"""Follow a folder of articles: run the incremental ingest again when files are added, changed or
deleted (``qa ingest --watch``).

The folder is polled (a ``stat`` of every file ``load_corpus`` would read, each ``interval``
seconds) rather than watched through inotify/FSEvents: polling works the same on every system,
on network drives and in containers, and needs no extra package. The price is one ``stat`` per
file per interval (a few milliseconds for a thousand files) and a reaction time of
``interval`` seconds.

A change is acted on only once the folder has looked the same for ``debounce`` seconds, so a file
that is still being written (its size or modification time still moving) is not read half-way,
and a burst of changes (a copy of many files, an editor's save-as-rename) becomes one ingest.
The ingest itself is the usual one: unchanged files are not embedded again and the index is
replaced atomically, so a question answered meanwhile sees the old or the new index, never half
of one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qa.corpus import iter_files

log = logging.getLogger(__name__)

# source name -> (size in bytes, modification time in ns): enough to see a file change
Snapshot = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class Changes:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def lines(self) -> list[str]:
        """One line per file: ``+`` added, ``~`` changed, ``-`` removed.

        >>> Changes(added=["a.txt"], removed=["b.pdf"]).lines()
        ['+ a.txt', '- b.pdf']
        """
        return ([f"+ {s}" for s in self.added] + [f"~ {s}" for s in self.changed]
                + [f"- {s}" for s in self.removed])


def snapshot(paths: Iterable[Path], follow_symlinks: bool = False) -> Snapshot:
    """Size and modification time of every file ``load_corpus`` would read under ``paths``; a
    file that disappears while it is listed is left out (it is gone)."""
    out: Snapshot = {}
    for path, source in iter_files(paths, follow_symlinks):
        try:
            st = path.stat()
        except OSError:
            continue
        out[source] = (st.st_size, st.st_mtime_ns)
    return out


def diff(old: Snapshot, new: Snapshot) -> Changes:
    """What changed from ``old`` to ``new``.

    >>> diff({"a": (1, 1), "b": (2, 2)}, {"a": (1, 5), "c": (3, 3)})
    Changes(added=['c'], changed=['a'], removed=['b'])
    """
    return Changes(added=sorted(new.keys() - old.keys()),
                   changed=sorted(k for k in new.keys() & old.keys() if new[k] != old[k]),
                   removed=sorted(old.keys() - new.keys()))


class Watcher:
    """Polls ``paths``; :meth:`poll` returns the changes since the last ones it returned once the
    folder has been quiet for ``debounce`` seconds, else an empty :class:`Changes`.

    ``clock`` and ``take`` (the snapshot function) are injected so the debounce can be tested
    without waiting."""

    def __init__(self, paths: Iterable[Path], interval: float = 1.0, debounce: float = 2.0,
                 follow_symlinks: bool = False, clock: Callable[[], float] = time.monotonic,
                 take: Callable[[], Snapshot] | None = None) -> None:
        if interval <= 0 or debounce < 0:
            raise ValueError("interval must be positive and debounce not negative")
        self.paths = [Path(p) for p in paths]
        self.interval, self.debounce, self.clock = interval, debounce, clock
        self._take = take or (lambda: snapshot(self.paths, follow_symlinks))
        self.seen = self._take()  # the state the index was last brought to
        self._last = self.seen  # the state at the last poll
        self._moved_at: float | None = None  # when the folder last looked different

    def poll(self) -> Changes:
        now, current = self.clock(), self._take()
        if current != self._last:
            self._last, self._moved_at = current, now
            return Changes()
        if self._moved_at is None or now - self._moved_at < self.debounce:
            return Changes()
        self._moved_at = None
        changes, self.seen = diff(self.seen, current), current
        return changes

    def run(self, on_change: Callable[[Changes], None],
            stop: threading.Event | None = None) -> None:
        """Call ``on_change`` with each settled set of changes until ``stop`` is set (or for
        ever). An exception in ``on_change`` is logged and watching goes on."""
        stop = stop or threading.Event()
        while not stop.wait(self.interval):
            changes = self.poll()
            if not changes:
                continue
            try:
                on_change(changes)
            except Exception:  # noqa: BLE001 - one failed update must not end the watch
                log.exception("updating the index failed; watching goes on")
