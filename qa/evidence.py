"""Evidence selection: the sentences the model reads, chosen one by one under a token budget.

Whole chunks waste the small model's attention (a 100-word chunk holds one relevant sentence
and four others it may answer from) and, cut to a budget by word overlap, lose the relevant
sentence when question and article differ in language. So evidence is chosen at sentence level
(the small-to-big / sentence-window pattern):

1. candidates are the sentences of the best fused chunks plus the best sentences of the whole
   corpus by dense cosine (each sentence has its own vector, embedded at ingest);
2. each is scored by its cosine to the question, standardised over the candidates, plus a bonus
   for the rank of the chunk it sits in (hybrid retrieval has already weighed BM25 and the
   dense side) and one for the question terms it shares (names and numbers survive
   translation); a question of several parts is scored once per part, with the part's own
   vector and terms (plus half the whole question's cosine), each relative to its part's best;
3. every part of the question first gets its best sentence; then sentences are taken best first
   while their score stays within ``margin`` of their part's best and the budget allows, the
   best ones with a neighbour on each side for context;
4. the chosen sentences are merged into windows, grouped by article, articles ordered by their
   best sentence and windows in document order, so the prompt reads like the articles.

The price: a few more numbers to tune (weights, margin), chosen on the tuning half of the gold
set (``eval/README.md``), and sentence vectors stored beside the chunk vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from qa.cleaning import headline_like
from qa.questions import asks_for_quantity
from qa.text import terms
from qa.types import Hit, Passage, Sentence

if TYPE_CHECKING:
    from qa.embedders import Embedder
    from qa.filters import Filter
    from qa.stores.base import Store


@dataclass(frozen=True)
class EvidenceConfig:
    # defaults chosen by scripts/tune_evidence.py on the tuning half (eval/README.md)
    chunks: int = 8  # sentences of the best fused chunks are candidates ...
    global_sentences: int = 8  # ... and the corpus's best sentences by cosine
    chunk_weight: float = 2.0  # bonus for a sentence inside a highly ranked chunk
    term_weight: float = 3.0  # bonus x idf-weighted share of the question's terms it has
    margin: float = 2.5  # take sentences scoring at least best - margin
    number_weight: float = 1.5  # bonus for a sentence with a number when a quantity is asked
    neighbours: int = 1  # this many best sentences get a neighbour on each side
    max_windows: int = 6
    # each part of a multi-part question scored on its own (its own vector, terms and number
    # bonus) and sentences taken within ``margin`` of *their part's* best, not the overall best
    # (eval/README.md, third session; False: the parts share the question's scores, as before)
    per_part: bool = True
    # ... each part's cosine standardised plus this share of the whole question's (the part
    # "which package does it load?" names no subject; the question does)
    question_weight: float = 0.5
    # a chosen sentence ending in a colon ("Run this command:") takes the sentence after it,
    # which it introduces (eval/README.md, fourth session)
    continuation: bool = True


def _heading(text: str, u: Sentence) -> bool:
    r"""A line of its own, short and without a sentence's final punctuation (and no number).

    >>> t = "Alibaba setzt groß auf KI\nCEO Eddie Wu sprach.\nUmsatz 2024"
    >>> [_heading(t, Sentence("", "", s, e)) for s, e in [(0, 25), (26, 46), (47, 58)]]
    [True, False, False]
    """
    s = text[u.start:u.end]
    own_line = (u.start == 0 or text[u.start - 1] == "\n") and (u.end == len(text) or text[u.end] == "\n")
    return (own_line and headline_like(s, max_words=10)
            and not any(ch.isdigit() for ch in s))


def _standardise(x: np.ndarray) -> np.ndarray:
    if len(x) < 2:
        return np.zeros_like(x)
    sd = float(x.std())
    return (x - x.mean()) / (sd if sd > 1e-6 else 1.0)


@dataclass(frozen=True)
class Scored:
    index: int  # into the index's sentence list
    score: float
    part: int  # which question part it matches best


def score_sentences(part_vectors: np.ndarray, part_terms: Sequence[set[str]],
                    hits: Sequence[Hit], sentences: Sequence[Sentence],
                    sentence_vectors: np.ndarray, doc_text: Callable[[str], str],
                    cfg: EvidenceConfig = EvidenceConfig(),
                    idf: Callable[[str], float] = lambda _: 1.0,
                    quantity: Sequence[bool] = (),
                    by_doc: dict[str, list[int]] | None = None,
                    pool: Sequence[int] | None = None) -> list[Scored]:
    """Candidate sentences with their scores, best first (see the module docstring). The term
    share is weighted by ``idf``, so the corpus's subject (a company every article names)
    counts for little and a rare name or number for much. ``quantity[p]``: part ``p`` asks for
    an amount, so sentences with a number get ``number_weight``. The corpus's best sentences
    by cosine are taken from ``pool`` (indices; default: all of ``sentences``)."""
    if not len(sentences) or not hits:
        return []
    by_doc = by_doc if by_doc is not None else sentences_by_doc(sentences)
    chunk_bonus: dict[int, float] = {}
    for rank, h in enumerate(hits[:cfg.chunks]):
        c = h.chunk
        for i in by_doc.get(c.doc_id, []):
            u = sentences[i]
            if u.start < c.end and c.start < u.end:
                chunk_bonus[i] = max(chunk_bonus.get(i, 0.0), 1.0 / (1 + rank))
    sims = sentence_vectors @ part_vectors.T  # (n_sentences, n_parts)
    best_cos = sims.max(axis=1)
    cand = set(chunk_bonus)
    if cfg.global_sentences:
        among = np.arange(len(sentences)) if pool is None else np.asarray(sorted(set(pool)), int)
        if len(among):
            top = among[np.argsort(-best_cos[among], kind="stable")[:cfg.global_sentences]]
            cand |= set(top.tolist())
    # headings and list labels ("Alibaba setzt groß auf KI") match any question on their subject
    # and answer none; the small model copies them as its answer. They are shown only as the
    # neighbour of a chosen sentence.
    cand = {i for i in cand if not _heading(doc_text(sentences[i].doc_id), sentences[i])}
    if not cand:
        return []
    idx = np.array(sorted(cand))
    cand_terms = [terms(doc_text(sentences[i].doc_id)[sentences[i].start:sentences[i].end])
                  for i in idx]
    has_number = np.array([any(ch.isdigit() for ch in doc_text(sentences[i].doc_id)
                               [sentences[i].start:sentences[i].end]) for i in idx], float)
    bonus = cfg.chunk_weight * np.array([chunk_bonus.get(int(i), 0.0) for i in idx])

    def share(t: set[str], pt: set[str]) -> float:
        return sum(idf(w) for w in t & pt) / sum(idf(w) for w in pt) if pt else 0.0

    if not cfg.per_part or sims.shape[1] < 2:
        dense = _standardise(best_cos[idx])
        shares = np.array([max((share(t, pt) for pt in part_terms), default=0.0)
                           for t in cand_terms])
        total = (dense + bonus + cfg.term_weight * shares
                 + (cfg.number_weight * has_number if any(quantity) else 0.0))
        return sorted((Scored(int(i), float(total[j]), int(np.argmax(sims[i])))
                       for j, i in enumerate(idx)), key=lambda s: (-s.score, s.index))
    # per part: a column of scores for each, each relative to its own best sentence
    cols = []
    for p in range(sims.shape[1]):
        col = (_standardise(sims[idx, p]) + bonus
               + (cfg.question_weight * _standardise(sims[idx, 0]) if p else 0.0)
               + cfg.term_weight * np.array([share(t, part_terms[p]) for t in cand_terms])
               + (cfg.number_weight * has_number if p < len(quantity) and quantity[p] else 0.0))
        cols.append(col - col.max())
    rel = np.stack(cols, axis=1)  # (n_candidates, n_parts), 0 = a part's best sentence
    out = [Scored(int(i), float(rel[j].max()), int(np.argmax(rel[j]))) for j, i in enumerate(idx)]
    return sorted(out, key=lambda s: (-s.score, s.index))


def sentences_by_doc(sentences: Sequence[Sentence]) -> dict[str, list[int]]:
    """doc_id -> indices of its sentences, in order."""
    out: dict[str, list[int]] = {}
    for i, u in enumerate(sentences):
        out.setdefault(u.doc_id, []).append(i)
    return out


def continues(text: str) -> bool:
    """Does the sentence ``text`` lead into the next one? One that ends with a colon introduces
    what follows: a command, a list, a quotation. (A sentence without final punctuation, a line
    cut off mid-clause, was tried too: it cost docs-de 41 prompt tokens a question and lost
    evidence, eval/README.md.)

    >>> continues("Nach dem Konfigurieren führen Sie folgenden Befehl aus:")
    True
    >>> continues("Debian wurde 1993 gegründet."), continues("die Klasse jurabook, die u. a. die")
    (False, False)
    """
    return text.rstrip().rstrip("\"'“”’»«)]").endswith(":")


def choose(scored: Sequence[Scored], sentences: Sequence[Sentence], n_parts: int,
           budget: int, cost: Callable[[int], int],
           cfg: EvidenceConfig = EvidenceConfig(),
           leads_on: Callable[[int], bool] = lambda _: False) -> list[int]:
    """Sentence indices to show, within ``budget`` tokens (``cost(i)`` of sentence ``i``).

    >>> s = [Sentence(f"s{i}", "d", i * 10, i * 10 + 9) for i in range(6)]
    >>> sc = [Scored(3, 2.0, 0), Scored(0, 1.5, 0), Scored(5, -1.0, 0)]
    >>> choose(sc, s, 1, budget=40, cost=lambda i: 10, cfg=EvidenceConfig(neighbours=1))
    [0, 2, 3, 4]
    """
    if not scored:
        return []
    chosen: dict[int, None] = {}
    left = budget

    def take(i: int) -> bool:
        nonlocal left
        if i in chosen:
            return True
        c = cost(i)
        if c > left:
            return False
        chosen[i] = None
        left -= c
        j = i + 1  # a sentence that leads into the next one brings it along
        if (leads_on(i) and j < len(sentences)
                and sentences[j].doc_id == sentences[i].doc_id):
            take(j)
        return True

    best = scored[0].score
    firsts = []  # every part's best sentence first
    for p in range(n_parts):
        top = next((s for s in scored if s.part == p), None)
        if top is not None and top.score >= best - 2 * cfg.margin:
            firsts.append(top)
    order = list(dict.fromkeys(firsts + [s for s in scored if s.score >= best - cfg.margin]))
    for rank, s in enumerate(order):
        if not take(s.index) and rank >= len(firsts):
            continue
        if rank < cfg.neighbours:
            u = sentences[s.index]
            for j in (s.index - 1, s.index + 1):
                if 0 <= j < len(sentences) and sentences[j].doc_id == u.doc_id:
                    take(j)
    return sorted(chosen)


def windows(chosen: Sequence[int], sentences: Sequence[Sentence],
            rank_of: dict[int, int]) -> list[list[int]]:
    """Runs of consecutive chosen sentences of one document; documents ordered by their best
    sentence (``rank_of``: sentence index -> rank), runs inside a document in text order.

    >>> s = [Sentence(f"s{i}", "a" if i < 3 else "b", i, i + 1) for i in range(5)]
    >>> windows([0, 1, 3, 4], s, {3: 0, 0: 1})
    [[3, 4], [0, 1]]
    """
    runs: list[list[int]] = []
    for i in sorted(chosen):
        if runs and runs[-1][-1] == i - 1 and sentences[runs[-1][-1]].doc_id == sentences[i].doc_id:
            runs[-1].append(i)
        else:
            runs.append([i])
    big = len(sentences) + 1
    doc_rank: dict[str, int] = {}
    for run in runs:
        r = min(rank_of.get(i, big) for i in run)
        d = sentences[run[0]].doc_id
        doc_rank[d] = min(doc_rank.get(d, big), r)
    return sorted(runs, key=lambda run: (doc_rank[sentences[run[0]].doc_id], run[0]))


def to_passages(runs: Sequence[Sequence[int]], sentences: Sequence[Sentence],
                hits: Sequence[Hit], doc_text: Callable[[str], str],
                doc_meta: Callable[[str], dict[str, str]],
                chunk_for: Callable[[str, int, int], Hit | None]) -> list[Passage]:
    """Windows as numbered passages; each keeps the chunk hit it lies in (for scores and ids)
    and its article's title and date (``doc_meta(doc_id)``)."""
    out: list[Passage] = []
    for run in runs:
        first, last = sentences[run[0]], sentences[run[-1]]
        text = doc_text(first.doc_id)
        hit = chunk_for(first.doc_id, first.start, last.end) or hits[0]
        out.append(Passage(len(out) + 1, hit, text[first.start:last.end], first.start, last.end,
                           **doc_meta(first.doc_id)))
    return out


