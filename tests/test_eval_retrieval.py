"""CI's quality gate: the retrieval-only eval on the gold set with the real embedder.

Retrieval is deterministic for a given model, corpus and settings, so the thresholds sit just
under the measured figures (eval/reports/*retrieval-fused-c100*: hit@5 0.926, MRR 0.806): a drop
below them is a real regression, not noise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent


def test_retrieval_eval_meets_its_thresholds(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "qa.cli", "eval", "--retrieval-only", "--out-dir", str(tmp_path),
         "--index-dir", str(tmp_path / "index"), "--corpus-dir", str(ROOT / "data" / "articles"),
         "--gold", str(ROOT / "eval" / "gold.jsonl"),
         "--min", "hit@5=0.90", "--min", "mrr=0.78", "--min", "hit@10=0.93"],
        capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    report = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert report["n_questions"] >= 80
    assert report["breakdown"]["language=en"]["hit@5"] >= 0.80
