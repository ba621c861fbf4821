"""The chat window's collection picker: the callbacks without a browser (the ones ``ui.build``
wires, with fake models), and the page itself in a real Chromium, served in this process
(``fake_models``: answers in a second), where two browser sessions choose different
collections and each keeps its own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_collections import ORCA, ZEBRA

from qa.assistant import ingest
from qa.collections import names, resolve
from qa.config import Settings
from qa.errors import InputError
from qa.server.security import KeyCheck
from qa.testing import FakeEmbedder, FakeGenerator

gr = pytest.importorskip("gradio")
ui = pytest.importorskip("ui")
LYNX = "The lynx project is led by Lea Kurz. It started in Graz in 2020.\n"


@pytest.fixture
def two(tmp_path: Path, settings: Settings) -> Settings:
    """team-a (zebra) and team-b (orca) beside the default collection, all built (FAISS)."""
    for name, text in (("a", ZEBRA), ("b", ORCA)):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{'zebra' if name == 'a' else 'orca'}.txt").write_text(text)
    s = settings.replace(collections={"team-a": {"corpus_dir": str(tmp_path / "a")},
                                      "team-b": {"corpus_dir": str(tmp_path / "b"),
                                                 "language": "en"}})
    embedder = FakeEmbedder()
    for name in names(s):
        ingest(resolve(s, name), embedder=embedder)
    return s


@pytest.fixture
def app(two: Settings, fake_models: FakeGenerator) -> Any:
    return ui.App(two)


def callbacks(app: Any) -> dict[str, Any]:
    demo = ui.build(app)
    return {f.fn.__name__: f.fn for f in demo.fns.values() if f.fn is not None}


def picker(demo: Any) -> dict[str, Any]:
    """The collection dropdown's config as the page receives it."""
    found = [c for c in demo.config["components"]
             if c.get("props", {}).get("elem_id") == "qa-collection"]
    assert len(found) == 1
    return dict(found[0]["props"])


def ask(fns: dict[str, Any], app: Any, question: str, collection: str | None,
        state: tuple | None = None) -> tuple:
    chat, turns, ids = state or ([], [], [])
    steps = list(fns["respond"](question, chat, turns, ids, app.settings.backend,
                                app.current_model(), 3, "auto", [], "", "", collection))
    _, chat, panel, turns, ids = steps[-1]
    return chat, panel, turns, ids


# -- the callbacks --------------------------------------------------------------------------------
def test_the_picker_lists_the_collections_and_is_hidden_without_them(
        app: Any, settings: Settings, fake_models: FakeGenerator) -> None:
    props = picker(ui.build(app))
    assert [c[1] if isinstance(c, (list, tuple)) else c for c in props["choices"]] == [
        "default", "team-a", "team-b"]
    assert props["value"] == "default" and props["visible"] is True
    ingest(settings, embedder=FakeEmbedder())
    assert picker(ui.build(ui.App(settings)))["visible"] is False  # only the default one


def test_switching_answers_from_the_chosen_collection(app: Any) -> None:
    fns = callbacks(app)
    out = fns["on_collection"]("team-a")
    chat, turns, ids, panel, question, rows, pick, filt, article, status = out
    assert (chat, turns, ids, question, article) == ([], [], [], "", "")
    assert [r[1] for r in rows] == ["zebra.txt"]
    assert pick["choices"] == ["zebra.txt"] and pick["value"] is None
    assert filt["choices"] == ["zebra.txt"] and filt["value"] == []
    assert "team-a: 1 document" in status
    chat, panel, turns, _ = ask(fns, app, "Who leads the zebra project?", "team-a")
    assert turns[-1] is not None and turns[-1].sources == ["zebra.txt"]
    assert "Anna Berg" in chat[-1]["content"] and "zebra.txt" in panel
    # the same question in team-b and in the default collection never sees zebra.txt
    _, _, turns_b, _ = ask(fns, app, "Who leads the zebra project?", "team-b")
    assert "zebra.txt" not in (turns_b[-1].sources if turns_b[-1] else [])
    _, _, turns_d, _ = ask(fns, app, "Who leads the zebra project?", None)
    assert "zebra.txt" not in (turns_d[-1].sources if turns_d[-1] else [])
    # showing an earlier turn's sources reads the session's collection
    assert "zebra.txt" in fns["show_turn"](turns, "team-a", gr.SelectData(
        None, {"index": 1, "value": ""}))


