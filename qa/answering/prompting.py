"""The prompt: passage selection under a token budget (chunk evidence), the passage headers,
the messages, and the refusal marker with the ways a reply says it.

Prompt tokens are the main latency lever on a CPU (about 45 prompt tokens/s for the 1.5B model
on 2 cores), so passages are chosen to fit a budget: whole chunks while they fit, then the
sentences of the next chunk that share most words with the question.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from qa.chunking import split_sentences
from qa.cleaning import headline_like
from qa.generators import Message
from qa.text import detect_language
from qa.text import match_terms as _terms
from qa.types import Hit, Passage

NOT_FOUND = "NICHT_IN_DEN_ARTIKELN"
ABSTAIN_TEXT = {
    "de": "Dazu steht in den Artikeln nichts.",
    "en": "The articles do not say.",
}
# said after an answer to part of a question when the model marked the rest as not found
REST_MISSING_TEXT = {
    "de": "Zum Rest der Frage steht in den Artikeln nichts.",
    "en": "The articles say nothing about the rest of the question.",
}

# The model is not asked to write [n] markers: measured on the gold set, the 1.5B model then
# often answered with markers only ("[1] [2]"). Citations are attached afterwards by term overlap
# (``add_missing_markers``); markers the model writes anyway are kept when they are valid.
# The v3 wording (measured best with this model): the refusal marker once, in the system message
# (repeating it, or "only if the passages do not contain the answer" with an answer-first
# demand, made the 1.5B model refuse answerable questions: fact accuracy 0.18 against 0.38 with
# this wording on the tune half, both runs before the fix for "(1) (2)" labels; eval/README.md).
SYSTEM_PROMPT = (
    "You answer questions about news articles. Use only facts from the passages given with the "
    "question, never facts from elsewhere. Answer in one to three complete sentences and keep the "
    "exact numbers, names and places of the passages. Only if no passage says anything that "
    f"answers the question, reply exactly: {NOT_FOUND}"
)
INSTRUCTION = {
    "de": "Antworte auf Deutsch in ganzen Sätzen, mit den genauen Zahlen und Namen aus den "
          "Textstellen.",
    "en": "Answer in English in complete sentences, with the exact numbers and names from the "
          "passages.",
}

def approx_tokens(text: str) -> int:
    """A tokenizer-free estimate (about 3.3 characters per token for German with Qwen's BPE)."""
    return max(1, round(len(text) / 3.3))


def select_passages(question: str, hits: Sequence[Hit], budget_tokens: int, max_passages: int,
                    count_tokens: Callable[[str], int] = approx_tokens) -> list[Passage]:
    """Passages for the prompt, in hit order, within ``budget_tokens``: whole chunks while they
    fit, otherwise the chunk's sentences that share most terms with the question."""
    q_terms = _terms(question)
    passages: list[Passage] = []
    left = budget_tokens
    for hit in hits:
        if len(passages) >= max_passages or left < 25:
            break
        c = hit.chunk
        cost = count_tokens(c.text)
        if cost <= left:
            passages.append(Passage(len(passages) + 1, hit, c.text, c.start, c.end))
            left -= cost
            continue
        sents = split_sentences(c.text)
        ranked = sorted(range(len(sents)), key=lambda i: -len(q_terms & _terms(c.text[slice(*sents[i])])))
        chosen: list[int] = []
        for i in ranked:
            t = count_tokens(c.text[slice(*sents[i])])
            if t <= left and len(q_terms & _terms(c.text[slice(*sents[i])])) > 0:
                chosen.append(i)
                left -= t
        if chosen:
            chosen.sort()
            s, e = sents[chosen[0]][0], sents[chosen[-1]][1]
            if len(chosen) == chosen[-1] - chosen[0] + 1:  # contiguous: one span
                text = c.text[s:e]
            else:
                text = " … ".join(c.text[slice(*sents[i])] for i in chosen)
            passages.append(Passage(len(passages) + 1, hit, text, c.start + s, c.start + e))
    return passages


GLOSSARY_DE_EN = ("The passages are German. German 'Milliarde(n)' is English 'billion', German "
                  "'Billion(en)' is English 'trillion', 'Mio.' is 'million'; a German decimal "
                  "comma is a decimal point (3,2 = 3.2).")
PARTS = {
    "de": "Die Frage hat {n} Teile; beantworte jeden: {parts}",
    "en": "The question has {n} parts; answer each: {parts}",
}
def shows_title(title: str) -> bool:
    """Whether an article's header line shows its title: a title that is only the article's
    first sentence is not shown (the small model copies such a line as its answer)."""
    return headline_like(title, max_words=18)


def format_context(passages: Sequence[Passage], language: str) -> str:
    """Passages grouped under a header per article, in the order they are given (``qa.evidence``
    orders articles by relevance, windows by position). The header gives the title and the
    date. Bylines are metadata, never passage text, so "who heads X" is not answered with the
    article's author; the author and the site stay out of the prompt (shown to the model, they
    changed answers for the worse on news-en and docs-de, eval/README.md).

    >>> from qa.types import Chunk
    >>> h = Hit(Chunk("c", "d", "a.txt", "T", "x", 0, 1), 1.0)
    >>> print(format_context([Passage(1, h, "Eins.", 0, 5, "Titel", "2025-09-24"),
    ...                       Passage(2, h, "Zwei.", 9, 14, "Titel", "2025-09-24")], "de"))
    Artikel: Titel (2025-09-24)
    [1] Eins.
    [2] Zwei.
    """
    label = "Artikel" if language == "de" else "Article"
    out: list[str] = []
    last = None
    n_articles = 0
    for p in passages:
        key = (p.source, p.title, p.date)
        if key != last:
            if out:
                out.append("")
            n_articles += 1
            head = p.title if shows_title(p.title) else str(n_articles)
            out.append(f"{label}: {head}" + (f" ({p.date})" if p.date else ""))
            last = key
        out.append(f"[{p.n}] {p.text}")
    return "\n".join(out)


RETRY = {
    "de": "Diese Angaben stehen in keiner Textstelle: {items}. Beantworte die Frage noch einmal, "
          "nur mit Zahlen und Namen aus den Textstellen. Steht die Antwort in keiner Textstelle, "
          f"antworte genau: {NOT_FOUND}",
    "en": "These are in no passage: {items}. Answer the question again, using only numbers and "
          "names from the passages. If no passage gives the answer, reply exactly: "
          f"{NOT_FOUND}",
}


def retry_messages(messages: Sequence[Message], draft: str, unsupported: Sequence[str],
                   language: str) -> list[Message]:
    """The conversation once more, after a reply withheld for numbers or names no passage
    holds: the reply as the model's turn, then what was unsupported, named.

    >>> m = retry_messages([{"role": "user", "content": "Frage"}], "Es sind 480 [1].", ["480"], "de")
    >>> [x["role"] for x in m], m[-1]["content"][:43]
    (['user', 'assistant', 'user'], 'Diese Angaben stehen in keiner Textstelle: ')
    """
    items = ", ".join(f"„{u}“" if language == "de" else f'"{u}"' for u in unsupported)
    return [*messages, {"role": "assistant", "content": draft},
            {"role": "user", "content": RETRY.get(language, RETRY["en"]).format(items=items)}]


def parts_line(parts: Sequence[str], language: str) -> str:
    """The prompt's line listing a question's parts ("Die Frage hat 2 Teile; …").

    >>> parts_line(["Wer?", "wann?"], "en")
    'The question has 2 parts; answer each: (1) Wer? (2) wann?'
    """
    listed = " ".join(f"({i}) {p}" for i, p in enumerate(parts, 1))
    return PARTS.get(language, PARTS["en"]).format(n=len(parts), parts=listed)


def build_messages(question: str, passages: Sequence[Passage], language: str,
                   parts: Sequence[str] = ()) -> list[Message]:
    """System and user message: articles, question, its parts when it has several, the answer
    instruction (with a number glossary for English answers from German passages)."""
    context = format_context(passages, language)
    lines = [("Textstellen:" if language == "de" else "Passages:"), context, "",
             ("Frage: " if language == "de" else "Question: ") + question]
    if len(parts) > 1:
        lines.append(parts_line(parts, language))
    lines.append("")
    if language == "en" and passages and detect_language(" ".join(p.text for p in passages)) == "de":
        lines.append(GLOSSARY_DE_EN)
    lines.append(INSTRUCTION[language])
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": "\n".join(lines)}]


def strip_instructions(raw: str, question: str, language: str) -> str:
    """The reply without the prompt's own instruction lines, which the small model sometimes
    copies before its answer ("Die Frage hat 2 Teile; beantworte jeden: (1) … (2) …"): they
    are not passage text, and their numbers are not the passages' numbers.

    >>> q = "Wie heißt das System zur Meldung von Fehlern, und wie wird es abgekürzt?"
    >>> strip_instructions("Die Frage hat 2 Teile; beantworte jeden: (1) Wie heißt das System zur "
    ...                    "Meldung von Fehlern? (2) wie wird es abgekürzt?  (1) Bug Tracking System "
    ...                    "[1]. (2) BTS [1].", q, "de")
    '(1) Bug Tracking System [1]. (2) BTS [1].'
    >>> strip_instructions("Es heißt BTS [1].", q, "de")
    'Es heißt BTS [1].'
    """
    from qa.questions import question_parts

    parts = question_parts(question)
    lines = [INSTRUCTION.get(language, ""), GLOSSARY_DE_EN]
    if len(parts) > 1:
        lines.append(parts_line(parts, language))
    out = raw
    for line in lines:
        if line and line in out:
            out = out.replace(line, " ")
    return out.strip() if out != raw else raw


_REFUSAL_PHRASE = re.compile(
    r"(?:textstellen|artikel|passagen|quellen|passages?|articles?|sources?|context|text)\b[^.]{0,60}?"
    r"\b(?:enthalten|enthält|nennen|nennt|erwähnen|erwähnt|geben|gibt|sagen|sagt|liefern|"
    r"do(?:es)?\s+not|don't|doesn't|contain\s+no|provide\s+no|make\s+no|mention\s+no)\b"
    r"[^.]{0,40}?\b(?:nicht|keine?n?|kein|nichts|mention|say|state|contain|provide|specify|include|"
    r"information|details?|angaben|informationen)\b", re.I)
_REFUSAL_START = re.compile(
    r"^(?:dazu steht in den artikeln nichts|the articles do not say|(?:es gibt |there is )?"
    r"(?:keine|no) (?:angaben|informationen|information)\b)", re.I)

# "... is not mentioned in the given article", "In den Textstellen wird kein Budget genannt",
# "No figure is given in the passages", "Die Anzahl ist nicht angegeben": a negation, and a verb
# of stating in the passive or the sources as the place where it is missing. A sentence that
# only reports a negation from the text ("Wu nannte keine Summen [2]", "according to the
# article, it will not ...") has neither, and stays an answer.
_NEGATION = r"(?:not|no|nicht|keine?[nmrs]?|kein|nichts|unclear|unklar|nowhere|nirgends)"
_STATED = (r"(?:mentioned|stated|specified|given|provided|found|included|listed|disclosed|"
           r"indicated|reported|genannt|erwähnt|angegeben|enthalten|aufgeführt|beschrieben|"
           r"gefunden|hervor|find|finden)")
_SOURCES = (r"(?:in|from|im|in\s+den|in\s+dem|aus\s+den|aus\s+dem)\s+(?:the\s+|den\s+|dem\s+)?"
            r"(?:given\s+|provided\s+|vorliegenden\s+|gegebenen\s+)?(?:articles?|passages?|texts?|"
            r"context|sources?|documents?|artikeln?|textstellen|texten|quellen|dokumenten?)\b")
_NOT_IN_SOURCES = re.compile(
    rf"\b{_NEGATION}\b[^.]{{0,80}}?\b{_STATED}\b[^.]{{0,30}}?{_SOURCES}|"
    rf"{_SOURCES}[^.]{{0,60}}?\b{_NEGATION}\b[^.]{{0,60}}?\b{_STATED}\b|"
    rf"\b(?:is|are|was|were|ist|sind|wird|werden|wurde|wurden)\s+{_NEGATION}\s+(?:\w+\s+)?"
    rf"{_STATED}\b|\b(?:it\s+is|es\s+ist)\s+(?:unclear|unklar)\b", re.I)

# the refusal marker as the model writes it, in either language (spaces read as "_")
REFUSAL_MARKERS = (NOT_FOUND, "NOT_IN_THE_ARTICLES", "NOT_IN_ARTICLES")


def is_refusal(text: str) -> bool:
    """The model's refusal marker (in either language), an empty reply, or a reply that only
    says that the passages do not give the answer.

    >>> is_refusal("NICHT_IN_DEN_ARTIKELN"), is_refusal("NOT_IN_THE_ARTICLES.")
    (True, True)
    >>> is_refusal("Die Textstellen enthalten keine Angaben zum Gewinn.")
    True
    >>> is_refusal("Konkrete Summen nannte Wu nicht [2].")
    False
    >>> is_refusal("The budget is not mentioned in the given article [1].")
    True
    >>> is_refusal("In den Textstellen wird kein Budget genannt."), is_refusal("Sie ist nicht angegeben.")
    (True, True)
    >>> is_refusal("According to the article, Alibaba will not list the unit [1].")
    False
    """
    t = text.strip().upper().replace(" ", "_")
    if not t or t.startswith("NICHT_IN_DEN") or any(m in t for m in REFUSAL_MARKERS):
        return True
    t = text.strip()
    first = [t[a:b] for a, b in split_sentences(t)[:1]]
    return bool(first and (_REFUSAL_START.match(first[0]) or _REFUSAL_PHRASE.search(first[0])
                           or _NOT_IN_SOURCES.search(first[0])))


_TRAILING_MARKER = re.compile(r"\s*(?:" + "|".join(m.replace("_", "[_ ]") for m in REFUSAL_MARKERS)
                              + r")[\s.!*`\"']*$")


_PART_LABEL = re.compile(r"(?:^|(?<=\s))\((\d)\)\s*")
_SENTENCE_END = re.compile(r"\w{2,}.*[.!?](?:\s*\[\d+\])*$", re.S)


def split_partial(raw: str) -> tuple[str, bool]:
    """A reply that answers in complete sentences and then writes the refusal marker, or that
    answers the parts "(1) … (2) …" and writes the marker for some: the model found part of what
    was asked. -> (the answer before the marker, True); any other reply ->
    (``raw``, False). A reply that is a refusal before the marker stays a refusal.

    >>> split_partial("Sie erhalten ihr Geld in sieben Jahren zurück [1]. NICHT_IN_DEN_ARTIKELN")
    ('Sie erhalten ihr Geld in sieben Jahren zurück [1].', True)
    >>> split_partial("NICHT_IN_DEN_ARTIKELN")[1], split_partial("Alibaba baut [1]")[1]
    (False, False)
    >>> split_partial("The passages do not mention it. NOT_IN_THE_ARTICLES")[1]
    False
    >>> split_partial("(1) Sie erhalten es in sieben Jahren zurück [1].\\n(2) NICHT_IN_DEN_ARTIKELN")
    ('(1) Sie erhalten es in sieben Jahren zurück [1].', True)
    >>> split_partial("(1) NICHT_IN_DEN_ARTIKELN (2) NOT_IN_THE_ARTICLES")[1]
    False
    """
    labels = list(_PART_LABEL.finditer(raw))
    if len(labels) >= 2:  # "(1) answer. (2) NICHT_IN_DEN_ARTIKELN": the parts as asked
        ends = [m.start() for m in labels[1:]] + [len(raw)]
        parts = [(m.group(1), raw[m.end():e].strip()) for m, e in zip(labels, ends, strict=True)]
        kept = [(n, t) for n, t in parts if not is_refusal(t)]
        if kept and len(kept) < len(parts) and all(_SENTENCE_END.search(t) for _, t in kept):
            head = raw[:labels[0].start()].strip()
            return " ".join([head] * bool(head) + [f"({n}) {t}" for n, t in kept]), True
        return raw, False
    m = _TRAILING_MARKER.search(raw)
    if not m:
        return raw, False
    before = raw[:m.start()].strip()
    if not _SENTENCE_END.search(before) or is_refusal(before):
        return raw, False
    return before, True


def could_be_refusal(prefix: str) -> bool:
    """While streaming: might the reply so far still turn out to be, or end in, a refusal
    marker? Such text is held back, so no marker ever reaches the screen, also when the model
    appends one to a sentence.

    >>> could_be_refusal("NICHT_IN"), could_be_refusal("NOT_"), could_be_refusal("Alibaba")
    (True, True, False)
    >>> could_be_refusal("Alibaba baut. NICHT_IN_D"), could_be_refusal("Alibaba baut. Nvidia")
    (True, False)
    """
    t = prefix.strip().upper().replace(" ", "_")
    if not t:
        return True
    words = prefix.split()
    last = words[-1].upper().strip("*\"'`([") if words else ""
    return any(m.startswith(t[:len(m)]) or m in t or (last and m.startswith(last))
               for m in REFUSAL_MARKERS)
