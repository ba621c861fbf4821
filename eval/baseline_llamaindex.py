"""The llama-index starter baseline, "the peer to beat", scored like our own pipeline.

Built the way the llama-index starter tutorial builds it::

    docs = SimpleDirectoryReader("data/articles").load_data()
    index = VectorStoreIndex.from_documents(docs, embed_model=...)
    engine = index.as_query_engine(llm=...)
    response = engine.query(question)

with every llama-index default left as it is: SentenceSplitter (chunk_size 1024, overlap 200
tokens; the reader's ``file_path`` metadata goes into the embedded and the prompted text, as by
default), similarity_top_k=2, the default text_qa prompt, the default ("compact") response mode.
Only the models are ours, so the comparison is about the pipeline and not the models:

* embeddings: ``qa.integrations.llama_index.QAEmbedding``, a ``BaseEmbedding`` around
  ``qa.embedders`` (same model, same e5 "query: " / "passage: " prefixes as our pipeline);
* LLM: ``qa.integrations.llama_index.QALLM``, a ``CustomLLM`` around
  ``qa.generators.llamacpp.LocalGenerator`` (same GGUF, same
  chat template: the prompt goes in as one user message; temperature 0; answer length
  ``max_answer_tokens`` as ours). The prompt (two 1024-token chunks) needs a larger window than
  ours, so the model runs with n_ctx 4096 (``context_window`` in the LLM metadata likewise).

``embed_model=`` and ``llm=`` are passed explicitly; llama-index's global ``Settings.llm`` /
``Settings.embed_model`` are never used (their defaults call a hosted API).

Each question records what ``qa.evaluation.run`` records, then goes through
``qa.evaluation.score`` and ``write_report``, so ``qa eval --compare`` works on the two reports:

* ``retrieved``: the source nodes (2, in rank order) mapped from raw-file offsets to spans of our
  cleaned text (:func:`map_span`); a node that cannot be located gets the empty span
  ``[file, 0, 0]`` (it keeps its rank and overlaps nothing) and is counted in ``unmapped``.
  With top-2 retrieval, hit@5 and hit@10 equal hit@2; the chunks are ~3,000 characters, so a hit
  is easier than with our ~80-word chunks.
* ``abstained``: the baseline has no abstention; an answer counts as abstained when its first
  sentence says it cannot answer (:func:`is_abstention`, German and English phrasings) or when it
  is empty / llama-index's "Empty Response".
* ``citations``: the baseline does not cite; its ``source_nodes`` are recorded as citations
  (n = rank, source = file, start/end = mapped span, quote = first 200 characters), none when it
  abstained. That is generous to it: every answer "cites" both retrieved chunks, correct or not.
  It writes no [n] markers, so marker_support does not apply to it.
* ``prompt_tokens``: the prompt(s) the LLM received, counted with ``LocalGenerator.count_tokens``
  (summed if the compact synthesizer needed more than one call; ``llm_calls`` says how many).
* ``timings``: wall clock per question around ``engine.query``; ``retrieve_s`` ends when the first
  LLM call starts (retrieval plus prompt packing), ``first_token_s`` at its first streamed piece.
  The LLM is loaded before the first question, so no question pays for loading it.

Run: ``python eval/baseline_llamaindex.py [--eval-corpus NAME] [--split test] [--limit N]
[--ids q001,q002] [--model M] [--out-dir eval/reports] [--retrieval-only]``; the report is named
``llamaindex-starter-<model>[-<corpus>][-<split>]`` (``llamaindex-starter-retrieval`` with
``--retrieval-only``).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from llama_index.core import SimpleDirectoryReader, VectorStoreIndex  # noqa: E402
from llama_index.core.base.embeddings.base import BaseEmbedding  # noqa: E402
from llama_index.core.llms import CustomLLM  # noqa: E402
from llama_index.core.schema import QueryBundle  # noqa: E402

from qa.answering.prompting import approx_tokens  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.corpus import load_corpus  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.evaluation import (  # noqa: E402
    DEFAULT_GOLD,
    DEFAULT_REPORTS,
    eval_corpus,
    load_gold,
    score,
    write_report,
)
from qa.integrations.llama_index import QALLM, QAEmbedding  # noqa: E402

log = logging.getLogger("baseline_llamaindex")

CONTEXT_TOKENS = 4096  # two default 1024-token chunks + the default prompt + the answer
SIMILARITY_TOP_K = 2  # llama-index default, named here for the report
ANCHOR_CHARS = 60  # fallback anchors: a node's first and last characters


# -- raw node -> cleaned-text span ----------------------------------------------------------------
_ZERO_WIDTH = {0x200B: None, 0x200C: None, 0x200D: None, 0x2060: None, 0xFEFF: None, 0x00AD: None}


def _normalise(text: str) -> tuple[str, list[int]]:
    """``text`` with zero-width characters dropped and every whitespace run (nbsp included) as
    one space, plus each kept character's offset in ``text``."""
    out: list[str] = []
    offsets: list[int] = []
    in_space = False
    for i, ch in enumerate(text):
        if ord(ch) in _ZERO_WIDTH:
            continue
        if ch.isspace():
            if not in_space and out:
                out.append(" ")
                offsets.append(i)
            in_space = True
            continue
        in_space = False
        out.append(ch)
        offsets.append(i)
    if out and out[-1] == " ":
        out.pop()
        offsets.pop()
    return "".join(out), offsets


