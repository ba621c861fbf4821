"""The generator contract (``qa.testing.GeneratorContract``) for the fake and for the real
llama.cpp generator with the smallest bundled model (the hosted one runs it in
``test_hosted_server.py`` against a real server)."""

from __future__ import annotations

import pytest

from qa.testing import FakeGenerator, GeneratorContract


class TestFakeGenerator(GeneratorContract):
    @pytest.fixture
    def generator(self) -> FakeGenerator:
        return FakeGenerator()


@pytest.mark.integration
class TestLocalGenerator(GeneratorContract):
    @pytest.fixture(scope="class")
    def generator(self):  # noqa: ANN201 - LocalGenerator
        from qa.generators.llamacpp import LocalGenerator

        return LocalGenerator("smollm2-135m", threads=2, context_tokens=512)