def term_idf(n_sentences: int, df: dict[str, int]) -> Callable[[str], float]:
    """Inverse sentence frequency of ``terms``, from the number of sentences and the sentence
    frequency of each term (``Store.sentence_frequencies``).

    >>> f = term_idf(2, {"aliba": 2, "wächs": 1})
    >>> round(f("aliba"), 2), round(f("wächs"), 2), round(f("unbek"), 2)
    (0.0, 0.41, 1.1)
    """
    def idf(w: str) -> float:
        return max(float(np.log((n_sentences + 1) / (df.get(w, 0) + 1))), 1e-3)

    return idf


def evidence_queries(question: str, parts: Sequence[str], per_part: bool = True) -> list[str]:
    """What evidence is searched with: the question, then every part on its own, so each finds
    its own sentences; a part that names nothing of its own ("what does it use it for?": no
    terms) keeps the question as context. Without ``per_part`` (the earlier scoring): the
    question, then each further part with the question as its context.

    >>> evidence_queries("Wer führt Nordwind und wie hoch ist der Umsatz?",
    ...                  ["Wer führt Nordwind?", "was ist es?"])[1:]
    ['Wer führt Nordwind?', 'was ist es? Wer führt Nordwind und wie hoch ist der Umsatz?']
    >>> evidence_queries("A und wann?", ["A?", "wann?"], per_part=False)
    ['A und wann?', 'wann? A und wann?']
    """
    if per_part and len(parts) > 1:
        return [question] + [p if terms(p) else f"{p} {question}" for p in parts]
    return [question] + [f"{p} {question}" for p in parts[1:]]


