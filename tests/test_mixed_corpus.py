"""``eval/make_mixed_corpus.py``: docs-de's pages in other formats read back by qa's readers
with their text intact, and scans without a text layer; no models, no OCR."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from qa.corpus import load_corpus

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "eval" / "corpora" / "docs-de"


@pytest.fixture(scope="module")
def mixed() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_mixed_corpus",
                                                  ROOT / "eval" / "make_mixed_corpus.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_mixed_corpus"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def converted(mixed: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every converted web page (not the scans: OCR is the integration tier's) as qa reads it,
    by its original file name."""
    out = tmp_path_factory.mktemp("mixed")
    names = {}
    for src in sorted((SOURCE / "docs").glob("*.html")):
        name, data = mixed.convert(src)
        (out / name).write_bytes(data)
        names[name] = src.name
    return {names[d.source]: d.text for d in load_corpus([out]).documents}


def _quotes() -> dict[str, list[str]]:
    """The gold quotes per file that qa finds in docs-de's own extracted text."""
    by_file: dict[str, list[str]] = {}
    for line in (SOURCE / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        for ev in json.loads(line).get("evidence") or []:
            if ev["start"] >= 0:
                by_file.setdefault(ev["file"], []).append(ev["quote"])
    return by_file


def test_every_format_is_used_and_every_stem_kept(mixed: ModuleType) -> None:
    formats = set(mixed.FORMATS.values())
    assert {"docx", "odt", "epub", "rtf", "scan.pdf"} <= formats
    stems = {p.stem for p in (SOURCE / "docs").iterdir()}
    assert set(mixed.FORMATS) <= stems
    docx = sum(f == "docx" for f in mixed.FORMATS.values())
    assert docx * 3 >= 12 - 1  # about a third of the 12 web pages


def test_converted_pages_are_read_by_qa_with_every_gold_quote(
        mixed: ModuleType, converted: dict[str, str]) -> None:
    locate = _build_gold().locate
    html = sorted(p.name for p in (SOURCE / "docs").glob("*.html"))
    assert sorted(converted) == html  # every page was read, none skipped
    missing = [(f, q[:50]) for f, quotes in _quotes().items() if f in converted
               for q in quotes if locate(converted[f], q)[2] == 0]
    assert missing == []


def test_conversion_is_deterministic(mixed: ModuleType) -> None:
    """Byte for byte, also across a second boundary (zip and book dates are fixed)."""
    import time

    sources = [SOURCE / "docs" / f"{stem}.html" for stem in (
        "01_debian-faq-definitionen", "02_debian-faq-installieren",
        "05_debian-faq-unterstuetzung", "06_debian-faq-beitragen")]
    first = [mixed.convert(src) for src in sources]
    time.sleep(1.1)
    assert [mixed.convert(src) for src in sources] == first


def test_a_scan_has_the_pages_and_no_text_layer(mixed: ModuleType) -> None:
    from pypdf import PdfReader

    src = SOURCE / "docs" / "14_uhrzeit.pdf"
    name, data = mixed.convert(src)
    assert name == src.name and data == mixed.convert(src)[1]
    original, scan = PdfReader(src), PdfReader(io.BytesIO(data))
    assert len(scan.pages) == len(original.pages) == 3
    assert all(not (p.extract_text() or "").strip() for p in scan.pages)
    assert any((p.extract_text() or "").strip() for p in original.pages)


def test_gold_is_relocated_by_file_and_span(mixed: ModuleType) -> None:
    gold = [{"id": "x", "evidence": [{"file": "a.html", "start": 0, "end": 3,
                                      "quote": "Zwei Wörter."}]}]
    out = mixed.relocate_gold(gold, {"a.html": "a.docx"}, {"a.docx": "Vorne. Zwei  Wörter."})
    assert out[0]["evidence"][0] == {"file": "a.docx", "start": 7, "end": 20,
                                     "quote": "Zwei Wörter."}
    assert gold[0]["evidence"][0]["file"] == "a.html"  # the input is not changed
    ligature = [{"id": "y", "evidence": [{"file": "s.pdf", "start": 0, "end": 1,
                                          "quote": "veröﬀentlicht"}]}]
    out = mixed.relocate_gold(ligature, {}, {"s.pdf": "am 4. veröffentlicht"})
    assert (out[0]["evidence"][0]["start"], out[0]["evidence"][0]["end"]) == (6, 20)


def _build_gold() -> ModuleType:
    return sys.modules.get("build_gold") or __import__("build_gold")
