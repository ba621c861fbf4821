"""``qa.session``: the one warm-up, reload and model choice of the chat window and the server.
A real FAISS index of the demo articles, the fake embedder and generators; the local model is a
``LocalGenerator`` whose load is counted (no GGUF file is read)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from qa.assistant import Assistant
from qa.collections import names, resolve
from qa.config import Settings
from qa.errors import InputError, ModelError
from qa.generators.llamacpp import LocalGenerator
from qa.ingest.pipeline import ingest
from qa.models import MODELS
from qa.server.app import Server, ServerConfig
from qa.session import Session, warm_up
from qa.testing import FakeEmbedder, FakeGenerator

ZEBRA = "The zebra project is led by Anna Berg. It started in Kiel in 2021.\n"


class CountedLocal(LocalGenerator):
    """A local generator that counts its model loads and refuses to generate."""

    def __init__(self, fail: str | None = None) -> None:
        super().__init__("counted.gguf")
        self.loads, self.fail = 0, fail

    def _load(self) -> Any:
        self.loads += 1
        if self.fail:
            raise ModelError(self.fail)
        return object()

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the warm-up must not generate")


def loaded(assistant: Assistant) -> tuple[bool, bool]:
    """Whether the FAISS index's dense and lexical search structures are loaded."""
    index: Any = assistant.index
    return index._dense is not None, index._lexical is not None


def test_warm_up_loads_embedder_index_and_local_models_without_generating(
        fake_assistant: Assistant, caplog: pytest.LogCaptureFixture) -> None:
    generator, fallback = CountedLocal(), CountedLocal()
    assistant = fake_assistant.with_generator(generator)
    assistant.fallback = fallback
    embedder: Any = assistant.embedder
    embedder.calls.clear()
    assert loaded(assistant) == (False, False)
    with caplog.at_level(logging.INFO, logger="qa.session"):
        assert warm_up(assistant) is None
    assert embedder.calls == [("query", 1)]  # one question embedded
    assert loaded(assistant) == (True, True)
    assert (generator.loads, fallback.loads) == (1, 1)
    assert any(r.message.startswith("warmed up in ") for r in caplog.records)


def test_warm_up_returns_the_error_and_the_server_shows_it(
        fake_assistant: Assistant, caplog: pytest.LogCaptureFixture) -> None:
    broken = fake_assistant.with_generator(CountedLocal(fail="no model file counted.gguf"))
    with caplog.at_level(logging.WARNING, logger="qa.session"):
        assert warm_up(broken) == "no model file counted.gguf"
    assert "warm-up failed: no model file counted.gguf" in caplog.text
    srv = Server(broken, None, ServerConfig(warm_up=False))
    srv.warm_up()  # what create_app runs in its thread
    assert srv.warm_error == "no model file counted.gguf" and not srv.ready.is_set()
    ok = Server(fake_assistant, None, ServerConfig(warm_up=False))
    ok.warm_up()
    assert ok.warm_error is None and ok.ready.is_set()


def test_reload_answers_from_the_new_index_with_its_search_structures_loaded(
        fake_assistant: Assistant, settings: Settings) -> None:
    session = Session(fake_assistant)
    (settings.corpus_dir / "zebra.txt").write_text(ZEBRA, encoding="utf-8")
    ingest(settings, embedder=FakeEmbedder())
    assert "zebra.txt" not in fake_assistant.index.manifest["documents"]  # type: ignore[union-attr]
    assert session.reload() is fake_assistant
    assert "zebra.txt" in fake_assistant.index.manifest["documents"]  # type: ignore[union-attr]
    assert loaded(fake_assistant)[1]  # the lexical index, before any question
    hits = fake_assistant.retrieve("Who leads the zebra project?", 3)
    assert hits[0].chunk.source == "zebra.txt"


@pytest.fixture
def team(settings: Settings, tmp_path: Path, fake_models: FakeGenerator) -> Settings:
    """The demo articles as ``default`` and a collection ``team-a`` (one file), both built."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "zebra.txt").write_text(ZEBRA, encoding="utf-8")
    s = settings.replace(collections={"team-a": {"corpus_dir": str(tmp_path / "a")}})
    for name in names(s):
        ingest(resolve(s, name), embedder=FakeEmbedder())
    return s


def test_reload_of_a_collection_leaves_the_others_alone(team: Settings, tmp_path: Path) -> None:
    session = Session(Assistant.load(team))
    a = session.assistant_of("team-a")
    default_index = session.assistant.index
    (tmp_path / "a" / "lynx.txt").write_text("The lynx project is led by Lea Kurz.\n")
    ingest(resolve(team, "team-a"), embedder=FakeEmbedder())
    assert session.reload("team-a") is a
    assert set(a.index.manifest["documents"]) == {"zebra.txt", "lynx.txt"}  # type: ignore[union-attr]
    assert session.assistant.index is default_index
    with pytest.raises(InputError, match="no collection named 'team-z'"):
        session.reload("team-z")


def test_models_offered_and_one_generator_per_model_shared_by_collections(
        team: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []

    def make_generator(settings: Settings, backend: str | None = None) -> FakeGenerator:
        made.append(settings.model)
        return FakeGenerator(name=settings.model)

    session = Session(Assistant.load(team))
    monkeypatch.setattr("qa.composition.make_generator", make_generator)
    assert session.backends() == ["local"]  # no key: the hosted backend is not offered
    assert session.models("local") == list(MODELS) and session.current_model() == team.llm
    assert session.models("openai") == [team.openai_model]
    # the configured model is the default assistant's own generator: nothing is created
    assert session.assistant_for("local", team.llm) is session.assistant
    a = session.assistant_for("local", team.llm, "team-a")
    assert a is session.assistant_of("team-a") and a.generator is session.assistant.generator
    other = next(m for m in MODELS if m != team.llm)
    d = session.assistant_for("local", other)
    t = session.assistant_for("local", other, "team-a")
    assert made == [other]  # created once, for both collections
    assert d.generator is t.generator and d.generator.name == other  # type: ignore[attr-defined]
    assert d.index is session.assistant.index and t.index is session.assistant_of("team-a").index
    with pytest.raises(InputError, match="'gpt-4o' of backend 'openai' is not offered here"):
        session.assistant_for("openai", "gpt-4o")
    assert made == [other]


def test_hosted_backend_with_a_key_and_a_model_file_of_ones_own(settings: Settings) -> None:
    s = settings.replace(openai_api_key="sk-test", openai_model="qwen-plus", llm="my/own.gguf")
    session = Session(Assistant(None, FakeGenerator(), s))  # type: ignore[arg-type]
    assert session.backends() == ["local", "openai"]
    assert session.models("openai") == ["qwen-plus"]
    assert session.models("local") == ["my/own.gguf", *MODELS]
