"""Locks on files (productflo-sync-api: Locks)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from threadline.auth.deps import Ctx, RequestContext
from threadline.auth.models import Role, User
from threadline.ratelimit import client_ip, rate_limit
from threadline.vault import locks, service
from threadline.vault.models import LockKind
from threadline.vault.schemas import (
    ForceUnlockIn,
    LockAllIn,
    LockIn,
    LockRequestIn,
    UnlockAllIn,
    UnlockIn,
)
from threadline.vault.service import Folder
from threadline.vault.views import (
    at_path,
)

router = APIRouter(tags=["files"])


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
    _f, file = await at_path(ctx, path, write=False)
    return await locks.lock_info(ctx.session, file, path)


@router.post("/v1/locks/lock")
async def lock(body: LockIn, ctx: Ctx) -> dict[str, Any] | None:
    """Lock a file for a TTL (default 10 min, at least 1 min); 409 if someone else holds it."""
    f, file = await at_path(ctx, body.path, write=False)
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
    f, file = await at_path(ctx, body.path, write=False)
    await locks.release(
        ctx.session, actor=ctx.user, access=f.access, file=file, lock_id=body.lock_id
    )
    return {"ok": True}


@router.post("/v1/locks/force-unlock")
async def force_unlock(body: ForceUnlockIn, ctx: Ctx) -> dict[str, Any]:
    """Remove anyone's lock (manager+), with an optional message for the holder."""
    f, file = await at_path(ctx, body.path, write=False)
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
    f, file = await at_path(ctx, body.path, write=False)
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
