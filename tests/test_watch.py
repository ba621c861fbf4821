"""``qa ingest --watch``: the folder is followed, changes settle before they are read, and the
index follows the folder (the last test with the real embedder, through the real CLI)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qa.watch import Changes, Snapshot, Watcher, diff, snapshot


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_snapshot_lists_what_load_corpus_reads(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Alpha.")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("Beta.")
    (tmp_path / ".hidden.txt").write_text("never read")
    snap = snapshot([tmp_path])
    assert sorted(snap) == ["a.txt", "sub/b.md"]
    assert snap["a.txt"][0] == len("Alpha.")


def test_diff_names_added_changed_and_removed() -> None:
    old: Snapshot = {"a": (1, 1), "b": (2, 2), "c": (3, 3)}
    new: Snapshot = {"a": (1, 1), "b": (2, 9), "d": (4, 4)}
    assert diff(old, new) == Changes(added=["d"], changed=["b"], removed=["c"])
    assert not diff(new, new)


def test_a_change_is_reported_once_after_the_folder_settles() -> None:
    clock, state = Clock(), {"a.txt": (1, 1)}
    w = Watcher([], interval=1, debounce=2, clock=clock, take=lambda: dict(state))
    assert not w.poll()
    state["b.txt"] = (5, 1)  # a new file appears ...
    clock.now = 1
    assert not w.poll()  # ... seen, not yet settled
    clock.now = 2
    assert not w.poll()
    clock.now = 3.5
    assert w.poll() == Changes(added=["b.txt"])
    clock.now = 10
    assert not w.poll()  # reported once


def test_a_file_being_written_is_not_read_half_way() -> None:
    clock, state = Clock(), {}
    w = Watcher([], interval=1, debounce=2, clock=clock, take=lambda: dict(state))
    for t in range(1, 8):  # the file grows every second: never quiet for 2 s
        clock.now, state["big.pdf"] = t, (t * 1000, t)
        assert not w.poll()
    clock.now = 9  # writing ended at t=7
    assert w.poll() == Changes(added=["big.pdf"])


def test_a_burst_of_changes_is_one_update() -> None:
    clock, state = Clock(), {"a": (1, 1), "b": (1, 1)}
    w = Watcher([], interval=1, debounce=2, clock=clock, take=lambda: dict(state))
    clock.now = 1
    state["c"] = (1, 1)
    w.poll()
    clock.now = 2
    del state["a"]
    state["b"] = (2, 2)
    w.poll()
    clock.now = 4
    assert w.poll() == Changes(added=["c"], changed=["b"], removed=["a"])


def test_bad_interval_is_refused() -> None:
    with pytest.raises(ValueError):
        Watcher([], interval=0, take=dict)


def test_run_follows_a_real_folder_and_survives_a_failed_update(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Alpha.")
    seen: list[Changes] = []
    stop = threading.Event()

    def on_change(changes: Changes) -> None:
        seen.append(changes)
        if len(seen) == 1:
            raise RuntimeError("the first update fails")
        stop.set()

    w = Watcher([tmp_path], interval=0.05, debounce=0.1)
    t = threading.Thread(target=w.run, args=(on_change, stop), daemon=True)
    t.start()
    (tmp_path / "b.txt").write_text("Beta.")
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.05)
    (tmp_path / "a.txt").unlink()
    t.join(timeout=10)
    assert not t.is_alive()
    assert seen == [Changes(added=["b.txt"]), Changes(removed=["a.txt"])]


def test_bad_interval_on_the_command_line(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "qa.cli", "ingest", str(tmp_path), "--watch",
                        "--interval", "-1"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--interval" in r.stderr and "Traceback" not in r.stderr


def _wait_for(proc: subprocess.Popen[str], lines: list[str], text: str, timeout: float) -> None:
    """Read the child's lines until one holds ``text``; fail after ``timeout`` seconds even
    when the child prints nothing more (the lines are read by a thread, never a blocking
    ``readline`` here)."""
    if not hasattr(proc, "_lines"):
        q: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            for line in proc.stdout or ():
                q.put(line)
            q.put(None)

        threading.Thread(target=pump, daemon=True).start()
        proc._lines = q  # type: ignore[attr-defined]
    q = proc._lines  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = q.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        lines.append(line.rstrip("\n"))
        if text in line:
            return
    raise AssertionError(f"no line with {text!r} in {timeout} s; output so far: {lines}")


@pytest.mark.integration
def test_cli_watch_indexes_added_changed_and_deleted_files(tmp_path: Path) -> None:
    """The real CLI and embedder: `qa ingest --watch` picks up an added, a changed and a deleted
    file, one line each, and the index holds exactly the folder after each."""
    corpus, ix = tmp_path / "articles", tmp_path / "ix"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Alibaba baut ein Rechenzentrum in Seoul. Es kostet viel Geld.")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # SIGINT as a terminal would send it: a run started in the background of a shell without job
    # control inherits SIGINT ignored, and Python then installs no KeyboardInterrupt for it
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "ingest", str(corpus), "--index-dir",
                             str(ix), "--watch", "--interval", "0.3"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: list[str] = []
    try:
        _wait_for(proc, lines, "watching", 300)
        assert any("indexed 1 new" in ln for ln in lines)
        (corpus / "b.txt").write_text("Tencent eröffnet ein Labor in Berlin. Dort arbeiten 40 Leute.")
        _wait_for(proc, lines, "+ b.txt", 60)
        _wait_for(proc, lines, "indexed 1 new, 0 changed, 0 removed, 1 unchanged", 120)
        (corpus / "a.txt").write_text("Alibaba baut zwei Rechenzentren in Seoul und Tokio.")
        _wait_for(proc, lines, "~ a.txt", 60)
        _wait_for(proc, lines, "indexed 0 new, 1 changed, 0 removed, 1 unchanged", 120)
        (corpus / "b.txt").unlink()
        _wait_for(proc, lines, "- b.txt", 60)
        _wait_for(proc, lines, "indexed 0 new, 0 changed, 1 removed, 1 unchanged", 120)
        proc.send_signal(signal.SIGINT)
        _wait_for(proc, lines, "stopped watching", 30)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    from qa.composition import make_store
    from qa.config import Settings

    state = make_store(Settings(index_dir=ix, corpus_dir=corpus)).open()
    docs = state.list_documents()
    assert [d.source for d in docs] == ["a.txt"] and "Tokio" in docs[0].text
