"""``qa ask`` (one question, streamed to a terminal or as JSON) and ``qa answer`` (a JSONL file
of questions, written atomically)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

from qa.cli.common import _collection, _common, _gen, _load, _safe


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


def add_answer_parsers(sub: Any) -> None:
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
