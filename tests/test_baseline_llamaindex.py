"""The llama-index starter baseline (eval/baseline_llamaindex.py): span mapping, abstention
regex, and the whole code path on two gold questions with fake models (no real model loads)."""

from __future__ import annotations

import importlib.util
import json
import sys
import unicodedata
from pathlib import Path

import pytest

from qa.config import Settings
from qa.corpus import load_corpus
from qa.evaluation import load_gold, write_report
from qa.testing import FakeEmbedder, FakeGenerator

ROOT = Path(__file__).resolve().parent.parent


def _load_module():
    spec = importlib.util.spec_from_file_location("baseline_llamaindex",
                                                  ROOT / "eval" / "baseline_llamaindex.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


bl = _load_module()


# -- span mapping -------------------------------------------------------------------------------
CLEAN = "Alibaba wächst.\n\nDer Umsatz stieg um 26 Prozent auf 31,7 Mrd. Yuan.\n\nEnde des Textes."


def test_map_span_exact_modulo_whitespace() -> None:
    raw = "Der Umsatz  stieg um 26 Prozent \r\nauf 31,7\u00a0Mrd. Yuan."
    clean = "Alibaba wächst.\n\nDer Umsatz stieg um 26 Prozent\nauf 31,7 Mrd. Yuan.\n\nEnde"
    start, end = bl.map_span(raw, clean)
    assert clean[start:end] == "Der Umsatz stieg um 26 Prozent\nauf 31,7 Mrd. Yuan."


def test_map_span_normalises_unicode_like_cleaning() -> None:
    raw = unicodedata.normalize("NFD", "Alibaba wächst.") + "\u200b"
    assert bl.map_span(raw, CLEAN) == (0, len("Alibaba wächst."))


def test_map_span_falls_back_to_head_and_tail_when_a_line_was_dropped() -> None:
    head = "Der Umsatz stieg um 26 Prozent auf 31,7 Mrd. Yuan. " * 2
    tail = "Das Wachstum der Cloud-Sparte war das stärkste seit Jahren, sagte der Chef."
    clean = "Titel\n\n" + head.strip() + "\n" + tail
    raw = "Titel\n\n" + head + "\nFoto: dpa\n" + tail  # cleaning drops the photo credit
    start, end = bl.map_span(raw[7:], clean)
    assert (start, end) == (7, len(clean))


def test_map_span_head_only_and_tail_only() -> None:
    body = "Der Konzern investiert 380 Milliarden Yuan in KI-Infrastruktur und Rechenzentren. "
    clean = ("Kopf\n\n" + body * 2).strip()  # cleaned text is stripped
    # the chunk runs into a URL list the cleaner removed: a span of its length from its head
    raw_tail = body + "\n- https://example.com/" + "x" * 80
    s, e = bl.map_span(raw_tail, clean, hint=6)
    assert s == 6 and e == min(len(clean), s + len(raw_tail))
    # the chunk starts with furniture the cleaner removed: a span of its length up to its tail
    raw_head = "Foto: IHOR SULYATYTSKYY/Shutterstock " * 3 + "\n" + body.strip()
    s, e = bl.map_span(raw_head, clean, hint=len(clean))
    assert e == len(clean) and s == max(0, e - len(" ".join(raw_head.split())))


def test_map_span_prefers_the_occurrence_nearest_the_hint_and_gives_up_cleanly() -> None:
    clean = "Absatz eins. Wiederholung hier.\n\nAbsatz zwei. Wiederholung hier."
    second = clean.rindex("Wiederholung")
    assert bl.map_span("Wiederholung hier.", clean, hint=0)[0] == clean.index("Wiederholung")
    assert bl.map_span("Wiederholung hier.", clean, hint=second + 3)[0] == second
    assert bl.map_span("Etwas ganz anderes, das nirgends vorkommt.", clean) is None
    assert bl.map_span("", clean) is None


def test_every_default_llamaindex_chunk_of_the_corpus_maps_into_the_cleaned_text() -> None:
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.node_parser import SentenceSplitter

    docs = SimpleDirectoryReader(str(ROOT / "data" / "articles")).load_data()
    clean = {d.source: d.text for d in load_corpus([ROOT / "data" / "articles"]).documents}
    nodes = SentenceSplitter().get_nodes_from_documents(docs)
    assert len(nodes) > len(docs)  # 1024-token chunks: the long articles split
    for n in nodes:
        text = clean[n.metadata["file_name"]]
        span = bl.map_span(n.get_content(), text, n.start_char_idx)
        assert span is not None, n.metadata["file_name"]
        s, e = span
        assert 0 <= s < e <= len(text)
        # the mapped text is the chunk's text (whitespace aside) wherever cleaning kept it
        got = " ".join(text[s:e].split())
        want = " ".join(unicodedata.normalize("NFC", n.get_content()).split())
        assert got[:40] in want and got[-40:] in want


# -- abstention ---------------------------------------------------------------------------------
@pytest.mark.parametrize("answer", [
    "The context does not provide information about Alibaba's dividend.",
    "The provided context doesn't mention the CEO's salary.",
    "There is no information about this in the context.",
    "This is not mentioned in the provided context information.",
    "I cannot answer this question based on the given context.",
    "Empty Response",
    "",
    "Die bereitgestellten Informationen enthalten keine Angaben zur Dividende.",
    "Im Kontext gibt es keine Informationen über das Gehalt.",
    "Das wird im Text nicht erwähnt.",
    "Aus dem Kontext geht das nicht hervor.",
    "Diese Frage lässt sich anhand des Kontexts nicht beantworten.",
    "Keine Angabe.",
])
def test_abstention_phrasings(answer: str) -> None:
    assert bl.is_abstention(answer)


@pytest.mark.parametrize("answer", [
    "Der Vorstandschef von Alibaba ist Eddie Wu.",
    "Alibaba's cloud revenue grew 26% year on year.",
    "Der CEO ist Eddie Wu. Sein Gehalt wird nicht erwähnt.",  # partial answer: answered first
    "Joseph Tsai chairs the board; no dividend was announced in 2023, however.",
    "Der Chip heißt Zhenwu und wurde nicht von Nvidia entwickelt.",
])
def test_answers_are_not_abstentions(answer: str) -> None:
    assert not bl.is_abstention(answer)


# -- end to end with fakes ----------------------------------------------------------------------
@pytest.fixture
def gold() -> list[dict]:
    return [g for g in load_gold(ROOT / "eval" / "gold.jsonl") if g["id"] in ("q001", "q002")]


@pytest.fixture
def fake_baseline(corpus: Path):
    generator = FakeGenerator()
    llm = bl.QALLM(generator, num_output=64)
    baseline = bl.Baseline(corpus, bl.QAEmbedding(FakeEmbedder(dim=256)), llm,
                           count_tokens=lambda s: len(s.split()))
    return baseline, generator


def test_baseline_end_to_end_with_fakes(fake_baseline, gold, corpus: Path,
                                        tmp_path: Path) -> None:
    from llama_index.core import Settings as LISettings

    baseline, generator = fake_baseline
    generator.enqueue("Der Vorstandschef von Alibaba ist Eddie Wu.",
                      "The context does not provide information about the chairman.")
    settings = Settings(corpus_dir=corpus, cache_dir=tmp_path / "cache")
    report = bl.run_baseline(baseline, settings, gold)

    assert LISettings._llm is None and LISettings._embed_model is None  # no hosted defaults
    assert report["n_questions"] == 2
    for key in ("hit@1", "hit@5", "mrr", "fact_accuracy", "abstention_precision",
                "cited_right_file", "latency_total_s_p50", "latency_prompt_tokens_p50"):
        assert key in report["scores"], key
    assert report["baseline"]["similarity_top_k"] == 2
    assert report["baseline"]["response_mode"] == "CompactAndRefine"
    assert report["baseline"]["unmapped_nodes"] == 0

    clean = {d.source: d.text for d in load_corpus([corpus]).documents}
    rows = {r["id"]: r for r in report["per_question"]}
    for r in rows.values():
        assert len(r["retrieved"]) == 2
        for source, start, end in r["retrieved"]:
            assert 0 <= start < end <= len(clean[source])
            assert clean[source][start:end].strip()
        for p in r["passages"]:  # the mapped span holds the chunk the model read
            got = " ".join(clean[p["source"]][p["start"]:p["end"]].split())
            assert got[-40:] in " ".join(p["text"].split())
        t = r["timings"]
        assert 0 <= t["retrieve_s"] <= t["first_token_s"] <= t["total_s"]
        assert r["llm_calls"] == 1 and r["prompt_tokens"] > 100

    # the default text_qa prompt went in as one user message, and was counted
    assert len(generator.history) == 2
    (msg,) = generator.history[0]
    assert msg["role"] == "user" and "Context information is below." in msg["content"]
    assert gold[0]["question"] in msg["content"]
    assert rows["q001"]["prompt_tokens"] == len(msg["content"].split())

    q1, q2 = rows["q001"], rows["q002"]
    assert q1["fact_correct"] == 1.0 and not q1["abstained"]
    assert [c["n"] for c in q1["citations"]] == [1, 2]
    assert q1["citations"][0]["quote"] == q1["passages"][0]["text"][:200]
    assert q2["abstained"] and q2["citations"] == [] and q2["abstention_correct"] == 0.0

    path = write_report(report, tmp_path / "reports", "llamaindex-starter-fake")
    assert json.loads(path.read_text(encoding="utf-8"))["per_question"][0]["retrieved"]


def test_baseline_retrieval_only(fake_baseline, gold, corpus: Path, tmp_path: Path) -> None:
    baseline, generator = fake_baseline
    report = bl.run_baseline(baseline, Settings(corpus_dir=corpus, cache_dir=tmp_path), gold,
                             retrieval_only=True)
    assert generator.history == []
    assert "fact_accuracy" not in report["scores"] and "mrr" in report["scores"]
    assert all(len(r["retrieved"]) == 2 for r in report["per_question"])


def test_adapters_route_kinds_and_stream() -> None:
    emb = FakeEmbedder(dim=256)
    adapter = bl.QAEmbedding(emb)
    adapter.get_query_embedding("Wer?")
    adapter.get_text_embedding_batch(["a b", "c d"])
    assert emb.calls == [("query", 1), ("passage", 2)]

    gen = FakeGenerator()
    gen.enqueue("eins zwei drei")
    llm = bl.QALLM(gen)
    assert [r.delta for r in llm.stream_complete("Frage?")] == ["eins ", "zwei ", "drei"]
    assert llm.calls[0]["prompt"] == "Frage?" and llm.calls[0]["first_token"] is not None
    assert llm.metadata.context_window == 4096 and not llm.metadata.is_chat_model


def test_the_starter_can_read_with_qas_extraction(corpus: Path, tmp_path: Path) -> None:
    """``--reader qa``: the starter's index holds qa's extracted text (a saved web page goes in
    without its markup), one Document per file, and every chunk maps back into it."""
    (corpus / "seite.html").write_text(
        "<html><head><title>Seite</title><script>var tracking = 1;</script></head><body>"
        "<nav>Menü Startseite Impressum</nav><article><h1>Der Hafen</h1><p>Im Kieler Hafen "
        "legten 2025 genau 271 Kreuzfahrtschiffe an. Das ist ein Rekord für die Stadt.</p>"
        "</article></body></html>", encoding="utf-8")
    baseline = bl.Baseline(corpus, bl.QAEmbedding(FakeEmbedder(dim=256)),
                           bl.QALLM(FakeGenerator(), num_output=64), reader="qa")
    nodes = list(baseline.index.docstore.docs.values())
    page = [n for n in nodes if n.metadata["file_name"] == "seite.html"]
    assert page and all("tracking" not in n.get_content() and "<" not in n.get_content()
                        for n in page)
    assert "271 Kreuzfahrtschiffe" in " ".join(n.get_content() for n in page)
    assert {n.metadata["file_name"] for n in nodes} == set(baseline.cleaned)
    for n in nodes:
        assert baseline.span_of(n) is not None
