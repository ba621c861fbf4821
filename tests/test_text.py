"""qa.text is the one copy of words, stop words and terms: every part uses it, and an index
records which rules its term counts were made with."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

import qa
from qa import text
from qa.stores.base import IndexConfig, config_mismatch

QA_DIR = Path(qa.__file__).parent


def test_no_module_keeps_its_own_copy_of_the_word_rules() -> None:
    own = []
    for path in QA_DIR.rglob("*.py"):
        if path.name == "text.py":
            continue
        src = path.read_text(encoding="utf-8")
        if re.search(r"^_?STOP_WORDS\w* = ", src, re.M) or re.search(
                r"^_(?:DE|EN) = frozenset", src, re.M) or "def detect_language" in src:
            own.append(path.name)
    assert own == []


def test_the_index_config_records_the_text_rules() -> None:
    cfg = IndexConfig("m", "q: ", "p: ", 100, 1)
    assert cfg.text_version == text.TEXT_VERSION and len(text.TEXT_VERSION) == 12
    old = {**asdict(cfg), "text_version": "000000000000"}
    err = config_mismatch(old, cfg, "index/")
    assert err is not None and "text_version" in str(err) and "qa ingest --rebuild" in str(err)


def test_terms_and_match_terms_agree_on_ordinary_words() -> None:
    sentence = "Alibaba baut 2025 zwei Rechenzentren in Südkorea für 1,5 Milliarden"
    assert text.terms(sentence) == text.match_terms(sentence)
    assert {"1.5", "2025", "aliba", "reche", "südko", "milli"} <= text.terms(sentence)
    assert text.detect_language(sentence) == "de"
