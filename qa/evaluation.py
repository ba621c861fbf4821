"""Offline evaluation: run a gold set through the real pipeline and score it with ``qa.metrics``.

A report is one JSON file (settings, scores, breakdowns by language and kind, latency, and every
question's retrieved spans, answer, citations, scores and timings) plus a Markdown summary and a
PNG chart, written under ``eval/reports/<timestamp>-<config>``. No judge model: facts, spans and
citations are checked by pure functions, so two reports can be compared row by row.

Each retrieval or chunking configuration gets its own index in the cache (keyed by the index
settings), so evaluating ``chunk_words=60`` never touches the user's ``index/``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qa import metrics
from qa.config import Settings
from qa.errors import QAError

log = logging.getLogger(__name__)

DEFAULT_GOLD = Path("eval/gold.jsonl")
DEFAULT_REPORTS = Path("eval/reports")
CORPORA_DIR = Path("eval/corpora")
DEMO = "demo"
HEADLINE = ["hit@5", "mrr", "fact_accuracy", "abstention_precision", "abstention_recall",
            "abstention_accuracy", "cited_right_file"]


# the side-by-side table of ``qa eval --all``: (column, score key)
CORPUS_COLUMNS = [("questions", "n"), ("right answers", "fact_accuracy"),
                  ("wrong replies", "wrong_reply_rate"), ("reply precision", "reply_precision"),
                  ("abstention P", "abstention_precision"), ("abstention R", "abstention_recall"),
                  ("right article", "cited_right_file"), ("median s", "latency_total_s_p50")]


@dataclass(frozen=True)
class EvalCorpus:
    """A corpus with a gold set: ``demo`` (the settings' articles, ``eval/gold.jsonl``) and each
    ``eval/corpora/NAME/`` with ``docs/`` and ``gold.jsonl``."""

    name: str
    docs: Path | None  # None: the settings' corpus_dir
    gold: Path


# corpora built from another by a script (same questions, documents in other formats): not in
# ``eval_corpora`` nor ``qa eval --all`` (they repeat a corpus's questions), built on first use
DERIVED = {"docs-de-mixed": Path("eval/make_mixed_corpus.py")}


def eval_corpora(root: Path = CORPORA_DIR) -> dict[str, EvalCorpus]:
    """Every corpus ``qa eval --all`` runs, ``demo`` first, then the others by name."""
    found = {DEMO: EvalCorpus(DEMO, None, DEFAULT_GOLD)}
    for gold in sorted(root.glob("*/gold.jsonl")):
        if gold.parent.name not in DERIVED:
            found[gold.parent.name] = EvalCorpus(gold.parent.name, gold.parent / "docs", gold)
    return found


def eval_corpus(name: str, root: Path = CORPORA_DIR) -> EvalCorpus:
    """The corpus ``name`` of ``eval_corpora`` or ``DERIVED`` (built by its script when its
    folder is missing), or a ``QAError`` that lists the known ones."""
    known = eval_corpora(root)
    if name in DERIVED:
        folder = root / name
        if not (folder / "gold.jsonl").exists():
            import subprocess

            log.info("building %s with %s", folder, DERIVED[name])
            done = subprocess.run([sys.executable, str(DERIVED[name]), "--out", str(folder)],
                                  check=False)
            if done.returncode != 0 or not (folder / "gold.jsonl").exists():
                raise QAError(f"could not build the eval corpus {name!r} with {DERIVED[name]}")
        return EvalCorpus(name, folder / "docs", folder / "gold.jsonl")
    if name not in known:
        raise QAError(f"no eval corpus called {name!r}; known: {', '.join([*known, *DERIVED])}")
    return known[name]


# aggregate name -> the per-question field it averages (for the breakdown columns)
PER_QUESTION_KEY = {"mrr": "rr", "fact_accuracy": "fact_correct",
                    "abstention_accuracy": "abstention_correct", "wrong_reply_rate": "wrong_reply"}


def load_gold(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise QAError(f"cannot read gold file {path}: {e.strerror}") from e
    items = []
    for i, line in enumerate(lines, 1):
        if line.strip():
            try:
                item = json.loads(line)
                item["id"], item["question"]  # noqa: B018 - required keys
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise QAError(f"{path}:{i}: not a gold item ({e})") from e
            items.append(item)
    return items


def eval_index_dir(settings: Settings) -> Path:
    """An index of its own for these index settings and this corpus (so switching corpora or
    chunk sizes never rebuilds another's, nor touches the user's ``index/``)."""
    from qa.stores.base import IndexConfig

    key = json.dumps({**asdict(IndexConfig.from_settings(settings)),
                      "corpus": str(Path(settings.corpus_dir).resolve())}, sort_keys=True)
    return settings.cache_dir / "eval-index" / hashlib.sha256(key.encode()).hexdigest()[:12]


def build_assistant(settings: Settings, generator: Any = None) -> Any:
    """The real pipeline over the corpus, with an index of its own for these settings."""
    from qa import composition
    from qa.assistant import Assistant
    from qa.ingest.pipeline import ingest

    embedder = composition.make_embedder(settings)
    ingest(settings, embedder=embedder)
    return Assistant.load(settings, embedder=embedder, generator=generator)


def _spans(hits: Sequence[Any]) -> list[list[Any]]:
    return [[h.chunk.source, h.chunk.start, h.chunk.end] for h in hits]


def _passages(passages: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"n": p.n, "source": p.source, "start": p.start, "end": p.end, "text": p.text}
            for p in passages]


def run(settings: Settings, gold: list[dict[str, Any]], retrieval_only: bool = False,
        progress: Callable[[int, int, str], None] | None = None,
        assistant: Any = None) -> dict[str, Any]:
    """Run every gold question; return the full report as a dict."""
    from qa.assistant import Done, Retrieved

    assistant = assistant or build_assistant(settings)
    rows: list[dict[str, Any]] = []
    for i, item in enumerate(gold, 1):
        row: dict[str, Any] = {"id": item["id"], "question": item["question"],
                               "language": item.get("language"), "kind": item.get("kind")}
        if retrieval_only:  # retrieval and evidence selection, no generation
            t0 = time.perf_counter()
            for ev in assistant.events(item["question"]):
                if isinstance(ev, Retrieved):
                    row["retrieved"] = _spans(ev.hits[:10])
                    row["passages"] = _passages(ev.passages)
                    row["prompt_tokens"] = sum(assistant._count_tokens()(p.text)
                                               for p in ev.passages)
                    break
            row["timings"] = {"retrieve_s": time.perf_counter() - t0}
        else:
            for ev in assistant.events(item["question"]):
                if isinstance(ev, Retrieved):
                    row["retrieved"] = _spans(ev.hits[:10])
                elif isinstance(ev, Done):
                    a = ev.answer
                    d = a.to_dict(item["id"])
                    row.update(answer=a.text, abstained=a.abstained, citations=d["citations"],
                               sources=d["sources"], timings=d["timings"], model=a.model,
                               prompt_tokens=a.prompt_tokens, error=a.error,
                               passages=_passages(a.passages),
                               **{k: d[k] for k in ("abstain_reason", "draft", "refusal_probability",
                                                       "support_probability")
                                  if k in d})
        rows.append(row)
        if progress:
            progress(i, len(gold), item["id"])
    return score(settings, gold, rows, retrieval_only)


def score(settings: Settings, gold: list[dict[str, Any]], rows: list[dict[str, Any]],
          retrieval_only: bool) -> dict[str, Any]:
    ids = [r["id"] for r in rows]
    retrieval = metrics.retrieval_metrics(
        [[tuple(s) for s in r.get("retrieved", [])] for r in rows],
        [metrics.gold_spans(g) for g in gold], ids=ids)
    per_q = {r["id"]: dict(r) for r in retrieval.per_question}
    scores: dict[str, Any] = dict(retrieval.scores)
    if not retrieval_only:
        answers = metrics.answer_metrics(rows, gold)
        scores.update(answers.scores)
        for r in answers.per_question:
            per_q[r["id"]].update(r)
    else:  # was the evidence in what the model would read?
        by_id = {g["id"]: g for g in gold}
        ev_rows = [(r["id"], metrics.prompt_evidence(r.get("passages") or [], by_id[r["id"]]))
                   for r in rows if by_id[r["id"]].get("answerable", True)]
        for qid, ev in ev_rows:
            per_q[qid].update(ev)
        for k in ("facts_in_prompt", "evidence_in_prompt"):
            scores[k] = sum(ev[k] for _, ev in ev_rows) / len(ev_rows) if ev_rows else 0.0
    scores.update({f"latency_{k}": v for k, v in
                   metrics.latency_metrics([(r.get("timings") or {}) | {"prompt_tokens": r.get("prompt_tokens")}
                                            for r in rows]).items()})
    per_question = list(per_q.values())
    for row in rows:  # the raw material next to its scores
        per_q[row["id"]].update({k: v for k, v in row.items() if k not in per_q[row["id"]]})
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "retrieval_only": retrieval_only,
        "settings": settings.public_dict(),
        "n_questions": len(rows),
        "scores": scores,
        "breakdown": metrics.breakdown(per_question, gold,
                                       by=("split", "language", "kind", "multi_part")),
        "per_question": per_question,
    }


def config_name(settings: Settings, retrieval_only: bool) -> str:
    parts = ["retrieval" if retrieval_only else (
        settings.llm if settings.backend == "local" else f"openai-{settings.openai_model}")]
    if settings.dense_weight == 0:
        parts.append("lexical")
    elif settings.lexical_weight == 0:
        parts.append("dense")
    parts.append(f"c{settings.chunk_words}")
    return "-".join(p.replace("/", "_") for p in parts)


def summary_markdown(report: dict[str, Any], title: str) -> str:
    s = report["scores"]
    keys = [k for k in ["hit@1", "hit@3", "hit@5", "hit@10", "recall@5", "mrr", "ndcg@10",
                        "fact_accuracy", "fact_recall", "wrong_reply_rate", "reply_precision",
                        "abstention_precision",
                        "abstention_recall", "abstention_accuracy", "cited_right_file", "citation_overlap",
                        "marker_support", "facts_in_prompt", "evidence_in_prompt",
                        "latency_retrieve_s_p50", "latency_first_token_s_p50",
                        "latency_total_s_p50", "latency_total_s_p95",
                        "latency_prompt_tokens_p50"] if k in s]
    out = [f"# Eval: {title}", "", f"{report['n_questions']} questions, {report['created']}, "
           f"settings: backend={report['settings']['backend']} llm={report['settings']['llm']} "
           f"chunk_words={report['settings']['chunk_words']} top_k={report['settings']['top_k']} "
           f"budget={report['settings']['prompt_budget_tokens']}", "",
           "| metric | all | " + " | ".join(report["breakdown"]) + " |",
           "|---|---|" + "---|" * len(report["breakdown"])]
    for k in keys:
        row_key = PER_QUESTION_KEY.get(k, k)
        cells = [f"{report['breakdown'][g][row_key]:.2f}" if row_key in report["breakdown"][g]
                 else "" for g in report["breakdown"]]
        out.append(f"| {k} | {s[k]:.3f} | " + " | ".join(cells) + " |")
    misses = [r for r in report["per_question"] if r.get("fact_correct") == 0.0
              or r.get("abstention_correct") == 0.0 or r.get("hit@5") == 0.0]
    if misses:
        out += ["", "## Misses", ""]
        for r in misses[:60]:
            what = ", ".join(k for k in ("hit@5", "fact_correct", "abstention_correct")
                             if r.get(k) == 0.0)
            ans = (r.get("answer") or "").replace("\n", " ")[:140]
            why = f" ({r['abstain_reason']}; draft: {(r.get('draft') or '')[:100]})" \
                if r.get("abstain_reason") else ""
            out.append(f"- {r['id']} ({r.get('language')}/{r.get('kind')}; {what}): "
                       f"{r['question']} → {ans}{why}")
    return "\n".join(out) + "\n"


def chart(report: dict[str, Any], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in HEADLINE if k in report["scores"]]
    groups = ["all"] + [g for g in report["breakdown"] if g.startswith("language=")]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(groups)
    for gi, g in enumerate(groups):
        vals = [report["scores"][k] if g == "all" else
                report["breakdown"][g].get(PER_QUESTION_KEY.get(k, k), 0.0) for k in keys]
        ax.bar([i + gi * width for i in range(len(keys))], vals, width, label=g)
    ax.set_xticks([i + width * (len(groups) - 1) / 2 for i in range(len(keys))], keys, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: dict[str, Any], out_dir: Path, name: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = time.strftime("%Y%m%d-%H%M%S") + "-" + name
    path = out_dir / f"{stem}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    tmp.replace(path)
    (out_dir / f"{stem}.md").write_text(summary_markdown(report, name), encoding="utf-8")
    chart(report, out_dir / f"{stem}.png", name)
    return path


def compare_text(a_path: Path, b_path: Path) -> str:
    """What B won and lost against A: two reports, or two ``qa eval --all`` summaries (then per
    corpus that both hold)."""
    a, b = (json.loads(Path(p).read_text(encoding="utf-8")) for p in (a_path, b_path))
    if "corpora" in a or "corpora" in b:
        ra, rb = a.get("corpora", {}), b.get("corpora", {})
        out = []
        for name in [n for n in ra if n in rb]:
            out += [f"## {name}", _compare_reports(
                *(json.loads(Path(r[name]["report"]).read_text(encoding="utf-8")) for r in (ra, rb))), ""]
        only = sorted(set(ra) ^ set(rb))
        if only:
            out.append("in one summary only: " + ", ".join(only))
        return "\n".join(out)
    return _compare_reports(a, b)


def _compare_reports(a: dict[str, Any], b: dict[str, Any]) -> str:
    c = metrics.compare(a, b)
    lines = [f"{'metric':34} {'A':>8} {'B':>8} {'B-A':>8}"]
    for k, v in c["scores"].items():
        if v["delta"] is not None:
            lines.append(f"{k:34} {v['a']:8.3f} {v['b']:8.3f} {v['delta']:+8.3f}")
    changed = []
    for qid in c["changed_ids"]:
        keys = {k: v for k, v in c["changes"][qid].items()
                if k in ("hit@5", "rr", "fact_correct", "abstention_correct", "wrong_reply",
                         "cited_right_file")}
        if keys:
            changed.append(f"  {qid}: " + ", ".join(f"{k} {x}→{y}" for k, (x, y) in keys.items()))
    answers = sum(1 for q in c["changed_ids"] if "answer" in c["changes"][q])
    lines.append(f"\n{len(changed)} questions changed a score ({answers} answers changed "
                 "in their text):")
    return "\n".join(lines + changed)


# -- CLI ----------------------------------------------------------------------------------------
def add_eval_parser(sub: Any, common: Callable[..., None], gen: Callable[..., None],
                    to_settings: Callable[[argparse.Namespace], Settings]) -> None:
    s = sub.add_parser("eval", help="score the pipeline on a gold set",
                       description="Run the gold set through the real pipeline and write a JSON "
                       "report, a Markdown summary and a chart to eval/reports/.")
    s.add_argument("--gold", type=Path, default=DEFAULT_GOLD, help="gold JSONL file")
    s.add_argument("--corpus", action="append", default=[], metavar="NAME",
                   help="a corpus with a gold set: 'demo' or a folder name under eval/corpora/ "
                   "(repeatable); each gets its own index and report, then a table side by side")
    s.add_argument("--all", action="store_true", help="every corpus (--corpus for each)")
    s.add_argument("--retrieval-only", action="store_true", help="skip generation (seconds)")
    s.add_argument("--compare", nargs=2, metavar=("A", "B"), type=Path,
                   help="print the differences of two reports and exit")
    s.add_argument("--table", nargs="+", metavar="REPORT", type=Path,
                   help="print the side-by-side table of these reports (any corpus, qa or the "
                   "starter) and exit")
    s.add_argument("--out-dir", type=Path, default=DEFAULT_REPORTS)
    s.add_argument("--name", help="configuration name in the report file name")
    s.add_argument("--limit", type=int, help="only the first N questions")
    s.add_argument("--split", choices=["tune", "test"],
                   help="only the gold questions of this half (choices are made on tune)")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any setting, e.g. --set dense_weight=0 --set chunk_words=120")
    s.add_argument("--min", action="append", default=[], metavar="METRIC=VALUE",
                   help="fail (exit 1) when a score is below VALUE, e.g. --min hit@5=0.9")
    common(s)
    gen(s)
    s.set_defaults(func=_cmd_eval, _to_settings=to_settings)


def _cmd_eval(args: argparse.Namespace) -> int:
    if args.compare:
        print(compare_text(*args.compare))
        return 0
    if args.table:
        reports = {}
        for path in args.table:
            r = json.loads(Path(path).read_text(encoding="utf-8"))
            reports[r.get("name") or Path(path).stem.split("-", 2)[-1]] = r
        print(corpus_table(reports))
        return 0
    settings = args._to_settings(args)
    bad = [kv for kv in args.set if "=" not in kv]
    if bad:
        raise QAError(f"--set takes KEY=VALUE, not {bad[0]!r}")
    settings = settings.with_strings(dict(kv.split("=", 1) for kv in args.set))
    if args.corpus or args.all:
        return _eval_corpora(args, settings)
    if args.index_dir is None:
        settings = settings.replace(index_dir=eval_index_dir(settings))
    report, path = _eval_one(args, settings, args.gold, "")
    print(summary_markdown(report, path.stem).split("\n## Misses")[0])
    print(f"report: {path}")
    return _check_min(args.min, {"": report})


def _eval_one(args: argparse.Namespace, settings: Settings, gold_path: Path,
              suffix: str) -> tuple[dict[str, Any], Path]:
    gold = [g for g in load_gold(gold_path) if not args.split or g.get("split") == args.split]
    gold = gold[: args.limit]

    def progress(i: int, n: int, qid: str) -> None:
        print(f"\r[{i}/{n}] {qid}", end="", file=sys.stderr, flush=True)

    report = run(settings, gold, args.retrieval_only, progress)
    print(file=sys.stderr)
    name = (args.name or config_name(settings, args.retrieval_only)) + suffix
    if args.split:
        name += f"-{args.split}"
    report["name"] = name
    report["corpus"] = suffix.lstrip("-") or None
    return report, write_report(report, args.out_dir, name)


def _eval_corpora(args: argparse.Namespace, settings: Settings) -> int:
    names = list(eval_corpora()) if args.all else list(dict.fromkeys(args.corpus))
    corpora = [eval_corpus(n) for n in names]  # every name checked before the first runs
    reports: dict[str, dict[str, Any]] = {}
    paths: dict[str, Path] = {}
    for name, c in zip(names, corpora, strict=True):
        print(f"corpus {name}", file=sys.stderr)
        s = settings if c.docs is None else settings.replace(corpus_dir=c.docs)
        if args.index_dir is None:
            s = s.replace(index_dir=eval_index_dir(s))
        reports[name], paths[name] = _eval_one(args, s, c.gold, f"-{name}")
        print(f"  report: {paths[name]}", file=sys.stderr)
    table = corpus_table({**reports, **starter_reports(args.out_dir, names)})
    print(table)
    stem = paths[names[-1]].stem.split("-", 2)[:2]  # the timestamp of the last report
    base = (args.name or config_name(settings, args.retrieval_only)) + (
        f"-{args.split}" if args.split else "")
    summary = args.out_dir / f"{'-'.join(stem)}-{base}-corpora"
    summary.with_suffix(".json").write_text(json.dumps({
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "corpora": {n: {"report": str(paths[n]),
                        "scores": {k: reports[n]["scores"].get(k) for _, k in CORPUS_COLUMNS}}
                    for n in names}}, indent=1), encoding="utf-8")
    summary.with_suffix(".md").write_text(f"# Eval per corpus: {base}\n\n{table}\n"
                                          + "".join(f"- {n}: `{paths[n].name}`\n" for n in names),
                                          encoding="utf-8")
    print(f"summary: {summary.with_suffix('.md')}")
    return _check_min(args.min, reports)


def starter_reports(out_dir: Path, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The newest llama-index starter report (``eval/baseline_llamaindex.py --eval-corpus``) of
    each corpus in ``out_dir``, as "NAME (starter, SPLIT)" rows for the side-by-side table."""
    found: dict[str, dict[str, Any]] = {}
    for name in names:
        paths = sorted(out_dir.glob(f"*-llamaindex-starter-*-{name}*.json"))
        if paths:
            r = json.loads(paths[-1].read_text(encoding="utf-8"))
            split = paths[-1].stem.rsplit("-", 1)[-1]
            reader = ", qa's text" if "-qa-reader-" in paths[-1].stem else ""
            label = (f"{name} (starter{reader}"
                     f"{', ' + split if split in ('tune', 'test') else ''})")
            found[label] = r
    return found


def corpus_table(reports: dict[str, dict[str, Any]]) -> str:
    """One Markdown row per corpus with the headline answer figures (``CORPUS_COLUMNS``).

    >>> print(corpus_table({"demo": {"scores": {"n": 2.0, "fact_accuracy": 0.5}}}))
    | corpus | questions | right answers | wrong replies | reply precision | abstention P | abstention R | right article | median s |
    |---|---|---|---|---|---|---|---|---|
    | demo | 2 | 0.50 |  |  |  |  |  |  |
    """
    head = "| corpus | " + " | ".join(c for c, _ in CORPUS_COLUMNS) + " |"
    lines = [head, "|---" * (len(CORPUS_COLUMNS) + 1) + "|"]
    for name, r in reports.items():
        cells = []
        for _, key in CORPUS_COLUMNS:
            v = r["scores"].get(key)
            cells.append("" if v is None else f"{v:.0f}" if key == "n" else
                         f"{v:.1f}" if key.startswith("latency") else f"{v:.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _check_min(mins: Sequence[str], reports: dict[str, dict[str, Any]]) -> int:
    """Exit status of ``--min METRIC=VALUE``: 1 when any report's score is below its value."""
    failed = []
    for m in mins:
        key, value = m.split("=", 1)
        for name, report in reports.items():
            got = report["scores"].get(key)
            if got is None or got < float(value):
                failed.append(f"{name + ': ' if name else ''}{key} = {got} < {value}")
    if failed:
        print("below threshold: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0
