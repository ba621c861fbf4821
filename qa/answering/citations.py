"""Citations: every ``[n]`` of a reply points at a real passage, a sentence without one gets the
passage that shares most terms with it, and each cited passage gives the sentence that best
supports what the reply took from it (the quote shown beside the answer)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.chunking import split_sentences
from qa.text import match_terms as _terms
from qa.types import Citation, Passage

_MARKER_GROUP = re.compile(r"[\[【]\s*(?:(?:passage|textstelle|quelle|source)\s*)?"
                           r"(\d+(?:\s*[,;]\s*\d+)*)\s*[\]】]", re.I)


def normalize_markers(text: str, valid: set[int]) -> str:
    """``[1, 2]`` -> ``[1][2]``, ``[Passage 3]`` -> ``[3]``; markers for unknown passages go.

    >>> normalize_markers("A [1, 2]. B [Passage 7].", {1, 2})
    'A [1][2]. B.'
    """
    def repl(m: re.Match[str]) -> str:
        nums = [int(n) for n in re.split(r"\s*[,;]\s*", m.group(1))]
        return "".join(f"[{n}]" for n in dict.fromkeys(nums) if n in valid)

    out = _MARKER_GROUP.sub(repl, text)
    out = re.sub(r"\s+([.,;:!?])", r"\1", out)
    return re.sub(r"[ \t]{2,}", " ", out).strip()


def _sentences_of(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def add_missing_markers(text: str, passages: Sequence[Passage]) -> str:
    """Give each answer sentence without a marker the passage that shares most terms with it."""
    out = []
    for sent in _sentences_of(text):
        if not re.search(r"\[\d+\]", sent):
            terms = _terms(sent)
            best = max(passages, key=lambda p: len(terms & _terms(p.text)), default=None)
            if best is not None and terms & _terms(best.text):
                stripped = sent.rstrip()
                end = len(stripped.rstrip(".!?"))
                sent = f"{stripped[:end]} [{best.n}]{stripped[end:]}"
        out.append(sent)
    return " ".join(out) if out else text


def _best_quote(passage: Passage, claim_terms: set[str]) -> tuple[int, int]:
    """Offsets (in the document) of the passage sentence that best supports the claim."""
    sents = split_sentences(passage.text) or [(0, len(passage.text))]
    s, e = max(sents, key=lambda se: len(claim_terms & _terms(passage.text[se[0]:se[1]])))
    return passage.start + s, passage.start + e


def make_citations(text: str, passages: Sequence[Passage]) -> list[Citation]:
    by_n = {p.n: p for p in passages}
    claims: dict[int, set[str]] = {}
    for sent in _sentences_of(text):
        for n in map(int, re.findall(r"\[(\d+)\]", sent)):
            if n in by_n:
                claims.setdefault(n, set()).update(_terms(sent))
    cites = []
    for n in sorted(claims):
        p = by_n[n]
        s, e = _best_quote(p, claims[n])
        chunk = p.hit.chunk
        cites.append(Citation(n=n, source=chunk.source, chunk_id=chunk.chunk_id, start=s, end=e,
                              quote=p.text[s - p.start:e - p.start], score=p.hit.score))
    return cites
