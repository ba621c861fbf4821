"""The generator contract (``qa.testing.GeneratorContract``) for the fake and for the real
llama.cpp generator with the smallest bundled model (the hosted one runs it in
``test_hosted_server.py`` against a real server)."""

from __future__ import annotations

import pytest

from qa.testing import (
    FakeGenerator,
    FakeProbingGenerator,
    GeneratorContract,
    StartProbingContract,
)


class TestFakeGenerator(GeneratorContract):
    @pytest.fixture
    def generator(self) -> FakeGenerator:
        return FakeGenerator()


class TestFakeProbingGenerator(GeneratorContract):
    @pytest.fixture
    def generator(self) -> FakeProbingGenerator:
        return FakeProbingGenerator()


@pytest.mark.integration
class TestLocalGenerator(StartProbingContract):
    @pytest.fixture(scope="class")
    def generator(self):  # noqa: ANN201 - LocalGenerator
        from qa.generators.llamacpp import LocalGenerator

        return LocalGenerator("smollm2-135m", threads=2, context_tokens=512)

    def test_start_probabilities_of_disjoint_groups_from_one_evaluation(self, generator) -> None:
        """The support check's yes/no read (``qa.grounding``): each group a probability, the
        groups together at most 1, and the reply after the probe the same as without it."""
        from qa.grounding import NO, YES, check_messages
        from qa.testing import passage

        messages = check_messages("Wer leitet Alibaba?", "Eddie Wu leitet Alibaba [1].",
                                  [passage(1, "CEO Eddie Wu leitet Alibaba seit 2023.")])
        plain = "".join(generator.stream(messages, max_tokens=4, temperature=0.0))
        p_yes, p_no = generator.start_probabilities(messages, [YES, NO])
        assert 0.0 <= p_yes <= 1.0 and 0.0 <= p_no <= 1.0 and p_yes + p_no <= 1.0 + 1e-6
        assert p_yes + p_no > 0.0  # a yes/no question: the model's first token is one of them
        assert "".join(generator.stream(messages, max_tokens=4, temperature=0.0)) == plain
