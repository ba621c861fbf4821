"""Where the PostgreSQL store is and how it is reached: connections (``StoreUnavailableError``,
one line, when the database cannot be reached), a pool of reading connections shared by the
threads of a process, the embedded server, the ingest lock, a write.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from qa.config import PG_SCHEMA_RE
from qa.errors import IndexMismatchError, QAError, StoreUnavailableError
from qa.stores.base import REBUILD_HINT, DocumentRecord, IndexConfig, config_mismatch
from qa.stores.postgres import schema as tables
from qa.stores.postgres.store import EF_SEARCH, PostgresStore

_T = TypeVar("_T")
log = logging.getLogger(__name__)
POOL_SIZE = 4  # reading connections per backend (per process), unless settings say otherwise
POOL_TIMEOUT_S = 10.0  # how long a reader waits for a free connection


def _schema_name(schema: str) -> str:
    """``schema`` when it may name a schema (``qa.config.PG_SCHEMA_RE``); it is always quoted
    in SQL as well, but only names that pass here are ever quoted.

    >>> _schema_name("qa_team_a")
    'qa_team_a'
    >>> _schema_name('qa"; DROP')
    Traceback (most recent call last):
    qa.errors.QAError: postgres schema name 'qa"; DROP': use lower-case letters, digits and _ (not pg_)
    """
    if not isinstance(schema, str) or not PG_SCHEMA_RE.fullmatch(schema):
        raise QAError(f"postgres schema name {str(schema)[:80]!r}: use lower-case letters, "
                      "digits and _ (not pg_)")
    return schema


def _lock_key(schema: str, what: str) -> int:
    """A signed 64-bit advisory-lock key for one schema (``ingest`` or ``write``)."""
    digest = hashlib.blake2b(f"qa:{schema}:{what}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _parse(conninfo: str) -> dict[str, str] | None:
    """The parts of a connection string (URL or ``key=value`` form), or None when libpq cannot
    read it (its own message then quotes the string, password and all, so it is not shown)."""
    from psycopg import Error
    from psycopg.conninfo import conninfo_to_dict

    try:
        return {k: str(v) for k, v in conninfo_to_dict(conninfo).items()}
    except Error:
        return None


def _redact(url: str) -> str:
    """Where a connection string points, without its password, for messages.

    >>> _redact("postgresql://qa:s3cret@db.example:5433/articles?sslmode=require")
    'postgresql://qa@db.example:5433/articles'
    >>> _redact("host=db.example user=qa password=s3cret dbname=articles")
    'postgresql://qa@db.example/articles'
    >>> _redact("qa:s3cret@db.example/articles")
    'the configured database (QA_DATABASE_URL is not a valid connection string)'
    """
    parts = _parse(url)
    if parts is None:
        return "the configured database (QA_DATABASE_URL is not a valid connection string)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host') or 'localhost'}{port}/{parts.get('dbname', '')}"


def _scrub(message: str, conninfo: str) -> str:
    """``message`` without the connection string or its password, wherever libpq quoted them.

    >>> _scrub('bad "postgresql://qa:pw@h/d": pw', "postgresql://qa:pw@h/d")
    'bad "***": ***'
    """
    secrets = [conninfo]
    parts = _parse(conninfo) if conninfo else None
    if parts and parts.get("password"):
        secrets.append(parts["password"])
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


def _first_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(e).__name__


class PostgresBackend:
    """The index in one schema of a PostgreSQL database with pgvector (``StoreBackend``).

    ``PostgresBackend(settings)`` uses ``settings.database_url``, or with none an embedded
    server (``pgserver``) with its data in ``settings.data_dir / "postgres"``, and the schema
    ``settings.pg_schema`` (a collection's own, ``qa.collections.pg_schema``);
    ``PostgresBackend.at(url)`` names the database directly."""

    name = "postgres"

    def __init__(self, settings: Any = None, *, url: str = "", schema: str | None = None,
                 data_dir: Path | str | None = None, pool_size: int | None = None) -> None:
        if settings is not None:
            url = url or getattr(settings, "database_url", "")
            if data_dir is None:
                data_dir = Path(settings.data_dir) / "postgres"
            if pool_size is None:
                pool_size = getattr(settings, "pg_pool_size", None)
            if schema is None:
                schema = getattr(settings, "pg_schema", None)
        self.url = url
        self.pool_size = max(1, pool_size or POOL_SIZE)
        self.schema = _schema_name(schema or "qa")
        self.data_dir = Path(data_dir) if data_dir is not None else Path("data") / "postgres"
        self._server: Any = None
        self._reader: _Reader | None = None
        self._reader_lock = threading.Lock()

    @classmethod
    def at(cls, url: str, schema: str = "qa", pool_size: int | None = None) -> PostgresBackend:
        """The index in ``schema`` of the database at ``url``."""
        return cls(url=url, schema=schema, pool_size=pool_size)

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

    def _connect_kwargs(self) -> dict[str, Any]:
        return {} if "connect_timeout" in self._conninfo() else {"connect_timeout": 5}

    def _why(self, e: BaseException) -> str:
        """The first line of a database error, without the password (libpq quotes the
        connection string in some messages)."""
        return _scrub(_first_line(e), self.url)

    def _unreachable(self, e: BaseException) -> StoreUnavailableError:
        if self.url and _parse(self.url) is None:
            return StoreUnavailableError(
                "QA_DATABASE_URL is not a valid PostgreSQL connection string: use "
                "postgresql://user:password@host:port/dbname (percent-encode spaces and special "
                "characters) or host=… user=… password=… dbname=…")
        where = _redact(self.url) if self.url else f"the embedded PostgreSQL in {self.data_dir}/"
        return StoreUnavailableError(f"PostgreSQL at {where} cannot be reached "
                                     f"({self._why(e)}); start it, or set QA_DATABASE_URL "
                                     "to a running server")

    def connect(self, autocommit: bool = True) -> Any:
        """A new connection with this schema and the vector extension on its search path;
        ``StoreUnavailableError`` (one line) when the database cannot be reached."""
        import psycopg

        conninfo = self._conninfo()
        try:
            conn = psycopg.connect(conninfo, autocommit=autocommit, **self._connect_kwargs())
        except psycopg.Error as e:  # not chained: the original quotes the connection string
            raise self._unreachable(e) from None
        try:
            self._prepare(conn)
            if not autocommit:
                conn.commit()
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare(self, conn: Any) -> None:
        """This schema and the vector extension's on the search path, vectors as numpy; for a
        reading connection (autocommit) also the session settings of the reading side."""
        row = conn.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                           "ON n.oid = e.extnamespace WHERE e.extname = 'vector'").fetchone()
        path = [self.schema] + ([row[0]] if row and row[0] != self.schema else [])
        conn.execute("SELECT set_config('search_path', %s, false)",
                      (", ".join(f'"{p}"' for p in path),))
        if row:
            tables.register_vector(conn)
        if conn.autocommit:
            # reads are short: JIT compilation (on by default from PostgreSQL 12 where LLVM
            # is installed) would cost more than it saves on the lexical query's estimate
            conn.execute("SELECT set_config('jit', 'off', false)")
            if row:  # HNSW candidates; a search with a larger k raises it for its transaction
                conn.execute("SELECT set_config('hnsw.ef_search', %s, false)", (str(EF_SEARCH),))

    def _read_connection(self) -> _Reader:
        with self._reader_lock:
            if self._reader is None or self._reader.closed:
                self._reader = _Reader(self)
            return self._reader

    def close(self, stop: bool = False) -> None:
        """Close the reading connections; ``stop``: also let go of the embedded server, which
        stops when no process uses it any more (otherwise it stops when this process ends)."""
        with self._reader_lock:
            reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()
        if stop and self._server is not None:
            self._server.cleanup()
            self._server = None

    # -- StoreBackend --------------------------------------------------------------------------
    def exists(self) -> bool:
        meta = self._read_connection().run(lambda c: tables.read_meta(c, self.schema))
        return meta is not None

    def open(self, expect: IndexConfig | None = None) -> PostgresStore:
        reader = self._read_connection()
        meta = reader.run(lambda c: tables.read_meta(c, self.schema))
        if meta is None:
            raise IndexMismatchError(f"no index in {self.where}: run `qa ingest` first")
        self._check_version(meta)
        if expect is not None:
            mismatch = config_mismatch(meta["config"], expect, self.where)
            if mismatch is not None:
                raise mismatch
        return PostgresStore(self, reader, int(meta["dim"]))

    def _check_version(self, meta: dict[str, Any]) -> None:
        if meta.get("schema_version") != tables.SCHEMA_VERSION:
            raise IndexMismatchError(f"index in {self.where} has schema version "
                                     f"{meta.get('schema_version')}, this qa reads "
                                     f"{tables.SCHEMA_VERSION}; {REBUILD_HINT}")

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
                tables.write(self, conn, config, dim, records, list(delete), replace)
        except psycopg.OperationalError as e:
            raise StoreUnavailableError(f"writing to {self.where} failed "
                                        f"({self._why(e)}); nothing was changed") from None
        if self._reader is not None:
            # the reading connections may predate the vector extension (opened to ask whether
            # an index exists, before the first write created it) or the tables a replace
            # swapped in: they are all replaced
            self._reader.reset()


HANDLE_PIDS = ".handle_pids.json"  # pgserver's list of the processes using a server


def _forget_dead_handles(data_dir: Path) -> list[int]:
    """Take the processes that ended without saying so (SIGTERM, kill -9) off pgserver's list
    of users of the server in ``data_dir``; returns their pids. pgserver stops the server when
    the last process on the list exits, so one stale pid would keep it running for ever."""
    path = data_dir / HANDLE_PIDS
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(pids, list):
        return []
    dead = [p for p in pids if not isinstance(p, int) or not _alive(p)]
    if dead:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps([p for p in pids if p not in dead]))
        os.replace(tmp, path)
        log.info("embedded PostgreSQL: forgot %d ended process(es) %s", len(dead), dead)
    return dead


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _embedded_server(data_dir: Path) -> Any:
    """The embedded PostgreSQL (pgserver) with its data in ``data_dir``, started if need be;
    it stops when the last process using it ends (processes that ended without saying so
    are forgotten first)."""
    data_dir = Path(data_dir).expanduser().resolve()
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(data_dir)
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
    """The reading connections of one backend, shared by the stores it opens and by the
    threads that use them: a ``psycopg_pool.ConnectionPool`` of at most ``pool_size``
    connections, each checked when it is taken. A broken connection makes all of them be
    replaced and the call tried once more; when the database is down the pool is closed and
    the error is ``connect``'s one line, at once (the next call tries a new pool)."""

    def __init__(self, backend: PostgresBackend) -> None:
        self._backend = backend
        self._lock = threading.Lock()
        self._pool: Any = None
        self._finalizer: Any = None
        self.closed = False

    def _connections(self) -> Any:
        with self._lock:
            if self._pool is None:  # (again, for a store still used after a close)
                from psycopg_pool import ConnectionPool

                b = self._backend
                # one connection directly first: a database that cannot be reached is
                # reported at once, in one line, rather than after the pool's timeout
                b.connect().close()
                pool = ConnectionPool(b._conninfo(), min_size=1, max_size=b.pool_size,
                                      kwargs={"autocommit": True, **b._connect_kwargs()},
                                      configure=b._prepare, timeout=POOL_TIMEOUT_S,
                                      num_workers=1, name=f"qa-{b.schema}", open=False)
                pool.open()
                self._pool = pool
                self._finalizer = weakref.finalize(self, pool.close, 1.0)
            return self._pool

    def _drop(self, pool: Any) -> None:
        """Close ``pool`` (the database went away): the next call starts again."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
                if self._finalizer is not None:
                    self._finalizer.detach()
                    self._finalizer = None
        pool.close(timeout=1.0)

    def _check_reachable(self, pool: Any, e: BaseException) -> None:
        try:
            self._backend.connect().close()
        except StoreUnavailableError as down:
            self._drop(pool)
            raise down from e

    def run(self, fn: Callable[[Any], _T]) -> _T:
        import psycopg
        from psycopg_pool import ConnectionPool, PoolTimeout

        for attempt in (1, 2):
            pool = self._connections()
            try:
                with pool.connection() as conn:
                    ConnectionPool.check_connection(conn)  # an idle one may have been dropped
                    return fn(conn)
            except PoolTimeout as e:
                self._check_reachable(pool, e)
                raise StoreUnavailableError(
                    f"no free connection to {self._backend.where} within {POOL_TIMEOUT_S:.0f} s "
                    f"(all {self._backend.pool_size} in use; QA_PG_POOL_SIZE sets how many)"
                ) from e
            except (psycopg.OperationalError, psycopg.errors.FeatureNotSupported) as e:
                # a dropped connection, or a prepared statement whose table a rebuild
                # replaced ("cached plan must not change result type"): the pool's other
                # connections are as stale, so all of them are replaced
                if isinstance(e, psycopg.OperationalError):
                    self._check_reachable(pool, e)
                pool.drain()
                if attempt == 2:
                    raise StoreUnavailableError(
                        f"PostgreSQL with {self._backend.where} stopped answering "
                        f"({self._backend._why(e)})") from None
            except psycopg.errors.UndefinedTable as e:
                raise IndexMismatchError(f"no index in {self._backend.where} (tables are "
                                         f"missing); {REBUILD_HINT}") from e
        raise AssertionError("unreachable")

    def reset(self) -> None:
        """Replace every connection (after a write: the vector extension or the tables may
        be new)."""
        with self._lock:
            pool = self._pool
        if pool is not None:
            pool.drain()

    def close(self) -> None:
        with self._lock:
            pool, self._pool, self.closed = self._pool, None, True
            if self._finalizer is not None:
                self._finalizer.detach()
                self._finalizer = None
        if pool is not None:
            pool.close()