def _occurrences(hay: str, needle: str) -> list[int]:
    found, i = [], hay.find(needle)
    while i >= 0:
        found.append(i)
        i = hay.find(needle, i + 1)
    return found


def map_span(node_text: str, doc_text: str, hint: int | None = None,
             anchor: int = ANCHOR_CHARS) -> tuple[int, int] | None:
    """Where a chunk of the raw file lies in the cleaned ``doc_text``: ``(start, end)``, end
    exclusive, or ``None`` when it cannot be found.

    Both sides are compared with whitespace runs collapsed (cleaning trims lines, unifies line
    ends and collapses blank lines); the chunk is NFC-normalised first, as cleaning does. When the
    whole chunk is not there (cleaning dropped a furniture line inside it), its first and last
    ``anchor`` characters are located: both give the span between them, one alone gives a span of
    the chunk's length from it, clipped to the document. Among repeated occurrences the one
    nearest ``hint`` (the node's raw start offset) wins.

    >>> map_span("Alibaba   wächst.\\r\\n\\n\\nEnde", "Foto\\nAlibaba wächst.\\n\\nEnde")
    (5, 26)
    """
    needle, _ = _normalise(unicodedata.normalize("NFC", node_text))
    hay, offsets = _normalise(doc_text)
    if not needle or not hay:
        return None

    def nearest(positions: list[int]) -> int:
        return min(positions, key=lambda p: (abs(offsets[p] - hint) if hint is not None else 0, p))

    def span(a: int, b: int) -> tuple[int, int]:  # normalised [a, b) -> doc offsets
        return offsets[a], offsets[b - 1] + 1

    if found := _occurrences(hay, needle):
        a = nearest(found)
        return span(a, a + len(needle))
    head, tail = needle[:anchor].strip(), needle[-anchor:].strip()
    heads, tails = _occurrences(hay, head), _occurrences(hay, tail)
    if heads:
        a = nearest(heads)
        after = [t for t in tails if t >= a]
        if after:
            return span(a, after[0] + len(tail))
        return span(a, min(len(hay), a + len(needle)))
    if tails:
        b = nearest(tails) + len(tail)
        return span(max(0, b - len(needle)), b)
    return None


# -- abstention ---------------------------------------------------------------------------------
_ABSTAIN = re.compile("|".join([
    # English
    r"\bnot (?:explicitly |specifically |directly |clearly )?(?:mentioned|stated|provided|"
    r"specified|given|included|available|found|contained|covered|discussed|addressed|disclosed)\b",
    r"\bno (?:specific |explicit |relevant |direct |such |further |additional )?"
    r"(?:information|mention|details?|data|indication|reference)\b",
    r"\b(?:does|do|did)(?: not|n't) (?:explicitly |specifically |directly )?(?:provide|mention|"
    r"contain|include|specify|state|say|give|offer|discuss|indicate|have|cover)\b",
    r"\b(?:cannot|can't|can not|unable to|not possible to|impossible to) (?:be )?(?:answer|"
    r"determine|find|found|say|provide|tell|infer)",
    r"\b(?:not|in)sufficient (?:information|context|data)\b|\bnot enough (?:information|context)",
    r"\bi (?:don't|do not) know\b|\bempty response\b",
    # German
    r"\bkeine (?:\w+ ){0,2}(?:informationen|information|angaben?|hinweise|erwähnung|details|"
    r"daten|aussagen?|auskunft|antwort)\b",
    r"\bnicht (?:explizit |ausdrücklich |direkt |konkret |näher |genau )?(?:erwähnt|genannt|"
    r"angegeben|enthalten|aufgeführt|beschrieben|spezifiziert|vorhanden|thematisiert|"
    r"beantworten|beantwortet|bestimmen|bestimmt|ermitteln|feststellbar|ersichtlich)\b",
    r"\bgeht (?:\w+ ){0,4}nicht hervor\b|\blässt sich (?:\w+ ){0,3}nicht\b",
    r"\b(?:enthält|enthalten|liefert|liefern|bietet|bieten|nennt|nennen) (?:\w+ ){0,3}keine\b",
    r"\b(?:liegen|gibt es) (?:\w+ ){0,3}keine\b",
]), re.IGNORECASE)
_FIRST_SENTENCE = re.compile(r"[.!?](?=\s)|\n")


