"""Filters (qa.filters) at every edge: parsing, the answer pipeline with a date range, the CLI,
the REST API and the OpenAI route. The store side is in ``StoreContract`` (qa/testing.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.errors import InputError
from qa.filters import make_filter, parse_filter
from qa.ingest.pipeline import ingest
from qa.testing import FakeEmbedder, FakeGenerator

SEPTEMBER = ("Der Umsatz von Nordwind lag im Quartal bei 41 Millionen Euro.\n"
             "Veröffentlicht am 12.09.2025\nDas Unternehmen wächst weiter und stellt ein.")
OCTOBER = ("Der Umsatz von Nordwind lag im Quartal bei 57 Millionen Euro.\n"
           "Veröffentlicht am 14.10.2025\nDas Unternehmen wächst weiter und stellt ein.")
QUESTION = "Wie hoch war der Umsatz von Nordwind im Quartal?"


@pytest.mark.parametrize("kw, message", [
    ({"date_from": "12.09.2025"}, "bad date_from '12.09.2025': use an ISO date"),
    ({"date_to": "2025-13"}, "bad date_to '2025-13'"),
    ({"date_from": "2025-10-01", "date_to": "2025-09-30"}, "date_from 2025-10-01 is after"),
    ({"sources": "../etc/*"}, "inside the corpus folder"),
    ({"sources": "/etc/passwd"}, "inside the corpus folder"),
    ({"sources": "C:\\x\\*.txt"}, "inside the corpus folder"),
    ({"sources": ["  "]}, "bad source '  '"),
    ({"sources": ["x"] * 10_000}, "too many filter values (10000)"),
    ({"tags": ["a/b"]}, "bad tag 'a/b'"),
    ({"language": "fr"}, "bad language 'fr': use one of de, en"),
    ({"sources": 5}, "bad sources: give a string or a list"),
])
def test_bad_filters_are_one_clear_line(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=None) as e:
        make_filter(**kw)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_parse_filter_keys_and_empty() -> None:
    assert parse_filter(None) is None and parse_filter({}) is None
    f = parse_filter({"sources": "a.txt", "date_to": "2025-09", "tags": ["t"]})
    assert f is not None and f.to_dict() == {"sources": ["a.txt"], "date_to": "2025-09-30",
                                            "tags": ["t"]}
    with pytest.raises(InputError, match="unknown filter key 'since'"):
        parse_filter({"since": "2025"})
    with pytest.raises(InputError, match="bad filter: give an object"):
        parse_filter(["a.txt"])


@pytest.fixture
def dated(tmp_path: Path) -> Assistant:
    """Two real files in folders, a month apart, each with another figure for the same thing."""
    corpus = tmp_path / "articles"
    (corpus / "q3").mkdir(parents=True)
    (corpus / "q4").mkdir()
    (corpus / "q3" / "nordwind-september.txt").write_text(SEPTEMBER, encoding="utf-8")
    (corpus / "q4" / "nordwind-oktober.txt").write_text(OCTOBER, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index",
                        data_dir=tmp_path / "data", embed_model="fake-embedder",
                        cache_dir=tmp_path / "cache")
    embedder = FakeEmbedder()
    ingest(settings, embedder=embedder)
    return Assistant.load(settings, embedder=embedder, generator=FakeGenerator())


def test_a_date_filter_changes_the_answer(dated: Assistant) -> None:
    september = dated.ask(QUESTION, allowed=make_filter(date_from="2025-09", date_to="2025-09"))
    october = dated.ask(QUESTION, allowed=make_filter(date_from="2025-10-01"))
    assert "41 Millionen" in september.text and "57" not in september.text
    assert "57 Millionen" in october.text and "41" not in october.text
    assert {p.source for p in september.passages} == {"q3/nordwind-september.txt"}
    assert {p.source for p in october.passages} == {"q4/nordwind-oktober.txt"}
    assert september.to_dict()["filter"] == {"date_from": "2025-09-01", "date_to": "2025-09-30"}
    assert "filter" not in dated.ask(QUESTION).to_dict()
    tagged = dated.ask(QUESTION, allowed=make_filter(tags="q4"))
    assert {p.source for p in tagged.passages} == {"q4/nordwind-oktober.txt"}
    nothing = dated.ask(QUESTION, allowed=make_filter(date_from="2030-01-01"))
    assert nothing.abstained and nothing.passages == ()


def test_cli_bad_filter_is_exit_2_and_one_line(tmp_path: Path) -> None:
    for flags, message in ((["--since", "yesterday"], "bad date_from 'yesterday'"),
                           (["--source", "../x/*"], "inside the corpus folder"),
                           (["--since", "2025-10", "--until", "2025-09"], "is after")):
        r = subprocess.run([sys.executable, "-m", "qa.cli", "ask", "Wer?", *flags,
                            "--index-dir", str(tmp_path / "none")],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith("error: ") and message in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_cli_ask_with_a_filter_prints_it_once(dated: Assistant, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from qa import cli

    monkeypatch.setattr(cli.answering, "_load", lambda args: dated)
    assert cli.main(["ask", QUESTION, "--since", "2025-10-01", "--tag", "q4"]) == 0
    out = capsys.readouterr().out
    assert "57 Millionen" in out and out.count("Filter: from 2025-10-01, tag q4") == 1
    assert cli.main(["ask", "--json", QUESTION, "--source", "*september*"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["filter"] == {"sources": ["*september*"]} and "41 Millionen" in got["answer"]


@pytest.mark.server
def test_rest_and_openai_routes_take_a_filter(dated: Assistant) -> None:
    from test_server import live

    with live(dated) as srv:
        url = srv.url
        r = httpx.post(f"{url}/v1/search", json={"question": QUESTION,
                                                 "filter": {"sources": ["q3/*"]}})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["filter"] == {"sources": ["q3/*"]}
        assert body["hits"] and {h["chunk"]["source"] for h in body["hits"]} == {
            "q3/nordwind-september.txt"}
        r = httpx.post(f"{url}/v1/ask", json={"question": QUESTION,
                                              "filter": {"date_from": "2025-10-01"}}, timeout=60)
        assert r.status_code == 200 and "57 Millionen" in r.json()["answer"]
        assert r.json()["filter"] == {"date_from": "2025-10-01"}
        for bad, message in (({"date_from": "2025-99-01"}, "bad date_from"),
                             ({"sources": ["/etc/*"]}, "inside the corpus folder"),
                             ({"tags": ["x"] * 10_000}, "too many filter values"),
                             ({"since": "2025"}, "unknown filter key")):
            for route in ("/v1/search", "/v1/ask"):
                r = httpx.post(f"{url}{route}", json={"question": QUESTION, "filter": bad})
                assert r.status_code == 422, (route, r.text)
                assert message in json.dumps(r.json()) and "Traceback" not in r.text
        chat = {"model": "qa", "messages": [{"role": "user", "content": QUESTION}],
                "metadata": {"qa_filter": json.dumps({"sources": ["*september*"]})}}
        r = httpx.post(f"{url}/v1/chat/completions", json=chat, timeout=60)
        assert r.status_code == 200, r.text
        assert "41 Millionen" in r.json()["choices"][0]["message"]["content"]
        assert r.json()["qa"]["filter"] == {"sources": ["*september*"]}
        chat["metadata"] = {"qa_filter": '{"date_from": "soon"}'}
        r = httpx.post(f"{url}/v1/chat/completions", json=chat, timeout=60)
        assert r.status_code == 422 and "bad date_from 'soon'" in r.text
