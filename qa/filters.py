"""Filters: which documents a question may be answered from (source, date, language, tags).

A ``Filter`` is resolved by the store to the set of documents it allows, and the store then
searches only their chunks and sentences (FAISS by id selection, BM25 by scoring only their
rows, PostgreSQL in the ``WHERE`` clause). That is the design choice: post-filtering a top-k
would return fewer than k results, or none, when the allowed documents score lower than the
rest. The price: resolving reads the metadata of every document once per index version (FAISS,
cached) or once per query (PostgreSQL, an indexed scan of the documents table).

The kinds of condition are ANDed; the values of one kind are ORed (``sources=("a/*", "b/*")``
allows a document under either folder). A document without a publication date is left out as
soon as a date range is given. Every value is checked here, so a bad one is one ``InputError``
line at each edge (CLI, REST, OpenAI route, MCP).
"""

from __future__ import annotations

import calendar
import datetime as dt
import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from qa.errors import InputError

MAX_VALUES = 1000  # sources + tags of one filter
MAX_VALUE_CHARS = 500
LANGUAGES = ("de", "en")
KEYS = ("sources", "date_from", "date_to", "language", "tags")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True)
class Filter:
    """Which documents may be searched; an empty filter allows every document.

    ``sources``: file names or globs, matched against the document's source (its path in the
    corpus folder, e.g. ``team-a/x.txt``); a pattern without ``/`` also matches the file name
    alone. ``date_from`` / ``date_to``: ISO dates, both ends included. ``language``: ``de`` or
    ``en``. ``tags``: the document's folder names (and its ``tags`` metadata when a reader sets
    one)."""

    sources: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    language: str | None = None
    tags: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.sources or self.date_from or self.date_to or self.language
                    or self.tags)

    def to_dict(self) -> dict[str, Any]:
        """The conditions that are set, as JSON (the ``filter`` field of an answer).

        >>> Filter(sources=("a/*",), date_from="2025-09-01").to_dict()
        {'sources': ['a/*'], 'date_from': '2025-09-01'}
        """
        d: dict[str, Any] = {}
        if self.sources:
            d["sources"] = list(self.sources)
        for key in ("date_from", "date_to", "language"):
            if (v := getattr(self, key)) is not None:
                d[key] = v
        if self.tags:
            d["tags"] = list(self.tags)
        return d

    def describe(self) -> str:
        """One line for people (the CLI prints it once).

        >>> Filter(sources=("a.txt",), date_from="2025-09-01", language="de").describe()
        'source a.txt, from 2025-09-01, language de'
        """
        parts = []
        if self.sources:
            parts.append("source " + " or ".join(self.sources))
        if self.date_from:
            parts.append(f"from {self.date_from}")
        if self.date_to:
            parts.append(f"until {self.date_to}")
        if self.language:
            parts.append(f"language {self.language}")
        if self.tags:
            parts.append("tag " + " or ".join(self.tags))
        return ", ".join(parts) or "none"

    def allows(self, source: str, meta: Mapping[str, Any],
               language: Callable[[], str] | None = None) -> bool:
        """Whether a document with this ``source`` and ``meta`` passes; ``language`` gives the
        document's language when asked (detecting it costs, so only a language filter calls it).

        >>> f = Filter(sources=("team-a/*",), date_to="2025-09-30")
        >>> f.allows("team-a/x.txt", {"date": "2025-09-12"}), f.allows("team-a/y.txt", {})
        (True, False)
        >>> Filter(tags=("team-b",)).allows("team-b/2025/z.md", {})
        True
        """
        if self.sources and not any(source_matches(p, source) for p in self.sources):
            return False
        if self.date_from or self.date_to:
            date = str(meta.get("date") or "")[:10]
            if not _DATE.match(date):
                return False
            if (self.date_from and date < self.date_from) or (self.date_to and date > self.date_to):
                return False
        if self.tags and not set(self.tags) & set(document_tags(source, meta)):
            return False
        return not (self.language and (language is None or language() != self.language))


def source_matches(pattern: str, source: str) -> bool:
    """Whether a source glob matches: the whole path, or the file name for a pattern without
    ``/`` (case-sensitive, ``*`` crosses folders as in ``fnmatch``).

    >>> source_matches("*.pdf", "team-a/report.pdf"), source_matches("x.txt", "team-a/x.txt")
    (True, True)
    >>> source_matches("team-a/*", "team-b/x.txt")
    False
    """
    if fnmatch.fnmatchcase(source, pattern):
        return True
    return "/" not in pattern and fnmatch.fnmatchcase(source.rsplit("/", 1)[-1], pattern)


