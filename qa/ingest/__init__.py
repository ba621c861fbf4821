"""The ingest side: readers per file format (``qa.ingest.readers``) and the incremental
pipeline (``qa.ingest.pipeline``: ``ingest``, ``ocr_note``). Cleaning and chunking still live in
``qa.corpus``, ``qa.cleaning`` and ``qa.chunking``, the index update in ``qa.indexing``."""
