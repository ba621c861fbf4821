"""The assistant: question -> retrieval -> grounded prompt -> generation -> cited Answer.

``Assistant`` holds its parts by constructor injection (retriever, generator, settings); ``load``
builds the real defaults from settings, building the index first when there is none. ``events``
is the one pipeline; ``ask`` and ``stream`` are views of it. Sources are announced before the
first token, because retrieval takes milliseconds and generation seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from qa import composition
from qa.answering import Verdict, finish
from qa.answering.prompting import (
    NOT_FOUND,
    REFUSAL_MARKERS,
    approx_tokens,
    build_messages,
    could_be_refusal,
    is_refusal,
    retry_messages,
    select_passages,
)
from qa.composition import (  # re-exports for one release (see __all__)
    make_embedder,
    make_generator,
    make_retriever,
    make_store,
    open_index,
)
from qa.config import Settings
from qa.embedders import Embedder
from qa.errors import InputError, QAError
from qa.evidence import EvidenceConfig, evidence_queries, select_evidence
from qa.filters import Filter
from qa.generators import Generator, StartProbing
from qa.grounding import cited_passages, support_probability
from qa.ingest.pipeline import Progress, ingest, ocr_note  # ocr_note: a re-export
from qa.pages import with_pages
from qa.questions import question_parts
from qa.retrieval import HybridRetriever, Retriever
from qa.stores.base import Store, StoreBackend
from qa.telemetry import record_answer_spans
from qa.text import detect_language
from qa.types import Answer, Citation, Hit, Passage, Timings

# ingest and ocr_note (now qa.ingest.pipeline), the make_* factories and open_index (now
# qa.composition) are re-exported here for one release: import them from their new homes.
# Patching them here no longer reaches Assistant.load or ingest: patch qa.composition.make_*.
__all__ = ["Assistant", "Done", "Event", "Progress", "Retrieved", "Token", "check_question",
           "ingest", "make_embedder", "make_generator", "make_retriever", "make_store",
           "ocr_note", "open_index"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retrieved:
    """First event: what the model will read, before it starts writing."""

    question: str  # the question retrieval used (rewritten when it was a follow-up)
    language: str
    hits: tuple[Hit, ...]
    passages: tuple[Passage, ...]
    retrieve_s: float


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Done:
    answer: Answer


Event = Retrieved | Token | Done


@dataclass
class _Writing:
    """The state of one answer being written (across a fallback and a second try)."""

    generator: Generator
    t0: float
    raw: str = ""
    first: float | None = None  # seconds to the first generated piece
    shown: bool = False  # whether any text reached the caller
    error: str | None = None
    used_fallback: bool = False


def check_question(question: str, max_chars: int) -> str:
    if not isinstance(question, str):
        raise InputError("the question must be text")
    q = "".join(ch for ch in question if ch.isprintable() or ch in "\n\t").strip()
    if not q:
        raise InputError("the question is empty: ask something about the articles")
    if len(q) > max_chars:
        raise InputError(f"the question is too long ({len(q):,} characters, at most "
                         f"{max_chars:,}); shorten it")
    return q


class Assistant:
    def __init__(self, retriever: Retriever, generator: Generator,
                 settings: Settings | None = None, index: Store | None = None,
                 fallback: Generator | None = None, embedder: Embedder | None = None,
                 store: StoreBackend | None = None) -> None:
        self.retriever = retriever
        self.generator = generator
        self.settings = settings or Settings()
        self.index = index  # the state of the store that questions are answered from
        self.fallback = fallback  # answers when ``generator`` fails before its first token
        self.embedder = embedder
        self.store = store  # where ``index`` comes from; ``reload_index`` opens it again

    def with_generator(self, generator: Generator) -> Assistant:
        """The same retrieval and index, answering with another generator."""
        return Assistant(self.retriever, generator, self.settings, self.index,
                         fallback=self.fallback, embedder=self.embedder, store=self.store)

    def reload_index(self) -> None:
        """Pick up the store's current state (after ingest, upload or delete)."""
        if self.embedder is None:
            raise QAError("this assistant was built without an embedder; cannot reload")
        s = self.settings
        if self.store is None:
            self.store = composition.make_store(s)
        self.index = composition.open_index(self.store, s)
        self.retriever = composition.make_retriever(self.index, self.embedder, s)

    @classmethod
    def load(cls, settings: Settings | None = None, progress: Progress | None = None,
             generator: Generator | None = None, embedder: Embedder | None = None,
             **overrides: object) -> Assistant:
        """Real parts from settings; builds ``index/`` from the corpus folder if it is missing."""
        settings = (settings or Settings.load()).replace(**overrides)
        embedder = embedder or composition.make_embedder(settings)
        store = composition.make_store(settings)
        if not store.exists():
            log.info("no index in %r: building it from %s", store, settings.corpus_dir)
            ingest(settings, embedder=embedder, progress=progress, store=store)
        index = composition.open_index(store, settings)
        retriever = composition.make_retriever(index, embedder, settings)
        fallback = (composition.make_generator(settings, settings.fallback) if settings.fallback
                    and settings.fallback != settings.backend else None)
        return cls(retriever, generator or composition.make_generator(settings), settings, index,
                   fallback=fallback, embedder=embedder, store=store)

    # -- the pipeline -------------------------------------------------------------------------
    def retrieve(self, question: str, k: int | None = None,
                 allowed: Filter | None = None) -> list[Hit]:
        q = check_question(question, self.settings.max_question_chars)
        return self._retrieve(q, k or self.settings.candidates, allowed)

    def _retrieve(self, q: str, k: int, allowed: Filter | None) -> list[Hit]:
        """The retriever's hits; with a filter, only from the documents it allows (the store
        applies it). A retriever that cannot filter is refused rather than ignored."""
        if not allowed:
            return self.retriever.retrieve(q, k)
        if not isinstance(self.retriever, HybridRetriever):
            raise InputError(f"this retriever ({type(self.retriever).__name__}) cannot filter "
                             "documents; use the built-in hybrid retriever")
        return self.retriever.retrieve(q, k, allowed=allowed)

    def _evidence(self, q: str, parts: list[str], hits: Sequence[Hit], top_k: int | None,
                  count: Callable[[str], int], allowed: Filter | None = None) -> list[Passage]:
        """Sentence windows when the index has sentence units (the default), else the best
        chunks cut to the budget (``settings.evidence = "chunks"``, or a custom retriever)."""
        s = self.settings
        index, embedder = self.index, self.embedder
        if s.evidence == "sentences" and index is not None and embedder is not None:
            cfg = EvidenceConfig(chunks=s.evidence_chunks, margin=s.evidence_margin,
                                 max_windows=top_k or s.evidence_windows,
                                 per_part=s.evidence_per_part,
                                 continuation=s.evidence_continuation)
            last = getattr(self.retriever, "last_query", None)
            first = last[1] if last is not None and last[0] == q else None
            passages = select_evidence(evidence_queries(q, parts, s.evidence_per_part), hits, index, embedder,
                                       s.prompt_budget_tokens, count, cfg, first_vector=first,
                                       allowed=allowed)
            if passages:
                return passages
        return select_passages(q, hits, s.prompt_budget_tokens, top_k or s.top_k, count)

    def _count_tokens(self) -> Callable[[str], int]:
        return getattr(self.generator, "count_tokens", None) or approx_tokens

    def events(self, question: str, language: str | None = None, top_k: int | None = None,
               history: Sequence[tuple[str, str]] | None = None,
               allowed: Filter | None = None) -> Iterator[Event]:
        """The pipeline as events: ``Retrieved`` first, then ``Token``s, then ``Done``.

        ``history`` holds earlier (question, answer) turns; a follow-up question is rewritten
        into a standalone one before retrieval. ``allowed``: answer only from the documents
        this filter allows (``qa.filters``); the answer's ``filter`` says which applied."""
        s = self.settings
        t0 = time.perf_counter()
        q = check_question(question, s.max_question_chars)
        standalone = None
        if history:
            from qa.conversation import rewrite_followup

            rewritten = rewrite_followup(self.generator, q, list(history))
            if rewritten and rewritten != q:
                standalone = q = rewritten
        lang = language if language in ("de", "en") else (
            s.language if s.language != "auto" else detect_language(q))
        hits = self._retrieve(q, max(s.candidates, 2 * (top_k or s.top_k)), allowed)
        marks = {"retrieve": time.perf_counter()}  # when each stage ended (qa.telemetry)
        count = self._count_tokens()
        parts = question_parts(q)
        passages = self._evidence(q, parts, hits, top_k, count, allowed)
        t_retrieved = marks["evidence"] = time.perf_counter()
        yield Retrieved(q, lang, tuple(hits), tuple(passages), t_retrieved - t0)

        messages = build_messages(q, passages, lang, parts)
        prompt_tokens = sum(count(m["content"]) for m in messages)
        w = _Writing(self.generator, t0)
        p_refuse = p_support = None
        reason = None if passages else "no passages"
        if passages:
            p_refuse = self._refusal_probability(w.generator, messages)
            if p_refuse is not None and p_refuse >= s.abstain_threshold:
                reason = f"the model would refuse (p={p_refuse:.2f})"
                w.raw, w.first = NOT_FOUND, time.perf_counter() - t0
            else:
                yield from self._write(w, messages)
                if (p_refuse is not None and not w.error and not w.shown and is_refusal(w.raw)
                        and isinstance(w.generator, StartProbing)):
                    # the model refused although it was unsure whether to: one more try, with
                    # the refusal marker banned (checked below like any answer)
                    log.info("second try: refused with probability %.2f only", p_refuse)
                    yield from self._write(w, messages, avoid=REFUSAL_MARKERS)
        marks["generate"] = time.perf_counter()

        def verify(text: str, citations: Sequence[Citation]) -> str | None:
            nonlocal p_support
            p_support = support_probability(w.generator, q, text,
                                            cited_passages(list(citations), passages))
            if p_support is not None and p_support < s.verify_threshold:
                return f"the passages do not state this answer (p={p_support:.2f})"
            return None

        verdict = finish(w.raw, passages, q, len(parts), lang, error=w.error, reason=reason,
                         verify=verify if s.verify_threshold > 0 else None)
        if verdict.unsupported and s.retry_unsupported:
            verdict = self._retry(w, messages, verdict, passages, q, len(parts), lang)
        if verdict.abstained:
            log.info("abstaining: %s", verdict.reason)
        text, citations, abstained = verdict.text, list(verdict.citations), verdict.abstained
        reason, draft = verdict.reason, verdict.draft
        if citations and self.index is not None:  # the page each quote is on (paged files)
            citations = with_pages(citations, passages, self.index.document, lang)
        answer = Answer(question=question, text=text.strip(), abstained=abstained,
                        citations=tuple(citations), passages=tuple(passages),
                        timings=Timings(t_retrieved - t0, w.first, time.perf_counter() - t0),
                        model=getattr(w.generator, "name", "unknown"), language=lang,
                        prompt_tokens=prompt_tokens, standalone_question=standalone,
                        error=w.error, fallback=w.used_fallback,
                        abstain_reason=reason, draft=draft,
                        refusal_probability=p_refuse, support_probability=p_support,
                        filter=allowed.to_dict() if allowed else None)
        marks["checks"] = marks["end"] = time.perf_counter()
        record_answer_spans(answer, marks, t0)
        yield Done(answer)

    def _retry(self, w: _Writing, messages: list, verdict: Verdict, passages: Sequence[Passage],
               q: str, n_parts: int, lang: str) -> Verdict:
        """A reply withheld for numbers or names no passage holds, written once more with
        them named (``retry_messages``); the second reply is shown when it passes ``finish``,
        otherwise the first verdict stands. Not streamed: the answer replaces the draft."""
        log.info("second try: %s", verdict.reason)
        retry = retry_messages(messages, w.raw, verdict.unsupported, lang)
        raw = ""
        try:
            for piece in w.generator.stream(retry, self.settings.max_answer_tokens,
                                            self.settings.temperature):
                raw += piece
        except QAError as e:
            log.warning("second try failed: %s", e)
            return verdict
        second = finish(raw, passages, q, n_parts, lang)
        return verdict if second.abstained else second

    def _refusal_probability(self, generator: Generator, messages: list) -> float | None:
        """How likely the model is to refuse (``StartProbing`` generators), or None."""
        if self.settings.abstain_threshold >= 1 or not isinstance(generator, StartProbing):
            return None
        try:
            return generator.start_probability(messages, REFUSAL_MARKERS)
        except QAError as e:  # writing will meet the same error and handle it (fallback)
            log.warning("cannot read the model's refusal probability: %s", e)
            return None

    def _write(self, w: _Writing, messages: list, avoid: Sequence[str] = ()) -> Iterator[Token]:
        """Generate into ``w`` (``w.raw`` starts afresh), streaming every piece that cannot be
        the start of a refusal marker; a generator that fails before its first piece hands over
        to the fallback."""
        s = self.settings
        w.raw = ""
        held = ""  # text that might be the start of the refusal marker: not shown yet
        while True:
            kwargs = ({"avoid_starts": avoid}
                      if avoid and isinstance(w.generator, StartProbing) else {})
            try:
                for piece in w.generator.stream(messages, s.max_answer_tokens, s.temperature,
                                                **kwargs):
                    if w.first is None:
                        w.first = time.perf_counter() - w.t0
                    w.raw += piece
                    held += piece
                    if could_be_refusal(w.raw):
                        continue
                    w.shown = True
                    yield Token(held)
                    held = ""
            except QAError as e:
                if not w.raw and self.fallback is not None and not w.used_fallback:
                    log.warning("%s failed (%s); answering with the fallback %s",
                                getattr(w.generator, "name", "?"), e, self.fallback.name)
                    w.generator, w.used_fallback = self.fallback, True
                    continue
                w.error = str(e)
            return

    def ask(self, question: str, **kwargs: object) -> Answer:
        for event in self.events(question, **kwargs):  # type: ignore[arg-type]
            if isinstance(event, Done):
                return event.answer
        raise AssertionError("the pipeline ended without an answer")

    def stream(self, question: str, **kwargs: object) -> Iterator[str]:
        """Answer text as it is generated (see ``events`` for sources and the final Answer)."""
        for event in self.events(question, **kwargs):  # type: ignore[arg-type]
            if isinstance(event, Token):
                yield event.text
