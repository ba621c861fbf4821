"""``qa serve``: the HTTP API (REST + OpenAI-compatible) and, optionally, the chat window.

    from qa.server import ServerConfig, create_app, serve
    app = create_app(assistant, config=ServerConfig(api_keys=("secret",)))   # any ASGI server
    serve(settings, ServerConfig(port=8000), ui=True)                       # uvicorn, blocking

``app`` holds the routes (REST and OpenAI), ``answers`` the one-at-a-time answer slots,
``security`` the key rules and body limits. See docs/api.md.
"""

from __future__ import annotations

import hmac
import logging
import os
from typing import Any

from qa.config import Settings
from qa.server.app import ServerConfig, create_app
from qa.server.security import KeyCheck, is_loopback, parse_keys

__all__ = ["ServerConfig", "create_app", "keys_from_env", "serve"]

log = logging.getLogger(__name__)
UI_PATH = "/ui"


def keys_from_env(env: dict[str, str] | None = None) -> tuple[str, ...]:
    """API keys from ``QA_API_KEYS`` (comma- or space-separated)."""
    return parse_keys((os.environ if env is None else env).get("QA_API_KEYS"))


def _load_ui() -> Any:
    """The chat window's Gradio module (imported only with ``--ui``: Gradio is heavy)."""
    import qa.ui.window

    return qa.ui.window


def build(settings: Settings, config: ServerConfig, ui: bool = False) -> Any:
    """The ASGI app for ``settings``: the API, and the chat window at /ui when ``ui``."""
    KeyCheck(config.api_keys, config.host, config.local_changes_without_key)  # refuse early
    if not ui:
        from qa.assistant import Assistant

        return create_app(Assistant.load(settings), config=config)
    mod = _load_ui()
    keys = KeyCheck(config.api_keys, config.host)
    from qa.collections import names

    # the window offers only the collections every login may use (keys limited to others
    # would otherwise reach them through the window's collection picker)
    offered = keys.window_collections(names(settings)) if keys.public else None
    ui_app = mod.App(settings, collections=offered)  # one assistant, library, catalog for both
    # a collection is loaded once for the window and the API
    app = create_app(ui_app.assistant, ui_app.library, config, session=ui_app.session)
    import gradio as gr

    demo = mod.build(ui_app)
    demo.queue(default_concurrency_limit=4)
    auth = None
    if keys.public:  # the chat window's users (QA_UI_USERS), or any name with an API key
        users: list[tuple[str, str]] = getattr(settings, "ui_credentials", list)()

        def auth(user: str, password: str) -> bool:
            # the window serves the default collection and changes documents: a key limited
            # to other collections, or read-only, is no login here
            grant = keys.grant(password)
            ok = grant is not None and grant.may_use("default") and not grant.read_only
            for name, secret in users:
                ok |= (hmac.compare_digest(user.encode(), name.encode())
                       & hmac.compare_digest(password.encode(), secret.encode()))
            return ok

    from qa.render import CSS
    from qa.ui.originals import original_routes

    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    return gr.mount_gradio_app(app, demo, path=UI_PATH, auth=auth, theme=theme,
                               css=CSS + getattr(mod, "UI_CSS", ""),
                               max_file_size=settings.max_file_bytes, ssr_mode=False,
                               show_error=False,  # the source cards' originals, by key rules:
                               app_kwargs={"routes": original_routes(ui_app, keys)})


def serve(settings: Settings, config: ServerConfig, ui: bool = False) -> None:
    """Run the server with uvicorn until interrupted."""
    import uvicorn

    from qa.generators.llamacpp import say  # not while the warm-up's model load mutes stdout
    from qa.telemetry import setup_tracing

    if setup_tracing():
        say("exporting traces over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT)")
    app = build(settings, config, ui)
    where = f"http://{config.host if ':' not in config.host else f'[{config.host}]'}:{config.port}"
    say(f"qa API on {where}/v1 (docs: {where}/docs"
        + (f", chat window: {where}{UI_PATH}" if ui else "") + ")")
    if not is_loopback(config.host):
        say("reachable from other machines: every request needs an API key")
    _exit_cleanly_on_sigterm()
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning",
                timeout_graceful_shutdown=5)


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM (systemd, docker stop) ends the process through ``SystemExit``, so exit handlers
    run: the embedded PostgreSQL is told this process is gone. uvicorn shuts down gracefully
    first, then raises the signal again, which reaches this handler instead of the default
    one that ends the process without them."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
