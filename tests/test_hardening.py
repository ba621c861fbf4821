"""Issue 11 regressions: corrupt indexes, long-running readers, settings, lost output, warnings.

Every damaged file is made by the test itself; the library is driven with the fake embedder and
generator, the CLI in-process with them patched in (no model is loaded).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.assistant import Assistant
from qa.cli import main
from qa.config import Settings
from qa.errors import IndexMismatchError, ModelError, QAError
from qa.indexing import cap_chunks, update_index
from qa.ingest.pipeline import ingest
from qa.stores.base import IndexConfig
from qa.stores.faiss import current_version, load_index
from qa.testing import FakeEmbedder, FakeGenerator

CORRUPT = r"index in .* is corrupt \(.*\); run `qa ingest --rebuild`"


def _build(settings: Settings) -> Path:
    ingest(settings, embedder=FakeEmbedder())
    version = current_version(settings.index_dir)
    assert version is not None
    return version


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _faiss_rows(n: int):  # noqa: ANN202 - a damage function writing a FAISS file of n rows
    def damage(version: Path) -> None:
        from qa.stores.vectors import VectorIndex

        rng = np.random.default_rng(0)
        VectorIndex.build(rng.standard_normal((n, 256)).astype(np.float32)).save(version)
    return damage


def _flip_byte(name: str):  # noqa: ANN202
    def damage(version: Path) -> None:
        data = bytearray((version / name).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (version / name).write_bytes(bytes(data))
    return damage


def _lexical_npy(version: Path) -> None:
    _truncate(sorted((version / "lexical").glob("*.npy"))[0])


def _shift_chunk_text(version: Path) -> None:
    import sqlite3

    with contextlib.closing(sqlite3.connect(version / "rows.sqlite")) as db, db:
        (a,), (b,) = db.execute("SELECT text FROM chunks WHERE row < 2 ORDER BY row")
        db.executemany("UPDATE chunks SET text = ? WHERE row = ?", [(b, 0), (a, 1)])


DAMAGE = {
    "truncated dense.faiss": lambda v: _truncate(v / "dense.faiss"),
    "empty dense.faiss": lambda v: (v / "dense.faiss").write_bytes(b""),
    "missing dense.faiss": lambda v: (v / "dense.faiss").unlink(),
    "garbled dense.faiss": _flip_byte("dense.faiss"),
    "truncated lexical npy": _lexical_npy,
    "missing lexical meta": lambda v: (v / "lexical" / "meta.json").unlink(),
    "faiss with more rows than chunks": _faiss_rows(80),
    "faiss with fewer rows than chunks": _faiss_rows(10),
    "garbled vectors.npy": _flip_byte("vectors.npy"),
    "swapped chunk texts": _shift_chunk_text,
    "garbled rows.sqlite": _flip_byte("rows.sqlite"),
    "missing rows.sqlite": lambda v: (v / "rows.sqlite").unlink(),
    "garbled sentences.faiss": _flip_byte("sentences.faiss"),
}


def _unseal(version: Path) -> None:
    """Make the version look like one written before checksums were recorded."""
    manifest = json.loads((version / "manifest.json").read_text())
    manifest.pop("files", None)
    (version / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_a_damaged_index_is_the_corrupt_index_line_not_a_traceback(settings: Settings,
                                                                   damage: str) -> None:
    version = _build(settings)
    DAMAGE[damage](version)
    with pytest.raises(IndexMismatchError, match=CORRUPT):
        assistant = Assistant.load(settings, embedder=FakeEmbedder(), generator=FakeGenerator())
        assistant.ask("Wie viel investiert Alibaba?")


@pytest.mark.parametrize("damage", ["truncated dense.faiss", "empty dense.faiss",
                                    "missing dense.faiss", "truncated lexical npy",
                                    "faiss with more rows than chunks",
                                    "faiss with fewer rows than chunks"])
def test_checks_hold_for_an_index_without_checksums(settings: Settings, damage: str) -> None:
    version = _build(settings)
    _unseal(version)
    DAMAGE[damage](version)
    assistant = Assistant.load(settings, embedder=FakeEmbedder(), generator=FakeGenerator())
    with pytest.raises(IndexMismatchError, match=CORRUPT):
        assistant.ask("Wie viel investiert Alibaba?")


def test_the_manifest_records_a_checksum_per_file(settings: Settings) -> None:
    version = _build(settings)
    files = json.loads((version / "manifest.json").read_text())["files"]
    assert {"rows.sqlite", "vectors.npy", "sentence_vectors.npy", "dense.faiss",
            "sentences.faiss"} <= set(files)
    assert any(name.startswith("lexical/") for name in files)
    assert all(len(f["sha256"]) == 64 and f["bytes"] > 0 for f in files.values())


def test_cli_corrupt_faiss_and_undecodable_current_give_one_line_rc_2(
        settings: Settings, fake_models: FakeGenerator, capsys: pytest.CaptureFixture[str]) -> None:
    version = _build(settings)
    _truncate(version / "dense.faiss")
    ix = [str(settings.index_dir), "--embed-model", "fake-embedder"]
    assert main(["ask", "Wer investiert?", "--index-dir", *ix]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: index in") and "is corrupt (dense.faiss" in err and "--rebuild" in err
    assert len(err.strip().splitlines()) == 1
    (settings.index_dir / "CURRENT").write_bytes(b"\xff\xfe v-\x80")
    assert main(["ask", "Wer investiert?", "--index-dir", *ix]) == 2
    err = capsys.readouterr().err
    assert "corrupt (CURRENT is unreadable" in err and len(err.strip().splitlines()) == 1


def test_current_naming_a_missing_version_is_corrupt_not_a_silent_rebuild(
        settings: Settings) -> None:
    version = _build(settings)
    shutil.rmtree(version)
    embedder = FakeEmbedder()
    with pytest.raises(IndexMismatchError, match=r"corrupt \(CURRENT names v-"):
        Assistant.load(settings, embedder=embedder, generator=FakeGenerator())
    assert embedder.calls == []  # nothing was rebuilt behind the user's back
    ingest(settings, embedder=embedder, rebuild=True)  # the hint's remedy works
    assert current_version(settings.index_dir) is not None


def test_a_long_running_reader_survives_later_ingests(settings: Settings) -> None:
    _build(settings)
    embedder = FakeEmbedder()
    assistant = Assistant.load(settings, embedder=embedder, generator=FakeGenerator())
    held = assistant.index.directory
    for i in range(3):  # each writes a version; two are kept, plus the one still in use
        (settings.corpus_dir / "extra.txt").write_text(f"Ein Artikel in Fassung {i} über Qwen.")
        ingest(settings, embedder=embedder)
    assert held.is_dir() and current_version(settings.index_dir) != held
    answer = assistant.ask("Wie viel investiert Alibaba in KI?")  # first use of dense.faiss
    assert answer.error is None and answer.passages
    del assistant, answer  # released: the next ingest prunes it
    (settings.corpus_dir / "extra.txt").write_text("Ein Artikel in der letzten Fassung.")
    ingest(settings, embedder=embedder)
    assert not held.exists()
    assert len(list(settings.index_dir.glob("v-*"))) == 2


def test_chunks_per_document_are_capped_with_a_warning(settings: Settings,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    from qa.corpus import load_corpus

    (settings.corpus_dir / "huge.txt").write_text(
        " ".join(f"Satz Nummer {i} über Rechenzentren." for i in range(400)))
    docs = load_corpus([settings.corpus_dir]).documents
    with caplog.at_level(logging.WARNING, logger="qa.indexing"):
        update_index(settings.index_dir, docs, FakeEmbedder(), IndexConfig.from_settings(settings),
                     max_chunks_per_document=3)
    index = load_index(settings.index_dir)
    assert sum(c.source == "huge.txt" for c in index.chunks) == 3
    assert "huge.txt" in caplog.text and "only the first 3" in caplog.text
    assert cap_chunks([1, 2], 2, "x") == [1, 2]  # type: ignore[list-item]
    assert Settings().max_chunks_per_document == 5000


# -- settings ----------------------------------------------------------------------------------

def test_context_window_must_hold_budget_answer_and_instructions() -> None:
    with pytest.raises(QAError, match=r"context_tokens \(200\) is too small.*at least 920"):
        Settings.load(env={"QA_CONFIG": "", "QA_CONTEXT_TOKENS": "200"})
    assert Settings(context_tokens=920).context_tokens == 920
    Settings(backend="openai", context_tokens=200)  # not used by a hosted model


class _FakeLlama:
    """What ``LocalGenerator`` uses of ``llama_cpp.Llama``; its stream overflows as llama.cpp
    does (a ValueError on the first item)."""

    metadata = {"tokenizer.chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"}

    def __init__(self, n_prompt: int) -> None:
        self.n_prompt = n_prompt
        self.n_tokens = 0  # tokens in the context

    def reset(self) -> None:
        self.n_tokens = 0

    def eval(self, tokens: list[int]) -> None:
        self.n_tokens += len(tokens)

    def token_eos(self) -> int:
        return 0

    def detokenize(self, tokens: list[int], special: bool = False) -> bytes:
        return b"<|im_end|>"

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return [1] * self.n_prompt

    def create_completion(self, **kwargs):  # noqa: ANN003, ANN201
        def parts():  # llama-cpp-python raises on the first item of the stream
            raise ValueError("Requested tokens (2500) exceed context window of 2048")
            yield {}
        return parts()


@pytest.mark.parametrize("n_prompt", [100, 5000])
def test_llama_cpp_context_overflow_is_one_line_model_error(n_prompt: int) -> None:
    """Found by llama.cpp while generating (100 prompt tokens) or by the generator before it
    starts (a prompt longer than the context)."""
    from qa.generators.llamacpp import LocalGenerator

    generator = LocalGenerator(context_tokens=2048)
    generator._llm = _FakeLlama(n_prompt)
    with pytest.raises(ModelError) as e:
        list(generator.stream([{"role": "user", "content": "x"}]))
    assert "context window" in str(e.value) and "\n" not in str(e.value)
    assert "raise context_tokens" in str(e.value)
    if n_prompt > 2048:
        with pytest.raises(ModelError, match="5000 tokens, at most 2048"):
            generator.start_probability([{"role": "user", "content": "x"}], ["NICHT"])


@pytest.mark.parametrize(("name", "value", "message"), [
    ("QA_ADAPTIVE_LEXICAL", "maybe", "not a valid boolean"),
    ("QA_TEMPERATURE", "nan", "temperature must be a finite number"),
    ("QA_DENSE_WEIGHT", "inf", "dense_weight must be a finite number"),
    ("QA_TEMPERATURE", "-1", "temperature must not be negative"),
    ("QA_FOLLOW_SYMLINKS", "sometimes", "not a valid boolean"),
])
def test_loose_settings_are_refused(name: str, value: str, message: str) -> None:
    with pytest.raises(QAError, match=message):
        Settings.load(env={"QA_CONFIG": "", name: value})


def test_boolean_words() -> None:
    for word, want in [("yes", True), ("On", True), ("1", True), ("no", False), ("off", False),
                       ("0", False), ("false", False)]:
        assert Settings.load(env={"QA_CONFIG": "", "QA_ADAPTIVE_LEXICAL": word}
                             ).adaptive_lexical is want


def test_qa_config_naming_a_missing_file_is_an_error_like_the_flag(tmp_path: Path) -> None:
    with pytest.raises(QAError, match=r"absent.toml does not exist \(from QA_CONFIG\)"):
        Settings.load(env={"QA_CONFIG": str(tmp_path / "absent.toml")})
    with pytest.raises(QAError, match="absent.toml does not exist"):
        Settings.load(tmp_path / "absent.toml", env={})
    good = tmp_path / "qa.toml"
    good.write_text("top_k = 2\n")
    assert Settings.load(env={"QA_CONFIG": str(good)}).top_k == 2
    assert Settings.load(env={"QA_CONFIG": ""}).top_k == Settings().top_k  # empty: no file


def test_cli_reports_a_missing_qa_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("QA_CONFIG", str(tmp_path / "gone.toml"))
    assert main(["ask", "Wer?", "--index-dir", str(tmp_path)]) == 2
    assert "gone.toml does not exist (from QA_CONFIG)" in capsys.readouterr().err


def test_ui_users_parse_and_stay_secret(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("# team\nanna:one\n\nben:two:three\n")
    s = Settings(ui_users="carl:x", ui_users_file=str(users))
    assert s.ui_credentials() == [("carl", "x"), ("anna", "one"), ("ben", "two:three")]
    assert "ui_users" not in s.public_dict() and "carl:x" not in repr(s)
    with pytest.raises(QAError, match="not name:password") as e:
        Settings(ui_users="hunter2").ui_credentials()
    assert "hunter2" not in str(e.value)


# -- qa answer --out ---------------------------------------------------------------------------

def _questions(tmp_path: Path, *questions: str) -> Path:
    q = tmp_path / "q.jsonl"
    q.write_text("".join(json.dumps({"id": str(i), "question": x}) + "\n"
                         for i, x in enumerate(questions, 1)))
    return q


def test_answer_out_is_untouched_when_the_run_fails(settings: Settings, fake_models: FakeGenerator,
                                                    tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    _build(settings)
    out = tmp_path / "a.jsonl"
    out.write_text('{"id": "old", "answer": "keep me"}\n')
    before = out.read_bytes()
    ix = ["--index-dir", str(settings.index_dir), "--embed-model", "fake-embedder"]
    assert main(["answer", "--questions", str(tmp_path / "typo.jsonl"), "--out", str(out), *ix]) == 1
    assert out.read_bytes() == before
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "1", "question": "Wer baut Rechenzentren?"}) + "\nnot json\n")
    assert main(["answer", "--questions", str(bad), "--out", str(out), *ix]) == 2
    assert out.read_bytes() == before
    partial = tmp_path / "a.jsonl.partial"
    assert json.loads(partial.read_text())["id"] == "1"  # the work done so far is kept aside
    assert not list(tmp_path.glob(".a.jsonl.*"))
    capsys.readouterr()
    q = _questions(tmp_path, "Wer baut Rechenzentren?", "Wie wächst die Cloud?")
    assert main(["answer", "--questions", str(q), "--out", str(out), *ix]) == 0
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["1", "2"]
    assert not list(tmp_path.glob(".a.jsonl.*"))


# -- warnings and output -----------------------------------------------------------------------

def test_each_skipped_file_is_warned_once_and_no_library_debug_lines(
        settings: Settings, fake_models: FakeGenerator, capsys: pytest.CaptureFixture[str]) -> None:
    (settings.corpus_dir / "empty.txt").write_bytes(b"")
    assert main(["ingest", "--index-dir", str(settings.index_dir), "--embed-model",
                 "fake-embedder", "--corpus-dir", str(settings.corpus_dir)]) == 0
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "empty.txt" in line] == [
        "warning: empty.txt: skipped, empty file"]
    assert "DEBUG" not in err and "chunk/s" not in err


def test_progress_bar_shows_no_made_up_rate(capsys: pytest.CaptureFixture[str]) -> None:
    from qa.cli import _progress

    update = _progress("embedding")
    for done in (16, 32, 52):
        update(done, 52)
    err = capsys.readouterr().err
    assert "52/52" in err and "/s" not in err


def test_sources_line_escapes_control_characters_in_names() -> None:
    from qa.cli import _format_sources
    from qa.types import Citation

    class Answer:
        abstained = False
        citations = (Citation(n=1, source="evil\x1b[2J\u202etxt.exe\n.txt", chunk_id="c", start=0,
                              end=5, quote="Text\x1b[31m rot", score=1.0),)

    line = next(_format_sources(Answer()))
    assert "\x1b" not in line and "\u202e" not in line and "\n" not in line
    assert "evil\\x1b[2J\\u202etxt.exe\\n.txt" in line


# -- concurrency (claims of docs/reliability.md) -----------------------------------------------

def test_concurrent_questions_over_one_assistant_each_get_their_own_answer(
        fake_assistant: Assistant) -> None:
    from concurrent.futures import ThreadPoolExecutor

    questions = [f"Frage {i}: Wie viel investiert Alibaba in Rechenzentren?" if i % 2 else
                 f"Question {i}: How fast did the cloud business grow?" for i in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(fake_assistant.ask, questions))
    assert [a.question for a in answers] == questions
    assert all(a.error is None and a.passages for a in answers)
    assert {a.language for a in answers} == {"de", "en"}


def test_two_concurrent_ingests_serialise(settings: Settings) -> None:
    from concurrent.futures import ThreadPoolExecutor

    _build(settings)
    (settings.corpus_dir / "neu.txt").write_text("Alibaba eröffnet ein Rechenzentrum in Island.")
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: ingest(settings, embedder=FakeEmbedder())[0], range(2)))
    assert sorted(r.wrote for r in reports) == [False, True]  # the second saw the first's work
    index = load_index(settings.index_dir)
    assert "neu.txt" in {d.source for d in index.documents}
    assert len(index.dense) == len(index.chunks) == len(index.lexical)
