"""Evaluation metrics for retrieval, answers and latency: pure functions over plain data.

Design: inputs are plain lists and dicts (what an eval run writes as JSON) and outputs hold only
``float``/``int``/``bool``/``str``/``None``, so reports serialise with ``json`` as they are. Each
metric family returns a :class:`MetricReport`: aggregate ``scores`` plus one ``per_question`` row
per question, keyed by ``id``, so two runs compare row by row (:func:`compare`) and rows group by
gold fields (:func:`breakdown`). A metric that does not apply to a question (no gold span, an
unanswerable question) is ``None`` in its row and left out of the aggregate; an empty denominator
gives 0.0, never NaN. A span is ``(file, start, end)``, character offsets into the cleaned article
text (``qa.corpus``), end exclusive. Answers are scored against required facts, each a list of
accepted variants, matched case-insensitively, number-normalised (German and English notation,
:func:`normalize_numbers`) and on word boundaries: "13" does not match in "2013" or "13,1 %".
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Span = tuple[str, int, int]


@dataclass(frozen=True)
class MetricReport:
    scores: dict[str, float]
    per_question: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"scores": dict(self.scores), "per_question": [dict(r) for r in self.per_question]}


def overlaps(a: Span, b: Span) -> bool:
    """Same file and the half-open ranges share at least one character.

    >>> overlaps(("a", 0, 10), ("a", 9, 20)), overlaps(("a", 0, 10), ("a", 10, 20))
    (True, False)
    >>> overlaps(("a.txt", 0, 10), ("b.txt", 0, 10))
    False
    """
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def gold_spans(item: Mapping[str, Any]) -> list[Span]:
    """The evidence spans of a gold item.

    >>> gold_spans({"evidence": [{"file": "a.txt", "start": 3, "end": 9, "quote": "x"}]})
    [('a.txt', 3, 9)]
    """
    return [(e["file"], int(e["start"]), int(e["end"])) for e in item.get("evidence") or []]


def _mean(values: Sequence[float | None]) -> float:
    xs = [float(x) for x in values if x is not None]
    return sum(xs) / len(xs) if xs else 0.0


def _ndcg(ranked: Sequence[Span], gold: Sequence[Span], k: int = 10) -> float:
    """Binary relevance without double counting: an item's gain is the number of gold spans it
    overlaps that no earlier item covered (a second chunk on the same evidence earns nothing);
    ideal = one new gold span at each of the first min(#gold, k) ranks; clipped at 1.0 (one chunk
    may cover two gold spans).

    >>> round(_ndcg([("a", 50, 60), ("a", 0, 10)], [("a", 0, 10)]), 4)
    0.6309
    """
    covered: set[int] = set()
    dcg = 0.0
    for i, r in enumerate(ranked[:k]):
        new = {j for j, g in enumerate(gold) if j not in covered and overlaps(r, g)}
        covered |= new
        dcg += len(new) / math.log2(i + 2)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(gold), k)))
    return min(1.0, dcg / ideal) if ideal else 0.0


def retrieval_metrics(retrieved: Sequence[Sequence[Span]], gold: Sequence[Sequence[Span]],
                      ks: Sequence[int] = (1, 3, 5, 10),
                      ids: Sequence[str] | None = None) -> MetricReport:
    """Per question: hit@k (any of the top k overlaps any gold span), recall@k (share of gold
    spans overlapped by the top k), rr (1/rank of the first overlapping item, 0.0 if none) and
    ndcg@10 (``_ndcg``); ``None`` without gold spans. Rows are keyed by ``ids`` (else the index).

    >>> r = retrieval_metrics([[("a", 0, 5), ("a", 9, 30)]], [[("a", 25, 26), ("b", 0, 9)]], (1, 2))
    >>> r.scores["hit@1"], r.scores["hit@2"], r.scores["recall@2"], r.scores["mrr"]
    (0.0, 1.0, 0.5, 0.5)
    """
    if len(retrieved) != len(gold):
        raise ValueError(f"{len(retrieved)} retrieved lists for {len(gold)} gold lists")
    names = [f"hit@{k}" for k in ks] + [f"recall@{k}" for k in ks] + ["rr", "ndcg@10"]
    rows: list[dict[str, Any]] = []
    for i, (ret, gs) in enumerate(zip(retrieved, gold, strict=True)):
        row: dict[str, Any] = {"id": ids[i] if ids is not None else str(i)} | dict.fromkeys(names)
        rows.append(row)
        if not gs:
            continue
        rel = [any(overlaps(r, g) for g in gs) for r in ret]
        for k in ks:
            row[f"hit@{k}"] = float(any(rel[:k]))
            row[f"recall@{k}"] = sum(any(overlaps(r, g) for r in ret[:k]) for g in gs) / len(gs)
        first = next((j for j, x in enumerate(rel) if x), None)
        row["rr"] = 0.0 if first is None else 1.0 / (first + 1)
        row["ndcg@10"] = _ndcg(ret, gs)
    scores = {("mrr" if n == "rr" else n): _mean([r[n] for r in rows]) for n in names}
    scores["n"] = float(sum(1 for r in rows if r["rr"] is not None))
    return MetricReport(scores, rows)


_NUM_WORDS = {w: str(i) for i, ws in enumerate([
    (), (), ("zwei", "two"), ("drei", "three"), ("vier", "four"), ("fünf", "five"),
    ("sechs", "six"), ("sieben", "seven"), ("acht", "eight"), ("neun", "nine"), ("zehn", "ten"),
    ("elf", "eleven"), ("zwölf", "twelve")]) for w in ws}
_NUM_WORD_RE = re.compile(r"\b(" + "|".join(_NUM_WORDS) + r")\b")
_NUM_TOKEN = re.compile(r"(?<![\d.,])\d+(?:[.,]\d+)*")
_SCALES = [("millionen", r"millionen|millions|million", r"mio\.?|mn"),
           ("milliarden", r"milliarden|milliarde|billions|billion", r"mrd\.?|bn|bln"),
           ("billionen", r"billionen|trillions|trillion", r"bio\.?|tn")]
_NUM_SCALE = r"(\d+(?:\.\d+)?(?: (?:millionen|milliarden|billionen))?)"
_CURRENCY = [(r"(?:us)?\$ ?" + _NUM_SCALE, r"\1 dollar"), (r"€ ?" + _NUM_SCALE, r"\1 euro"),
             (r"(?<![a-z])(?:rmb|cny|¥) ?" + _NUM_SCALE, r"\1 yuan"),
             (r"\b(?:us-dollars?|us dollars?|usd|dollars)\b", "dollar"),
             (r"\b(?:euros|eur)\b", "euro"), (r"\b(?:renminbi|rmb|cny)\b", "yuan")]


def _canon_number(tok: str) -> str:
    """A number token with "." as decimal mark and no grouping; unchanged when not well formed."""
    seps, groups = re.findall(r"[.,]", tok), re.split(r"[.,]", tok)
    if not seps:
        return tok
    if len(set(seps)) == 2:  # "1.234,5" / "1,234.5": the last mark is the decimal mark
        if seps.count(seps[-1]) != 1 or any(len(g) != 3 for g in groups[1:-1]) \
                or len(groups[0]) > 3:
            return tok
        intpart, frac = "".join(groups[:-1]), groups[-1]
    elif len(seps) > 1:  # "1.000.000": grouping only
        if len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:]):
            return tok  # a date or a version number
        return "".join(groups)
    elif len(groups[1]) == 3 and groups[0] != "0" and len(groups[0]) <= 3:
        return groups[0] + groups[1]  # "128.000" / "128,000": thousands (ambiguity rule)
    else:
        intpart, frac = groups
    frac = frac.rstrip("0")
    return intpart + ("." + frac if frac else "")


def normalize_numbers(text: str) -> str:
    """Lower-case ``text`` and write numbers, percentages, scale words and currencies one way:

    1. German "Billion(en)" (capital B, 10^12) -> "billionen"; lower-case English "billion" (10^9)
       -> "milliarden". Ambiguity: a title-cased English "Billion" is read as German.
    2. Number words 2..12 (German, English) -> digits; "ein/eine/one" stay (they are articles).
    3. A mark followed by exactly three digits groups thousands ("128.000", "128,000" -> 128000)
       unless the integer part is 0; otherwise a single "," or "." is the decimal mark ("35,8" ->
       35.8). With both marks the last is decimal ("1.234,5", "1,234.5"). Ambiguity: an English
       "1.250" (three decimals) or a German "3,254" is read as thousands; news text rarely has
       three decimals. Ill-formed tokens (dates 29.09.2025) stay; trailing decimal zeros go.
    4. Million(en)/Mio./mn -> "millionen", Milliarde(n)/Mrd./billion/bn -> "milliarden",
       Billionen/Bio./trillion/tn -> "billionen"; "53-Milliarden" -> "53 milliarden".
       Attached suffixes: "16.3m" -> "16.3 millionen", "128k" -> 128000, "14x" -> "14 x".
    5. "%", "Prozent", "percent", "per cent", "pct", attached "pc" after a number -> "N%".
    6. "$", "US$", "USD", "US-Dollar" -> "dollar" after the amount; "€", "EUR" -> "euro";
       "Rmb72,5", "RMB", "CNY", "renminbi" -> "72.5 ... yuan".

    >>> [normalize_numbers(s) for s in ["35,8 %", "35.8 percent", "35.8%", "fast acht Prozent"]]
    ['35.8%', '35.8%', '35.8%', 'fast 8%']
    >>> normalize_numbers("128.000 Wörter, 3,2 Mrd. Dollar, $3.2 billion, Rmb72,5 Milliarden")
    '128000 wörter, 3.2 milliarden dollar, 3.2 milliarden dollar, 72.5 milliarden yuan'
    >>> normalize_numbers("eine Billion Parameter; 1.234,5; 0,125; 29.09.2025")
    'eine billionen parameter; 1234.5; 0.125; 29.09.2025'
    """
    t = re.sub(r"[\u00a0\u202f\u2009]", " ", unicodedata.normalize("NFC", text))
    t = re.sub(r"\bBillion(?:en)?\b", "billionen", t).lower()
    t = _NUM_WORD_RE.sub(lambda m: _NUM_WORDS[m.group(1)], t)
    t = _NUM_TOKEN.sub(lambda m: _canon_number(m.group(0)), t)
    for canon, words, abbr in _SCALES:
        t = re.sub(r"(?<![a-z])(?:" + words + r")(?![a-z])", canon, t)
        t = re.sub(r"(\d)[ -]?(?:" + abbr + r")(?![a-z])", r"\1 " + canon, t)
    t = re.sub(r"(\d)[ -]*(millionen|milliarden|billionen)\b", r"\1 \2", t)
    t = re.sub(r"(?<![\d.])(\d+)k(?![a-z])", lambda m: str(int(m.group(1)) * 1000), t)
    t = re.sub(r"(\d)(m|x)(?![a-z])", lambda m: m.group(1) + (" millionen" if m.group(2) == "m"
                                                          else " x"), t)
    t = re.sub(r"(\d) ?-? ?(?:%|prozent|percent|per cent|pct\.?)(?![a-z])|(\d)pc(?![a-z])",
               lambda m: (m.group(1) or m.group(2)) + "%", t)
    for pat, rep in _CURRENCY:
        t = re.sub(pat, rep, t)
    return re.sub(r"[ \t]+", " ", t)


def _canon(text: str) -> str:
    """Text as facts are matched: number-normalised, word-internal hyphens as spaces."""
    t = re.sub(r"(?<=\w)[-\u2010\u2011](?=\w)", " ", normalize_numbers(text))
    return re.sub(r"\s+", " ", t)


def _found(canon_text: str, canon_fact: str) -> bool:
    """Whole-word search: no letter or digit (nor "digit.") may extend the match on either side."""
    pat = re.escape(canon_fact)
    if canon_fact[:1].isalnum():
        pat = r"(?<!\w)(?<!\d\.)" + pat
    if canon_fact[-1:].isalnum():
        pat += r"(?!\w)(?!\.\d)"
    return re.search(pat, canon_text) is not None


def fact_present(answer_text: str, variants: Sequence[str]) -> bool:
    """Any variant occurs in the answer (case-insensitive, number-normalised, whole words).

    >>> fact_present("Der Anteil liegt bei 35.8 percent.", ["35,8 %"])
    True
    >>> [fact_present(s, ["13"]) for s in ["seit 2013", "13,1 %", "um 13 Prozent"]]
    [False, False, True]
    """
    text = _canon(answer_text)
    return any(_found(text, f) for f in (_canon(v).strip() for v in variants) if f)


_MARKER = re.compile(r"\[\d+(?:\s*[,;]\s*\d+)*\](?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*")
_SENT_END = re.compile(r"[.!?](?=\s)|\n")
_CLAIM_NUM = re.compile(r"(?<![\w.])\d+(?:\.\d+)?%?(?!\w)(?!\.\d)")


def claim_numbers(text: str) -> list[str]:
    """Normalised numbers a piece of answer text claims ([n] markers removed).

    >>> claim_numbers("Cloud wuchs um 26 Prozent auf Rmb31,7 Mrd. [2] im Q4")
    ['26%', '31.7']
    """
    return _CLAIM_NUM.findall(_canon(_MARKER.sub(" ", text)))


def _marker_counts(answer: Mapping[str, Any]) -> tuple[int, int]:
    """(checkable, supported) [n] markers. Adjacent markers ("[1][2]", "[1, 2]") form a group whose
    claim runs from the start of its sentence (or the previous group, if later) to the group; a
    marker after a full stop claims the sentence before it. A marker is checkable when its claim
    has a number or it names no shown passage; supported when each claimed number is in one of
    the group's passages. Names are not checked (German capitalises every noun)."""
    texts = {int(p["n"]): _canon(p.get("text") or "") for p in answer.get("passages") or []}
    text, prev_end, checked, supported = answer.get("answer") or "", 0, 0, 0
    for m in _MARKER.finditer(text):
        start = next((b for b in reversed([x.end() for x in _SENT_END.finditer(text, 0, m.start())])
                      if text[b:m.start()].strip(" \t\n.!?")), 0)
        nums = claim_numbers(text[max(start, prev_end):m.start()])
        ns = [int(n) for n in re.findall(r"\d+", m.group(0))]
        pool = [texts[n] for n in ns if n in texts]
        if nums or not pool:
            checked += len(ns)
            ok = bool(pool) and all(any(_found(p, x) for p in pool) for x in nums)
            supported += len(ns) if ok else 0
        prev_end = m.end()
    return checked, supported


