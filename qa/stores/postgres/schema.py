"""The tables of the PostgreSQL store and one write into them.

``meta`` (one row: schema version, ``IndexConfig``, dimension, counts), ``documents`` (with an
ordinal for the ingest order), ``chunks`` (text, offsets, a ``tsvector`` generated in the
document's text-search configuration, a ``vector(dim)``) and ``sentences`` (offsets, evidence
terms, a ``vector(dim)``). A first write, a ``replace``, or one that changes the dimension loads
new tables and swaps them in at the end of its transaction; other writes delete and insert rows.
"""

from __future__ import annotations

import json
import secrets
import struct
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.errors import IndexMismatchError, StoreUnavailableError
from qa.stores.base import REBUILD_HINT, DocumentRecord, IndexConfig, config_mismatch
from qa.types import Document

if TYPE_CHECKING:
    from qa.stores.postgres.backend import PostgresBackend

SCHEMA_VERSION = 4  # 2: chunk lengths for BM25; 3: lexemes (document frequencies);
# 4: a partial GIN index on tsv per text-search configuration
TABLES = ("meta", "documents", "chunks", "sentences", "lexemes")
TS_CONFIGS = {"de": "german", "en": "english"}  # detected language -> text-search configuration
LEXICAL_CONFIGS = ("german", "english", "simple")


def ts_config(document: Document, lexical_language: str = "auto") -> str:
    """The text-search configuration for a document: its detected language's Snowball stemmer,
    or the configured one when ``lexical_language`` is not "auto".

    >>> ts_config(Document("d", "a.txt", "", "The cloud grew and the shares rose.", "x"))
    'english'
    """
    if lexical_language != "auto":
        return lexical_language if lexical_language in LEXICAL_CONFIGS else "simple"
    from qa.text import detect_language

    return TS_CONFIGS.get(detect_language(document.text[:5000]), "simple")


# -- vectors on the wire: pgvector's binary format (uint16 dim, uint16 0, big-endian float4) --

def _vector_bytes(v: np.ndarray) -> bytes:
    v = np.asarray(v, dtype=">f4").reshape(-1)
    return struct.pack(">HH", len(v), 0) + v.tobytes()


def _vector_array(data: Any) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=">f4", offset=4).astype(np.float32)


def register_vector(conn: Any) -> None:
    """numpy arrays dump as ``vector`` and ``vector`` loads as float32 numpy, in binary."""
    from psycopg.adapt import Dumper, Loader
    from psycopg.pq import Format
    from psycopg.types import TypeInfo

    row = conn.execute("SELECT oid, typarray FROM pg_type "
                       "WHERE oid = to_regtype('vector')").fetchone()
    if row is None:
        raise IndexMismatchError("the vector extension is missing")
    oid = int(row[0])
    TypeInfo("vector", oid, int(row[1])).register(conn)  # for COPY's set_types

    class VectorDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj: Any) -> bytes:
            return _vector_bytes(obj)

    VectorDumper.oid = oid

    class VectorLoader(Loader):
        format = Format.BINARY

        def load(self, data: Any) -> np.ndarray:
            return _vector_array(data)

    class VectorTextLoader(Loader):
        format = Format.TEXT

        def load(self, data: Any) -> np.ndarray:
            return np.array(bytes(data)[1:-1].split(b","), dtype=np.float32)

    conn.adapters.register_dumper(np.ndarray, VectorDumper)
    conn.adapters.register_loader(oid, VectorLoader)
    conn.adapters.register_loader(oid, VectorTextLoader)


def read_meta(conn: Any, schema: str) -> dict[str, Any] | None:
    """The meta row as a dict (whatever version wrote it), or None when there is none."""
    row = conn.execute("SELECT to_regclass(%s)", (f'"{schema}".meta',)).fetchone()
    if row is None or row[0] is None:
        return None
    got = conn.execute(f'SELECT to_jsonb(m) FROM "{schema}".meta m').fetchone()
    return dict(got[0]) if got else None


