"""Follow-up questions: "Und wie viel davon in Europa?" becomes a standalone question.

Cheap by design. A pure heuristic (``looks_like_followup``) decides whether the model is asked at
all; most questions are standalone and cost nothing. When it is asked, the model gets a tiny
prompt (the last one or two turns, shortened to about 150 tokens) and replies with one question;
``sanitize_rewrite`` keeps that reply only when it is one plausible line that still contains the
follow-up's own key terms, otherwise the previous question and the follow-up are joined, which
retrieval handles well enough (both share the topic words).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from qa.answering.prompting import approx_tokens
from qa.errors import QAError
from qa.generators import Generator, Message, generate
from qa.text import FUNCTION_WORDS, detect_language

log = logging.getLogger(__name__)

Turn = tuple[str, str]  # (question, answer text)

PROMPT_TOKENS = 150  # the whole rewrite prompt, at most (about)
MAX_REWRITE_TOKENS = 60
MAX_REWRITE_CHARS = 300

_WORD = re.compile(r"[\w'’-]+", re.U)
_OPENERS = (
    "und", "and", "also", "aber", "but", "so", "sowie", "außerdem", "ausserdem", "zudem",
    "noch", "dann", "what about", "how about", "and what", "and how", "what else", "was ist mit",
    "wie ist es mit", "wie steht es mit", "wie sieht es mit", "und was", "und wie", "und wer",
    "und wo", "und wann", "und warum", "und welche", "bzw", "beziehungsweise", "or", "oder",
    "why", "warum", "wieso", "weshalb", "how come", "inwiefern",
)
_ANAPHORA = {
    # German: pronominal adverbs and pronouns that point back
    "davon", "dort", "dabei", "dafür", "dafur", "damit", "darüber", "daran", "dazu", "darauf",
    "dadurch", "daraus", "darin", "dahin", "daher", "dagegen", "danach", "davor", "dorthin",
    "deren", "dessen", "ihm", "ihn", "ihnen", "ihr", "ihre", "ihren", "ihrem", "ihrer", "ihres",
    "sein", "seine", "seinen", "seinem", "seiner", "seines", "er", "sie", "es",
    "dies", "diese", "dieser", "dieses", "diesem", "diesen", "jene", "jener", "jenes",
    "derselbe", "dieselbe", "dasselbe", "damals", "denen",
    # English
    "it", "its", "they", "them", "their", "theirs", "that", "those", "this", "these", "there",
    "he", "she", "him", "his", "her", "hers", "same", "then", "former", "latter",
}
# words that look like anaphora but are not, in these common phrases
_NOT_ANAPHORIC = [
    re.compile(r"\b(gibt es|es gibt|is there|are there|there is|there are|is it true)\b", re.I),
]
_STOP = FUNCTION_WORDS | _ANAPHORA
_PREFIX = re.compile(
    r"^\s*(?:[-*•>]\s*|\d+[.)]\s*)?(?:(?:eigenständige|eigenstaendige|umformulierte|neue|"
    r"vollständige|standalone|rewritten|reformulated|new|full)\s+)?"
    r"(?:frage|question|antwort|answer|output|ausgabe|rewrite|umformulierung)\s*[:：-]\s*",
    re.I,
)
_QUOTES = "\"'„“”‚‘’«»‹›`"


def _words(text: str) -> list[str]:
    return [w.strip("'’-") for w in _WORD.findall(text) if w.strip("'’-")]


def has_named_entity(question: str) -> bool:
    """A name-like token: an acronym (KI, USA), a token with digits or inner capitals (Qwen3,
    DeepSeek), or, in English, a capitalised word after the first. German capitalises every
    noun, so there only the first kinds count."""
    words = _words(question)
    english = detect_language(question) == "en"
    for i, w in enumerate(words):
        if any(ch.isdigit() for ch in w) and any(ch.isalpha() for ch in w):
            return True
        if len(w) >= 2 and w.isupper():
            return True
        if any(ch.isupper() for ch in w[1:]) and any(ch.islower() for ch in w):
            return True
        if english and i > 0 and w[0].isupper() and w != "I":
            return True
    return False


def looks_like_followup(question: str) -> bool:
    """Whether ``question`` probably needs the conversation to be understood (pure, cheap).

    >>> looks_like_followup("Und wie viel davon in Europa?")
    True
    >>> looks_like_followup("Wie viel investiert Alibaba in KI?")
    False
    """
    q = " ".join(question.strip().split())
    if not q:
        return False
    low = q.lower()
    words = [w.lower() for w in _words(q)]
    probe = low
    for pat in _NOT_ANAPHORIC:
        probe = pat.sub(" ", probe)
    probe_words = _words(q if probe == low else probe)
    anaphor = any(w.lower() in _ANAPHORA and not (w == "Sie" and i > 0)  # formal "Sie"
                  for i, w in enumerate(probe_words))
    opener = any(low == o or low.startswith(o + " ") or low.startswith(o + ",")
                 for o in _OPENERS)
    entity = has_named_entity(q)
    if anaphor:
        return len(words) <= 12 or not entity
    if opener:
        return len(words) <= 10 or not entity
    return len(words) <= 4 and not entity


def key_terms(question: str) -> list[str]:
    """Content words of a question (no stop words, pronouns, openers), lowercased, in order."""
    out: list[str] = []
    for w in _words(question):
        lw = w.lower()
        if lw in _STOP or (len(lw) < 3 and not any(ch.isdigit() for ch in lw)):
            continue
        if lw not in out:
            out.append(lw)
    return out


def required_terms(question: str) -> list[str]:
    """The key terms a rewrite must keep: names and nouns (capitalised after the first word)
    and tokens with digits; verbs and adjectives may be reworded.

    >>> required_terms("Und wie viel davon in Europa 2025?")
    ['europa', '2025']
    """
    keep = {w.lower() for i, w in enumerate(_words(question))
            if (i > 0 and w[:1].isupper()) or any(ch.isdigit() for ch in w)}
    return [t for t in key_terms(question) if t in keep]


def _term_in(term: str, text_low: str) -> bool:
    """Loose match: the term, or its first five letters (Europa ~ Europas, invest ~ investiert)."""
    return term in text_low or (len(term) > 5 and term[:5] in text_low)


def _shorten(text: str, max_chars: int) -> str:
    text = re.sub(r"\s*\[\d+\]", "", " ".join(text.split()))
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars].rsplit(" ", 1)[0]
    return cut + " …"


def build_rewrite_messages(question: str, history: Sequence[Turn],
                           budget_tokens: int = PROMPT_TOKENS) -> list[Message]:
    """The tiny rewrite prompt: the last one or two turns (answers shortened) and the
    follow-up; shortened further until it fits ``budget_tokens`` (estimated)."""
    lang = detect_language(question)
    if lang == "de":
        system = ("Formuliere die Folgefrage als eigenständige Frage auf Deutsch, mit dem "
                  "Thema aus dem Gespräch. Nur die Frage, keine Antwort. Beispiel: "
                  "„Wie viel investiert Tencent?“ + „Und in Asien?“ → "
                  "„Wie viel investiert Tencent in Asien?“")
        labels = ("Frage", "Antwort", "Folgefrage", "Eigenständige Frage")
    else:
        system = ("Rewrite the follow-up as one standalone question in English, with the "
                  "topic from the conversation. Only the question, no answer. Example: "
                  "\"How much does Tencent invest?\" + \"And in Asia?\" -> "
                  "\"How much does Tencent invest in Asia?\"")
        labels = ("Question", "Answer", "Follow-up", "Standalone question")
    q_label, a_label, f_label, out_label = labels
    turns = list(history[-2:])
    for answer_chars, n_turns in ((160, 2), (100, 2), (100, 1), (50, 1), (0, 1)):
        lines = []
        for q, a in turns[-n_turns:]:
            lines.append(f"{q_label}: {_shorten(q, 200)}")
            if answer_chars:
                lines.append(f"{a_label}: {_shorten(a, answer_chars)}")
        user = "\n".join(lines) + f"\n{f_label}: {_shorten(question, 200)}\n{out_label}:"
        if approx_tokens(system) + approx_tokens(user) <= budget_tokens:
            break
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


_INTERROGATIVE_WORDS = """
    wie was wer wen wem wessen wann wo woher wohin warum wieso weshalb welche welcher welches
    welchen welchem wieviel inwiefern womit wofür worauf worüber gibt ist sind hat haben kann
    können wird werden war waren soll sollen muss müssen
    how what who whom whose when where why which does do did is are was were can could has
    have will would should