def test_documents_panel_lists_adds_and_deletes_in_the_chosen_collection(
        app: Any, tmp_path: Path) -> None:
    fns = callbacks(app)
    lynx = tmp_path / "lynx.txt"
    lynx.write_text(LYNX)
    out = fns["add_docs"]([str(lynx)], False, "team-b")
    assert "Added lynx.txt" in out[0] or "added lynx.txt" in out[0].lower(), out[0]
    assert {r[1] for r in out[1]} == {"orca.txt", "lynx.txt"}
    assert {r[1] for r in fns["refresh_list"]("team-a")[0]} == {"zebra.txt"}
    assert "lynx.txt" not in {r[1] for r in fns["refresh_list"](None)[0]}
    assert (stored := app.catalog.settings_of("team-b").corpus_dir / "lynx.txt").is_file()
    _, _, turns, _ = ask(fns, app, "Who leads the lynx project?", "team-b")
    assert turns[-1].sources == ["lynx.txt"]
    assert "Lea Kurz" in fns["view_doc"]("lynx.txt", "team-b")
    assert fns["view_doc"]("lynx.txt", "team-a") == ""
    out = fns["delete_doc"]("lynx.txt", "team-b")
    assert "deleted lynx.txt" in out[0].lower() and not stored.exists()
    assert {r[1] for r in out[1]} == {"orca.txt"}


def test_the_settings_tab_describes_the_index_of_the_chosen_collection(
        app: Any, tmp_path: Path) -> None:
    demo = ui.build(app)
    line = [c["props"]["value"] for c in demo.config["components"]
            if c.get("props", {}).get("elem_id") == "qa-index-info"]
    assert line == [app.index_line("default")]  # the page opens on the default collection
    assert "Index (default)" in line[0] and "5 documents" in line[0]
    # the line follows the picker, and is read again when the tab is opened
    wired = [f for f in demo.fns.values() if f.fn is not None and f.fn.__name__ == "index_info"]
    assert {(type(demo.blocks[block]).__name__, event)
            for f in wired for block, event in f.targets} == {("Dropdown", "change"),
                                                              ("Tab", "select")}
    for f in wired:
        assert [getattr(c, "elem_id", None) for c in f.inputs] == ["qa-collection"]
        assert [getattr(c, "elem_id", None) for c in f.outputs] == ["qa-index-info"]
    index_info = wired[0].fn
    a = index_info("team-a")
    team_a = app.catalog.settings_of("team-a")
    assert "Index (team-a)" in a and "1 document, " in a and "embeddings `fake-embedder`" in a
    assert str(team_a.index_dir) in a and str(team_a.corpus_dir) in a
    assert str(app.settings.index_dir) not in a.replace(str(team_a.index_dir), "")
    lynx = tmp_path / "lynx.txt"
    lynx.write_text(LYNX)
    callbacks(app)["add_docs"]([str(lynx)], False, "team-b")
    b = index_info("team-b")
    assert "Index (team-b)" in b and "2 documents" in b  # the index as it is now