def _ddl(schema: str, suffix: str, dim: int) -> list[str]:
    s, t = f'"{schema}"', suffix
    return [
        f"""CREATE TABLE {s}.meta{t} (
              id boolean PRIMARY KEY DEFAULT true CHECK (id),
              schema_version integer NOT NULL, config jsonb NOT NULL, dim integer NOT NULL,
              chunks bigint NOT NULL DEFAULT 0, sentences bigint NOT NULL DEFAULT 0,
              lexemes bigint NOT NULL DEFAULT 0,
              created timestamptz NOT NULL DEFAULT now(),
              updated timestamptz NOT NULL DEFAULT now())""",
        f"""CREATE TABLE {s}.documents{t} (
              doc_id text PRIMARY KEY, ordinal bigint NOT NULL, source text NOT NULL,
              title text NOT NULL, text text NOT NULL, sha256 text NOT NULL,
              meta jsonb NOT NULL DEFAULT '{{}}', ts_config regconfig NOT NULL,
              n_chunks integer NOT NULL, n_sentences integer NOT NULL,
              n_lexemes bigint NOT NULL DEFAULT 0)""",
        f"CREATE INDEX documents{t}_ordinal ON {s}.documents{t} (ordinal)",
        f"CREATE INDEX documents{t}_source ON {s}.documents{t} (source)",
        f"""CREATE TABLE {s}.chunks{t} (
              chunk_id text PRIMARY KEY,
              doc_id text NOT NULL REFERENCES {s}.documents{t} ON DELETE CASCADE,
              source text NOT NULL, title text NOT NULL, text text NOT NULL,
              start_offset integer NOT NULL, end_offset integer NOT NULL,
              ts_config regconfig NOT NULL,
              tsv tsvector GENERATED ALWAYS AS (to_tsvector(ts_config, text)) STORED,
              embedding vector({dim}) NOT NULL)""",
        f"CREATE INDEX chunks{t}_doc ON {s}.chunks{t} (doc_id, start_offset)",
        f"""CREATE TABLE {s}.sentences{t} (
              sentence_id text PRIMARY KEY,
              doc_id text NOT NULL REFERENCES {s}.documents{t} ON DELETE CASCADE,
              start_offset integer NOT NULL, end_offset integer NOT NULL,
              terms text[] NOT NULL, embedding vector({dim}) NOT NULL)""",
        f"CREATE INDEX sentences{t}_doc ON {s}.sentences{t} (doc_id, start_offset)",
        # chunks per lexeme (any configuration): BM25's document frequencies, and the rare
        # words of a question that lexical search gathers its candidates from
        f"CREATE TABLE {s}.lexemes{t} (lexeme text PRIMARY KEY, df bigint NOT NULL)",
    ]


def _search_indexes(schema: str, suffix: str) -> list[str]:
    """Built after a bulk load (faster than row by row)."""
    s, t = f'"{schema}"', suffix
    return [
        # one per configuration: lexical search asks each for its own chunks, and a
        # configuration that no chunk uses is then an empty index, not a scan of all matches
        *(f"CREATE INDEX chunks{t}_tsv_{cfg} ON {s}.chunks{t} USING gin (tsv) "
          f"WHERE ts_config = '{cfg}'::regconfig" for cfg in LEXICAL_CONFIGS),
        f"CREATE INDEX chunks{t}_hnsw ON {s}.chunks{t} USING hnsw (embedding vector_ip_ops)",
        f"CREATE INDEX sentences{t}_terms ON {s}.sentences{t} USING gin (terms)",
        f"CREATE INDEX sentences{t}_hnsw ON {s}.sentences{t} "
        "USING hnsw (embedding vector_ip_ops)",
    ]


