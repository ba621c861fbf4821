"""``finish``: the one place that decides whether a reply is shown, and why not.

It takes the model's raw reply and the passages it read and returns a :class:`Verdict`: the text
to show with its citations, or an abstention with its reason (and the withheld draft, for the
eval and for debugging). It needs no model, so every rule is tested with plain strings
(``tests/test_checks.py``, with examples from each eval corpus).

The rules, in order, each with what it catches:

1. a reply cut off by an error is shown as broken, never as a complete answer; the prompt's own
   instruction lines copied into a reply are dropped (``strip_instructions``);
2. for a question of several parts, "answer to one part. NICHT_IN_DEN_ARTIKELN" keeps the answer
   and says the rest is missing (``split_partial``);
3. a refusal (the marker, or a reply that only says the passages do not tell) is an abstention
   (``postprocess``);
4. names and numbers that no passage (or the question) holds are inventions
   (``unsupported_numbers``, ``unsupported_names``);
5. a reply no passage supports gets no citation and is not shown;
6. a reply that does not contain the kind of thing asked (a number for "how many") is not an
   answer (``lacks_what_was_asked``);
7. optionally, the model's own judgement that the cited passages state the reply (``verify``,
   ``qa.grounding``; off by default, eval/README.md says why).

A wrong reply costs more than a refusal that shows the closest passages. What each rule withheld
in v17 (every question of the three eval corpora; for a withheld draft, whether it would have
been a right answer or a wrong reply if shown; demo / news-en / docs-de):

- the refusal probe (``Assistant``, before writing; no draft to score): 4 answerable and 12
  unanswerable questions / 0 and 1 / 1 and 4;
- rule 3, refusals: 3 answerable and 2 unanswerable / 0 / 0;
- rule 4, invented numbers or names: 0 right and 6 wrong / 0 and 11 / 1 and 10 (the right one,
  d001, also invented a second part's "29 Jahre alt");
- rule 5, no passage supports the reply: 0 / 0 / 0 right and 1 wrong;
- rule 6, not what was asked: 0 right and 6 wrong / 0 / 0 (before the fourth session it
  withheld 4 right answers and nothing else on docs-de: paths, newsgroups and ordinals as
  answers, "non-profit" read as money; fixed, eval/README.md).

The other figures that keep each rule are in eval/README.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qa.answering.prompting import (
    ABSTAIN_TEXT,
    NOT_FOUND,
    REST_MISSING_TEXT,
    split_partial,
    strip_instructions,
)
from qa.answering.rules import (
    lacks_what_was_asked,
    postprocess,
    unsupported_names,
    unsupported_numbers,
)
from qa.types import Citation, Passage

# the support check: (reply, its citations) -> why it is not supported, or None
Verify = Callable[[str, Sequence[Citation]], "str | None"]


@dataclass(frozen=True)
class Verdict:
    text: str
    citations: tuple[Citation, ...]
    abstained: bool
    reason: str | None = None  # why the reply is not shown
    draft: str | None = None  # the withheld reply, when the model wrote one
    unsupported: tuple[str, ...] = ()  # the numbers and names no passage holds, if that is why


INVENTED = "numbers or names no passage holds: "


def invented_items(text: str, passages: Sequence[Passage], question: str) -> tuple[str, ...]:
    """The numbers and names of ``text`` that neither the passages nor the question hold."""
    return tuple(sorted(unsupported_numbers(text, passages, question)
                        | unsupported_names(text, passages, question)))


def abstain_reason(text: str, citations: Sequence[Citation], refused: bool,
                   passages: Sequence[Passage], question: str) -> str | None:
    """Why a written, post-processed reply is not shown as an answer, or None when it is one.

    >>> from qa.testing import passage
    >>> p = [passage(1, "Alibaba investiert 380 Milliarden Yuan in KI.")]
    >>> abstain_reason("Alibaba investiert 480 Milliarden Yuan [1].", [], False, p,
    ...                "Wie viel investiert Alibaba?")
    'numbers or names no passage holds: 480'
    """
    return _judge(text, citations, refused, passages, question)[0]


def _judge(text: str, citations: Sequence[Citation], refused: bool,
           passages: Sequence[Passage], question: str) -> tuple[str | None, tuple[str, ...]]:
    """(``abstain_reason``, the numbers and names no passage holds when they are the reason)."""
    if refused:
        return "the model refused", ()
    invented = invented_items(text, passages, question)
    if invented:
        return INVENTED + ", ".join(invented), invented
    if not citations:
        return "no passage supports the reply", ()
    if lacks_what_was_asked(text, question):
        return "the reply does not contain what the question asks for", ()
    return None, ()


def finish(raw: str, passages: Sequence[Passage], question: str, n_parts: int, language: str,
           error: str | None = None, reason: str | None = None,
           verify: Verify | None = None) -> Verdict:
    """The verdict on the model's reply ``raw`` to ``question`` (of ``n_parts`` parts) from
    ``passages``. ``error``: generation broke off; ``reason``: already decided not to answer
    (no passages, or the refusal probe); ``verify``: the optional support check.

    >>> from qa.testing import passage
    >>> p = [passage(1, "Der Umsatz stieg auf 412 Millionen Euro.")]
    >>> v = finish("Der Umsatz stieg auf 412 Millionen Euro.", p, "Wie hoch war der Umsatz?",
    ...            1, "de")
    >>> v.abstained, v.text, [c.n for c in v.citations]
    (False, 'Der Umsatz stieg auf 412 Millionen Euro [1].', [1])
    >>> finish("NICHT_IN_DEN_ARTIKELN", p, "Wer leitet die Firma?", 1, "de").reason
    'the model refused'
    """
    if error:  # a broken answer is shown as broken, never silently truncated
        if raw:
            text, citations, _ = postprocess(raw, passages, language)
            return Verdict(f"{text} … [answer incomplete: {error}]", tuple(citations), False)
        return Verdict(f"[no answer: {error}]", (), False)
    # a question of several parts, "answer to one. NICHT_IN_DEN_ARTIKELN": the answer is kept,
    # the rest said missing. For a question of one part the text before the marker was filler
    # as often as an answer (test half: one of each), so it stays a refusal.
    raw = strip_instructions(raw, question, language)
    reply, rest_missing = split_partial(raw) if n_parts > 1 else (raw, False)
    text, citations, refused = postprocess(reply, passages, language)
    unsupported: tuple[str, ...] = ()
    if reason is None:
        reason, unsupported = _judge(text, citations, refused, passages, question)
    if reason is None and verify is not None:
        reason = verify(text, citations)
    if reason is not None:
        draft = None if raw == NOT_FOUND else raw.strip() or None
        return Verdict(ABSTAIN_TEXT[language], (), True, reason, draft, unsupported)
    if rest_missing:
        text = f"{text} {REST_MISSING_TEXT[language]}"
    return Verdict(text.strip(), tuple(citations), False)