"""
_INTERROGATIVE = set(_INTERROGATIVE_WORDS.split())


def _is_question(line: str) -> bool:
    words = _words(line)
    return line.rstrip().endswith(("?", "？")) or bool(words and words[0].lower() in
                                                       _INTERROGATIVE)


def fallback_question(question: str, history: Sequence[Turn]) -> str:
    """The previous question followed by the follow-up."""
    if not history:
        return question.strip()
    return f"{history[-1][0].strip()} {question.strip()}".strip()


def sanitize_rewrite(output: str, question: str, history: Sequence[Turn]) -> str:
    """One clean standalone question from the model's reply, or ``fallback_question``.

    The reply is cut to its first non-empty line, stripped of list marks, prefixes like
    "Frage:" and quotes; it is refused when empty, too long, equal to the follow-up itself, or
    missing one of the follow-up's names and nouns (``required_terms``), or sharing no term
    with the previous question (then it did not resolve anything)."""
    fallback = fallback_question(question, history)
    line = next((ln for ln in (output or "").splitlines() if ln.strip()), "")
    line = re.sub(r"\s*\[\d+\]", "", line)
    for _ in range(3):
        before = line
        line = _PREFIX.sub("", line).strip().strip(_QUOTES).strip()
        line = line.strip("*_ ").strip()
        if line == before:
            break
    line = " ".join(line.split())
    if not line or len(line) > MAX_REWRITE_CHARS:
        return fallback
    prev_len = len(history[-1][0]) if history else 0
    if len(line) > 2 * (prev_len + len(question)) + 40:
        return fallback
    if line.lower().rstrip("?!. ") == question.strip().lower().rstrip("?!. "):
        # the model kept the question: fine for a substantial one, a failure for "Und dort?"
        return question.strip() if len(key_terms(question)) >= 3 else fallback
    low = line.lower()
    if not all(_term_in(t, low) for t in required_terms(question)):
        return fallback
    if history:  # the point of the rewrite: it must carry something of the previous question
        context = required_terms(history[-1][0]) or key_terms(history[-1][0])
        if context and not any(_term_in(t, low) for t in context):
            return fallback
    if not _is_question(line):  # the model answered instead of rewriting
        return fallback
    if question.strip().endswith("?") and not line.endswith(("?", "？")):
        line = line.rstrip(".!:;,") + "?"
    return line


def rewrite_followup(generator: Generator, question: str, history: Sequence[Turn]) -> str:
    """A standalone version of ``question`` given earlier (question, answer) turns.

    Questions that do not look like follow-ups are returned unchanged without calling the
    model; a failing model falls back to joining the previous question and this one."""
    if not history or not looks_like_followup(question):
        return question
    messages = build_rewrite_messages(question, history)
    try:
        output = generate(generator, messages, max_tokens=MAX_REWRITE_TOKENS, temperature=0.0)
    except QAError as e:
        log.warning("follow-up rewrite failed (%s); joining it to the previous question", e)
        output = ""
    rewritten = sanitize_rewrite(output, question, history)
    log.info("follow-up %r -> %r", question, rewritten)
    return rewritten