def _ensure_extension(backend: PostgresBackend, conn: Any) -> None:
    import psycopg

    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone():
        return
    try:
        with conn.transaction():
            conn.execute("SET LOCAL search_path TO DEFAULT")  # where extensions usually go
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.errors.InsufficientPrivilege as e:
        raise StoreUnavailableError(f"the pgvector extension is not installed in the database "
                                    f"of {backend.where}, and this user may not install it: "
                                    "run `CREATE EXTENSION vector;` there as a superuser") from e
    except psycopg.errors.UndefinedFile as e:
        raise StoreUnavailableError(f"the PostgreSQL server of {backend.where} has no pgvector "
                                    "extension: install pgvector on it") from e
    row = conn.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                       "ON n.oid = e.extnamespace WHERE e.extname = 'vector'").fetchone()
    conn.execute("SELECT set_config('search_path', %s, true)",
                 (f'"{backend.schema}", "{row[0]}"',))
    register_vector(conn)


def write(backend: PostgresBackend, conn: Any, config: IndexConfig, dim: int,
           records: list[DocumentRecord], delete: list[str], replace: bool) -> None:
    schema = backend.schema
    s = f'"{schema}"'
    _ensure_extension(backend, conn)
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
    meta = read_meta(conn, schema)
    fresh = replace or meta is None
    if meta is not None and not replace:
        backend._check_version(meta)
        mismatch = config_mismatch(meta["config"], config, backend.where)
        if mismatch is not None:
            raise mismatch
        if int(meta["dim"]) != dim:
            has_documents = conn.execute(f"SELECT EXISTS (SELECT 1 FROM {s}.documents)").fetchone()
            if has_documents and has_documents[0]:
                raise IndexMismatchError(f"index in {backend.where} has vectors of dimension "
                                         f"{meta['dim']}, the embedder gives {dim}; "
                                         f"{REBUILD_HINT}")
            fresh = True
    if fresh:
        # load into new tables, index them, then swap them in: readers wait only for the swap
        suffix = "_" + secrets.token_hex(4)
        for statement in _ddl(schema, suffix, dim):
            conn.execute(statement)
        _insert(conn, schema, suffix, config, records, first_ordinal=1)
        conn.execute(f"INSERT INTO {s}.lexemes{suffix} SELECT u.lexeme, count(*) "
                     f"FROM {s}.chunks{suffix} c, unnest(c.tsv) u GROUP BY u.lexeme")
        conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for statement in _search_indexes(schema, suffix):
            conn.execute(statement)
        conn.execute(f"INSERT INTO {s}.meta{suffix} (schema_version, config, dim) "
                     "VALUES (%s, %s, %s)", (SCHEMA_VERSION, json.dumps(asdict(config)), dim))
        conn.execute("DROP TABLE IF EXISTS " + ", ".join(f"{s}.{n}" for n in TABLES)
                     + " CASCADE")
        for n in TABLES:
            conn.execute(f"ALTER TABLE {s}.{n}{suffix} RENAME TO {n}")
    else:
        ids = [r.document.doc_id for r in records]
        kept = dict(conn.execute(f"SELECT doc_id, ordinal FROM {s}.documents "
                                 "WHERE doc_id = ANY(%s)", (ids,)).fetchall())
        gone = list(set(delete) | set(ids))
        _count_lexemes(conn, s, gone, -1)
        conn.execute(f"DELETE FROM {s}.documents WHERE doc_id = ANY(%s)", (gone,))
        row = conn.execute(f"SELECT coalesce(max(ordinal), 0) FROM {s}.documents").fetchone()
        _insert(conn, schema, "", config, records, first_ordinal=int(row[0]) + 1, kept=kept)
        _count_lexemes(conn, s, ids, +1)
    conn.execute(f"""UPDATE {s}.meta SET config = %s, dim = %s, updated = now(),
                       chunks = (SELECT coalesce(sum(n_chunks), 0) FROM {s}.documents),
                       sentences = (SELECT coalesce(sum(n_sentences), 0) FROM {s}.documents),
                       lexemes = (SELECT coalesce(sum(n_lexemes), 0) FROM {s}.documents)""",
                 (json.dumps(asdict(config)), dim))


