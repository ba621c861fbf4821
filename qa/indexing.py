"""Ingest into any store: decide what changed, chunk and embed only that, write it in one piece.

The store (``qa.stores.base.StoreBackend``) is given or, for a folder, the FAISS files there.
Documents are compared with the store's manifest by source and content hash: new and changed
documents are chunked, split into sentences and embedded; unchanged ones are not touched;
removed ones, and the old versions of changed ones, are deleted, all in one atomic write.
Re-ingesting an unchanged corpus embeds nothing and writes nothing.

Sentences are a second unit beside the chunks: every sentence of every document has its own
vector, embedded here, so evidence is chosen sentence by sentence at question time without
embedding anything then. They cost about five vectors per chunk; the text is not stored twice
(a sentence is an offset range into its document).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.chunking import chunk_document, sentence_units
from qa.embedders import Embedder
from qa.errors import IndexMismatchError
from qa.pages import page_count
from qa.stores.base import DocumentRecord, IndexConfig, StoreBackend
from qa.types import Chunk, Document

log = logging.getLogger(__name__)

DEFAULT_MAX_CHUNKS = 5000  # per document: Settings.max_chunks_per_document
EMBED_BATCH = 16


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    embedded_chunks: int = 0
    embedded_sentences: int = 0
    total_chunks: int = 0
    seconds: float = 0.0
    wrote: bool = False
    notes: list[str] = field(default_factory=list)  # a line per document worth telling (OCR)
    details: dict[str, str] = field(default_factory=dict)  # source -> "docx, 3 pages, 4 chunks"

    def file_lines(self) -> list[str]:
        """One line per document added ("+"), changed ("~") or removed ("-"), with what was
        read of it when it was (re)indexed.

        >>> r = IngestReport(added=["a.docx"], removed=["old.txt"], details={"a.docx": "docx, 4 chunks"})
        >>> r.file_lines()
        ['+ a.docx (docx, 4 chunks)', '- old.txt']
        """
        def line(mark: str, source: str) -> str:
            detail = self.details.get(source)
            return f"{mark} {source}" + (f" ({detail})" if detail else "")

        return ([line("+", s) for s in self.added] + [line("~", s) for s in self.changed]
                + [line("-", s) for s in self.removed])

    def summary(self) -> str:
        if not self.wrote:
            return (f"index is up to date: {len(self.unchanged)} documents, "
                    f"{self.total_chunks} chunks ({self.seconds:.2f} s)")
        return (f"indexed {len(self.added)} new, {len(self.changed)} changed, "
                f"{len(self.removed)} removed, {len(self.unchanged)} unchanged documents; "
                f"{self.embedded_chunks} chunks embedded, {self.total_chunks} in total "
                f"({self.seconds:.1f} s)")


def describe(record: DocumentRecord) -> str:
    """What was read of a document: its format, its pages (slides, sheets) when it has them,
    its chunks ("pdf, 3 pages, 7 chunks")."""
    d = record.document
    kind = str(d.meta.get("format") or "text")  # qa.corpus.load_file records it
    pages, word = page_count(d.meta)
    parts = [kind] + ([f"{pages} {word}{'s' if pages != 1 else ''}"] if pages else [])
    n = len(record.chunks)
    return ", ".join([*parts, f"{n} chunk{'s' if n != 1 else ''}"])


def cap_chunks(chunks: list[Chunk], limit: int, source: str) -> list[Chunk]:
    """The first ``limit`` chunks of one document, with a warning when it had more: one huge
    file must not cost unbounded embedding time.

    >>> cap_chunks(["a", "b"], 5, "x.txt")
    ['a', 'b']
    """
    if len(chunks) <= limit:
        return chunks
    from qa.corpus import printable

    log.warning("%s: %d chunks, only the first %d are indexed (max_chunks_per_document)",
                printable(source), len(chunks), limit)
    return chunks[:limit]


def records_for(documents: Sequence[Document], embedder: Embedder, config: IndexConfig,
                max_chunks_per_document: int = DEFAULT_MAX_CHUNKS,
                progress: Callable[[int, int], None] | None = None) -> list[DocumentRecord]:
    """Chunk, split and embed ``documents`` (chunks and sentences in one stream of batches)."""
    parts: list[tuple[Document, list[Chunk], list]] = []
    for d in documents:
        kept = cap_chunks(chunk_document(d, config.chunk_words, config.chunk_overlap_sentences),
                          max_chunks_per_document, d.source)
        end = kept[-1].end if kept else 0  # sentences only where chunks are (the same cap)
        parts.append((d, kept, [u for u in sentence_units(d) if u.end <= end]))
    texts = [c.text for _, chunks, _ in parts for c in chunks]
    texts += [d.text[u.start:u.end] for d, _, sents in parts for u in sents]
    vectors = []
    for i in range(0, len(texts), EMBED_BATCH):
        vectors.append(embedder.embed(texts[i:i + EMBED_BATCH], "passage"))
        if progress:
            progress(min(i + EMBED_BATCH, len(texts)), len(texts))
    dim = embedder.dim
    flat = np.vstack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
    n_chunks = sum(len(c) for _, c, _ in parts)
    chunk_vecs, sent_vecs = flat[:n_chunks], flat[n_chunks:]
    out, ci, si = [], 0, 0
    for d, chunks, sents in parts:
        out.append(DocumentRecord(d, chunks, chunk_vecs[ci:ci + len(chunks)], sents,
                                  sent_vecs[si:si + len(sents)]))
        ci += len(chunks)
        si += len(sents)
    return out


def update_index(store: StoreBackend | Path, documents: Sequence[Document], embedder: Embedder,
                 config: IndexConfig, rebuild: bool = False,
                 progress: Callable[[int, int], None] | None = None,
                 max_chunks_per_document: int = DEFAULT_MAX_CHUNKS,
                 locked: bool = False) -> IngestReport:
    """Make the store hold exactly ``documents``, embedding only documents it does not have.
    A folder stands for the FAISS store in it. ``locked``: the caller holds ``store.lock()``
    already (it read ``documents`` under it, so no other writer's work is lost)."""
    if isinstance(store, (str, Path)):
        from qa.stores.faiss import FaissBackend

        store = FaissBackend(store)
    t0 = time.perf_counter()
    report = IngestReport()
    with contextlib.nullcontext() if locked else store.lock():
        old: dict[str, dict] | None = None
        if not rebuild and store.exists():
            try:
                manifest = store.open(config).manifest
                if manifest.get("documents") and manifest.get("dim") != embedder.dim:
                    raise IndexMismatchError(f"the index has vectors of dimension "
                                             f"{manifest.get('dim')}, the embedder gives "
                                             f"{embedder.dim}")
                old = dict(manifest.get("documents", {}))
            except IndexMismatchError as e:
                log.info("rebuilding from scratch: %s", e)
        old_docs = old or {}
        todo = []
        for d in documents:
            prev = old_docs.get(d.source)
            if prev is None:
                report.added.append(d.source)
                todo.append(d)
            elif prev["doc_id"] != d.doc_id:
                report.changed.append(d.source)
                todo.append(d)
            else:
                report.unchanged.append(d.source)
        new_sources = {d.source for d in documents}
        report.removed = sorted(set(old_docs) - new_sources)
        unchanged_chunks = sum(int(old_docs[s].get("chunks", 0)) for s in report.unchanged)
        if old is not None and not todo and not report.removed:
            report.total_chunks = unchanged_chunks
            report.seconds = time.perf_counter() - t0
            return report
        records = records_for(todo, embedder, config, max_chunks_per_document, progress)
        delete = [old_docs[s]["doc_id"] for s in report.removed + report.changed]
        store.write(config, embedder.dim, records, delete=delete, replace=old is None)
        report.details = {r.document.source: describe(r) for r in records}
        report.embedded_chunks = sum(len(r.chunks) for r in records)
        report.embedded_sentences = sum(len(r.sentences) for r in records)
        report.total_chunks = unchanged_chunks + report.embedded_chunks
        report.wrote = True
        report.seconds = time.perf_counter() - t0
        return report
