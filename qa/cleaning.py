"""Page furniture, titles and dates: pure functions over the text of one article.

Scraped news pages carry text that is not the article: "read also" link lines, subscription and
analysis teasers, disclaimers, securities-id widgets, source-URL lists, reader polls, image
captions, and headline lists of other stories with their dates. Retrieved as evidence, such lines
crowd out the article or are answered from, so they are dropped here, by *classes* of pattern
that recur across sites and languages (German and English cues), never by phrases of one article.

The price: a pattern can hit a real sentence. Three guards keep that rare: a line is dropped only
when it matches a class as a whole line (or sits in the tail block after a furniture line and is
short); long prose paragraphs in the tail are kept; and every dropped line is returned with its
class, so a corpus test lists each one (``tests/test_cleaning.py``) and gold evidence still
resolves after cleaning (``eval/build_gold.py``).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

_DATE_NUM = r"(?:\d{1,2}[./]\d{1,2}[./](?:19|20)\d{2}|(?:19|20)\d{2}-\d{2}-\d{2})"
_MONTHS = ("januar|jan|februar|feb|märz|maerz|mär|april|apr|mai|juni|jun|juli|jul|august|aug|"
           "september|sept|sep|oktober|okt|november|nov|dezember|dez|january|february|march|"
           "may|june|july|october|oct|december|dec")
_DATE_WORDS = rf"(?:\d{{1,2}}\.?\s+(?:{_MONTHS})\.?\s+(?:19|20)\d{{2}}|(?:{_MONTHS})\.?\s+\d{{1,2}},\s+(?:19|20)\d{{2}})"
_LEADING_DATE = re.compile(rf"^\s*({_DATE_NUM})(?:\s*[|,·–-]?\s*\d{{1,2}}:\d{{2}}(?:\s*Uhr)?)?\s*")
_PUBLISHED = re.compile(
    rf"(?:veröffentlicht(?:\s+am)?|publiziert(?:\s+am)?|erschienen(?:\s+am)?|stand|datum|"
    rf"published(?:\s+on)?|updated(?:\s+on)?|date)\s*:?\s*({_DATE_NUM}|{_DATE_WORDS})", re.I)

# whole-line classes (matched against a stripped line)
_READ_ALSO = re.compile(
    r"^(?:lesen sie (?:dazu )?(?:auch|mehr|hier)|mehr zum thema|auch interessant|siehe auch|"
    r"passend dazu|weitere artikel|verwandte artikel|empfohlene artikel|das könnte sie auch "
    r"interessieren|read (?:also|more)|see also|related(?: articles| stories| posts)?|"
    r"recommended(?: for you)?|more on this(?: topic)?|you may also like)\b.{0,5}:", re.I)
_PROMO = re.compile(
    r"(?:hier weiterlesen|jetzt weiterlesen|weiterlesen\s*(?:\.\.\.|…)|gratis-analyse|"
    r"kostenlose analyse|kaufen oder verkaufen\s*\?|jetzt (?:kostenlos )?(?:abonnieren|anmelden|"
    r"registrieren|testen|herunterladen)|newsletter (?:abonnieren|bestellen)|zum newsletter|"
    r"\banzeige\s*$|^anzeige\b|^werbung\b|sponsored\b|subscribe (?:now|to)|sign up (?:now|for)|"
    r"click here|read more\s*(?:\.\.\.|…)|continue reading)", re.I)
_DISCLAIMER = re.compile(
    r"^(?:hinweis auf interessenkonflikte|interessenkonflikt|haftungsausschluss|risikohinweis|"
    r"disclaimer|offenlegung|disclosure|transparenzhinweis|rechtlicher hinweis)\b.{0,40}:?\s*$",
    re.I)
_SOURCES = re.compile(r"^(?:quellen(?:angabe|angaben)?|quelle|sources?|references|einzelnachweise)"
                      r"\s*:?\s*$", re.I)
_URL_LINE = re.compile(r"^[-*•]?\s*(?:https?://|www\.)\S+$", re.I)
_SECURITY_ID = re.compile(r"^[^.!?]{1,80}\((?:wkn|isin|ticker|symbol)\s*:?\s*[A-Z0-9 .:,/-]{3,40}\)"
                          r"\s*$", re.I)
_CAPTION = re.compile(r"^[^.!?|]{2,80}\s\|\s[^!?|]{2,60}(?<![.:;])$")  # "Caption | Credit"
_READER_POLL = re.compile(r"\b(?:du|dich|dir|dein\w*|ihr|euch|you|your)\b", re.I)
_SENTENCE_END = re.compile(r"[.:;]\s*$")


@dataclass(frozen=True)
class Dropped:
    """A line taken out of an article, and the class of furniture it was taken for."""

    line: str
    why: str


_LEADER = re.compile(r"(?:\s?\.){5,}")  # a table of contents' dot leader ". . . . ."
_LINE_END = re.compile(r"[.!?:;…]['\"”’)\]]?$")
_HYPHENATED = re.compile(r"[^\W\d_]{2}-$")  # "Arbeit-", not "- " nor "2015-"


def unwrap_lines(page: str, full: float = 0.6) -> str:
    r"""A page of a PDF or a scan as paragraphs. A line that ends inside a word with a hyphen
    goes on in the next one (the typesetter's hyphen is removed before a lower-case letter,
    kept in "CSV-Datei"); a line that runs (nearly) to the right margin and ends without a
    sentence's punctuation is the same sentence going on; a short line (a heading, a list
    item, a sentence's end) keeps its break. The margin is the page's own, the 90th
    percentile of its line lengths, so this holds for any layout and language (a German
    noun starts a continued line with a capital, so the next line's case says nothing).
    Dot leaders of a table of contents shrink to one "…".

    >>> page = ("1 Zweck\nDas Paket soll das Setzen von Uhrzeiten und Zeitberei-\n"
    ...         "chen in den Formen erleichtern. Es stellt auch Makros zur\n"
    ...         "Ausgabe bereit, als CSV-\nDatei.\n2 Einbindung . . . . . . . 2\nKurz.")
    >>> print(unwrap_lines(page))
    1 Zweck
    Das Paket soll das Setzen von Uhrzeiten und Zeitbereichen in den Formen erleichtern. Es stellt auch Makros zur Ausgabe bereit, als CSV-Datei.
    2 Einbindung … 2
    Kurz.
    """
    lines = [_LEADER.sub(" …", ln.rstrip()) for ln in page.split("\n")]
    widths = sorted(len(ln) for ln in lines if len(ln.strip()) >= 20)
    margin = widths[int(0.9 * (len(widths) - 1))] if len(widths) >= 3 else None
    out = [lines[0]]
    for prev, ln in zip(lines, lines[1:], strict=False):
        nxt = ln.lstrip()
        if nxt and _HYPHENATED.search(prev):
            out[-1] = (out[-1][:-1] if nxt[0].islower() else out[-1]) + nxt
        elif (nxt and prev.strip() and margin is not None and len(prev) >= full * margin
              and not _LINE_END.search(prev) and not prev.endswith(" …")):
            out[-1] += " " + nxt
        else:
            out.append(ln)
    return "\n".join(out)


def headline_like(line: str, max_words: int = 16) -> bool:
    """A short line without sentence punctuation at its end: a heading, a title, a teaser.

    >>> headline_like("Alibaba im KI-Revolutionszyklus"), headline_like("Alibaba wächst stark.")
    (True, False)
    """
    s = line.strip()
    return (bool(s) and len(s.split()) <= max_words and len(s) <= 160
            and not _SENTENCE_END.search(s) and not s.endswith(("...", "…")))


def _line_class(s: str) -> str | None:
    if _READ_ALSO.match(s):
        return "read-also link"
    if _PROMO.search(s) and len(s.split()) <= 60:
        return "subscription or analysis teaser"
    if _DISCLAIMER.match(s):
        return "disclaimer"
    if _SOURCES.match(s) or _URL_LINE.match(s):
        return "source list"
    if _SECURITY_ID.match(s):
        return "securities widget"
    if _CAPTION.match(s):
        return "caption or credit"
    return None


def drop_furniture(text: str) -> tuple[str, list[Dropped]]:
    """Remove furniture lines; return the kept text (line structure otherwise intact) and what
    was dropped. Blank lines are kept, so paragraphs stay paragraphs.

    >>> kept, dropped = drop_furniture("Alibaba baut.\\nEs wächst.\\nDie Aktie steigt.\\n\\n"
    ...                                "Lesen Sie dazu auch: Mehr KI\\nUnd: Noch mehr")
    >>> kept.strip(), [d.why for d in dropped]
    ('Alibaba baut.\\nEs wächst.\\nDie Aktie steigt.', ['read-also link', 'tail block'])
    """
    lines = text.split("\n")
    drop: dict[int, str] = {}
    strip_prefix: dict[int, int] = {}
    n = len(lines)
    nonblank = [i for i, ln in enumerate(lines) if ln.strip()]

    # 1. headline lists of other stories at the top: "Headline\nDATEHeadline\nDATEArticle..."
    #    A date opening a line belongs to the headline-like line before it (a teaser of another
    #    story); the text after a date is a teaser too when the next line opens with a date.
    for pos, i in enumerate(nonblank[:12]):
        m = _LEADING_DATE.match(lines[i])
        if not m or m.end() >= len(lines[i].rstrip()):
            continue
        strip_prefix[i] = m.end()
        if pos > 0 and headline_like(lines[nonblank[pos - 1]][strip_prefix.get(nonblank[pos - 1], 0):]):
            drop.setdefault(nonblank[pos - 1], "headline of another story")
        nxt = nonblank[pos + 1] if pos + 1 < len(nonblank) else None
        if (nxt is not None and _LEADING_DATE.match(lines[nxt])
                and headline_like(lines[i][m.end():])):
            drop[i] = "headline of another story"

    # 2. whole-line classes anywhere; a disclaimer heading takes its paragraph with it
    i = 0
    while i < n:
        s = lines[i].strip()
        why = _line_class(s) if s else None
        if why:
            drop.setdefault(i, why)
            if why == "disclaimer":
                j = i + 1
                while j < n and lines[j].strip():
                    drop.setdefault(j, "disclaimer")
                    j += 1
                i = j
                continue
        i += 1

    # 3. the tail block: after the first end-of-article line (a read-also link, a disclaimer, a
    #    source list) in the last 40 % of the text, short lines (widgets, cross-promotion, "Und:
    #    ..." links) go too; long prose stays. Teasers do not open it: ads also sit mid-article.
    ends = ("read-also link", "disclaimer", "source list")
    tail_from = next((i for i in nonblank if drop.get(i) in ends and i >= 0.6 * n), None)
    if tail_from is not None:
        for i in nonblank:
            if i > tail_from and i not in drop and len(lines[i].split()) < 40:
                drop[i] = "tail block"

    # 4. a closing question to the reader ("Besitzt du ...?", "What do you think?")
    if nonblank:
        last = max(i for i in nonblank if i not in drop) if any(i not in drop for i in nonblank) else None
        if last is not None:
            s = lines[last].strip()
            if s.endswith("?") and _READER_POLL.search(s) and len(s.split()) <= 40:
                drop[last] = "question to the reader"

    kept: list[str] = []
    dropped: list[Dropped] = []
    for i, ln in enumerate(lines):
        if i in drop:
            dropped.append(Dropped(ln.strip(), drop[i]))
            continue
        if i in strip_prefix:
            dropped.append(Dropped(ln[:strip_prefix[i]].strip(), "date of a teaser"))
            ln = ln[strip_prefix[i]:]
        kept.append(ln)
    return "\n".join(kept), dropped


def find_title(text: str) -> str:
    """A title from the article text: its first line when that reads like a headline, else its
    first sentence (shortened to about 14 words).

    >>> find_title("Alibaba Aktie: KI-Offensive eskaliert!\\n\\nDer Konzern ...")
    'Alibaba Aktie: KI-Offensive eskaliert!'
    >>> find_title("Alibaba setzt auf KI. Der Konzern investiert.")
    'Alibaba setzt auf KI.'
    """
    first = next((ln.strip(" -•·#*\t") for ln in text.split("\n") if len(ln.strip(" -•·#*\t")) >= 3), "")
    if headline_like(first, max_words=18):
        return first[:200]
    m = re.match(r"(.+?[.!?])(?:\s|$)", first)
    sentence = m.group(1) if m else first
    words = sentence.split()
    return " ".join(words[:14]) + (" …" if len(words) > 14 else "")


def find_date(text: str, meta_date: str = "") -> str:
    """The publication date as ISO ``YYYY-MM-DD`` when the page metadata or the article's
    opening lines state one ("Veröffentlicht am 12.03.2025", "Published: 2025-09-18", a date
    opening one of the first lines); "" when they do not. Dates inside the story are not taken:
    they are events, not the publication date.

    >>> find_date("Veröffentlicht am 24.09.2025\\nAlibaba baut.")
    '2025-09-24'
    >>> find_date("Alibaba baut.", meta_date="2025-09-18T08:00:00Z")
    '2025-09-18'
    >>> find_date("Am 24.09.2025 sprach Wu.")
    ''
    """
    if meta_date:
        iso = _to_iso(meta_date)
        if iso:
            return iso
    head = [ln for ln in text.split("\n") if ln.strip()][:8]
    for ln in head:
        m = _PUBLISHED.search(ln)
        if m and (iso := _to_iso(m.group(1))):
            return iso
    for ln in head:
        m = _LEADING_DATE.match(ln)
        if m and (iso := _to_iso(m.group(1))):
            return iso
    return ""


_MONTH_NUM = {name: i for i, names in enumerate(
    [("jan", "januar", "january"), ("feb", "februar", "february"), ("mär", "märz", "maerz", "march"),
     ("apr", "april"), ("mai", "may"), ("jun", "juni", "june"), ("jul", "juli", "july"),
     ("aug", "august"), ("sep", "sept", "september"), ("okt", "oktober", "oct", "october"),
     ("nov", "november"), ("dez", "dezember", "dec", "december")], start=1) for name in names}


def _to_iso(s: str) -> str:
    """'18/09/2025', '18.09.2025', '2025-09-18T..', '18. September 2025', 'Sept 18, 2025' ->
    '2025-09-18'; '' when it is not a valid date.

    >>> _to_iso("18/09/2025"), _to_iso("3. Okt. 2025"), _to_iso("2025-13-01")
    ('2025-09-18', '2025-10-03', '')
    """
    s = s.strip()
    y = mo = d = 0
    if m := re.match(r"((?:19|20)\d{2})-(\d{2})-(\d{2})", s):
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := re.match(r"(\d{1,2})[./](\d{1,2})[./]((?:19|20)\d{2})", s):
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := re.match(r"(\d{1,2})\.?\s+([a-zä]+)\.?\s+((?:19|20)\d{2})", s, re.I):
        d, mo, y = int(m.group(1)), _MONTH_NUM.get(m.group(2).lower(), 0), int(m.group(3))
    elif m := re.match(r"([a-zä]+)\.?\s+(\d{1,2}),\s+((?:19|20)\d{2})", s, re.I):
        mo, d, y = _MONTH_NUM.get(m.group(1).lower(), 0), int(m.group(2)), int(m.group(3))
    try:
        return datetime.date(y, mo, d).isoformat()
    except ValueError:
        return ""
