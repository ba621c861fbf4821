"""Plain, frozen data types shared by every part of qa.

Framework types (llama-index nodes, FAISS ids, numpy rows) are converted into these at the edges,
so the rest of the code reads the same whichever backend produced them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """A cleaned article. ``text`` is what chunks, citations and gold spans point into."""

    doc_id: str  # sha256 of source and cleaned text: identity is the source (corpus.document_id)
    source: str  # file name, e.g. "000_77272ddfe1add5f4.txt"
    title: str
    text: str
    sha256: str  # of the raw file bytes: detects changed files without re-cleaning
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """A contiguous slice of a document: ``doc.text[start:end] == text``."""

    chunk_id: str
    doc_id: str
    source: str
    title: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Sentence:
    """A sentence of a document, the unit evidence is chosen in: ``doc.text[start:end]``."""

    sentence_id: str
    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score (higher is better) and per-retriever ranks."""

    chunk: Chunk
    score: float
    dense_score: float | None = None
    lexical_score: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None


@dataclass(frozen=True)
class Passage:
    """What the model sees as ``[n]``: a span of one article (a window of sentences, or a part of
    a retrieved chunk), with the chunk hit it lies in and its article's title and date."""

    n: int
    hit: Hit
    text: str
    start: int  # offsets into the document text
    end: int
    title: str = ""
    date: str = ""  # ISO publication date when the article states one

    @property
    def source(self) -> str:
        return self.hit.chunk.source


@dataclass(frozen=True)
class Citation:
    n: int
    source: str
    chunk_id: str
    start: int
    end: int
    quote: str
    score: float
    # the page (slide, sheet, chapter) the quote starts on, 1-based, and how to show it
    # ("p. 3", "Folie 2"); None for an unpaged document (qa.pages)
    page: int | None = None
    page_label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "source": self.source,
            "chunk_id": self.chunk_id,
            "start": self.start,
            "end": self.end,
            "quote": self.quote,
            "score": round(self.score, 6),
            "page": self.page,
            **({"page_label": self.page_label} if self.page_label else {}),
        }


@dataclass(frozen=True)
class Timings:
    retrieve_s: float = 0.0
    first_token_s: float | None = None
    total_s: float = 0.0

    def to_dict(self) -> dict[str, float | None]:
        r = lambda x: None if x is None else round(x, 4)  # noqa: E731
        return {"retrieve_s": r(self.retrieve_s), "first_token_s": r(self.first_token_s),
                "total_s": r(self.total_s)}


# the heading above an abstention's closest passages (CLI, the OpenAI-compatible route)
CLOSEST_TITLE = {"de": "Nächstgelegene Textstellen (sie beantworten die Frage nicht direkt)",
                 "en": "Closest passages (they do not answer it directly)"}


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    abstained: bool
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    timings: Timings
    model: str
    language: str = "de"
    prompt_tokens: int | None = None
    standalone_question: str | None = None  # set when a follow-up was rewritten
    error: str | None = None  # set when generation broke off (e.g. a hosted stream dropped)
    fallback: bool = False  # answered by the fallback backend
    # why qa abstained ("the model would refuse (p=0.81)", "numbers no passage holds: 42", ...)
    # and the model's withheld reply, if it wrote one: for the eval report and for debugging
    abstain_reason: str | None = None
    draft: str | None = None
    refusal_probability: float | None = None  # StartProbing generators only
    # the local model's probability that the cited passages state the reply (qa.grounding),
    # when Settings.verify_threshold turned the check on
    support_probability: float | None = None
    # the filter the answer was restricted to (``qa.filters.Filter.to_dict``), when one was given
    filter: dict[str, Any] | None = None

    def closest(self, k: int = 3, width: int = 200) -> list[dict[str, Any]]:
        """For an abstention, the first ``k`` passages the model read (articles in order of
        relevance, as ``qa.evidence`` gives them), so a refusal still leads the reader to the text: ``n``, ``source``, ``title``, ``start``, ``end`` and
        ``quote`` (the passage on one line, at most ``width`` characters). Empty otherwise."""
        if not self.abstained:
            return []
        out = []
        for p in self.passages[:k]:
            quote = " ".join(p.text.split())
            out.append({"n": p.n, "source": p.source, "title": p.title, "start": p.start,
                        "end": p.end,
                        "quote": quote if len(quote) <= width else quote[:width - 1] + "…"})
        return out

    @property
    def sources(self) -> list[str]:
        seen: dict[str, None] = {}
        for c in self.citations:
            seen.setdefault(c.source, None)
        return list(seen)

    def to_dict(self, qid: str | None = None) -> dict[str, Any]:
        """The answer as JSON (CLI ``--json``, ``qa answer``, the REST API); an abstention
        carries ``closest``, the passages that come nearest (see :meth:`closest`)."""
        d: dict[str, Any] = {
            "id": qid,
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "sources": self.sources,
            "citations": [c.to_dict() for c in self.citations],
            "timings": self.timings.to_dict(),
            "model": self.model,
            "language": self.language,
            "prompt_tokens": self.prompt_tokens,
        }
        if self.standalone_question:
            d["standalone_question"] = self.standalone_question
        if self.error:
            d["error"] = self.error
        if self.fallback:
            d["fallback"] = True
        if self.abstain_reason:
            d["abstain_reason"] = self.abstain_reason
        if closest := self.closest():
            d["closest"] = closest
        if self.draft:
            d["draft"] = self.draft
        if self.refusal_probability is not None:
            d["refusal_probability"] = round(self.refusal_probability, 4)
        if self.support_probability is not None:
            d["support_probability"] = round(self.support_probability, 4)
        if self.filter:
            d["filter"] = self.filter
        return d
