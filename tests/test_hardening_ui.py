"""Issue 11: the chat window's security rule. Without users it serves only a loopback address;
the document-changing callbacks are not part of its public API. No model is loaded."""

from __future__ import annotations

import pytest

from qa.config import Settings
from qa.errors import QAError
from qa.testing import FakeEmbedder, FakeGenerator

gr = pytest.importorskip("gradio")
ui = pytest.importorskip("ui")


@pytest.fixture
def no_users(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_CONFIG", "")
    monkeypatch.delenv("QA_UI_USERS", raising=False)
    monkeypatch.delenv("QA_UI_USERS_FILE", raising=False)

    def must_not_start(settings):  # noqa: ANN001, ANN202
        raise AssertionError("the app was built although it must refuse to start")

    monkeypatch.setattr(ui, "App", must_not_start)


@pytest.mark.parametrize("argv", [["--host", "0.0.0.0"], ["--host", "192.168.1.20"],
                                  ["--host", "::"], ["--share"],
                                  ["--host", "127.0.0.1", "--share"]])
def test_refuses_to_serve_beyond_loopback_without_users(
        no_users: None, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert ui.main([*argv, "--no-warmup"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: refusing to serve on") and "QA_UI_USERS" in err
    assert len(err.strip().splitlines()) == 1


def test_with_users_it_goes_on_to_start(no_users: None, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("QA_UI_USERS", "anna:secret")

    def stop_here(settings: Settings):  # noqa: ANN202
        assert settings.ui_credentials() == [("anna", "secret")]
        raise QAError("stopped before loading the models")

    monkeypatch.setattr(ui, "App", stop_here)
    assert ui.main(["--host", "0.0.0.0", "--no-warmup"]) == 2
    assert "stopped before loading the models" in capsys.readouterr().err


def test_loopback_needs_no_users() -> None:
    assert ui.exposure_problem("127.0.0.1", False, []) is None
    assert ui.exposure_problem("localhost", False, []) is None
    assert ui.exposure_problem("::1", False, []) is None


def test_document_changing_callbacks_are_not_public_api(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.ingest.pipeline import ingest

    ingest(settings, embedder=FakeEmbedder())
    monkeypatch.setattr("qa.composition.make_embedder", lambda s: FakeEmbedder())
    monkeypatch.setattr("qa.composition.make_generator", lambda s, backend=None: FakeGenerator())
    demo = ui.build(ui.App(settings))
    by_name = {f.fn.__name__: f for f in demo.fns.values() if f.fn is not None}
    for name in ("add_docs", "delete_doc", "rebuild"):
        fn = by_name[name]
        assert getattr(fn, "api_visibility", "private") == "private", name
    assert by_name["respond"].api_visibility == "public"  # asking stays an API
