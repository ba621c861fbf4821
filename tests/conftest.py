from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.ingest.pipeline import ingest
from qa.testing import FakeEmbedder, FakeGenerator

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "data" / "articles"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the five demo articles."""
    d = tmp_path / "articles"
    shutil.copytree(ARTICLES, d)
    return d


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index", data_dir=tmp_path / "data",
                    embed_model="fake-embedder", cache_dir=tmp_path / "cache")


@pytest.fixture
def fake_assistant(settings: Settings) -> Assistant:
    embedder = FakeEmbedder()
    ingest(settings, embedder=embedder)
    return Assistant.load(settings, embedder=embedder, generator=FakeGenerator())


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch) -> FakeGenerator:
    """``Assistant.load`` (the CLI in-process, ``ui.App``) builds the fake embedder and the
    returned fake generator instead of the real models; no ``./qa.toml`` is read."""
    generator = FakeGenerator()
    monkeypatch.setattr("qa.composition.make_embedder", lambda settings: FakeEmbedder())
    monkeypatch.setattr("qa.composition.make_generator", lambda settings, backend=None: generator)
    monkeypatch.setenv("QA_CONFIG", "")
    return generator
