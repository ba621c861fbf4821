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