def document_tags(source: str, meta: Mapping[str, Any]) -> list[str]:
    """A document's tags: the folders of its source, then its ``tags`` metadata (a list or a
    comma-separated string, as a reader with front matter would set it).

    >>> document_tags("team-a/2025/x.txt", {"tags": "news, cloud"})
    ['team-a', '2025', 'news', 'cloud']
    """
    tags = source.split("/")[:-1]
    extra = meta.get("tags")
    if isinstance(extra, str):
        tags += [t.strip() for t in extra.split(",") if t.strip()]
    elif isinstance(extra, list | tuple):
        tags += [str(t).strip() for t in extra if str(t).strip()]
    return tags


def parse_date(value: Any, end: bool = False, what: str = "date") -> str:
    """An ISO date ``YYYY-MM-DD``; ``YYYY-MM`` and ``YYYY`` mean the first day (the last day
    with ``end``) of that month or year. ``InputError`` in one line otherwise.

    >>> parse_date("2025-09"), parse_date("2025-09", end=True), parse_date("2024", end=True)
    ('2025-09-01', '2025-09-30', '2024-12-31')
    >>> parse_date("30.09.2025")
    Traceback (most recent call last):
    qa.errors.InputError: bad date '30.09.2025': use an ISO date such as 2025-09-30
    """
    text = str(value).strip() if isinstance(value, str | int) else None
    m = _DATE.match(text or "")
    if text is None or m is None:
        raise InputError(f"bad {what} {value!r}: use an ISO date such as 2025-09-30")
    year, month, day = int(m[1]), int(m[2] or (12 if end else 1)), m[3]
    try:
        if day is None:
            if not 1 <= month <= 12:
                raise ValueError("month must be in 1..12")
            d = dt.date(year, month, calendar.monthrange(year, month)[1] if end else 1)
        else:
            d = dt.date(year, month, int(day))
    except ValueError as e:
        raise InputError(f"bad {what} {value!r}: use an ISO date such as 2025-09-30 "
                         f"({e})") from None
    return d.isoformat()


def check_source(pattern: Any) -> str:
    """A source glob as given, or ``InputError`` when it is empty, not text, or points outside
    the corpus folder (an absolute path, a drive, ``..``).

    >>> check_source("team-a/*.txt")
    'team-a/*.txt'
    >>> check_source("../secret/*")
    Traceback (most recent call last):
    qa.errors.InputError: bad source '../secret/*': a file name or glob inside the corpus folder (no absolute path, no '..')
    """
    if not isinstance(pattern, str) or not pattern.strip():
        raise InputError(f"bad source {pattern!r}: give a file name or glob such as 'team-a/*.txt'")
    p = pattern.strip()
    if len(p) > MAX_VALUE_CHARS or any(ord(ch) < 32 for ch in p):
        raise InputError(f"bad source {p[:60]!r}: at most {MAX_VALUE_CHARS} printable characters")
    norm = p.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm) or ".." in norm.split("/"):
        raise InputError(f"bad source {p!r}: a file name or glob inside the corpus folder "
                         "(no absolute path, no '..')")
    return p


