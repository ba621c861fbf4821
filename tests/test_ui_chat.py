"""The chat window's callbacks without a browser: the cited PDF page with its quote highlighted,
filters, and thumbs stored with the answer id the HTTP API uses. A real index of the demo
articles plus a PDF made here, fake models; the callbacks are the ones ``ui.build`` wires."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from office_files import make_pdf
from test_page_view import PAGES, highlighted_pixels

from qa.config import Settings
from qa.feedback import read_feedback
from qa.ingest.pipeline import ingest
from qa.testing import FakeEmbedder, FakeGenerator

gr = pytest.importorskip("gradio")
ui = pytest.importorskip("ui")


@pytest.fixture
def app(settings: Settings, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    make_pdf(corpus / "hafen.pdf", PAGES, title="Hafenbericht")
    ingest(settings, embedder=FakeEmbedder())
    monkeypatch.setattr("qa.composition.make_embedder", lambda s: FakeEmbedder())
    monkeypatch.setattr("qa.composition.make_generator", lambda s, backend=None: FakeGenerator())
    return ui.App(settings)


def callbacks(app: Any) -> dict[str, Any]:
    demo = ui.build(app)
    return {f.fn.__name__: f.fn for f in demo.fns.values() if f.fn is not None}


def ask(app: Any, fns: dict[str, Any], question: str, sources: list[str] | None = None,
        date_from: str = "", date_to: str = "", state: tuple | None = None) -> tuple:
    """Run the ``respond`` callback to its end; returns (chat, sources html, turns, ids)."""
    chat, turns, ids = state or ([], [], [])
    steps = list(fns["respond"](question, chat, turns, ids, app.settings.backend,
                                app.current_model(), 3, "auto", sources, date_from, date_to))
    _, chat, panel, turns, ids = steps[-1]
    return chat, panel, turns, ids


def test_cited_pdf_page_is_shown_with_the_quote_highlighted(app: Any) -> None:
    fns = callbacks(app)
    app.assistant.generator.enqueue("Im Kieler Hafen legten 2025 genau 271 Kreuzfahrtschiffe "
                                    "an [1].")
    chat, panel, turns, ids = ask(app, fns, "Wie viele Kreuzfahrtschiffe legten im Kieler "
                                  "Hafen an?", sources=["hafen.pdf"])
    answer = turns[-1]
    assert answer is not None and not answer.abstained, chat[-1]
    assert answer.sources == ["hafen.pdf"] and answer.filter == {"sources": ["hafen.pdf"]}
    assert "Filter: source hafen.pdf" in chat[-1]["content"]  # which filter applied
    img = re.search(r'<img class="qa-page-img" src="data:image/png;base64,([^"]+)" '
                    r'alt="([^"]+)"[^>]*data-found="1"', panel)
    assert img, panel[:2000]
    page = answer.citations[0].page
    assert img.group(2) == f"S. {page} von hafen.pdf, Zitat markiert"
    png = base64.b64decode(img.group(1))
    assert png.startswith(b"\x89PNG") and highlighted_pixels(png) > 500
    assert f"S. {page} – Seite ansehen" in panel


def test_no_page_view_for_unpaged_documents(app: Any) -> None:
    fns = callbacks(app)
    _, panel, turns, _ = ask(app, fns, "Worin investiert Alibaba?",
                             sources=["0*.txt"])
    assert turns[-1] is not None and turns[-1].citations
    assert "qa-pageview" not in panel and "<img" not in panel


def test_bad_filter_is_one_line_in_the_chat_and_the_chat_goes_on(app: Any) -> None:
    fns = callbacks(app)
    chat, _, turns, ids = ask(app, fns, "Wie viel investiert Alibaba?", date_from="2025-13-01")
    error = chat[-1]["content"]
    assert 'class="qa-error"' in error and "bad date_from" in error and "2025-13-01" in error
    assert "Traceback" not in error and turns == [None] and ids == [None]
    chat, _, turns, ids = ask(app, fns, "Wie viel investiert Alibaba?",
                              date_from="2025-10-01", date_to="2025-09-01",
                              state=(chat, turns, ids))
    assert "date_from 2025-10-01 is after date_to 2025-09-01" in chat[-1]["content"]
    chat, _, turns, ids = ask(app, fns, "Wie viel investiert Alibaba?", sources=["../etc/*"],
                              state=(chat, turns, ids))  # a typed glob that leaves the corpus
    assert "bad source '../etc/*'" in chat[-1]["content"]
    chat, _, turns, ids = ask(app, fns, "Wie viel investiert Alibaba?", state=(chat, turns, ids))
    assert turns[-1] is not None and turns[-1].filter is None and ids[-1].startswith("ans_")
    assert "qa-filter-note" not in chat[-1]["content"]  # no filter, no note


def test_thumbs_are_stored_with_the_answer_id_and_exported_like_api_ratings(
        app: Any, tmp_path: Path) -> None:
    fns = callbacks(app)
    state = ask(app, fns, "Wie viel investiert Alibaba?")
    chat, _, turns, ids = ask(app, fns, "Wer leitet Alibaba?", state=(state[0], state[2],
                                                                          state[3]))
    assert len(ids) == 2 and all(i.startswith("ans_") for i in ids) and ids[0] != ids[1]
    assert app.answers.get(ids[1]) is turns[1]  # the same registry of ids as the server's
    like = gr.LikeData(None, {"index": 3, "value": chat[3]["content"], "liked": False})
    fns["on_like"](turns, ids, like, None)
    up = gr.LikeData(None, {"index": 1, "value": chat[1]["content"], "liked": True})
    fns["on_like"](turns, ids, up, None)
    records = read_feedback(app.feedback_path)
    assert [(r["answer_id"], r["rating"], r["via"], r["collection"]) for r in records] == [
        (ids[1], "down", "ui", "default"), (ids[0], "up", "ui", "default")]
    assert records[0]["question"] == "Wer leitet Alibaba?" and records[0]["passages"]

    out = subprocess.run([sys.executable, "-m", "qa.cli", "feedback", "export", "--file",
                          str(app.feedback_path), "--rating", "down"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == [f"fb-{ids[1]}"]
    assert rows[0]["feedback"]["answer_id"] == ids[1]
    assert rows[0]["feedback"]["collection"] == "default"
