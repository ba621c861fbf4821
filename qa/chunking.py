"""Sentence-aware chunking: pure functions, every chunk maps back to its source offsets.

Sentences are found with a small rule set tuned for German and English news text (abbreviations,
German ordinals like "29. September", decimal numbers); line breaks are hard boundaries because
headings and list items in articles carry no final punctuation. Sentences are packed greedily into
chunks of about ``max_words`` words, with ``overlap`` sentences repeated at the start of the next
chunk. The price of a home-made splitter over llama-index's ``SentenceSplitter``: a few rules to
own; the gain: exact offsets, ``doc.text[chunk.start:chunk.end] == chunk.text``, which citations
and gold spans depend on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

from qa.types import Chunk, Document, Sentence

_ABBREV = {
    "z.b", "bzw", "ca", "dr", "prof", "nr", "st", "mio", "mrd", "usw", "vgl", "inkl", "evtl", "ggf",
    "u.a", "d.h", "etc", "e.g", "i.e", "mr", "mrs", "ms", "vs", "no", "jan", "feb", "mär", "apr",
    "jun", "jul", "aug", "sep", "sept", "okt", "oct", "nov", "dez", "dec", "co", "inc", "ltd", "corp",
    "abs", "bd", "hr", "fr", "sog", "zzgl", "rd",
}
# candidate boundary: end punctuation, optional closing quote/bracket, whitespace
_BOUNDARY = re.compile(r"[.!?…]+[\"'“”»«)\]]*\s+")
_WORD = re.compile(r"\S+")


def _is_boundary(text: str, m: re.Match[str]) -> bool:
    after = text[m.end():m.end() + 1]
    if not after or not (after.isupper() or after.isdigit() or after in "„\"“»(«'‚-•"):
        return False
    before = text[:m.start() + 1]
    token = re.search(r"(\S+)$", before)
    word = token.group(1).lower().rstrip(".") if token else ""
    word = word.lstrip("(\"„“»'")
    if word in _ABBREV or (len(word) == 1 and word.isalpha()):
        return False
    # German ordinal ("29. September", "24. bis"): a 1-2 digit number before the period
    return not (text[m.start()] == "." and re.fullmatch(r"\d{1,2}", word))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return (start, end) offsets of the sentences in ``text``; whitespace lies between them.

    >>> t = "Am 29. September stieg die Aktie um 9,2 %. Dr. Wu sprach.\\nNeue Zeile"
    >>> [t[s:e] for s, e in split_sentences(t)]
    ['Am 29. September stieg die Aktie um 9,2 %.', 'Dr. Wu sprach.', 'Neue Zeile']
    """
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        start = line.start()
        seg = line.group(0)
        pos = 0
        for m in _BOUNDARY.finditer(seg):
            if _is_boundary(seg, m):
                end = m.end() - (len(m.group(0)) - len(m.group(0).rstrip()))
                spans.append((start + pos, start + end))
                pos = m.end()
        if seg[pos:].strip():
            spans.append((start + pos, start + len(seg.rstrip())))
    # trim leading whitespace inside spans (indented bullets)
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        if s < e:
            out.append((s, e))
    return out


def _split_long(text: str, span: tuple[int, int], max_words: int) -> Iterator[tuple[int, int]]:
    """Cut a sentence longer than ``max_words`` at word boundaries."""
    s, e = span
    words = list(_WORD.finditer(text, s, e))
    for i in range(0, len(words), max_words):
        group = words[i:i + max_words]
        yield group[0].start(), group[-1].end()


def chunk_id(doc_id: str, start: int, end: int) -> str:
    """Deterministic id: same document content and offsets give the same id."""
    return hashlib.sha256(f"{doc_id}:{start}:{end}".encode()).hexdigest()[:16]


def chunk_spans(text: str, max_words: int = 80, overlap: int = 1) -> list[tuple[int, int]]:
    """Greedy packing of sentences into spans of at most ``max_words`` words (a single longer
    sentence is cut at word boundaries). ``overlap`` sentences open the next chunk again.

    >>> chunk_spans("Eins zwei. Drei vier. Fünf sechs.", max_words=4, overlap=0)
    [(0, 21), (22, 33)]
    """
    if max_words < 1:
        raise ValueError("max_words must be >= 1")
    sents: list[tuple[int, int]] = []
    for sp in split_sentences(text):
        n = len(_WORD.findall(text[sp[0]:sp[1]]))
        sents.extend(_split_long(text, sp, max_words) if n > max_words else [sp])
    counts = [len(_WORD.findall(text[s:e])) for s, e in sents]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(sents):
        j, words = i, 0
        while j < len(sents) and (j == i or words + counts[j] <= max_words):
            words += counts[j]
            j += 1
        spans.append((sents[i][0], sents[j - 1][1]))
        if j >= len(sents):
            break
        # step back `overlap` sentences, but always make progress and keep overlap short
        back = min(overlap, j - i - 1)
        while back and sum(counts[j - back:j]) > max_words // 2:
            back -= 1
        i = j - back
    return spans


def chunk_document(doc: Document, max_words: int = 80, overlap: int = 1) -> list[Chunk]:
    return [
        Chunk(chunk_id=chunk_id(doc.doc_id, s, e), doc_id=doc.doc_id, source=doc.source,
              title=doc.title, text=doc.text[s:e], start=s, end=e)
        for s, e in chunk_spans(doc.text, max_words, overlap)
    ]


def sentence_units(doc: Document) -> list[Sentence]:
    """Every sentence of ``doc`` as an evidence unit with a deterministic id (an over-long
    sentence is cut like a chunk, at 60 words, so its vector stays sharp)."""
    units = []
    for sp in split_sentences(doc.text):
        n = len(_WORD.findall(doc.text[sp[0]:sp[1]]))
        for s, e in (_split_long(doc.text, sp, 60) if n > 60 else [sp]):
            units.append(Sentence("s" + chunk_id(doc.doc_id, s, e)[1:], doc.doc_id, s, e))
    return units
