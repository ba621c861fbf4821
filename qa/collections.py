"""Named collections: several corpora, each with its own index, served by one process.

A collection is the global settings with its own overrides, from the settings file::

    [collections.team-a]
    corpus_dir = "data/team-a"
    index_dir = "index-team-a"      # default: <index_dir>-<name>, beside the default index
    language = "en"

The collection ``default`` is the global settings themselves, so a file without collections
means what it always meant. Names are ``[a-z0-9][a-z0-9_-]{0,63}`` (they appear in URLs, the
OpenAI ``model`` and key limits). The model that writes answers is shared by every collection
(one local model in memory), so a collection cannot choose another one: the settings of the
generator, the chat window and the caches are refused in a collection. Two collections on the
same index folder would overwrite each other's index, so they are refused when the settings
are read. On PostgreSQL a collection lives in a schema of its own, derived from its name
(``pg_schema``: ``qa_team_a`` for ``team-a``), so collections in one database do not see each
other; two collections whose schemas meet (``team-a`` and ``team_a``) are refused the same way.
The price: the derived name turns ``-`` into ``_`` and long names into a cut with a hash, so
the schema is not always the collection's name verbatim (``qa collections`` shows it).

Everything here is pure: it turns settings into settings. Loading the assistants is the
edges' work (``Catalog`` below loads them lazily and shares the generator).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.errors import InputError, QAError

if TYPE_CHECKING:
    from qa.assistant import Assistant
    from qa.config import Settings

DEFAULT = "default"
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# shared by every collection: the model (one in memory), who may use the window, caches
SHARED = frozenset({
    "backend", "llm", "threads", "context_tokens", "max_answer_tokens", "temperature",
    "abstain_threshold", "verify_threshold", "openai_base_url", "openai_api_key", "openai_model",
    "openai_timeout_s", "openai_connect_timeout_s", "openai_max_retries", "fallback",
    "ui_users", "ui_users_file", "cache_dir", "collections"})


class UnknownCollection(InputError):
    """A name that is no collection; the message lists the ones there are."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no collection named {name[:80]!r}; collections: {', '.join(known)}")
        self.name = name
        self.known = known


def check_name(name: str) -> str:
    """``name`` when it may name a collection, else ``InputError``.

    >>> check_name("team-a")
    'team-a'
    >>> check_name("Team A")
    Traceback (most recent call last):
    qa.errors.InputError: bad collection name 'Team A': use 1 to 64 of a-z, 0-9, _ and -, starting with a letter or digit
    """
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InputError(f"bad collection name {str(name)[:80]!r}: use 1 to 64 of a-z, 0-9, _ "
                         "and -, starting with a letter or digit")
    return name


def check_table(table: Any, known_fields: set[str]) -> dict[str, dict[str, Any]]:
    """The ``[collections]`` table of a settings file, checked: names, tables, known and not
    shared settings. ``QAError`` names every problem at once.

    >>> check_table({"a": {"corpus_dir": "x"}}, {"corpus_dir", "llm"})
    {'a': {'corpus_dir': 'x'}}
    >>> check_table({"a": {"llm": "x", "colour": 1}}, {"corpus_dir", "llm"})
    Traceback (most recent call last):
    qa.errors.QAError: invalid collections: collections.a: unknown setting(s) colour; collections.a: llm is shared by all collections (set it outside [collections])
    """
    if not isinstance(table, Mapping):
        raise QAError("collections must be a table of [collections.NAME] tables")
    problems: list[str] = []
    out: dict[str, dict[str, Any]] = {}
    for name, values in table.items():
        try:
            check_name(name)
        except InputError as e:
            problems.append(str(e))
            continue
        if name == DEFAULT:
            problems.append("'default' is the global settings: set them outside [collections]")
            continue
        if not isinstance(values, Mapping):
            problems.append(f"collections.{name} must be a table of settings")
            continue
        unknown = sorted(set(values) - known_fields)
        if unknown:
            problems.append(f"collections.{name}: unknown setting(s) {', '.join(unknown)}")
        problems += [f"collections.{name}: {k} is shared by all collections (set it outside "
                     "[collections])" for k in sorted(set(values) & SHARED & known_fields)]
        out[name] = dict(values)
    if problems:
        raise QAError("invalid collections: " + "; ".join(problems))
    return out


def default_index_dir(base: Path, name: str) -> Path:
    """Where a collection's index goes when it names none: beside the default one.

    >>> default_index_dir(Path("index"), "team-a")
    PosixPath('index-team-a')
    """
    return base.with_name(f"{base.name}-{name}")


def pg_schema(prefix: str, name: str) -> str:
    """The PostgreSQL schema of collection ``name``: ``prefix`` (the global ``pg_schema``), ``_``
    and the name with ``-`` as ``_``; a name too long for 41 characters is cut and ends in a
    hash of the whole name. Only a checked name (``check_name``) is turned into a schema, so the
    result is always a plain identifier (``qa.config.PG_SCHEMA_RE``).

    >>> pg_schema("qa", "team-a")
    'qa_team_a'
    >>> pg_schema("qa", "x" * 64)
    'qa_xxxxxxxxxxxxxxxxxxxxxxxxxxxxx_488b40a8'
    >>> pg_schema("qa", 'a"; DROP SCHEMA qa; --')
    Traceback (most recent call last):
    qa.errors.InputError: bad collection name 'a"; DROP SCHEMA qa; --': use 1 to 64 of a-z, 0-9, _ and -, starting with a letter or digit
    """
    schema = f"{prefix}_{check_name(name).replace('-', '_')}"
    if len(schema) > 41:
        digest = hashlib.blake2b(name.encode(), digest_size=4).hexdigest()
        schema = f"{schema[:32]}_{digest}"
    return schema


