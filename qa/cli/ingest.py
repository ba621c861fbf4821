"""``qa ingest`` (and ``--watch``): build or update the index, then follow the folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from qa.cli.common import _collection, _common, _positive_float, _progress, _safe, _settings
from qa.corpus import SUPPORTED
from qa.errors import QAError


def cmd_ingest(args: argparse.Namespace) -> int:
    from qa.ingest.pipeline import ingest

    settings = _settings(args)
    _print_ingest(*ingest(settings, args.paths or None, rebuild=args.rebuild,
                          progress=_progress("embedding")))
    if args.watch:
        return _watch(args, settings)
    return 0


def _print_ingest(report: Any, skipped: list[Any]) -> None:
    """An ingest's lines: each skipped file (the one report of it: qa.corpus does not log
    them), each note (OCR), the summary."""
    for s in skipped:
        print(f"warning: {_safe(str(s))}", file=sys.stderr, flush=True)
    for note in report.notes:
        print(_safe(note), flush=True)
    print(report.summary(), flush=True)


def _watch(args: argparse.Namespace, settings: Any) -> int:
    """``qa ingest --watch``: the same ingest again after every settled change, one line per
    changed file, until Ctrl-C."""
    from qa.ingest.pipeline import ingest
    from qa.watch import Changes, Watcher

    paths = [Path(p) for p in (args.paths or [settings.corpus_dir])]
    watcher = Watcher(paths, interval=args.interval, debounce=max(2 * args.interval, 1.0),
                      follow_symlinks=settings.follow_symlinks)
    print(f"watching {', '.join(_safe(str(p)) for p in paths)} (Ctrl-C stops)", flush=True)

    def update(changes: Changes) -> None:
        for line in changes.lines():
            print(_safe(line), flush=True)
        try:
            _print_ingest(*ingest(settings, paths))
        except QAError as e:
            print(f"error: {_safe(str(e))}", file=sys.stderr, flush=True)

    try:
        watcher.run(update)
    except KeyboardInterrupt:
        print("stopped watching", flush=True)
    return 0


def add_ingest_parser(sub: Any) -> None:
    s = sub.add_parser("ingest", help="build or update the index from articles",
                       description=f"Index {', '.join(SUPPORTED)} files (scans and images "
                       "by OCR). Unchanged files are not embedded again; files that cannot be "
                       "read are skipped with a warning.")
    s.add_argument("paths", nargs="*", help="folders or files (default: the corpus folder)")
    s.add_argument("--rebuild", action="store_true", help="ignore the existing index")
    s.add_argument("--watch", action="store_true",
                   help="then follow the folder: index added, changed and deleted files as "
                   "they settle, until Ctrl-C")
    s.add_argument("--interval", type=_positive_float, default=1.0, metavar="SECONDS",
                   help="with --watch: how often the folder is looked at (default: 1)")
    _common(s)
    _collection(s)
    s.set_defaults(func=cmd_ingest)
