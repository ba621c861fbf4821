"""The chat window on the PostgreSQL store, in a real Chromium: ``python ui.py --store postgres``
with no database URL starts the embedded server under the data folder, builds the index there,
answers with sources from it, and adds and deletes a document through it.

Run: ``python -m pytest tests/test_ui_browser_postgres.py -q``
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.server]

playwright_api = pytest.importorskip("playwright.sync_api")

from browser_helpers import (  # noqa: E402
    CHROMIUM,
    ask,
    delete_document,
    launch_chromium,
    open_tab,
    start_ui,
    upload,
)

if not Path(CHROMIUM).exists():  # pragma: no cover - environment
    pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_ui(tmp_path_factory.mktemp("ui-pg"), model="smollm2-135m",
                   extra_args=["--store", "postgres"])
    yield srv
    srv.stop()  # SIGTERM ends the UI without its exit handlers, so the server it started is
    pid_file = srv.data_dir / "postgres" / "postmaster.pid"  # stopped here (fast shutdown)
    if pid_file.is_file():
        with contextlib.suppress(ValueError, OSError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)


@pytest.fixture()
def page(server):
    with playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        pg = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        pg.goto(server.url)
        pg.wait_for_selector("#qa-question textarea")
        yield pg
        browser.close()


def test_the_index_lives_in_postgres_and_answers_with_sources(page, server) -> None:
    assert (server.data_dir / "postgres").is_dir()  # the embedded server's data
    assert not (server.index_dir / "CURRENT").exists()  # no FAISS files in this mode
    assert "embedded PostgreSQL" in page.content()  # the settings name the store
    t = ask(page, "Wo baut Alibaba neue Rechenzentren?")
    assert t["error"] is None, t
    files = page.locator("#qa-sources-panel .qa-file").all_inner_texts()
    assert files and all(f.endswith(".txt") for f in files)


def test_upload_and_delete_go_through_postgres(page, server, tmp_path) -> None:
    article = tmp_path / "zorblax.txt"
    article.write_text("Zorblax eröffnet Werk in Quedlinburg\n\nDer Zorblax-Konzern eröffnet ein "
                       "neues Werk in Quedlinburg. Dort sollen ab März 300 Menschen Fahrräder "
                       "bauen.\n", encoding="utf-8")
    assert "Added zorblax.txt" in upload(page, [article])
    open_tab(page, "Chat")
    ask(page, "Wo eröffnet der Zorblax-Konzern ein neues Werk?")
    assert "zorblax.txt" in page.locator("#qa-sources-panel .qa-file").all_inner_texts()
    assert "Deleted zorblax.txt" in delete_document(page, "zorblax.txt")
    open_tab(page, "Chat")
    ask(page, "Wo eröffnet der Zorblax-Konzern ein neues Werk?")
    assert "zorblax.txt" not in page.locator("#qa-sources-panel .qa-file").all_inner_texts()
