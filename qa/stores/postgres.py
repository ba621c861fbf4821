"""PostgreSQL + pgvector store: one database that many workers read and ingests write.

Documents, chunks and sentences are rows keyed by their content-hash ids; every chunk and
sentence carries its vector in a pgvector column with an HNSW index (``vector_ip_ops``: the
vectors are unit length, so the inner product is the cosine). The lexical side is PostgreSQL's
full-text search: each chunk has a ``tsvector`` in its document's language (German or English
Snowball, ``simple`` otherwise) under a GIN index, ranked with ``ts_rank``. Sentences keep their
evidence terms (``qa.evidence.terms``) in a ``text[]`` under a GIN index, for term frequencies.
A one-row ``meta`` table holds the schema version, the ``IndexConfig`` and the dimension.

A write is one transaction: readers see the state before or after it. A rebuild (``replace``,
a first write, another schema version or dimension) loads fresh tables and swaps them in at the
end; readers wait only for the swap, not for the load. ``lock`` is a session advisory lock, so
a killed ingest releases it with its connection, and its transaction rolls back.

The price: ``ts_rank`` is not BM25 (no inverse document frequency), HNSW search is approximate
(``hnsw.ef_search`` is raised to ``k``), and one ``Store`` is one connection, whose queries are
serialised across threads (a worker per process scales; threads in one process do not).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import secrets
import struct
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from qa.errors import IndexMismatchError, QAError, StoreUnavailableError
from qa.stores.base import REBUILD_HINT, DocumentRecord, IndexConfig, Ranked, config_mismatch
from qa.types import Chunk, Document, Sentence

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
TABLES = ("meta", "documents", "chunks", "sentences")
TS_CONFIGS = {"de": "german", "en": "english"}  # detected language -> text-search configuration
_LEXICAL_CONFIGS = ("german", "english", "simple")
_MAX_EF_SEARCH = 1000  # pgvector's limit; a larger k is answered by an exact scan
_WORD = re.compile(r"[^\W_]+", re.U)
_T = TypeVar("_T")


def _schema_name(schema: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", schema):
        raise QAError(f"postgres schema name {schema!r}: use lower-case letters, digits and _")
    return schema


def _lock_key(schema: str, what: str) -> int:
    """A signed 64-bit advisory-lock key for one schema (``ingest`` or ``write``)."""
    digest = hashlib.blake2b(f"qa:{schema}:{what}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _redact(url: str) -> str:
    """The URL without its password, for messages.

    >>> _redact("postgresql://qa:s3cret@db.example:5433/articles?sslmode=require")
    'postgresql://qa@db.example:5433/articles'
    """
    from urllib.parse import urlsplit

    try:
        u = urlsplit(url)
        host = u.hostname or "localhost"
        port = f":{u.port}" if u.port else ""
        user = f"{u.username}@" if u.username else ""
        return f"{u.scheme}://{user}{host}{port}{u.path}"
    except ValueError:
        return "the configured database"


def _first_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(e).__name__


def query_words(text: str, limit: int = 64) -> list[str]:
    """The distinct words of a question for a full-text query (letters and digits only, so
    nothing in them is tsquery syntax).

    >>> query_words("Wie viele Parameter hat Qwen3-Max? Parameter!")
    ['wie', 'viele', 'parameter', 'hat', 'qwen3', 'max']
    """
    return list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))[:limit]


def ts_config(document: Document, lexical_language: str = "auto") -> str:
    """The text-search configuration for a document: its detected language's Snowball stemmer,
    or the configured one when ``lexical_language`` is not "auto".

    >>> ts_config(Document("d", "a.txt", "", "The cloud grew and the shares rose.", "x"))
    'english'
    """
    if lexical_language != "auto":
        return lexical_language if lexical_language in _LEXICAL_CONFIGS else "simple"
    from qa.prompting import detect_language

    return TS_CONFIGS.get(detect_language(document.text[:5000]), "simple")


# -- vectors on the wire: pgvector's binary format (uint16 dim, uint16 0, big-endian float4) --

def _vector_bytes(v: np.ndarray) -> bytes:
    v = np.asarray(v, dtype=">f4").reshape(-1)
    return struct.pack(">HH", len(v), 0) + v.tobytes()


def _vector_array(data: Any) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=">f4", offset=4).astype(np.float32)


def _register_vector(conn: Any) -> None:
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


class PostgresBackend:
    """The index in one schema of a PostgreSQL database with pgvector (``StoreBackend``).

    ``PostgresBackend(settings)`` uses ``settings.database_url``, or with none an embedded
    server (``pgserver``) with its data in ``settings.data_dir / "postgres"``;
    ``PostgresBackend.at(url)`` names the database directly."""

    name = "postgres"

    def __init__(self, settings: Any = None, *, url: str = "", schema: str = "qa",
                 data_dir: Path | str | None = None) -> None:
        if settings is not None:
            url = url or getattr(settings, "database_url", "")
            if data_dir is None:
                data_dir = Path(settings.data_dir) / "postgres"
        self.url = url
        self.schema = _schema_name(schema)
        self.data_dir = Path(data_dir) if data_dir is not None else Path("data") / "postgres"
        self._server: Any = None
        self._reader: _Reader | None = None

    @classmethod
    def at(cls, url: str, schema: str = "qa") -> PostgresBackend:
        """The index in ``schema`` of the database at ``url``."""
        return cls(url=url, schema=schema)

    def __repr__(self) -> str:
        return f"PostgresBackend({self.where!r})"

    @property
    def where(self) -> str:
        """Where the index is, for messages (no password)."""
        place = _redact(self.url) if self.url else f"the embedded PostgreSQL in {self.data_dir}/"
        return f"schema {self.schema} of {place}"

    # -- connections ---------------------------------------------------------------------------
    def _conninfo(self) -> str:
        if self.url:
            return self.url
        if self._server is None:
            self._server = _embedded_server(self.data_dir)
        return str(self._server.get_uri())

    def connect(self, autocommit: bool = True) -> Any:
        """A new connection with this schema and the vector extension on its search path;
        ``StoreUnavailableError`` (one line) when the database cannot be reached."""
        import psycopg

        conninfo = self._conninfo()
        extra: dict[str, Any] = {} if "connect_timeout" in conninfo else {"connect_timeout": 5}
        try:
            conn = psycopg.connect(conninfo, autocommit=autocommit, prepare_threshold=None,
                                   **extra)
        except psycopg.Error as e:
            where = _redact(self.url) if self.url else f"the embedded PostgreSQL in {self.data_dir}/"
            raise StoreUnavailableError(f"PostgreSQL at {where} cannot be reached "
                                        f"({_first_line(e)}); start it, or set QA_DATABASE_URL "
                                        "to a running server") from e
        try:
            row = conn.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                               "ON n.oid = e.extnamespace WHERE e.extname = 'vector'").fetchone()
            path = [self.schema] + ([row[0]] if row and row[0] != self.schema else [])
            conn.execute("SELECT set_config('search_path', %s, false)",
                         (", ".join(f'"{p}"' for p in path),))
            if row:
                _register_vector(conn)
            if not autocommit:
                conn.commit()
        except BaseException:
            conn.close()
            raise
        return conn

    def _read_connection(self) -> _Reader:
        if self._reader is None or self._reader.closed:
            self._reader = _Reader(self)
        return self._reader

    def close(self) -> None:
        """Close the reading connection (the embedded server stops when the process ends)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # -- StoreBackend --------------------------------------------------------------------------
    def exists(self) -> bool:
        return self._read_connection().run(lambda c: _meta(c, self.schema)) is not None

    def open(self, expect: IndexConfig | None = None) -> PostgresStore:
        reader = self._read_connection()
        meta = reader.run(lambda c: _meta(c, self.schema))
        if meta is None:
            raise IndexMismatchError(f"no index in {self.where}: run `qa ingest` first")
        self._check_version(meta)
        if expect is not None:
            mismatch = config_mismatch(meta["config"], expect, self.where)
            if mismatch is not None:
                raise mismatch
        return PostgresStore(self, reader, int(meta["dim"]))

    def _check_version(self, meta: dict[str, Any]) -> None:
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise IndexMismatchError(f"index in {self.where} has schema version "
                                     f"{meta.get('schema_version')}, this qa reads "
                                     f"{SCHEMA_VERSION}; {REBUILD_HINT}")

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """A session advisory lock on its own connection: a second ingest waits; a killed one
        releases it when its connection drops."""
        conn = self.connect()
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (_lock_key(self.schema, "ingest"),))
            yield
        finally:
            conn.close()

    def write(self, config: IndexConfig, dim: int, upserts: Sequence[DocumentRecord],
              delete: Sequence[str] = (), replace: bool = False) -> None:
        """One transaction: ``delete`` and the old versions of ``upserts`` removed, ``upserts``
        loaded (a document already present keeps its place in the ingest order)."""
        import psycopg

        unique: dict[str, DocumentRecord] = {}
        for r in upserts:  # one record per document: the last one, in first-seen order
            unique[r.document.doc_id] = r
        records = list(unique.values())
        try:
            with self.connect(autocommit=False) as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(self.schema, "write"),))
                _write(self, conn, config, dim, records, list(delete), replace)
        except psycopg.OperationalError as e:
            raise StoreUnavailableError(f"writing to {self.where} failed "
                                        f"({_first_line(e)}); nothing was changed") from e