def names(settings: Settings) -> list[str]:
    """The collections of ``settings``: ``default`` first, the others sorted.

    >>> from qa.config import Settings
    >>> names(Settings(collections={"b": {}, "a": {}}))
    ['default', 'a', 'b']
    """
    return [DEFAULT, *sorted(settings.collections)]


def resolve(settings: Settings, name: str | None) -> Settings:
    """The settings of collection ``name`` (``None`` or ``default``: ``settings``): the global
    ones with the collection's overrides; ``UnknownCollection`` lists the names there are.

    >>> from qa.config import Settings
    >>> s = Settings(index_dir=Path("ix"), collections={"a": {"corpus_dir": "docs/a"}})
    >>> a = resolve(s, "a")
    >>> (str(a.corpus_dir), str(a.index_dir), a.collections)
    ('docs/a', 'ix-a', {})
    >>> resolve(s, "b")
    Traceback (most recent call last):
    qa.collections.UnknownCollection: no collection named 'b'; collections: default, a
    """
    if name is None or name == DEFAULT:
        return settings
    if name not in settings.collections:
        raise UnknownCollection(name, names(settings))
    values = dict(settings.collections[name])
    values.setdefault("index_dir", str(default_index_dir(settings.index_dir, name)))
    values.setdefault("pg_schema", pg_schema(settings.pg_schema, name))
    base = settings.replace(collections={})  # the overrides of one collection, checked once
    text = {k: v for k, v in values.items() if isinstance(v, str)}
    return base.with_strings(text).replace(**{k: v for k, v in values.items() if k not in text})


def check_all(settings: Settings) -> None:
    """Refuse collections that cannot work side by side: two on the same index folder, or on
    the same schema of one PostgreSQL database (each would overwrite the other's index)."""
    from qa.config import Settings as _Settings

    known = {f.name for f in fields(_Settings)}
    check_table(settings.collections, known)
    folders: dict[Path, str] = {}
    schemas: dict[tuple[str, str], str] = {}
    for name in names(settings):
        s = resolve(settings, name)
        if s.store == "postgres":
            key = (_database(s), s.pg_schema)
            if key in schemas:
                raise QAError(f"collections {schemas[key]!r} and {name!r} use the same "
                              f"PostgreSQL schema {s.pg_schema}: give one its own pg_schema")
            schemas[key] = name
            continue
        where = s.index_dir.expanduser().resolve()
        if where in folders:
            raise QAError(f"collections {folders[where]!r} and {name!r} use the same index folder "
                          f"{s.index_dir}: give each its own index_dir")
        folders[where] = name


def _database(settings: Settings) -> str:
    """Which database a PostgreSQL collection uses: its URL, or the embedded server's folder."""
    if settings.database_url:
        return settings.database_url
    return str((settings.data_dir / "postgres").expanduser().resolve())


class Catalog:
    """The assistants of the collections, each loaded on first use and kept. Every collection
    answers with the one generator of the default assistant (``Assistant.with_generator``'s
    idea: only the index, retriever and embedder differ), so one model is in memory."""

    def __init__(self, default: Assistant,
                 load: Callable[[Settings], Assistant] | None = None) -> None:
        self.default = default
        self.settings = default.settings
        self._load = load or self._load_real
        self._loaded: dict[str, Assistant] = {DEFAULT: default}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def names(self) -> list[str]:
        return names(self.settings)

    def settings_of(self, name: str | None) -> Settings:
        return resolve(self.settings, name)

    def loaded(self, name: str) -> Assistant | None:
        return self._loaded.get(name)

    def get(self, name: str | None) -> Assistant:
        """The assistant of ``name`` (``UnknownCollection`` for none such), loading it once."""
        name = name or DEFAULT
        if name in self._loaded:
            return self._loaded[name]
        settings = self.settings_of(name)
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._loaded:
                self._loaded[name] = self._load(settings)
        return self._loaded[name]

    def _load_real(self, settings: Settings) -> Assistant:
        from qa.assistant import Assistant

        d = self.default
        embedder = d.embedder if _same_embedder(settings, d.settings) else None
        loaded = Assistant.load(settings, generator=d.generator, embedder=embedder)
        loaded.fallback = d.fallback
        return loaded


EMBEDDING = ("embed_model", "embed_backend", "embed_base_url", "query_prefix", "passage_prefix",
             "embed_dim")


def _same_embedder(a: Settings, b: Settings) -> bool:
    return all(getattr(a, k) == getattr(b, k) for k in EMBEDDING)


def describe(settings: Settings) -> list[dict[str, Any]]:
    """One row per collection: name, corpus, index and its document count (``None`` when no
    index is built), read from the index's manifest without loading any model."""
    rows = []
    for name in names(settings):
        s = resolve(settings, name)
        rows.append({"name": name, "corpus_dir": str(s.corpus_dir),
                     "index": str(s.index_dir) if s.store == "faiss"
                     else f"{s.store} schema {s.pg_schema}",
                     "language": s.language, "documents": _documents(s)})
    return rows


def _documents(settings: Settings) -> int | None:
    """Documents in the built index, or ``None`` when there is none (or it cannot be read)."""
    from qa.composition import make_store, open_index

    try:
        store = make_store(settings)
        if not store.exists():
            return None
        return len(open_index(store, settings).manifest["documents"])
    except QAError:
        return None
