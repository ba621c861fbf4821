"""Store protocols: what retrieval and evidence read, and what ingest writes, keyed by id.

A store holds documents, their chunks and sentences, a vector for every chunk and sentence, and
a lexical index over the chunks. Everything is addressed by id (``chunk_id``, ``sentence_id``,
``doc_id``: hashes of source and content, so re-indexing is idempotent); row numbers, files and
tables are the business of one backend. Two backends implement it (``qa.registry``): FAISS + BM25 files under
``index/`` (the embedded default) and PostgreSQL + pgvector (many workers, millions of chunks).

Reading (``Store``) is what one question needs: dense and lexical chunk search, chunks by id,
cosines of given chunks (for lexical-only hits), and for evidence the sentences of a document
with their vectors, the best sentences of the whole corpus, and sentence frequencies of terms.
Scores are named so that higher is better; ``search`` scores are cosines.

Writing (``StoreBackend.write``) is one atomic change: documents added or replaced whole (a
``DocumentRecord`` with its chunks, sentences and vectors) and documents removed. Readers see
the state before or after it, never half; ``lock`` serialises a whole ingest (read the
manifest, embed what is new, write).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from qa.errors import IndexMismatchError
from qa.filters import Filter
from qa.text import TEXT_VERSION
from qa.types import Chunk, Document, Sentence

REBUILD_HINT = "run `qa ingest --rebuild` to build it again from the articles"

Ranked = list[tuple[str, float]]  # (id, score), best first, higher is better


@dataclass(frozen=True)
class IndexConfig:
    """What an index must agree with the settings on; stored in the manifest."""

    embed_model: str
    query_prefix: str
    passage_prefix: str
    chunk_words: int
    chunk_overlap_sentences: int
    lexical_language: str = "auto"  # Snowball stemmer; "auto": the corpus's main language
    # what a doc_id hashes: "source" (name and text, qa.corpus.document_id). Indexes written
    # before it keyed documents by their text alone and are refused with the rebuild hint.
    doc_identity: str = "source"
    # the stop words and term rules the stored term counts were made with (qa.text): a change
    # there makes an old index say "rebuild" instead of scoring with stale counts
    text_version: str = TEXT_VERSION

    @classmethod
    def from_settings(cls, s: Any) -> IndexConfig:
        return cls(s.embed_model, s.query_prefix, s.passage_prefix, s.chunk_words,
                   s.chunk_overlap_sentences)


def config_mismatch(built: dict[str, Any], expect: IndexConfig, where: str) -> IndexMismatchError | None:
    """The error for an index built with other settings than ``expect``, or None.

    >>> cfg = IndexConfig("m", "q: ", "p: ", 100, 1)
    >>> config_mismatch(asdict(cfg), cfg, "index/") is None
    True
    >>> print(config_mismatch({**asdict(cfg), "chunk_words": 40}, cfg, "index/"))
    index in index/ was built with other settings (chunk_words: index has 40, settings say 100); run `qa ingest --rebuild` to build it again from the articles
    """
    diffs = [f"{k}: index has {built.get(k)!r}, settings say {v!r}"
             for k, v in asdict(expect).items() if built.get(k) != v]
    if not diffs:
        return None
    return IndexMismatchError(f"index in {where} was built with other settings ("
                              + "; ".join(diffs) + f"); {REBUILD_HINT}")


@dataclass(frozen=True)
class DocumentRecord:
    """One document and everything indexed for it, written in one piece.

    ``chunk_vectors[i]`` belongs to ``chunks[i]`` and ``sentence_vectors[i]`` to
    ``sentences[i]``: L2-normalised float32 rows."""

    document: Document
    chunks: Sequence[Chunk]
    chunk_vectors: np.ndarray
    sentences: Sequence[Sentence]
    sentence_vectors: np.ndarray


@runtime_checkable
class Store(Protocol):
    """The reading side of one index state (a loaded FAISS version, a database connection)."""

    @property
    def manifest(self) -> dict[str, Any]:
        """``config`` (an ``IndexConfig`` as a dict), ``dim``, ``chunks``, ``sentences``, and
        ``documents``: source -> ``{doc_id, sha256, title, chunks}``."""
        ...

    def search(self, vector: np.ndarray, k: int, allowed: Filter | None = None) -> Ranked:
        """The ``k`` chunks nearest to ``vector``: ``[(chunk_id, cosine)]``, best first.
        ``allowed``: only chunks of the documents the filter allows compete (resolved by the
        store from document metadata, never by cutting a top-k afterwards)."""
        ...

    def lexical_search(self, text: str, k: int, allowed: Filter | None = None) -> Ranked:
        """The ``k`` best chunks for ``text`` by the lexical index (only scores above 0), of
        the documents ``allowed`` allows."""
        ...

    def lexical_coverage(self, text: str) -> float:
        """Share of the content words of ``text`` that occur in the corpus (0..1)."""
        ...

    def score(self, ids: Sequence[str], vector: np.ndarray) -> list[float]:
        """The cosine of each stored chunk vector to ``vector``, in the order of ``ids``."""
        ...

    def chunks_by_id(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids, in that order; ``KeyError`` for an unknown id."""
        ...

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        """The chunks of one document in text order ([] for an unknown document)."""
        ...

    def search_sentences(self, vector: np.ndarray, k: int,
                         allowed: Filter | None = None) -> list[tuple[Sentence, float]]:
        """The ``k`` sentences of the whole corpus (of the documents ``allowed`` allows)
        nearest to ``vector``: ``[(sentence, cosine)]``, best first (the sentence itself, since
        evidence needs its document)."""
        ...

    def sentences_of(self, doc_id: str) -> list[Sentence]:
        """The sentences of one document in text order ([] for an unknown document)."""
        ...

    def sentence_vectors_of(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of these sentences, one row each, in that order."""
        ...

    def sentence_frequencies(self, terms: Iterable[str]) -> tuple[int, dict[str, int]]:
        """``(number of sentences, {term: sentences containing it})`` for evidence terms as
        ``qa.evidence.terms`` extracts them (terms no sentence has may be left out)."""
        ...

    def document(self, doc_id: str) -> Document | None: ...

    def document_by_source(self, source: str) -> Document | None: ...

    def list_documents(self) -> list[Document]:
        """All documents, in the order they were given to ingest."""
        ...


@runtime_checkable
class StoreBackend(Protocol):
    """Where an index lives, and the writing side: one atomic change at a time."""

    name: str

    def exists(self) -> bool:
        """Whether an index has been written (possibly empty)."""
        ...

    def open(self, expect: IndexConfig | None = None) -> Store:
        """The current state for reading; ``IndexMismatchError`` (one line, with a rebuild hint)
        when there is none, it is damaged, or it was built with settings other than ``expect``."""
        ...

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Held by a writer for a whole ingest; a second writer waits. Readers never wait."""
        ...

    def write(self, config: IndexConfig, dim: int, upserts: Sequence[DocumentRecord],
              delete: Sequence[str] = (), replace: bool = False) -> None:
        """Add or replace (by ``doc_id``) the documents of ``upserts`` and remove the documents
        whose ``doc_id`` is in ``delete``, as one atomic change. ``replace``: the result holds
        only ``upserts`` (a rebuild, or a change of settings). Writing the same record twice
        leaves the same state; deleting an unknown id does nothing."""
        ...


def manifest_documents(records: Iterable[DocumentRecord]) -> dict[str, dict[str, Any]]:
    """The manifest's ``documents`` table for these records (source -> identity and counts)."""
    return {r.document.source: {"doc_id": r.document.doc_id, "sha256": r.document.sha256,
                                "title": r.document.title, "chunks": len(r.chunks)}
            for r in records}
