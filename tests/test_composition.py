"""``qa.composition`` builds the parts; ``qa.ingest.pipeline`` ingests; ``qa.assistant`` keeps
re-exports of both for one release, and a patch on ``qa.composition`` reaches every caller."""

from __future__ import annotations

import re
from pathlib import Path

from qa import composition
from qa.assistant import Assistant
from qa.config import Settings
from qa.ingest import pipeline
from qa.testing import FakeEmbedder, FakeGenerator

ROOT = Path(__file__).resolve().parent.parent
MOVED = {"make_embedder": composition, "make_store": composition, "open_index": composition,
         "make_retriever": composition, "make_generator": composition,
         "ingest": pipeline, "ocr_note": pipeline}


def test_the_old_import_path_still_gives_the_moved_names() -> None:
    import qa
    import qa.assistant

    for name, home in MOVED.items():
        assert getattr(qa.assistant, name) is getattr(home, name), name
    assert qa.ingest is pipeline.ingest  # the package's public ``ingest`` is the pipeline's


def test_nothing_in_qa_imports_a_moved_name_from_the_assistant() -> None:
    pattern = re.compile(r"from qa\.assistant import ([^\n]+)|qa\.assistant\.(\w+)")
    offenders = []
    for path in [*sorted((ROOT / "qa").rglob("*.py")), ROOT / "ui.py"]:
        for m in pattern.finditer(path.read_text(encoding="utf-8")):
            names = {n.strip(" ()") for n in (m.group(1) or m.group(2)).split(",")}
            if names & set(MOVED):
                offenders.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert offenders == []


def test_a_patch_on_composition_reaches_assistant_load_and_ingest(
        settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    built: list[str] = []
    generator = FakeGenerator()

    def embedder(s: Settings) -> FakeEmbedder:
        built.append("embedder")
        return FakeEmbedder()

    def make_generator(s: Settings, backend: str | None = None) -> FakeGenerator:
        built.append(f"generator {backend}")
        return generator

    monkeypatch.setattr("qa.composition.make_embedder", embedder)
    monkeypatch.setattr("qa.composition.make_generator", make_generator)
    report, skipped = pipeline.ingest(settings)  # no embedder given: the patched factory's
    assert built == ["embedder"] and len(report.added) == 5 and skipped == []

    assistant = Assistant.load(settings)
    assert built == ["embedder", "embedder", "generator None"]
    assert assistant.generator is generator and isinstance(assistant.embedder, FakeEmbedder)
    generator.enqueue("Antwort [1].")
    assistant.ask("Wie viel investiert Alibaba?")
    assert len(generator.history) >= 1  # the fake wrote the answer, not a real model


def test_fake_models_fixture_is_what_the_cli_builds(fake_models: FakeGenerator,
                                                    settings: Settings) -> None:
    from qa.cli import main

    fake_models.enqueue("Alibaba investiert [1].")
    rc = main(["ask", "Wie viel investiert Alibaba?", "--corpus-dir", str(settings.corpus_dir),
               "--index-dir", str(settings.index_dir), "--embed-model", "fake-embedder"])
    assert rc == 0
    assert fake_models.history, "the CLI answered with a real model instead of the fake"