def is_abstention(answer: str) -> bool:
    """The answer says it cannot answer: its first sentence uses a typical "not in the context"
    phrasing (German or English), or it is empty / llama-index's "Empty Response". A later
    "...but X is not mentioned" after an answer does not count.

    >>> is_abstention("The context does not provide information about the CEO.")
    True
    >>> is_abstention("Der CEO ist Eddie Wu. Sein Gehalt wird nicht erwähnt.")
    False
    """
    text = (answer or "").strip()
    if not text or text.lower() == "empty response":
        return True
    m = _FIRST_SENTENCE.search(text)
    return _ABSTAIN.search(text[: m.start() if m else len(text)]) is not None


# -- the baseline -------------------------------------------------------------------------------
class Baseline:
    """The starter pipeline over ``corpus_dir`` with the given llama-index embedding model and
    LLM, and the cleaned corpus (``qa.corpus``) that spans are mapped into."""

    def __init__(self, corpus_dir: Path, embed_model: BaseEmbedding, llm: CustomLLM,
                 count_tokens: Callable[[str], int] = approx_tokens,
                 similarity_top_k: int | None = None, reader: str = "llama-index") -> None:
        self.corpus_dir = Path(corpus_dir)
        self.llm = llm
        self.count_tokens = count_tokens
        self.reader = reader
        loaded = load_corpus([self.corpus_dir]).documents
        self.cleaned = {d.source: d.text for d in loaded}
        if reader == "qa":  # the text qa extracts, in llama-index Documents (as a reader would)
            from llama_index.core import Document as LIDocument

            docs = [LIDocument(text=d.text, metadata={
                "file_path": str((self.corpus_dir / d.source).resolve()),
                "file_name": Path(d.source).name}) for d in loaded]
        else:
            docs = SimpleDirectoryReader(str(self.corpus_dir)).load_data()
        self.index = VectorStoreIndex.from_documents(docs, embed_model=embed_model)
        kwargs = {} if similarity_top_k is None else {"similarity_top_k": similarity_top_k}
        self.engine = self.index.as_query_engine(llm=llm, **kwargs)

    def source_of(self, node: Any) -> str:
        md = node.metadata
        try:
            return Path(md["file_path"]).resolve().relative_to(self.corpus_dir.resolve()).as_posix()
        except (KeyError, ValueError):
            return str(md.get("file_name", ""))

    def span_of(self, node: Any) -> tuple[str, int, int] | None:
        source = self.source_of(node)
        doc = self.cleaned.get(source)
        got = map_span(node.get_content(), doc, node.start_char_idx) if doc else None
        return None if got is None else (source, got[0], got[1])

    def _spans(self, nodes: Sequence[Any]) -> tuple[list[list[Any]], int]:
        spans, unmapped = [], 0
        for nws in nodes:
            s = self.span_of(nws.node)
            if s is None:
                unmapped += 1
                log.warning("could not locate a chunk of %s in the cleaned text",
                            self.source_of(nws.node))
                s = (self.source_of(nws.node), 0, 0)
            spans.append(list(s))
        return spans, unmapped

    def ask(self, item: dict[str, Any], retrieval_only: bool = False) -> dict[str, Any]:
        row: dict[str, Any] = {"id": item["id"], "question": item["question"],
                               "language": item.get("language"), "kind": item.get("kind")}
        if retrieval_only:
            t0 = time.perf_counter()
            nodes = self.engine.retrieve(QueryBundle(item["question"]))
            row["timings"] = {"retrieve_s": round(time.perf_counter() - t0, 4)}
            row["retrieved"], row["unmapped"] = self._spans(nodes)
            return row
        calls = getattr(self.llm, "calls", None)
        n0 = len(calls) if calls is not None else 0
        error = None
        t0 = time.perf_counter()
        try:
            response = self.engine.query(item["question"])
            text, nodes = str(response.response or ""), list(response.source_nodes)
        except Exception as e:  # noqa: BLE001 - one broken question must not end the run
            log.exception("%s failed", item["id"])
            text, nodes, error = "", [], f"{type(e).__name__}: {e}"
        t1 = time.perf_counter()
        mine = calls[n0:] if calls is not None else []
        first = next((c["first_token"] for c in mine if c["first_token"] is not None), None)
        row["timings"] = {"retrieve_s": round((mine[0]["start"] if mine else t1) - t0, 4),
                          "first_token_s": None if first is None else round(first - t0, 4),
                          "total_s": round(t1 - t0, 4)}
        spans, unmapped = self._spans(nodes)
        text = text.strip()
        abstained = is_abstention(text)
        passages = [{"n": i, "source": s[0], "start": s[1], "end": s[2],
                     "text": nws.node.get_content()}
                    for i, (nws, s) in enumerate(zip(nodes, spans, strict=True), 1)]
        citations = [] if abstained else [
            {"n": p["n"], "source": p["source"], "chunk_id": nws.node.node_id,
             "start": p["start"], "end": p["end"], "quote": p["text"][:200],
             "score": round(float(nws.score or 0.0), 6)}
            for p, nws in zip(passages, nodes, strict=True)]
        row.update(retrieved=spans, answer=text, abstained=abstained, citations=citations,
                   sources=list(dict.fromkeys(c["source"] for c in citations)),
                   model=getattr(self.llm, "model_name", None),
                   prompt_tokens=sum(self.count_tokens(c["prompt"]) for c in mine) if mine
                   else None, error=error, passages=passages, llm_calls=len(mine),
                   unmapped=unmapped)
        return row


