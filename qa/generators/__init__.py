"""Who writes the answer: the ``Generator`` protocol, and its backends in this package.

A generator turns chat messages into a stream of text pieces; that is the whole seam, so the
assistant does not know which backend answers. ``llamacpp``: a GGUF model run in process (the
embedded default); ``openai``: any OpenAI-compatible chat endpoint. ``qa.registry`` names them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, TypedDict, runtime_checkable


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


class Generator(Protocol):
    """Streams the reply to ``messages`` as text pieces."""

    name: str

    def stream(self, messages: Sequence[Message], max_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]: ...


@runtime_checkable
class StartProbing(Protocol):
    """A generator that can say how likely its reply is to begin with given strings, and can be
    told not to begin with them (the local model: it sees its own token probabilities). The
    assistant uses it to abstain from the model's uncertainty instead of its greedy first word."""

    def start_probability(self, messages: Sequence[Message], starts: Sequence[str]) -> float: ...

    def start_probabilities(self, messages: Sequence[Message],
                            groups: Sequence[Sequence[str]]) -> list[float]: ...

    def stream(self, messages: Sequence[Message], max_tokens: int = 256,
               temperature: float = 0.0, avoid_starts: Sequence[str] = ()) -> Iterator[str]: ...


def generate(generator: Generator, messages: Sequence[Message], max_tokens: int = 256,
             temperature: float = 0.0) -> str:
    """The whole reply as one string."""
    return "".join(generator.stream(messages, max_tokens=max_tokens, temperature=temperature))



def __getattr__(name: str) -> object:  # the local generator, without importing it eagerly
    if name in ("LocalGenerator", "make_local_generator"):
        from qa.generators import llamacpp

        return getattr(llamacpp, name)
    raise AttributeError(f"module 'qa.generators' has no attribute {name!r}")
