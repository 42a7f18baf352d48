"""Routes of the traceability reports, mounted under /mes by threadline/mes/floor/api.py: the
two resources, and the download of each report's document through its signed links
(``content``: HTML, ``content_json``: JSON)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from threadline.mes.files import links
from threadline.mes.floor.reports import resources, service
from threadline.mes.resources import Resource, add_route, mount
from threadline.runtime import Runtime, get_runtime
from threadline.vault.serving import file_response

router = APIRouter()
# The page may show what it holds and nothing else: no script, no request, no frame.
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
FORMATS = {
    # purpose of the signed link → (stored digest, size, content type, file extension)
    "content": ("sha256", "file_size", "text/html; charset=utf-8", "html"),
    "json": ("json_sha256", "json_file_size", "application/json", "json"),
}


def _download_route(resource: Resource, purpose: str):  # type: ignore[no-untyped-def]
    digest, size, content_type, ext = FORMATS[purpose]

    async def download(
        uuid: str,
        request: Request,
        runtime: Runtime = Depends(get_runtime),
        expires: str = Query(..., max_length=20),
        sig: str = Query(..., max_length=128),
    ) -> Response:
        """Download the report through a signed link (no sign-in): 403 tampered, 410 expired."""
        try:
            row_id = UUID(uuid)
        except ValueError:
            raise resource.not_found() from None
        async with runtime.sessionmaker() as session:
            row: Any = await session.get(resource.model, row_id)
        sha256 = getattr(row, digest, None) if row is not None else None
        if sha256 is None:
            raise resource.not_found()
        links.verify(runtime.secret_key, purpose, resource.kind, row_id, sha256, expires, sig)
        return file_response(
            request,
            runtime.blobs,
            sha256=sha256,
            size=getattr(row, size) or 0,
            content_type=content_type,
            etag=sha256[:32],
            filename=f"{resource.kind}-{row_id}.{ext}",
            settings=runtime.settings,
            disposition="attachment",
            extra_headers={"Content-Security-Policy": PAGE_POLICY},
        )

    return download


for _resource in (resources.traceability_report, resources.material_batch_traceability_report):
    mount(router, _resource)
    for _purpose in FORMATS:
        # GET and HEAD apart: one route of two methods gives both one OpenAPI operation id.
        for _method in ("GET", "HEAD"):
            add_route(
                router,
                f"/{_resource.kind}/{{uuid}}/{_purpose}/",
                _download_route(_resource, _purpose),
                [_method],
                tags=[f"mes: {_resource.kind}"],
                summary=f"Download a {_resource.kind} ({FORMATS[_purpose][3].upper()})",
                include_in_schema=_method == "GET",
            )
assert service.JOB_KIND  # the job's handler is bound to the blob store in threadline/app.py
