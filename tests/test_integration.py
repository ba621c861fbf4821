"""The real thing: the bundled embedder and the default local LLM on questions about the corpus.

Slow (model load and a few answers of ~10 s each on 2 cores); CI runs it on every submission.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qa import Assistant, Settings
from qa.metrics import fact_present

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    from tests.conftest import ARTICLES

    tmp = tmp_path_factory.mktemp("real")
    settings = Settings.load(corpus_dir=ARTICLES, index_dir=tmp / "index")
    return Assistant.load(settings)  # builds the index with the real embedder


@pytest.mark.parametrize(("question", "facts", "source"), [
    ("Wie viel Geld will Alibaba über drei Jahre in KI-Infrastruktur stecken?",
     [["53", "380"]], {"000_77272ddfe1add5f4.txt", "003_657e718bdc7988b9.txt"}),
    ("Welchen Anteil am chinesischen KI-Cloud-Markt hat Alibaba?",
     [["35,8", "35.8"]], {"004_5d3a0130056c44c1.txt"}),
    ("How many parameters does Qwen3-Max have?",
     [["Billion", "trillion", "1 trillion", "one trillion"]],
     {"002_f183b677dbf21510.txt", "003_657e718bdc7988b9.txt"}),
    ("In which countries will Alibaba open new data centres first?",
     [["Brasilien", "Brazil"], ["Frankreich", "France"], ["Niederlande", "Netherlands"]],
     {"000_77272ddfe1add5f4.txt", "002_f183b677dbf21510.txt", "003_657e718bdc7988b9.txt"}),
])
def test_answers_hold_the_fact_and_cite_the_article(assistant: Assistant, question: str,
                                                    facts: list[list[str]], source: set[str]) -> None:
    a = assistant.ask(question)
    assert not a.abstained, a.text
    for variants in facts:
        assert fact_present(a.text, variants), (question, a.text)
    assert set(a.sources) & source, (a.text, a.sources)
    doc = assistant.index.document(a.citations[0].source)
    assert doc is not None and doc.text[a.citations[0].start:a.citations[0].end] == a.citations[0].quote


def test_english_question_gets_an_english_answer(assistant: Assistant) -> None:
    a = assistant.ask("What share of China's AI cloud market does Alibaba hold?")
    assert a.language == "en"
    assert fact_present(a.text, ["35.8", "35,8"]), a.text


def test_unanswerable_question_abstains(assistant: Assistant) -> None:
    a = assistant.ask("Wie heißt der Finanzvorstand (CFO) von Alibaba?")
    assert a.abstained, a.text
    assert a.text == "Dazu steht in den Artikeln nichts." and not a.citations


def test_stream_yields_tokens_incrementally(assistant: Assistant) -> None:
    pieces = list(assistant.stream("Mit welchem US-Konzern ist Alibaba eine Partnerschaft eingegangen?"))
    assert len(pieces) > 3
    assert "Nvidia" in "".join(pieces)


def test_cli_ask_json(assistant: Assistant) -> None:
    s = assistant.settings
    out = subprocess.run(
        [sys.executable, "-m", "qa.cli", "ask", "--json", "--index-dir", str(s.index_dir),
         "--corpus-dir", str(s.corpus_dir), "Wie stark wuchs das Cloud-Geschäft im jüngsten Quartal?"],
        capture_output=True, text=True, timeout=600, check=True)
    d = json.loads(out.stdout)
    assert set(d) >= {"id", "question", "answer", "abstained", "sources", "citations", "timings",
                      "model"}
    assert d["model"] == "qwen2.5-coder-1.5b" and "26" in d["answer"]


def test_cli_batch_answer(assistant: Assistant, tmp_path: Path) -> None:
    q = tmp_path / "q.jsonl"
    q.write_text('{"id": "a", "question": "Wer ist CEO von Alibaba?"}\n'
                 '{"id": "b", "question": ""}\n', encoding="utf-8")
    out = tmp_path / "a.jsonl"
    s = assistant.settings
    subprocess.run([sys.executable, "-m", "qa.cli", "answer", "--questions", str(q), "--out",
                    str(out), "--index-dir", str(s.index_dir), "--corpus-dir", str(s.corpus_dir)],
                   capture_output=True, text=True, timeout=600, check=True)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"]
    assert "Wu" in rows[0]["answer"] and "empty" in rows[1]["error"]
