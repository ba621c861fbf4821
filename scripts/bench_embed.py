"""Embedding throughput: the in-process embedder vs an OpenAI-compatible embeddings server.

Prints one JSON line per run, asserts nothing. Two figures per run, the embedder warmed up first:
* ``embed``: the corpus's chunk texts through ``embedder.embed`` in one call (chunks/s), so a
  server embedder spreads them over ``--concurrency`` requests of at most ``--batch`` texts;
* ``ingest``: ``qa ingest`` of the corpus into a fresh index in a temporary folder (chunks/s over
  the whole ingest, which also embeds every sentence; texts/s counts both).

``--copies N`` ingests N copies of the corpus, each article with a numbered first line, so that
every chunk is new (a larger synthetic set with the same text statistics).

    python scripts/bench_embed.py                                   # local, in process
    python scripts/bench_embed.py --base-url http://127.0.0.1:7997/v1 --concurrency 4
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.chunking import chunk_document  # noqa: E402
from qa.composition import make_embedder  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.corpus import load_corpus  # noqa: E402
from qa.ingest.pipeline import ingest  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", help="embeddings server (embed_backend openai); default: local")
    ap.add_argument("--concurrency", type=int, default=4, help="requests in flight (server)")
    ap.add_argument("--batch", type=int, default=None, help="texts per request (embed_batch_size)")
    ap.add_argument("--corpus", type=Path, default=ROOT / "data" / "articles")
    ap.add_argument("--copies", type=int, default=1, help="copies of the corpus (default 1)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "articles"
        corpus.mkdir()
        for n in range(args.copies):
            for f in sorted(args.corpus.iterdir()):
                if f.is_file():
                    (corpus / f"{n:03d}_{f.name}").write_text(
                        f"Kopie {n}\n\n" + f.read_text(encoding="utf-8"), encoding="utf-8")
        server = {"embed_backend": "openai", "embed_base_url": args.base_url,
                  "embed_concurrency": args.concurrency} if args.base_url else {}
        settings = Settings.load(corpus_dir=corpus, index_dir=Path(tmp) / "index",
                                 data_dir=Path(tmp) / "data", embed_batch_size=args.batch,
                                 **server)
        embedder = make_embedder(settings)
        embedder.embed(["warm-up"], "query")  # model load or first connection

        docs = load_corpus([corpus]).documents
        texts = [c.text for d in docs for c in chunk_document(
            d, settings.chunk_words, settings.chunk_overlap_sentences)]
        t = time.perf_counter()
        embedder.embed(texts, "passage")
        embed_s = time.perf_counter() - t

        t = time.perf_counter()
        report, _ = ingest(settings, embedder=embedder)
        ingest_s = time.perf_counter() - t
        embedded = report.embedded_chunks + report.embedded_sentences
        print(json.dumps({
            "embedder": getattr(embedder, "name", "?"),
            "backend": settings.embed_backend,
            "concurrency": args.concurrency if args.base_url else None,
            "batch": settings.embed_batch_size,
            "documents": len(docs), "chunks": len(texts),
            "embed_s": round(embed_s, 2), "embed_chunks_per_s": round(len(texts) / embed_s, 1),
            "ingest_s": round(ingest_s, 2),
            "ingest_chunks_per_s": round(report.total_chunks / ingest_s, 1),
            "ingest_texts": embedded,
            "ingest_texts_per_s": round(embedded / ingest_s, 1),
        }))


if __name__ == "__main__":
    main()
