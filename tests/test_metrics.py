"""qa.metrics against hand-computed cases, notation tables and properties."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.metrics import (
    MetricReport,
    answer_metrics,
    breakdown,
    claim_numbers,
    compare,
    fact_present,
    gold_spans,
    latency_metrics,
    normalize_numbers,
    overlaps,
    percentile,
    retrieval_metrics,
)


# ------------------------------------------------------------------------------------ spans
@pytest.mark.parametrize("a, b, expected", [
    (("a", 0, 10), ("a", 5, 6), True),      # contained
    (("a", 0, 10), ("a", 9, 12), True),     # one shared character
    (("a", 0, 10), ("a", 10, 12), False),   # touching, end exclusive
    (("a", 10, 12), ("a", 0, 10), False),
    (("a", 0, 10), ("b", 0, 10), False),    # other file
])
def test_overlaps(a, b, expected):
    assert overlaps(a, b) is expected
    assert overlaps(b, a) is expected


def test_gold_spans():
    item = {"evidence": [{"file": "x.txt", "start": 1, "end": 4, "quote": "abc"}]}
    assert gold_spans(item) == [("x.txt", 1, 4)]
    assert gold_spans({"evidence": []}) == []


# -------------------------------------------------------------------------------- retrieval
def test_retrieval_hand_computed():
    gold = [[("a", 100, 200), ("b", 0, 50)], [], [("a", 0, 10)]]
    retrieved = [
        [("c", 0, 10), ("a", 150, 250), ("a", 180, 190), ("b", 40, 60), ("c", 5, 9)],
        [("a", 0, 10)],
        [],
    ]
    r = retrieval_metrics(retrieved, gold, ids=["q1", "q2", "q3"])
    q1, q2, q3 = r.per_question
    assert (q1["hit@1"], q1["hit@3"], q1["hit@5"]) == (0.0, 1.0, 1.0)
    assert (q1["recall@1"], q1["recall@3"], q1["recall@5"]) == (0.0, 0.5, 1.0)
    assert q1["rr"] == 0.5
    # gains: rank 2 covers gold 0, rank 3 repeats it (no gain), rank 4 covers gold 1
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert q1["ndcg@10"] == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    assert all(v is None for k, v in q2.items() if k != "id")  # no gold: excluded
    assert q3["hit@10"] == 0.0 and q3["rr"] == 0.0 and q3["ndcg@10"] == 0.0
    assert r.scores["n"] == 2.0
    assert r.scores["hit@3"] == 0.5 and r.scores["mrr"] == 0.25
    assert r.scores["recall@5"] == 0.5


def test_ndcg_perfect_and_clipped():
    r = retrieval_metrics([[("a", 0, 10), ("a", 20, 30)]], [[("a", 0, 5), ("a", 20, 25)]])
    assert r.scores["ndcg@10"] == pytest.approx(1.0)
    # one chunk covering both gold spans at rank 1: gain 2 > ideal, clipped at 1
    r = retrieval_metrics([[("a", 0, 30)]], [[("a", 0, 5), ("a", 20, 25)]])
    assert r.scores["ndcg@10"] == 1.0


def test_retrieval_length_mismatch():
    with pytest.raises(ValueError):
        retrieval_metrics([[]], [[], []])


SPAN = st.tuples(st.sampled_from("ab"), st.integers(0, 100), st.integers(1, 30)).map(
    lambda t: (t[0], t[1], t[1] + t[2]))


@settings(max_examples=200, deadline=None)
@given(st.lists(SPAN, max_size=12), st.lists(SPAN, min_size=1, max_size=4))
def test_retrieval_properties(ret, gold):
    ks = (1, 2, 3, 5, 10)
    row = retrieval_metrics([ret], [gold], ks=ks).per_question[0]
    hits = [row[f"hit@{k}"] for k in ks]
    recalls = [row[f"recall@{k}"] for k in ks]
    assert hits == sorted(hits) and recalls == sorted(recalls)  # monotone in k
    assert all(0.0 <= x <= 1.0 for x in [*hits, *recalls, row["rr"], row["ndcg@10"]])
    for h, rc in zip(hits, recalls, strict=True):
        assert (h == 1.0) == (rc > 0.0)
    assert (row["rr"] > 0) == any(overlaps(r, g) for r in ret for g in gold)
    assert row["rr"] >= row["hit@1"] and (row["rr"] == 1.0) == (row["hit@1"] == 1.0)
    assert (row["ndcg@10"] > 0) == (row["hit@10"] == 1.0)


# ------------------------------------------------------------------------ number notation
@pytest.mark.parametrize("text, expected", [
    ("35,8 %", "35.8%"),
    ("35.8 percent", "35.8%"),
    ("35.8%", "35.8%"),
    ("35,8 Prozent", "35.8%"),
    ("fast acht Prozent", "fast 8%"),
    ("eight percent", "8%"),
    ("128.000 Wörter", "128000 wörter"),       # German thousands
    ("128,000 words", "128000 words"),         # English thousands
    ("1.000.000", "1000000"),
    ("1.234,5", "1234.5"),
    ("1,234.5", "1234.5"),
    ("0,125", "0.125"),                        # 0 integer part: decimal, not thousands
    ("2,50 Euro", "2.5 euro"),                 # trailing zero dropped
    ("3,2 Milliarden", "3.2 milliarden"),
    ("3,2 Mrd. Dollar", "3.2 milliarden dollar"),
    ("$3.2 billion", "3.2 milliarden dollar"),
    ("3.2bn USD", "3.2 milliarden dollar"),
    ("53-Milliarden-Dollar-Plan", "53 milliarden-dollar-plan"),
    ("16,3 Millionen US-Dollar", "16.3 millionen dollar"),
    ("$16.3 million", "16.3 millionen dollar"),
    ("16,3 Mio.", "16.3 millionen"),
    ("Rmb72,5 Milliarden", "72.5 milliarden yuan"),
    ("RMB 280 billion", "280 milliarden yuan"),
    ("10 Milliarden Euro", "10 milliarden euro"),
    ("€10 billion", "10 milliarden euro"),
    ("eine Billion Parameter", "eine billionen parameter"),   # German Billion = 10^12
    ("one trillion parameters", "one billionen parameters"),
    ("18 Billionen", "18 billionen"),
    ("29.09.2025", "29.09.2025"),               # a date is not a number
    ("Qwen 2.5", "qwen 2.5"),
    ("Qwen3-Max", "qwen3-max"),
    ("2013", "2013"),
    ("US$16.3m", "16.3 millionen dollar"),      # attached suffixes (FT style)
    ("Rmb72.5bn (€10bn)", "72.5 milliarden yuan (10 milliarden euro)"),
    ("up 12.6pc", "up 12.6%"),
    ("128k tokens", "128000 tokens"),
    ("14x earnings", "14 x earnings"),
])
def test_normalize_numbers_table(text, expected):
    assert normalize_numbers(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 9_999_999), st.integers(0, 99))
def test_german_and_english_notation_agree(integer, cents):
    en = f"{integer:,}.{cents:02d}"
    de = en.replace(",", "_").replace(".", ",").replace("_", ".")
    assert normalize_numbers(de + " Prozent") == normalize_numbers(en + " percent")
    assert fact_present(f"Der Wert lag bei {de} %.", [en + "%"])


# ------------------------------------------------------------------------------ fact match
@pytest.mark.parametrize("answer, variants, expected", [
    ("Die Cloud wuchs um 13 Prozent.", ["13 %"], True),
    ("Seit 2013 wächst die Cloud.", ["13"], False),          # inside a year
    ("Huawei Cloud hat 13,1 %.", ["13"], False),             # prefix of a decimal
    ("Huawei Cloud hat 13,1 %.", ["13 %"], False),
    ("Huawei Cloud hat 13,1 %.", ["13.1%"], True),
    ("Alibaba hat 113 Zonen.", ["13"], False),               # suffix of a number
    ("im Q13", ["13"], False),
    ("It holds 35.8 percent.", ["35,8 %"], True),
    ("It holds 35.8 percent.", ["5.8%"], False),
    ("Der Anteil: 98%.", ["8%"], False),
    ("about 8% higher", ["acht Prozent"], True),
    ("ALIBABA CLOUD", ["alibaba cloud"], True),              # case-insensitive
    ("Wir bauen in Südkorea.", ["Korea"], False),            # whole words only
    ("Rechenzentren in Brasilien", ["Brasilien", "Brazil"], True),
    ("data centres in Brazil", ["Brasilien", "Brazil"], True),
    ("Qwen3 Max is large", ["Qwen3-Max"], True),             # hyphen = space
    ("$53 billion plan", ["53 Milliarden"], True),
    ("ein 53-Milliarden-Dollar-Plan", ["$53 billion"], True),
    ("53 Milliarden US-Dollar", ["$53 billion"], True),
    ("over one trillion parameters", ["Billion"], True),
    ("over 1 billion parameters", ["Billion"], False),       # English billion is not a Billion
    ("zum achten Quartal", ["8"], False),
    ("trades at 14x expected earnings", ["14"], True),
    ("Ark paid US$16.3m", ["16,3 Millionen"], True),
    ("The bonds mature in seven years.", ["7 years"], True),
    ("", ["13"], False),
    ("anything", [], False),
])
def test_fact_present(answer, variants, expected):
    assert fact_present(answer, variants) is expected


def test_claim_numbers():
    assert claim_numbers("Cloud +26 % [1], Rmb31,7 Mrd. im Q4 2024 [2]") == ["26%", "31.7", "2024"]
    assert claim_numbers("Qwen3-Max [1]") == []


# --------------------------------------------------------------------------------- answers
GOLD = [
    {"id": "q1", "language": "en", "kind": "conflict", "answerable": True,
     "facts": [["26 %"], ["13 %"]], "evidence": [{"file": "a", "start": 0, "end": 50}]},
    {"id": "q2", "language": "de", "kind": "fact", "answerable": True,
     "facts": [["Hangzhou"]], "evidence": [{"file": "b", "start": 100, "end": 200}]},
    {"id": "q3", "language": "de", "kind": "unanswerable", "answerable": False, "facts": [],
     "evidence": []},
    {"id": "q4", "language": "en", "kind": "unanswerable", "answerable": False, "facts": [],
     "evidence": []},
    {"id": "q5", "language": "de", "kind": "fact", "answerable": True,
     "facts": [["Zhenwu"]], "evidence": [{"file": "c", "start": 0, "end": 10}]},
    {"id": "q6", "language": "en", "kind": "fact", "answerable": True, "facts": [["x"]],
     "evidence": []},
]


def _p(n, source, start, end, text):
    return {"n": n, "source": source, "start": start, "end": end, "text": text}


def _c(n, source, start, end):
    return {"n": n, "source": source, "start": start, "end": end, "quote": ""}


ANSWERS = [
    {"id": "q1", "answer": "Cloud grew 26% [1] and 13 % in Q4 2024 [2].", "abstained": False,
     "citations": [_c(1, "a", 0, 40), _c(2, "x", 0, 10)],
     "passages": [_p(1, "a", 0, 40, "wuchs um 26 Prozent"), _p(2, "x", 0, 10, "13 Prozent 2024")]},
    {"id": "q2", "answer": "Keine Angabe.", "abstained": True, "citations": [], "passages": []},
    {"id": "q3", "answer": "Dazu steht nichts in den Artikeln.", "abstained": True},
    {"id": "q4", "answer": "It was 5 billion [1].", "abstained": False,
     "citations": [_c(1, "a", 0, 10)], "passages": [_p(1, "a", 0, 10, "keine Zahl")]},
    {"id": "q5", "answer": "Der Chip heißt Zhenwu [3].", "abstained": False,
     "citations": [_c(3, "c", 50, 60)], "passages": [_p(3, "c", 50, 60, "Zhenwu-Chip")]},
]


def test_answer_metrics_hand_computed():
    r = answer_metrics(ANSWERS, GOLD)
    rows = {row["id"]: row for row in r.per_question}
    assert set(rows) == {"q1", "q2", "q3", "q4", "q5"}
    assert rows["q1"]["fact_correct"] == 1.0 and rows["q1"]["fact_recall"] == 1.0
    assert rows["q1"]["cited_right_file"] == 1.0 and rows["q1"]["citation_overlap"] == 1.0
    assert (rows["q1"]["markers"], rows["q1"]["markers_supported"]) == (2, 2)
    assert rows["q2"]["fact_correct"] == 0.0 and rows["q2"]["fact_recall"] == 0.0
    assert rows["q2"]["cited_right_file"] is None and rows["q2"]["abstention_correct"] == 0.0
    assert rows["q3"]["fact_correct"] is None and rows["q3"]["abstention_correct"] == 1.0
    assert (rows["q4"]["markers"], rows["q4"]["markers_supported"]) == (1, 0)
    assert rows["q5"]["cited_right_file"] == 1.0 and rows["q5"]["citation_overlap"] == 0.0
    assert rows["q5"]["markers"] == 0  # no number claimed: not checkable
    s = r.scores
    assert s["fact_accuracy"] == pytest.approx(2 / 3)
    assert s["fact_recall"] == pytest.approx(2 / 3)
    assert s["abstention_precision"] == 0.5 and s["abstention_recall"] == 0.5
    assert s["abstention_accuracy"] == pytest.approx(0.6)
    assert s["cited_right_file"] == 1.0 and s["citation_overlap"] == 0.5
    assert s["marker_support"] == pytest.approx(2 / 3)
    assert (s["n"], s["n_answerable"], s["n_abstained"], s["n_missing"]) == (5.0, 3.0, 2.0, 1.0)
    assert all(type(v) is float for v in s.values())
    json.dumps(r.to_dict())  # plain, serialisable values


def test_partial_fact_recall():
    gold = [{"id": "q", "answerable": True, "facts": [["26 %"], ["13 %"], ["Hangzhou"]],
             "evidence": []}]
    r = answer_metrics([{"id": "q", "answer": "Um 26 Prozent.", "abstained": False}], gold)
    assert r.scores["fact_accuracy"] == 0.0
    assert r.scores["fact_recall"] == pytest.approx(1 / 3)
    assert r.scores["cited_right_file"] == 0.0  # answered without citations


@pytest.mark.parametrize("answer, passages, expected", [
    ("Cloud grew 26%. [1]", {1: "26 Prozent"}, (1, 1)),          # marker after the period
    ("Umsatz +26 % [1][2].", {1: "26 Prozent", 2: "Text"}, (2, 2)),  # adjacent markers share
    ("Umsatz +26 % [1, 2].", {1: "Text", 2: "Text"}, (2, 0)),
    ("Alibaba wuchs [7] um 5 %.", {1: "5 %"}, (1, 0)),            # unknown passage
    ("26 % [1]. Dann 13 % [1].", {1: "26 Prozent"}, (2, 1)),
])
def test_marker_support_cases(answer, passages, expected):
    a = {"id": "q", "answer": answer, "abstained": False, "citations": [],
         "passages": [_p(n, "a", 0, 1, t) for n, t in passages.items()]}
    row = answer_metrics([a], [{"id": "q", "answerable": True, "facts": [], "evidence": []}])
    assert (row.per_question[0]["markers"], row.per_question[0]["markers_supported"]) == expected


def test_citation_span_falls_back_to_the_citation():
    a = {"id": "q1", "answer": "26 %, 13 %", "abstained": False,
         "citations": [_c(9, "a", 10, 20)], "passages": []}
    r = answer_metrics([a], GOLD[:1])
    assert r.per_question[0]["citation_overlap"] == 1.0


# ------------------------------------------------------------------------ latency, groups
def test_percentile_and_latency():
    assert percentile([3, 1, 2], 0.5) == 2.0
    assert percentile([10], 0.95) == 10.0
    timings = [{"timings": {"retrieve_s": 0.1, "first_token_s": 1.0, "total_s": 2.0},
                "prompt_tokens": 800},
               {"retrieve_s": 0.3, "first_token_s": None, "total_s": 4.0, "prompt_tokens": 1200},
               {"retrieve_s": 0.2, "total_s": 3.0}]
    lat = latency_metrics(timings)
    assert lat["retrieve_s_p50"] == pytest.approx(0.2)
    assert lat["retrieve_s_p95"] == pytest.approx(0.29)
    assert lat["first_token_s_p50"] == 1.0 and lat["first_token_s_p95"] == 1.0
    assert lat["total_s_p95"] == pytest.approx(3.9)
    assert lat["prompt_tokens_p50"] == 1000.0
    assert lat["n"] == 3
    assert latency_metrics([]) == {"n": 0}


def test_breakdown_by_language_and_kind():
    r = answer_metrics(ANSWERS, GOLD)
    b = breakdown(r.per_question, GOLD)
    assert b["language=en"]["n"] == 2.0
    assert b["language=en"]["abstention_correct"] == 0.5   # q1 right, q4 wrong
    assert b["language=de"]["fact_correct"] == 0.5         # q2 wrong, q5 right
    assert b["kind=unanswerable"]["abstention_correct"] == 0.5
    assert "fact_correct" not in b["kind=unanswerable"]    # None everywhere
    assert "answerable" not in b["language=de"]            # booleans are not metrics


def test_compare_reports():
    a = answer_metrics(ANSWERS, GOLD)
    better = [dict(x) for x in ANSWERS]
    better[1] = {"id": "q2", "answer": "In Hangzhou.", "abstained": False,
                 "citations": [_c(1, "b", 120, 130)], "passages": []}
    b = answer_metrics(better, GOLD)
    c = compare(a.to_dict(), b)
    assert c["changed_ids"] == ["q2"]
    assert c["changes"]["q2"]["fact_correct"] == [0.0, 1.0]
    assert c["scores"]["fact_accuracy"]["delta"] == pytest.approx(1 / 3)
    assert c["only_a"] == [] and c["only_b"] == []
    flat = compare({"hit@1": 0.5, "name": "x"}, {"hit@1": 0.75, "name": "y"})
    assert flat["scores"]["hit@1"]["delta"] == 0.25 and flat["scores"]["name"]["delta"] is None
    assert flat["changed_ids"] == []


def test_metric_report_is_frozen():
    r = MetricReport({"x": 1.0}, [])
    with pytest.raises(AttributeError):
        r.scores = {}  # type: ignore[misc]
