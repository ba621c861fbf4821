from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from qa.config import Settings
from qa.errors import IndexMismatchError, QAError
from qa.indexing import update_index
from qa.ingest.pipeline import ingest
from qa.stores.base import IndexConfig
from qa.stores.faiss import current_version, load_index
from qa.testing import FakeEmbedder


def test_build_then_unchanged_reingest_embeds_nothing(settings: Settings) -> None:
    emb = FakeEmbedder()
    report, skipped = ingest(settings, embedder=emb)
    assert report.wrote and len(report.added) == 5 and not skipped
    assert report.embedded_chunks == report.total_chunks > 0
    version = current_version(settings.index_dir)
    emb.calls.clear()
    again, _ = ingest(settings, embedder=emb)
    assert not again.wrote and emb.calls == [] and len(again.unchanged) == 5
    assert current_version(settings.index_dir) == version


def test_added_changed_deleted_files_update_incrementally(settings: Settings) -> None:
    emb = FakeEmbedder()
    ingest(settings, embedder=emb)
    before = load_index(settings.index_dir)
    corpus = settings.corpus_dir
    (corpus / "new.txt").write_text("Alibaba eröffnet ein Rechenzentrum in Island. Es ist groß.")
    (corpus / "001_afe427c5a2169e78.txt").unlink()
    changed = corpus / "002_f183b677dbf21510.txt"
    changed.write_text(changed.read_text() + "\nEin neuer Schlusssatz über Qwen.")
    emb.calls.clear()
    report, _ = ingest(settings, embedder=emb)
    assert report.added == ["new.txt"]
    assert report.removed == ["001_afe427c5a2169e78.txt"]
    assert report.changed == ["002_f183b677dbf21510.txt"]
    embedded = sum(n for _, n in emb.calls)
    assert 0 < report.embedded_chunks < report.total_chunks
    assert embedded == report.embedded_chunks + report.embedded_sentences
    after = load_index(settings.index_dir)
    assert {d.source for d in after.documents} == {d.source for d in before.documents} - {
        "001_afe427c5a2169e78.txt"} | {"new.txt"}
    # stored vectors are exactly what the embedder gives for each chunk
    for chunk, vec in zip(after.chunks, after.vectors, strict=True):
        np.testing.assert_allclose(vec, emb.embed([chunk.text], "passage")[0], atol=1e-6)
    hits = after.lexical.search("Island Rechenzentrum", 3)
    assert after.chunks[hits[0][0]].source == "new.txt"


def test_mismatched_settings_refuse_to_load_with_a_hint(settings: Settings) -> None:
    ingest(settings, embedder=FakeEmbedder())
    other = IndexConfig.from_settings(settings.replace(chunk_words=40))
    with pytest.raises(IndexMismatchError, match="chunk_words.*qa ingest --rebuild"):
        load_index(settings.index_dir, expect=other)


def test_changed_settings_rebuild_on_ingest(settings: Settings) -> None:
    ingest(settings, embedder=FakeEmbedder())
    report, _ = ingest(settings.replace(chunk_words=40), embedder=FakeEmbedder())
    assert report.wrote and report.embedded_chunks == report.total_chunks
    load_index(settings.index_dir, expect=IndexConfig.from_settings(settings.replace(chunk_words=40)))


def test_corrupt_index_is_reported(settings: Settings) -> None:
    ingest(settings, embedder=FakeEmbedder())
    version = current_version(settings.index_dir)
    assert version is not None
    (version / "rows.sqlite").write_bytes(b"not a database")
    with pytest.raises(IndexMismatchError, match="corrupt"):
        load_index(settings.index_dir)
    manifest = json.loads((version / "manifest.json").read_text())
    del manifest["files"]  # without checksums, SQLite's own error is the corrupt-index line
    (version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="corrupt.*rebuild"):
        load_index(settings.index_dir)


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(IndexMismatchError, match="qa ingest"):
        load_index(tmp_path / "none")