def _texts(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return list(value)
    raise InputError(f"bad {what}: give a string or a list of strings, not {type(value).__name__}")


def make_filter(sources: Any = None, date_from: Any = None, date_to: Any = None,
                language: Any = None, tags: Any = None) -> Filter | None:
    """A checked ``Filter`` from loose values (a string or a list each), or None when nothing
    is set. Every bad value is an ``InputError`` in one line.

    >>> make_filter(sources="*.md", date_from="2025-09", date_to="2025-09")
    Filter(sources=('*.md',), date_from='2025-09-01', date_to='2025-09-30', language=None, tags=())
    >>> make_filter(date_from="2025-10-01", date_to="2025-09-01")
    Traceback (most recent call last):
    qa.errors.InputError: bad date range: date_from 2025-10-01 is after date_to 2025-09-01
    >>> make_filter(tags=["x"] * 1001)
    Traceback (most recent call last):
    qa.errors.InputError: too many filter values (1001): at most 1000 sources and tags together
    """
    src, tag = _texts(sources, "sources"), _texts(tags, "tags")
    if len(src) + len(tag) > MAX_VALUES:
        raise InputError(f"too many filter values ({len(src) + len(tag)}): at most "
                         f"{MAX_VALUES} sources and tags together")
    checked_sources = tuple(dict.fromkeys(check_source(p) for p in src))
    checked_tags = []
    for t in tag:
        if not isinstance(t, str) or not t.strip() or "/" in t or len(t) > MAX_VALUE_CHARS:
            raise InputError(f"bad tag {t!r}: give a folder name such as 'team-a'")
        checked_tags.append(t.strip())
    lo = None if date_from in (None, "") else parse_date(date_from, what="date_from")
    hi = None if date_to in (None, "") else parse_date(date_to, end=True, what="date_to")
    if lo and hi and lo > hi:
        raise InputError(f"bad date range: date_from {lo} is after date_to {hi}")
    lang = None
    if language not in (None, ""):
        lang = str(language).strip().lower()
        if lang not in LANGUAGES:
            raise InputError(f"bad language {language!r}: use one of {', '.join(LANGUAGES)}")
    f = Filter(checked_sources, lo, hi, lang, tuple(dict.fromkeys(checked_tags)))
    return f if f else None


def parse_filter(obj: Any) -> Filter | None:
    """A ``Filter`` from its JSON form (the REST API's ``filter``, the MCP tools, the OpenAI
    route's ``metadata``): an object with the keys of ``KEYS``; None for null or ``{}``.

    >>> parse_filter({"sources": ["team-a/*"], "language": "de"}).to_dict()
    {'sources': ['team-a/*'], 'language': 'de'}
    >>> parse_filter({"source": "x"})
    Traceback (most recent call last):
    qa.errors.InputError: unknown filter key 'source': use sources, date_from, date_to, language, tags
    """
    if obj is None:
        return None
    if not isinstance(obj, Mapping):
        raise InputError(f"bad filter: give an object with {', '.join(KEYS)}, "
                         f"not {type(obj).__name__}")
    for key in obj:
        if key not in KEYS:
            raise InputError(f"unknown filter key {key!r}: use {', '.join(KEYS)}")
    return make_filter(**{k: obj.get(k) for k in KEYS})


def allowed_ids(f: Filter, documents: Iterable[tuple[str, str, Mapping[str, Any]]],
                language: Callable[[str], str]) -> list[str]:
    """The ids of the documents ``f`` allows, from ``(doc_id, source, meta)`` rows;
    ``language(doc_id)`` is asked only for documents that pass the other conditions.

    >>> allowed_ids(Filter(date_from="2025-09-01"),
    ...             [("1", "a.txt", {"date": "2025-08-31"}), ("2", "b.txt", {"date": "2025-09-01"})],
    ...             lambda d: "de")
    ['2']
    """
    return [doc_id for doc_id, source, meta in documents
            if f.allows(source, meta, lambda d=doc_id: language(d))]  # type: ignore[misc]


def glob_regex(pattern: str, name_only: bool = False) -> str:
    """A glob as an anchored regular expression that PostgreSQL (``~``) and Python read alike:
    ``*`` any run of characters (``[^/]*`` with ``name_only``), ``?`` one, ``[...]`` a class;
    every other character that is not a letter or digit escaped.

    >>> glob_regex("team-a/*.txt")
    '^team\\\\-a\\\\/.*\\\\.txt$'
    >>> bool(re.match(glob_regex("[!x]?.md"), "ab.md")), bool(re.match(glob_regex("[!x]?.md"), "xb.md"))
    (True, False)
    """
    out, i, n = [], 0, len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append("[^/]*" if name_only else ".*")
        elif ch == "?":
            out.append("[^/]" if name_only else ".")
        elif ch == "[" and (j := pattern.find("]", i + 1 if pattern[i:i + 1] in ("!", "]") else i)) > 0:
            body = pattern[i:j]
            i = j + 1
            neg = body.startswith("!")
            body = body[1:] if neg else body
            cls = "".join(c if c.isalnum() or c == "-" else "\\" + c for c in body)
            out.append(f"[{'^' if neg else ''}{cls}]")
        else:
            out.append(ch if ch.isalnum() else "\\" + ch)
    return "^" + "".join(out) + "$"
