"""The worked examples in the docstrings of the pure modules are tests too."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["qa.cleaning", "qa.evidence", "qa.questions", "qa.answering.prompting", "qa.answering.citations",
           "qa.answering.rules", "qa.chunking",
           "qa.metrics", "qa.indexing", "qa.corpus", "qa.retrieval", "qa.stores.base",
           "qa.stores.bm25", "qa.stores.faiss", "qa.stores.rows", "qa.stores.vectors",
           "qa.watch", "qa.ocr", "qa.telemetry", "qa.text",
           "qa.answering.checks", "qa.feedback", "qa.render", "qa.ui.originals"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result


def test_question_parts_on_gold_like_questions() -> None:
    from qa.questions import question_parts

    assert len(question_parts("Wie viele Parameter hat Qwen3-Max, und welche Konkurrenten soll "
                              "es übertreffen?")) == 2
    assert len(question_parts("How much did Alibaba's revenue grow in the last quarter of 2024, "
                              "and to what total?")) == 2
    assert question_parts("Wer ist der Vorstandschef von Alibaba?") == [
        "Wer ist der Vorstandschef von Alibaba?"]
    assert question_parts("") == [""]
    assert len(question_parts("Brazil, France and the Netherlands: which comes first?")) == 1
