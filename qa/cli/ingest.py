"""``qa ingest`` (and ``--watch``): build or update the index, then follow the folder."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa.cli.common import _collection, _common, _progress, _safe, _settings, _watch_options
from qa.corpus import SUPPORTED
from qa.errors import QAError


def cmd_ingest(args: argparse.Namespace) -> int:
    from qa.ingest.pipeline import ingest

    settings = _settings(args)
    _print_ingest(*ingest(settings, args.paths or None, rebuild=args.rebuild,
                          progress=_progress("embedding")), files=True)
    if args.watch:
        return _watch(args, settings)
    return 0


def _print_ingest(report: Any, skipped: list[Any],
                  say: Callable[[str], None] | None = None, files: bool = False) -> None:
    """An ingest's lines: each skipped file (the one report of it: qa.corpus does not log
    them; on stderr), with ``files`` a line per document added, changed or removed (``--watch``
    prints its own), each note (OCR), the summary. ``say``: every line through it instead."""
    for s in skipped:
        line = f"warning: {_safe(str(s))}"
        say(line) if say else print(line, file=sys.stderr, flush=True)
    lines = report.file_lines() if files else []
    for line in [_safe(x) for x in lines + report.notes] + [report.summary()]:
        say(line) if say else print(line, flush=True)


def _watch(args: argparse.Namespace, settings: Any) -> int:
    """``qa ingest --watch``: the same ingest again after every settled change, one line per
    changed file, until Ctrl-C."""
    try:
        follow(settings, [Path(p) for p in (args.paths or [settings.corpus_dir])], args.interval)
    except KeyboardInterrupt:
        print("stopped watching", flush=True)
    return 0


def follow(settings: Any, paths: list[Path], interval: float,
           say: Callable[[str], None] = lambda line: print(line, flush=True),
           show: Callable[[Any, list[Any]], None] = _print_ingest,
           stop: threading.Event | None = None) -> None:
    """Follow ``paths`` until interrupted: after every settled change (the folder quiet for
    twice ``interval``), a line per changed file and the same atomic ingest. ``qa ingest
    --watch`` runs it in the foreground, ``qa serve --watch`` in a thread beside the server
    (which picks the new index up at its next request), with ``say`` and ``show`` (an
    ingest's report) printing through the server's lock; ``stop`` ends it."""
    from qa.ingest.pipeline import ingest
    from qa.watch import Changes, Watcher

    watcher = Watcher(paths, interval=interval, debounce=max(2 * interval, 1.0),
                      follow_symlinks=settings.follow_symlinks)
    say(f"watching {', '.join(_safe(str(p)) for p in paths)} (Ctrl-C stops)")

    def update(changes: Changes) -> None:
        for line in changes.lines():
            say(_safe(line))
        try:
            show(*ingest(settings, paths))
        except QAError as e:
            say(f"error: {_safe(str(e))}")

    watcher.run(update, stop)


def add_ingest_parser(sub: Any) -> None:
    s = sub.add_parser("ingest", help="build or update the index from articles",
                       description=f"Index {', '.join(SUPPORTED)} files (scans and images "
                       "by OCR). Unchanged files are not embedded again; files that cannot be "
                       "read are skipped with a warning.")
    s.add_argument("paths", nargs="*", help="folders or files (default: the corpus folder)")
    s.add_argument("--rebuild", action="store_true", help="ignore the existing index")
    _watch_options(s, "then follow the folder: index added, changed and deleted files as they "
                   "settle, until Ctrl-C")
    _common(s)
    _collection(s)
    s.set_defaults(func=cmd_ingest)
