"""``GET /v1/collections``: the collections a key may use (the per-collection routes are with
their plain forms in ``answers`` and ``documents``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request

from qa.server.openai_compat import openai_model_id
from qa.server.security import grant_of

if TYPE_CHECKING:
    from qa.server.app import Server


def add_collection_routes(app: FastAPI, root: Server) -> None:
    @app.get("/v1/collections", tags=["collections"])
    def list_collections(request: Request) -> dict[str, Any]:
        """The collections this key may use: `default` (the plain routes') first; `documents`
        is known once a collection is loaded (on its first use)."""
        grant = grant_of(request.scope)
        rows = []
        for name in root.catalog.names():
            if not grant.may_use(name):
                continue
            loaded = root.catalog.loaded(name)
            index = loaded.index if loaded is not None else None
            rows.append({"name": name, "model": openai_model_id(name),
                         "language": root.catalog.settings_of(name).language,
                         "loaded": loaded is not None,
                         "documents": len(index.manifest["documents"]) if index else None})
        return {"collections": rows}