def run_baseline(baseline: Baseline, settings: Settings, gold: list[dict[str, Any]],
                 retrieval_only: bool = False,
                 progress: Callable[[int, int, str], None] | None = None) -> dict[str, Any]:
    """Every gold question through the baseline; the report as ``qa.evaluation.run`` returns it,
    plus a ``baseline`` section describing the llama-index configuration."""
    rows = []
    for i, item in enumerate(gold, 1):
        rows.append(baseline.ask(item, retrieval_only))
        if progress:
            progress(i, len(gold), item["id"])
    report = score(settings, gold, rows, retrieval_only)
    engine = baseline.engine
    synth = engine._response_synthesizer  # noqa: SLF001 - describing, not changing it
    report["baseline"] = {
        "pipeline": ("llama-index starter: SimpleDirectoryReader" if baseline.reader != "qa"
                     else "llama-index starter on qa's extracted text (Document per file)")
                    + " -> VectorStoreIndex -> as_query_engine (defaults)",
        "llama_index_core": version("llama-index-core"),
        "splitter": "SentenceSplitter chunk_size=1024 chunk_overlap=200 (default)",
        "similarity_top_k": engine.retriever.similarity_top_k,
        "response_mode": type(synth).__name__,
        "context_window": baseline.llm.metadata.context_window,
        "num_output": baseline.llm.metadata.num_output,
        "n_nodes": len(baseline.index.docstore.docs),
        "unmapped_nodes": sum(r.get("unmapped", 0) for r in rows),
        "abstention": "regex on the first sentence (is_abstention)",
        "citations": "source_nodes recorded as citations (generous)",
    }
    # what our summary prints from settings would describe our pipeline, not this one
    report["settings"].update(chunk_words="n/a (1024-token SentenceSplitter chunks)",
                              top_k=report["baseline"]["similarity_top_k"],
                              prompt_budget_tokens="n/a (compact, whole chunks)",
                              context_tokens=baseline.llm.metadata.context_window)
    return report


