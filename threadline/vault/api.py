"""Native file API: listing, preview, metadata, uploads and deletion (productflo-sync-api:
Files & Uploads)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from threadline.auth.deps import Ctx, RequestContext
from threadline.errors import Invalid, UnsupportedMediaType
from threadline.pagination import PageParams, page_params
from threadline.ratelimit import rate_limit
from threadline.schemas import Page
from threadline.vault import branches, items, locks, service, uploads
from threadline.vault.items import UploadLink
from threadline.vault.models import MAIN
from threadline.vault.multipart import StreamedForm
from threadline.vault.paths import check_branch_name, is_text
from threadline.vault.schemas import (
    FileRead,
)
from threadline.vault.service import Folder
from threadline.vault.views import (
    MAX_BATCH,
    PREVIEW_BYTES,
    file_read,
    named,
    page_in_memory,
    upload_rate_key,
)

router = APIRouter(tags=["files"])


@router.get("/v1/files", response_model=Page[FileRead])
async def list_user_files(
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    username: str | None = Query(None, max_length=64),
    params: PageParams = Depends(page_params),
) -> Page[Any]:
    """A member's files (default: yours), each with its etag."""
    f = await service.folder(
        ctx.session, user=ctx.user, workspace=workspace, username=username, write=False
    )
    rows = await service.list_files(
        ctx.session, workspace_id=f.access.workspace.id, owner_id=f.owner.id
    )
    return page_in_memory([file_read(file, workspace, user) for file, user in rows], params)


@router.get("/v1/files/all", response_model=Page[FileRead])
async def list_all_files(
    ctx: Ctx, workspace: str = Query(..., max_length=64), params: PageParams = Depends(page_params)
) -> Page[Any]:
    """Every member's files in the workspace."""
    access = await ctx.require_role(workspace, "viewer")
    rows = await service.list_files(ctx.session, workspace_id=access.workspace.id)
    return page_in_memory(
        [file_read(file, access.workspace.name, user) for file, user in rows], params
    )


@router.get("/v1/file")
async def preview(
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    filename: str = Query(..., max_length=255),
    username: str | None = Query(None, max_length=64),
    branch: str = Query(MAIN, max_length=64),
) -> dict[str, Any]:
    """The first 64 KiB of a text file; 415 for binary content."""
    f, file = await named(ctx, workspace, username, filename, write=False, branch=branch)
    head = b""
    async for chunk in ctx.runtime.blobs.read(file.sha256, end=PREVIEW_BYTES):
        head += chunk
    text = None
    if b"\x00" not in head:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the preview's edge is still text.
            if exc.start >= len(head) - 3 and file.size > PREVIEW_BYTES:
                text = head[: exc.start].decode("utf-8")
    if text is None or not (
        is_text(file.content_type) or (file.content_type == "application/octet-stream" and text)
    ):
        raise UnsupportedMediaType(
            f"{file.name} is not a text file; download it instead.", code="NOT_TEXT"
        )
    return {
        "path": f.path(file.name),
        "contentType": file.content_type,
        "size": file.size,
        "truncated": file.size > PREVIEW_BYTES,
        "text": text,
    }


@router.get("/v1/filemeta")
async def file_meta(
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    filename: str = Query(..., max_length=255),
    username: str | None = Query(None, max_length=64),
    branch: str = Query(MAIN, max_length=64),
) -> dict[str, Any]:
    """Size, content type, etag, SHA-256, version and lock of a file."""
    f, file = await named(ctx, workspace, username, filename, write=False, branch=branch)
    path = f.path(file.name)
    return {
        **file_read(file, workspace, f.owner.username).model_dump(mode="json", by_alias=True),
        "lock": await locks.lock_info(ctx.session, file, path),
    }


def _upload_result(
    outcome: service.UploadOutcome, f: Folder, attachment_id: uuid.UUID | None = None
) -> dict[str, Any]:
    result = {
        **file_read(outcome.file, f.access.workspace.name, f.owner.username).model_dump(
            mode="json", by_alias=True
        ),
        "versionId": str(outcome.version.id),
    }
    if attachment_id is not None:
        result["attachmentId"] = str(attachment_id)
    return result


async def _link(
    ctx: RequestContext, f: Folder, form: StreamedForm, branch: str
) -> UploadLink | None:
    """The upload's optional ``itemId`` / ``partVersionId``, checked before anything is recorded."""
    return await items.upload_link(
        ctx.session,
        access=f.access,
        actor=ctx.user,
        item_id=uploads.uuid_field(form, "itemId"),
        part_version_id=uploads.uuid_field(form, "partVersionId"),
        branch_name=branch,
    )


ITEM_FIELDS = {
    "itemId": {
        "type": "string",
        "format": "uuid",
        "description": "a part of the workspace the file belongs to (answered as itemId)",
    },
    "partVersionId": {
        "type": "string",
        "format": "uuid",
        "description": "a revision of that part: the new version is attached to it",
    },
}
UPLOAD_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "baseVersion": {"type": "string", "description": "the etag you edited"},
                        "replace": {"type": "boolean", "description": "skip the etag check"},
                        "message": {"type": "string"},
                        "branch": {"type": "string", "default": MAIN},
                        "conflict": {"type": "string", "enum": ["copy", "reject"]},
                        **ITEM_FIELDS,
                    },
                }
            }
        },
    }
}
BATCH_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files[]": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                        "replace": {"type": "boolean"},
                        **ITEM_FIELDS,
                    },
                }
            }
        },
    }
}


