"""The support check (``qa.grounding``) and how the assistant uses it, with fakes; the real
model's yes/no read is in ``tests/test_generator_contract.py``."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from qa.grounding import NO, YES, check_messages, cited_passages, support_probability
from qa.testing import FakeGenerator, FakeProbingGenerator, passage
from qa.types import Citation


@dataclass
class YesNo(FakeProbingGenerator):
    """A probing fake that answers the yes/no question with set probabilities."""

    p_yes: float = 0.0
    p_no: float = 0.0

    def start_probability(self, messages, starts):  # noqa: ANN001, ANN201
        self.probes += 1
        return self.p_yes if tuple(starts) == YES else self.p_no if tuple(starts) == NO else 0.0


def test_the_check_shows_only_the_cited_passages_and_the_reply_without_markers():
    ps = [passage(1, "Das Teleskop steht in Guizhou."), passage(2, "Es kostete 1,2 Mrd.")]
    cite = Citation(2, "a.txt", "a.txt:2", 0, 10, "Es kostete", 1.0)
    shown = cited_passages([cite], ps)
    assert [p.n for p in shown] == [2]
    text = check_messages("Wie teuer?", "Es kostete 1,2 Mrd. [2].", shown)[1]["content"]
    assert "[2] Es kostete 1,2 Mrd." in text and "Guizhou" not in text
    assert "Answer: Es kostete 1,2 Mrd.." in text and "[2]." not in text.split("Answer:")[1]


def test_support_is_yes_against_no_and_none_without_probabilities():
    ps = [passage(1, "x y z")]
    assert support_probability(YesNo(p_yes=0.3, p_no=0.1), "q?", "r", ps) == pytest.approx(0.75)
    assert support_probability(YesNo(p_yes=0.0, p_no=0.0), "q?", "r", ps) is None
    assert support_probability(FakeGenerator(), "q?", "r", ps) is None  # a hosted model
    assert support_probability(YesNo(p_yes=0.5, p_no=0.5), "q?", "r", []) is None


def test_the_assistant_withholds_a_reply_the_passages_do_not_state(fake_assistant):
    gen = YesNo(p_yes=0.05, p_no=0.9)
    gen.enqueue("Alibaba Cloud hält 35,8 Prozent des Marktes [1].")  # a figure the passages hold
    checked = fake_assistant.with_generator(gen)
    checked.settings = checked.settings.replace(verify_threshold=0.5, abstain_threshold=1.0)
    a = checked.ask("Wie hoch ist der Marktanteil von Alibaba Cloud in China?")
    assert a.abstained, a  # number and name check passes; the support check does not
    assert a.abstain_reason.startswith("the passages do not state this answer (p=0.05)")
    assert a.draft and a.support_probability < 0.5
    assert a.closest()  # and the reader is led to the closest passages


def test_a_supported_reply_is_shown_with_its_probability(fake_assistant):
    gen = YesNo(p_yes=0.9, p_no=0.1)
    gen.enqueue("Alibaba Cloud hält 35,8 Prozent des Marktes [1].")
    checked = fake_assistant.with_generator(gen)
    checked.settings = checked.settings.replace(verify_threshold=0.5, abstain_threshold=1.0)
    a = checked.ask("Wie hoch ist der Marktanteil von Alibaba Cloud in China?")
    assert not a.abstained and a.support_probability == pytest.approx(0.9)
    assert a.to_dict()["support_probability"] == pytest.approx(0.9)
