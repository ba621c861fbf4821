"""PostgreSQL + pgvector store: one database that many workers read and ingests write.

Documents, chunks and sentences are rows keyed by their content-hash ids; every chunk and
sentence carries its vector in a pgvector column with an HNSW index (``vector_ip_ops``: the
vectors are unit length, so the inner product is the cosine). The lexical side is PostgreSQL's
full-text search: each chunk has a ``tsvector`` in its document's language (German or English
Snowball, ``simple`` otherwise) under a partial GIN index per configuration; a bounded set of
candidates (the chunks with every word of the question, then those with its rarest words) is
ranked by BM25 computed in SQL (``ts_rank`` has no inverse document frequency and ranked
worse). Sentences keep their evidence terms (``qa.evidence.terms``) in a ``text[]`` under a GIN
index, for term frequencies. A one-row ``meta`` table holds the schema version, the
``IndexConfig`` and the dimension.

A write is one transaction: readers see the state before or after it. A rebuild (``replace``,
a first write, another schema version or dimension) loads fresh tables and swaps them in at the
end; readers wait only for the swap, not for the load. ``lock`` is a session advisory lock, so
a killed ingest releases it with its connection, and its transaction rolls back.

The price: HNSW search is approximate (``hnsw.ef_search`` 200, or ``k`` when larger); lexical
search scores at most 3,000 candidates per configuration, so on a large corpus a question of
only common words is ranked among a sample of the chunks that have them (exact below that);
reads go through a pool of ``pg_pool_size`` connections per process (4 by default): threads
beyond that many wait for a free one.

Modules: ``backend`` (connections and the reading pool, the embedded server, ``lock``,
``write``), ``schema`` (tables, indexes, the load of one write), ``store`` (the reading side).
"""

from qa.stores.postgres.backend import PostgresBackend
from qa.stores.postgres.schema import SCHEMA_VERSION
from qa.stores.postgres.store import PostgresStore

__all__ = ["SCHEMA_VERSION", "PostgresBackend", "PostgresStore"]