def _count_lexemes(conn: Any, s: str, doc_ids: list[str], sign: int) -> None:
    """Add (``sign`` +1) or take away (-1) the lexemes of these documents' chunks."""
    if not doc_ids:
        return
    conn.execute(f"""INSERT INTO {s}.lexemes AS l
                     SELECT u.lexeme, %s * count(*) FROM {s}.chunks c, unnest(c.tsv) u
                     WHERE c.doc_id = ANY(%s) GROUP BY u.lexeme
                     ON CONFLICT (lexeme) DO UPDATE SET df = l.df + EXCLUDED.df""",
                 (sign, doc_ids))
    if sign < 0:
        conn.execute(f"DELETE FROM {s}.lexemes WHERE df <= 0")


def _insert(conn: Any, schema: str, suffix: str, config: IndexConfig,
            records: Sequence[DocumentRecord], first_ordinal: int,
            kept: dict[str, int] | None = None) -> None:
    """COPY the records' documents, chunks and sentences in (binary)."""
    from psycopg.types.json import Jsonb

    from qa.text import terms

    s, t = f'"{schema}"', suffix
    kept = kept or {}
    ordinal = first_ordinal
    docs, chunks, sentences = [], [], []
    oids: dict[str, int] = {}  # a regconfig travels as its oid in binary COPY
    for r in records:
        d = r.document
        name = ts_config(d, config.lexical_language)
        if name not in oids:
            oids[name] = int(conn.execute("SELECT %s::regconfig::oid", (name,)).fetchone()[0])
        cfg = oids[name]
        if d.doc_id in kept:
            place = kept[d.doc_id]
        else:
            place, ordinal = ordinal, ordinal + 1
        docs.append((d.doc_id, place, d.source, d.title, d.text, d.sha256, Jsonb(d.meta), cfg,
                     len(r.chunks), len(r.sentences)))
        vectors = np.asarray(r.chunk_vectors, dtype=np.float32)
        for c, v in zip(r.chunks, vectors, strict=True):
            chunks.append((c.chunk_id, c.doc_id, c.source, c.title, c.text, c.start, c.end,
                           cfg, v))
        vectors = np.asarray(r.sentence_vectors, dtype=np.float32)
        for u, v in zip(r.sentences, vectors, strict=True):
            sentences.append((u.sentence_id, u.doc_id, u.start, u.end,
                              sorted(terms(d.text[u.start:u.end])), v))
    _copy(conn, f"{s}.documents{t} (doc_id, ordinal, source, title, text, sha256, meta, "
          "ts_config, n_chunks, n_sentences)",
          ["text", "int8", "text", "text", "text", "text", "jsonb", "oid", "int4", "int4"],
          docs)
    _copy(conn, f"{s}.chunks{t} (chunk_id, doc_id, source, title, text, start_offset, "
          "end_offset, ts_config, embedding)",
          ["text", "text", "text", "text", "text", "int4", "int4", "oid", "vector"],
          chunks)
    _copy(conn, f"{s}.sentences{t} (sentence_id, doc_id, start_offset, end_offset, terms, "
          "embedding)", ["text", "text", "int4", "int4", "text[]", "vector"], sentences)
    if chunks:  # chunk lengths in lexemes, for BM25's length normalisation
        conn.execute(f"""UPDATE {s}.documents{t} d SET n_lexemes = x.n
                         FROM (SELECT doc_id, sum(length(tsv)) AS n FROM {s}.chunks{t}
                               WHERE doc_id = ANY(%s) GROUP BY doc_id) x
                         WHERE d.doc_id = x.doc_id""", ([r.document.doc_id for r in records],))


def _copy(conn: Any, target: str, types: list[str], rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    with conn.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


