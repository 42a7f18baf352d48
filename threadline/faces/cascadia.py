"""The Cascadia PLM Files API (cascadia-files-api.md) over the vault: ``/api/files/*`` and
``/api/items/*``. A Cascadia "item" is a catalog part. Translation only; the rules live in
:mod:`threadline.vault`. Permissions: documents.read = viewer, documents.update and
documents.delete = the vault's writer role (engineer), on any file of the workspace; someone
else's lock or checkout answers 423, as on the native API (:mod:`threadline.vault.locks`)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select

from threadline.auth.deps import Ctx, RequestContext
from threadline.auth.models import Membership, Role, User
from threadline.catalog import service as catalog
from threadline.db import iso
from threadline.errors import Conflict, Forbidden, Invalid, ThreadlineError
from threadline.schemas import ApiModel
from threadline.vault import items, locks, service, uploads
from threadline.vault.models import MAIN, FileLock, LockKind, VaultFile
from threadline.vault.serving import file_response

router = APIRouter(prefix="/api", tags=["cascadia"])
MAX_BATCH = 100


def data(payload: Any, status_code: int = 200) -> JSONResponse:
    """Cascadia's ``{"data": ...}`` envelope."""
    return JSONResponse({"data": payload}, status_code=status_code)


async def _checked_out_by(
    ctx: RequestContext, files: Sequence[VaultFile]
) -> dict[uuid.UUID, FileLock]:
    if not files:
        return {}
    rows = await ctx.session.scalars(
        select(FileLock).where(FileLock.file_id.in_([f.id for f in files]))
    )
    return {row.file_id: row for row in rows if locks.is_active(row)}


def file_json(file: VaultFile, lock: FileLock | None) -> dict[str, Any]:
    return {
        "id": str(file.id),
        "originalFileName": file.name,
        "mimeType": file.content_type,
        "fileSize": file.size,
        "version": file.current_version,
        "itemId": str(file.item_id) if file.item_id else None,
        "checkedOutBy": str(lock.owner_id) if lock else None,
        "createdAt": iso(file.created_at),
    }


async def _file(
    ctx: RequestContext, file_id: uuid.UUID, minimum: Role | str = Role.viewer
) -> tuple[Any, VaultFile]:
    return await service.file_by_id(ctx.session, user=ctx.user, file_id=file_id, minimum=minimum)


@router.get("/files")
async def list_files(ctx: Ctx, limit: int = Query(100, ge=1, le=1000)) -> JSONResponse:
    """All live files in the caller's workspaces, newest first."""
    stmt = (
        select(VaultFile)
        .join(Membership, Membership.workspace_id == VaultFile.workspace_id)
        .where(Membership.user_id == ctx.user.id, VaultFile.deleted_at.is_(None))
    )
    rows = (await ctx.session.scalars(stmt.order_by(VaultFile.updated_at.desc()))).all()
    held = await _checked_out_by(ctx, rows[:limit])
    return data({"files": [file_json(f, held.get(f.id)) for f in rows[:limit]], "count": len(rows)})


@router.delete("/files/{file_id}")
async def delete_file(file_id: uuid.UUID, ctx: Ctx) -> JSONResponse:
    """Soft-delete a file (documents.delete)."""
    access, file = await _file(ctx, file_id, locks.WRITER_ROLE)
    await service.trash(ctx.session, actor=ctx.user, access=access, file=file)
    return data({"success": True, "message": "File deleted successfully"})


@router.get("/files/{file_id}/download")
async def download(file_id: uuid.UUID, request: Request, ctx: Ctx) -> Response:
    """The file's bytes as an attachment, streamed."""
    _access, file = await _file(ctx, file_id)
    return file_response(
        request,
        ctx.runtime.blobs,
        sha256=file.sha256,
        size=file.size,
        content_type=file.content_type,
        etag=file.etag,
        filename=file.name,
        settings=ctx.runtime.settings,
        disposition="attachment",
    )


@router.get("/files/{file_id}/metadata")
async def metadata(file_id: uuid.UUID, ctx: Ctx) -> JSONResponse:
    """Metadata without the content."""
    _access, file = await _file(ctx, file_id)
    lock = (await _checked_out_by(ctx, [file])).get(file.id)
    return data(
        {
            "file": {
                **file_json(file, lock),
                "checkedOutAt": iso(lock.created_at) if lock else None,
                "storagePath": f"vault/{file.sha256[:2]}/{file.sha256[2:4]}/{file.sha256}",
                "checksum": f"sha256:{file.sha256}",
                "modifiedAt": iso(file.updated_at),
            }
        }
    )


