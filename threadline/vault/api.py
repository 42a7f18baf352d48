"""Native file API (productflo-sync-api: Files & Uploads, Signed URLs, History, Branches, Locks,
Conflicts, Trash, CORS for file viewers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from threadline.auth.deps import Ctx, RequestContext
from threadline.auth.models import Role, User
from threadline.collab import service as collab
from threadline.db import iso
from threadline.errors import Invalid, UnsupportedMediaType
from threadline.pagination import PageParams, page_params
from threadline.ratelimit import client_ip, rate_limit
from threadline.schemas import Page
from threadline.vault import branches, locks, service, signing, uploads
from threadline.vault.models import MAIN, LockKind, VaultFile
from threadline.vault.paths import ServePath, check_branch_name, is_text, parse_serve_path
from threadline.vault.schemas import (
    BranchIn,
    FileRead,
    ForceUnlockIn,
    LockAllIn,
    LockIn,
    LockRequestIn,
    MergeIn,
    ResolveIn,
    RestoreIn,
    RevertIn,
    UnlockAllIn,
    UnlockIn,
    VersionRead,
)
from threadline.vault.service import Folder
from threadline.vault.serving import file_response, preflight

router = APIRouter(tags=["files"])
PREVIEW_BYTES = 64 * 1024
MAX_BATCH = 20


def _workspace_ip(request: Request) -> str:
    return f"{request.query_params.get('workspace', '')}|{client_ip(request)}"


def file_read(file: VaultFile, workspace: str, username: str) -> FileRead:
    return FileRead(
        id=file.id,
        path=service.serve_path(workspace, username, file.name),
        name=file.name,
        username=username,
        branch=file.branch,
        size=file.size,
        content_type=file.content_type,
        etag=file.etag,
        sha256=file.sha256,
        version=file.current_version,
        item_id=file.item_id,
        conflict_of=file.conflict_of_id,
        created_at=iso(file.created_at),
        updated_at=iso(file.updated_at),
    )


async def _at(
    ctx: RequestContext, path: str, *, write: bool, branch: str = MAIN
) -> tuple[Folder, VaultFile]:
    where = parse_serve_path(path)
    f = await service.folder(
        ctx.session, user=ctx.user, workspace=where.workspace, username=where.username, write=write
    )
    return f, await service.get_file(ctx.session, f, where.filename, branch=branch)


def _page(items: list[Any], params: PageParams) -> Page[Any]:
    chunk = items[params.offset : params.offset + params.page_size]
    return Page(items=chunk, total=len(items), page=params.page, page_size=params.page_size)


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
    return _page([file_read(file, workspace, user) for file, user in rows], params)


@router.get("/v1/files/all", response_model=Page[FileRead])
async def list_all_files(
    ctx: Ctx, workspace: str = Query(..., max_length=64), params: PageParams = Depends(page_params)
) -> Page[Any]:
    """Every member's files in the workspace."""
    access = await ctx.require_role(workspace, "viewer")
    rows = await service.list_files(ctx.session, workspace_id=access.workspace.id)
    return _page([file_read(file, access.workspace.name, user) for file, user in rows], params)


async def _named(
    ctx: RequestContext,
    workspace: str,
    username: str | None,
    filename: str,
    *,
    write: bool,
    branch: str = MAIN,
) -> tuple[Folder, VaultFile]:
    f = await service.folder(
        ctx.session, user=ctx.user, workspace=workspace, username=username, write=write
    )
    return f, await service.get_file(ctx.session, f, filename, branch=branch)


@router.get("/v1/file")
async def preview(
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    filename: str = Query(..., max_length=255),
    username: str | None = Query(None, max_length=64),
    branch: str = Query(MAIN, max_length=64),
) -> dict[str, Any]:
    """The first 64 KiB of a text file; 415 for binary content."""
    f, file = await _named(ctx, workspace, username, filename, write=False, branch=branch)
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
    f, file = await _named(ctx, workspace, username, filename, write=False, branch=branch)
    path = f.path(file.name)
    return {
        **file_read(file, workspace, f.owner.username).model_dump(mode="json", by_alias=True),
        "lock": await locks.lock_info(ctx.session, file, path),
    }


def _upload_result(outcome: service.UploadOutcome, f: Folder) -> dict[str, Any]:
    return {
        **file_read(outcome.file, f.access.workspace.name, f.owner.username).model_dump(
            mode="json", by_alias=True
        ),
        "versionId": str(outcome.version.id),
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
                    },
                }
            }
        },
    }
}


