"""``qa mcp`` as the command runs it, with the fake embedder and generator instead of the real
models (``python tests/mcp_fake_server.py --corpus-dir ... --index-dir ... --embed-model
fake-embedder``): the stdio tests' server process. A queued reply comes from ``QA_FAKE_REPLY``."""

from __future__ import annotations

import os
import sys

import qa.composition
from qa.cli import main
from qa.testing import FakeEmbedder, FakeGenerator


def _generator(settings: object, backend: object = None) -> FakeGenerator:
    gen = FakeGenerator()
    if os.environ.get("QA_FAKE_REPLY"):
        gen.enqueue(os.environ["QA_FAKE_REPLY"])
    return gen


qa.composition.make_embedder = lambda settings: FakeEmbedder()  # type: ignore[assignment]
qa.composition.make_generator = _generator  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(main(["mcp", *sys.argv[1:]]))
