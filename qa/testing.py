"""Deterministic fakes shipped with the library, for tests of code that uses qa.

``FakeEmbedder`` hashes words and character trigrams into a vector, so texts that share words are
close and ranking can be tested; ``FakeGenerator`` replays queued replies (or echoes the first
passage) and records every prompt it saw.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from qa.embedders import Kind
from qa.generators import Message


class FakeEmbedder:
    """Bag of hashed words + trigrams, L2-normalised. Same text, same vector; shared words, close."""

    def __init__(self, dim: int = 256, name: str = "fake-embedder") -> None:
        self.dim = dim
        self.name = name
        self.calls: list[tuple[Kind, int]] = []

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        words = re.findall(r"\w+", text.lower())
        feats = words + [w[i:i + 3] for w in words for i in range(max(1, len(w) - 2))]
        for f in feats:
            h = int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        self.calls.append((kind, len(texts)))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])


@dataclass
class FakeGenerator:
    """Replays ``enqueue``d replies token by token; with none queued, answers from the prompt:
    it quotes the first sentence of passage [1] with a [1] marker."""

    name: str = "fake-generator"
    replies: list[str] = field(default_factory=list)
    history: list[list[Message]] = field(default_factory=list)

    def enqueue(self, *replies: str) -> None:
        self.replies.extend(replies)

    def stream(self, messages: Sequence[Message], max_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        self.history.append(list(messages))
        if self.replies:
            reply = self.replies.pop(0)
        else:
            prompt = messages[-1]["content"]
            m = re.search(r"^\[1\] ([^\n]+)", prompt, re.M)
            first = re.split(r"(?<=[.!?])\s", m.group(1).strip())[0] if m else "Keine Angabe."
            reply = f"{first} [1]"
        yield from re.findall(r"\S+\s*", reply)
