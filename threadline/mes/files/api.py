"""Routes of the MES files room, mounted under /mes by threadline/mes/api.py: the resources,
their two-step upload (POST the metadata, PUT the bytes to ``X-Upload-Location``), signed
downloads and ``/document/{uuid}/replace/`` (mes-api-reference.txt "File uploads")."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from threadline.errors import Invalid, NotFound
from threadline.mes.auth import mes_context
from threadline.mes.face import MesContext, created, json_body
from threadline.mes.files import links, processing, resources, service
from threadline.mes.resources import (
    REGISTRY,
    Resource,
    add_route,
    create_resource,
    get_row,
    mount,
    record,
    snapshot,
    workspace_of,
)
from threadline.runtime import Runtime, get_runtime
from threadline.vault.paths import CONTENT_TYPES, extension
from threadline.vault.serving import file_response

router = APIRouter()
FILES: dict[str, Resource] = {
    "model": resources.model,
    "design-file": resources.design_file,
    "document": resources.document,
}


def _upload_headers(ctx: MesContext, kind: str, row_id: uuid.UUID) -> dict[str, str]:
    return {
        "X-Upload-Location": links.link(
            ctx.runtime.secret_key, ctx.base_url, "upload", kind, row_id
        )
    }


async def create_model(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """Promise a model; its bytes go to ``X-Upload-Location``."""
    row = await create_resource(ctx, resources.model, await json_body(request))
    return created(ctx.uri("model", row.id), _upload_headers(ctx, "model", row.id))


async def create_design_file(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """Promise a design file (and its single-mesh model, ``Model-Location``); from a vault file
    version no upload is needed and processing starts at once."""
    body = await json_body(request)
    if body.get("product") is not None and "product" not in REGISTRY:
        raise Invalid("Products are not served yet; leave product out.", code="INVALID_FIELD")
    row = await create_resource(ctx, resources.design_file, body)
    headers = {} if row.sha256 else _upload_headers(ctx, "design-file", row.id)
    await ctx.session.flush()  # the model of after_create gets its id for Model-Location
    model_id = await service.model_id_of(ctx, row.id)
    if model_id is not None:
        headers["Model-Location"] = ctx.uri("model", model_id)
    if row.sha256:
        await processing.enqueue(ctx.session, "design-file", row)
    return created(ctx.uri("design-file", row.id), headers)


async def create_document(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """Promise a document attached to ``related_table_name`` + ``related_uuid``."""
    row = await create_resource(ctx, resources.document, await json_body(request))
    return created(ctx.uri("document", row.id), _upload_headers(ctx, "document", row.id))


async def replace_document(
    uuid: str, request: Request, ctx: MesContext = Depends(mes_context)
) -> Response:
    """A new document for the same resource; the old one is archived (``/document//replace/``)."""
    old = await get_row(ctx, resources.document, uuid)
    ctx.require(old.workspace_id, resources.document.write_role)
    body = await json_body(request)
    unknown = sorted(set(body) - {"name"})
    if unknown:
        raise Invalid(
            f"Unknown fields: {', '.join(unknown)}.", code="UNKNOWN_FIELD", fields=unknown
        )
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise Invalid(
            "The field name is required (a string of at most 255 characters).",
            code="FIELD_REQUIRED",
            field="name",
        )
    before = snapshot(ctx, resources.document, old)
    new = service.replacement_of(old, name, ctx.user.id)
    ctx.session.add(new)
    await ctx.session.flush()  # the new id goes into the log and the Location header
    workspace = await workspace_of(ctx, old.workspace_id)
    record(
        ctx,
        resources.document,
        workspace,
        old.id,
        "update",
        before,
        snapshot(ctx, resources.document, old),
    )
    record(
        ctx,
        resources.document,
        workspace,
        new.id,
        "create",
        None,
        snapshot(ctx, resources.document, new),
    )
    return created(ctx.uri("document", new.id), _upload_headers(ctx, "document", new.id))


def _row_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("The requested file cannot be found.", code="RESOURCE_NOT_FOUND") from None


def _upload_route(kind: str):  # type: ignore[no-untyped-def]
    async def upload(
        uuid: str,
        request: Request,
        runtime: Runtime = Depends(get_runtime),
        expires: str = Query(..., max_length=20),
        sig: str = Query(..., max_length=128),
    ) -> Response:
        """PUT the raw bytes (the signed link is the credential, as the reference's curl shows)."""
        row_id = _row_id(uuid)
        links.verify(runtime.secret_key, "upload", kind, row_id, "", expires, sig)
        async with runtime.sessionmaker() as session:
            await processing.waiting_row(session, kind, row_id)  # refuse before any byte lands
        async with runtime.sessionmaker() as session:
            await processing.receive(
                session,
                runtime.blobs,
                kind,
                row_id,
                request.stream(),
                max_bytes=runtime.settings.max_upload_mb * 1024 * 1024,
            )
            await session.commit()
        return Response(status_code=204)

    return upload


@dataclass(frozen=True)
class StoredDocument:
    """Where a row keeps one stored document that a signed link downloads: the link's
    ``purpose`` (its path segment too), the columns of its digest and size, and how it is named
    and typed (by default from the row's ``name``, as uploaded files are)."""

    purpose: str = "content"
    digest: str = "sha256"
    size: str = "file_size"
    content_type: str | None = None  # None: from the file name's extension
    extension: str | None = None  # the download's name: ``{kind}-{uuid}.{extension}``
    headers: dict[str, str] | None = None


UPLOADED = StoredDocument()


def _file_not_found() -> NotFound:
    return NotFound("The requested file cannot be found.", code="RESOURCE_NOT_FOUND")


def _content_route(  # type: ignore[no-untyped-def]
    kind: str, model: Any, stored: StoredDocument, not_found: Callable[[], Exception]
):
    async def content(
        uuid: str,
        request: Request,
        runtime: Runtime = Depends(get_runtime),
        expires: str = Query(..., max_length=20),
        sig: str = Query(..., max_length=128),
    ) -> Response:
        """Download through a signed link (no sign-in): 403 when tampered with, 410 expired."""
        try:
            row_id = _row_id(uuid)
        except NotFound:
            raise not_found() from None
        async with runtime.sessionmaker() as session:
            row: Any = await session.get(model, row_id)
        sha256 = getattr(row, stored.digest, None) if row is not None else None
        if sha256 is None:
            raise not_found()
        links.verify(runtime.secret_key, stored.purpose, kind, row_id, sha256, expires, sig)
        if stored.extension is not None:
            name = f"{kind}-{row_id}.{stored.extension}"
        else:
            name = getattr(row, "conversion_original_filename", None) or row.name
        return file_response(
            request,
            runtime.blobs,
            sha256=sha256,
            size=getattr(row, stored.size) or 0,
            content_type=stored.content_type
            or CONTENT_TYPES.get(extension(name), "application/octet-stream"),
            etag=sha256[:32],
            filename=name,
            settings=runtime.settings,
            disposition="attachment",
            extra_headers=stored.headers,
        )

    return content


def mount_content(
    router: APIRouter,
    kind: str,
    model: Any,
    stored: StoredDocument = UPLOADED,
    *,
    not_found: Callable[[], Exception] = _file_not_found,
) -> None:
    """``GET|HEAD /{kind}/{uuid}/{purpose}/``: a row's stored bytes through the signed link its
    ``content`` (or other) field gives — files, order quotes, traceability reports."""
    # GET and HEAD apart: one route of two methods gives both one OpenAPI operation id.
    for method in ("GET", "HEAD"):
        add_route(
            router,
            f"/{kind}/{{uuid}}/{stored.purpose}/",
            _content_route(kind, model, stored, not_found),
            [method],
            tags=[f"mes: {kind}"],
            summary=f"Download a {kind}"
            + (f" ({stored.extension.upper()})" if stored.extension else ""),
            include_in_schema=method == "GET",
        )


for _kind, _resource in FILES.items():
    _resource.methods = frozenset({"LIST", "GET", "PUT", "DELETE"})
    mount(router, _resource)
    tags = [f"mes: {_kind}"]
    add_route(
        router,
        f"/{_kind}/{{uuid}}/upload/",
        _upload_route(_kind),
        ["PUT"],
        tags=tags,
        summary=f"Upload a {_kind}'s bytes",
    )
    mount_content(router, _kind, processing.MODELS[_kind])
for _path, _handler in (
    ("/model/", create_model),
    ("/design-file/", create_design_file),
    ("/document/", create_document),
):
    add_route(
        router,
        _path,
        _handler,
        ["POST"],
        tags=[f"mes: {_path.strip('/')}"],
        summary=f"Create a {_path.strip('/')}",
    )
add_route(
    router,
    "/document/{uuid}/replace/",
    replace_document,
    ["POST"],
    tags=["mes: document"],
    summary="Replace a document",
)
