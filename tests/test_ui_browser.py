"""The Gradio UI in a real Chromium: streaming, sources, follow-ups, documents, XSS, sessions.

Run: ``python -m pytest tests/test_ui_browser.py -m browser -q -p no:cacheprovider``

One ``ui.py`` process (real embedder, the smallest bundled model, smollm2-135m: these tests are
about the UI, not answer quality) serves all tests; each test opens fresh browser sessions.
The tests run in file order: documents added by one are visible to the next.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")

from browser_helpers import (  # noqa: E402
    _WATCH,
    CHROMIUM,
    ask,
    bot_count,
    delete_document,
    last_answer,
    launch_chromium,
    open_tab,
    pick_document,
    start_ui,
    upload,
)

if not Path(CHROMIUM).exists():  # pragma: no cover - environment
    pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium", allow_module_level=True)

TIMINGS: dict[str, object] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_ui(tmp_path_factory.mktemp("ui"), model="smollm2-135m")
    TIMINGS["ui_start_s (incl. building the index)"] = round(srv.start_s, 2)
    yield srv
    srv.stop()
    out = os.environ.get("QA_UI_TIMINGS")
    if out:
        Path(out).write_text(json.dumps(TIMINGS, indent=1))
    print("\nUI timings:", json.dumps(TIMINGS))


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server.url)
    pg.wait_for_selector("#qa-question textarea")
    yield pg
    context.close()


def source_files(page) -> list[str]:
    return page.locator("#qa-sources-panel .qa-file").all_inner_texts()


def assert_links_resolve(page) -> None:
    """Every [n] link of the last answer points at a card in the sources panel."""
    hrefs = [a.get_attribute("href") for a in last_answer(page).locator("a.qa-cite").all()]
    for href in hrefs:
        assert href and href.startswith("#")
        assert page.locator(f"#qa-sources-panel {href}").count() == 1, href


def test_examples_on_empty_chat(page) -> None:
    chat = page.locator("#qa-chat")
    assert chat.get_by_text("Wie viel investiert Alibaba in KI-Infrastruktur?").count() == 1
    assert chat.get_by_text("How many parameters does Qwen3-Max have?").count() == 1
    assert page.locator("#qa-sources-panel .qa-empty").count() == 1
    # a click on an example asks it
    page.evaluate(_WATCH, 0)
    chat.get_by_text("How many parameters does Qwen3-Max have?").click()
    page.wait_for_function("() => window.__qa.done !== null", timeout=180_000)
    users = chat.locator("[data-testid=user]").all_inner_texts()
    assert users == ["How many parameters does Qwen3-Max have?"]
    assert page.locator("#qa-sources-panel .qa-card[id^='qa-t0-']").count() >= 1


def test_answer_streams_with_sources_first(page) -> None:
    t = ask(page, "Wo baut Alibaba neue Rechenzentren?")
    TIMINGS["smollm2: first source shown (ms)"] = round(t["firstSource"])
    TIMINGS["smollm2: first token shown (ms)"] = round(t["firstToken"] or -1)
    TIMINGS["smollm2: answer done (ms)"] = round(t["done"])
    assert t["error"] is None, t
    assert t["firstSource"] is not None and t["firstToken"] is not None, t
    assert t["firstSource"] <= t["firstToken"], "sources must show before the answer"
    assert len(t["lengths"]) >= 2 and t["lengths"] == sorted(t["lengths"]), t  # streamed
    cards = page.locator("#qa-sources-panel .qa-card")
    assert cards.count() >= 1
    head = cards.first.locator(".qa-card-head").inner_text()
    assert re.search(r"\[\d+\]", head) and ".txt" in head  # number, title, file name
    assert_links_resolve(page)
    answer = last_answer(page)
    if answer.locator(".qa-abstain").count() == 0:  # cited: marked words inside their context
        assert answer.locator("a.qa-cite").count() >= 1
        assert page.locator("#qa-sources-panel mark.qa-hl").count() >= 1
        href = answer.locator("a.qa-cite").first.get_attribute("href")
        answer.locator("a.qa-cite").first.click()
        assert page.evaluate("location.hash") == href
    else:  # abstained: the closest passages, labelled as not containing the answer
        assert "enthalten die Antwort nicht" in page.locator("#qa-sources-panel").inner_text()
    # the whole article opens from its card
    card = cards.first
    card.locator("details.qa-full summary").click()
    assert card.locator(".qa-article-text").is_visible()
    assert len(card.locator(".qa-article-text").inner_text()) > 500


def test_followup_is_rewritten_and_shown(page) -> None:
    ask(page, "Wie viel will Alibaba in KI investieren?")
    t = ask(page, "Und wie viel davon in Europa?")
    assert t["error"] is None, t
    assert bot_count(page) == 2
    detail = last_answer(page).locator("details.qa-standalone")
    assert detail.count() == 1
    detail.locator("summary").click()
    understood = detail.inner_text()
    assert "Europa" in understood and "Alibaba" in understood, understood
    assert page.locator("#qa-sources-panel .qa-card[id^='qa-t1-']").count() >= 1
    # clicking the first answer shows its sources again
    page.locator("#qa-chat [data-testid=bot]").first.click()
    page.locator("#qa-sources-panel .qa-card[id^='qa-t0-']").first.wait_for()
    # a new chat starts from scratch: no history, turn numbers from 0
    page.click("#qa-clear")
    page.locator("#qa-sources-panel .qa-empty").wait_for()
    assert bot_count(page) == 0
    t = ask(page, "Und wie viel davon in Europa?")
    assert last_answer(page).locator("details.qa-standalone").count() == 0  # nothing to resolve
    assert page.locator("#qa-sources-panel .qa-card[id^='qa-t0-']").count() >= 1


def test_feedback_is_stored(page, server) -> None:
    ask(page, "Was kostet die Alibaba Aktie?")
    page.get_by_role("button", name="Dislike").last.click()
    path = server.data_dir / "feedback.jsonl"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not path.exists():
        time.sleep(0.2)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows[-1]["rating"] == "down"
    assert rows[-1]["question"] == "Was kostet die Alibaba Aktie?"
    assert rows[-1]["model"] == "smollm2-135m" and rows[-1]["timestamp"]
    assert rows[-1]["passages"]


def test_upload_ask_delete(page, server, tmp_path) -> None:
    article = tmp_path / "zorblax.txt"
    article.write_text("Zorblax eröffnet Werk in Quedlinburg\n\nDer Zorblax-Konzern eröffnet ein "
                       "neues Werk in Quedlinburg. Dort sollen ab März 300 Menschen Fahrräder "
                       "bauen. Der Bürgermeister von Quedlinburg begrüßte die Ansiedlung.\n",
                       encoding="utf-8")
    status = upload(page, [article])
    assert "Added zorblax.txt" in status, status
    assert "zorblax.txt" in page.locator("#qa-docs").inner_text()
    assert (server.corpus_dir / "zorblax.txt").is_file()

    open_tab(page, "Chat")
    t = ask(page, "Wo eröffnet der Zorblax-Konzern ein neues Werk?")
    assert t["error"] is None, t
    assert "zorblax.txt" in source_files(page)

    status = delete_document(page, "zorblax.txt")
    assert "Deleted zorblax.txt" in status, status
    assert "zorblax.txt" not in page.locator("#qa-docs").inner_text()
    assert not (server.corpus_dir / "zorblax.txt").exists()
    assert any(p.name.endswith("zorblax.txt") for p in (server.data_dir / "trash").iterdir())

    open_tab(page, "Chat")
    ask(page, "Wo eröffnet der Zorblax-Konzern ein neues Werk?")
    assert "zorblax.txt" not in source_files(page)


def docs_listing(page) -> str:
    """The documents table's text without Gradio's progress timer ("0.1s"), which shows while
    the tab refreshes and made a before/after comparison flaky."""
    text = page.locator("#qa-docs").inner_text()
    return "\n".join(ln for ln in text.splitlines() if not re.fullmatch(r"\s*\d+(\.\d+)?s\s*", ln))


def test_bad_uploads_change_nothing(page, server, tmp_path) -> None:
    empty = tmp_path / "leer.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "bild.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    open_tab(page, "Dokumente / documents")
    before = docs_listing(page)
    files_before = sorted(p.name for p in server.corpus_dir.iterdir())
    status = upload(page, [empty, binary])
    assert "nothing was added" in status.lower(), status
    assert "leer.txt: empty file" in status and "bild.png: not a readable image" in status
    assert page.locator("#qa-doc-status .qa-status-error").count() == 1
    assert docs_listing(page) == before
    assert sorted(p.name for p in server.corpus_dir.iterdir()) == files_before


def test_uploaded_html_never_executes(page, server, tmp_path) -> None:
    evil = tmp_path / "boese.html"
    evil.write_text(
        "<html><head><title>Quxplo &lt;img src=x onerror=\"window.__pwned='title'\"&gt;</title>"
        "<script>window.__pwned='script'; document.title='pwned';</script></head>"
        "<body onload=\"window.__pwned='onload'\"><article>"
        # the article's heading is its title (trafilatura prefers it to <title>): markup in both
        "<h1>Quxplo-Verband warnt &lt;img src=x onerror=\"window.__pwned='title'\"&gt;</h1>"
        "<p>Der Quxplo-Verband warnt in Nordhausen vor Gefahren durch "
        "&lt;script&gt;window.__pwned='text'&lt;/script&gt; und "
        "&lt;img src=x onerror=\"window.__pwned='img'\"&gt; in Artikeln.</p>"
        "<p>Der Quxplo-Verband hat 120 Mitglieder in Nordhausen.</p>"
        "<iframe src=\"javascript:window.__pwned='iframe'\"></iframe></article></body></html>",
        encoding="utf-8")
    title = page.title()
    status = upload(page, [evil])
    assert "Added boese.html" in status, status
    assert "<img src=x" in page.locator("#qa-docs").inner_text()  # the title, as text
    pick_document(page, "boese.html")
    view = page.locator("#qa-article-view")
    view.locator(".qa-article-text").wait_for()
    assert "<script>window.__pwned='text'</script>" in view.inner_text()  # shown, not run

    open_tab(page, "Chat")
    question = ("Wovor warnt der Quxplo-Verband in Nordhausen "
                "<img src=x onerror=\"window.__pwned='q'\">?")
    ask(page, question)
    assert page.locator("#qa-chat [data-testid=user]").last.inner_text().strip() == question
    assert "boese.html" in source_files(page)
    for details in page.locator("#qa-sources-panel details").all():
        if details.is_visible():
            details.locator("summary").first.click()
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is None
    assert page.title() == title
    assert page.locator("#qa-sources-panel script, #qa-sources-panel img, "
                        "#qa-article-view script, #qa-article-view img, #qa-chat iframe, "
                        "#qa-sources-panel iframe").count() == 0
    delete_document(page, "boese.html")


def test_settings_top_k_and_language(page) -> None:
    open_tab(page, "Einstellungen / settings")
    models = page.locator("#qa-model")
    assert "smollm2-135m" in models.locator("input").input_value()
    topk = page.locator("#qa-topk input[type=number]")
    topk.fill("2")
    topk.press("Enter")
    page.locator("#qa-language").get_by_text("English").click()
    open_tab(page, "Chat")
    t = ask(page, "Wo baut Alibaba neue Rechenzentren?")
    assert t["error"] is None, t
    assert page.locator("#qa-sources-panel .qa-card").count() <= 2
    panel = page.locator("#qa-sources-panel").inner_text()
    assert "Sources" in panel or "do not contain the answer" in panel, panel


def test_two_tabs_get_their_own_answers(browser, server) -> None:
    pages = []
    for _ in range(2):
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = ctx.new_page()
        pg.goto(server.url)
        pg.wait_for_selector("#qa-question textarea")
        pages.append(pg)
    a, b = pages
    qa, qb = "Wo baut Alibaba neue Rechenzentren?", "How many parameters does Qwen3-Max have?"
    for pg, q in ((a, qa), (b, qb)):
        pg.fill("#qa-question textarea", q)
        pg.evaluate(_WATCH, 0)
    a.click("#qa-send")
    b.click("#qa-send")
    for pg in pages:
        pg.wait_for_function("() => window.__qa.done !== null", timeout=300_000)
    for pg, q, label in ((a, qa, "Quellen|enthalten die Antwort nicht"),
                         (b, qb, "Sources|do not contain the answer")):
        users = pg.locator("#qa-chat [data-testid=user]").all_inner_texts()
        assert users == [q]
        assert pg.locator("#qa-chat [data-testid=bot]").count() == 1
        assert re.search(label, pg.locator("#qa-sources-panel").inner_text())
        assert pg.locator("#qa-sources-panel .qa-card[id^='qa-t0-']").count() >= 1
    for pg in pages:
        pg.context.close()


# -- a cited PDF page, filters and thumbs by answer id (issue 22 item 3, issue 23 items 3, 5) --

PDF_QUESTION = "Wie viele Kreuzfahrtschiffe legten 2025 im Kieler Hafen an?"


@pytest.fixture(scope="module")
def pdf_server(tmp_path_factory):
    """ui.py over a PDF and a text file that competes with it, answering through the hosted
    backend against a scripted OpenAI-compatible server on 127.0.0.1, so the citation (of the
    PDF's page 2) is deterministic: these tests are about showing it, not about the model."""
    from hosted_servers import ScriptedServer, sse
    from office_files import make_pdf
    from test_page_view import PAGES

    articles = tmp_path_factory.mktemp("pdf-articles")
    make_pdf(articles / "hafen.pdf", PAGES, title="Hafenbericht")
    (articles / "kiel.txt").write_text(
        "Kiel zählt Schiffe\n\nIm Kieler Hafen legten 2024 genau 250 Kreuzfahrtschiffe an. "
        "Das meldete die Stadt Kiel im Januar.\n", encoding="utf-8")
    with ScriptedServer(sse(("Im Kieler Hafen legten 2025 genau ",
                             "271 Kreuzfahrtschiffe an [1].")), models=("m",)) as hosted:
        srv = start_ui(tmp_path_factory.mktemp("ui-pdf"), articles=articles,
                       model="m", extra_args=["--backend", "openai", "--no-warmup"],
                       env={"QA_OPENAI_BASE_URL": hosted.base_url,
                            "QA_OPENAI_API_KEY": "sk-test"})
        yield srv
        srv.stop()


_FETCH = """async (url) => {
  const r = await fetch(url);
  const bytes = new Uint8Array(await r.arrayBuffer());
  return {status: r.status, type: r.headers.get('content-type'), size: bytes.length,
          disposition: r.headers.get('content-disposition'),
          head: String.fromCharCode(...bytes.slice(0, 5))};
}"""


def test_cited_pdf_page_shows_highlighted_with_filter_and_rated_by_id(browser, pdf_server):
    import base64

    from test_page_view import highlighted_pixels

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(pdf_server.url)
    page.wait_for_selector("#qa-question textarea")
    # the filter: only the PDF (the text file would otherwise compete)
    page.locator("#qa-filter").get_by_text("Filter").first.click()
    page.click("#qa-filter-sources input")
    page.locator("[data-testid=dropdown-option][aria-label='hafen.pdf']").click()
    page.keyboard.press("Escape")
    t = ask(page, PDF_QUESTION, timeout_s=120)
    assert t["error"] is None, t
    answer = last_answer(page)
    assert "Filter: source hafen.pdf" in answer.inner_text()
    assert answer.locator("a.qa-cite").count() >= 1, answer.inner_text()
    card = page.locator("#qa-sources-panel .qa-cited").first
    assert "hafen.pdf" in card.locator(".qa-file").inner_text()
    assert card.locator(".qa-page").inner_text() == "S. 2"
    card.locator("details.qa-pageview summary").click()
    img = card.locator("img.qa-page-img")
    img.wait_for(state="visible")
    assert img.get_attribute("alt") == "S. 2 von hafen.pdf, Zitat markiert"
    assert page.evaluate("(e) => e.complete && e.naturalWidth", img.element_handle()) > 500
    src = img.get_attribute("src")
    assert src.startswith("data:image/png;base64,")
    png = base64.b64decode(src.split(",", 1)[1])
    assert highlighted_pixels(png) > 500  # the quote's lines under amber boxes
    # the link to the original, at the page, in a new tab; the PDF comes inline
    link = card.locator(".qa-original a")
    assert link.inner_text().strip() == "Original auf S. 2 öffnen ↗"
    assert link.get_attribute("href") == "original/default/hafen.pdf#page=2"
    assert link.get_attribute("target") == "_blank"
    url = page.evaluate("(a) => a.href", link.element_handle())
    assert url == pdf_server.url + "original/default/hafen.pdf#page=2"
    got = page.evaluate(_FETCH, url)
    assert got["status"] == 200 and got["type"] == "application/pdf", got
    assert got["disposition"] == 'inline; filename="hafen.pdf"' and got["head"] == "%PDF-"
    assert got["size"] == (pdf_server.corpus_dir / "hafen.pdf").stat().st_size
    with context.expect_page() as opened:
        link.click()
    assert opened.value.url == url  # a new tab at the page
    opened.value.close()
    # thumbs down: stored with the answer's id, like a rating over the API
    page.get_by_role("button", name="Dislike").last.click()
    path = pdf_server.data_dir / "feedback.jsonl"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not path.exists():
        time.sleep(0.2)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows[-1]["rating"] == "down" and rows[-1]["via"] == "ui"
    assert rows[-1]["answer_id"].startswith("ans_") and rows[-1]["question"] == PDF_QUESTION
    # a bad date is one line in the chat, and the chat goes on
    page.fill("#qa-date-from textarea, #qa-date-from input", "2025-13-01")
    t = ask(page, PDF_QUESTION, timeout_s=120)
    assert "bad date_from" in last_answer(page).inner_text()
    context.close()
