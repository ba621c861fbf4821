"""Grid over the evidence-selection settings on the tuning half of the gold set, no generation.

Prints, per configuration, the share of answerable questions whose prompt holds every required
fact (facts_in_prompt) and a gold evidence span (evidence_in_prompt), with the median prompt
context in tokens. Used to choose the defaults of ``qa.evidence.EvidenceConfig``; the answer eval
(``qa eval --split tune``) then decides between the best few.

    python scripts/tune_evidence.py [--split tune] [--budgets 300,400]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa import metrics  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluation import build_assistant, eval_index_dir, load_gold  # noqa: E402
from qa.evidence import EvidenceConfig, evidence_queries, select_evidence  # noqa: E402
from qa.questions import question_parts  # noqa: E402


class Memo:
    """The embedder with a cache: the grid asks for the same question vectors again and again."""

    def __init__(self, embedder: object) -> None:
        self.embedder, self.cache = embedder, {}

    def embed(self, texts: list[str], kind: str) -> np.ndarray:
        missing = [t for t in texts if (t, kind) not in self.cache]
        if missing:
            for t, v in zip(missing, self.embedder.embed(missing, kind), strict=True):
                self.cache[(t, kind)] = v
        return np.stack([self.cache[(t, kind)] for t in texts])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="tune")
    ap.add_argument("--budgets", default="300,400")
    ap.add_argument("--defaults", action="store_true", help="only the current defaults")
    args = ap.parse_args()
    settings = Settings.load()
    settings = settings.replace(index_dir=eval_index_dir(settings))
    assistant = build_assistant(settings)
    count = assistant._count_tokens()
    gold = [g for g in load_gold(Path("eval/gold.jsonl"))
            if g.get("split") == args.split and g.get("answerable", True)]
    hits = {g["id"]: assistant.retriever.retrieve(g["question"], settings.candidates) for g in gold}
    embedder = Memo(assistant.embedder)
    grid = {"chunks": [8], "chunk_weight": [2.0], "term_weight": [3.0], "margin": [2.5],
            "neighbours": [1], "number_weight": [0.0, 0.5, 1.0, 1.5, 2.0]}
    if args.defaults:
        d = EvidenceConfig()
        grid = {k: [getattr(d, k)] for k in grid}
    rows = []
    for budget in map(int, args.budgets.split(",")):
        for values in itertools.product(*grid.values()):
            cfg = replace(EvidenceConfig(), **dict(zip(grid, values, strict=True)))
            facts, spans, tokens, t0 = [], [], [], time.perf_counter()
            for g in gold:
                q = g["question"]
                search = evidence_queries(q, question_parts(q))
                ps = select_evidence(search, hits[g["id"]], assistant.index, embedder,
                                     budget, count, cfg)
                ev = metrics.prompt_evidence([{"source": p.source, "start": p.start, "end": p.end,
                                               "text": p.text} for p in ps], g)
                facts.append(ev["facts_in_prompt"])
                spans.append(ev["evidence_in_prompt"])
                tokens.append(sum(count(p.text) for p in ps))
            rows.append((statistics.mean(facts), statistics.mean(spans),
                         statistics.median(tokens), budget, cfg,
                         (time.perf_counter() - t0) / len(gold)))
    rows.sort(key=lambda r: (-r[0], -r[1], r[2]))
    for f, s, t, b, cfg, sec in rows[:25]:
        print(f"facts {f:.3f} spans {s:.3f} tokens {t:5.0f} budget {b} {sec * 1000:4.0f} ms  "
              f"chunks={cfg.chunks} cw={cfg.chunk_weight} tw={cfg.term_weight} "
              f"margin={cfg.margin} nb={cfg.neighbours} num={cfg.number_weight}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
