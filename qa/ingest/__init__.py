"""The ingest side: readers per file format (``qa.ingest.readers``). Cleaning, chunking and
the incremental pipeline still live in ``qa.corpus``, ``qa.chunking`` and ``qa.indexing``."""