@router.post(
    "/v1/upload",
    openapi_extra=UPLOAD_FORM,
    dependencies=[Depends(rate_limit("upload", "30/minute", key=upload_rate_key))],
)
async def upload_file(
    request: Request,
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    username: str | None = Query(None, max_length=64),
) -> JSONResponse:
    """Upload with optimistic concurrency: 201 new file, 200 new version, 409 with a
    materialised ``_conflict_`` copy when ``baseVersion`` is stale (``conflict=reject``: none);
    ``itemId`` links the file to a part, ``partVersionId`` attaches the new version to it."""
    f = await service.folder(
        ctx.session, user=ctx.user, workspace=workspace, username=username, write=True
    )
    # Release SQLite's write lock while the bytes stream to the blob store; the version is
    # recorded in a fresh transaction below.
    await ctx.session.commit()
    form = await uploads.receive(request, ctx.runtime, max_files=1)
    if not form.files or form.files[0].field != "file":
        raise Invalid("Send the file in a form field named file.", code="FILE_REQUIRED")
    sent = form.files[0]
    blob = uploads.stored(sent.filename, sent.blob.sha256, sent.blob.size)
    conflict = form.value("conflict") or "copy"
    if conflict not in ("copy", "reject"):
        raise Invalid("conflict must be copy or reject.", code="INVALID_FIELD")
    branch = check_branch_name(uploads.text(form, "branch", max_length=64) or MAIN)
    if branch != MAIN:  # a branch first written by upload gets its row (and Cascadia branchId)
        await branches.ensure_branch(ctx.session, f.access, branch, ctx.user)
    link = await _link(ctx, f, form, branch)
    outcome = await service.upload(
        ctx.session,
        f=f,
        actor=ctx.user,
        name=blob.original_name,
        blob=blob,
        base_version=uploads.text(form, "baseVersion", max_length=100),
        replace=uploads.flag(form, "replace"),
        message=uploads.text(form, "message", max_length=5000),
        branch=branch,
        item_id=link.part.id if link else None,
        on_conflict="reject" if conflict == "reject" else "copy",
    )
    attached = await items.attach_upload(ctx.session, access=f.access, link=link, outcome=outcome)
    body = _upload_result(outcome, f, attached)
    if outcome.conflict_with is not None:
        return JSONResponse(
            {
                "type": "about:blank",
                "title": "Conflict",
                "status": 409,
                "code": "VERSION_CONFLICT",
                "detail": f"{f.path(outcome.conflict_with.name)} changed since your base version; "
                f"your upload was kept as {body['path']}.",
                "currentEtag": outcome.conflict_with.etag,
                "conflictPath": body["path"],
                "file": body,
            },
            status_code=409,
            media_type="application/problem+json",
        )
    return JSONResponse(body, status_code=201 if outcome.version.number == 1 else 200)


@router.post(
    "/v1/uploads",
    openapi_extra=BATCH_FORM,
    dependencies=[Depends(rate_limit("upload", "30/minute", key=upload_rate_key))],
)
async def upload_files(
    request: Request,
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    username: str | None = Query(None, max_length=64),
) -> dict[str, Any]:
    """Batch upload (at most 20): every name is checked as it arrives, then all files are
    recorded in one transaction; an existing name without ``replace`` becomes a conflict copy."""
    f = await service.folder(
        ctx.session, user=ctx.user, workspace=workspace, username=username, write=True
    )
    await ctx.session.commit()  # as in /v1/upload: no write lock while bytes stream
    form = await uploads.receive(request, ctx.runtime, max_files=MAX_BATCH)
    if not form.files:
        raise Invalid("Send the files in form fields named files[].", code="FILE_REQUIRED")
    blobs = [uploads.stored(s.filename, s.blob.sha256, s.blob.size) for s in form.files]
    names = [b.original_name for b in blobs]
    if len(set(names)) != len(names):
        raise Invalid("The batch names the same file twice.", code="DUPLICATE_FILENAME")
    replace = uploads.flag(form, "replace")
    link = await _link(ctx, f, form, MAIN)
    results = []
    for blob in blobs:
        outcome = await service.upload(
            ctx.session,
            f=f,
            actor=ctx.user,
            name=blob.original_name,
            blob=blob,
            base_version=None,
            replace=replace,
            message=None,
            item_id=link.part.id if link else None,
        )
        attached = await items.attach_upload(
            ctx.session, access=f.access, link=link, outcome=outcome
        )
        result = _upload_result(outcome, f, attached)
        result["status"] = (
            "conflict"
            if outcome.conflict_with
            else ("created" if outcome.version.number == 1 else "updated")
        )
        results.append(result)
    return {"items": results, "count": len(results)}


@router.delete("/v1/file")
async def delete_file(
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    filename: str = Query(..., max_length=255),
    username: str | None = Query(None, max_length=64),
    branch: str = Query(MAIN, max_length=64),
) -> dict[str, Any]:
    """Move a file to the workspace trash (423 when someone else holds its lock)."""
    f, file = await named(ctx, workspace, username, filename, write=True, branch=branch)
    await service.trash(ctx.session, actor=ctx.user, access=f.access, file=file)
    return {"ok": True, "key": str(file.id), "path": f.path(file.name)}
