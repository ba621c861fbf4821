"""Deterministic fakes shipped with the library, for tests of code that uses qa.

``FakeEmbedder`` hashes words and character trigrams into a vector, so texts that share words are
close and ranking can be tested; ``FakeGenerator`` replays queued replies (or echoes the first
passage) and records every prompt it saw.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.embedders import Kind
from qa.generators import Message
from qa.types import Chunk, Document, Hit, Passage

if TYPE_CHECKING:
    from qa.stores.base import DocumentRecord, IndexConfig


class FakeEmbedder:
    """Bag of hashed words + trigrams, L2-normalised. Same text, same vector; shared words, close."""

    def __init__(self, dim: int = 256, name: str = "fake-embedder") -> None:
        self.dim = dim
        self.name = name
        self.calls: list[tuple[Kind, int]] = []

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        words = re.findall(r"\w+", text.lower())
        feats = words + [w[i:i + 3] for w in words for i in range(max(1, len(w) - 2))]
        for f in feats:
            h = int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        self.calls.append((kind, len(texts)))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])


@dataclass
class FakeGenerator:
    """Replays ``enqueue``d replies token by token; with none queued, answers from the prompt:
    it quotes the first sentence of passage [1] with a [1] marker."""

    name: str = "fake-generator"
    replies: list[str] = field(default_factory=list)
    history: list[list[Message]] = field(default_factory=list)

    def enqueue(self, *replies: str) -> None:
        self.replies.extend(replies)

    def stream(self, messages: Sequence[Message], max_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        self.history.append(list(messages))
        if self.replies:
            reply = self.replies.pop(0)
        else:
            prompt = messages[-1]["content"]
            m = re.search(r"^\[1\] ([^\n]+)", prompt, re.M)
            first = re.split(r"(?<=[.!?])\s", m.group(1).strip())[0] if m else "Keine Angabe."
            reply = f"{first} [1]"
        yield from re.findall(r"\S+\s*", reply)[:max_tokens]


@dataclass
class FakeProbingGenerator(FakeGenerator):
    """A ``FakeGenerator`` that is also ``StartProbing``: ``start_probability`` returns
    ``probability`` for any starts (``start_probabilities`` the same for each group); ``stream`` records the ``avoid_starts`` of every call and,
    with ``avoid_starts``, skips queued replies that begin with one of them (as the real model
    cannot produce them)."""

    name: str = "fake-probing-generator"
    probability: float = 0.0
    probes: int = 0
    avoided: list[tuple[str, ...]] = field(default_factory=list)

    def start_probability(self, messages: Sequence[Message], starts: Sequence[str]) -> float:
        self.probes += 1
        return self.probability

    def start_probabilities(self, messages: Sequence[Message],
                            groups: Sequence[Sequence[str]]) -> list[float]:
        return [self.start_probability(messages, g) for g in groups]

    def stream(self, messages: Sequence[Message], max_tokens: int = 256,
               temperature: float = 0.0, avoid_starts: Sequence[str] = ()) -> Iterator[str]:
        self.avoided.append(tuple(avoid_starts))
        while avoid_starts and self.replies and self.replies[0].startswith(tuple(avoid_starts)):
            self.replies.pop(0)
        return super().stream(messages, max_tokens, temperature)


# -- contract tests ---------------------------------------------------------------------------
# One mixin per protocol. A test class inherits the mixin and provides the fixture the mixin
# names; pytest then runs every contract test against that implementation (haystack's
# ``testing/document_store.py`` pattern). The mixins import pytest lazily, so ``qa.testing``
# stays importable without it.

def passage(n: int, text: str, source: str = "a.txt", title: str = "") -> Passage:
    """A passage ``[n]`` of ``text`` alone (one chunk of one document), for unit tests."""
    chunk = Chunk(f"{source}:{n}", source, source, title, text, 0, len(text))
    return Passage(n, Hit(chunk, 1.0), text, 0, len(text), title)


def make_document(text: str, source: str, title: str = "") -> Document:
    """A cleaned ``Document`` from text, with the ids ingest makes (``qa.corpus.document_id``)."""
    from qa.corpus import document_id

    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Document(doc_id=document_id(source, text), source=source, title=title or text.split(".")[0][:60],
                    text=text, sha256=digest)


def make_record(document: Document, embedder: FakeEmbedder | None = None,
                chunk_words: int = 12) -> DocumentRecord:
    """The ``DocumentRecord`` ingest would write for ``document`` (small chunks, fake vectors)."""
    from qa.chunking import chunk_document, sentence_units
    from qa.stores.base import DocumentRecord

    embedder = embedder or FakeEmbedder(dim=32)
    chunks = chunk_document(document, chunk_words, 0)
    sentences = sentence_units(document)
    return DocumentRecord(
        document, chunks, embedder.embed([c.text for c in chunks], "passage"), sentences,
        embedder.embed([document.text[u.start:u.end] for u in sentences], "passage"))


CONTRACT_TEXTS = {
    "a.txt": "Alibaba baut neue Rechenzentren in Brasilien. Die Cloud wächst um 26 Prozent. "
             "Eddie Wu leitet den Konzern seit 2023.",
    "b.txt": "Qwen3-Max hat mehr als eine Billion Parameter. Das Modell ist kostenlos. "
             "Es wurde im September vorgestellt.",
    "c.txt": "Die Aktie stieg in Hongkong um neun Prozent. Anleger hoffen auf KI-Umsätze. "
             "Der Umsatz lag bei 248 Milliarden Yuan.",
}


class StoreContract:
    """Contract of ``qa.stores.base.StoreBackend`` and the ``Store`` it opens.

    Provide two fixtures: ``backend`` (a fresh, empty backend per test) and ``reopen`` (a
    function giving a second backend object on the same location, as another process would
    open it)."""

    dim = 32

    @staticmethod
    def config(**changes: Any) -> IndexConfig:
        from qa.stores.base import IndexConfig

        base = dict(embed_model="fake-embedder", query_prefix="", passage_prefix="",
                    chunk_words=12, chunk_overlap_sentences=0)
        return IndexConfig(**{**base, **changes})

    def records(self, *sources: str) -> list[DocumentRecord]:
        emb = FakeEmbedder(dim=self.dim)
        return [make_record(make_document(CONTRACT_TEXTS[s], s), emb)
                for s in (sources or CONTRACT_TEXTS)]

    def write(self, backend: Any, records: Sequence[DocumentRecord], **kw: Any) -> Any:
        with backend.lock():
            backend.write(self.config(), self.dim, records, **kw)
        return backend.open(self.config())

    # -- tests ---------------------------------------------------------------------------------
    def test_no_index_is_refused_with_a_hint(self, backend: Any) -> None:
        import pytest

        from qa.errors import IndexMismatchError

        assert not backend.exists()
        with pytest.raises(IndexMismatchError, match="qa ingest"):
            backend.open(self.config())

    def test_empty_store_answers_nothing(self, backend: Any) -> None:
        store = self.write(backend, [])
        q = FakeEmbedder(dim=self.dim).embed(["Alibaba"], "query")[0]
        assert backend.exists()
        assert store.search(q, 5) == [] and store.search_sentences(q, 5) == []
        assert store.lexical_search("Alibaba", 5) == []
        assert store.list_documents() == [] and store.manifest["documents"] == {}

    def test_search_is_best_first_and_scores_are_cosines(self, backend: Any) -> None:
        recs = self.records()
        store = self.write(backend, recs)
        emb = FakeEmbedder(dim=self.dim)
        target = recs[1].chunks[0]
        q = emb.embed([target.text], "query")[0]
        hits = store.search(q, 3)
        assert hits[0][0] == target.chunk_id and abs(hits[0][1] - 1.0) < 1e-4
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
        assert store.score([i for i, _ in hits], q) == [pytest_approx(s) for _, s in hits]

    def test_k_larger_than_the_store(self, backend: Any) -> None:
        recs = self.records("a.txt")
        store = self.write(backend, recs)
        q = FakeEmbedder(dim=self.dim).embed(["Cloud"], "query")[0]
        n = len(recs[0].chunks)
        assert len(store.search(q, 1000)) == n
        assert len(store.search_sentences(q, 1000)) == len(recs[0].sentences)
        assert store.search(q, 0) == []

    def test_chunks_round_trip_by_id(self, backend: Any) -> None:
        import pytest

        recs = self.records()
        store = self.write(backend, recs)
        want = [c for r in recs for c in r.chunks]
        assert store.chunks_by_id([c.chunk_id for c in reversed(want)]) == list(reversed(want))
        assert store.chunks_of(recs[2].document.doc_id) == list(recs[2].chunks)
        assert store.chunks_of("no-such-document") == []
        with pytest.raises(KeyError):
            store.chunks_by_id(["no-such-chunk"])

    def test_sentences_and_their_vectors(self, backend: Any) -> None:
        recs = self.records()
        store = self.write(backend, recs)
        r = recs[0]
        assert store.sentences_of(r.document.doc_id) == list(r.sentences)
        ids = [u.sentence_id for u in r.sentences]
        got = store.sentence_vectors_of(ids[::-1])
        assert got.dtype == np.float32 and got.shape == (len(ids), self.dim)
        assert np.allclose(got, r.sentence_vectors[::-1], atol=1e-5)
        q = r.sentence_vectors[1]
        assert store.search_sentences(q, 1)[0][0] == r.sentences[1]

    def test_lexical_search_and_coverage(self, backend: Any) -> None:
        recs = self.records()
        store = self.write(backend, recs)
        hits = store.lexical_search("Hongkong Aktie", 5)
        assert hits and store.chunks_by_id([hits[0][0]])[0].doc_id == recs[2].document.doc_id
        assert all(s > 0 for _, s in hits)
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
        assert store.lexical_search("Zzyzx Quux", 5) == []
        assert store.lexical_coverage("Hongkong Aktie") == 1.0
        assert store.lexical_coverage("Zzyzx Quux") == 0.0

    def test_sentence_frequencies(self, backend: Any) -> None:
        from qa.text import terms

        recs = self.records()
        store = self.write(backend, recs)
        n, df = store.sentence_frequencies({"proze", "billi", "zzyzx"})
        assert n == sum(len(r.sentences) for r in recs)
        want = sum("proze" in terms(r.document.text[u.start:u.end])
                   for r in recs for u in r.sentences)
        assert df.get("proze") == want == 2 and df.get("billi") == 1 and not df.get("zzyzx")

    def test_documents_and_manifest(self, backend: Any) -> None:
        recs = self.records()
        store = self.write(backend, recs)
        docs = [r.document for r in recs]
        assert [d.source for d in store.list_documents()] == [d.source for d in docs]
        assert store.document(docs[1].doc_id) == docs[1]
        assert store.document_by_source("c.txt") == docs[2]
        assert store.document("nope") is None and store.document_by_source("nope") is None
        m = store.manifest
        assert m["dim"] == self.dim and m["config"]["embed_model"] == "fake-embedder"
        assert m["documents"]["a.txt"]["doc_id"] == docs[0].doc_id
        assert m["documents"]["a.txt"]["chunks"] == len(recs[0].chunks)
        assert m["chunks"] == sum(len(r.chunks) for r in recs)

    def test_upsert_of_the_same_record_is_idempotent(self, backend: Any) -> None:
        recs = self.records()
        first = self.write(backend, recs)
        before = (first.manifest["documents"], first.manifest["chunks"],
                  first.list_documents())
        again = self.write(backend, recs[:1])
        assert (again.manifest["documents"], again.manifest["chunks"],
                again.list_documents()) == before

    def test_delete_removes_a_document_whole(self, backend: Any) -> None:
        recs = self.records()
        self.write(backend, recs)
        gone = recs[1]
        store = self.write(backend, [], delete=[gone.document.doc_id, "unknown-id"])
        assert "b.txt" not in store.manifest["documents"]
        assert store.document(gone.document.doc_id) is None
        q = gone.chunk_vectors[0]
        assert all(i not in {c.chunk_id for c in gone.chunks} for i, _ in store.search(q, 50))
        ids = {u.sentence_id for u in gone.sentences}
        assert all(u.sentence_id not in ids for u, _ in store.search_sentences(q, 50))
        assert all(store.chunks_by_id([i])[0].doc_id != gone.document.doc_id
                   for i, _ in store.lexical_search("Parameter Modell", 50))
        assert store.sentences_of(gone.document.doc_id) == []

    def test_replace_keeps_only_the_new_records(self, backend: Any) -> None:
        self.write(backend, self.records())
        store = self.write(backend, self.records("c.txt"), replace=True)
        assert list(store.manifest["documents"]) == ["c.txt"]

    def test_a_changed_document_replaces_its_old_version(self, backend: Any) -> None:
        old = self.records("a.txt")[0]
        self.write(backend, [old])
        new = make_record(make_document(CONTRACT_TEXTS["a.txt"] + " Neu ist Chile.", "a.txt"),
                          FakeEmbedder(dim=self.dim))
        store = self.write(backend, [new], delete=[old.document.doc_id])
        assert store.document_by_source("a.txt") == new.document
        assert store.chunks_of(old.document.doc_id) == []
        assert store.manifest["chunks"] == len(new.chunks)

    def test_identical_text_under_two_names_is_two_documents(self, backend: Any,
                                                             tmp_path: Path) -> None:
        """Identity is the source: a copy of a file is a second document, and an unchanged
        folder is up to date on the second ingest (issue 24, defect 1)."""
        from qa.corpus import load_corpus
        from qa.indexing import update_index

        for name, text in CONTRACT_TEXTS.items():
            (tmp_path / name).write_text(text)
        (tmp_path / "a_copy.txt").write_text(CONTRACT_TEXTS["a.txt"])
        docs = load_corpus([tmp_path]).documents
        emb = FakeEmbedder(dim=self.dim)
        reports = [update_index(backend, docs, emb, self.config()) for _ in range(3)]
        assert sorted(reports[0].added) == ["a.txt", "a_copy.txt", "b.txt", "c.txt"]
        assert [r.wrote for r in reports] == [True, False, False]
        assert "up to date: 4 documents" in reports[2].summary()
        store = backend.open(self.config())
        assert sorted(d.source for d in store.list_documents()) == sorted(reports[0].added)
        a, copy = store.document_by_source("a.txt"), store.document_by_source("a_copy.txt")
        assert a.text == copy.text and a.doc_id != copy.doc_id
        assert {c.source for c in store.chunks_of(copy.doc_id)} == {"a_copy.txt"}

    def test_reload_round_trip(self, backend: Any, reopen: Any) -> None:
        recs = self.records()
        store = self.write(backend, recs)
        other = reopen(backend).open(self.config())
        q = recs[0].chunk_vectors[0]
        assert other.search(q, 5) == pytest_approx_ranked(store.search(q, 5))
        assert other.list_documents() == store.list_documents()
        assert other.lexical_search("Cloud", 3) == pytest_approx_ranked(
            store.lexical_search("Cloud", 3))

    def test_other_settings_are_refused_with_a_hint(self, backend: Any) -> None:
        import pytest

        from qa.errors import IndexMismatchError

        self.write(backend, self.records("a.txt"))
        with pytest.raises(IndexMismatchError, match="chunk_words.*--rebuild"):
            backend.open(self.config(chunk_words=40))
        assert backend.open(None).manifest["config"]["chunk_words"] == 12

    # -- filters (qa.filters): applied inside the store, not by cutting a top-k ------------------
    def filter_records(self) -> list[DocumentRecord]:
        """Four documents in folders, with dates, one of them English, for the filter tests."""
        from dataclasses import replace

        emb = FakeEmbedder(dim=self.dim)
        texts = {**{f"team-a/{s}": t for s, t in CONTRACT_TEXTS.items() if s != "c.txt"},
                 "team-b/c.txt": CONTRACT_TEXTS["c.txt"],
                 "team-b/en.txt": "Alibaba builds new data centres in Brazil. The cloud grew by "
                                  "26 percent. Eddie Wu has led the group since 2023."}
        dates = {"team-a/a.txt": "2025-08-14", "team-a/b.txt": "2025-09-23",
                 "team-b/c.txt": "2025-10-02"}
        return [make_record(replace(make_document(t, s), meta={"date": dates[s]}
                                    if s in dates else {}), emb)
                for s, t in texts.items()]

    def test_a_filter_returns_only_the_allowed_document(self, backend: Any) -> None:
        from qa.filters import Filter

        recs = self.filter_records()
        store = self.write(backend, recs)
        b = recs[1]  # team-a/b.txt; the question is a's first chunk, so a scores higher
        q = FakeEmbedder(dim=self.dim).embed([recs[0].chunks[0].text], "query")[0]
        assert store.search(q, 1)[0][0] == recs[0].chunks[0].chunk_id
        only_b = Filter(sources=("team-a/b.txt",))
        n = len(b.chunks)
        hits = store.search(q, n, only_b)
        assert sorted(i for i, _ in hits) == sorted(c.chunk_id for c in b.chunks)  # k results
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
        assert {u.doc_id for u, _ in store.search_sentences(q, 100, only_b)} == {b.document.doc_id}
        assert len(store.search_sentences(q, 100, only_b)) == len(b.sentences)
        assert store.lexical_search("Alibaba Rechenzentren", 5)  # a's words only ...
        assert store.lexical_search("Alibaba Rechenzentren", 5, only_b) == []  # ... not in b
        lexical = store.lexical_search("Modell Parameter", 5, only_b)
        assert lexical and {store.chunks_by_id([i])[0].doc_id for i, _ in lexical} == {
            b.document.doc_id}
        assert store.search(q, 5, Filter(sources=("nothing-*.txt",))) == []

    def test_filters_by_date_tag_glob_and_language(self, backend: Any) -> None:
        from qa.filters import make_filter

        recs = self.filter_records()
        store = self.write(backend, recs)
        q = FakeEmbedder(dim=self.dim).embed(["Alibaba Cloud Prozent"], "query")[0]
        source = {r.document.doc_id: r.document.source for r in recs}

        def found(**kw: Any) -> set[str]:
            f = make_filter(**kw)
            dense = {source[store.chunks_by_id([i])[0].doc_id] for i, _ in store.search(q, 50, f)}
            sentences = {source[u.doc_id] for u, _ in store.search_sentences(q, 50, f)}
            assert dense == sentences
            return dense

        assert found(date_from="2025-09-01") == {"team-a/b.txt", "team-b/c.txt"}  # no date: out
        assert found(date_from="2025-09", date_to="2025-09") == {"team-a/b.txt"}
        assert found(tags="team-b") == {"team-b/c.txt", "team-b/en.txt"}
        assert found(sources=["*/a.txt", "en.txt"]) == {"team-a/a.txt", "team-b/en.txt"}
        assert found(language="en") == {"team-b/en.txt"}
        assert found(language="de", tags=["team-b"]) == {"team-b/c.txt"}


def pytest_approx(x: float) -> Any:
    import pytest

    return pytest.approx(x, abs=1e-4)


def pytest_approx_ranked(ranked: Sequence[tuple[str, float]]) -> list[Any]:
    import pytest

    return [(i, pytest.approx(s, abs=1e-4)) for i, s in ranked]


class EmbedderContract:
    """Contract of ``qa.embedders.Embedder``: provide an ``embedder`` fixture."""

    def test_unit_length_float32_rows(self, embedder: Any) -> None:
        v = embedder.embed(["Alibaba baut Rechenzentren.", "The cloud grew."], "passage")
        assert v.dtype == np.float32 and v.shape == (2, embedder.dim)
        assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)

    def test_deterministic(self, embedder: Any) -> None:
        a = embedder.embed(["Wie viele Parameter hat Qwen3-Max?"], "query")
        b = embedder.embed(["Wie viele Parameter hat Qwen3-Max?"], "query")
        assert np.allclose(a, b, atol=1e-5)

    def test_empty_input(self, embedder: Any) -> None:
        v = embedder.embed([], "query")
        assert v.shape == (0, embedder.dim)

    def test_related_texts_are_closer(self, embedder: Any) -> None:
        q, near, far = embedder.embed(["Alibaba Cloud Rechenzentren",
                                       "Alibaba baut Rechenzentren für die Cloud",
                                       "Rezept für Apfelkuchen mit Zimt"], "passage")
        assert float(q @ near) > float(q @ far)

    def test_batch_order_is_kept(self, embedder: Any) -> None:
        texts = [f"Satz Nummer {i} über Thema {i % 3}" for i in range(7)]
        together = embedder.embed(texts, "passage")
        alone = np.vstack([embedder.embed([t], "passage") for t in texts])
        assert np.allclose(together, alone, atol=1e-4)


class GeneratorContract:
    """Contract of ``qa.generators.Generator``: provide a ``generator`` fixture (one that can
    answer a short German prompt; a fake is given replies by the fixture)."""

    messages: list[Message] = [
        {"role": "system", "content": "Antworte kurz."},
        {"role": "user", "content": "[1] Alibaba baut Rechenzentren in Brasilien.\n\n"
                                    "Frage: Wo baut Alibaba Rechenzentren? Antwort:"},
    ]

    def test_streams_text_pieces(self, generator: Any) -> None:
        pieces = list(generator.stream(self.messages, max_tokens=16, temperature=0.0))
        assert pieces and all(isinstance(p, str) for p in pieces)
        assert "".join(pieces).strip()

    def test_has_a_name(self, generator: Any) -> None:
        assert isinstance(generator.name, str) and generator.name

    def test_max_tokens_bounds_the_reply(self, generator: Any) -> None:
        reply = "".join(generator.stream(self.messages, max_tokens=4, temperature=0.0))
        assert len(reply.split()) <= 8  # a token is at most a word or two

    def test_greedy_decoding_is_deterministic(self, generator: Any) -> None:
        a = "".join(generator.stream(self.messages, max_tokens=12, temperature=0.0))
        b = "".join(generator.stream(self.messages, max_tokens=12, temperature=0.0))
        assert a == b


class StartProbingContract(GeneratorContract):
    """Contract of ``qa.generators.StartProbing`` (besides the generator's): a probability, the
    same reply with and without a probe before it, and ``avoid_starts`` honoured."""

    def test_start_probability_is_a_probability(self, generator: Any) -> None:
        reply = "".join(generator.stream(self.messages, max_tokens=8, temperature=0.0)).strip()
        p_own = generator.start_probability(self.messages, [reply])
        assert 0.0 <= p_own <= 1.0
        assert generator.start_probability(self.messages, ["ZZYZX_QQQ"]) == 0.0

    def test_a_probe_does_not_change_the_reply(self, generator: Any) -> None:
        plain = "".join(generator.stream(self.messages, max_tokens=12, temperature=0.0))
        generator.start_probability(self.messages, ["NICHT_IN_DEN_ARTIKELN"])
        after = "".join(generator.stream(self.messages, max_tokens=12, temperature=0.0))
        assert after == plain

    def test_the_reply_does_not_depend_on_what_was_asked_before(self, generator: Any) -> None:
        p_first = generator.start_probability(self.messages, ["NICHT_IN_DEN_ARTIKELN"])
        first = "".join(generator.stream(self.messages, max_tokens=12, temperature=0.0))
        other = [self.messages[0],
                 {"role": "user", "content": "[1] Tencent investiert in Chips und Server.\n\n"
                                             "Frage: Worin investiert Tencent? Antwort:"}]
        generator.start_probability(other, ["NICHT_IN_DEN_ARTIKELN"])
        assert "".join(generator.stream(other, max_tokens=12, temperature=0.0)).strip()
        assert generator.start_probability(self.messages, ["NICHT_IN_DEN_ARTIKELN"]) == p_first
        assert "".join(generator.stream(self.messages, max_tokens=12, temperature=0.0)) == first

    def test_avoided_start_is_not_produced(self, generator: Any) -> None:
        plain = "".join(generator.stream(self.messages, max_tokens=12, temperature=0.0)).strip()
        start = plain.split()[0]
        other = "".join(generator.stream(self.messages, max_tokens=12, temperature=0.0,
                                         avoid_starts=[start])).strip()
        assert other and not other.startswith(start[:3])