@router.get("/files/{file_id}/versions")
async def versions(file_id: uuid.UUID, ctx: Ctx) -> JSONResponse:
    """Every version, newest first."""
    _access, file = await _file(ctx, file_id)
    rows = await service.versions_of(ctx.session, file)
    listed = [
        {
            "id": str(v.id),
            "version": v.number,
            "originalFileName": v.original_name,
            "fileSize": v.size,
            "createdAt": iso(v.created_at),
            "createdBy": str(v.author_id) if v.author_id else None,
        }
        for v, _username in rows
    ]
    return data({"versions": listed, "totalVersions": len(listed)})


async def _checkout_file(ctx: RequestContext, file_id: uuid.UUID) -> tuple[VaultFile, FileLock]:
    access, file = await _file(ctx, file_id, locks.WRITER_ROLE)
    lock = await locks.acquire(
        ctx.session,
        actor=ctx.user,
        access=access,
        file=file,
        owner=ctx.user,
        kind=LockKind.checkout,
    )
    return file, lock


@router.post("/files/{file_id}/checkout")
async def checkout_file(file_id: uuid.UUID, ctx: Ctx) -> JSONResponse:
    """Check a file out for exclusive editing (423 RESOURCE_LOCKED when someone else has it)."""
    await _checkout_file(ctx, file_id)
    return data({"success": True, "message": "File checked out successfully"})


async def _own_checkout(ctx: RequestContext, file: VaultFile) -> FileLock:
    lock = await locks.file_lock(ctx.session, file)
    if lock is None:
        raise Conflict("File is not checked out.", code="NOT_CHECKED_OUT")
    if lock.owner_id != ctx.user.id:
        raise Forbidden("You do not have this file checked out.", code="NOT_YOUR_CHECKOUT")
    return lock


@router.post("/files/{file_id}/checkin")
async def checkin_file(file_id: uuid.UUID, request: Request, ctx: Ctx) -> JSONResponse:
    """Check a file in; a multipart body with ``file`` (+ ``description``) adds a new version."""
    access, vault_file = await _file(ctx, file_id, locks.WRITER_ROLE)
    lock = await _own_checkout(ctx, vault_file)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        await ctx.session.delete(lock)
        locks._audit(ctx.session, ctx.user, access, vault_file, "checkin")
        return data({"success": True, "message": "File checked in successfully"})
    await ctx.session.commit()  # no SQLite write lock while the bytes stream
    form = await uploads.receive(request, ctx.runtime, max_files=1)
    access, vault_file = await _file(ctx, file_id, locks.WRITER_ROLE)
    lock = await _own_checkout(ctx, vault_file)
    if not form.files:
        await ctx.session.delete(lock)
        locks._audit(ctx.session, ctx.user, access, vault_file, "checkin")
        return data({"success": True, "message": "File checked in successfully"})
    sent = form.files[0]
    blob = uploads.stored(sent.filename, sent.blob.sha256, sent.blob.size)
    description = uploads.text(form, "description", max_length=5000)
    await locks.ensure_can_modify(ctx.session, actor=ctx.user, file=vault_file)
    before = service.snapshot(vault_file)
    version = service.add_version(
        ctx.session, vault_file, blob, actor=ctx.user, message=description
    )
    await ctx.session.delete(lock)
    await ctx.session.flush()
    service.record(ctx.session, ctx.user, access.workspace, vault_file, "checkin", before)
    return data(
        {
            "success": True,
            "message": "File checked in with new version",
            "newVersion": {
                "id": str(version.id),
                "version": version.number,
                "originalFileName": version.original_name,
                "fileSize": version.size,
            },
        }
    )


@router.get("/files/{file_id}/lock-status")
async def file_lock_status(file_id: uuid.UUID, ctx: Ctx) -> JSONResponse:
    """The strongest lock covering the file: item lock, else its file lock."""
    _access, file = await _file(ctx, file_id)
    if file.item_id is not None:
        part = await catalog.get_part(
            ctx.session, workspace_id=file.workspace_id, part_id=file.item_id
        )
        status = await items.lock_status(ctx.session, part)
        if status["isLocked"]:
            return data(status)
    lock = await locks.file_lock(ctx.session, file)
    if lock is None:
        return data({"isLocked": False})
    holder = await ctx.session.get(User, lock.owner_id)
    return data(
        {
            "isLocked": True,
            "lockType": "file_lock",
            "lockedBy": items.person(holder),
            "lockedAt": iso(lock.created_at),
            "scope": "file",
        }
    )