def test_a_thumb_is_stored_and_exported_with_the_collection_that_answered(
        app: Any, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from qa.feedback import read_feedback

    fns = callbacks(app)
    chat, _, turns, ids = ask(fns, app, "Who leads the zebra project?", "team-a")
    like = gr.LikeData(None, {"index": 1, "value": chat[1]["content"], "liked": False})
    # the picker has moved on (a collection that failed to load keeps the old chat): the
    # rating still names the collection that answered
    fns["on_like"](turns, ids, like, None, "team-b")
    # an id no longer among the recent answers: the picker's collection
    fns["on_like"](turns, ["ans_forgotten"], like, None, "team-a")
    records = read_feedback(app.feedback_path)
    assert [(r["answer_id"], r["collection"], r["via"]) for r in records] == [
        (ids[0], "team-a", "ui"), ("ans_forgotten", "team-a", "ui")]
    out = subprocess.run([sys.executable, "-m", "qa.cli", "feedback", "export", "--file",
                          str(app.feedback_path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["id"], r["feedback"]["collection"]) for r in rows] == [
        ("fb-ans_forgotten", "team-a")]  # one question in one collection: the latest rating


def test_a_collection_not_offered_is_refused(two: Settings, fake_models: FakeGenerator) -> None:
    app = ui.App(two, collections=["default", "team-a"])
    assert app.collections() == ["default", "team-a"]
    with pytest.raises(InputError, match="'team-b' is not offered here"):
        app.library_of("team-b")
    fns = callbacks(app)
    chat, _, turns, _ = ask(fns, app, "Who leads the orca project?", "team-b")
    assert turns[-1] is None and "not offered here" in chat[-1]["content"]
    assert picker(ui.build(app))["visible"] is True


def test_serve_ui_offers_only_what_every_login_may_use() -> None:
    known = ["default", "team-a", "team-b"]
    assert KeyCheck(["k" * 32]).window_collections(known) == known
    keys = KeyCheck(["k" * 32, "j" * 32 + "@default+team-a", "r" * 32 + "@team-b:ro"],
                    host="0.0.0.0")
    assert keys.window_collections(known) == ["default", "team-a"]


@pytest.mark.server
def test_serve_ui_picker_leaves_out_what_a_login_may_not_use(
        two: Settings, fake_models: FakeGenerator) -> None:
    import httpx
    from test_server import LiveServer

    from qa.server import ServerConfig, build

    full, limited = "f" * 32, "l" * 32
    keys = (full, f"{limited}@default+team-b")  # a login with ``limited`` must not reach team-a
    app = build(two, ServerConfig(host="0.0.0.0", api_keys=keys, warm_up=False), ui=True)
    with LiveServer(app, host="0.0.0.0") as s, httpx.Client(base_url=s.url, timeout=30) as c:
        assert c.post("/ui/login", data={"username": "me", "password": full}).status_code < 400
        config = c.get("/ui/config").json()
    props = [x["props"] for x in config["components"]
             if x.get("props", {}).get("elem_id") == "qa-collection"][0]
    offered = [x[1] if isinstance(x, (list, tuple)) else x for x in props["choices"]]
    assert offered == ["default", "team-b"] and props["visible"] is True


# -- a real browser -------------------------------------------------------------------------------
@pytest.fixture
def served(app: Any) -> Iterator[str]:
    from browser_helpers import free_port

    demo = ui.build(app)
    demo.queue(default_concurrency_limit=4)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                quiet=True, ssr_mode=False, show_error=False)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.mark.browser
def test_two_browser_sessions_keep_their_own_collection(served: str, tmp_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    from browser_helpers import CHROMIUM, launch_chromium, open_tab, upload
    from browser_helpers import ask as ask_in_page

    if not Path(CHROMIUM).exists():  # pragma: no cover - environment
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")

    def choose(page: Any, name: str) -> None:
        page.click("#qa-collection input")
        page.locator(f"[data-testid=dropdown-option][aria-label='{name}']").click()
        open_tab(page, "Dokumente / documents")  # the status line is in the documents tab
        page.wait_for_function(
            "(n) => { const e = document.querySelector('#qa-doc-status .qa-status');"
            " return e && e.innerText.includes('Collection ' + n); }", arg=name,
            timeout=30_000)
        open_tab(page, "Chat")

    def files(page: Any) -> list[str]:
        return page.locator("#qa-sources-panel .qa-file").all_inner_texts()

    def listed(page: Any) -> set[str]:
        open_tab(page, "Dokumente / documents")
        page.wait_for_function("() => document.querySelector('#qa-docs')"
                               " && document.querySelector('#qa-docs').innerText.includes('.txt')",
                               timeout=10_000)
        text = page.locator("#qa-docs").inner_text()
        open_tab(page, "Chat")
        return set(re.findall(r"[\w.-]+\.txt", text))

    lynx = tmp_path / "lynx.txt"
    lynx.write_text(LYNX)
    with playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            a = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            d = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            for page in (a, d):
                page.goto(served)
                page.wait_for_selector("#qa-question textarea")
                assert page.locator("#qa-collection").is_visible()
            choose(a, "team-a")
            open_tab(a, "Einstellungen / settings")  # the index line follows the picker
            a.wait_for_function("() => document.querySelector('#qa-index-info')"
                                ".innerText.includes('Index (team-a)')", timeout=10_000)
            assert "1 document," in a.locator("#qa-index-info").inner_text()
            open_tab(a, "Chat")
            t = ask_in_page(a, "Who leads the zebra project?", timeout_s=60)
            assert t["error"] is None, t
            assert files(a) == ["zebra.txt"]
            assert "Anna Berg" in a.locator("#qa-chat [data-testid=bot]").last.inner_text()
            # the other session still reads the default collection
            t = ask_in_page(d, "Who leads the zebra project?", timeout_s=60)
            assert "zebra.txt" not in files(d)
            assert len(listed(d)) == 5  # the demo articles
            assert listed(d).isdisjoint({"zebra.txt", "orca.txt"})
            assert listed(a) == {"zebra.txt"}
            # an upload in session a lands in team-a only
            assert "lynx.txt" in upload(a, [lynx])
            assert listed(a) == {"zebra.txt", "lynx.txt"}
            assert "lynx.txt" not in listed(d)
            open_tab(a, "Chat")
            ask_in_page(a, "Who leads the lynx project?", timeout_s=60)
            assert files(a)[0] == "lynx.txt"
            # switching back starts a new chat on the default collection
            choose(a, "default")
            assert a.locator("#qa-chat [data-testid=bot]").count() == 0
            ask_in_page(a, "Who leads the lynx project?", timeout_s=60)
            assert "lynx.txt" not in files(a)
        finally:
            browser.close()
