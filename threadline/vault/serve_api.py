"""Serving files with Range and CORS, and signed URLs (productflo-sync-api: Signed URLs, CORS
for file viewers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from threadline.auth.deps import Ctx, RequestContext
from threadline.errors import Invalid
from threadline.vault import service, signing
from threadline.vault.models import MAIN, VaultFile
from threadline.vault.paths import ServePath, parse_serve_path
from threadline.vault.serving import file_response, preflight
from threadline.vault.views import (
    at_path,
    named,
)

router = APIRouter(tags=["files"])


# --- serving ----------------------------------------------------------------------------------


_PREFLIGHT_ANSWER: dict[int | str, dict[str, Any]] = {
    204: {"description": "CORS headers when the Origin is allowed (CORS_ORIGINS)."}
}


@router.options(
    "/v1/serve/{workspace}/{username}/{filename}",
    status_code=204,
    response_class=Response,
    responses=_PREFLIGHT_ANSWER,
)
@router.options(
    "/v1/serve-signed/{workspace}/{username}/{filename}",
    status_code=204,
    response_class=Response,
    responses=_PREFLIGHT_ANSWER,
)
async def serve_preflight(
    workspace: str, username: str, filename: str, request: Request
) -> Response:
    """CORS preflight for file viewers (the path is declared, not looked up: no sign-in here)."""
    return preflight(request, request.app.state.runtime.settings)


@router.get("/v1/serve/{workspace}/{username}/{filename}", operation_id="serve_file")
@router.head("/v1/serve/{workspace}/{username}/{filename}", operation_id="serve_file_head")
async def serve(
    workspace: str,
    username: str,
    filename: str,
    request: Request,
    ctx: Ctx,
    branch: str = Query(MAIN, max_length=64),
    version: int | None = Query(None, ge=1, le=10**9),
) -> Response:
    """Stream a file (or one of its versions) with Range support."""
    _f, file = await named(ctx, workspace, username, filename, write=False, branch=branch)
    return await _serve(request, ctx, file, version)


async def _serve(
    request: Request, ctx: RequestContext, file: VaultFile, version: int | None
) -> Response:
    sha, size, kind, etag = file.sha256, file.size, file.content_type, file.etag
    if version is not None and version != file.current_version:
        old = next(
            (v for v, _ in await service.versions_of(ctx.session, file) if v.number == version),
            None,
        )
        if old is None:
            raise Invalid(f"{file.name} has no version {version}.", code="VERSION_NOT_FOUND")
        sha, size, kind, etag = (
            old.sha256,
            old.size,
            old.content_type,
            f"{old.number}-{old.sha256[:16]}",
        )
    return file_response(
        request,
        ctx.runtime.blobs,
        sha256=sha,
        size=size,
        content_type=kind,
        etag=etag,
        filename=file.name,
        settings=ctx.runtime.settings,
    )


@router.get("/signed-url")
async def signed_url(
    ctx: Ctx,
    path: str = Query(..., max_length=600),
    ttl_ms: int = Query(60_000, alias="ttlMs", ge=1, le=2**40),
) -> dict[str, Any]:
    """A time-limited URL for a file the caller may read."""
    await at_path(ctx, path, write=False)  # the caller must be able to read the file
    where = parse_serve_path(path)
    url, expires = signing.sign(ctx.runtime.secret_key, where, ttl_ms)
    return {"url": url, "expiresAt": expires}


@router.get("/v1/serve-signed/{workspace}/{username}/{filename}", operation_id="serve_signed")
@router.head("/v1/serve-signed/{workspace}/{username}/{filename}", operation_id="serve_signed_head")
async def serve_signed(
    workspace: str,
    username: str,
    filename: str,
    request: Request,
    expires: str = Query(..., max_length=20),
    sig: str = Query(..., max_length=128),
) -> Response:
    """Serve through a signed URL (no sign-in): 403 when tampered with, 410 once expired."""
    runtime = request.app.state.runtime
    where = ServePath(workspace, username, filename)
    signing.verify(runtime.secret_key, where, expires, sig)
    async with runtime.sessionmaker() as session:
        file = await service.file_at_path(session, where)
    return file_response(
        request,
        runtime.blobs,
        sha256=file.sha256,
        size=file.size,
        content_type=file.content_type,
        etag=file.etag,
        filename=file.name,
        settings=runtime.settings,
    )
