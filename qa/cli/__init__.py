"""The ``qa`` command line: parse, call the library, print; errors become one line (``--debug``
shows the traceback).

A package of one module per group of commands: ``ingest`` (ingest, --watch), ``answering`` (ask,
answer), ``listing`` (collections, models, feedback export), ``serving`` (serve, mcp); ``common``
holds the options and helpers they share, and ``qa eval`` is ``qa.evaluation``'s. Here: the
parser, in the order ``qa --help`` lists the commands, and ``main``.
"""

from __future__ import annotations

import argparse
import logging
import sys

from qa.cli import answering, ingest, listing, serving

# re-exports for one release: these lived in qa/cli.py until it became a package (2026-12)
from qa.cli.answering import (  # noqa: F401
    _erase,
    _filter,
    _format_closest,
    _format_sources,
    _output,
    cmd_answer,
    cmd_ask,
)
from qa.cli.common import (  # noqa: F401
    _collection,
    _common,
    _gen,
    _load,
    _pick_collection,
    _positive_float,
    _progress,
    _safe,
    _settings,
)
from qa.cli.ingest import _print_ingest, _watch, cmd_ingest  # noqa: F401
from qa.cli.listing import cmd_collections, cmd_feedback_export, cmd_models  # noqa: F401
from qa.cli.serving import cmd_mcp, cmd_serve  # noqa: F401
from qa.errors import QAError

log = logging.getLogger("qa")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="qa", description="Answer questions from a folder of articles, with citations. "
        "Runs offline on bundled models by default.",
        epilog="examples:\n  qa ingest\n  qa ask \"Wie viel investiert Alibaba in KI?\"\n"
               "  qa ask --json \"How many parameters does Qwen3-Max have?\"\n"
               "  qa answer --questions q.jsonl --out a.jsonl\n"
               "  qa --collection team-a ask \"Who leads team A?\"",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--collection", dest="top_collection", metavar="NAME",
                   help="the collection to ingest, ask or answer from (as the commands' "
                   "--collection)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ingest.add_ingest_parser(sub)
    answering.add_answer_parsers(sub)
    listing.add_list_parsers(sub)
    serving.add_serve_parser(sub)
    listing.add_feedback_parser(sub)
    serving.add_mcp_parser(sub)

    try:
        from qa.evaluation import add_eval_parser
    except ImportError:  # pragma: no cover - evaluation is part of the package
        pass
    else:
        add_eval_parser(sub, _common, _gen, _settings)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.debug:  # bm25s sets its own logger to DEBUG
        logging.getLogger("bm25s").setLevel(logging.WARNING)
    try:
        _pick_collection(args)
        return int(args.func(args) or 0)
    except QAError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as e:
        if args.debug:
            raise
        print(f"error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
