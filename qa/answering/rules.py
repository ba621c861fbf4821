"""The rules ``finish`` applies to a reply (``qa.answering.checks``), as pure functions: figures
and names no passage holds, a reply without the kind of thing asked, and the repairs of German
magnitudes, decimals and copied titles; ``postprocess`` turns the model's raw text into the
answer with its citations."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.answering.citations import (
    _MARKER_GROUP,
    add_missing_markers,
    make_citations,
    normalize_markers,
)
from qa.answering.prompting import is_refusal, shows_title
from qa.chunking import split_sentences
from qa.questions import asks_for_money, asks_for_quantity, question_parts
from qa.text import STOP_WORDS_DE as _DE
from qa.text import STOP_WORDS_EN as _EN
from qa.text import WORD as _WORD
from qa.text import detect_language
from qa.text import fold as _fold
from qa.types import Citation, Passage

_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")


# [n] markers and "(1) ... (2) ..." enumerations of the question's parts are not claims
_NOT_CLAIMED = re.compile(r"\[\d+\]|(?:^|(?<=\s))\(\d\)\s")


def _numbers(text: str, pattern: re.Pattern[str] = _NUMBER) -> set[str]:
    """The numbers claimed in ``text``, in one notation (``normalize_numbers``)."""
    from qa.metrics import normalize_numbers

    return set(pattern.findall(normalize_numbers(_NOT_CLAIMED.sub(" ", text))))


_DMY = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{4})(?!\d)")
_YMD = re.compile(r"(?<![\d-])(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")


def _date_numbers(text: str) -> set[str]:
    """Day, month and year of the dates written "09.08.2001" or "2001-08-09", as numbers: a
    reply may give the date as "August 9, 2001" or "9. August 2001".

    >>> sorted(_date_numbers("vom 09.08.2001 und 2013-05-12"), key=int)
    ['5', '8', '9', '12', '2001', '2013']
    """
    out = set()
    for m in _DMY.finditer(text):
        out |= {str(int(m.group(1))), str(int(m.group(2))), m.group(3)}
    for m in _YMD.finditer(text):
        out |= {m.group(1), str(int(m.group(2))), str(int(m.group(3)))}
    return out


def unsupported_numbers(answer: str, passages: Sequence[Passage], question: str = "") -> set[str]:
    """Numbers in the answer that neither the passages nor the question contain, compared in one
    notation ("35,8 %" = "35.8 percent", "acht" = "8"; a date's day, month and year count as
    written in any order, ``_date_numbers``). On the gold set every such number was
    invented by the model, mostly for questions the articles do not answer.

    >>> from qa.answering.prompting import select_passages
    >>> from qa.types import Chunk, Hit
    >>> p = select_passages("?", [Hit(Chunk("i", "d", "a", "T", "Es sind acht Prozent.", 0, 21), 1.0)], 99, 1)
    >>> sorted(unsupported_numbers("It rose 8% [1], to 125 dollars.", p))
    ['125']
    """
    known = _numbers(question) | _date_numbers(question)
    for p in passages:
        known |= _numbers(p.text) | _date_numbers(p.text)
    return _numbers(answer) - known


# a quantity answered in words, not digits: "verdoppelt", "fivefold", "die Hälfte", "a dozen"
_QUANTITY_WORDS = re.compile(
    r"(?:doppel|verdoppel|dreifach|verdreifach|vierfach|fünffach|zehnfach|hälfte|hundert|tausend|"
    r"dutzend|double|triple|fourfold|fivefold|tenfold|\bhalf\b|hundred|thousand|dozen|"
    r"million|milliard|billion|trillion|\berste[nmrs]?\b|\bzweite[nmrs]?\b|\bdritte[nmrs]?\b|"
    r"\beinzige[nmrs]?\b|\bfirst\b|\bsecond\b|\bthird\b|\bsingle\b)", re.I)
_WHO = re.compile(r"^\W*(?:(?:an|von|mit|für|by|to|with|for|from)\s+)?(?:wer|wem|wen|who|whom)\b",
                  re.I)
_WHERE = re.compile(r"^\W*(?:wo|wohin|woher|where)\b", re.I)
_CAPITALISED = re.compile(r"(?<![\w-])[A-ZÄÖÜ][\w'’-]*")
# where something is, in technical text: a path, an address, a dotted name ("de.comp.text.tex")
_LOCATOR = re.compile(r"(?:[\w.~-]*/[\w.~/-]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|"
                      r"(?<![\w.])[a-z][\w-]*(?:\.[a-z][\w-]*){2,})")


# an amount of money: a currency beside a number, or a number with a money-sized unit
_MONEY_AMOUNT = re.compile(
    r"(?:[$€¥£]\s*\d|\d[\d.,]*\s*(?:-\s*)?(?:milliarden|milliarde|millionen|million|mrd|mio|"
    r"billionen|billion|trillion|bn|mn|dollar|euro|yuan|renminbi|rmb|usd|eur|hkd|cny)|"
    r"\b(?:rmb|usd|eur|hkd|cny|us-dollar)\s*\d)", re.I)
# a number that stands alone, not inside a name ("01.ai", "Qwen3", "Q2")
_STANDALONE_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w]|\.[^\W\d])")


def lacks_what_was_asked(answer: str, question: str) -> bool:
    """Does the answer miss the kind of thing every typed part of the question asks for? A
    question about an amount of money (a revenue, a value, a price) needs an amount with a
    currency or a unit like "Milliarden", not only a percentage; another quantity question ("wie
    viel", "how many", ...) needs a number beyond the question's own (digits, a number word,
    "verdoppelt", an ordinal: "nur die erste"); a "wer"/"who" or "wo"/"where" question (a
    person, a place) needs a capitalised word beyond the question's words and the answer's first
    word, and a "where" is also answered by a path, an address or a dotted name
    ("/usr/share/man/de/", "de.comp.text.tex"). Parts of other
    kinds are not judged, and one typed part answered is enough. A reply like "The unit is
    headed by the unit" restates the question: measured on the gold set, such replies came only
    to questions the articles do not answer.

    >>> lacks_what_was_asked("Apple bezahlt Alibaba dafür [1].", "Wie viel zahlt Apple an Alibaba?")
    True
    >>> lacks_what_was_asked("Apple zahlt acht Millionen [1].", "Wie viel zahlt Apple an Alibaba?")
    False
    >>> lacks_what_was_asked("It is headed by the Cloud unit.", "Who heads the Cloud unit?")
    True
    >>> lacks_what_was_asked("Eddie Wu heads it.", "Who heads the Cloud unit?")
    False
    >>> lacks_what_was_asked("It grew fast.", "Why did it grow?")
    False
    >>> lacks_what_was_asked("Man findet sie unter /usr/share/man/de/ [1].", "Wo sucht man danach?")
    False
    >>> lacks_what_was_asked("Er veröffentlichte es in de.comp.text.tex [1].", "Wo erschien es?")
    False
    >>> lacks_what_was_asked("Das Skript wertet nur die erste Schicht aus [1].", "Wie viele Schichten wertet es aus?")
    False
    >>> lacks_what_was_asked("Sie investiert in 01.ai und Qwen3 [1].", "Wie viel investiert sie?")
    True
    >>> lacks_what_was_asked("Der Börsenwert stieg um 60 Prozent [1].", "Wie hoch ist der Börsenwert?")
    True
    >>> lacks_what_was_asked("Er lag bei 3,2 Milliarden Dollar [1].", "Wie hoch ist der Börsenwert?")
    False
    """
    text = _NOT_CLAIMED.sub(" ", answer)
    q_words = {w.lower() for w in _WORD.findall(question)}
    first = _WORD.search(text)
    typed = answered = 0
    for part in question_parts(question):
        if asks_for_money(part):
            typed += 1
            answered += bool(_MONEY_AMOUNT.search(text))
        elif asks_for_quantity(part):
            typed += 1
            answered += bool(_numbers(text, _STANDALONE_NUMBER)
                             - _numbers(question, _STANDALONE_NUMBER)
                             or _QUANTITY_WORDS.search(text))
        elif _WHO.search(part) or _WHERE.search(part):  # a person or a place: a name
            typed += 1
            answered += any(not (first and m.start() == first.start())
                            and not all(w.lower() in q_words for w in _WORD.findall(m.group(0)))
                            for m in _CAPITALISED.finditer(text)) or bool(
                _WHERE.search(part) and set(_LOCATOR.findall(text)) - set(_LOCATOR.findall(question)))
    return typed > 0 and answered == 0


_NAME_RUN = re.compile(r"[A-ZÄÖÜ][\w&'’-]*(?:\s+[A-ZÄÖÜ][\w&'’-]*)+")


def unsupported_names(answer: str, passages: Sequence[Passage], question: str = "") -> set[str]:
    """Names in the answer (runs of two or more capitalised words) none of whose words occur in
    the passages or the question: knowledge from outside the articles, which the model must not
    use. Words are compared case-folded as substrings, so "Alibabas" and "Südkorea" match
    "Alibaba" and "South Korea"; a run with fewer than two words of four letters or more
    outside the stop words is not judged (a translated "The Netherlands" must not count).

    >>> from qa.types import Chunk, Hit
    >>> p = [Passage(1, Hit(Chunk("i", "d", "a", "T", "x", 0, 1), 1.0), "CEO Eddie Wu baut in Südkorea.", 0, 30)]
    >>> sorted(unsupported_names("Linus Torvalds wrote it. Eddie Wu leads; South Korea.", p))
    ['Linus Torvalds']
    """
    known = _fold(question + " " + " ".join(p.text for p in passages))
    out = set()
    for m in _NAME_RUN.finditer(re.sub(r"\[\d+\]", " ", answer)):
        words = [w.strip("'’-") for w in m.group(0).split()]
        content = [w for w in words if len(w) >= 4 and w.lower() not in _DE | _EN]
        if len(content) >= 2 and not any(_fold(w)[:6] in known for w in content):
            out.add(m.group(0))
    return out


def fix_german_trillions(answer: str, passages: Sequence[Passage]) -> str:
    """English answers from German text: "18 billion" where the passages say "18 Billionen"
    (German for trillion, not billion) becomes "18 trillion" (``fix_magnitudes``; a number the
    passages also give in "Milliarden" is left alone), and "one billion" where they say "eine
    Billion" becomes "one trillion". Small models translate the false friend word for word.

    >>> from qa.types import Chunk, Hit
    >>> p = [Passage(1, Hit(Chunk("i", "d", "a", "T", "x", 0, 1), 1.0), "auf 18 Billionen Einheiten", 0, 9)]
    >>> fix_german_trillions("Qwen was trained on 18 billion tokens [1].", p)
    'Qwen was trained on 18 trillion tokens [1].'
    """
    answer = fix_magnitudes(answer, passages, "en")
    if re.search(r"\b(?:eine|einer|über eine|über einer)\s+Billion\b",
                 " ".join(p.text for p in passages)):
        answer = re.sub(r"\b(one|a|over one|over a|more than one|more than a)\s+billion\b",
                        r"\1 trillion", answer)
    return answer


_MAGNITUDE = re.compile(r"(?<![\d.,])(\d+(?:[.,]\d+)?)(\s*-?\s*)(millionen|million|mio|milliarden|"
                        r"milliarde|mrd|billionen|billion|trillion)\b", re.I)
_SCALE = {"million": 6, "millionen": 6, "mio": 6, "milliarde": 9, "milliarden": 9, "mrd": 9,
          "billionen": 12, "trillion": 12}
_SCALE_WORD = {("en", 6): "million", ("en", 9): "billion", ("en", 12): "trillion",
               ("de", 6): "Millionen", ("de", 9): "Milliarden", ("de", 12): "Billionen"}
_SINGULAR = {"Millionen": "Million", "Milliarden": "Milliarde", "Billionen": "Billion"}


def _scale(unit: str, language: str) -> int:
    u = unit.lower()
    return (9 if language == "en" else 12) if u == "billion" else _SCALE[u]


def fix_magnitudes(answer: str, passages: Sequence[Passage], language: str) -> str:
    """A figure whose number the passages give with one magnitude only gets that magnitude:
    "380 million yuan" where the passages say "380 Milliarden Yuan" becomes "380 billion yuan"
    (small models confuse the German and English words). A number the passages give with
    several magnitudes, or not at all, is left as written.

    >>> from qa.types import Chunk, Hit
    >>> p = [Passage(1, Hit(Chunk("i", "d", "a", "T", "x", 0, 1), 1.0), "Plan über 380 Milliarden Yuan", 0, 9)]
    >>> fix_magnitudes("The budget was 380 million yuan [1].", p, "en")
    'The budget was 380 billion yuan [1].'
    >>> fix_magnitudes("Das Budget betrug 380 Millionen Yuan [1].", p, "de")
    'Das Budget betrug 380 Milliarden Yuan [1].'
    >>> fix_magnitudes("It has 99 million users [1].", p, "en")
    'It has 99 million users [1].'
    >>> q = [Passage(1, p[0].hit, "1 Milliarde Dollar", 0, 9)]
    >>> fix_magnitudes("Es war 1 Million Dollar.", q, "de"), fix_magnitudes("It was 1 million.", q, "en")
    ('Es war 1 Milliarde Dollar.', 'It was 1 billion.')
    """
    if language not in ("de", "en"):
        return answer
    text = " ".join(p.text for p in passages)
    known: dict[str, set[int]] = {}
    source_language = detect_language(text)
    for m in _MAGNITUDE.finditer(text):
        known.setdefault(m.group(1).replace(",", "."), set()).add(_scale(m.group(3),
                                                                         source_language))

    def repl(m: re.Match[str]) -> str:
        scales = known.get(m.group(1).replace(",", "."), set())
        if len(scales) != 1 or _scale(m.group(3), language) in scales:
            return m.group(0)
        word = _SCALE_WORD[(language, next(iter(scales)))]
        if m.group(1) == "1":
            word = _SINGULAR.get(word, word)
        return f"{m.group(1)}{m.group(2)}{word}"

    return _MAGNITUDE.sub(repl, answer)


_DECIMAL_COMMA = re.compile(r"(?<![\d.,])(\d+),(\d{1,2})(?![\d,])")


def fix_german_decimals(answer: str) -> str:
    """An English answer writes a decimal point: "3,2 billion" copied from German text becomes
    "3.2 billion". Only one or two digits after the comma: "1,500" may be English thousands.

    >>> fix_german_decimals("Alibaba raised 3,2 billion dollars, a premium of 27,5 % [1].")
    'Alibaba raised 3.2 billion dollars, a premium of 27.5 % [1].'
    >>> fix_german_decimals("It holds 1,500 patents and 35,8 %.")
    'It holds 1,500 patents and 35.8 %.'
    """
    return _DECIMAL_COMMA.sub(r"\1.\2", answer)


def drop_copied_titles(text: str, passages: Sequence[Passage]) -> str:
    """``text`` without the sentences that only repeat the title of an article shown in the
    prompt's header lines (``format_context``): the small model sometimes opens its answer with
    the header above the passages ("Alibaba Aktie: KI-Offensive eskaliert!"), which answers
    nothing. A title that a passage also holds is passage text and stays.

    >>> from qa.types import Chunk, Hit
    >>> h = Hit(Chunk("c", "d", "a.txt", "T", "x", 0, 1), 1.0)
    >>> p = [Passage(1, h, "Plus 26 %.", 0, 9, "Alibaba Aktie: KI-Offensive eskaliert!")]
    >>> drop_copied_titles("Alibaba Aktie: KI-Offensive eskaliert [1]! Die Cloud wuchs um 26 %.", p)
    'Die Cloud wuchs um 26 %.'
    """
    def words(s: str) -> str:
        return " ".join(_WORD.findall(_MARKER_GROUP.sub(" ", s).lower()))

    shown = " | ".join(words(p.text) for p in passages)
    titles = {t for p in passages if shows_title(p.title) and (t := words(p.title)) not in shown}
    if not titles:
        return text
    spans = split_sentences(text)
    keep = [(s, e) for s, e in spans if words(text[s:e]) not in titles]
    if len(keep) == len(spans):
        return text
    return " ".join(text[s:e] for s, e in keep)


def postprocess(raw: str, passages: Sequence[Passage],
                language: str = "") -> tuple[str, list[Citation], bool]:
    """Model output -> (answer text, citations, model_refused); ``language`` is the answer's
    (figures get the passages' magnitudes in its words, "en" answers a decimal point). A reply
    that only repeats a title from the prompt's article headers counts as a refusal."""
    raw = drop_copied_titles(raw, passages)
    words = _MARKER_GROUP.sub(" ", raw)
    if is_refusal(raw) or not passages or not re.search(r"\w{2,}", words):
        return raw.strip(), [], True  # a refusal, or only markers and punctuation
    text = normalize_markers(raw, {p.n for p in passages})
    if language == "en":
        text = fix_german_decimals(fix_german_trillions(text, passages))
    else:
        text = fix_magnitudes(text, passages, language)
    text = add_missing_markers(text, passages)
    return text, make_citations(text, passages), False
