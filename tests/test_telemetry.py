"""Traces and metrics: ``GET /metrics`` scraped and parsed with prometheus_client's own parser,
and an answer's spans received over OTLP/HTTP by a collector stand-in on 127.0.0.1."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_server import KEY, live

from qa.telemetry import Metrics, reason_kind
from qa.testing import FakeEmbedder

pytestmark = pytest.mark.server


def scrape(url: str, **kw: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = httpx.get(f"{url}/metrics", **kw)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(r.text) for s in fam.samples}


def test_metrics_count_answers_stages_documents_and_the_queue(fake_assistant) -> None:
    with live(fake_assistant, local_changes_without_key=True) as s:
        before = scrape(s.url)
        assert before[("qa_answers_admitted", ())] == 0
        assert httpx.post(f"{s.url}/v1/ask", json={"question": "Wie viel investiert Alibaba in "
                                                   "KI-Infrastruktur?"}).status_code == 200
        assert httpx.post(f"{s.url}/v1/ask", json={"question": "Wie viel investiert Alibaba in "
                                                   "KI?", "stream": True}).status_code == 200
        r = httpx.post(f"{s.url}/v1/documents", files=[("files", (
            "zeppelin.txt", "Der Zeppelin-Konzern eröffnet ein Werk. Es liegt am See.".encode(),
            "text/plain"))])
        assert r.status_code == 201, r.text
        m = scrape(s.url)
    answers = sum(v for (name, _), v in m.items() if name == "qa_answers_total")
    assert answers == 2
    assert m[("qa_stage_seconds_count", (("stage", "total"),))] == 2
    assert m[("qa_stage_seconds_count", (("stage", "retrieve"),))] == 2
    assert m[("qa_prompt_tokens_count", ())] == 2
    abstained = m.get(("qa_answers_total", (("outcome", "abstained"),)), 0)
    assert sum(v for (name, _), v in m.items() if name == "qa_abstentions_total") == abstained
    assert m[("qa_documents_changed_total", (("change", "added"),))] == 1
    assert m[("qa_answers_admitted", ())] == 0


def test_metrics_need_a_key_off_loopback(fake_assistant) -> None:
    with live(fake_assistant, host="0.0.0.0", api_keys=(KEY,)) as s:
        assert httpx.get(f"{s.url}/metrics").status_code == 401
        m = scrape(s.url, headers={"Authorization": f"Bearer {KEY}"})
        assert ("qa_answers_admitted", ()) in m


def test_abstentions_are_counted_by_a_bounded_reason() -> None:
    from qa.types import Answer, Timings

    metrics = Metrics()
    for reason in ("numbers or names no passage holds: 42", "numbers or names no passage "
                   "holds: 7", "the model would refuse (p=0.90)", "a reason never seen"):
        metrics.observe(Answer("q?", "-", True, (), (), Timings(0.1, None, 0.2), "m",
                               abstain_reason=reason))
    body, _ = metrics.render()
    samples = {(s.name, tuple(s.labels.items())): s.value
               for fam in text_string_to_metric_families(body.decode()) for s in fam.samples}
    assert samples[("qa_abstentions_total", (("reason", "unsupported_facts"),))] == 2
    assert samples[("qa_abstentions_total", (("reason", "model_refusal_probe"),))] == 1
    assert samples[("qa_abstentions_total", (("reason", "other"),))] == 1
    assert reason_kind("no passage supports the reply") == "no_citation"


class Collector(http.server.BaseHTTPRequestHandler):
    """Accepts OTLP/HTTP protobuf trace exports, as a collector does."""

    received: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/traces":
            Collector.received.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_an_answer_is_exported_as_a_trace_over_otlp(tmp_path: Path, settings) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from qa.ingest.pipeline import ingest

    ingest(settings, embedder=FakeEmbedder())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Collector.received = []
    code = textwrap.dedent(f"""
        from pathlib import Path
        from opentelemetry import trace
        from qa.assistant import Assistant
        from qa.config import Settings
        from qa.telemetry import setup_tracing
        from qa.testing import FakeEmbedder, FakeGenerator
        assert setup_tracing("qa-test")
        s = Settings(corpus_dir=Path({str(settings.corpus_dir)!r}),
                     index_dir=Path({str(settings.index_dir)!r}), embed_model="fake-embedder",
                     data_dir=Path({str(settings.data_dir)!r}), cache_dir=Path({str(tmp_path)!r}))
        a = Assistant.load(s, embedder=FakeEmbedder(), generator=FakeGenerator())
        a.ask("Wie viel investiert Alibaba in KI-Infrastruktur?")
        trace.get_tracer_provider().shutdown()
        """)
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}"}
    env.pop("QA_TRACE_CONTENT", None)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    server.shutdown()
    assert r.returncode == 0, r.stderr
    spans = []
    for body in Collector.received:
        req = ExportTraceServiceRequest.FromString(body)
        for rs in req.resource_spans:
            service = {a.key: a.value.string_value for a in rs.resource.attributes}
            assert service["service.name"] == "qa-test"
            spans += [sp for ss in rs.scope_spans for sp in ss.spans]
    by_name = {sp.name: sp for sp in spans}
    assert set(by_name) == {"chat fake-generator", "qa.retrieve", "qa.evidence", "qa.generate",
                            "qa.checks"}
    root = by_name["chat fake-generator"]
    for stage in ("qa.retrieve", "qa.evidence", "qa.generate", "qa.checks"):
        assert by_name[stage].parent_span_id == root.span_id
        assert by_name[stage].trace_id == root.trace_id
        assert root.start_time_unix_nano <= by_name[stage].start_time_unix_nano
        assert by_name[stage].end_time_unix_nano <= root.end_time_unix_nano
    attrs = {a.key: a.value for a in root.attributes}
    assert attrs["gen_ai.operation.name"].string_value == "chat"
    assert attrs["gen_ai.request.model"].string_value == "fake-generator"
    assert attrs["gen_ai.usage.input_tokens"].int_value > 0
    assert "qa.question" not in attrs and "qa.answer" not in attrs  # no content unless asked
