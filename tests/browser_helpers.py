"""Start ``ui.py`` in a subprocess on a free port and drive it with Debian's Chromium.

Shared by ``tests/test_ui_browser.py`` and ``scripts/screenshot.py``. The app runs with real parts
only (no test switches): its own copy of the articles, its own index, data and trash folders, the
default embedder, and the model named by the caller. For development before the default embedder
existed, ``QA_TEST_EMBED_MODEL`` may name another sentence-transformers model (passed on as
``--embed-model``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ARTICLES = REPO / "data" / "articles"
CHROMIUM = os.environ.get("QA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
READY_LINE = "qa UI running at "


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def embed_args() -> list[str]:
    override = os.environ.get("QA_TEST_EMBED_MODEL")
    return ["--embed-model", override] if override else []


@dataclass
class UIServer:
    url: str
    proc: subprocess.Popen
    root: Path
    log_path: Path
    start_s: float  # from process start to the URL answering
    timings: dict[str, Any] = field(default_factory=dict)

    @property
    def corpus_dir(self) -> Path:
        return self.root / "corpus"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


def start_ui(root: Path, model: str = "smollm2-135m", extra_args: list[str] | None = None,
             timeout_s: float = 600, articles: Path = ARTICLES,
             env: dict[str, str] | None = None) -> UIServer:
    """Copy the articles into ``root/corpus`` and start ``python ui.py`` on a free port (with
    ``env`` added to its environment); return once the page answers. The index is built at
    start (``root/index`` is empty)."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "corpus").exists():
        shutil.copytree(articles, root / "corpus")
    port = free_port()
    log_path = root / "ui.log"
    cmd = [sys.executable, str(REPO / "ui.py"), "--port", str(port),
           "--index-dir", str(root / "index"), "--corpus-dir", str(root / "corpus"),
           "--data-dir", str(root / "data"), "--model", model, *embed_args(),
           *(extra_args or [])]
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    t0 = time.perf_counter()
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    server = UIServer(url, proc, root, log_path, 0.0)
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"ui.py exited with {proc.returncode}:\n{server.log()[-4000:]}")
        if time.monotonic() > deadline:
            server.stop()
            raise TimeoutError(f"ui.py did not start in {timeout_s} s:\n{server.log()[-4000:]}")
        if READY_LINE in server.log():
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
        time.sleep(0.2)
    server.start_s = time.perf_counter() - t0
    return server


def launch_chromium(playwright: Any, headless: bool = True) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                      headless=headless)


# -- page helpers --------------------------------------------------------------------------

_WATCH = """
(turn) => {
  const t0 = performance.now();
  const s = {t0, turn, firstSource: null, firstToken: null, done: null, lengths: [], error: null};
  window.__qa = s;
  const chat = document.querySelector('#qa-chat');
  const panel = document.querySelector('#qa-sources-panel');
  const answerText = () => {
    const bots = chat.querySelectorAll('[data-testid=bot]');
    if (bots.length <= turn) return null;
    const c = bots[bots.length - 1].querySelector('.message-content');
    if (!c) return null;
    const clone = c.cloneNode(true);
    clone.querySelectorAll('details').forEach(d => d.remove());
    return clone.innerText.trim();
  };
  const check = () => {
    if (s.done !== null) return;
    const now = performance.now() - t0;
    const prefix = 'qa-t' + turn + '-';
    const cards = panel.querySelectorAll('.qa-card[id^="' + prefix + '"]');
    if (s.firstSource === null && cards.length) s.firstSource = now;
    const text = answerText();
    if (text !== null && text !== '' && text !== '…') {
      if (s.firstToken === null) s.firstToken = now;
      if (!s.lengths.length || s.lengths[s.lengths.length - 1] !== text.length)
        s.lengths.push(text.length);
    }
    const bots = chat.querySelectorAll('[data-testid=bot]');
    if (bots.length > turn && bots[bots.length - 1].querySelector('.qa-error')
        && !bots[bots.length - 1].querySelector('.qa-cite')) {
      s.error = bots[bots.length - 1].innerText; s.done = now;
    }
    const box = panel.querySelector('.qa-sources');
    if (box && !box.classList.contains('qa-pending') && !box.classList.contains('qa-empty')
        && (cards.length || box.querySelector('.qa-none')) && text !== null) s.done = now;
    if (s.done !== null) s.observer.disconnect();
  };
  s.observer = new MutationObserver(check);
  s.observer.observe(document.body, {subtree: true, childList: true, characterData: true,
                                     attributes: true});
}
"""


def bot_count(page: Any) -> int:
    return page.locator("#qa-chat [data-testid=bot]").count()


def ask(page: Any, question: str, timeout_s: float = 180) -> dict[str, Any]:
    """Type ``question``, send it, wait for the finished answer; returns browser-side timings
    (ms from the click: firstSource, firstToken, done) and the answer lengths seen while it
    streamed."""
    turn = bot_count(page)
    page.fill("#qa-question textarea", question)
    page.evaluate(_WATCH, turn)
    page.click("#qa-send")
    page.wait_for_function("() => window.__qa && window.__qa.done !== null",
                           timeout=timeout_s * 1000)
    out = page.evaluate("() => { const s = window.__qa; return {firstSource: s.firstSource, "
                        "firstToken: s.firstToken, done: s.done, lengths: s.lengths, "
                        "error: s.error, turn: s.turn}; }")
    return out


def last_answer(page: Any) -> Any:
    return page.locator("#qa-chat [data-testid=bot]").last


def open_tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def upload(page: Any, paths: list[Path], timeout_s: float = 120, replace: bool = False) -> str:
    """Upload files in the documents tab, press "Add to the index"; returns the status text."""
    open_tab(page, "Dokumente / documents")
    page.locator("#qa-upload input[type=file]").set_input_files([str(p) for p in paths])
    for p in paths:
        page.locator("#qa-upload").get_by_text(Path(p).stem, exact=False).first.wait_for(
            timeout=timeout_s * 1000)
    if replace:
        page.get_by_label("Replace documents with the same name").check()
    before = page.locator("#qa-doc-status").inner_text()
    page.click("#qa-add")
    page.wait_for_function(
        "(before) => { const e = document.querySelector('#qa-doc-status .qa-status');"
        " return e && e.innerText !== before; }", arg=before, timeout=timeout_s * 1000)
    return page.locator("#qa-doc-status").inner_text()


def pick_document(page: Any, source: str) -> None:
    open_tab(page, "Dokumente / documents")
    page.click("#qa-doc-pick input")
    page.locator(f"[data-testid=dropdown-option][aria-label='{source}']").click()


def delete_document(page: Any, source: str, timeout_s: float = 120) -> str:
    pick_document(page, source)
    before = page.locator("#qa-doc-status").inner_text()
    page.click("#qa-delete")
    page.wait_for_function(
        "(before) => { const e = document.querySelector('#qa-doc-status .qa-status');"
        " return e && e.innerText !== before; }", arg=before, timeout=timeout_s * 1000)
    return page.locator("#qa-doc-status").inner_text()