def _embedded_server(data_dir: Path) -> Any:
    """The embedded PostgreSQL (pgserver) with its data in ``data_dir``, started if need be;
    it stops when the last process using it ends."""
    data_dir = Path(data_dir).expanduser().resolve()
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            import pgserver

            return pgserver.get_server(data_dir, cleanup_mode="stop")
    except ImportError as e:
        raise StoreUnavailableError("the embedded PostgreSQL needs the pgserver package "
                                    "(pip install pgserver), or set QA_DATABASE_URL") from e
    except Exception as e:  # subprocess and OS errors of initdb / pg_ctl
        raise StoreUnavailableError(f"the embedded PostgreSQL in {data_dir}/ did not start "
                                    f"({_first_line(e)}); see {data_dir}/log") from e


class _Reader:
    """One reading connection, shared by the stores a backend opens; queries are serialised,
    and a broken connection is opened again once before giving up."""

    def __init__(self, backend: PostgresBackend) -> None:
        self._backend = backend
        self._lock = threading.RLock()
        self._conn: Any = None
        self._finalizer: Any = None
        self.closed = False

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self._backend.connect()
            self._finalizer = weakref.finalize(self, self._conn.close)
        return self._conn

    def run(self, fn: Callable[[Any], _T]) -> _T:
        import psycopg

        with self._lock:
            for attempt in (1, 2):
                try:
                    return fn(self._connection())
                except psycopg.OperationalError as e:
                    self.reset()
                    if attempt == 2:
                        raise StoreUnavailableError(
                            f"PostgreSQL with {self._backend.where} stopped answering "
                            f"({_first_line(e)})") from e
                except psycopg.errors.UndefinedTable as e:
                    raise IndexMismatchError(f"no index in {self._backend.where} (tables are "
                                             f"missing); {REBUILD_HINT}") from e
        raise AssertionError("unreachable")

    def reset(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        self.reset()
        self.closed = True


def _meta(conn: Any, schema: str) -> dict[str, Any] | None:
    """The meta row as a dict (whatever version wrote it), or None when there is none."""
    row = conn.execute("SELECT to_regclass(%s)", (f'"{schema}".meta',)).fetchone()
    if row is None or row[0] is None:
        return None
    got = conn.execute(f'SELECT to_jsonb(m) FROM "{schema}".meta m').fetchone()
    return dict(got[0]) if got else None


# -- writing -------------------------------------------------------------------------------------

def _ddl(schema: str, suffix: str, dim: int) -> list[str]:
    s, t = f'"{schema}"', suffix
    return [
        f"""CREATE TABLE {s}.meta{t} (
              id boolean PRIMARY KEY DEFAULT true CHECK (id),
              schema_version integer NOT NULL, config jsonb NOT NULL, dim integer NOT NULL,
              chunks bigint NOT NULL DEFAULT 0, sentences bigint NOT NULL DEFAULT 0,
              created timestamptz NOT NULL DEFAULT now(),
              updated timestamptz NOT NULL DEFAULT now())""",
        f"""CREATE TABLE {s}.documents{t} (
              doc_id text PRIMARY KEY, ordinal bigint NOT NULL, source text NOT NULL,
              title text NOT NULL, text text NOT NULL, sha256 text NOT NULL,
              meta jsonb NOT NULL DEFAULT '{{}}', ts_config regconfig NOT NULL,
              n_chunks integer NOT NULL, n_sentences integer NOT NULL)""",
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
    ]


def _search_indexes(schema: str, suffix: str) -> list[str]:
    """Built after a bulk load (faster than row by row)."""
    s, t = f'"{schema}"', suffix
    return [
        f"CREATE INDEX chunks{t}_tsv ON {s}.chunks{t} USING gin (tsv)",
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
    _register_vector(conn)


def _write(backend: PostgresBackend, conn: Any, config: IndexConfig, dim: int,
           records: list[DocumentRecord], delete: list[str], replace: bool) -> None:
    schema = backend.schema
    s = f'"{schema}"'
    _ensure_extension(backend, conn)
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
    meta = _meta(conn, schema)
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
        conn.execute(f"DELETE FROM {s}.documents WHERE doc_id = ANY(%s)",
                     (list(set(delete) | set(ids)),))
        row = conn.execute(f"SELECT coalesce(max(ordinal), 0) FROM {s}.documents").fetchone()
        _insert(conn, schema, "", config, records, first_ordinal=int(row[0]) + 1, kept=kept)
    conn.execute(f"""UPDATE {s}.meta SET config = %s, dim = %s, updated = now(),
                       chunks = (SELECT coalesce(sum(n_chunks), 0) FROM {s}.documents),
                       sentences = (SELECT coalesce(sum(n_sentences), 0) FROM {s}.documents)""",
                 (json.dumps(asdict(config)), dim))


def _insert(conn: Any, schema: str, suffix: str, config: IndexConfig,
            records: Sequence[DocumentRecord], first_ordinal: int,
            kept: dict[str, int] | None = None) -> None:
    """COPY the records' documents, chunks and sentences in (binary)."""
    from psycopg.types.json import Jsonb

    from qa.evidence import terms

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


def _copy(conn: Any, target: str, types: list[str], rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    with conn.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


# -- reading -------------------------------------------------------------------------------------

class PostgresStore:
    """The reading side (``Store``): every call reads the latest committed state."""

    def __init__(self, backend: PostgresBackend, reader: _Reader, dim: int) -> None:
        self.backend = backend
        self.dim = dim
        self._reader = reader
        self._s = f'"{backend.schema}"'

    def __repr__(self) -> str:
        return f"PostgresStore({self.backend.where!r})"

    def _all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        return self._reader.run(lambda c: c.execute(sql.replace("{s}", self._s),
                                                    params).fetchall())

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

    def _nearest(self, sql: str, vector: np.ndarray, k: int) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (``{s}`` the schema, ``%(v)s`` the vector) nearest first."""
        if k <= 0:
            return []
        v = np.asarray(vector, dtype=np.float32).reshape(-1)

        def run(c: Any) -> list[tuple[Any, ...]]:
            with c.transaction():
                if k > _MAX_EF_SEARCH:  # beyond HNSW's reach: an exact scan
                    c.execute("SET LOCAL enable_indexscan = off")
                else:
                    c.execute("SELECT set_config('hnsw.ef_search', %s, true)",
                              (str(max(40, k)),))
                return c.execute(sql.replace("{s}", self._s), {"v": v, "k": k}).fetchall()

        return self._reader.run(run)

    def search(self, vector: np.ndarray, k: int) -> Ranked:
        rows = self._nearest("SELECT chunk_id, -(embedding <#> %(v)b) FROM {s}.chunks "
                             "ORDER BY embedding <#> %(v)b LIMIT %(k)s", vector, k)
        return [(i, float(score)) for i, score in rows]

    def search_sentences(self, vector: np.ndarray, k: int) -> list[tuple[Sentence, float]]:
        rows = self._nearest("SELECT sentence_id, doc_id, start_offset, end_offset, "
                             "-(embedding <#> %(v)b) FROM {s}.sentences "
                             "ORDER BY embedding <#> %(v)b LIMIT %(k)s", vector, k)
        return [(Sentence(*r[:4]), float(r[4])) for r in rows]

    def lexical_search(self, text: str, k: int) -> Ranked:
        words = query_words(text)
        if not words or k <= 0:
            return []
        query = " | ".join(words)
        rows = self._all("""
            WITH q AS (SELECT to_tsquery('german', %(q)s) AS de, to_tsquery('english', %(q)s) AS en,
                              to_tsquery('simple', %(q)s) AS si),
            hits AS (
              SELECT c.chunk_id, ts_rank(c.tsv, CASE c.ts_config WHEN 'german'::regconfig THEN q.de
                       WHEN 'english'::regconfig THEN q.en ELSE q.si END) AS score
              FROM {s}.chunks c, q
              WHERE (c.ts_config = 'german'::regconfig AND c.tsv @@ q.de)
                 OR (c.ts_config = 'english'::regconfig AND c.tsv @@ q.en)
                 OR (c.ts_config NOT IN ('german'::regconfig, 'english'::regconfig)
                     AND c.tsv @@ q.si))
            SELECT chunk_id, score FROM hits WHERE score > 0
            ORDER BY score DESC, chunk_id LIMIT %(k)s""", {"q": query, "k": k})
        return [(i, float(score)) for i, score in rows]

    def lexical_coverage(self, text: str) -> float:
        from qa.prompting import STOP_WORDS

        words = [w for w in query_words(text) if w not in STOP_WORDS and len(w) > 1]
        if not words:
            return 0.0
        rows = self._all("""
            SELECT w, numnode(to_tsquery('german', w)) > 0
                      AND numnode(to_tsquery('english', w)) > 0 AS content,
                   EXISTS (SELECT 1 FROM {s}.chunks c
                           WHERE (c.ts_config = 'german'::regconfig
                                  AND c.tsv @@ to_tsquery('german', w))
                              OR (c.ts_config = 'english'::regconfig
                                  AND c.tsv @@ to_tsquery('english', w))
                              OR (c.ts_config NOT IN ('german'::regconfig, 'english'::regconfig)
                                  AND c.tsv @@ to_tsquery('simple', w))) AS known
            FROM unnest(%s::text[]) AS w""", (words,))
        content = [known for _, is_content, known in rows if is_content]
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
                             "WHERE sentence_id = ANY(%s)", (list(ids),)))
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
