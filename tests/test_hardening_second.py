"""Issue 24 regressions (second hardening pass): document identity, uploads during an ingest,
NUL bytes, undecodable question files, index damage outside the one-line rule.

Every file is made by the test itself; the library runs with the fake embedder and generator,
the CLI in-process with them patched in (no model is loaded).
"""

from __future__ import annotations

import json
import shutil

import pytest

from qa.assistant import Assistant, ingest
from qa.cli import main
from qa.config import Settings
from qa.errors import IndexMismatchError
from qa.stores.faiss import current_version, load_index
from qa.testing import FakeEmbedder, FakeGenerator


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch) -> FakeGenerator:
    """The CLI in-process with the fake embedder and generator."""
    generator = FakeGenerator()
    monkeypatch.setattr("qa.assistant.make_embedder", lambda settings: FakeEmbedder())
    monkeypatch.setattr("qa.assistant.make_generator", lambda settings, backend=None: generator)
    monkeypatch.setenv("QA_CONFIG", "")
    return generator


def _ix(settings: Settings) -> list[str]:
    return ["--index-dir", str(settings.index_dir), "--embed-model", "fake-embedder"]


# -- 1: a document's identity is its source ----------------------------------------------------

def test_a_copy_of_a_file_is_a_second_document_and_the_folder_settles(
        settings: Settings, fake_models: FakeGenerator, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = settings.corpus_dir
    ingest_cli = ["ingest", "--corpus-dir", str(corpus), *_ix(settings)]
    assert main(ingest_cli) == 0
    first = sorted(p.name for p in corpus.glob("*.txt"))
    shutil.copy(corpus / first[0], corpus / "b_copy.txt")
    capsys.readouterr()
    outs = []
    for _ in range(3):
        assert main(ingest_cli) == 0
        outs.append(capsys.readouterr().out)
    assert "1 new" in outs[0]
    assert "up to date: 6 documents" in outs[1] and "up to date: 6 documents" in outs[2]
    index = load_index(settings.index_dir)
    assert sorted(d.source for d in index.documents) == sorted([*first, "b_copy.txt"])


def test_an_index_keyed_by_text_alone_asks_for_a_rebuild(settings: Settings) -> None:
    ingest(settings, embedder=FakeEmbedder())
    version = current_version(settings.index_dir)
    assert version is not None
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["config"]["doc_identity"] == "source"
    del manifest["config"]["doc_identity"]  # as an index written before issue 24
    (version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match=r"doc_identity: index has None.*--rebuild"):
        Assistant.load(settings, embedder=FakeEmbedder(), generator=FakeGenerator())
    report, _ = ingest(settings, embedder=FakeEmbedder())  # qa ingest rebuilds it
    assert report.wrote and len(report.added) == 5
    Assistant.load(settings, embedder=FakeEmbedder(), generator=FakeGenerator())