def _cited_spans(answer: Mapping[str, Any]) -> list[Span]:
    """Spans of the cited passages (by n); the citation's own span when its passage is unknown."""
    passages = {int(p["n"]): p for p in answer.get("passages") or []}
    spans = []
    for c in answer.get("citations") or []:
        src = passages.get(int(c["n"])) if c.get("n") is not None else None
        src = c if src is None else src
        if src.get("start") is not None and src.get("end") is not None:
            spans.append((src["source"], int(src["start"]), int(src["end"])))
    return spans


def prompt_evidence(passages: Sequence[Mapping[str, Any]],
                    gold: Mapping[str, Any], cover: float = 0.8) -> dict[str, float]:
    """Did the prompt hold the evidence? ``facts_in_prompt``: every required fact occurs in the
    passage texts; ``evidence_in_prompt``: some gold evidence span is at least ``cover`` covered
    by the passages (one span suffices: gold often lists the same fact in two articles).

    >>> g = {"facts": [["26 %"]], "evidence": [{"file": "a", "start": 0, "end": 10}]}
    >>> prompt_evidence([{"source": "a", "start": 0, "end": 9, "text": "um 26 Prozent"}], g)
    {'facts_in_prompt': 1.0, 'evidence_in_prompt': 1.0}
    """
    text = " ".join(p.get("text") or "" for p in passages)
    facts = gold.get("facts") or []
    spans = gold_spans(gold)
    covered = 0.0
    for f, s0, e0 in spans:
        chars: set[int] = set()
        for p in passages:
            if p.get("source") == f:
                chars.update(range(max(s0, int(p["start"])), min(e0, int(p["end"]))))
        covered = max(covered, len(chars) / max(1, e0 - s0))
    return {"facts_in_prompt": float(all(fact_present(text, v) for v in facts)),
            "evidence_in_prompt": float(covered >= cover) if spans else 0.0}