@router.post(
    "/v1/upload",
    openapi_extra=UPLOAD_FORM,
    dependencies=[Depends(rate_limit("upload", "30/minute", key=_workspace_ip))],
)
async def upload_file(
    request: Request,
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    username: str | None = Query(None, max_length=64),
) -> JSONResponse:
    """Upload with optimistic concurrency: 201 new file, 200 new version, 409 with a
    materialised ``_conflict_`` copy when ``baseVersion`` is stale (``conflict=reject``: none)."""
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
        on_conflict="reject" if conflict == "reject" else "copy",
    )
    body = _upload_result(outcome, f)
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
    dependencies=[Depends(rate_limit("upload", "30/minute", key=_workspace_ip))],
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
        )
        result = _upload_result(outcome, f)
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
    f, file = await _named(ctx, workspace, username, filename, write=True, branch=branch)
    await service.trash(ctx.session, actor=ctx.user, access=f.access, file=file)
    return {"ok": True, "key": str(file.id), "path": f.path(file.name)}


# --- serving ----------------------------------------------------------------------------------


@router.options("/v1/serve/{workspace}/{username}/{filename}")
@router.options("/v1/serve-signed/{workspace}/{username}/{filename}")
async def serve_preflight(request: Request) -> Response:
    """CORS preflight for file viewers."""
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
    _f, file = await _named(ctx, workspace, username, filename, write=False, branch=branch)
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
    await _at(ctx, path, write=False)  # the caller must be able to read the file
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


# --- history ------------------------------------------------------------------------------------


async def _versions(ctx: RequestContext, file: VaultFile) -> list[dict[str, Any]]:
    """Versions, newest first, each with the nearest comment's message (collaboration)."""
    rows = await service.versions_of(ctx.session, file)
    comments = await collab.nearest_comments(ctx.session, file=file, versions=[v for v, _ in rows])
    return [
        VersionRead(
            id=v.id,
            version=v.number,
            size=v.size,
            sha256=v.sha256,
            content_type=v.content_type,
            original_name=v.original_name,
            message=v.message,
            author=author,
            source=v.source,
            created_at=iso(v.created_at),
            comment=comments.get(v.id),
        ).model_dump(mode="json", by_alias=True)
        for v, author in rows
    ]


@router.get("/v1/versions")
async def list_versions(ctx: Ctx, path: str = Query(..., max_length=600)) -> dict[str, Any]:
    """A file's versions, newest first."""
    _f, file = await _at(ctx, path, write=False)
    items = await _versions(ctx, file)
    return {"path": path, "items": items, "total": len(items)}


@router.get("/v1/timeline")
async def timeline(
    ctx: Ctx, path: str = Query(..., max_length=600), types: str = Query("version", max_length=100)
) -> dict[str, Any]:
    """A file's versions, comments and tasks as one history, newest first."""
    wanted = {t.strip() for t in types.split(",") if t.strip()}
    unknown = wanted - {"version", "comment", "task"}
    if unknown:
        raise Invalid(
            f"Unknown timeline types: {', '.join(sorted(unknown))}.", code="INVALID_TYPES"
        )
    _f, file = await _at(ctx, path, write=False)
    events: list[dict[str, Any]] = []
    if "version" in wanted:
        events += [
            {"type": "version", "at": v["createdAt"], **v} for v in await _versions(ctx, file)
        ]
    events += await collab.timeline_events(ctx.session, file=file, types=wanted - {"version"})
    events.sort(key=lambda e: e["at"] or "", reverse=True)
    return {"path": path, "items": events, "total": len(events)}


@router.post("/v1/revert")
async def revert(body: RevertIn, ctx: Ctx) -> dict[str, Any]:
    """Revert a file to an earlier version across every member's copy (respects locks)."""
    where = parse_serve_path(body.path)
    f = await service.folder(
        ctx.session, user=ctx.user, workspace=where.workspace, username=where.username, write=False
    )
    updated = await service.revert(
        ctx.session,
        actor=ctx.user,
        f=f,
        name=where.filename,
        version_id=body.version_id,
        message=body.message,
    )
    return {"ok": True, "updated": len(updated), "etag": updated[0].etag if updated else None}


# --- locks ------------------------------------------------------------------------------------


