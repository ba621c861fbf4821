"""qa's parts as llama-index components: a RetrieverQueryEngine over QARetriever + QALLM with
fakes, the adapters one by one, and (integration) the same pipeline on the real models."""

from __future__ import annotations

import subprocess
import sys

import pytest
from llama_index.core import Settings as LISettings
from llama_index.core import VectorStoreIndex
from llama_index.core.llms import ChatMessage, MessageRole
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import TextNode

from qa.integrations.llama_index import QALLM, QAEmbedding, QARetriever
from qa.testing import FakeEmbedder, FakeGenerator


def test_retriever_returns_qa_hits_as_nodes(fake_assistant) -> None:
    question = "Wie viel investiert Alibaba in KI-Infrastruktur?"
    hits = fake_assistant.retrieve(question, 3)
    nodes = QARetriever(fake_assistant, top_k=3).retrieve(question)
    assert [n.node.node_id for n in nodes] == [h.chunk.chunk_id for h in hits]
    assert [n.score for n in nodes] == [h.score for h in hits]
    index = fake_assistant.index
    for n, h in zip(nodes, hits, strict=True):
        meta = n.node.metadata
        doc = index.document_by_source(meta["file_name"])
        assert doc.text[meta["start"]:meta["end"]] == n.node.get_content() == h.chunk.text
        assert (n.node.start_char_idx, n.node.end_char_idx) == (h.chunk.start, h.chunk.end)
        assert meta["dense_score"] == h.dense_score and meta["lexical_rank"] == h.lexical_rank
        shown = n.node.get_content(metadata_mode="llm")
        assert meta["file_name"] in shown and "chunk_id" not in shown


def test_a_llama_index_query_engine_over_qa_components(fake_assistant) -> None:
    gen = FakeGenerator()
    gen.enqueue("Alibaba investiert 380 Milliarden Yuan.")
    engine = RetrieverQueryEngine.from_args(QARetriever(fake_assistant, top_k=2),
                                            llm=QALLM(gen))
    response = engine.query("Wie viel investiert Alibaba in KI-Infrastruktur?")
    assert str(response) == "Alibaba investiert 380 Milliarden Yuan."
    assert len(response.source_nodes) == 2
    (prompt,) = gen.history[0]
    assert prompt["role"] == "user"
    for n in response.source_nodes:  # the retrieved chunks are the context the LLM read
        assert n.node.get_content() in prompt["content"]
    assert LISettings._llm is None and LISettings._embed_model is None  # no hosted defaults


def test_llm_chat_keeps_roles_and_streams() -> None:
    gen = FakeGenerator()
    gen.enqueue("Hallo Welt", "eins zwei drei")
    llm = QALLM(gen)
    reply = llm.chat([ChatMessage(role=MessageRole.SYSTEM, content="Sei knapp."),
                      ChatMessage(role=MessageRole.USER, content="Hallo?")])
    assert reply.message.content == "Hallo Welt"
    assert gen.history[0] == [{"role": "system", "content": "Sei knapp."},
                              {"role": "user", "content": "Hallo?"}]
    deltas = [r.delta for r in llm.stream_chat([ChatMessage(role="user", content="Zähle")])]
    assert deltas == ["eins ", "zwei ", "drei"]
    assert [c["prompt"] for c in llm.calls] == ["Hallo?", "Zähle"]


def test_embedding_ranks_through_a_llama_index_vector_index() -> None:
    emb = FakeEmbedder(dim=256)
    nodes = [TextNode(text=t) for t in ("Alibaba baut Rechenzentren in Brasilien.",
                                        "Die Aktie stieg in Hongkong um acht Prozent.",
                                        "Qwen3-Max hat mehr als eine Billion Parameter.")]
    index = VectorStoreIndex(nodes, embed_model=QAEmbedding(emb))
    got = index.as_retriever(similarity_top_k=1).retrieve("Wie viele Parameter hat Qwen3-Max?")
    assert "Billion Parameter" in got[0].node.get_content()
    assert ("passage", 3) in emb.calls and ("query", 1) in emb.calls


def test_importing_qa_and_its_integrations_package_does_not_import_llama_index() -> None:
    code = ("import sys, qa, qa.integrations; "
            "assert not any(m.startswith('llama_index') for m in sys.modules), 'llama_index'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.integration
def test_the_pipeline_on_the_real_models(tmp_path, corpus) -> None:
    """Real multilingual embedder (through QAEmbedding and QARetriever) and the smallest bundled
    model (through QALLM), in one llama-index pipeline."""
    from qa import Assistant, Settings

    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", llm="smollm2-135m",
                        max_answer_tokens=40)
    llm = QALLM.from_settings(settings)
    assistant = Assistant.load(settings, generator=llm._generator)
    engine = RetrieverQueryEngine.from_args(QARetriever(assistant, top_k=2), llm=llm)
    response = engine.query("Wie viele Parameter hat Qwen3-Max?")
    assert str(response).strip()
    assert any("Qwen3-Max" in n.node.get_content() for n in response.source_nodes)
    emb = QAEmbedding(assistant.embedder)
    q = emb.get_query_embedding("Qwen3-Max Parameter")
    assert len(q) == 384 and abs(sum(x * x for x in q) - 1) < 1e-3
