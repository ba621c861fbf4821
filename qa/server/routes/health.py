"""``/healthz`` (the process is up), ``/readyz`` (index and model loaded), ``/metrics``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

if TYPE_CHECKING:
    from qa.server.app import Server


def add_health_routes(app: FastAPI, srv: Server) -> None:
    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        """The index and the model are loaded (503 until then)."""
        index = srv.assistant.index
        body = {"ready": srv.ready.is_set() and index is not None,
                "model": getattr(srv.assistant.generator, "name", "unknown"),
                "documents": len(index.manifest["documents"]) if index is not None else 0,
                "chunks": int(index.manifest["chunks"]) if index is not None else 0,
                "answers_admitted": srv.slots.admitted}
        if srv.warm_error:
            body["error"] = srv.warm_error
        return JSONResponse(body, 200 if body["ready"] else 503)

    @app.get("/metrics", tags=["health"])
    def metrics() -> Response:
        """Prometheus metrics: seconds per stage, prompt tokens, answers by outcome,
        abstentions by reason, answers admitted (running or waiting), documents changed."""
        body, content_type = srv.metrics.render()
        return Response(body, media_type=content_type)
