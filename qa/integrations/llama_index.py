"""qa's parts as llama-index components, for a llama-index user's own pipeline.

    from llama_index.core.query_engine import RetrieverQueryEngine
    from qa import Assistant
    from qa.integrations.llama_index import QALLM, QAEmbedding, QARetriever

    assistant = Assistant.load()
    engine = RetrieverQueryEngine.from_args(QARetriever(assistant, top_k=4),
                                            llm=QALLM(assistant.generator))
    print(engine.query("Wie viel investiert Alibaba in KI?"))

* :class:`QARetriever`: a ``BaseRetriever`` over qa's hybrid retrieval (dense + German-stemmed
  BM25, fused): ``NodeWithScore`` whose node id is the chunk id, with the file name, title, the
  chunk's character offsets in the cleaned document and the dense/lexical scores and ranks.
* :class:`QAEmbedding`: the bundled multilingual embedder (or any ``qa.embedders.Embedder``) as a
  ``BaseEmbedding``; queries get the e5 "query: " prefix, texts "passage: ".
* :class:`QALLM`: any qa generator (the bundled offline GGUF model, a hosted one, a fake) as a
  llama-index LLM: completions go in as one user message, chats keep their roles, so the model's
  chat template applies either way.

Nothing here touches llama-index's global ``Settings`` (its defaults call a hosted API): pass
``llm=`` and ``embed_model=`` explicitly. Importing this module imports llama-index; ``import qa``
does not.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    MessageRole,
)
from llama_index.core.llms import (
    CompletionResponse,
    CompletionResponseGen,
    CustomLLM,
    LLMMetadata,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from pydantic import PrivateAttr

from qa.config import Settings
from qa.types import Hit

__all__ = ["QAEmbedding", "QALLM", "QARetriever", "node_from_hit"]

DEFAULT_CONTEXT_TOKENS = 4096
_SCORE_KEYS = ("dense_score", "lexical_score", "dense_rank", "lexical_rank")


class _Retrieves(Protocol):
    def retrieve(self, question: str, k: int) -> list[Hit]: ...


def node_from_hit(hit: Hit) -> NodeWithScore:
    """A qa ``Hit`` as a llama-index ``NodeWithScore`` (only the file name and the title are
    shown to the LLM and the embedder; ids, offsets and scores stay in the metadata)."""
    c = hit.chunk
    metadata: dict[str, Any] = {"file_name": c.source, "title": c.title, "doc_id": c.doc_id,
                                "chunk_id": c.chunk_id, "start": c.start, "end": c.end}
    metadata.update({k: getattr(hit, k) for k in _SCORE_KEYS})
    hidden = [k for k in metadata if k not in ("file_name", "title")]
    node = TextNode(id_=c.chunk_id, text=c.text, metadata=metadata,
                    start_char_idx=c.start, end_char_idx=c.end,
                    excluded_llm_metadata_keys=hidden, excluded_embed_metadata_keys=hidden)
    return NodeWithScore(node=node, score=hit.score)


class QARetriever(BaseRetriever):
    """llama-index retriever over an ``Assistant`` (or any qa ``Retriever``): the ``top_k`` best
    chunks by qa's fused score, best first."""

    def __init__(self, retriever: _Retrieves, top_k: int = 4, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retriever = retriever
        self.top_k = top_k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.retriever.retrieve(query_bundle.query_str, self.top_k)
        return [node_from_hit(h) for h in hits[: self.top_k]]


class QAEmbedding(BaseEmbedding):
    """llama-index embedding model over a ``qa.embedders.Embedder``: queries are embedded as
    "query", texts (nodes) as "passage", so the e5 prefixes are the ones qa's pipeline uses."""

    _embedder: Any = PrivateAttr()

    def __init__(self, embedder: Any, **kwargs: Any) -> None:
        super().__init__(model_name=getattr(embedder, "name", "qa-embedder"), **kwargs)
        self._embedder = embedder

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **kwargs: Any) -> QAEmbedding:
        """The embedder qa's settings name (by default the bundled multilingual-e5-small)."""
        from qa.composition import make_embedder

        settings = settings or Settings.load()
        kwargs.setdefault("embed_batch_size", settings.embed_batch_size)
        return cls(make_embedder(settings), **kwargs)

    @classmethod
    def class_name(cls) -> str:
        return "QAEmbedding"

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._embedder.embed([query], "query")[0].tolist()

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._embedder.embed([text], "passage")[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return [v.tolist() for v in self._embedder.embed(list(texts), "passage")]


class QALLM(CustomLLM):
    """llama-index LLM over a ``qa.generators.Generator``. A completion prompt is sent as one
    user message; chat messages keep their roles. Every call is recorded in ``calls`` (messages,
    start, first piece, end: ``time.perf_counter`` values)."""

    context_window: int = DEFAULT_CONTEXT_TOKENS
    num_output: int = 256
    temperature: float = 0.0
    model_name: str = "qa-generator"
    _generator: Any = PrivateAttr()
    _calls: list[dict[str, Any]] = PrivateAttr(default_factory=list)

    def __init__(self, generator: Any, context_window: int = DEFAULT_CONTEXT_TOKENS,
                 num_output: int = 256, temperature: float = 0.0) -> None:
        super().__init__(context_window=context_window, num_output=num_output,
                         temperature=temperature,
                         model_name=getattr(generator, "name", "qa-generator"))
        self._generator = generator
        self._calls = []

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> QALLM:
        """The generator qa's settings name (by default the bundled offline GGUF model)."""
        from qa.composition import make_generator

        settings = settings or Settings.load()
        return cls(make_generator(settings), context_window=settings.context_tokens,
                   num_output=settings.max_answer_tokens, temperature=settings.temperature)

    @classmethod
    def class_name(cls) -> str:
        return "QALLM"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=self.context_window, num_output=self.num_output,
                           model_name=self.model_name, is_chat_model=False)

    @property
    def calls(self) -> list[dict[str, Any]]:
        return self._calls

    def _pieces(self, messages: list[dict[str, str]]) -> Iterator[str]:
        call: dict[str, Any] = {"messages": messages, "prompt": messages[-1]["content"],
                                "start": time.perf_counter(), "first_token": None, "end": None}
        self._calls.append(call)
        for piece in self._generator.stream(messages, max_tokens=self.num_output,
                                            temperature=self.temperature):
            if call["first_token"] is None:
                call["first_token"] = time.perf_counter()
            yield piece
        call["end"] = time.perf_counter()

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text="".join(self._pieces([{"role": "user",
                                                               "content": prompt}])))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False,
                        **kwargs: Any) -> CompletionResponseGen:
        def gen() -> CompletionResponseGen:
            text = ""
            for piece in self._pieces([{"role": "user", "content": prompt}]):
                text += piece
                yield CompletionResponse(text=text, delta=piece)

        return gen()

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        text = "".join(self._pieces(_qa_messages(messages)))
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        def gen() -> ChatResponseGen:
            text = ""
            for piece in self._pieces(_qa_messages(messages)):
                text += piece
                yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
                                   delta=piece)

        return gen()


def _qa_messages(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    roles = {MessageRole.SYSTEM: "system", MessageRole.ASSISTANT: "assistant"}
    return [{"role": roles.get(m.role, "user"), "content": m.content or ""} for m in messages]
