"""The chat window's route to the corpus's original files (``qa.ui.originals``): served inline
with the right headers, only documents of the collection inside its corpus folder, behind the
window's login, and under ``qa serve --ui`` by the server's key rules. Real HTTP: the window
launched the way ``python ui.py`` launches it, and ``qa serve --ui`` under uvicorn."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from office_files import make_pdf
from test_page_view import PAGES

from qa.config import Settings
from qa.ingest.pipeline import ingest
from qa.testing import FakeEmbedder, FakeGenerator
from qa.ui.originals import original_href, original_routes

gr = pytest.importorskip("gradio")
ui = pytest.importorskip("ui")

KEY = "test-key-0123456789"
PAGE = "<html><head><title>Gespeichert</title><script>alert(1)</script></head>" \
       "<body><article><p>Die Werft in Husum baut 12 Fähren.</p></article></body></html>"


@pytest.fixture
def docs(settings: Settings, tmp_path: Path) -> Settings:
    """The demo articles plus a PDF, a saved web page, a Windows-1252 text, a symlink to a file
    outside the corpus (indexed: follow_symlinks) and a file the index does not hold."""
    corpus = Path(settings.corpus_dir)
    make_pdf(corpus / "hafen.pdf", PAGES, title="Hafenbericht")
    (corpus / "seite.html").write_text(PAGE, encoding="utf-8")
    (corpus / "alt.txt").write_bytes("Größe der Fähre: 120 Meter.\n".encode("cp1252"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Das Geheimnis ist 4711.\n", encoding="utf-8")
    os.symlink(outside / "secret.txt", corpus / "link.txt")
    (corpus / ".notes.txt").write_text("hidden, never indexed\n", encoding="utf-8")
    s = settings.replace(follow_symlinks=True)
    ingest(s, embedder=FakeEmbedder())
    return s


@pytest.fixture
def window(docs: Settings, fake_models: FakeGenerator) -> Any:
    return ui.App(docs)


def launched(app: Any, auth: list[tuple[str, str]] | None = None) -> Iterator[str]:
    """The window launched as ``ui.main`` launches it (its routes through ``app_kwargs``)."""
    from browser_helpers import free_port

    demo = ui.build(app)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                quiet=True, ssr_mode=False, show_error=False, auth=auth,
                app_kwargs={"routes": original_routes(app)})
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        demo.close()


@pytest.fixture
def open_window(window: Any) -> Iterator[str]:
    yield from launched(window)


def test_a_pdf_is_served_inline_whole_and_by_range(open_window: str, docs: Settings) -> None:
    pdf = (Path(docs.corpus_dir) / "hafen.pdf").read_bytes()
    with httpx.Client(base_url=open_window, timeout=30) as c:
        r = c.get("/" + original_href(None, "hafen.pdf", 2).partition("#")[0])
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        assert r.headers["content-disposition"] == 'inline; filename="hafen.pdf"'
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["cross-origin-resource-policy"] == "same-origin"
        assert "content-security-policy" not in r.headers  # Chromium shows no sandboxed PDF
        assert r.content == pdf
        part = c.get("/original/default/hafen.pdf", headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and part.content == pdf[:100]  # the PDF viewer's reads


def test_text_and_saved_pages_are_plain_text_in_a_sandbox(open_window: str) -> None:
    with httpx.Client(base_url=open_window, timeout=30) as c:
        page = c.get("/original/default/seite.html")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/plain; charset=utf-8"
        assert page.headers["content-security-policy"] == "sandbox"
        assert page.headers["content-disposition"].startswith("inline")
        assert page.text == PAGE  # the source, shown, never run
        old = c.get("/original/default/alt.txt")
        assert old.headers["content-type"] == "text/plain; charset=windows-1252"
        assert "Größe der Fähre" in old.text
        demo = c.get("/original/default/000_77272ddfe1add5f4.txt")  # a demo article
        assert demo.status_code == 200 and "Alibaba" in demo.text


@pytest.mark.parametrize("path", [
    "/original/default/%2e%2e/%2e%2e/etc/passwd",  # .. out of the corpus
    "/original/default/..%2F..%2Fetc%2Fpasswd",
    "/original/default//etc/passwd",  # absolute
    "/original/default/%2Fetc%2Fpasswd",
    "/original/default/link.txt",  # a symlink that leaves the corpus (indexed all the same)
    "/original/default/.notes.txt",  # inside the corpus, but no document of the collection
    "/original/default/missing.pdf",
    "/original/default/",
    "/original/team-x/hafen.pdf",  # no such collection
])
def test_anything_but_a_document_of_the_corpus_is_404_with_one_line(
        open_window: str, window: Any, path: str) -> None:
    assert window.lookup("link.txt") is not None  # the index holds it (follow_symlinks)
    r = httpx.get(open_window + path, timeout=30)
    assert r.status_code == 404, (path, r.status_code, r.text[:200])
    if r.headers["content-type"].startswith("text/plain"):  # ours (Starlette's own 404 else)
        assert r.text.count("\n") == 1 and r.text.startswith("not found: ")
    assert "4711" not in r.text and "root:" not in r.text


def test_the_window_login_is_needed_when_it_has_one(window: Any) -> None:
    for url in launched(window, auth=[("anna", "s3cret")]):
        with httpx.Client(base_url=url, timeout=30) as c:
            r = c.get("/original/default/hafen.pdf")
            assert r.status_code == 401 and r.text == "a login to the chat window is needed\n"
            assert c.post("/login", data={"username": "anna", "password": "nope"}
                          ).status_code >= 400
            assert c.get("/original/default/hafen.pdf").status_code == 401
            assert c.post("/login", data={"username": "anna", "password": "s3cret"}
                          ).status_code < 400
            r = c.get("/original/default/hafen.pdf")
            assert r.status_code == 200 and r.content.startswith(b"%PDF")
            assert c.get("/original/default/%2e%2e/%2e%2e/etc/passwd").status_code == 404


def test_the_source_cards_link_to_the_original_at_the_page(window: Any, docs: Settings) -> None:
    demo = ui.build(window)
    fns = {f.fn.__name__: f.fn for f in demo.fns.values() if f.fn is not None}
    steps = list(fns["respond"]("Wie viele Kreuzfahrtschiffe legten im Kieler Hafen an?",
                                [], [], [], window.settings.backend, window.current_model(), 4,
                                "auto", ["hafen.pdf"], "", "", None))
    panel = steps[-1][2]
    assert 'href="original/default/hafen.pdf#page=' in panel, panel[:2000]
    assert 'target="_blank"' in panel and "Original auf S. " in panel
    steps = list(fns["respond"]("Was baut die Werft in Husum?", [], [], [],
                                window.settings.backend, window.current_model(), 4, "auto",
                                ["seite.html"], "", "", None))
    panel = steps[-1][2]
    assert 'href="original/default/seite.html"' in panel and "Original öffnen" in panel
    (Path(docs.corpus_dir) / "seite.html").unlink()  # gone from the folder: no link
    assert 'href="original/' not in fns["show_turn"](
        [steps[-1][3][-1]], None, gr.SelectData(None, {"index": 1, "value": ""}))


# -- under qa serve --ui -------------------------------------------------------------------------
@pytest.mark.server
def test_serve_off_loopback_needs_a_key_or_a_window_login(docs: Settings,
                                                           fake_models: FakeGenerator) -> None:
    from test_server import LiveServer

    from qa.server import ServerConfig, build

    other = "o" * 32 + "@team-a"
    two = docs.replace(collections={"team-a": {"corpus_dir": str(docs.corpus_dir)}})
    app = build(two, ServerConfig(host="0.0.0.0", api_keys=(KEY, other), warm_up=False),
                ui=True)
    path = "/ui/original/default/hafen.pdf"
    with LiveServer(app, host="0.0.0.0") as s, httpx.Client(base_url=s.url, timeout=30) as c:
        r = c.get(path)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert c.get(path, headers={"Authorization": "Bearer wrong-key-0123456789"}
                     ).status_code == 401
        # a key limited to another collection is no key for this one
        assert c.get(path, headers={"Authorization": f"Bearer {'o' * 32}"}).status_code == 401
        r = c.get(path, headers={"Authorization": f"Bearer {KEY}"})
        assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
        assert r.headers["x-content-type-options"] == "nosniff"  # once, not once per layer
        assert c.get("/ui/original/default/%2e%2e/%2e%2e/etc/passwd",
                     headers={"Authorization": f"Bearer {KEY}"}).status_code == 404
        # the window's login (an API key as its password) reaches it from the browser
        assert c.post("/ui/login", data={"username": "me", "password": KEY}).status_code < 400
        r = c.get(path)
        assert r.status_code == 200 and r.content.startswith(b"%PDF")


@pytest.mark.server
def test_serve_on_loopback_reads_like_the_other_open_routes(docs: Settings,
                                                           fake_models: FakeGenerator) -> None:
    from test_server import LiveServer

    from qa.server import ServerConfig, build

    app = build(docs, ServerConfig(warm_up=False), ui=True)
    with LiveServer(app) as s, httpx.Client(base_url=s.url, timeout=30) as c:
        r = c.get("/ui/original/default/seite.html")
        assert r.status_code == 200 and r.headers["content-security-policy"] == "sandbox"
        assert c.get("/ui/original/default/link.txt").status_code == 404
        # the rebinding guard of the server covers the route too
        assert c.get("/ui/original/default/seite.html",
                     headers={"Host": "evil.example"}).status_code == 400