class ExplodingEmbedder(FakeEmbedder):
    def embed(self, texts, kind):  # noqa: ANN001, ANN201
        if len(self.calls) >= 1:
            raise RuntimeError("crash in the middle of embedding")
        return super().embed(texts, kind)


def test_crash_mid_build_leaves_the_old_index_intact(settings: Settings) -> None:
    ingest(settings, embedder=FakeEmbedder())
    version = current_version(settings.index_dir)
    good = load_index(settings.index_dir)
    (settings.corpus_dir / "x.txt").write_text("Ganz neuer Text. " * 1000)
    with pytest.raises(RuntimeError):
        ingest(settings, embedder=ExplodingEmbedder())
    assert current_version(settings.index_dir) == version
    assert len(load_index(settings.index_dir).chunks) == len(good.chunks)
    assert not list(settings.index_dir.glob(".tmp-*"))


def test_a_corpus_of_only_bad_files_changes_nothing(settings: Settings, tmp_path: Path) -> None:
    ingest(settings, embedder=FakeEmbedder())
    version = current_version(settings.index_dir)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.txt").write_bytes(b"")
    with pytest.raises(QAError, match="no readable articles.*empty file"):
        ingest(settings, [bad], embedder=FakeEmbedder())
    assert current_version(settings.index_dir) == version


def test_manifest_records_settings_and_hashes(settings: Settings) -> None:
    ingest(settings, embedder=FakeEmbedder())
    version = current_version(settings.index_dir)
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["config"]["embed_model"] == "fake-embedder"
    assert manifest["config"]["chunk_words"] == settings.chunk_words
    assert manifest["dim"] == 256
    doc = manifest["documents"]["000_77272ddfe1add5f4.txt"]
    assert len(doc["sha256"]) == 64 and doc["chunks"] > 0


def test_old_versions_are_pruned(settings: Settings) -> None:
    emb = FakeEmbedder()
    for i in range(4):
        (settings.corpus_dir / "extra.txt").write_text(f"Version {i} eines kleinen Artikels hier.")
        update_index(settings.index_dir, __import__("qa.corpus").corpus.load_corpus(
            [settings.corpus_dir]).documents, emb, IndexConfig.from_settings(settings))
    versions = [p for p in settings.index_dir.iterdir() if p.name.startswith("v-")]
    assert len(versions) <= 2
    assert os.path.basename(current_version(settings.index_dir)) in {p.name for p in versions}


def test_crash_while_writing_leaves_the_old_index_intact(settings: Settings,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(settings, embedder=FakeEmbedder())
    version = current_version(settings.index_dir)
    (settings.corpus_dir / "x.txt").write_text("Ganz neuer Text über Rechenzentren.")

    def boom(self, directory):  # noqa: ANN001, ANN202
        (directory / "dense.faiss").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr("qa.stores.vectors.VectorIndex.save", boom)
    with pytest.raises(OSError, match="disk full"):
        ingest(settings, embedder=FakeEmbedder())
    assert current_version(settings.index_dir) == version
    assert not list(settings.index_dir.glob(".tmp-*"))
    monkeypatch.undo()
    assert "x.txt" not in {d.source for d in load_index(settings.index_dir).documents}


def test_an_english_corpus_is_stemmed_in_english(tmp_path: Path) -> None:
    corpus = tmp_path / "readmes"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Curl\n\nThe tool transfers data with URLs. It supports "
                                 "many protocols and is used by the installers.", encoding="utf-8")
    (corpus / "b.md").write_text("# Git\n\nGit is a version control system; it tracks the "
                                 "changes of files.", encoding="utf-8")
    s = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embed_model="fake-embedder",
                 cache_dir=tmp_path / "cache")
    ingest(s, embedder=FakeEmbedder())
    index = load_index(s.index_dir)
    assert index.lexical.language == "english"
    # English stems: "installer" finds "installers", "tracking" finds "tracks"
    assert index.lexical.search("installer", 2)[0][0] == 0
    assert index.chunks[index.lexical.search("tracking changes", 2)[0][0]].source == "b.md"