# Limited to 100 ids per batch (cascadia-files-api: Batch File Checkout). Not a pydantic
# ``max_length``: the reference's batch 400 lists every id under ``errors``, so the limit is
# checked by :func:`_batch`; the spec still says ``maxItems``.
Ids = Annotated[list[uuid.UUID], Field(min_length=1, json_schema_extra={"maxItems": MAX_BATCH})]


class FileIds(ApiModel):
    file_ids: Ids


class ItemIds(ApiModel):
    item_ids: Ids
    branch_id: uuid.UUID


async def _batch(
    ctx: RequestContext,
    ids: Sequence[uuid.UUID],
    work: Callable[[uuid.UUID], Awaitable[dict[str, Any]]],
    *,
    kind: str,
    done_key: str,
    failure: str,
    all_ok: int,
) -> JSONResponse:
    """Run ``work`` per id, each in its own savepoint; 2xx all / 207 some / 400 none.
    ``kind`` is ``file`` or ``item``: errors name ``fileId`` or ``itemId``."""
    id_key = f"{kind}Id"
    if len(ids) > MAX_BATCH:
        # 400 problem+json that also carries the reference's batch body (``data.errors`` naming
        # every id), so a client reading either shape understands it.
        limit = f"Limited to {MAX_BATCH} {kind}s per batch"
        raise Invalid(
            f"{limit}; this request has {len(ids)}. Split it into batches of {MAX_BATCH}.",
            code="BATCH_TOO_LARGE",
            data={
                done_key: [],
                "errors": [
                    {id_key: str(i), "error": failure, "details": limit, "code": "BATCH_TOO_LARGE"}
                    for i in ids
                ],
            },
        )
    done, errors = [], []
    for one_id in ids:
        try:
            async with ctx.session.begin_nested():
                done.append(await work(one_id))
        except ThreadlineError as exc:
            errors.append(
                {id_key: str(one_id), "error": failure, "details": exc.detail, "code": exc.code}
            )
    status = all_ok if not errors else (207 if done else 400)
    return data({done_key: done, "errors": errors}, status)


@router.post("/files/batch-checkout")
async def batch_checkout(body: FileIds, ctx: Ctx) -> JSONResponse:
    """Check out up to 100 files: 201 all, 207 some, 400 none (or more than 100)."""

    async def one(file_id: uuid.UUID) -> dict[str, Any]:
        file, lock = await _checkout_file(ctx, file_id)
        return {
            "fileId": str(file.id),
            "fileName": file.name,
            "checkedOutAt": iso(lock.created_at),
        }

    return await _batch(
        ctx,
        body.file_ids,
        one,
        kind="file",
        done_key="checkedOut",
        failure="Failed to checkout file",
        all_ok=201,
    )


@router.post("/files/batch-checkin")
async def batch_checkin(body: FileIds, ctx: Ctx) -> JSONResponse:
    """Check in (unlock) up to 100 files: 200 all, 207 some, 400 none (or more than 100)."""

    async def one(file_id: uuid.UUID) -> dict[str, Any]:
        access, file = await _file(ctx, file_id, locks.WRITER_ROLE)
        lock = await _own_checkout(ctx, file)
        await ctx.session.delete(lock)
        locks._audit(ctx.session, ctx.user, access, file, "checkin")
        return {"fileId": str(file.id), "fileName": file.name}

    return await _batch(
        ctx,
        body.file_ids,
        one,
        kind="file",
        done_key="checkedIn",
        failure="Failed to checkin file",
        all_ok=200,
    )


# --- items ------------------------------------------------------------------------------------


