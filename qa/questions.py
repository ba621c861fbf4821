"""Multi-part questions: pure functions that find the parts of a question asked in one sentence.

"Wie viel investiert Alibaba und auf welchen Betrag steigt das Budget?" has two parts; a small
model tends to answer the first and drop the second. The parts are found by question words that
open a new clause after "und"/"and", a comma or a second question mark ("Wann und wo ...?" gives
two parts that share the rest of the sentence). Each part later gets its own best evidence
sentence, and the prompt lists the parts to be answered. No language lists beyond the German
and English question words: another language simply yields one part.
"""

from __future__ import annotations

import re

_WH = (r"(?:wie\s+viele?|wie\s+hoch|wie\s+lange|wie\s+groß|wieviele?|wie|was|wer|wem|wen|wessen|"
       r"wann|wo|wohin|woher|warum|weshalb|wozu|welche[rmns]?|"
       r"how\s+(?:many|much|long|high|large|big)|how|what|who|whom|whose|when|where|why|which)")
_PREP = (r"(?:auf|in|an|bei|seit|bis|um|für|mit|von|vom|zu|über|aus|gegen|nach|"
         r"on|in|at|by|since|until|for|with|from|to|against|after|of)")
# after a bare comma, English "which/who/whose/whom/where/when" usually open a relative clause
# ("Alibaba, which owns Taobao, ..."), not a second question
_RELATIVE = r"(?!(?:which|who|whose|whom|where|when)\b)"
# a yes/no question opens with its verb: "..., und gibt es Zinsen?", "..., and is there a fee?"
_AUX = (r"(?:gibt|gab|ist|sind|war|waren|hat|haben|hatte|hatten|wird|werden|wurde|wurden|kann|"
        r"können|soll|sollen|muss|müssen|is|are|was|were|does|do|did|has|have|had|will|can|"
        r"could|should|would)")
_SPLIT = re.compile(rf"(?:,?\s+(?:und|and|sowie|as\s+well\s+as)\s+|,\s+{_RELATIVE}|;\s+|\?\s+)"
                    rf"(?=(?:{_PREP}\s+)?{_WH}\b)|(?:,\s+(?:und|and|oder|or)\s+|\?\s+)"
                    rf"(?={_AUX}\s+\w)", re.I)
# a yes/no question before the first question word opens with its verb: an auxiliary, or a
# German finite verb ("Entwickelt Alibaba eigene Chips"), not a list of names ("Tencent und Baidu")
_YES_NO = re.compile(rf"^(?:{_AUX}|\w+(?:t|en|st|te)(?!\s+(?:und|and|oder|or)\b))\s+\S+\s+\S+",
                     re.I)
_HAS_WH = re.compile(rf"\b{_WH}\b", re.I)
_PAIR = re.compile(rf"^\s*({_WH})\s+(?:und|and)\s+({_WH})\b\s*(.*)$", re.I | re.S)


def question_parts(question: str) -> list[str]:
    """The parts of a question, or ``[question]`` when it asks one thing.

    >>> question_parts("Wie viel Geld sammelte Alibaba ein und wann werden die Anleihen fällig?")
    ['Wie viel Geld sammelte Alibaba ein?', 'wann werden die Anleihen fällig?']
    >>> question_parts("When and where was the Apsara conference held?")
    ['When was the Apsara conference held?', 'where was the Apsara conference held?']
    >>> question_parts("Who chairs the board and since when?")
    ['Who chairs the board?', 'since when?']
    >>> question_parts("How fast did Alibaba, which owns Taobao, grow?")
    ['How fast did Alibaba, which owns Taobao, grow?']
    >>> question_parts("By 2030, how large should it be?")
    ['By 2030, how large should it be?']
    >>> question_parts("Wann bekommen die Käufer ihr Geld zurück, und gibt es Zinsen?")
    ['Wann bekommen die Käufer ihr Geld zurück?', 'gibt es Zinsen?']
    >>> question_parts("Entwickelt Alibaba eigene Chips, und wer setzt sie ein?")
    ['Entwickelt Alibaba eigene Chips?', 'wer setzt sie ein?']
    >>> question_parts("Laut Forrester, wer gewinnt?"), question_parts("Tencent und Baidu, wer gewinnt?")
    (['Laut Forrester, wer gewinnt?'], ['Tencent und Baidu, wer gewinnt?'])
    >>> question_parts("Welche Länder und Städte nennt der Artikel?")
    ['Welche Länder und Städte nennt der Artikel?']
    """
    q = " ".join(question.split())
    m = _PAIR.match(q)
    if m and m.group(3).strip():
        rest = m.group(3).strip()
        return [f"{m.group(1)} {rest}", f"{m.group(2)} {rest}"]
    pieces: list[str] = []
    for p in (p.strip(" ,;") for p in _SPLIT.split(q)):
        if pieces and not _HAS_WH.search(pieces[-1]) and not _YES_NO.match(pieces[-1]):
            # "By 2030, how ..." is one part; "Entwickelt Alibaba Chips, und wer ...?" two
            pieces[-1] = f"{pieces[-1]}, {p}"
        elif p:
            pieces.append(p)
    if len(pieces) < 2:
        return [q]
    return [p if p.endswith("?") else p + "?" for p in pieces]


