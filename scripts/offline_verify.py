"""What the support check (``qa.grounding``) would do to stored eval reports, without answering
again: for every reply a report shows, the local model's probability that its cited passages
state it; then the report's scores as if each reply below a threshold had been withheld.

    python scripts/offline_verify.py REPORT.json [REPORT.json ...] [--thresholds 0.3,0.5,0.7]

The probabilities are cached beside each report as ``<report>.support.json`` (not committed);
figures are printed per report and split, so a threshold is chosen on the tune halves and read
on the test halves.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa import metrics  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluation import CORPORA_DIR, DEMO, eval_corpus, load_gold  # noqa: E402
from qa.generators.llamacpp import make_local_generator  # noqa: E402
from qa.grounding import support_probability  # noqa: E402
from qa.testing import passage  # noqa: E402


def probabilities(report: dict, gen: object, cache: Path) -> dict[str, float | None]:
    got: dict[str, float | None] = json.loads(cache.read_text()) if cache.exists() else {}
    t0, n = time.perf_counter(), 0
    for r in report["per_question"]:
        if r.get("abstained") or r["id"] in got or not r.get("answer"):
            continue
        cited = {c["n"] for c in r.get("citations") or []}
        ps = [passage(p["n"], p["text"], p["source"]) for p in r.get("passages") or []
              if not cited or p["n"] in cited]
        got[r["id"]] = support_probability(gen, r["question"], r["answer"], ps)
        n += 1
    if n:
        print(f"  {n} checks, {(time.perf_counter() - t0) / n:.2f} s each", file=sys.stderr)
        cache.write_text(json.dumps(got, indent=0))
    return got


def rescore(report: dict, gold: list[dict], probs: dict[str, float | None], t: float,
            split: str) -> dict[str, float]:
    rows = []
    for r in report["per_question"]:
        p = probs.get(r["id"])
        withheld = not r.get("abstained") and p is not None and p < t
        rows.append({**r, "abstained": bool(r.get("abstained")) or withheld})
    ids = {g["id"] for g in gold if not split or g.get("split") == split}
    return metrics.answer_metrics([r for r in rows if r["id"] in ids],
                                  [g for g in gold if g["id"] in ids]).scores


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("reports", nargs="+", type=Path)
    ap.add_argument("--thresholds", default="0.1,0.2,0.3,0.4,0.5,0.6,0.7")
    args = ap.parse_args()
    gen = make_local_generator(Settings())
    ts = [0.0] + [float(x) for x in args.thresholds.split(",")]
    for path in args.reports:
        report = json.loads(path.read_text(encoding="utf-8"))
        gold = load_gold(ROOT / eval_corpus(report.get("corpus") or DEMO,
                                            ROOT / CORPORA_DIR).gold)
        print(f"# {path.name}", file=sys.stderr)
        probs = probabilities(report, gen, path.with_suffix(".support.json"))
        right = [probs[r["id"]] for r in report["per_question"]
                 if r["id"] in probs and r.get("fact_correct") == 1.0]
        wrong = [probs[r["id"]] for r in report["per_question"]
                 if r["id"] in probs and r.get("wrong_reply", 1.0 - (r.get("fact_correct") or 0))]
        print(f"{path.name}: p(support) right replies {sorted(round(x, 2) for x in right if x is not None)}")
        print(f"{path.name}: p(support) wrong replies {sorted(round(x, 2) for x in wrong if x is not None)}")
        for split in ("tune", "test"):
            print(f"  {split}: threshold  right  wrong-rate  precision  abst-R")
            for t in ts:
                s = rescore(report, gold, probs, t, split)
                print(f"  {split}: {t:9.2f}  {s['fact_accuracy']:.3f}  {s['wrong_reply_rate']:.3f}"
                      f"       {s['reply_precision']:.3f}      {s['abstention_recall']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