@router.get("/items/{item_id}/files")
async def item_files(
    item_id: uuid.UUID,
    ctx: Ctx,
    branch_id: uuid.UUID | None = Query(None, alias="branchId"),
    main_branch_id: uuid.UUID | None = Query(None, alias="mainBranchId"),
) -> JSONResponse:
    """Files attached to the item on a branch; with ``mainBranchId`` the main files the branch
    does not override are included as the baseline."""
    access, part = await items.item_access(
        ctx.session, user=ctx.user, item_id=item_id, minimum=Role.viewer
    )
    on = (await items.branch(ctx.session, access, branch_id)).name if branch_id else MAIN
    wanted = {on}
    if main_branch_id is not None:
        wanted.add((await items.branch(ctx.session, access, main_branch_id)).name)
    rows = (
        await ctx.session.scalars(
            select(VaultFile).where(
                VaultFile.item_id == part.id,
                VaultFile.deleted_at.is_(None),
                VaultFile.branch.in_(wanted),
            )
        )
    ).all()
    chosen: dict[tuple[uuid.UUID, str], VaultFile] = {}
    for file in sorted(rows, key=lambda f: f.branch != on):  # the branch's own copy wins
        chosen.setdefault((file.owner_id, file.name), file)
    files = sorted(chosen.values(), key=lambda f: f.name)
    held = await _checked_out_by(ctx, files)
    return data(
        {
            "files": [{**file_json(f, held.get(f.id)), "branch": f.branch} for f in files],
            "count": len(files),
        }
    )


@router.post("/items/{item_id}/files/upload", status_code=201)
async def upload_to_item(item_id: uuid.UUID, request: Request, ctx: Ctx) -> JSONResponse:
    """Upload files to an item: any file fields, ``<key>_description`` for each, ``branchId``."""
    access, part = await items.item_access(
        ctx.session, user=ctx.user, item_id=item_id, minimum=locks.WRITER_ROLE
    )
    await ctx.session.commit()  # no SQLite write lock while the bytes stream
    form = await uploads.receive(request, ctx.runtime, max_files=MAX_BATCH)
    raw_branch = form.value("branchId")
    on = MAIN
    if raw_branch:
        try:
            on = (await items.branch(ctx.session, access, uuid.UUID(raw_branch))).name
        except ValueError:
            raise Invalid("branchId must be a UUID.", code="INVALID_BRANCH") from None
    if not form.files:
        raise Invalid("Send at least one file field.", code="NO_FILES")
    await items.ensure_can_add_files(ctx.session, actor=ctx.user, part=part, branch_name=on)
    stored = [(s.field, uploads.stored(s.filename, s.blob.sha256, s.blob.size)) for s in form.files]
    out = []
    for key, blob in stored:
        description = uploads.text(form, f"{key}_description", max_length=5000)
        outcome = await service.upload(
            ctx.session,
            f=await items.upload_folder(
                ctx.session,
                access=access,
                actor=ctx.user,
                part=part,
                name=blob.original_name,
                branch_name=on,
            ),
            actor=ctx.user,
            name=blob.original_name,
            blob=blob,
            base_version=None,
            replace=True,
            message=description,
            branch=on,
            item_id=part.id,
            description=description,
        )
        out.append(
            {
                "id": str(outcome.file.id),
                "originalFileName": outcome.file.name,
                "mimeType": outcome.file.content_type,
                "fileSize": outcome.file.size,
                "version": outcome.file.current_version,
            }
        )
    return JSONResponse({"success": True, "files": out, "count": len(out)}, status_code=201)


class LockBody(ApiModel):
    force: bool = False


class BranchBody(ApiModel):
    branch_id: uuid.UUID | None = None


@router.post("/items/{item_id}/lock")
async def lock_item(
    item_id: uuid.UUID, ctx: Ctx, body: LockBody | None = Body(None)
) -> JSONResponse:
    """Lock the item across all branches (``force`` overrides, for administrators)."""
    access, part = await items.item_access(
        ctx.session, user=ctx.user, item_id=item_id, minimum=locks.WRITER_ROLE
    )
    await items.lock_item(
        ctx.session, actor=ctx.user, access=access, part=part, force=bool(body and body.force)
    )
    return data({"success": True, "lockStatus": await items.lock_status(ctx.session, part)})


@router.post("/items/{item_id}/unlock")
async def unlock_item(
    item_id: uuid.UUID, ctx: Ctx, body: LockBody | None = Body(None)
) -> JSONResponse:
    """Release the item lock (``force`` for administrators)."""
    access, part = await items.item_access(
        ctx.session, user=ctx.user, item_id=item_id, minimum=locks.WRITER_ROLE
    )
    await items.unlock_item(
        ctx.session, actor=ctx.user, access=access, part=part, force=bool(body and body.force)
    )
    return data({"success": True, "message": "Item unlocked successfully"})