async def _owner(ctx: RequestContext, f: Folder, username: str | None) -> User:
    """Locks are taken for yourself; naming someone else needs the manager role."""
    if username is None or username.lower() == ctx.user.username:
        return ctx.user
    await ctx.require_role(f.access.workspace.id, Role.manager)
    other = await service.folder(
        ctx.session, user=ctx.user, workspace=f.access.workspace.id, username=username, write=False
    )
    return other.owner


@router.get("/v1/locks")
async def get_lock(ctx: Ctx, path: str = Query(..., max_length=600)) -> dict[str, Any] | None:
    """The file's current lock, or null."""
    _f, file = await _at(ctx, path, write=False)
    return await locks.lock_info(ctx.session, file, path)


@router.post("/v1/locks/lock")
async def lock(body: LockIn, ctx: Ctx) -> dict[str, Any] | None:
    """Lock a file for a TTL (default 10 min, at least 1 min); 409 if someone else holds it."""
    f, file = await _at(ctx, body.path, write=False)
    await ctx.require_role(f.access.workspace.id, Role.engineer)
    owner = await _owner(ctx, f, body.owner)
    await locks.acquire(
        ctx.session,
        actor=ctx.user,
        access=f.access,
        file=file,
        owner=owner,
        kind=LockKind.lock,
        ttl_ms=body.ttl_ms,
    )
    return await locks.lock_info(ctx.session, file, body.path)


@router.post("/v1/locks/unlock")
async def unlock(body: UnlockIn, ctx: Ctx) -> dict[str, Any]:
    """Release your lock."""
    f, file = await _at(ctx, body.path, write=False)
    await locks.release(
        ctx.session, actor=ctx.user, access=f.access, file=file, lock_id=body.lock_id
    )
    return {"ok": True}


@router.post("/v1/locks/force-unlock")
async def force_unlock(body: ForceUnlockIn, ctx: Ctx) -> dict[str, Any]:
    """Remove anyone's lock (manager+), with an optional message for the holder."""
    f, file = await _at(ctx, body.path, write=False)
    access = await ctx.require_role(f.access.workspace.id, Role.manager)
    await locks.force_unlock(
        ctx.session, actor=ctx.user, access=access, file=file, message=body.message
    )
    return {"ok": True}


@router.post(
    "/v1/locks/request",
    dependencies=[Depends(rate_limit("lock-request", "60/minute", key=client_ip))],
)
async def request_lock(body: LockRequestIn, ctx: Ctx) -> dict[str, Any]:
    """Ask the lock's holder to release it (recorded and sent to them)."""
    f, file = await _at(ctx, body.path, write=False)
    row = await locks.request(ctx.session, actor=ctx.user, access=f.access, file=file)
    return {"ok": True, "lockId": str(row.id)}


@router.post("/v1/locks/lock-all")
async def lock_all(body: LockAllIn, ctx: Ctx) -> dict[str, Any]:
    """Lock every file in the workspace (manager+); files others hold are skipped."""
    access = await ctx.require_role(body.workspace, Role.manager)
    f = Folder(access=access, owner=ctx.user)
    owner = await _owner(ctx, f, body.owner)
    locked, skipped = await locks.lock_all(
        ctx.session, actor=ctx.user, access=access, owner=owner, ttl_ms=body.ttl_ms
    )
    return {"locked": locked, "skipped": skipped}


@router.post("/v1/locks/unlock-all")
async def unlock_all(body: UnlockAllIn, ctx: Ctx) -> dict[str, Any]:
    """Remove every lock in the workspace (manager+)."""
    access = await ctx.require_role(body.workspace, Role.manager)
    return {"unlocked": await locks.unlock_all(ctx.session, actor=ctx.user, access=access)}


# --- trash ------------------------------------------------------------------------------------


@router.get("/v1/trash")
async def list_trash(
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    username: str | None = Query(None, max_length=64),
) -> dict[str, Any]:
    """Trashed files of a member's folder (default: yours)."""
    f = await service.folder(
        ctx.session, user=ctx.user, workspace=workspace, username=username, write=False
    )
    rows = await service.list_trash(
        ctx.session, workspace_id=f.access.workspace.id, owner_id=f.owner.id
    )
    items = [
        {
            **file_read(file, workspace, user).model_dump(mode="json", by_alias=True),
            "key": str(file.id),
            "deletedAt": iso(file.deleted_at),
        }
        for file, user in rows
    ]
    return {"items": items, "total": len(items)}


