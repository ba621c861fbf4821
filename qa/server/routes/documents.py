"""``/v1/documents``: list, upload (multipart, all or nothing), delete, ``:rebuild``, and their
``/v1/collections/{collection}/...`` forms; the checks are ``qa.documents``'s."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from qa.server.bodies import RebuildRequest
from qa.server.errors import error_body

if TYPE_CHECKING:
    from qa.server.app import Server


def add_document_routes(app: FastAPI, root: Server) -> None:
    @app.get("/v1/documents", tags=["documents"])
    @app.get("/v1/collections/{collection}/documents", tags=["collections"])
    async def list_documents(request: Request) -> dict[str, Any]:
        """The indexed documents."""
        srv = await root.pick(request)
        docs = await run_in_threadpool(srv.library.list)
        return {"documents": [asdict(d) for d in docs]}

    @app.post("/v1/documents", tags=["documents"], status_code=201)
    @app.post("/v1/collections/{collection}/documents", tags=["collections"], status_code=201)
    async def add_documents(request: Request,
                            files: list[UploadFile] = File(...),  # noqa: B008
                            replace: bool = Form(False)) -> JSONResponse:  # noqa: B008
        """Upload .txt/.md/.html/.pdf/.docx/.pptx/.xlsx/.odt/.epub/.rtf files (multipart, field
        `files`); all or nothing, with the validation and messages of the UI's documents tab."""
        srv = await root.pick(request)
        with tempfile.TemporaryDirectory(prefix="qa-upload-") as tmp:
            specs: list[tuple[Path | str, str]] = []
            for i, f in enumerate(files):
                path = Path(tmp) / f"{i}.upload"  # never the client's name on disk
                with path.open("wb") as out:
                    await run_in_threadpool(shutil.copyfileobj, f.file, out, 1 << 20)
                specs.append((path, f.filename or ""))
            result = await run_in_threadpool(srv.library.add, specs, None, replace)
        if not result.ok:
            body = error_body(422, result.summary())
            body["rejected"] = [{"name": r.name, "reason": r.reason} for r in result.rejected]
            return JSONResponse(body, 422)
        await srv.reload()
        srv.metrics.document_changed("added", len(result.added))
        srv.metrics.document_changed("replaced", len(result.replaced))
        return JSONResponse({"added": result.added, "replaced": result.replaced,
                             "chunks": result.report.total_chunks if result.report else None,
                             "summary": result.summary()}, 201)

    @app.delete("/v1/documents/{name:path}", tags=["documents"])
    @app.delete("/v1/collections/{collection}/documents/{name:path}", tags=["collections"])
    async def delete_document(name: str, request: Request) -> dict[str, Any]:
        """Remove a document from the index; its file goes to the trash folder. A document in
        a subfolder is named with its folder: `sub/nested.txt` (or `sub%2Fnested.txt`)."""
        srv = await root.pick(request)
        known = {d.source for d in await run_in_threadpool(srv.library.list)}
        if name not in known:
            raise HTTPException(404, f"no document named {name!r}")
        result = await run_in_threadpool(srv.library.delete, name)
        await srv.reload()
        srv.metrics.document_changed("deleted")
        return {"deleted": result.source, "summary": result.summary()}

    @app.post("/v1/documents:rebuild", tags=["documents"])
    @app.post("/v1/collections/{collection}/documents:rebuild", tags=["collections"])
    async def rebuild(request: Request, body: RebuildRequest | None = None) -> dict[str, Any]:
        """Index exactly the readable files of the corpus folder again."""
        srv = await root.pick(request)
        report, skipped = await run_in_threadpool(
            lambda: srv.library.rebuild(full=body.full if body else True))
        await srv.reload()
        return {"summary": report.summary(), "chunks": report.total_chunks,
                "skipped": [{"path": str(s.path), "reason": s.reason} for s in skipped]}
