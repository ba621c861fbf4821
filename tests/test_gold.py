"""The gold set is honest: it parses, meets its quotas, and its spans and facts are real."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from qa.corpus import load_corpus
from qa.metrics import fact_present

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "eval" / "gold.jsonl"
KINDS = {"fact", "number", "list", "multi_doc", "conflict", "unanswerable"}
KEYS = {"id", "question", "language", "kind", "answerable", "reference", "facts", "evidence",
        "multi_part", "split"}


def _items() -> list[dict]:
    lines = [ln for ln in GOLD.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return [json.loads(ln) for ln in lines]


ITEMS = _items()
ANSWERABLE = [it for it in ITEMS if it["answerable"]]


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {d.source: d.text for d in load_corpus([ROOT / "data" / "articles"]).documents}


def test_every_line_parses_with_the_schema():
    for it in ITEMS:
        assert set(it) == KEYS, it.get("id")
        assert it["language"] in {"de", "en"}
        assert it["kind"] in KINDS
        assert isinstance(it["question"], str) and it["question"].strip().endswith("?")
        assert it["answerable"] is (it["kind"] != "unanswerable")
        for fact in it["facts"]:
            assert isinstance(fact, list) and fact and all(isinstance(v, str) and v for v in fact)


def test_ids_are_unique():
    ids = [it["id"] for it in ITEMS]
    assert len(ids) == len(set(ids))


def test_counts_meet_minimums():
    lang = Counter(it["language"] for it in ITEMS)
    kind = Counter(it["kind"] for it in ITEMS)
    assert len(ITEMS) >= 85
    assert lang["en"] >= 30 and lang["de"] >= 45
    assert kind["unanswerable"] >= 18
    for k in KINDS:
        assert kind[k] >= 5, k


def test_unanswerable_items_are_empty():
    for it in ITEMS:
        if not it["answerable"]:
            assert it["facts"] == [] and it["evidence"] == [] and it["reference"] == "", it["id"]


def test_answerable_items_have_reference_facts_and_evidence():
    for it in ANSWERABLE:
        assert it["reference"].strip() and it["facts"] and it["evidence"], it["id"]


def test_multi_doc_items_cite_two_articles():
    for it in ITEMS:
        if it["kind"] == "multi_doc":
            assert len({e["file"] for e in it["evidence"]}) >= 2, it["id"]


@pytest.mark.parametrize("item", ANSWERABLE, ids=[it["id"] for it in ANSWERABLE])
def test_evidence_spans_match_the_cleaned_text(item, texts):
    for ev in item["evidence"]:
        assert ev["file"] in texts, ev["file"]
        text = texts[ev["file"]]
        assert 0 <= ev["start"] < ev["end"] <= len(text)
        assert text[ev["start"]:ev["end"]] == ev["quote"]


@pytest.mark.parametrize("item", ANSWERABLE, ids=[it["id"] for it in ANSWERABLE])
def test_every_fact_is_in_its_evidence(item, texts):
    spans = [texts[e["file"]][e["start"]:e["end"]] for e in item["evidence"]]
    for fact in item["facts"]:
        assert any(fact_present(s, fact) for s in spans), (item["id"], fact)


@pytest.mark.parametrize("item", ANSWERABLE, ids=[it["id"] for it in ANSWERABLE])
def test_reference_answer_contains_every_fact(item):
    for fact in item["facts"]:
        assert fact_present(item["reference"], fact), (item["id"], fact)


def test_gold_file_is_what_the_builder_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_gold", ROOT / "eval" / "build_gold.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.render(mod.build()) == GOLD.read_text(encoding="utf-8")
