"""What every ``qa`` command shares: the settings options and how they become ``Settings``,
``--collection``, the progress bar, loading the assistant, text from files made safe to print."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from qa import registry
from qa.config import Settings


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("settings (override qa.toml and QA_* variables)")
    g.add_argument("--config", help="settings file (default: ./qa.toml if present)")
    g.add_argument("--index-dir", help="index folder (default: index)")
    g.add_argument("--corpus-dir", help="articles folder (default: data/articles)")
    g.add_argument("--embed-model", help="sentence-transformers model name or path")
    g.add_argument("--embed-backend", choices=registry.names("embedder"),
                   help="who embeds: in process (local, default) or an OpenAI-compatible server")
    g.add_argument("--store", choices=registry.names("store"),
                   help="where the index lives (default: faiss files under --index-dir)")
    g.add_argument("--database-url", help="PostgreSQL URL for --store postgres "
                   "(default: an embedded server under the data folder)")
    g.add_argument("--threads", type=int, help="CPU threads for the models (default: 2)")
    g.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")


def _gen(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("answering")
    g.add_argument("--backend", choices=registry.names("generator"), help="who writes the answer")
    g.add_argument("--model", help="local: qwen2.5-coder-1.5b (default), qwen2.5-coder-0.5b, "
                   "smollm2-135m or a .gguf path; openai: the hosted model name")
    g.add_argument("--fallback", choices=["local"], help="answer locally if the hosted model fails")
    g.add_argument("--top-k", type=int, help="passages given to the model (default: 4)")
    g.add_argument("--language", choices=["auto", "de", "en"], help="answer language")


def _settings(args: argparse.Namespace) -> Settings:
    model = getattr(args, "model", None)
    backend = getattr(args, "backend", None)
    overrides: dict[str, Any] = {
        "index_dir": args.index_dir, "corpus_dir": args.corpus_dir,
        "embed_model": args.embed_model, "threads": args.threads,
        "embed_backend": args.embed_backend, "store": args.store,
        "database_url": args.database_url,
        "backend": backend, "top_k": getattr(args, "top_k", None),
        "language": getattr(args, "language", None), "fallback": getattr(args, "fallback", None),
    }
    base = Settings.load(args.config, **overrides)
    if getattr(args, "collection", None):
        from qa.collections import resolve

        base = resolve(base, args.collection)
    return base.with_model(model) if model else base


def _pick_collection(args: argparse.Namespace) -> None:
    """``qa --collection NAME COMMAND`` as ``qa COMMAND --collection NAME``, for the commands
    that read one collection."""
    from qa.errors import InputError

    top = getattr(args, "top_collection", None)
    if top is None:
        return
    if not hasattr(args, "collection"):
        raise InputError(f"qa {args.command} does not take --collection (qa serve serves every "
                         "collection; qa collections lists them)")
    if args.collection not in (None, top):
        raise InputError(f"--collection given twice ({top!r} and {args.collection!r})")
    args.collection = top


def _collection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--collection", metavar="NAME",
                   help="a collection of the settings file ([collections.NAME]; default: the "
                   "global settings); `qa collections` lists them")


def _progress(desc: str) -> Callable[[int, int], None]:
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "b" not in bar:
            # no rate or ETA: the bar appears after the first batch, so tqdm would divide that
            # batch by a few microseconds (millions of chunks/s)
            bar["b"] = tqdm(total=total, desc=desc, unit="chunk", file=sys.stderr,
                            disable=not sys.stderr.isatty() and total < 50,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                       "[{elapsed}]")
        bar["b"].n = done
        bar["b"].refresh()
        if done >= total:
            bar["b"].close()

    return update


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600 seconds, not {text}")
    return value


def _load(args: argparse.Namespace):  # noqa: ANN202
    from qa.assistant import Assistant

    return Assistant.load(_settings(args), progress=_progress("building index"))


def _safe(text: str) -> str:
    """Text from files (names, quotes) with control characters escaped, so that a file name
    cannot move the cursor, recolour or reverse the terminal.

    >>> _safe("a\\x1b[2J\\u202e.txt")
    'a\\\\x1b[2J\\\\u202e.txt'
    """
    from qa.corpus import printable

    return printable(text)


def _watch_options(p: argparse.ArgumentParser, what: str) -> None:
    """``--watch`` (``what`` it does) and ``--interval``, the same for ``qa ingest`` and
    ``qa serve``."""
    p.add_argument("--watch", action="store_true", help=what)
    p.add_argument("--interval", type=_positive_float, default=1.0, metavar="SECONDS",
                   help="with --watch: how often the folder is looked at (default: 1)")
