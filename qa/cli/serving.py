"""``qa serve`` (the HTTP API, optionally the chat window) and ``qa mcp`` (MCP over stdio)."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import Any

from qa.cli.common import _collection, _common, _gen, _load, _settings, _watch_options


def cmd_serve(args: argparse.Namespace) -> int:
    from qa.server import ServerConfig, keys_from_env, serve

    config = ServerConfig(host=args.host, port=args.port,
                          api_keys=tuple(args.api_key or ()) + keys_from_env(),
                          local_changes_without_key=args.no_auth_for_local_changes,
                          concurrency=args.concurrency, queue_size=args.queue_size,
                          max_request_bytes=args.max_request_bytes,
                          allowed_hosts=tuple(args.allowed_host or ()))
    settings = _settings(args)
    if args.watch:
        _follow_in_background(settings, args.interval)
    serve(settings, config, ui=args.ui)
    return 0


def _follow_in_background(settings: Any, interval: float,
                          stop: threading.Event | None = None) -> threading.Thread:
    """``qa serve --watch``: the corpus folder followed in a daemon thread, each settled change
    ingested (the server answers from the new index at its next request); its lines go through
    the server's print lock, so a model load cannot swallow them."""
    from qa.cli.ingest import _print_ingest, follow
    from qa.generators.llamacpp import say

    thread = threading.Thread(
        target=follow, args=(settings, [Path(settings.corpus_dir)], interval), name="qa-watch",
        kwargs={"say": say, "show": lambda report, skipped: _print_ingest(report, skipped, say),
                "stop": stop},
        daemon=True)
    thread.start()
    return thread


def cmd_mcp(args: argparse.Namespace) -> int:
    from qa.mcp import run_stdio

    run_stdio(_load(args))  # stdout carries the protocol: nothing else is printed there
    return 0


def add_serve_parser(sub: Any) -> None:
    s = sub.add_parser("serve", help="serve the HTTP API (REST + OpenAI-compatible)",
                       description="The HTTP API (docs/api.md): /v1/ask, /v1/search, "
                       "/v1/documents, /v1/chat/completions; interactive docs at /docs. Keys "
                       "come from QA_API_KEYS (comma-separated); they are needed for document "
                       "changes, and for everything when bound beyond 127.0.0.1.")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    s.add_argument("--ui", action="store_true", help="also serve the chat window at /ui")
    _watch_options(s, "follow the corpus folder: index added, changed and deleted files as "
                   "they settle (as `qa ingest --watch`, beside the server)")
    s.add_argument("--api-key", action="append", metavar="KEY",
                   help="an accepted key, in addition to QA_API_KEYS (visible in ps: prefer "
                   "the variable)")
    s.add_argument("--no-auth-for-local-changes", action="store_true",
                   help="on 127.0.0.1: add/delete/rebuild documents without a key")
    s.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="on 127.0.0.1: a Host name to answer besides localhost (a reverse "
                   "proxy's); other names are refused against DNS rebinding")
    s.add_argument("--queue-size", type=int, default=8,
                   help="answers waiting for the model before 503 (default: 8)")
    s.add_argument("--concurrency", type=int, default=None,
                   help="answers at a time (default: 1 for the local model, 8 for a hosted one)")
    s.add_argument("--max-request-bytes", type=int, default=1 << 20,
                   help="largest JSON body (default: 1 MiB); uploads: max_file_bytes + 1 MiB")
    _common(s)
    _gen(s)
    s.set_defaults(func=cmd_serve)


def add_mcp_parser(sub: Any) -> None:
    s = sub.add_parser("mcp", help="serve the MCP tools over stdio (for Claude Desktop, IDEs)",
                       description="A Model Context Protocol server on stdin/stdout with the "
                       "read-only tools search, fetch and ask (docs/api.md). `qa serve` offers "
                       "the same tools over HTTP at /mcp.")
    _common(s)
    _gen(s)
    _collection(s)
    s.set_defaults(func=cmd_mcp)
