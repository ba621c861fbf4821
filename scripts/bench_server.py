"""Load figures for `qa serve` (README, "qa serve"). Prints, asserts nothing.

Starts the real server (uvicorn on 127.0.0.1, in this process) over a fresh index of the demo
corpus built with the real embedder, then has 1, 4 and 20 concurrent clients (threads, one HTTP
connection each) send gold questions to ``/v1/search`` and ``/v1/ask`` and reports requests/s and
p50/p95 latency per request. ``/v1/ask`` runs twice: with the fake generator (the server's own
cost: queueing, retrieval, prompt, citations, JSON) and with the real local model. The answer
queue is made long enough that no request is refused; a refusal (503) would be counted.

    python scripts/bench_server.py                        # fake + real (qwen2.5-coder-1.5b)
    python scripts/bench_server.py --real-per-client 0    # fake generator only (seconds)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.assistant import Assistant  # noqa: E402
from qa.composition import make_embedder  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluation import load_gold  # noqa: E402
from qa.ingest.pipeline import ingest  # noqa: E402
from qa.server import ServerConfig, create_app  # noqa: E402
from qa.testing import FakeGenerator  # noqa: E402

CLIENTS = (1, 4, 20)


def serve(assistant: Assistant) -> tuple[uvicorn.Server, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = ServerConfig(port=port, queue_size=64)
    server = uvicorn.Server(uvicorn.Config(create_app(assistant, config=config),
                                           host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if server.started and httpx.get(f"{url}/readyz").status_code == 200:
                return server, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)


def load(url: str, path: str, questions: list[str], clients: int,
         per_client: int) -> dict[str, Any]:
    """``clients`` threads, each sending ``per_client`` requests one after the other."""
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        with httpx.Client(base_url=url, timeout=600) as c:
            for j in range(per_client):
                q = questions[(i * per_client + j) % len(questions)]
                t = time.perf_counter()
                r = c.post(path, json={"question": q})
                dt = time.perf_counter() - t
                with lock:
                    statuses.append(r.status_code)
                    if r.status_code == 200:
                        latencies.append(dt)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = sorted(latencies)
    p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else float("nan")
    return {"requests": len(statuses), "ok": statuses.count(200),
            "refused": statuses.count(503), "rps": statuses.count(200) / wall,
            "p50": statistics.median(lat) if lat else float("nan"), "p95": p95}


def report(rows: list[tuple[str, int, dict[str, Any]]]) -> None:
    print(f"{'endpoint':34} {'clients':>7} {'requests':>8} {'503':>4} {'req/s':>8} "
          f"{'p50 ms':>9} {'p95 ms':>9}")
    for name, clients, r in rows:
        print(f"{name:34} {clients:>7} {r['requests']:>8} {r['refused']:>4} {r['rps']:>8.2f} "
              f"{r['p50'] * 1000:>9.0f} {r['p95'] * 1000:>9.0f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--search-per-client", type=int, default=50)
    ap.add_argument("--fake-per-client", type=int, default=20)
    ap.add_argument("--real-per-client", type=int, default=1,
                    help="answers per client with the real model (0: skip; default 1, i.e. "
                    "1, 4 and 20 answers)")
    ap.add_argument("--model", help="local model (default: the settings' llm)")
    args = ap.parse_args()

    gold = load_gold(ROOT / "eval" / "gold.jsonl")
    questions = [g["question"] for g in gold]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load(index_dir=Path(tmp) / "index", data_dir=Path(tmp) / "data",
                                 corpus_dir=ROOT / "data" / "articles", llm=args.model)
        embedder = make_embedder(settings)
        ingest(settings, embedder=embedder)
        rows: list[tuple[str, int, dict[str, Any]]] = []

        fake = Assistant.load(settings, embedder=embedder, generator=FakeGenerator())
        server, url = serve(fake)
        load(url, "/v1/search", questions, 4, 5)  # warm-up: first requests, thread pools
        for c in CLIENTS:
            rows.append(("/v1/search", c, load(url, "/v1/search", questions, c,
                                               args.search_per_client)))
        for c in CLIENTS:
            rows.append(("/v1/ask (fake generator)", c, load(url, "/v1/ask", questions, c,
                                                             args.fake_per_client)))
        server.should_exit = True
        report(rows)

        if args.real_per_client:
            real = Assistant.load(settings, embedder=embedder)
            server, url = serve(real)  # ready once the model is loaded
            real.ask(questions[0])  # first answer pays one-off costs
            for c in CLIENTS:
                rows.append((f"/v1/ask ({real.generator.name})", c,
                             load(url, "/v1/ask", questions, c, args.real_per_client)))
                report(rows[-1:])
            server.should_exit = True


if __name__ == "__main__":
    main()
