from __future__ import annotations

import json
from pathlib import Path

from qa import Assistant
from qa.answering.prompting import NOT_FOUND
from qa.evaluation import compare_text, load_gold, run, summary_markdown, write_report

GOLD = Path(__file__).resolve().parent.parent / "eval" / "gold.jsonl"


def test_full_run_scores_and_writes_a_report(fake_assistant: Assistant, tmp_path: Path) -> None:
    gold = load_gold(GOLD)
    answerable = next(g for g in gold if g["answerable"] and g["language"] == "de")
    unanswerable = next(g for g in gold if not g["answerable"])
    fact = answerable["facts"][0][0]
    fake_assistant.generator.enqueue(f"Die Antwort ist {fact} [1].", NOT_FOUND)
    report = run(fake_assistant.settings, [answerable, unanswerable], assistant=fake_assistant)
    s = report["scores"]
    assert s["abstention_recall"] == 1.0 and s["abstention_precision"] == 1.0
    assert s["fact_accuracy"] == 1.0  # the queued answer holds the required fact
    assert "latency_total_s_p50" in s and report["n_questions"] == 2
    rows = {r["id"]: r for r in report["per_question"]}
    assert rows[answerable["id"]]["answer"].startswith("Die Antwort ist")
    assert rows[answerable["id"]]["retrieved"] and rows[unanswerable["id"]]["abstained"]
    assert "language=de" in report["breakdown"]
    assert "openai_api_key" not in json.dumps(report)

    path = write_report(report, tmp_path, "fake")
    assert path.exists() and path.with_suffix(".md").exists() and path.with_suffix(".png").exists()
    assert "| fact_accuracy | 1.000 |" in summary_markdown(report, "fake")

    fake_assistant.generator.enqueue(NOT_FOUND, NOT_FOUND)
    worse = write_report(run(fake_assistant.settings, [answerable, unanswerable],
                             assistant=fake_assistant), tmp_path / "b", "fake2")
    text = compare_text(path, worse)
    assert "fact_accuracy" in text and "-1.000" in text and answerable["id"] in text


def test_retrieval_only_is_fast_and_needs_no_generator(fake_assistant: Assistant) -> None:
    gold = load_gold(GOLD)[:20]
    report = run(fake_assistant.settings, gold, retrieval_only=True, assistant=fake_assistant)
    assert fake_assistant.generator.history == []
    assert 0.0 <= report["scores"]["hit@5"] <= 1.0
    assert all(len(r["retrieved"]) == 10 for r in report["per_question"])
