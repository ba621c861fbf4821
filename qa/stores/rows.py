"""The rows of a FAISS store version on disk: documents, chunks, sentences and sentence term
frequencies in one SQLite file, read by row or by id when a question needs them.

Held as Python objects, 1,000,000 chunks took 1.27 GB resident (docs/scaling.md), before their
documents and ~5M sentences. In ``rows.sqlite`` they stay on disk: a question reads its ~40
chunks, the documents evidence needs and their sentences through indexed lookups (a fraction of
a millisecond each with the file in the page cache), and the process holds only SQLite's page
cache. A row number is a position shared with the other files of the version: chunk row ``i``
is row ``i`` of ``vectors.npy``, ``dense.faiss`` and the lexical index, sentence row ``i`` that
of ``sentence_vectors.npy``. A document's chunks and sentences are consecutive rows in text
order, and each chunk knows the range of sentences that overlap it.

Tables: ``documents`` (text, metadata, its chunk and sentence row ranges), ``chunks`` (text,
offsets, sentence range; source and title only where they differ from the document's),
``sentences`` (offsets), ``terms`` (evidence term -> number of sentences containing it, counted
at write time, so opening a version scans nothing). Ids are indexed, not unique: when two
documents share an id (indexes of hand-made records; ingest makes one id per source), a lookup by
id gives the later one, as the dictionaries of the earlier in-memory store did.

The file is written once into the version's temporary folder without a journal (a crash leaves
only that folder, which the next writer removes) and read with ``immutable=1``: a version never
changes after it is renamed into place, so readers take no locks. Each thread reads through its
own connection (the UI and the HTTP server answer from several threads).

The price: every chunk text is stored beside its document's text (about twice the text on disk),
a lookup is a query rather than a dictionary access, and ``list_documents`` reads every document.
"""

from __future__ import annotations

import bisect
import io
import json
import os
import sqlite3
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, overload

import numpy as np

from qa.errors import IndexMismatchError
from qa.types import Chunk, Document, Sentence

FILE = "rows.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (row INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, source TEXT NOT NULL,
    title TEXT NOT NULL, text TEXT NOT NULL, sha256 TEXT NOT NULL, meta TEXT NOT NULL,
    chunk_lo INTEGER NOT NULL, chunk_hi INTEGER NOT NULL,
    sentence_lo INTEGER NOT NULL, sentence_hi INTEGER NOT NULL);
CREATE TABLE chunks (row INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL, doc_row INTEGER NOT NULL,
    source TEXT, title TEXT, text TEXT NOT NULL, start_offset INTEGER NOT NULL,
    end_offset INTEGER NOT NULL, sentence_lo INTEGER NOT NULL, sentence_hi INTEGER NOT NULL);
CREATE TABLE sentences (row INTEGER PRIMARY KEY, sentence_id TEXT NOT NULL,
    doc_row INTEGER NOT NULL, start_offset INTEGER NOT NULL, end_offset INTEGER NOT NULL);
