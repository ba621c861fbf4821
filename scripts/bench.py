"""Speed and memory figures for the README (`make bench`). Prints, asserts nothing.

Measures, in one process on this machine: ingest of the default corpus from scratch into a fresh
index (models already in the cache), an unchanged re-ingest, retrieval latency over the gold
questions, whole-answer latency over a sample of questions with the configured model, and the
peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.assistant import Assistant  # noqa: E402
from qa.composition import make_embedder  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluation import load_gold  # noqa: E402
from qa.ingest.pipeline import ingest  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--questions", type=int, default=10, help="answers to time (default 10)")
    ap.add_argument("--model", default=None, help="local model (default: the settings' llm)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load(index_dir=Path(tmp) / "index", llm=args.model,
                                 corpus_dir=ROOT / "data" / "articles")
        embedder = make_embedder(settings)
        t = time.perf_counter()
        embedder.embed(["warm-up"], "query")  # model load / first-use conversion, not ingest
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        report, _ = ingest(settings, embedder=embedder)
        ingest_s = time.perf_counter() - t
        t = time.perf_counter()
        again, _ = ingest(settings, embedder=embedder)
        reingest_s = time.perf_counter() - t
        assert not again.wrote

        assistant = Assistant.load(settings, embedder=embedder)
        gold = load_gold(ROOT / "eval" / "gold.jsonl")
        retrieve = []
        for item in gold:
            t = time.perf_counter()
            assistant.retrieve(item["question"])
            retrieve.append(time.perf_counter() - t)

        t = time.perf_counter()
        _ = assistant.generator.llm  # type: ignore[attr-defined]
        llm_load_s = time.perf_counter() - t
        sample = gold[:: max(1, len(gold) // args.questions)][: args.questions]
        totals, firsts, prompts = [], [], []
        for item in sample:
            a = assistant.ask(item["question"])
            totals.append(a.timings.total_s)
            if a.timings.first_token_s is not None:
                firsts.append(a.timings.first_token_s)
            prompts.append(a.prompt_tokens or 0)
            print(f"  {item['id']} {a.timings.total_s:5.1f} s  {a.prompt_tokens} prompt tokens  "
                  f"{'(abstained)' if a.abstained else ''}", file=sys.stderr)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "embedder_load_s": round(load_s, 2),
        "ingest_from_scratch_s": round(ingest_s, 2),
        "chunks": report.total_chunks,
        "reingest_unchanged_s": round(reingest_s, 3),
        "retrieval_median_ms": round(statistics.median(retrieve) * 1000, 1),
        "retrieval_p95_ms": round(sorted(retrieve)[int(0.95 * (len(retrieve) - 1))] * 1000, 1),
        "llm": settings.llm,
        "llm_load_s": round(llm_load_s, 2),
        "answers_timed": len(totals),
        "answer_total_median_s": round(statistics.median(totals), 2),
        "answer_total_max_s": round(max(totals), 2),
        "first_token_median_s": round(statistics.median(firsts), 2) if firsts else None,
        "prompt_tokens_median": statistics.median(prompts),
        "peak_rss_mb": round(peak_mb),
    }
    for k, v in figures.items():
        print(f"{k:26} {v}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