def build(settings: Settings, retrieval_only: bool = False,
          similarity_top_k: int | None = None, reader: str = "llama-index") -> Baseline:
    """The real baseline: our embedding model and (unless retrieval-only) our GGUF model."""
    from qa.composition import make_embedder
    from qa.generators.llamacpp import LocalGenerator

    embed = QAEmbedding(make_embedder(settings), embed_batch_size=settings.embed_batch_size)
    generator = LocalGenerator(settings.llm, settings.cache_dir, settings.threads,
                               context_tokens=settings.context_tokens)
    llm = QALLM(generator, context_window=settings.context_tokens,
                num_output=settings.max_answer_tokens, temperature=settings.temperature)
    baseline = Baseline(settings.corpus_dir, embed, llm, count_tokens=generator.count_tokens
                        if not retrieval_only else approx_tokens,
                        similarity_top_k=similarity_top_k, reader=reader)
    if not retrieval_only:
        _ = generator.llm  # load the model now, not inside the first question's timing
    return baseline


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Score the llama-index starter baseline on the gold "
                                "set with our embedding model and LLM.")
    p.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument("--ids", help="only these question ids, comma-separated (q001,q002)")
    p.add_argument("--model", help="GGUF model name or path (default: the settings' llm)")
    p.add_argument("--out-dir", type=Path, default=DEFAULT_REPORTS)
    p.add_argument("--retrieval-only", action="store_true", help="skip generation")
    p.add_argument("--similarity-top-k", type=int,
                   help=f"override the llama-index default ({SIMILARITY_TOP_K}); "
                   "named in the report")
    p.add_argument("--corpus", type=Path, help="articles folder (default: the settings')")
    p.add_argument("--eval-corpus", metavar="NAME",
                   help="a corpus of `qa eval --corpus` (its documents and gold set; "
                   "the report is named after it)")
    p.add_argument("--split", choices=["tune", "test"], help="only this half of the gold set")
    p.add_argument("--reader", choices=["llama-index", "qa"], default="llama-index",
                   help="who reads the files: SimpleDirectoryReader (the tutorial's; saved web "
                   "pages go in as raw HTML) or qa's extraction (generous to the starter: "
                   "the report is named -qa-reader)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    # .txt needs no extra reader; llama-index warns once per file that the extras are missing
    logging.getLogger("llama_index.core.readers.file.base").setLevel(logging.ERROR)
    try:
        corpus_dir, gold_path = args.corpus, args.gold
        if args.eval_corpus:
            c = eval_corpus(args.eval_corpus)
            corpus_dir, gold_path = c.docs or corpus_dir, c.gold
        settings = Settings.load(llm=args.model, corpus_dir=corpus_dir)
        settings = settings.replace(context_tokens=max(settings.context_tokens, CONTEXT_TOKENS))
        gold = [g for g in load_gold(gold_path) if not args.split or g.get("split") == args.split]
        if args.ids:
            wanted = [q.strip() for q in args.ids.split(",") if q.strip()]
            missing = sorted(set(wanted) - {g["id"] for g in gold})
            if missing:
                raise QAError(f"unknown question id(s): {', '.join(missing)}")
            gold = [g for g in gold if g["id"] in set(wanted)]
        gold = gold[: args.limit]
        baseline = build(settings, args.retrieval_only, args.similarity_top_k, args.reader)

        def progress(i: int, n: int, qid: str) -> None:
            print(f"\r[{i}/{n}] {qid}", end="", file=sys.stderr, flush=True)

        report = run_baseline(baseline, settings, gold, args.retrieval_only, progress)
    except QAError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(file=sys.stderr)
    name = "llamaindex-starter-" + ("retrieval" if args.retrieval_only
                                    else settings.llm.replace("/", "_"))
    if args.similarity_top_k is not None:
        name += f"-k{args.similarity_top_k}"
    if args.reader == "qa":
        name += "-qa-reader"
    if args.eval_corpus:
        name += f"-{args.eval_corpus}"
    if args.split:
        name += f"-{args.split}"
    report["name"] = name
    report["corpus"] = args.eval_corpus
    path = write_report(report, args.out_dir, name)
    s = report["scores"]
    print(" ".join(f"{k}={s[k]:.3f}" for k in ("hit@1", "hit@3", "mrr", "fact_accuracy",
                                                "abstention_precision", "abstention_recall",
                                                "cited_right_file", "latency_total_s_p50",
                                                "latency_prompt_tokens_p50") if k in s))
    for r in report["per_question"]:
        t = r.get("timings") or {}
        if args.retrieval_only:
            print(f"{r['id']}: retrieve {t.get('retrieve_s')}s {r.get('retrieved')}")
            continue
        print(f"{r['id']}: total {t.get('total_s')}s first_token {t.get('first_token_s')}s "
              f"retrieve {t.get('retrieve_s')}s prompt_tokens {r.get('prompt_tokens')} "
              f"abstained {r.get('abstained')} | {(r.get('answer') or '')[:100]!r}")
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