@router.get("/items/{item_id}/lock-status")
async def item_lock_status(item_id: uuid.UUID, ctx: Ctx) -> JSONResponse:
    """Whether the item is locked, by whom, since when and for how many minutes."""
    _access, part = await items.item_access(
        ctx.session, user=ctx.user, item_id=item_id, minimum=Role.viewer
    )
    return data({"lockStatus": await items.lock_status(ctx.session, part)})


async def _checkout_item(
    ctx: RequestContext, item_id: uuid.UUID, branch_id: uuid.UUID | None
) -> dict[str, Any]:
    access, part = await items.item_access(
        ctx.session, user=ctx.user, item_id=item_id, minimum=locks.WRITER_ROLE
    )
    on = await items.branch(ctx.session, access, branch_id)
    row = await items.checkout(ctx.session, actor=ctx.user, access=access, part=part, on=on)
    return {
        "itemId": str(part.id),
        "branchId": str(on.id),
        "checkedOutAt": iso(row.created_at),
    }


@router.post("/items/{item_id}/checkout")
async def checkout_item(item_id: uuid.UUID, body: BranchBody, ctx: Ctx) -> JSONResponse:
    """Check the item out on a branch (409 CHECKOUT_CONFLICT, 423 ITEM_LOCKED)."""
    return data({"success": True, **(await _checkout_item(ctx, item_id, body.branch_id))})


@router.get("/items/{item_id}/checkout")
async def checkout_status(
    item_id: uuid.UUID, ctx: Ctx, branch_id: uuid.UUID | None = Query(None, alias="branchId")
) -> JSONResponse:
    """Checkout status of the item on a branch."""
    access, part = await items.item_access(
        ctx.session, user=ctx.user, item_id=item_id, minimum=Role.viewer
    )
    on = await items.branch(ctx.session, access, branch_id)
    return data(await items.checkout_status(ctx.session, part, on))


async def _end(
    ctx: RequestContext, item_id: uuid.UUID, branch_id: uuid.UUID | None, action: str
) -> dict[str, Any]:
    access, part = await items.item_access(
        ctx.session, user=ctx.user, item_id=item_id, minimum=locks.WRITER_ROLE
    )
    on = await items.branch(ctx.session, access, branch_id)
    await items.end_checkout(
        ctx.session, actor=ctx.user, access=access, part=part, on=on, action=action
    )
    return {"itemId": str(part.id), "branchId": str(on.id)}


@router.delete("/items/{item_id}/checkout")
async def cancel_checkout(
    item_id: uuid.UUID,
    ctx: Ctx,
    branch_id: uuid.UUID | None = Query(None, alias="branchId"),
    body: BranchBody | None = Body(None),
) -> JSONResponse:
    """Cancel your checkout of the item on a branch."""
    chosen = branch_id or (body.branch_id if body else None)
    await _end(ctx, item_id, chosen, "cancel_checkout")
    return data({"success": True, "message": "Checkout cancelled"})


@router.post("/items/{item_id}/checkin")
async def checkin_item(item_id: uuid.UUID, body: BranchBody, ctx: Ctx) -> JSONResponse:
    """Check the item in on a branch (NOT_CHECKED_OUT, NOT_YOUR_CHECKOUT)."""
    await _end(ctx, item_id, body.branch_id, "checkin")
    return data({"success": True, "message": "Item checked in successfully"})


@router.post("/items/batch-checkout")
async def batch_checkout_items(body: ItemIds, ctx: Ctx) -> JSONResponse:
    """Check out up to 100 items on one branch: 201 all, 207 some, 400 none (or more than 100)."""

    async def one(item_id: uuid.UUID) -> dict[str, Any]:
        return await _checkout_item(ctx, item_id, body.branch_id)

    return await _batch(
        ctx,
        body.item_ids,
        one,
        kind="item",
        done_key="checkedOut",
        failure="Failed to checkout item",
        all_ok=201,
    )


@router.post("/items/batch-checkin")
async def batch_checkin_items(body: ItemIds, ctx: Ctx) -> JSONResponse:
    """Check in up to 100 items on one branch: 200 all, 207 some, 400 none (or more than 100)."""

    async def one(item_id: uuid.UUID) -> dict[str, Any]:
        return await _end(ctx, item_id, body.branch_id, "checkin")

    return await _batch(
        ctx,
        body.item_ids,
        one,
        kind="item",
        done_key="checkedIn",
        failure="Failed to checkin item",
        all_ok=200,
    )
