"""qa.feedback: JSONL records, rating normalisation, concurrent appends."""

from __future__ import annotations

import json
import multiprocessing
import threading

import pytest

from qa.errors import InputError
from qa.feedback import normalize_rating, read_feedback, record_feedback
from qa.types import Answer, Chunk, Citation, Hit, Passage, Timings


def make_answer(text: str = "Alibaba investiert 53 Milliarden [1].") -> Answer:
    chunk = Chunk("c1", "d1", "a.txt", "T", "Alibaba investiert 53 Milliarden Dollar.", 0, 40)
    passage = Passage(1, Hit(chunk, 0.5, 0.9), chunk.text, 0, 40)
    cite = Citation(1, "a.txt", "c1", 0, 40, chunk.text, 0.5)
    return Answer(question="Wie viel?", text=text, abstained=False, citations=(cite,),
                  passages=(passage,), timings=Timings(0.01, 0.5, 1.0), model="smollm2-135m",
                  standalone_question="Wie viel investiert Alibaba?")


def test_record_has_what_a_gold_question_needs(tmp_path) -> None:
    path = tmp_path / "sub" / "feedback.jsonl"
    rec = record_feedback(path, make_answer(), "down", comment="  falsche Zahl ")
    rows = read_feedback(path)
    assert rows == [rec]
    r = rows[0]
    assert r["rating"] == "down" and r["comment"] == "falsche Zahl"
    assert r["question"] == "Wie viel?"
    assert r["standalone_question"] == "Wie viel investiert Alibaba?"
    assert r["answer"].startswith("Alibaba") and r["sources"] == ["a.txt"]
    assert r["citations"][0]["quote"] == "Alibaba investiert 53 Milliarden Dollar."
    assert r["passages"][0]["chunk_id"] == "c1" and r["model"] == "smollm2-135m"
    assert r["timestamp"].endswith("Z")


@pytest.mark.parametrize("value, expected", [
    ("up", "up"), ("Like", "up"), (True, "up"), (1, "up"), ("+1", "up"),
    ("DOWN", "down"), ("dislike", "down"), (False, "down"), (-1, "down"),
])
def test_ratings(value, expected) -> None:
    assert normalize_rating(value) == expected


def test_bad_rating_writes_nothing(tmp_path) -> None:
    path = tmp_path / "f.jsonl"
    with pytest.raises(InputError):
        record_feedback(path, make_answer(), "meh")
    assert not path.exists()


def test_threads_append_whole_lines(tmp_path) -> None:
    path = tmp_path / "f.jsonl"
    long = make_answer("x" * 20000 + " [1]")

    def work() -> None:
        for _ in range(20):
            record_feedback(path, long, "up")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 160 and all(json.loads(ln)["rating"] == "up" for ln in lines)


def _append_many(path: str) -> None:
    for _ in range(25):
        record_feedback(path, make_answer("y" * 70000 + " [1]"), "down")


def test_processes_append_whole_lines(tmp_path) -> None:
    path = tmp_path / "f.jsonl"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(path),)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert all(p.exitcode == 0 for p in procs)
    rows = read_feedback(path)
    assert len(rows) == 100 and len(path.read_text().splitlines()) == 100


def test_torn_line_is_skipped(tmp_path) -> None:
    path = tmp_path / "f.jsonl"
    record_feedback(path, make_answer(), "up")
    with path.open("a") as f:
        f.write('{"rating": "up", "quest')
    assert len(read_feedback(path)) == 1
    record_feedback(path, make_answer(), "down")  # starts on a new line
    assert [r["rating"] for r in read_feedback(path)] == ["up", "down"]