CREATE TABLE terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
"""
_INDEXES = """
CREATE INDEX documents_doc_id ON documents (doc_id);
CREATE INDEX documents_source ON documents (source);
CREATE INDEX chunks_chunk_id ON chunks (chunk_id);
CREATE INDEX sentences_sentence_id ON sentences (sentence_id);
"""
_CHUNK = ("SELECT c.row, c.chunk_id, d.doc_id, coalesce(c.source, d.source), "
          "coalesce(c.title, d.title), c.text, c.start_offset, c.end_offset "
          "FROM chunks c JOIN documents d ON d.row = c.doc_row ")
_SENTENCE = ("SELECT s.row, s.sentence_id, d.doc_id, s.start_offset, s.end_offset "
             "FROM sentences s JOIN documents d ON d.row = s.doc_row ")
# a document's rows by its row ranges (CROSS JOIN: documents first, by the doc_id index; a plain
# join lets the planner scan every sentence)
_CHUNKS_OF = ("SELECT c.row, c.chunk_id, d.doc_id, coalesce(c.source, d.source), "
              "coalesce(c.title, d.title), c.text, c.start_offset, c.end_offset FROM documents d "
              "CROSS JOIN chunks c ON c.row >= d.chunk_lo AND c.row < d.chunk_hi "
              "WHERE d.doc_id = ? ORDER BY c.row")
_SENTENCES_OF = ("SELECT s.row, s.sentence_id, d.doc_id, s.start_offset, s.end_offset "
                 "FROM documents d CROSS JOIN sentences s "
                 "ON s.row >= d.sentence_lo AND s.row < d.sentence_hi "
                 "WHERE d.doc_id = ? ORDER BY s.row")
_DOCUMENT = "SELECT row, doc_id, source, title, text, sha256, meta FROM documents "
_IN = "IN (SELECT value FROM json_each(?))"  # a list of any length as one parameter


def sentence_spans(chunks: Sequence[Chunk], sentences: Sequence[Sentence]) -> list[tuple[int, int]]:
    """For each chunk, the range ``[lo, hi)`` of the sentences that overlap it (indices into
    ``sentences``, which are one document's in text order).

    >>> s = [Sentence(f"s{i}", "d", a, b) for i, (a, b) in enumerate([(0, 9), (10, 19), (20, 29)])]
    >>> c = [Chunk("c0", "d", "x", "t", "", 0, 19), Chunk("c1", "d", "x", "t", "", 10, 29)]
    >>> sentence_spans(c, s)
    [(0, 2), (1, 3)]
    """
    starts = [u.start for u in sentences]
    ends = [u.end for u in sentences]
    out = []
    for c in chunks:
        lo = bisect.bisect_right(ends, c.start)
        out.append((lo, max(lo, bisect.bisect_left(starts, c.end))))
    return out


class RowWriter:
    """Writes ``rows.sqlite`` document by document (``add``), then the term frequencies and the
    indexes (``close``). Rows are numbered in the order documents are added."""

    FLUSH = 20_000  # rows buffered before an insert

    def __init__(self, path: Path) -> None:
        from qa.text import terms

        self._terms = terms
        self._conn = sqlite3.connect(path)
        self._conn.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
                                 "PRAGMA cache_size = -65536;" + _SCHEMA)
        self.documents = self.chunks = self.sentences = 0
        self._df: Counter[str] = Counter()
        self._rows: dict[str, list[tuple[Any, ...]]] = {"documents": [], "chunks": [],
                                                        "sentences": []}

    def add(self, document: Document, chunks: Sequence[Chunk],
            sentences: Sequence[Sentence]) -> None:
        d, row, c0, s0 = document, self.documents, self.chunks, self.sentences
        self._rows["documents"].append((row, d.doc_id, d.source, d.title, d.text, d.sha256,
                                        json.dumps(d.meta, ensure_ascii=False),
                                        c0, c0 + len(chunks), s0, s0 + len(sentences)))
        for i, (c, (lo, hi)) in enumerate(zip(chunks, sentence_spans(chunks, sentences),
                                              strict=True)):
            self._rows["chunks"].append((c0 + i, c.chunk_id, row,
                                         None if c.source == d.source else c.source,
                                         None if c.title == d.title else c.title, c.text,
                                         c.start, c.end, s0 + lo, s0 + hi))
        for i, u in enumerate(sentences):
            self._rows["sentences"].append((s0 + i, u.sentence_id, row, u.start, u.end))
            self._df.update(self._terms(d.text[u.start:u.end]))
        self.documents += 1
        self.chunks += len(chunks)
        self.sentences += len(sentences)
        if len(self._rows["chunks"]) + len(self._rows["sentences"]) >= self.FLUSH:
            self._flush()

    def _flush(self) -> None:
        for table, rows in self._rows.items():
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                self._conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
                rows.clear()

    def close(self) -> None:
        self._flush()
        self._conn.executemany("INSERT INTO terms VALUES (?, ?)", sorted(self._df.items()))
        self._conn.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("schema", str(SCHEMA_VERSION)), ("documents", str(self.documents)),
            ("chunks", str(self.chunks)), ("sentences", str(self.sentences))])
        self._conn.executescript(_INDEXES)
        self._conn.commit()
        self._conn.close()

    def abort(self) -> None:
        self._conn.close()


T = TypeVar("T")


class RowView(Sequence[T]):
    """A read-only sequence over rows that are read when indexed or iterated (``store.chunks[i]``,
    ``len(store.sentences)``); nothing is held."""

    BATCH = 1000

    def __init__(self, fetch: Callable[[Sequence[int]], list[T]], size: int) -> None:
        self._fetch = fetch
        self._size = size

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, i: int) -> T: ...

    @overload
    def __getitem__(self, i: slice) -> list[T]: ...

    def __getitem__(self, i: int | slice) -> T | list[T]:
        if isinstance(i, slice):
            return self._fetch(range(self._size)[i])
        if not -self._size <= i < self._size:
            raise IndexError(f"row {i} outside 0..{self._size - 1}")
        return self._fetch([i % self._size])[0]

    def __iter__(self) -> Iterator[T]:
        for s in range(0, self._size, self.BATCH):
            yield from self._fetch(range(s, min(s + self.BATCH, self._size)))


class RowReader:
    """Reads a ``rows.sqlite`` written by ``RowWriter``; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = f"{path.parent.parent}/"  # the index folder, for the corrupt-index line
        self._uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
        self._local = threading.local()
        self._open: list[sqlite3.Connection] = []  # every thread's, closed with the reader
        self._guard = threading.Lock()
        weakref.finalize(self, _close_all, self._open, self._guard)
        meta = dict(self._all("SELECT key, value FROM meta"))
        if meta.get("schema") != str(SCHEMA_VERSION):
            raise ValueError(f"{FILE} has schema {meta.get('schema')}, expected {SCHEMA_VERSION}")
        self.counts = {k: int(meta[k]) for k in ("documents", "chunks", "sentences")}
        for table, n in self.counts.items():  # the last row is where the count says
            top = self._all(f"SELECT coalesce(max(row) + 1, 0) FROM {table}")[0][0]
            if top != n:
                raise ValueError(f"{FILE} has {top} {table}, its meta table says {n}")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if not self.path.is_file():  # sqlite would report a bare "unable to open"
                raise FileNotFoundError(f"{FILE} is missing")
            conn = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
            with self._guard:
                self._open.append(conn)
            self._local.conn = conn
        return conn

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn().execute(sql, params).fetchall()

    def _garbled(self, why: str) -> IndexMismatchError:
        """The corrupt-index line for rows that are missing or do not hold what they should (a
        ``rows.sqlite`` changed behind the checksums, or written before them)."""
        from qa.stores.base import REBUILD_HINT

        return IndexMismatchError(f"index in {self.where} is corrupt ({FILE}: {why}); "
                                  f"{REBUILD_HINT}")

    def _document_span(self, r: tuple[Any, ...]) -> tuple[Document, range, range]:
        n = self.counts
        return (_document(r[:7]), range(*_span(r[7], r[8], n["chunks"])),
                range(*_span(r[9], r[10], n["sentences"])))

    def _checked(self, make: Callable[[tuple[Any, ...]], T], r: tuple[Any, ...]) -> T:
        try:
            return make(r)
        except (TypeError, ValueError) as e:
            raise self._garbled(f"row {r[0]!r} is garbled: {e}") from None

    def _at(self, got: dict[Any, T], key: Any, what: str) -> T:
        try:
            return got[key]
        except KeyError:
            raise self._garbled(f"{what} row {key} is missing") from None

    # -- chunks ----------------------------------------------------------------------------------
    def chunks_at(self, rows: Sequence[int]) -> list[Chunk]:
        """The chunks of these rows, in that order (``IndexError`` for a row that is not)."""
        got = {r[0]: self._checked(_chunk, r) for r in self._all(_CHUNK + f"WHERE c.row {_IN}",
                                                                 (_json_ints(rows),))}
        return [self._at(got, r, "chunk") for r in rows]

    def chunk_ids(self, rows: Sequence[int]) -> list[str]:
        got = dict(self._all(f"SELECT row, chunk_id FROM chunks WHERE row {_IN}",
                             (_json_ints(rows),)))
        return [self._at(got, r, "chunk") for r in rows]

    def _rows_by_id(self, table: str, column: str, ids: Sequence[str]) -> list[int]:
        """The row of each id in ``table`` (``KeyError`` for an unknown one)."""
        got = {i: row for row, i in self._all(
            f"SELECT row, {column} FROM {table} WHERE {column} {_IN} ORDER BY row",
            (json.dumps(list(ids)),))}
        return [got[i] for i in ids]

    def chunk_rows(self, ids: Sequence[str]) -> list[int]:
        """The row of each chunk id (``KeyError`` for an unknown one)."""
        return self._rows_by_id("chunks", "chunk_id", ids)

    def chunks_by_id(self, ids: Sequence[str]) -> list[Chunk]:
        got = {r[1]: self._checked(_chunk, r) for r in self._all(
            _CHUNK + f"WHERE c.chunk_id {_IN} ORDER BY c.row", (json.dumps(list(ids)),))}
        lost = [i for i in ids if i not in got]
        if lost and self._all(f"SELECT 1 FROM chunks WHERE chunk_id {_IN} LIMIT 1",
                              (json.dumps(lost),)):
            raise self._garbled(f"chunk {lost[0]} belongs to no document")
        return [got[i] for i in ids]

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        return [self._checked(_chunk, r) for r in self._all(_CHUNKS_OF, (doc_id,))]

    def sentence_ranges(self, chunk_rows: Sequence[int]) -> list[tuple[int, int]]:
        """The sentence rows ``[lo, hi)`` that overlap each of these chunks."""
        n = self.counts["sentences"]
        return [self._checked(lambda r: _span(r[1], r[2], n), r) for r in self._all(
            f"SELECT row, sentence_lo, sentence_hi FROM chunks WHERE row {_IN}",
            (_json_ints(chunk_rows),))]

    # -- sentences -------------------------------------------------------------------------------
    def sentences_at(self, rows: Sequence[int]) -> list[Sentence]:
        got = {r[0]: self._checked(_sentence, r) for r in self._all(
            _SENTENCE + f"WHERE s.row {_IN}", (_json_ints(rows),))}
        return [self._at(got, r, "sentence") for r in rows]

    def sentence_rows(self, ids: Sequence[str]) -> list[int]:
        return self._rows_by_id("sentences", "sentence_id", ids)

    def sentences_of(self, doc_id: str) -> list[Sentence]:
        return [self._checked(_sentence, r) for r in self._all(_SENTENCES_OF, (doc_id,))]

    def frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        got = dict(self._all(f"SELECT term, df FROM terms WHERE term {_IN}",
                             (json.dumps(sorted(terms)),)))
        if not all(type(v) is int and v >= 0 for v in got.values()):
            raise self._garbled("the terms table holds a count that is not a number")
        return got

    # -- documents -------------------------------------------------------------------------------
    def document(self, doc_id: str) -> Document | None:
        got = self._all(_DOCUMENT + "WHERE doc_id = ? ORDER BY row DESC LIMIT 1", (doc_id,))
        return self._checked(_document, got[0]) if got else None

    def document_by_source(self, source: str) -> Document | None:
        got = self._all(_DOCUMENT + "WHERE source = ? ORDER BY row DESC LIMIT 1", (source,))
        return self._checked(_document, got[0]) if got else None

    def documents_at(self, rows: Sequence[int]) -> list[Document]:
        got = {r[0]: self._checked(_document, r) for r in self._all(
            _DOCUMENT + f"WHERE row {_IN}", (_json_ints(rows),))}
        return [self._at(got, r, "document") for r in rows]

    def document_meta(self) -> list[tuple[str, str, dict[str, Any], range, range]]:
        """``(doc_id, source, meta, chunk rows, sentence rows)`` of every document, without
        the texts (what a filter is resolved from)."""
        return [(i, src, json.loads(meta), range(clo, chi), range(slo, shi))
                for i, src, meta, clo, chi, slo, shi in self._all(
                    "SELECT doc_id, source, meta, chunk_lo, chunk_hi, sentence_lo, sentence_hi "
                    "FROM documents ORDER BY row")]

    def document_spans(self, batch: int = 256) -> Iterator[tuple[Document, range, range]]:
        """Every document in row order with its chunk rows and sentence rows, read a batch at a
        time (each batch a query of its own, so the caller may query in between)."""
        row = 0
        while True:
            got = self._all("SELECT row, doc_id, source, title, text, sha256, meta, chunk_lo, "
                            "chunk_hi, sentence_lo, sentence_hi FROM documents "
                            "WHERE row >= ? ORDER BY row LIMIT ?", (row, batch))
            if not got:
                return
            for r in got:
                yield self._checked(self._document_span, r)
            row = got[-1][0] + 1


def _document(r: tuple[Any, ...]) -> Document:
    if not all(isinstance(x, str) for x in r[1:7]):
        raise TypeError("a text column holds no text")
    meta = json.loads(r[6])
    if not isinstance(meta, dict):
        raise ValueError("its metadata is not an object")
    return Document(r[1], r[2], r[3], r[4], r[5], meta)


def _span(lo: Any, hi: Any, size: int) -> tuple[int, int]:
    """A row or offset range ``[lo, hi)`` within ``0..size``; ``ValueError`` for anything else."""
    if type(lo) is not int or type(hi) is not int or not 0 <= lo <= hi <= size:
        raise ValueError(f"range {lo!r}..{hi!r} is not within 0..{size}")
    return lo, hi


def _chunk(r: tuple[Any, ...]) -> Chunk:
    if not all(isinstance(x, str) for x in r[1:6]):
        raise TypeError("a text column holds no text")
    _span(r[6], r[7], len(r[5]) + r[6] if type(r[6]) is int else 0)
    return Chunk(*r[1:])


def _sentence(r: tuple[Any, ...]) -> Sentence:
    if not all(isinstance(x, str) for x in r[1:3]):
        raise TypeError("an id column holds no text")
    _span(r[3], r[4], r[4] if type(r[4]) is int else 0)
    return Sentence(*r[1:])


def _json_ints(rows: Iterable[int]) -> str:
    return json.dumps([int(r) for r in rows])


def _close_all(conns: list[sqlite3.Connection], guard: threading.Lock) -> None:
    with guard:
        for conn in conns:
            conn.close()
        conns.clear()


class NpyWriter:
    """A ``.npy`` file of float32 rows written as they come: numpy pads the header so that the
    row count can grow in place, and ``close`` writes the final one over the first.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     w = NpyWriter(pathlib.Path(d) / "v.npy", 2); w.add(np.eye(2)); w.add(np.zeros((0, 2)))
    ...     w.close(); np.load(pathlib.Path(d) / "v.npy").tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """

    def __init__(self, path: Path, dim: int) -> None:
        self.dim = dim
        self.rows = 0
        self._f = open(path, "wb")  # noqa: SIM115 - closed by close() or abort()
        self._header_bytes = len(self._header(0))
        self._f.write(self._header(0))

    def _header(self, rows: int) -> bytes:
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            buf, {"descr": "<f4", "fortran_order": False, "shape": (rows, self.dim)})
        return buf.getvalue()

    def add(self, rows: np.ndarray) -> None:
        a = np.ascontiguousarray(rows, dtype="<f4").reshape(-1, self.dim)
        self._f.write(a.tobytes())
        self.rows += len(a)

    def close(self) -> None:
        header = self._header(self.rows)
        if len(header) != self._header_bytes:  # numpy leaves room for 21 digits
            raise RuntimeError(f"npy header grew from {self._header_bytes} to {len(header)} bytes")
        self._f.seek(0)
        self._f.write(header)
        self._f.close()

    def abort(self) -> None:
        self._f.close()


