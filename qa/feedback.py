"""Thumbs up/down on answers, appended to a JSONL file (``data/feedback.jsonl`` by default).

Each line holds what is needed to turn a bad answer into a gold-set question later: the
question (and its standalone rewrite), the answer, its citations with quotes and offsets, the
passages it read, the model and a UTC timestamp. Appends are safe across threads and processes:
an exclusive ``flock`` on the file, one ``write`` per record, then ``fsync``.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from qa.errors import InputError
from qa.types import Answer

FEEDBACK_FILE = "feedback.jsonl"
MAX_COMMENT_CHARS = 2000
_RATINGS = {"up": "up", "+1": "up", "1": "up", "like": "up", "good": "up", "true": "up",
            "down": "down", "-1": "down", "dislike": "down", "bad": "down", "false": "down"}
_lock = threading.Lock()


def normalize_rating(rating: object) -> str:
    """'up' or 'down' from up/down, like/dislike, +1/-1, True/False (any case)."""
    if isinstance(rating, bool):
        return "up" if rating else "down"
    if isinstance(rating, int):
        rating = str(rating) if rating <= 0 else "+1"
    key = str(rating).strip().lower()
    if key not in _RATINGS:
        raise InputError(f"rating must be 'up' or 'down', not {rating!r}")
    return _RATINGS[key]


def feedback_record(answer: Answer, rating: object, comment: str | None = None,
                    **extra: Any) -> dict[str, Any]:
    """The JSON object stored for one rating."""
    if comment is not None:
        comment = str(comment).strip()[:MAX_COMMENT_CHARS] or None
    record: dict[str, Any] = {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rating": normalize_rating(rating),
        "question": answer.question,
        "standalone_question": answer.standalone_question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "sources": answer.sources,
        "citations": [c.to_dict() for c in answer.citations],
        "passages": [{"n": p.n, "source": p.source, "chunk_id": p.hit.chunk.chunk_id,
                      "start": p.start, "end": p.end} for p in answer.passages],
        "model": answer.model,
        "language": answer.language,
        "timings": answer.timings.to_dict(),
        "comment": comment,
    }
    if answer.error:
        record["error"] = answer.error
    record.update(extra)
    return record


def record_feedback(path: Path | str, answer: Answer, rating: object,
                    comment: str | None = None, **extra: Any) -> dict[str, Any]:
    """Append one rating of ``answer`` to the JSONL file at ``path`` (created with its folder
    when missing) and return the stored record. ``extra`` keys (e.g. ``session``) are stored too.
    """
    record = feedback_record(answer, rating, comment, **extra)
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":  # a torn line from a crash
                    line = b"\n" + line
                view = memoryview(line)
                while view:  # O_APPEND: each write lands at the end, even if split
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    return record


def read_feedback(path: Path | str) -> list[dict[str, Any]]:
    """All records of a feedback file (a torn last line, from a crash, is skipped)."""
    path = Path(path)
    if not path.is_file():
        return []
    out = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    return out


class RecentAnswers:
    """The last ``size`` answers by id, each with the collection it answered from, so a rating
    sent later (``POST /v1/feedback``, a thumb in the chat window) is stored with the whole
    answer it rates and its collection. In memory: ids do not survive a restart, the price of not
    writing every answer to disk.

    >>> recent = RecentAnswers(size=2)
    >>> a, b, c = (recent.add(x) for x in ("A", "B", "C"))  # any object; Answers in the server
    >>> recent.get(a), recent.get(c), a.startswith("ans_")
    (None, 'C', True)
    >>> d = recent.add("D", collection="team-a")
    >>> recent.collection(d), recent.collection(c), recent.collection(a)
    ('team-a', None, None)
    """

    def __init__(self, size: int = 1000) -> None:
        from collections import OrderedDict

        self.size = size
        self._answers: OrderedDict[str, tuple[Any, str | None]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, answer: Any, collection: str | None = None) -> str:
        """A new id for ``answer``, answered from ``collection``."""
        import uuid

        answer_id = f"ans_{uuid.uuid4().hex}"
        with self._lock:
            self._answers[answer_id] = (answer, collection)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)
        return answer_id

    def get(self, answer_id: str) -> Any:
        with self._lock:
            return self._answers.get(answer_id, (None, None))[0]

    def collection(self, answer_id: str) -> str | None:
        """The collection the answer with ``answer_id`` came from (``None``: not said, or the
        id is unknown or too old)."""
        with self._lock:
            return self._answers.get(answer_id, (None, None))[1]


def gold_candidates(records: list[dict[str, Any]],
                    rating: str | None = None) -> list[dict[str, Any]]:
    """Rated answers as eval candidates in the gold format of ``eval/gold.jsonl`` (id, question,
    language, kind, answerable, reference, facts, evidence, multi_part, split), for a person to
    complete: ``facts`` are left empty, and what the rating says is filled in. A 👍 on an answer
    gives its text as ``reference`` and its citations as ``evidence``; a 👍 on an abstention marks
    the question unanswerable; a 👎 on an abstention marks it answerable; a 👎 on an answer leaves
    ``answerable`` unknown (``None``: wrong, or not in the documents). Candidates go to the
    ``tune`` split (never the reported half), and ``feedback`` keeps the rated answer and the
    collection it answered from (``None`` in ratings stored before collections were recorded).
    ``rating`` ('up' or 'down') keeps only those; the latest rating of a question in a collection
    wins (the same question in two collections is two candidates).

    >>> rec = {"rating": "down", "question": "Wer?", "language": "de", "abstained": True,
    ...        "answer": "Dazu steht nichts.", "citations": [], "answer_id": "ans_1"}
    >>> [(g["id"], g["kind"], g["answerable"]) for g in gold_candidates([rec])]
    [('fb-ans_1', 'fact', True)]
    >>> gold_candidates([rec], rating="up")
    []
    >>> other = {**rec, "answer_id": "ans_2", "collection": "team-a"}
    >>> [(g["id"], g["feedback"]["collection"]) for g in gold_candidates([rec, other])]
    [('fb-ans_1', None), ('fb-ans_2', 'team-a')]
    """
    import hashlib

    keep = normalize_rating(rating) if rating is not None else None
    latest: dict[tuple[str | None, str], dict[str, Any]] = {}
    for r in records:
        if r.get("rating") not in ("up", "down") or (keep and r["rating"] != keep):
            continue
        question = r.get("standalone_question") or r.get("question") or ""
        if question.strip():
            slot = (r.get("collection"), question)
            latest.pop(slot, None)
            latest[slot] = r
    out = []
    for (collection, question), r in latest.items():
        up, abstained = r["rating"] == "up", bool(r.get("abstained"))
        answerable = (not abstained) if up else (True if abstained else None)
        named = f"{collection}\n{question}" if collection else question  # an id per collection
        key = r.get("answer_id") or hashlib.sha256(named.encode()).hexdigest()[:12]
        cites = r.get("citations") or []
        out.append({
            "id": f"fb-{key}", "question": question, "language": r.get("language") or "",
            "kind": "unanswerable" if answerable is False else "fact",
            "answerable": answerable,
            "reference": r.get("answer", "") if up and not abstained else "",
            "facts": [],
            "evidence": [{"file": c["source"], "start": c["start"], "end": c["end"],
                          "quote": c["quote"]} for c in cites] if up else [],
            "multi_part": False, "split": "tune",
            "feedback": {k: r.get(k) for k in ("rating", "comment", "answer", "citations",
                                               "model", "timestamp", "answer_id",
                                               "collection")},
        })
    return out
