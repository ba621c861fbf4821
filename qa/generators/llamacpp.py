"""The local generator: a GGUF model run by llama-cpp-python on the CPU.

The model's own chat template applies; it is loaded on first use. Greedy decoding on a fresh
context for every question makes answers reproducible.

It also implements ``StartProbing``: ``start_probability`` evaluates the prompt and reads the
first token's distribution; a ``stream`` of the same prompt right after it continues from that
evaluation (so the probe costs nothing but the arithmetic), and ``avoid_starts`` bans the tokens
a given string can begin with, for the first token only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from qa.errors import ModelError
from qa.generators import Message

log = logging.getLogger(__name__)

# While llama-cpp-python loads a model with verbose=False, it points file descriptors 1 and 2 at
# /dev/null (its suppress_stdout_stderr), so whatever another thread prints meanwhile is lost
# (qa serve's address line, printed while the warm-up thread loads the model). Loads hold this
# lock; a line that must not be lost is printed under it (``say``).
STDIO_LOCK = threading.Lock()


def say(line: str) -> None:
    """Print ``line`` to stdout, never while a model load has silenced it."""
    with STDIO_LOCK:
        print(line, flush=True)


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
        self._format: Any = None  # the GGUF's chat template (a Jinja2ChatFormatter)
        self._probed: list[int] | None = None  # the prompt the context holds, evaluated fresh
        self._system_tokens: list[int] | None = None  # the system part at the context's start
        self._start_tokens: dict[str, tuple[frozenset[int], frozenset[int]]] = {}
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
                with STDIO_LOCK:
                    self._llm = Llama(model_path=str(path), n_ctx=self.context_tokens,
                                      n_threads=self.threads, n_threads_batch=self.threads,
                                      n_batch=512, seed=self.seed, verbose=False)
            except (ValueError, RuntimeError) as e:
                raise ModelError(f"cannot load {path}: {e}") from e
            log.info("loaded %s with %d threads", path.name, self.threads)
        return self._llm

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _prompt(self, messages: Sequence[Message]) -> tuple[list[int], list[str]]:
        """The prompt's tokens under the model's own chat template, and its stop strings (what
        ``create_chat_completion`` would build)."""
        llm = self.llm
        if self._format is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "replace")
            self._format = Jinja2ChatFormatter(
                template=llm.metadata["tokenizer.chat_template"], eos_token=eos, bos_token="",
                stop_token_ids=[llm.token_eos()])
        r = self._format(messages=list(messages))
        stop = [r.stop] if isinstance(r.stop, str) else list(r.stop or [])
        return llm.tokenize(r.prompt.encode("utf-8"), add_bos=True, special=True), stop

    def _system_part(self, messages: Sequence[Message], tokens: list[int]) -> int:
        """How many leading tokens of ``tokens`` belong to the system message and the template
        around it: the tokens this prompt shares with the same messages whose last (user)
        message is replaced, less one at the seam."""
        if len(messages) < 2 or messages[0].get("role") != "system":
            return 0
        other = self._prompt([*messages[:-1], {**messages[-1], "content": "x"}])[0]
        n = 0
        for a, b in zip(tokens, other, strict=False):
            if a != b:
                break
            n += 1
        return max(0, n - 1)

    def _evaluate(self, messages: Sequence[Message], tokens: list[int]) -> None:
        """Evaluate the prompt, keeping the system part in the context from one question to the
        next: it is evaluated as a batch of its own, so its cache is the same whichever question
        came before, and so is every answer (greedy output depends on how the prompt was split
        into batches). Saves the system part's share of the prompt (~85 of ~450 tokens)."""
        llm = self.llm
        n = self._system_part(messages, tokens)
        kept = self._system_tokens
        if n and kept == tokens[:n] and llm.n_tokens >= n:
            llm.n_tokens = n  # ``eval`` drops the cache beyond this position
        else:
            llm.reset()
            self._system_tokens = None
            if n:
                llm.eval(tokens[:n])
                self._system_tokens = tokens[:n]
        llm.eval(tokens[n:])

    def _tokens_starting(self, start: str) -> tuple[frozenset[int], frozenset[int]]:
        """(every token a reply beginning with ``start`` can begin with; those of them that are
        at least three characters long, which make that beginning nearly certain: "N" also
        begins "Nvidia", "NIC" only the marker)."""
        if start not in self._start_tokens:
            llm, every, sure = self.llm, set(), set()
            for space in ("", " "):
                for i in range(1, len(start) + 1):
                    ids = llm.tokenize((space + start[:i]).encode("utf-8"), add_bos=False)
                    if len(ids) == 1:
                        every.add(ids[0])
                        if i >= 3:
                            sure.add(ids[0])
            self._start_tokens[start] = (frozenset(every), frozenset(sure))
        return self._start_tokens[start]

    def start_probability(self, messages: Sequence[Message], starts: Sequence[str]) -> float:
        """The probability that the reply's first token begins one of ``starts`` (tokens of
        three characters or more; see ``_tokens_starting``). Leaves the prompt evaluated, so a
        ``stream`` of the same messages that follows does not evaluate it again."""
        logp = self._first_token_logp(messages)
        return _mass(logp, set().union(*(self._tokens_starting(s)[1] for s in starts)))

    def start_probabilities(self, messages: Sequence[Message],
                            groups: Sequence[Sequence[str]]) -> list[float]:
        """For each group of strings, the probability that the reply's first token begins one
        of them (every token such a reply can begin with, short ones included: "No" is two
        characters), from one evaluation of the prompt: ``[p(yes...), p(no...)]`` for a yes/no
        question (``qa.grounding``)."""
        logp = self._first_token_logp(messages)
        return [_mass(logp, set().union(*(self._tokens_starting(s)[0] for s in group)))
                for group in groups]

    def _first_token_logp(self, messages: Sequence[Message]) -> Any:
        """Evaluate the prompt (kept for a ``stream`` that follows) and return the log
        probabilities of the reply's first token."""
        import numpy as np

        with self._lock:
            llm = self.llm
            tokens, _ = self._prompt(messages)
            self._check_fits(len(tokens))
            self._evaluate(messages, tokens)
            self._probed = tokens
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
            return logits - np.logaddexp.reduce(logits)

    def _check_fits(self, n_prompt: int) -> None:
        if n_prompt >= self.context_tokens:
            raise _overflow(f"{n_prompt} tokens, at most {self.context_tokens}")

    def stream(self, messages: Sequence[Message], max_tokens: int = 256,
               temperature: float = 0.0, avoid_starts: Sequence[str] = ()) -> Iterator[str]:
        with self._lock:
            llm = self.llm
            tokens, stop = self._prompt(messages)
            self._check_fits(len(tokens))
            # the prompt evaluated by ``start_probability`` just now is continued; any other is
            # evaluated here, reusing only the system part (see ``_evaluate``)
            if self._probed != tokens:
                self._evaluate(messages, tokens)
            self._probed = None
            bias = {t: -1e9 for s in avoid_starts for t in self._tokens_starting(s)[0]}
            first = [True]

            def first_token_only(_ids, logits):  # noqa: ANN001, ANN202 - llama.cpp's signature
                if first[0]:
                    first[0] = False
                    for t, b in bias.items():
                        logits[t] += b
                return logits

            try:
                out = llm.create_completion(
                    prompt=tokens, max_tokens=max_tokens, temperature=temperature, top_p=1.0,
                    top_k=1 if temperature == 0 else 40, repeat_penalty=1.05, stop=stop,
                    stream=True, logits_processor=[first_token_only] if bias else None)
                for part in out:
                    text = part["choices"][0].get("text")
                    if text:
                        yield text
            except ValueError as e:  # llama.cpp: "Requested tokens (N) exceed context window of M"
                if "context window" not in str(e):
                    raise
                raise _overflow(str(e)) from e


def _mass(logp: Any, ids: set[int]) -> float:
    """The probability of any of the token ``ids`` under the log probabilities ``logp``."""
    import numpy as np

    return float(np.exp(np.logaddexp.reduce(logp[sorted(ids)]))) if ids else 0.0


def _overflow(detail: str) -> ModelError:
    return ModelError(f"the prompt does not fit the model's context window ({detail}); "
                      "raise context_tokens or lower prompt_budget_tokens")


def make_local_generator(settings) -> LocalGenerator:  # noqa: ANN001 - Settings
    """The embedded llama.cpp model described by ``settings`` (registry name ``local``)."""
    return LocalGenerator(settings.llm, settings.cache_dir, settings.threads,
                          settings.context_tokens)
