"""Traces and metrics: where an answer's seconds go, how often qa abstains, how long the queue is.

**Traces.** Every answer becomes an OpenTelemetry trace: a root span ``chat <model>`` with the
GenAI semantic conventions' attributes (``gen_ai.operation.name``, ``gen_ai.request.model``,
``gen_ai.usage.input_tokens``) and child spans for the stages (``qa.retrieve``,
``qa.evidence``, ``qa.generate``, ``qa.checks``). They are recorded after the answer from its
time marks (:func:`record_answer_spans`), so nothing is attached to a context across the
pipeline's ``yield``s. Only the OpenTelemetry *API* is a dependency of qa's code path: without a
configured SDK every span is a no-op (a few microseconds an answer). :func:`setup_tracing`
configures the SDK with the OTLP/HTTP exporter when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, as OpenTelemetry's own variables say; ``qa
serve`` calls it. No span carries the question, the answer or a passage unless
``QA_TRACE_CONTENT=1``; API keys never.

**Metrics.** :class:`Metrics` keeps Prometheus metrics in a registry of its own (one per server
app, so two apps in one process do not collide) and renders them for ``GET /metrics``: latency
histograms per stage, prompt tokens, answers by outcome, abstentions by reason (a bounded set of
reason kinds, :func:`reason_kind`), the answer queue, and documents changed through the API.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.types import Answer

log = logging.getLogger(__name__)

STAGES = ("retrieve", "evidence", "generate", "checks")
# the reason kinds an abstention is counted under (label values must stay few)
_REASONS = (("no passages", "no_passages"), ("the model would refuse", "model_refusal_probe"),
            ("the model refused", "model_refused"), ("numbers or names", "unsupported_facts"),
            ("no passage supports", "no_citation"), ("does not contain what", "not_what_asked"),
            ("do not state this answer", "support_check"))


def reason_kind(reason: str | None) -> str:
    """The label an abstention's reason is counted under.

    >>> reason_kind("numbers or names no passage holds: 5.000"), reason_kind(None)
    ('unsupported_facts', 'none')
    >>> reason_kind("the model would refuse (p=0.91)"), reason_kind("something new")
    ('model_refusal_probe', 'other')
    """
    if not reason:
        return "none"
    return next((kind for prefix, kind in _REASONS if reason.startswith(prefix)), "other")


# -- traces ------------------------------------------------------------------------------------
def setup_tracing(service_name: str = "qa") -> bool:
    """Export spans over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces-only
    variable) is set; True when an exporter was installed. Without it nothing is set up and
    spans cost nothing."""
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as e:  # the SDK is an optional part of an install
        log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK is missing "
                    "(%s); no traces are exported", e)
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info("exporting traces over OTLP to %s",
             os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
             or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    return True


def _tracer() -> Any:
    from opentelemetry import trace

    return trace.get_tracer("qa")


def record_answer_spans(answer: Answer, marks: Mapping[str, float], t0: float,
                        clock_ns: Callable[[], int] = time.time_ns,
                        perf: Callable[[], float] = time.perf_counter) -> None:
    """One trace for ``answer``: the root span and one span per stage, timed from ``marks``
    (``perf_counter`` seconds at the end of each stage; a missing stage has no span) relative to
    ``t0``, its start. Tracing never breaks an answer: a failure here is logged and dropped."""
    try:
        _record(answer, marks, t0, clock_ns, perf)
    except Exception as e:  # noqa: BLE001 - telemetry is never worth an answer
        log.warning("could not record the answer's trace: %s", e)


def _record(answer: Answer, marks: Mapping[str, float], t0: float,
            clock_ns: Callable[[], int], perf: Callable[[], float]) -> None:
    tracer = _tracer()
    now_perf, now_ns = perf(), clock_ns()

    def ns(t: float) -> int:
        return now_ns - int((now_perf - t) * 1e9)

    from opentelemetry import trace

    model = answer.model or "unknown"
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": int(answer.prompt_tokens or 0),
        "qa.abstained": answer.abstained, "qa.abstain_reason": reason_kind(answer.abstain_reason),
        "qa.citations": len(answer.citations), "qa.passages": len(answer.passages),
        "qa.language": answer.language or ""}
    if answer.error:
        attrs["error.type"] = "generation"
    if os.environ.get("QA_TRACE_CONTENT") == "1":
        attrs["qa.question"], attrs["qa.answer"] = answer.question, answer.text
    root = tracer.start_span(f"chat {model}", start_time=ns(t0), attributes=attrs,
                             kind=trace.SpanKind.INTERNAL)
    ctx = trace.set_span_in_context(root)
    start = t0
    for stage in STAGES:
        end = marks.get(stage)
        if end is None:
            continue
        span = tracer.start_span(f"qa.{stage}", context=ctx, start_time=ns(start))
        span.end(end_time=ns(end))
        start = end
    root.end(end_time=ns(marks.get("end", now_perf)))


# -- metrics -----------------------------------------------------------------------------------
class Metrics:
    """Prometheus metrics of one server, in their own registry."""

    def __init__(self, queue_depth: Callable[[], float] | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        r = self.registry
        buckets = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60)
        self.stage_seconds = Histogram("qa_stage_seconds", "Seconds per answer stage "
                                       "(retrieve: retrieval and evidence; first_token; total)",
                                       ["stage"], buckets=buckets, registry=r)
        self.prompt_tokens = Histogram("qa_prompt_tokens", "Prompt tokens per answer",
                                       buckets=(64, 128, 256, 384, 512, 768, 1024, 2048),
                                       registry=r)
        self.answers = Counter("qa_answers", "Answers by outcome (answered, abstained, error)",
                               ["outcome"], registry=r)
        self.abstentions = Counter("qa_abstentions", "Abstentions by reason", ["reason"],
                                   registry=r)
        self.documents = Counter("qa_documents_changed", "Documents added, replaced or deleted "
                                 "through the API", ["change"], registry=r)
        self.queue = Gauge("qa_answers_admitted", "Answers running or waiting for the model",
                           registry=r)
        if queue_depth is not None:
            self.queue.set_function(queue_depth)

    def observe(self, answer: Answer) -> None:
        t = answer.timings
        self.stage_seconds.labels("retrieve").observe(t.retrieve_s)
        if t.first_token_s is not None:
            self.stage_seconds.labels("first_token").observe(t.first_token_s)
        self.stage_seconds.labels("total").observe(t.total_s)
        if answer.prompt_tokens:
            self.prompt_tokens.observe(answer.prompt_tokens)
        outcome = "error" if answer.error else "abstained" if answer.abstained else "answered"
        self.answers.labels(outcome).inc()
        if answer.abstained:
            self.abstentions.labels(reason_kind(answer.abstain_reason)).inc()

    def document_changed(self, change: str, n: int = 1) -> None:
        self.documents.labels(change).inc(n)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