class VectorFile:
    """The rows of a float32 ``.npy`` file, read with ``os.pread`` when asked for.

    Not a memory map: the pages a map has touched count as resident memory of the process,
    and over many questions evidence touches much of a file of millions of sentence vectors
    (7.3 GB at 1M chunks); read like this they stay in the page cache, which the kernel may
    drop. Consecutive rows are read in one call; safe to share between threads.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.save(pathlib.Path(d) / "v.npy", np.arange(8, dtype=np.float32).reshape(4, 2))
    ...     v = VectorFile(pathlib.Path(d) / "v.npy")
    ...     v.shape, v.rows([3, 0, 1]).tolist(), v[1:3].tolist(), len(v)
    ((4, 2), [[6.0, 7.0], [0.0, 1.0], [2.0, 3.0]], [[2.0, 3.0], [4.0, 5.0]], 4)
    """

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            major, _ = np.lib.format.read_magic(f)
            read = (np.lib.format.read_array_header_1_0 if major == 1
                    else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read(f)
            self._offset = f.tell()
        if dtype != np.dtype("<f4") or fortran or len(shape) != 2:
            raise ValueError(f"{path.name} is not a C-ordered float32 matrix")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self._row_bytes = 4 * self.shape[1]
        if path.stat().st_size != self._offset + self.shape[0] * self._row_bytes:
            raise ValueError(f"{path.name} has {path.stat().st_size:,} bytes for "
                             f"{self.shape[0]:,} rows")
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """These rows, one each, in that order (``IndexError`` for a row outside the file)."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        out = np.empty((len(rows), self.shape[1]), dtype=np.float32)
        if not len(rows):
            return out
        if rows.min() < 0 or rows.max() >= len(self):
            raise IndexError(f"rows outside 0..{len(self) - 1}")
        order = np.argsort(rows, kind="stable")
        srt = rows[order]
        breaks = np.flatnonzero(np.diff(srt) != 1) + 1  # runs of consecutive rows (a repeat
        # starts a new run)
        for run in np.split(np.arange(len(srt)), breaks):
            first, n = int(srt[run[0]]), int(srt[run[-1]]) - int(srt[run[0]]) + 1
            block = self._read(first, n)
            out[order[run]] = block[srt[run] - first]
        return out

    def _read(self, first: int, n: int) -> np.ndarray:
        out = np.empty((n, self.shape[1]), dtype=np.float32)
        got = os.preadv(self._fd, [out.data.cast("B")], self._offset + first * self._row_bytes)
        if got != out.nbytes:
            raise OSError(f"short read: {got} of {out.nbytes} bytes")
        return out

    def __getitem__(self, i: int | slice) -> np.ndarray:
        if isinstance(i, slice):
            r = range(len(self))[i]
            return self._read(r.start, len(r)) if r.step == 1 else self.rows(list(r))
        return self.rows([i])[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)
