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
