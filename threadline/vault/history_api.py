"""A file's history, trash, branches and conflicts (productflo-sync-api: History, Timeline &
Revert; Trash; Branches & Merges; Conflicts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Query

from threadline.auth.deps import Ctx, RequestContext
from threadline.auth.models import Role
from threadline.collab import service as collab
from threadline.db import iso
from threadline.errors import Invalid
from threadline.vault import branches, service
from threadline.vault.models import VaultFile
from threadline.vault.paths import parse_serve_path
from threadline.vault.schemas import (
    BranchIn,
    MergeIn,
    ResolveIn,
    RestoreIn,
    RevertIn,
    VersionRead,
)
from threadline.vault.service import Folder
from threadline.vault.views import (
    at_path,
    file_read,
)

router = APIRouter(tags=["files"])


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
    _f, file = await at_path(ctx, path, write=False)
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
    _f, file = await at_path(ctx, path, write=False)
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
    f, copy = await _on_branch(body, ctx, branches.create_branch)
    return {
        **file_read(copy, body.workspace, f.owner.username).model_dump(mode="json", by_alias=True),
        "branchName": body.branch,
    }


@router.post("/v1/branches/delete")
async def delete_branch(body: BranchIn, ctx: Ctx) -> dict[str, Any]:
    """Delete a branch copy (not main); it goes to the trash."""
    _f, copy = await _on_branch(body, ctx, branches.delete_branch)
    return {"ok": True, "key": str(copy.id)}


async def _on_branch(
    body: BranchIn, ctx: RequestContext, operation: Callable[..., Awaitable[VaultFile]]
) -> tuple[Folder, VaultFile]:
    """Run a branch operation on ``body``'s file in the caller's writable folder."""
    f = await service.folder(
        ctx.session, user=ctx.user, workspace=body.workspace, username=body.username, write=True
    )
    copy = await operation(
        ctx.session,
        actor=ctx.user,
        f=f,
        base=body.base,
        branch=body.branch,
        suffix_writes=ctx.runtime.settings.branch_suffix_writes,
    )
    return f, copy


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
