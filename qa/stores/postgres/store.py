"""The reading side of the PostgreSQL store: every call is a query on the latest committed state.

Dense search orders by pgvector's ``<#>`` (the negative inner product) over an HNSW index, with
``hnsw.ef_search`` 200 or ``k`` (an exact scan past pgvector's limit of 1000). Lexical search
gathers a bounded set of candidates per text-search configuration through its partial GIN
index (the chunks with every word of the question, then those with its rarest words) and
ranks them by BM25.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from qa.errors import IndexMismatchError
from qa.filters import Filter, glob_regex
from qa.stores.base import Ranked
from qa.stores.postgres.schema import LEXICAL_CONFIGS, TS_CONFIGS
from qa.types import Chunk, Document, Sentence

if TYPE_CHECKING:
    from qa.stores.postgres.backend import PostgresBackend

EF_SEARCH = 200  # recall@10 0.953 at 1M chunks, against 0.81 at pgvector's 40 (docs/scaling.md)
_MAX_EF_SEARCH = 1000  # pgvector's limit; a larger k is answered by an exact scan
CANDIDATES = 2000  # lexical search: the rare words of a question, up to this many chunks ...
MAX_CANDIDATES = 3000  # ... and never more than this many scored (per configuration)
_WORD = re.compile(r"[^\W_]+", re.U)


class Runner(Protocol):
    """Runs a function on a live connection (``backend._Reader``), whose ``hnsw.ef_search``
    is ``EF_SEARCH``."""

    def run(self, fn: Callable[[Any], Any]) -> Any: ...


def query_words(text: str, limit: int = 64) -> list[str]:
    """The distinct words of a question for a full-text query (letters and digits only, so
    nothing in them is tsquery syntax).

    >>> query_words("Wie viele Parameter hat Qwen3-Max? Parameter!")
    ['wie', 'viele', 'parameter', 'hat', 'qwen3', 'max']
    """
    return list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))[:limit]


def _gather(cfg: str) -> str:
    """The candidates of one text-search configuration: chunks with every word of the question
    (``every``), then those with its rare words (``rare``) but not every word, ``%(cap)s`` at
    most. ``cfg`` is a constant, so that the planner picks that configuration's partial GIN
    index; the ``LIMIT`` over ``UNION ALL`` stops reading once it has enough."""
    scan = ("SELECT c.chunk_id, c.tsv, p.lexemes FROM pick p CROSS JOIN LATERAL ("
            "SELECT chunk_id, tsv FROM {s}.chunks WHERE ts_config = '%s'::regconfig "
            "AND tsv @@ %s LIMIT %%(cap)s) c WHERE p.cfg = '%s'::regconfig AND p.rare IS NOT NULL")
    return (f"(SELECT * FROM ({scan % (cfg, 'p.every', cfg)} UNION ALL "
            f"{scan % (cfg, '(p.rare && !! p.every)', cfg)}) g LIMIT %(cap)s)")


_QUOTED = "'''' || replace(d.lexeme, '''', '''''') || ''''"  # a lexeme as a tsquery operand
_LEXICAL_SQL = f"""
    WITH q AS MATERIALIZED (  -- the question, parsed once per configuration
      SELECT cfg, tsvector_to_array(to_tsvector(cfg, %(t)s)) AS lexemes
      FROM unnest(%(cfgs)s::regconfig[]) AS cfg),
    df AS MATERIALIZED (
      SELECT l.lexeme, l.df::float8 AS n,
             sum(l.df) OVER (ORDER BY l.df, l.lexeme) - l.df AS rarer
      FROM {{s}}.lexemes l WHERE l.lexeme IN (SELECT unnest(lexemes) FROM q)),
    pick AS MATERIALIZED (  -- per configuration: its rare words ORed, its known words ANDed
      SELECT q.cfg, q.lexemes,
             (SELECT string_agg({_QUOTED}, ' | ') FROM df d
              WHERE d.lexeme = ANY(q.lexemes) AND d.rarer < %(budget)s)::tsquery AS rare,
             (SELECT string_agg({_QUOTED}, ' & ') FROM df d
              WHERE d.lexeme = ANY(q.lexemes))::tsquery AS every
      FROM q),
    m AS MATERIALIZED (  -- (chunk, matched word, its frequency) of the candidates
      SELECT c.chunk_id, length(c.tsv)::float8 AS len, u.lexeme,
             coalesce(array_length(u.positions, 1), 1)::float8 AS tf
      FROM ({" UNION ALL ".join(_gather(cfg) for cfg in LEXICAL_CONFIGS)}) AS c
      -- only the question's words of each chunk: marked with weight A, kept, unnested
      CROSS JOIN LATERAL unnest(ts_filter(setweight(c.tsv, 'A', c.lexemes), '{{a}}')) AS u),
    corpus AS (SELECT chunks::float8 AS n,
                      greatest(lexemes::float8 / greatest(chunks, 1), 1) AS avgdl
               FROM {{s}}.meta)
    SELECT m.chunk_id,
           sum(ln(1 + (corpus.n - df.n + 0.5) / (df.n + 0.5))
               * m.tf * 2.5 / (m.tf + 1.5 * (0.25 + 0.75 * m.len / corpus.avgdl))) AS score
    FROM m JOIN df USING (lexeme) CROSS JOIN corpus
    GROUP BY m.chunk_id ORDER BY score DESC, m.chunk_id LIMIT %(k)s"""


def filter_sql(f: Filter | None) -> tuple[str, dict[str, Any]]:
    """A condition on a table with a ``doc_id`` column that keeps the rows of the documents
    ``f`` allows (a subquery on ``{s}.documents``), and its parameters; ``TRUE`` for no filter.
    A document's language is its ``ts_config`` (the Snowball stemmer of its detected language).

    >>> filter_sql(None)
    ('TRUE', {})
    >>> sql, params = filter_sql(Filter(sources=("a/*",), date_from="2025-09-01", language="de"))
    >>> params["f_sources"], params["f_from"], params["f_cfg"]
    (['^a\\\\/.*$'], '2025-09-01', 'german')
    """
    if not f:
        return "TRUE", {}
    where: list[str] = []
    params: dict[str, Any] = {}
    if f.sources:
        regexes = [glob_regex(p) for p in f.sources]
        regexes += ["(^|/)" + glob_regex(p, name_only=True)[1:] for p in f.sources if "/" not in p]
        where.append("d.source ~ ANY(%(f_sources)s::text[])")
        params["f_sources"] = regexes
    if f.date_from or f.date_to:
        where.append("coalesce(d.meta->>'date', '') ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'")
    if f.date_from:
        where.append("left(d.meta->>'date', 10) >= %(f_from)s")
        params["f_from"] = f.date_from
    if f.date_to:
        where.append("left(d.meta->>'date', 10) <= %(f_to)s")
        params["f_to"] = f.date_to
    if f.language:
        where.append("d.ts_config = %(f_cfg)s::regconfig")
        params["f_cfg"] = TS_CONFIGS[f.language]
    if f.tags:
        where.append("""((string_to_array(d.source, '/'))[1:cardinality(string_to_array(d.source, '/')) - 1]
                          && %(f_tags)s::text[]
                        OR (jsonb_typeof(d.meta->'tags') = 'array' AND d.meta->'tags' ?| %(f_tags)s::text[])
                        OR (jsonb_typeof(d.meta->'tags') = 'string'
                            AND regexp_split_to_array(trim(d.meta->>'tags'), '\\s*,\\s*')
                                && %(f_tags)s::text[]))""")
        params["f_tags"] = list(f.tags)
    return ("doc_id IN (SELECT d.doc_id FROM {s}.documents d WHERE " + " AND ".join(where)
            + ")"), params


class PostgresStore:
    """The reading side (``Store``): every call reads the latest committed state."""

    def __init__(self, backend: PostgresBackend, reader: Runner, dim: int) -> None:
        self.backend = backend
        self.dim = dim
        self._reader = reader
        self._s = f'"{backend.schema}"'

    def __repr__(self) -> str:
        return f"PostgresStore({self.backend.where!r})"

    def _all(self, sql: str, params: Sequence[Any] | dict[str, Any] = (),
             binary: bool = False) -> list[tuple[Any, ...]]:
        """The rows of one query (``{s}``: the schema); ``binary`` for vectors (4x faster)."""
        return self._reader.run(lambda c: c.execute(sql.replace("{s}", self._s), params,
                                                    binary=binary).fetchall())

    @property
    def manifest(self) -> dict[str, Any]:
        rows = self._all("""SELECT to_jsonb(m), (SELECT coalesce(jsonb_agg(jsonb_build_array(
                              source, doc_id, sha256, title, n_chunks) ORDER BY ordinal), '[]')
                              FROM {s}.documents) FROM {s}.meta m""")
        if not rows:
            raise IndexMismatchError(f"no index in {self.backend.where}: run `qa ingest` first")
        meta, docs = rows[0]
        return {"store": "postgres", "schema_version": meta["schema_version"],
                "created": meta["created"], "updated": meta["updated"],
                "config": meta["config"], "dim": meta["dim"], "chunks": meta["chunks"],
                "sentences": meta["sentences"],
                "documents": {src: {"doc_id": i, "sha256": h, "title": t, "chunks": n}
                              for src, i, h, t, n in docs}}

    def _nearest(self, sql: str, vector: np.ndarray, k: int,
                 extra: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (``{s}`` the schema, ``%(v)s`` the vector) nearest first."""
        if k <= 0:
            return []
        v = np.asarray(vector, dtype=np.float32).reshape(-1)
        params = {"v": v, "k": k, **(extra or {})}

        def run(c: Any) -> list[tuple[Any, ...]]:
            query = sql.replace("{s}", self._s)
            if k <= EF_SEARCH:  # the connection's setting: HNSW returns at most ef_search rows
                return c.execute(query, params).fetchall()
            with c.transaction():
                if k > _MAX_EF_SEARCH:  # beyond HNSW's reach: an exact scan
                    c.execute("SET LOCAL enable_indexscan = off")
                else:
                    c.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(k),))
                return c.execute(query, params).fetchall()

        return self._reader.run(run)

    @staticmethod
    def _order(allowed: Filter | None) -> str:
        """The ``ORDER BY`` of a nearest search: the HNSW index's own operator, or with a filter
        an expression the index cannot serve, so that PostgreSQL takes the allowed documents'
        rows (by the ``doc_id`` index) and ranks them exactly. pgvector 0.6's HNSW filters
        after its ``ef_search`` candidates and would return fewer than ``k`` rows; the price is
        a scan of every allowed row, which is all rows for a filter that allows most of them."""
        return "embedding <#> %(v)b" if not allowed else "(embedding <#> %(v)b) + 0"

    def search(self, vector: np.ndarray, k: int, allowed: Filter | None = None) -> Ranked:
        cond, params = filter_sql(allowed)
        rows = self._nearest("SELECT chunk_id, -(embedding <#> %(v)b) FROM {s}.chunks "
                             f"WHERE {cond} ORDER BY {self._order(allowed)} LIMIT %(k)s",
                             vector, k, params)
        return [(i, float(score)) for i, score in rows]

    def search_sentences(self, vector: np.ndarray, k: int,
                         allowed: Filter | None = None) -> list[tuple[Sentence, float]]:
        cond, params = filter_sql(allowed)
        rows = self._nearest("SELECT sentence_id, doc_id, start_offset, end_offset, "
                             f"-(embedding <#> %(v)b) FROM {{s}}.sentences WHERE {cond} "
                             f"ORDER BY {self._order(allowed)} LIMIT %(k)s", vector, k, params)
        return [(Sentence(*r[:4]), float(r[4])) for r in rows]

    def lexical_search(self, text: str, k: int, allowed: Filter | None = None) -> Ranked:
        """BM25 (k1 1.5, b 0.75, as ``bm25s``) of the chunks that have a word of ``text``, each
        word stemmed in its chunk's configuration (``ts_rank`` has no inverse document
        frequency and ranked worse: docs/postgres.md).

        Candidates come through each configuration's own GIN index (a partial index, so a
        configuration that no chunk uses costs nothing): first the chunks that have every
        known word of the question, then those with its rarest words (taken rarest first while
        the chunks they are in add up to fewer than ``CANDIDATES``), at most
        ``MAX_CANDIDATES`` per configuration; only those are scored. Below that many matches
        the result is exact; above, a chunk with only common words of the question (which add
        little to a BM25 score) may be left out."""
        words = query_words(text)
        if not words or k <= 0:
            return []
        cond, params = filter_sql(allowed)
        sql = _LEXICAL_SQL if not allowed else _LEXICAL_SQL.replace(
            "LIMIT %(cap)s) c", f"AND {cond} LIMIT %(cap)s) c")
        rows = self._all(sql, {"t": " ".join(words), "k": k,
                               "cfgs": list(LEXICAL_CONFIGS),
                               "budget": CANDIDATES, "cap": MAX_CANDIDATES, **params})
        return [(i, float(score)) for i, score in rows if score > 0]

    def lexical_coverage(self, text: str) -> float:
        from qa.text import STOP_WORDS

        words = [w for w in query_words(text) if w not in STOP_WORDS and len(w) > 1]
        if not words:
            return 0.0
        rows = self._all("""
            SELECT numnode(to_tsquery('german', w)) > 0
                     AND numnode(to_tsquery('english', w)) > 0 AS content,
                   EXISTS (SELECT 1 FROM unnest(%(cfgs)s::regconfig[]) AS cfg
                           JOIN {s}.lexemes l
                             ON l.lexeme = ANY(tsvector_to_array(to_tsvector(cfg, w)))) AS known
            FROM unnest(%(w)s::text[]) AS w""", {"w": words, "cfgs": list(LEXICAL_CONFIGS)})
        content = [known for is_content, known in rows if is_content]
        return sum(content) / len(content) if content else 0.0

    def score(self, ids: Sequence[str], vector: np.ndarray) -> list[float]:
        if not ids:
            return []
        v = np.asarray(vector, dtype=np.float32).reshape(-1)
        got = dict(self._all("SELECT chunk_id, -(embedding <#> %b) FROM {s}.chunks "
                             "WHERE chunk_id = ANY(%s)", (v, list(ids))))
        return [float(got[i]) for i in ids]

    def chunks_by_id(self, ids: Sequence[str]) -> list[Chunk]:
        if not ids:
            return []
        got = {r[0]: Chunk(*r) for r in self._all(
            "SELECT chunk_id, doc_id, source, title, text, start_offset, end_offset "
            "FROM {s}.chunks WHERE chunk_id = ANY(%s)", (list(ids),))}
        return [got[i] for i in ids]

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        return [Chunk(*r) for r in self._all(
            "SELECT chunk_id, doc_id, source, title, text, start_offset, end_offset "
            "FROM {s}.chunks WHERE doc_id = %s ORDER BY start_offset, end_offset", (doc_id,))]

    def sentences_of(self, doc_id: str) -> list[Sentence]:
        return [Sentence(*r) for r in self._all(
            "SELECT sentence_id, doc_id, start_offset, end_offset FROM {s}.sentences "
            "WHERE doc_id = %s ORDER BY start_offset, end_offset", (doc_id,))]

    def sentence_vectors_of(self, ids: Sequence[str]) -> np.ndarray:
        if not len(ids):
            return np.zeros((0, self.dim), dtype=np.float32)
        got = dict(self._all("SELECT sentence_id, embedding FROM {s}.sentences "
                             "WHERE sentence_id = ANY(%s)", (list(ids),), binary=True))
        return np.stack([got[i] for i in ids]).astype(np.float32, copy=False)

    def sentence_frequencies(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        wanted = sorted(set(terms))
        rows = self._all("""SELECT (SELECT sentences FROM {s}.meta), t, count(*)
                            FROM {s}.sentences, unnest(terms) AS t
                            WHERE terms && %(t)s::text[] AND t = ANY(%(t)s::text[])
                            GROUP BY t""", {"t": wanted})
        if not rows:
            total = self._all("SELECT sentences FROM {s}.meta")
            return (int(total[0][0]) if total else 0), {}
        return int(rows[0][0]), {t: int(n) for _, t, n in rows}

    _DOCUMENT = "SELECT doc_id, source, title, text, sha256, meta FROM {s}.documents "

    def document(self, doc_id: str) -> Document | None:
        rows = self._all(self._DOCUMENT + "WHERE doc_id = %s", (doc_id,))
        return Document(*rows[0]) if rows else None

    def document_by_source(self, source: str) -> Document | None:
        rows = self._all(self._DOCUMENT + "WHERE source = %s ORDER BY ordinal DESC LIMIT 1",
                         (source,))
        return Document(*rows[0]) if rows else None

    def list_documents(self) -> list[Document]:
        return [Document(*r) for r in self._all(self._DOCUMENT + "ORDER BY ordinal")]
