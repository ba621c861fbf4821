"""The local generator: a GGUF model run by llama-cpp-python on the CPU.

The model's own chat template applies; it is loaded on first use. Greedy decoding on a fresh
context for every question makes answers reproducible.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from qa.errors import ModelError
from qa.generators import Message

log = logging.getLogger(__name__)


class LocalGenerator:
    """A GGUF model run by llama-cpp-python on the CPU."""

    def __init__(self, model: str = "qwen2.5-coder-1.5b", cache_dir: Path | None = None,
                 threads: int = 2, context_tokens: int = 2048, seed: int = 0) -> None:
        self.name = model
        self.cache_dir = cache_dir or Path.home() / ".cache" / "qa"
        self.threads = threads
        self.context_tokens = context_tokens
        self.seed = seed
        self._llm = None
        self._lock = threading.Lock()  # one llama context: one generation at a time
        self._load_lock = threading.Lock()  # two tabs asking at start-up load the model once

    @property
    def llm(self):  # noqa: ANN201 - llama_cpp.Llama, imported lazily
        with self._load_lock:
            return self._load()

    def _load(self):  # noqa: ANN202
        if self._llm is None:
            from qa.models import ensure_gguf

            path = ensure_gguf(self.name, self.cache_dir)
            try:
                from llama_cpp import Llama
            except ImportError as e:
                raise ModelError("llama-cpp-python is missing: pip install "
                                 "'llama-cpp-python[server]==0.3.36'") from e
            try:
                self._llm = Llama(model_path=str(path), n_ctx=self.context_tokens,
                                  n_threads=self.threads, n_threads_batch=self.threads,
                                  n_batch=512, seed=self.seed, verbose=False)
            except (ValueError, RuntimeError) as e:
                raise ModelError(f"cannot load {path}: {e}") from e
            log.info("loaded %s with %d threads", path.name, self.threads)
        return self._llm

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: Sequence[Message], max_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        with self._lock:
            # Evaluate every prompt from scratch: reusing the previous prompt's KV cache saves
            # ~0.3 s but makes greedy output depend on the question asked before (batch splits
            # change the float sums), and the same question must get the same answer.
            self.llm.reset()
            try:
                out = self.llm.create_chat_completion(
                    messages=list(messages), max_tokens=max_tokens, temperature=temperature,
                    top_p=1.0, top_k=1 if temperature == 0 else 40, repeat_penalty=1.05,
                    stream=True)
                for part in out:
                    delta = part["choices"][0].get("delta", {})
                    text = delta.get("content")
                    if text:
                        yield text
            except ValueError as e:  # llama.cpp: "Requested tokens (N) exceed context window of M"
                if "context window" not in str(e):
                    raise
                raise ModelError(f"the prompt does not fit the model's context window ({e}); "
                                 "raise context_tokens or lower prompt_budget_tokens") from e


def make_local_generator(settings) -> LocalGenerator:  # noqa: ANN001 - Settings
    """The embedded llama.cpp model described by ``settings`` (registry name ``local``)."""
    return LocalGenerator(settings.llm, settings.cache_dir, settings.threads,
                          settings.context_tokens)
