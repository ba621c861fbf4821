"""Where the index lives: the store protocols (``base``) and their backends, named only in
``qa.registry``: FAISS + BM25 files (``faiss``, with ``vectors`` and ``bm25``) and PostgreSQL +
pgvector (``postgres``)."""
