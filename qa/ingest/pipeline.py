"""The incremental ingest: make the store hold exactly the documents under some paths.

``ingest`` reads the folder (``qa.corpus.load_corpus``, one reader per format in
``qa.ingest.readers``) under the store's writer lock and hands the documents to
``qa.indexing.update_index``, which embeds only what was added or changed. The store and the
embedder default to what the settings name, built through ``qa.composition`` (looked up at call
time, so a test that replaces a factory there gets its replacement here too).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa import composition
from qa.corpus import SUPPORTED, Skipped, load_corpus
from qa.errors import QAError
from qa.indexing import IngestReport, update_index
from qa.stores.base import IndexConfig

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.embedders import Embedder
    from qa.stores.base import StoreBackend

__all__ = ["Progress", "ingest", "ocr_note"]

Progress = Callable[[int, int], None]


def ingest(settings: Settings, paths: Sequence[Path | str] | None = None,
           embedder: Embedder | None = None, rebuild: bool = False,
           progress: Progress | None = None,
           store: StoreBackend | None = None) -> tuple[IngestReport, list[Skipped]]:
    """Make the store (``settings.store``) hold exactly the documents under ``paths`` (default:
    the corpus folder). Unreadable files are skipped and reported; the index is never
    half-written."""
    sources = [Path(p) for p in (paths or [settings.corpus_dir])]
    missing = [str(p) for p in sources if not p.exists()]
    if missing:
        raise QAError(f"not found: {', '.join(missing)}; give a folder or files of articles")
    store = store or composition.make_store(settings)
    embedder = embedder or composition.make_embedder(settings)
    with store.lock():  # the folder is read under the writer lock: an upload meanwhile waits
        loaded = load_corpus(sources, max_bytes=settings.max_file_bytes,
                             follow_symlinks=settings.follow_symlinks)
        if not loaded.documents:
            why = "; ".join(str(s) for s in loaded.skipped[:5]) or f"no {'/'.join(SUPPORTED)} files"
            raise QAError(f"no readable articles in {', '.join(map(str, sources))} ({why}); "
                          "the index was left as it was")
        report = update_index(store, loaded.documents, embedder,
                              IndexConfig.from_settings(settings), rebuild=rebuild,
                              progress=progress, locked=True,
                              max_chunks_per_document=settings.max_chunks_per_document)
    new = set(report.added) | set(report.changed)
    report.notes += [ocr_note(d.source, d.meta) for d in loaded.documents
                     if d.source in new and d.meta.get("ocr_pages")]
    return report, loaded.skipped


def ocr_note(source: str, meta: dict[str, Any]) -> str:
    """The ingest's line for a document read by OCR.

    >>> ocr_note("scan.pdf", {"ocr_pages": "3", "ocr_seconds": "7.5"})
    'scan.pdf: 3 pages read by OCR in 7.5 s (2.5 s per page)'
    """
    n, seconds = int(meta["ocr_pages"]), float(meta.get("ocr_seconds") or 0)
    return (f"{source}: {n} page{'s' if n != 1 else ''} read by OCR in {seconds:.1f} s "
            f"({seconds / max(n, 1):.1f} s per page)")
