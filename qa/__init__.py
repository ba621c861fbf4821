"""qa: answers questions from a collection of articles and shows where each answer comes from.

>>> from qa import Assistant
>>> assistant = Assistant.load()                       # doctest: +SKIP
>>> assistant.ask("Wie viel investiert Alibaba in KI-Infrastruktur?").text  # doctest: +SKIP

Importing qa is cheap: torch, faiss, llama.cpp, psycopg and gradio load on first use.
"""

from qa.assistant import Assistant, Done, Retrieved, Token
from qa.config import Settings
from qa.errors import IndexMismatchError, InputError, ModelError, QAError, StoreUnavailableError
from qa.ingest.pipeline import ingest
from qa.types import Answer, Chunk, Citation, Document, Hit, Passage, Timings

__all__ = [
    "Answer",
    "Assistant",
    "Chunk",
    "Citation",
    "Document",
    "Done",
    "Hit",
    "IndexMismatchError",
    "InputError",
    "ModelError",
    "Passage",
    "QAError",
    "Retrieved",
    "Settings",
    "StoreUnavailableError",
    "Timings",
    "Token",
    "ingest",
]
__version__ = "0.1.0"
