from __future__ import annotations

from pathlib import Path

import pytest

from qa.config import Settings
from qa.errors import QAError


def test_precedence_defaults_toml_env_overrides(tmp_path: Path) -> None:
    toml = tmp_path / "qa.toml"
    toml.write_text('top_k = 2\nllm = "qwen2.5-coder-0.5b"\nindex_dir = "/tmp/ix"\n')
    s = Settings.load(toml, env={"QA_TOP_K": "3", "QA_THREADS": "4"}, threads=None)
    assert (s.top_k, s.threads, s.llm, s.index_dir) == (3, 4, "qwen2.5-coder-0.5b", Path("/tmp/ix"))
    s = Settings.load(toml, env={"QA_TOP_K": "3"}, top_k=5)
    assert s.top_k == 5


def test_settings_are_frozen_and_validated() -> None:
    s = Settings()
    with pytest.raises(AttributeError):
        s.top_k = 3  # type: ignore[misc]
    with pytest.raises(QAError, match="backend"):
        Settings(backend="nope")
    with pytest.raises(QAError, match="top_k"):
        Settings(top_k=0)


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(QAError, match="not a valid int"):
        Settings.load(env={"QA_TOP_K": "many"})
    bad = tmp_path / "qa.toml"
    bad.write_text("top_k = [")
    with pytest.raises(QAError, match="not valid TOML"):
        Settings.load(bad, env={})
    bad.write_text("colour = 'blue'")
    with pytest.raises(QAError, match="unknown setting"):
        Settings.load(bad, env={})
    with pytest.raises(QAError, match="does not exist"):
        Settings.load(tmp_path / "missing.toml", env={})


def test_the_key_never_shows() -> None:
    s = Settings(openai_api_key="sk-SECRET")
    assert "sk-SECRET" not in repr(s)
    assert "openai_api_key" not in s.public_dict()


def test_with_model_sets_the_backends_own_field() -> None:
    s = Settings()
    assert s.model == "qwen2.5-coder-1.5b"
    hosted = s.with_model("qwen-plus", "openai")
    assert (hosted.backend, hosted.openai_model, hosted.llm, hosted.model) == (
        "openai", "qwen-plus", "qwen2.5-coder-1.5b", "qwen-plus")
    assert hosted.with_model("qwen-max").openai_model == "qwen-max"
    assert s.with_model("smollm2-135m").llm == "smollm2-135m"