@router.post("/v1/trash/restore")
async def restore(body: RestoreIn, ctx: Ctx) -> dict[str, Any]:
    """Restore a trashed file to its folder."""
    f = await service.folder(
        ctx.session, user=ctx.user, workspace=body.workspace, username=body.username, write=True
    )
    file = await service.restore(ctx.session, actor=ctx.user, f=f, key=body.key)
    return file_read(file, body.workspace, f.owner.username).model_dump(mode="json", by_alias=True)


# --- branches and conflicts --------------------------------------------------------------------


@router.get("/v1/branches")
async def list_branches(
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    base: str = Query(..., max_length=255),
    username: str | None = Query(None, max_length=64),
) -> dict[str, Any]:
    """Branches of a base file name (main first)."""
    f = await service.folder(
        ctx.session, user=ctx.user, workspace=workspace, username=username, write=False
    )
    items = await branches.list_branches(ctx.session, f, base)
    return {"base": base, "items": items}


@router.post("/v1/branches/create", status_code=201)
async def create_branch(body: BranchIn, ctx: Ctx) -> dict[str, Any]:
    """Start a branch (``[a-z0-9_-]+``) of a file from main's current version."""
    f = await service.folder(
        ctx.session, user=ctx.user, workspace=body.workspace, username=body.username, write=True
    )
    copy = await branches.create_branch(
        ctx.session,
        actor=ctx.user,
        f=f,
        base=body.base,
        branch=body.branch,
        suffix_writes=ctx.runtime.settings.branch_suffix_writes,
    )
    return {
        **file_read(copy, body.workspace, f.owner.username).model_dump(mode="json", by_alias=True),
        "branchName": body.branch,
    }


@router.post("/v1/branches/delete")
async def delete_branch(body: BranchIn, ctx: Ctx) -> dict[str, Any]:
    """Delete a branch copy (not main); it goes to the trash."""
    f = await service.folder(
        ctx.session, user=ctx.user, workspace=body.workspace, username=body.username, write=True
    )
    copy = await branches.delete_branch(
        ctx.session,
        actor=ctx.user,
        f=f,
        base=body.base,
        branch=body.branch,
        suffix_writes=ctx.runtime.settings.branch_suffix_writes,
    )
    return {"ok": True, "key": str(copy.id)}


@router.post("/v1/merge")
async def merge(body: MergeIn, ctx: Ctx) -> dict[str, Any]:
    """Merge a branch into main as a new version (respects locks)."""
    f = await service.folder(
        ctx.session, user=ctx.user, workspace=body.workspace, username=body.username, write=True
    )
    main = await branches.merge(
        ctx.session,
        actor=ctx.user,
        f=f,
        filename=body.filename,
        from_branch=body.from_branch,
        message=body.message,
        suffix_writes=ctx.runtime.settings.branch_suffix_writes,
    )
    return file_read(main, body.workspace, f.owner.username).model_dump(mode="json", by_alias=True)


@router.get("/v1/conflicts")
async def list_conflicts(
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    username: str | None = Query(None, max_length=64),
) -> dict[str, Any]:
    """Active conflicts in the workspace (or one member's folder)."""
    access = await ctx.require_role(workspace, "viewer")
    owner = None
    if username:
        owner = (
            await service.folder(
                ctx.session, user=ctx.user, workspace=workspace, username=username, write=False
            )
        ).owner
    rows = await branches.list_conflicts(ctx.session, access=access, owner=owner)
    items = [
        {
            "baseName": r.base_name,
            "path": r.path,
            "conflictPath": r.conflict_path,
            "author": r.author,
            "createdAt": r.created_at,
        }
        for r in rows
    ]
    return {"items": items, "total": len(items)}


@router.post("/v1/conflicts/resolve")
async def resolve_conflict(body: ResolveIn, ctx: Ctx) -> dict[str, Any]:
    """Accept one version and propagate it to every member's copy (engineer+)."""
    where = parse_serve_path(body.accepted_path)
    access = await ctx.require_role(where.workspace, Role.engineer)
    updated = await branches.resolve(
        ctx.session,
        actor=ctx.user,
        access=access,
        base_name=body.base_name,
        accepted_path=body.accepted_path,
        message=body.message,
    )
    return {"ok": True, "updated": len(updated), "etag": updated[0].etag if updated else None}
