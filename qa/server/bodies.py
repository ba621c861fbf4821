"""The HTTP API's request bodies (strict: no unknown fields, no coercion, no lone surrogates)
and how replies become JSON (``jsonable``) and server-sent events (``sse``)."""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from qa.types import Chunk, Passage


def no_lone_surrogates(value: Any, where: str = "") -> None:
    """``ValueError`` for a string (anywhere in ``value``) holding a lone UTF-16 surrogate, as
    JSON's ``"\\ud800"`` gives: it is not text, and no part of the pipeline can encode it."""
    if isinstance(value, str):
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            raise ValueError(f"{where or 'a text'} is not valid Unicode (a lone surrogate)")
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            no_lone_surrogates(getattr(value, name), name)
    elif isinstance(value, list | tuple):
        for item in value:
            no_lone_surrogates(item, where)
    elif isinstance(value, dict):
        for k, item in value.items():
            no_lone_surrogates(k, where)
            no_lone_surrogates(item, where)


FILTER_HELP = ("only these documents: sources (globs), date_from, date_to (ISO dates; "
               "documents without a date are left out), language (de/en), tags (folder names)")


class Body(BaseModel):
    """A JSON request body: no unknown fields, no coercion (``true`` is not 1, ``"yes"`` is not
    a boolean), no lone surrogates."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="after")
    def _text_is_unicode(self) -> Body:
        no_lone_surrogates(self)
        return self


class AskRequest(Body):
    class Turn(Body):
        question: str
        answer: str

    question: str = Field(description="the question, in German or English")
    history: list[Turn] = Field(default_factory=list, max_length=50,
                                description="earlier turns; a follow-up is made standalone")
    language: Literal["auto", "de", "en"] | None = None
    top_k: int | None = Field(None, ge=1, le=20, description="passages given to the model")
    stream: bool = Field(False, description="server-sent events: retrieved, token..., done")
    filter: dict[str, Any] | None = Field(None, description=FILTER_HELP)


class SearchRequest(Body):
    question: str
    top_k: int | None = Field(None, ge=1, le=100)
    filter: dict[str, Any] | None = Field(None, description=FILTER_HELP)


class FeedbackRequest(Body):
    answer_id: str = Field(max_length=100, description="`answer_id` of an answer of this server")
    rating: Literal["up", "down", "+1", "-1"] | Literal[1, -1] = Field(
        description="+1/-1 or up/down")
    comment: str | None = Field(None, max_length=2000)


class RebuildRequest(Body):
    full: bool = Field(True, description="embed every chunk again (false: reuse unchanged)")


def jsonable(obj: Any, chunk_text: bool = True) -> Any:
    """Dataclasses (``Retrieved``, ``Hit``, ``Passage``, ...) as JSON values, field by field, so
    fields added later are served too; ``chunk_text=False`` leaves out the chunks' text (a
    passage carries its own)."""
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if is_dataclass(obj) and not isinstance(obj, type):
        d = {f.name: jsonable(getattr(obj, f.name), chunk_text) for f in fields(obj)
             if chunk_text or not (isinstance(obj, Chunk) and f.name == "text")}
        if isinstance(obj, Passage):
            d["source"] = obj.source
        return d
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(x, chunk_text) for x in obj]
    if isinstance(obj, dict):
        return {str(k): jsonable(v, chunk_text) for k, v in obj.items()}
    if isinstance(obj, float):
        return round(obj, 6)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def sse(event: str, data: Any) -> str:
    """One server-sent event; a value JSON does not know is sent as its text."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"
