"""Words, numbers, stop words, terms and language detection: the one copy every part uses.

Retrieval, evidence selection, the citation placement, the checks and both stores compare text
through these functions, so they must agree: a word the evidence scorer counts as a term is
counted the same way in the term frequencies an index stores. The index records
:data:`TEXT_VERSION` (a hash of the stop words and the term rules) in its configuration, so a
change here makes existing indexes say "rebuild" instead of silently scoring with the term
counts of the old rules.

The rules are deliberately crude and language-light (German and English): words cut to five
letters match inflections ("Rechenzentren" ~ "Rechenzentrum") and numbers are compared in one
notation ("1,5" ~ "1.5").
"""

from __future__ import annotations

import hashlib
import re

WORD = re.compile(r"\w+", re.U)
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")

STOP_WORDS_DE = frozenset(
    ["der", "die", "das", "und", "ist", "nicht", "ein", "eine", "wie", "was", "wer", "wann", "wo",
     "warum", "welche", "welcher", "welches", "hat", "haben", "wird", "werden", "mit", "für",
     "von", "auf", "im", "den", "dem", "des", "zu", "zum", "zur", "auch", "sich", "viel", "viele",
     "gibt", "es", "sind", "war", "waren", "über", "nach", "bei", "aus", "oder", "noch", "kann"])
STOP_WORDS_EN = frozenset(
    ["the", "and", "is", "are", "was", "were", "what", "who", "when", "where", "why", "which",
     "how", "does", "do", "did", "has", "have", "will", "with", "for", "from", "of", "on", "in",
     "to", "a", "an", "it", "its", "by", "about", "many", "much", "there", "this", "that", "as",
     "at", "be", "or", "can"])
STOP_WORDS = STOP_WORDS_DE | STOP_WORDS_EN
_STOP_PREFIXES = frozenset(w[:5] for w in STOP_WORDS)
# a wider list of function words (articles, prepositions, question words, fillers): what a
# follow-up question consists of besides its topic (qa.conversation); not used for terms
_FUNCTION_WORDS = """
    der die das den dem des ein eine einen einem einer und oder aber in im am an auf aus bei mit
    nach von vom zu zum zur für über unter vor wie was wer wann wo warum welche welcher welches
    viel viele ist sind war waren hat haben wird werden kann noch auch denn so mal dann wieso
    weshalb gibt es man sich nicht mehr
    the a an and or but of on at to for with by what who when where why which how much many is
    are were do does did has have about also else then
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())

# what an index's stored term counts depend on: recorded in its configuration (IndexConfig)
TERM_RULES = "words>3 cut to 5 letters, stop words out; numbers with '.' for ','"
TEXT_VERSION = hashlib.sha256(
    (" ".join(sorted(STOP_WORDS)) + "|" + TERM_RULES).encode()).hexdigest()[:12]


def detect_language(text: str) -> str:
    """'de' or 'en' from stop words and umlauts; German wins ties (the corpus language).

    >>> detect_language("How many parameters does Qwen3-Max have?"), detect_language("Wie viel?")
    ('en', 'de')
    """
    words = [w.lower() for w in WORD.findall(text)]
    de = sum(w in STOP_WORDS_DE for w in words) + 2 * len(re.findall(r"[äöüß]", text.lower()))
    en = sum(w in STOP_WORDS_EN for w in words)
    return "en" if en > de else "de"


def terms(text: str) -> set[str]:
    """Cross-form matching terms (retrieval, evidence, the stores' term counts): numbers in one
    notation, words of four letters or more outside the stop words, cut to 5 letters.

    >>> sorted(terms("Wie viele Rechenzentren baut Alibaba 2025?"))
    ['2025', 'aliba', 'baut', 'reche']
    """
    out = {m.group(0).replace(",", ".") for m in NUMBER.finditer(text)}
    out |= {w.lower()[:5] for w in WORD.findall(text)
            if len(w) > 3 and not w.isdigit() and w.lower() not in STOP_WORDS}
    return out


def match_terms(text: str) -> set[str]:
    """The cruder terms the citation placement compares claims and passages with: as
    :func:`terms`, but a word is dropped when its five-letter cut is that of a stop word
    ("werdende" goes with "werden").

    >>> sorted(match_terms("Die werdende Cloud wächst um 1,5 Prozent"))
    ['1.5', 'cloud', 'proze', 'wächs']
    """
    out = {m.group(0).replace(",", ".") for m in NUMBER.finditer(text)}
    out |= {w.lower()[:5] for w in WORD.findall(text) if len(w) > 3 and not w.isdigit()}
    return out - _STOP_PREFIXES


def fold(text: str) -> str:
    """Lower case with umlauts and ß folded, for substring matching across spellings.

    >>> fold("Südkorea Straße")
    'sudkorea strase'
    """
    return text.lower().translate(str.maketrans("äöüß", "aous"))
