#!/usr/bin/env python
"""Screenshot of the chat answering a German question with the default model.

    python scripts/screenshot.py [--out docs/screenshot.png] [--model qwen2.5-coder-1.5b]

Starts ``ui.py`` like the browser tests do (its own copy of the articles and index in a temporary
folder, 127.0.0.1, a free port), waits for the background warm-up, asks one question in Chromium,
saves the screenshot and prints the timings seen in the browser (JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from browser_helpers import ask, launch_chromium, start_ui  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(REPO / "docs" / "screenshot.png"))
    p.add_argument("--model", default="qwen2.5-coder-1.5b")
    p.add_argument("--question", default="Wie viel investiert Alibaba in KI-Infrastruktur?")
    args = p.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="qa-screenshot-") as tmp:
        server = start_ui(Path(tmp), model=args.model)
        timings = {"model": args.model, "ui_start_s (incl. building the index)":
                   round(server.start_s, 2)}
        try:
            deadline = time.monotonic() + 300
            while "warmed up" not in server.log() and time.monotonic() < deadline:
                time.sleep(0.5)
            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(server.url)
                page.wait_for_selector("#qa-question textarea")
                t = ask(page, args.question, timeout_s=300)
                timings.update({"first_source_ms": round(t["firstSource"]),
                                "first_token_ms": round(t["firstToken"] or -1),
                                "done_ms": round(t["done"])})
                page.evaluate("document.querySelector('#qa-sources-panel').scrollIntoView()")
                page.evaluate("window.scrollTo(0, 0)")
                page.wait_for_timeout(500)
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=args.out)
                browser.close()
        finally:
            server.stop()
    print(json.dumps(timings))
    print(f"saved {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