_QUANTITY = re.compile(
    r"\b(?:wie\s+(?:viele?|hoch|groß|lange?|stark|schnell|teuer|weit)|wieviele?|um\s+wie\s+viel|"
    r"welche[nrms]?\s+(?:betrag|anteil|preis|kurs|wert|umsatz|summe|zahl|höhe|volumen|kursziel)|"
    r"how\s+(?:much|many|large|big|high|long|fast|far)|by\s+how\s+much|"
    r"what\s+(?:percentage|share|price|amount|size|sum|number|value|growth|rate))\b", re.I)


def asks_for_quantity(question: str) -> bool:
    """Does the question ask for an amount, a count or a rate? Its answer then holds a number,
    and so should the evidence shown for it.

    >>> asks_for_quantity("Wie viel investiert Alibaba?"), asks_for_quantity("How fast is it growing?")
    (True, True)
    >>> asks_for_quantity("Wer ist CEO?"), asks_for_quantity("Which countries get data centres?")
    (False, False)
    """
    return bool(_QUANTITY.search(question))


# What a question asks the amount of money of; a question about its change ("wie stark wuchs der
# Umsatz", "by how much did revenue rise") or about a share or multiple is answered by a rate.
# a money word as the head of what is asked: not a modifier inside a compound ("Kurs-Gewinn-
# Vielfaches", a ratio) and not negated ("non-profit", an organisation's kind)
_MONEY = re.compile(
    r"(?<!non-)(?<!not-)\b(?:umsatz\w*|erlös\w*|(?:netto|brutto|betriebs)?gewinn(?!er)\w*|börsenwert\w*|marktwert\w*|"
    r"marktkapitalisierung|kaufpreis\w*|preis\w*|kosten|kostet\w*|betrag\w*|summe|"
    r"wie\s+viel\s+geld|wie\s+teuer|revenues?|sales|profits?|earnings|net\s+income|"
    r"market\s+(?:value|cap\w*)|valuation|financial\s+value|worth|prices?|costs?|"
    r"how\s+much\s+money|how\s+expensive)\b(?!-\w)", re.I)
_CHANGE = re.compile(
    r"\b(?:wuchs|wächst|wachs\w*|stieg\w*|steig\w*|zuleg\w*|legte|sank|sink\w*|fiel|fällt|"
    r"veränder\w*|anstieg\w*|rückgang\w*|plus|minus|prozent\w*|anteil\w*|vielfach\w*|"
    r"verhältnis\w*|marge\w*|aufschlag\w*|abschlag\w*|rabatt\w*|um\s+wie\s+viel|"
    r"entwickel\w*|entwicklung|grow\w*|grew|rise|rose|risen|increase\w*|decline\w*|"
    r"decrease\w*|develop\w*|fell|fall\w*|drop\w*|change\w*|by\s+how\s+much|percent\w*|"
    r"shares?\s+of|margins?|multiples?|ratio|premiums?|discounts?)\b", re.I)


def asks_for_money(question: str) -> bool:
    """Does the question ask for an amount of money (a revenue, a profit, a price, a value)? Its
    answer then names an amount with a currency or a unit like "Milliarden"; a percentage
    answers how such an amount changed, which is another question.

    >>> asks_for_money("Wie hoch war der Nettogewinn?"), asks_for_money("What is Alibaba's market value?")
    (True, True)
    >>> asks_for_money("Wie stark wuchs der Umsatz?"), asks_for_money("Welche Konzerne sind Gewinner?")
    (False, False)
    >>> asks_for_money("What premium over the share price did buyers pay?")
    False
    >>> asks_for_money("Under which tax provision is it a non-profit organisation?")
    False
    >>> asks_for_money("Mit welchem Kurs-Gewinn-Vielfachen?"), asks_for_money("Wie hoch war der Cloud-Umsatz?")
    (False, True)
    """
    return bool(_MONEY.search(question)) and not _CHANGE.search(question)