def select_evidence(parts: Sequence[str], hits: Sequence[Hit], store: Store, embedder: Embedder,
                    budget: int, count_tokens: Callable[[str], int],
                    cfg: EvidenceConfig = EvidenceConfig(),
                    first_vector: np.ndarray | None = None,
                    allowed: Filter | None = None) -> list[Passage]:
    """Passages for the prompt from a store with sentence units: ``parts`` is the question
    followed by its parts when it has several; ``first_vector`` is the question's vector when
    retrieval already computed it (only the parts are embedded); ``allowed``: the corpus's
    best sentences are searched only in the documents this filter allows.

    Only the documents of the best chunks and of the corpus's best sentences are read: their
    sentences, in document order, are the local list every index below points into."""
    if not hits:
        return []
    if first_vector is None:
        vecs = embedder.embed(list(parts), "query")
    elif len(parts) > 1:
        vecs = np.vstack([first_vector[None, :], embedder.embed(list(parts[1:]), "query")])
    else:
        vecs = first_vector[None, :]
    best: list[Sentence] = []  # the corpus's best sentences for any part
    if cfg.global_sentences:
        kw = {"allowed": allowed} if allowed else {}
        for v in vecs:
            best += [u for u, _ in store.search_sentences(v, cfg.global_sentences, **kw)]
    doc_ids = list(dict.fromkeys([h.chunk.doc_id for h in hits[:cfg.chunks]]
                                 + [u.doc_id for u in best]))
    docs = {d: doc for d in doc_ids if (doc := store.document(d)) is not None}
    sentences = [u for d in docs for u in store.sentences_of(d)]
    if not sentences:
        return []
    position = {u.sentence_id: i for i, u in enumerate(sentences)}
    sentence_vectors = store.sentence_vectors_of([u.sentence_id for u in sentences])
    part_terms = [terms(p) for p in parts]
    n, df = store.sentence_frequencies(set().union(*part_terms))

    def text_of(doc_id: str) -> str:
        return docs[doc_id].text

    scored = score_sentences(vecs, part_terms, hits, sentences, sentence_vectors, text_of, cfg,
                             term_idf(n, df), [asks_for_quantity(p) for p in parts],
                             sentences_by_doc(sentences),
                             pool=[position[u.sentence_id] for u in best
                                   if u.sentence_id in position])
    costs: dict[int, int] = {}

    def cost(i: int) -> int:
        if i not in costs:
            u = sentences[i]
            costs[i] = count_tokens(text_of(u.doc_id)[u.start:u.end]) + 1
        return costs[i]

    def leads_on(i: int) -> bool:
        u = sentences[i]
        return cfg.continuation and continues(text_of(u.doc_id)[u.start:u.end])

    chosen = choose(scored, sentences, n_parts=len(parts), budget=budget, cost=cost, cfg=cfg,
                    leads_on=leads_on)
    rank_of = {s.index: r for r, s in enumerate(scored)}
    runs = windows(chosen, sentences, rank_of)[:cfg.max_windows]

    def chunk_for(doc_id: str, start: int, end: int) -> Hit | None:
        for h in hits:
            c = h.chunk
            if c.doc_id == doc_id and c.start <= start < c.end:
                return h
        for c in store.chunks_of(doc_id):
            if c.start <= start < c.end:
                return Hit(chunk=c, score=0.0)
        return None

    def meta(doc_id: str) -> dict[str, str]:
        d = docs[doc_id]
        return {"title": d.title, "date": str(d.meta.get("date") or "")}

    return to_passages(runs, sentences, hits, text_of, meta, chunk_for)
