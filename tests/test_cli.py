"""The CLI's error contract: one clear line, non-zero exit, no traceback unless --debug."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qa.cli import main


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


@pytest.mark.parametrize("command", [[], ["ingest"], ["ask"], ["answer"], ["models"]])
def test_help_is_useful(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([*command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "usage: qa" in out and len(out) > 150


def test_missing_corpus_folder(tmp_path: Path) -> None:
    r = run("ingest", str(tmp_path / "nowhere"), "--index-dir", str(tmp_path / "ix"))
    assert r.returncode == 2
    assert r.stderr.startswith("error: not found:") and "Traceback" not in r.stderr


def test_corrupt_index(tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    (ix / "v-1").mkdir(parents=True)
    (ix / "CURRENT").write_text("v-1")
    r = run("ask", "Wer?", "--index-dir", str(ix))
    assert r.returncode == 2 and "corrupt" in r.stderr and "qa ingest --rebuild" in r.stderr
    assert "Traceback" not in r.stderr
    r = run("ask", "Wer?", "--index-dir", str(ix), "--debug")
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_unknown_model_and_bad_setting(tmp_path: Path) -> None:
    r = run("models")
    assert r.returncode == 0 and "qwen2.5-coder-1.5b" in r.stdout and "Apache-2.0" in r.stdout
    r = run("ask", "Wer?", "--threads", "0", "--index-dir", str(tmp_path))
    assert r.returncode == 2 and "threads must be positive" in r.stderr


def test_bad_questions_file(tmp_path: Path, corpus: Path) -> None:
    from qa.config import Settings
    from qa.ingest.pipeline import ingest
    from qa.testing import FakeEmbedder

    ix = tmp_path / "ix"
    ingest(Settings(corpus_dir=corpus, index_dir=ix, embed_model="fake-embedder"),
           embedder=FakeEmbedder())
    q = tmp_path / "q.jsonl"
    q.write_text("not json\n")
    r = run("answer", "--questions", str(q), "--out", str(tmp_path / "a.jsonl"),
            "--index-dir", str(ix), "--embed-model", "fake-embedder")
    assert r.returncode == 2
    assert "q.jsonl:1: expected" in r.stderr and "Traceback" not in r.stderr


def test_streamed_text_is_erased_as_the_terminal_wrapped_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.cli import _erase

    monkeypatch.setenv("COLUMNS", "10")
    assert _erase("kurz") == "\r\033[J"
    assert _erase("a" * 25) == "\033[2F\033[J"  # three rows on a 10-column terminal
    assert _erase("eins\nzwei\n" + "x" * 11) == "\033[3F\033[J"


def test_ask_says_on_stderr_why_there_is_no_answer(fake_assistant: Any, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from qa import cli
    from qa.answering.prompting import ABSTAIN_TEXT, NOT_FOUND

    monkeypatch.setattr(cli.answering, "_load", lambda args: fake_assistant)
    fake_assistant.generator.enqueue(NOT_FOUND)
    assert main(["ask", "Wie heißt der Finanzchef von Alibaba?"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(ABSTAIN_TEXT["de"]) and NOT_FOUND not in out
    assert "(no answer: the model refused)" in err
    # the refusal still leads to the text: the closest passages, with their files
    head, _, closest = out.partition("Nächstgelegene Textstellen")
    assert head.strip() == ABSTAIN_TEXT["de"]
    lines = [ln for ln in closest.splitlines()[1:] if ln.strip()]
    assert 1 <= len(lines) <= 3 and all(ln.lstrip().startswith("[") for ln in lines)
    assert all(".txt: „" in ln for ln in lines)
