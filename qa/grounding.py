"""Does the passage say what the reply says? A model-based support check of a finished reply.

The number and name checks (``qa.answering.rules.unsupported_numbers`` / ``unsupported_names``) catch a
figure or a name that no passage holds; they cannot see a figure that *is* in the passage but
about something else ("it emitted 44 million tonnes in 2018" given as the answer for the United
States in 2019). This check asks the local model itself, in one short forward pass over the
cited passages, the question and the reply, whether the passage states that answer, and reads the
probability of "yes" against "no" from its first-token logits (``StartProbing``): no text is
generated, so it costs one prompt evaluation (~1-2 s for ~300 tokens on 2 cores).

Pure parts (the messages, the passages to show) are functions; ``support_probability`` is the
one that runs the model. ``Settings.verify_threshold`` (0 = off) is where qa withholds a reply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.generators import Message, StartProbing
from qa.types import Citation, Passage

YES = ("Yes", "yes", "YES", "Ja", "ja")
NO = ("No", "no", "NO", "Nein", "nein")
CHECK_SYSTEM = ("You check answers against source passages. Reply with one word: yes or no.")
_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


def cited_passages(citations: Sequence[Citation], passages: Sequence[Passage]) -> list[Passage]:
    """The passages a reply cites, in passage order (all of them if it cites none).

    >>> from qa.testing import passage
    >>> ps = [passage(1, "a"), passage(2, "b")]
    >>> [p.n for p in cited_passages([], ps)]
    [1, 2]
    """
    cited = {c.n for c in citations}
    return [p for p in passages if p.n in cited] or list(passages)


def check_messages(question: str, reply: str, passages: Sequence[Passage]) -> list[Message]:
    """The yes/no question put to the model: passages, question, the reply without markers.

    >>> from qa.testing import passage
    >>> m = check_messages("Wer?", "Eddie Wu [1].", [passage(1, "CEO Eddie Wu sprach.")])
    >>> "Answer: Eddie Wu." in m[1]["content"] and "[1] CEO Eddie Wu sprach." in m[1]["content"]
    True
    """
    shown = "\n".join(f"[{p.n}] {' '.join(p.text.split())}" for p in passages)
    answer = " ".join(_MARKERS.sub("", reply).split())
    return [{"role": "system", "content": CHECK_SYSTEM},
            {"role": "user", "content":
             f"Passages:\n{shown}\n\nQuestion: {question}\nAnswer: {answer}\n\n"
             "Do the passages state this answer to this question: about the same thing, with "
             "the same names, figures and dates? Reply yes or no."}]


def support_probability(generator: object, question: str, reply: str,
                        passages: Sequence[Passage]) -> float | None:
    """P(yes) / (P(yes) + P(no)) of the model's first reply token to ``check_messages``, or
    None for a generator that cannot show its probabilities (a hosted model)."""
    if not isinstance(generator, StartProbing) or not passages:
        return None
    p_yes, p_no = generator.start_probabilities(check_messages(question, reply, passages), [YES, NO])
    total = p_yes + p_no
    return p_yes / total if total > 0 else None
