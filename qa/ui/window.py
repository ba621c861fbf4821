"""The chat window's Gradio page: ``python ui.py`` (then open the printed URL), or mounted at
/ui by ``qa serve --ui``.

Glue only: it builds one ``Assistant`` and one ``DocumentLibrary`` from the settings and wires
Gradio callbacks to them. Retrieval, prompting and follow-up rewriting live in ``qa``; the HTML
comes from ``qa.render`` (which escapes everything); feedback goes through ``qa.feedback``.

    python ui.py                         # http://127.0.0.1:7860
    python ui.py --port 8080 --model qwen2.5-coder-0.5b
    QA_UI_USERS=anna:secret python ui.py --host 0.0.0.0   # reachable from other machines

Security rule: every callback of a Gradio app is an HTTP endpoint, including upload, delete and
rebuild. Without a login the app is therefore served only on a loopback address; on any other
address, or with ``--share``, it refuses to start unless users are configured (``QA_UI_USERS``
or ``QA_UI_USERS_FILE``, see ``Settings.ui_credentials``). The document-changing callbacks are
also kept out of the public API (``api_visibility="private"``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

_T0 = time.perf_counter()  # start-up time is reported from here, imports included
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402 - after the environment it reads

from qa.server.security import is_loopback  # noqa: E402
from qa.ui.app import App, doc_rows  # noqa: E402, F401 - App: also ui.App, as before

log = logging.getLogger("qa.ui")
# keyword that keeps an event out of the app's public API (Gradio 6 renamed it)
PRIVATE: dict[str, Any] = ({"api_visibility": "private"} if int(gr.__version__.split(".")[0]) >= 6
                           else {"api_name": False, "show_api": False})

EXAMPLES = [
    "Wie viel investiert Alibaba in KI-Infrastruktur?",
    "In welchen Ländern sollen neue Alibaba-Rechenzentren 2025 starten?",
    "How many parameters does Qwen3-Max have?",
    "Which investor bought Alibaba shares again?",
]
LANGUAGES = [("automatisch / auto", "auto"), ("Deutsch", "de"), ("English", "en")]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from qa.cli import _common, _gen

    p = argparse.ArgumentParser(prog="ui.py", description="The qa chat window (Gradio).")
    g = p.add_argument_group("server")
    g.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1; any other needs QA_UI_USERS)")
    g.add_argument("--port", type=int, default=None,
                   help="port (default: the first free one from 7860)")
    g.add_argument("--share", action="store_true",
                   help="also open a public gradio.live link (needs QA_UI_USERS)")
    g.add_argument("--data-dir", help="feedback and trash folder (default: data)")
    g.add_argument("--no-warmup", action="store_true",
                   help="do not load the models in the background after start")
    _common(p)
    _gen(p)
    return p.parse_args(argv)


def exposure_problem(host: str, share: bool, users: list[tuple[str, str]]) -> str | None:
    """Why the UI must not start as asked (anyone who reaches it could upload, delete and
    rebuild documents), or None.

    >>> exposure_problem("127.0.0.1", False, []) is None
    True
    >>> exposure_problem("0.0.0.0", False, [("anna", "secret")]) is None
    True
    >>> exposure_problem("0.0.0.0", False, []).startswith("refusing to serve on 0.0.0.0")
    True
    """
    if users or (is_loopback(host) and not share):
        return None
    where = "a public --share link" if share else host
    return (f"refusing to serve on {where} without a login: anyone who can reach it could "
            "upload, delete and rebuild documents; set QA_UI_USERS=name:password (or "
            "QA_UI_USERS_FILE=path, one name:password per line), or use --host 127.0.0.1")


def make_settings(args: argparse.Namespace):  # noqa: ANN201 - qa.Settings
    from qa.cli import _settings

    settings = _settings(args)
    return settings.replace(data_dir=args.data_dir) if args.data_dir else settings


# -- callbacks (module level, so that they read like the UI they drive) ---------------------

def build(app: App) -> gr.Blocks:  # noqa: C901 - one function, laid out like the page
    from qa.assistant import Done, Retrieved, Token
    from qa.collections import DEFAULT
    from qa.errors import QAError
    from qa.feedback import record_feedback
    from qa.filters import make_filter
    from qa.render import (
        esc,
        md_escape,
        render_answer,
        render_empty,
        render_error,
        render_partial,
        render_retrieved,
        render_sources,
    )
    from qa.ui.originals import link_maker

    s = app.settings
    collections = app.collections()

    def sources_html(answer: Any, turn: int, collection: str | None) -> str:
        return render_sources(answer, turn, partial(app.lookup, collection=collection),
                              page_image=app.pages_of(collection).view,
                              original=link_maker(app, collection))

    def respond(message: str, chat: list[dict], turns: list, ids: list, backend: str,
                model: str, top_k: float, language: str, only_sources: list[str] | None,
                date_from: str, date_to: str, collection: str | None = None) -> Iterator[tuple]:
        message = (message or "").strip()
        if not message:
            gr.Warning("Bitte eine Frage eingeben. / Please type a question.")
            yield gr.skip(), chat, gr.skip(), turns, ids
            return
        turn = len(turns)
        history = [(a.standalone_question or a.question, a.text)
                   for a in turns[-2:] if a is not None and not a.error]
        chat = [*chat, {"role": "user", "content": md_escape(message)},
                {"role": "assistant", "content": "…"}]
        yield "", chat, render_empty(), turns, ids
        answer = None
        try:
            # a bad date is one InputError line in the chat, like any other bad input
            allowed = make_filter(sources=list(only_sources or []) or None,
                                  date_from=(date_from or "").strip() or None,
                                  date_to=(date_to or "").strip() or None)
            assistant = app.assistant_for(backend, model, collection)
            lookup = partial(app.lookup, collection=collection)
            text, standalone, lang = "", None, "de"
            passages: tuple[Any, ...] = ()
            for event in assistant.events(message, language=None if language == "auto"
                                          else language, top_k=int(top_k), history=history,
                                          allowed=allowed):
                if isinstance(event, Retrieved):
                    passages, lang = event.passages, event.language
                    standalone = event.question if event.question != message else None
                    chat[-1] = {"role": "assistant",
                                "content": render_partial("", turn, passages, standalone, lang)}
                    yield (gr.skip(), chat, render_retrieved(passages, turn, lookup, lang),
                           turns, ids)
                elif isinstance(event, Token):
                    text += event.text
                    chat[-1] = {"role": "assistant",
                                "content": render_partial(text, turn, passages, standalone, lang)}
                    yield gr.skip(), chat, gr.skip(), turns, ids
                elif isinstance(event, Done):
                    answer = event.answer
            if answer is None:
                raise QAError("the answer pipeline ended without an answer")
            answer_id = app.answers.add(answer, collection or DEFAULT)
            chat[-1] = {"role": "assistant", "content": render_answer(answer, turn)}
            yield (gr.skip(), chat, sources_html(answer, turn, collection), [*turns, answer],
                   [*ids, answer_id])
        except QAError as e:  # InputError included: shown in the chat, the UI keeps working
            log.warning("question failed: %s", e)
            chat[-1] = {"role": "assistant", "content": render_error(str(e))}
            yield gr.skip(), chat, gr.skip(), [*turns, None], [*ids, None]
        except Exception as e:  # noqa: BLE001 - a bug must not leave the chat hanging
            log.exception("question failed")
            chat[-1] = {"role": "assistant",
                        "content": render_error(f"internal error ({type(e).__name__}); "
                                                "see the server log")}
            yield gr.skip(), chat, gr.skip(), [*turns, None], [*ids, None]

    def show_turn(turns: list, collection: str | None, evt: gr.SelectData):  # noqa: ANN202
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        turn = int(index) // 2
        if 0 <= turn < len(turns) and turns[turn] is not None:
            return sources_html(turns[turn], turn, collection)
        return gr.skip()

    def on_like(turns: list, ids: list, evt: gr.LikeData, request: gr.Request,
                collection: str | None = None) -> None:
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        turn = int(index) // 2
        answer = turns[turn] if 0 <= turn < len(turns) else None
        if answer is None or evt.liked not in (True, False, "Like", "Dislike"):
            return
        rating = "up" if evt.liked in (True, "Like") else "down"
        answer_id = ids[turn] if turn < len(ids) else None
        # the collection that answered (the picker's, when the id has left the recent answers)
        answered = (app.answers.collection(answer_id) if answer_id else None) or collection
        try:  # stored like a rating over the API (POST /v1/feedback): id and collection
            record_feedback(app.feedback_path, answer, rating,
                            session=getattr(request, "session_hash", None), via="ui",
                            **({"answer_id": answer_id} if answer_id else {}),
                            collection=answered or DEFAULT)
        except (OSError, QAError) as e:
            gr.Warning(f"Feedback konnte nicht gespeichert werden: {e}")
            return
        gr.Info("Danke für das Feedback! / Thanks for the feedback!")

    def pick_example(evt: gr.SelectData) -> str:
        value = evt.value
        return value.get("text", "") if isinstance(value, dict) else str(value)

    def on_backend(backend: str):  # noqa: ANN202
        models = app.models(backend)
        return gr.update(choices=models, value=models[0])

    def doc_choices(collection: str | None = None) -> list[str]:
        return [d.source for d in app.library_of(collection).list()]

    def refresh(collection: str | None):  # noqa: ANN202 - after an action: the choice is reset
        choices = doc_choices(collection)
        return (doc_rows(app.library_of(collection)), gr.update(choices=choices, value=None),
                gr.update(choices=choices))

    def refresh_list(collection: str | None = None):  # noqa: ANN202 - the user's choice stays
        choices = doc_choices(collection)
        return (doc_rows(app.library_of(collection)), gr.update(choices=choices),
                gr.update(choices=choices))

    def on_collection(collection: str | None):  # noqa: ANN202
        """This session now reads ``collection``: a new chat (a follow-up must not be rewritten
        with another collection's answers), its documents in the panel and the filter."""
        try:
            app.assistant_of(collection)  # loaded now (first use), and checked
            rows = doc_rows(app.library_of(collection))
        except QAError as e:
            gr.Warning(str(e))
            return (gr.skip(),) * 10
        choices = [r[1] for r in rows]
        return ([], [], [], render_empty(), "", rows, gr.update(choices=choices, value=None),
                gr.update(choices=choices, value=[]), "",
                status("ok", f"Collection {collection or DEFAULT}: {len(rows)} document"
                       f"{'' if len(rows) == 1 else 's'}"))

    def index_info(collection: str | None) -> str:
        """The settings tab's index line for this session's collection."""
        try:
            return app.index_line(collection)
        except QAError as e:
            return f"Index ({esc(collection or DEFAULT)}): {esc(str(e))}"

    def status(kind: str, text: str) -> str:
        return f'<div class="qa-status qa-status-{esc(kind)}">{esc(text)}</div>'

    def embed_progress(progress: gr.Progress):  # noqa: ANN202
        def update(done: int, total: int) -> None:
            progress((done, total), desc="Indexing (embedding chunks)", unit="chunks")
        return update

    def add_docs(files: list[str] | None, replace: bool, collection: str | None = None,  # noqa: ANN202
                 progress=gr.Progress()):  # noqa: B008
        if not files:
            return (status("warn", "Choose one or more .txt, .md, .html, .pdf, .docx, .pptx, "
                           ".xlsx, .odt, .epub or .rtf files first."),
                    *refresh(collection), gr.skip())
        progress(0, desc="Checking files")
        try:
            result = app.library_of(collection).add(
                [Path(f) for f in files], progress=embed_progress(progress),
                replace=bool(replace))
        except QAError as e:
            return status("error", f"Nothing was added: {e}"), *refresh(collection), gr.skip()
        if not result.ok:
            return status("error", result.summary()), *refresh(collection), gr.skip()
        app.reload(collection)
        return status("ok", result.summary().capitalize()), *refresh(collection), None

    def delete_doc(source: str | None, collection: str | None = None):  # noqa: ANN202
        if not source:
            return (status("warn", "Choose a document to delete."), *refresh(collection),
                    gr.skip())
        try:
            result = app.library_of(collection).delete(source)
        except QAError as e:
            return status("error", str(e)), *refresh(collection), gr.skip()
        app.reload(collection)
        return status("ok", result.summary().capitalize()), *refresh(collection), ""

    def rebuild(collection: str | None = None, progress=gr.Progress()):  # noqa: ANN202, B008
        progress(0, desc="Reading the articles")
        try:
            report, skipped = app.library_of(collection).rebuild(
                progress=embed_progress(progress))
        except QAError as e:
            return status("error", str(e)), *refresh(collection)
        app.reload(collection)
        text = report.summary().capitalize()
        if skipped:
            text += "; skipped: " + "; ".join(f"{x.path} ({x.reason})" for x in skipped)
        return status("ok" if not skipped else "warn", text), *refresh(collection)

    def view_doc(source: str | None, collection: str | None = None) -> str:
        from qa.render import render_document

        doc = app.lookup(source, collection) if source else None
        return render_document(doc) if doc is not None else ""

    backends = app.backends()
    with gr.Blocks(title="Fragen an die Artikel", analytics_enabled=False) as demo:
        turns = gr.State([])
        answer_ids = gr.State([])  # per turn, the answer's id (as the HTTP API gives it)
        gr.Markdown("## Fragen an die Artikel · Ask the articles\n"
                    "Antworten nur aus den indexierten Artikeln, mit Quellen. "
                    "Answers come only from the indexed articles, with sources.")
        # this session's collection: the chat answers from it, the documents tab shows it
        collection = gr.Dropdown(collections, value=DEFAULT, label="Sammlung / collection",
                                 elem_id="qa-collection", visible=len(collections) > 1,
                                 interactive=True, filterable=False)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=360):
                    chatbot = gr.Chatbot(
                        elem_id="qa-chat", height=560, buttons=["copy"],
                        examples=[{"text": q} for q in EXAMPLES], latex_delimiters=[],
                        placeholder="Fragen Sie etwas über die Artikel – auf Deutsch oder "
                                    "Englisch. / Ask about the articles in German or English.",
                        layout="panel", show_label=False)
                    with gr.Row():
                        question = gr.Textbox(
                            elem_id="qa-question", show_label=False, scale=5, lines=1,
                            max_lines=4, placeholder="Frage / question …", autofocus=True,
                            max_length=s.max_question_chars)
                        send = gr.Button("Fragen", variant="primary", scale=1,
                                         elem_id="qa-send")
                    clear = gr.Button("Neues Gespräch / new chat", size="sm",
                                      elem_id="qa-clear")
                    with gr.Accordion("Filter", open=False, elem_id="qa-filter"):
                        filter_sources = gr.Dropdown(
                            doc_choices(), value=[], multiselect=True, allow_custom_value=True,
                            label="Nur aus diesen Dokumenten / only from these documents "
                                  "(a file name or a glob such as team-a/*)",
                            elem_id="qa-filter-sources")
                        with gr.Row():
                            date_from = gr.Textbox(label="Datum von / date from (ISO)",
                                                   placeholder="2025-09-01", max_lines=1,
                                                   max_length=40, elem_id="qa-date-from")
                            date_to = gr.Textbox(label="bis / to (ISO)", placeholder="2025-09-30",
                                                 max_lines=1, max_length=40, elem_id="qa-date-to")
                        gr.Markdown("Ein Datumsbereich lässt Dokumente ohne Datum weg. / "
                                    "A date range leaves out documents without a date.")
                with gr.Column(scale=2, min_width=320):
                    sources = gr.HTML(render_empty(), elem_id="qa-sources-panel",
                                      js_on_load=None, padding=True, max_height=720)
            with gr.Tab("Dokumente / documents", id="documents") as docs_tab:
                table = gr.Dataframe(doc_rows(app.library), headers=["Title", "File", "Size", "Chunks"],
                                     datatype=["str", "str", "str", "number"],
                                     interactive=False, elem_id="qa-docs", wrap=True)
                with gr.Row():
                    upload = gr.File(label="Add articles (.txt, .md, .html, .pdf, .docx, "
                                           ".pptx, .xlsx, .odt, .epub, .rtf)",
                                     file_count="multiple", type="filepath",
                                     elem_id="qa-upload", scale=3)
                    with gr.Column(scale=1):
                        replace = gr.Checkbox(label="Replace documents with the same name")
                        add_btn = gr.Button("Add to the index", variant="primary",
                                            elem_id="qa-add")
                doc_status = gr.HTML("", elem_id="qa-doc-status", js_on_load=None)
                with gr.Row():
                    doc_pick = gr.Dropdown(doc_choices(), label="Document", value=None,
                                           elem_id="qa-doc-pick", scale=3)
                    view_btn = gr.Button("Show", elem_id="qa-view", scale=1)
                    delete_btn = gr.Button("Delete (to trash)", variant="stop",
                                           elem_id="qa-delete", scale=1)
                    rebuild_btn = gr.Button("Rebuild index from folder", elem_id="qa-rebuild",
                                            scale=1)
                article = gr.HTML("", elem_id="qa-article-view", js_on_load=None, padding=True)
            with gr.Tab("Einstellungen / settings", id="settings") as settings_tab:
                backend = gr.Radio(backends, value=s.backend, label="Backend",
                                   elem_id="qa-backend", visible=len(backends) > 1)
                model = gr.Dropdown(app.models(s.backend), value=app.current_model(),
                                    label="Model (the local ones run on this computer)",
                                    elem_id="qa-model")
                top_k = gr.Slider(1, 8, value=s.top_k, step=1, label="Passages given to the model",
                                  elem_id="qa-topk")
                language = gr.Radio(LANGUAGES, value=s.language, label="Answer language",
                                    elem_id="qa-language")
                # the index of this session's collection (updated by the picker and the tab)
                index_info_md = gr.Markdown(app.index_line(DEFAULT), elem_id="qa-index-info")

        ask_inputs = [question, chatbot, turns, answer_ids, backend, model, top_k, language,
                      filter_sources, date_from, date_to, collection]
        ask_outputs = [question, chatbot, sources, turns, answer_ids]
        for trigger in (question.submit, send.click):
            trigger(respond, ask_inputs, ask_outputs, concurrency_limit=16,
                    concurrency_id="ask", show_progress="hidden")
        chatbot.example_select(pick_example, None, question, queue=False).then(
            respond, ask_inputs, ask_outputs, concurrency_limit=16, concurrency_id="ask",
            show_progress="hidden")
        chatbot.like(on_like, [turns, answer_ids, collection], None, queue=False)
        chatbot.select(show_turn, [turns, collection], sources, queue=False)
        clear.click(lambda: ([], [], [], render_empty(), ""), None,
                    [chatbot, turns, answer_ids, sources, question], queue=False)
        chatbot.clear(lambda: ([], [], render_empty()), None, [turns, answer_ids, sources],
                      queue=False)
        backend.change(on_backend, backend, model, queue=False)

        docs_out = [doc_status, table, doc_pick, filter_sources]
        # the document-changing callbacks are for this page only, not part of the app's API
        add_btn.click(add_docs, [upload, replace, collection], [*docs_out, upload],
                      concurrency_limit=1, concurrency_id="documents", **PRIVATE)
        delete_btn.click(delete_doc, [doc_pick, collection], [*docs_out, article],
                         concurrency_limit=1, concurrency_id="documents", **PRIVATE)
        rebuild_btn.click(rebuild, collection, docs_out, concurrency_limit=1,
                          concurrency_id="documents", **PRIVATE)
        view_btn.click(view_doc, [doc_pick, collection], article, queue=False)
        doc_pick.change(view_doc, [doc_pick, collection], article, queue=False)
        demo.load(refresh_list, collection, [table, doc_pick, filter_sources], queue=False)
        docs_tab.select(refresh_list, collection, [table, doc_pick, filter_sources], queue=False)
        # loading a collection (first use) may take a while: queued, not on the event loop
        collection.change(on_collection, collection,
                          [chatbot, turns, answer_ids, sources, question, table, doc_pick,
                           filter_sources, article, doc_status], show_progress="minimal")
        collection.change(index_info, collection, index_info_md, show_progress="hidden")
        settings_tab.select(index_info, collection, index_info_md, show_progress="hidden")
    return demo


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.debug:
        logging.getLogger("qa").setLevel(logging.INFO)
        logging.getLogger("bm25s").setLevel(logging.WARNING)
    from qa.errors import QAError

    try:
        settings = make_settings(args)
        users = settings.ui_credentials()
        problem = exposure_problem(args.host, args.share, users)
        if problem:
            raise QAError(problem)
        app = App(settings)
    except QAError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    from qa.render import CSS
    from qa.ui.originals import original_routes

    demo = build(app)
    demo.queue(default_concurrency_limit=4)
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    demo.launch(server_name=args.host, server_port=args.port, share=args.share,
                auth=users or None, prevent_thread_lock=True, theme=theme, css=CSS + UI_CSS, quiet=True,
                max_file_size=settings.max_file_bytes, ssr_mode=False, show_error=False,
                app_kwargs={"routes": original_routes(app)})  # the source cards' originals
    url = demo.local_url or f"http://{args.host}:{args.port}/"
    print(f"qa UI running at {url} (started in {time.perf_counter() - _T0:.1f} s)", flush=True)
    if demo.share_url:
        print(f"public link: {demo.share_url}", flush=True)
    if not args.no_warmup:
        threading.Thread(target=app.warm_up, name="warm-up", daemon=True).start()
    demo.block_thread()  # until Ctrl-C
    return 0


UI_CSS = """
.qa-status { padding: .4em .7em; border-radius: 6px; margin: .3em 0; }
.qa-status-ok { background: rgba(40,160,80,.12); }
.qa-status-warn { background: rgba(240,160,32,.15); }
.qa-status-error { background: rgba(220,50,50,.12); }
"""