def answer_metrics(answers: Sequence[Mapping[str, Any]],
                   gold_items: Sequence[Mapping[str, Any]]) -> MetricReport:
    """Score answers ``{"id", "answer", "abstained", "citations": [{"n", "source", "start", "end",
    "quote"}], "passages": [{"n", "source", "start", "end", "text"}]}`` against gold items.

    Rows: ``fact_correct`` (all facts present; an abstention on an answerable question is wrong),
    ``fact_recall`` (share of facts present), ``abstention_correct``; for answerable, non-abstained
    answers ``cited_right_file`` (a cited source is a gold evidence file) and ``citation_overlap``
    (a cited passage overlaps a gold span); marker counts and ``marker_support``; ``wrong_reply``
    (a reply was shown and it is not a right answer: a fact missing, or any reply to an
    unanswerable question). Scores: means where a metric applies; abstention precision/recall with
    "abstained" as the positive class; ``marker_support`` pooled over all markers;
    ``wrong_reply_rate`` (wrong replies shown over all questions) and ``reply_precision`` (right
    replies over replies shown: how far a shown reply can be trusted). Gold items without an answer
    count in n_missing.

    >>> gold = [{"id": "q1", "answerable": True, "facts": [["26 %"], ["13 %"]],
    ...          "evidence": [{"file": "a", "start": 0, "end": 50}]},
    ...         {"id": "q2", "answerable": False, "facts": [], "evidence": []}]
    >>> ans = [{"id": "q1", "answer": "Cloud grew 26% [1].", "abstained": False,
    ...         "citations": [{"n": 1, "source": "a", "start": 10, "end": 20}],
    ...         "passages": [{"n": 1, "source": "a", "start": 9, "end": 20, "text": "26 Prozent"}]},
    ...        {"id": "q2", "answer": "Not in the articles.", "abstained": True}]
    >>> s = answer_metrics(ans, gold).scores
    >>> s["fact_accuracy"], s["fact_recall"], s["abstention_precision"], s["marker_support"]
    (0.0, 0.5, 1.0, 1.0)
    >>> s["wrong_reply_rate"], s["reply_precision"], s["n_shown"]
    (0.5, 0.0, 1.0)
    """
    by_id = {a["id"]: a for a in answers}
    rows: list[dict[str, Any]] = []
    for g in gold_items:
        if (a := by_id.get(g["id"])) is None:
            continue
        answerable, abstained = bool(g.get("answerable", True)), bool(a.get("abstained"))
        row: dict[str, Any] = {"id": g["id"], "answerable": answerable, "abstained": abstained,
                               "fact_correct": None, "fact_recall": None,
                               "abstention_correct": float(abstained == (not answerable)),
                               "cited_right_file": None, "citation_overlap": None}
        if answerable:
            found = [not abstained and fact_present(a.get("answer") or "", f)
                     for f in g.get("facts") or []]
            row["fact_correct"] = float(all(found) and not abstained)
            row["fact_recall"] = sum(found) / len(found) if found else float(not abstained)
        if answerable and not abstained:
            cited = {c.get("source") for c in a.get("citations") or []}
            files = {e["file"] for e in g.get("evidence") or []}
            row["cited_right_file"] = float(bool(files & cited))
            row["citation_overlap"] = float(any(overlaps(c, s) for c in _cited_spans(a)
                                                for s in gold_spans(g)))
        if answerable and a.get("passages") is not None:
            row.update(prompt_evidence(a.get("passages") or [], g))
        row["wrong_reply"] = float(not abstained and row["fact_correct"] != 1.0)
        row["markers"], row["markers_supported"] = _marker_counts(a)
        m, ok = row["markers"], row["markers_supported"]
        row["marker_support"] = ok / m if m else None
        rows.append(row)
    tp = sum(1 for r in rows if r["abstained"] and not r["answerable"])
    n_abst = sum(1 for r in rows if r["abstained"])
    n_unans = sum(1 for r in rows if not r["answerable"])
    n_markers, n_ok = sum(r["markers"] for r in rows), sum(r["markers_supported"] for r in rows)
    n_shown = sum(1 for r in rows if not r["abstained"])
    n_wrong = sum(r["wrong_reply"] for r in rows)
    scores = {name: _mean([r.get(row) for r in rows]) for name, row in [
        ("fact_accuracy", "fact_correct"), ("fact_recall", "fact_recall"),
        ("abstention_accuracy", "abstention_correct"), ("cited_right_file", "cited_right_file"),
        ("citation_overlap", "citation_overlap"), ("facts_in_prompt", "facts_in_prompt"),
        ("evidence_in_prompt", "evidence_in_prompt")]}
    scores |= {
        "abstention_precision": tp / n_abst if n_abst else 0.0,
        "abstention_recall": tp / n_unans if n_unans else 0.0,
        "marker_support": n_ok / n_markers if n_markers else 0.0,
        "wrong_reply_rate": n_wrong / len(rows) if rows else 0.0,
        "reply_precision": (n_shown - n_wrong) / n_shown if n_shown else 0.0,
        "n_shown": float(n_shown), "n": float(len(rows)), "n_answerable": float(len(rows) - n_unans),
        "n_abstained": float(n_abst), "n_missing": float(len(gold_items) - len(rows))}
    return MetricReport(scores, rows)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default), ``q`` in [0, 1].

    >>> percentile([1, 2, 3, 4], 0.5), percentile([1, 2, 3, 4], 0.95)
    (2.5, 3.85)
    """
    xs = sorted(float(v) for v in values)
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return round(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo), 10)


def latency_metrics(timings: list[dict]) -> dict:
    """p50/p95 of retrieve_s, first_token_s, total_s and prompt_tokens, read from each dict or its
    nested ``"timings"`` (``Answer.to_dict`` layout); ``None`` is skipped, a field without values
    is left out.

    >>> latency_metrics([{"total_s": 1.0}, {"total_s": 3.0, "prompt_tokens": None}])
    {'total_s_p50': 2.0, 'total_s_p95': 2.9, 'n': 2}
    """
    out: dict[str, Any] = {}
    for key in ("retrieve_s", "first_token_s", "total_s", "prompt_tokens"):
        vals = [t[key] if t.get(key) is not None else (t.get("timings") or {}).get(key)
                for t in timings]
        if vals := [v for v in vals if v is not None]:
            out[f"{key}_p50"], out[f"{key}_p95"] = percentile(vals, 0.5), percentile(vals, 0.95)
    return out | {"n": len(timings)}


def _numeric(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def breakdown(per_question: list[dict], gold_items: Sequence[Mapping[str, Any]],
              by: Sequence[str] = ("language", "kind")) -> dict[str, dict[str, float]]:
    """Mean of every numeric per-question metric per value of each gold field ("field=value").

    >>> rows = [{"id": "a", "hit@1": 1.0}, {"id": "b", "hit@1": 0.0}, {"id": "c", "hit@1": None}]
    >>> gold = [{"id": i, "language": lang} for i, lang in [("a", "de"), ("b", "de"), ("c", "en")]]
    >>> breakdown(rows, gold, by=("language",))
    {'language=de': {'hit@1': 0.5, 'n': 2.0}, 'language=en': {'n': 1.0}}
    """
    gold_by_id = {g["id"]: g for g in gold_items}
    out: dict[str, dict[str, float]] = {}
    for field in by:
        groups: dict[str, list[dict]] = {}
        for row in per_question:
            if (g := gold_by_id.get(row.get("id"))) is not None:
                groups.setdefault(f"{field}={g.get(field)}", []).append(row)
        for key in sorted(groups):
            grp = groups[key]
            names = dict.fromkeys(k for r in grp for k, v in r.items() if k != "id" and _numeric(v))
            out[key] = {k: _mean([r.get(k) for r in grp if _numeric(r.get(k))]) for k in names}
            out[key]["n"] = float(len(grp))
    return out


def compare(report_a: dict, report_b: dict) -> dict:
    """Per-metric differences (b - a) and the ids whose per-question values changed; takes
    ``MetricReport``s, their ``to_dict()`` form or flat score dicts.

    >>> a = {"scores": {"hit@1": 0.5}, "per_question": [{"id": "q1", "hit@1": 1.0}]}
    >>> b = {"scores": {"hit@1": 0.0}, "per_question": [{"id": "q1", "hit@1": 0.0}]}
    >>> c = compare(a, b)
    >>> c["scores"]["hit@1"], c["changed_ids"], c["changes"]["q1"]
    ({'a': 0.5, 'b': 0.0, 'delta': -0.5}, ['q1'], {'hit@1': [1.0, 0.0]})
    """
    def parts(r: Any) -> tuple[Mapping[str, Any], list[dict]]:
        if isinstance(r, MetricReport):
            return r.scores, r.per_question
        return (r["scores"], list(r.get("per_question") or [])) if "scores" in r else (r, [])

    (sa, rows_a), (sb, rows_b) = parts(report_a), parts(report_b)
    scores = {k: {"a": sa.get(k), "b": sb.get(k),
                  "delta": float(sb[k] - sa[k]) if _numeric(sa.get(k)) and _numeric(sb.get(k))
                  else None} for k in dict.fromkeys([*sa, *sb])}
    ra, rb = {r["id"]: r for r in rows_a}, {r["id"]: r for r in rows_b}
    changes: dict[str, dict[str, list]] = {}
    for qid in (q for q in ra if q in rb):
        diff = {}
        for k in dict.fromkeys([*ra[qid], *rb[qid]]):
            va: Any = ra[qid].get(k)
            vb: Any = rb[qid].get(k)
            same = abs(va - vb) <= 1e-9 if _numeric(va) and _numeric(vb) else va == vb
            if not same:
                diff[k] = [va, vb]
        if diff:
            changes[qid] = diff
    return {"scores": scores, "changed_ids": list(changes), "changes": changes,
            "only_a": [q for q in ra if q not in rb], "only_b": [q for q in rb if q not in ra]}
