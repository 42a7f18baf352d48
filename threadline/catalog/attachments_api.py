"""Routes of part-revision file attachments: ``/v1/parts/:id/versions/:vid/files``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse

from threadline.auth.deps import Ctx
from threadline.catalog import attachments
from threadline.catalog.api import part_access
from threadline.catalog.attachments_schemas import AttachmentCreate, AttachmentRead
from threadline.catalog.service import get_version
from threadline.pagination import PageParams, page_of, page_params
from threadline.schemas import Page

router = APIRouter(prefix="/v1", tags=["parts"])

FILES = "/parts/{part_id}/versions/{version_id}/files"


@router.get(FILES, response_model=Page[AttachmentRead])
async def list_files(
    part_id: uuid.UUID,
    version_id: uuid.UUID,
    ctx: Ctx,
    workspace: str | None = Query(None, max_length=64),
    params: PageParams = Depends(page_params),
) -> Page[AttachmentRead]:
    """The file versions attached to a part revision, by file name."""
    access, part = await part_access(ctx, part_id, "viewer", workspace)
    await get_version(
        ctx.session, workspace_id=access.workspace.id, part_id=part.id, version_id=version_id
    )
    rows = await attachments.list_attachments(
        ctx.session, access=access, part_id=part.id, part_version_id=version_id
    )
    items = [
        AttachmentRead.model_validate(r)
        for r in rows[params.offset : params.offset + params.page_size]
    ]
    return page_of(items, len(rows), params)


@router.post(FILES, status_code=201, response_model=AttachmentRead)
async def attach_file(
    part_id: uuid.UUID, version_id: uuid.UUID, body: AttachmentCreate, ctx: Ctx
) -> JSONResponse:
    """Attach a vault file version (default: its current one) to a part revision (engineer+):
    201 new, 200 when already attached or re-pinned to another version of the same file."""
    access, part = await part_access(ctx, part_id, "engineer")
    version = await attachments.editable_version(
        ctx.session, access=access, part=part, part_version_id=version_id
    )
    file, file_version = await attachments.file_version_to_attach(
        ctx.session, access=access, file_id=body.file_id, file_version_id=body.version_id
    )
    outcome = await attachments.attach(
        ctx.session, access=access, part=part, version=version, file=file, file_version=file_version
    )
    rows = await attachments.list_attachments(
        ctx.session, access=access, part_id=part.id, part_version_id=version.id
    )
    row = next(r for r in rows if r.link.id == outcome.link.id)
    return JSONResponse(
        AttachmentRead.model_validate(row).model_dump(mode="json", by_alias=True),
        status_code=201 if outcome.created else 200,
    )


@router.delete(FILES + "/{attachment_id}", status_code=204)
async def detach_file(
    part_id: uuid.UUID, version_id: uuid.UUID, attachment_id: uuid.UUID, ctx: Ctx
) -> Response:
    """Detach a file version from a part revision (engineer+; not from a released one)."""
    access, part = await part_access(ctx, part_id, "engineer")
    version = await attachments.editable_version(
        ctx.session, access=access, part=part, part_version_id=version_id
    )
    await attachments.detach(
        ctx.session, access=access, version=version, attachment_id=attachment_id
    )
    return Response(status_code=204)
