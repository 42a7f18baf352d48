"""Routes for workspaces, their members and server config (``/v1/*``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query, Response

from threadline.auth import service
from threadline.auth.deps import Ctx
from threadline.auth.models import Role, User
from threadline.auth.schemas import (
    MemberRead,
    MemberUpdate,
    ServerConfigRead,
    UserInitIn,
    UserInitRead,
    WorkspaceCreate,
    WorkspaceRead,
)
from threadline.errors import Forbidden
from threadline.events.presence import Presence, get_presence
from threadline.pagination import PageParams, page_of, page_params
from threadline.runtime import Runtime, get_runtime
from threadline.schemas import Page
from threadline.vault import service as vault

router = APIRouter(prefix="/v1", tags=["workspaces"])


@router.get("/config", response_model=ServerConfigRead)
async def server_config(runtime: Runtime = Depends(get_runtime)) -> ServerConfigRead:
    """Server behaviour the web client adapts to."""
    return ServerConfigRead(branch_suffix_writes=runtime.settings.branch_suffix_writes)


@router.get("/workspaces", response_model=Page[WorkspaceRead])
async def list_workspaces(
    ctx: Ctx,
    username: str | None = Query(None, max_length=64),
    params: PageParams = Depends(page_params),
) -> Page[WorkspaceRead]:
    """The caller's workspaces with the caller's role in each."""
    if username and username.lower() != ctx.user.username:
        raise Forbidden("You can only list your own workspaces.", code="FORBIDDEN")
    rows, total = await service.list_workspaces(ctx.session, user=ctx.user, params=params)
    items = [
        WorkspaceRead(id=ws.id, name=ws.name, role=role, created_at=ws.created_at)
        for ws, role in rows
    ]
    return page_of(items, total, params)


@router.post("/workspaces", status_code=201, response_model=WorkspaceRead)
async def create_workspace(body: WorkspaceCreate, ctx: Ctx) -> WorkspaceRead:
    """Create a workspace; the caller becomes its owner."""
    ws = await service.create_workspace(ctx.session, user=ctx.user, name=body.name)
    return WorkspaceRead(id=ws.id, name=ws.name, role=Role.owner, created_at=ws.created_at)


@router.get("/workspaces/{name}", response_model=WorkspaceRead)
async def get_workspace(name: str, ctx: Ctx) -> WorkspaceRead:
    """One workspace the caller belongs to."""
    access = await ctx.require_role(name, "viewer")
    ws = access.workspace
    return WorkspaceRead(id=ws.id, name=ws.name, role=access.role, created_at=ws.created_at)


@router.patch("/workspaces/{name}/members/{user_id}", response_model=MemberRead)
async def update_member(
    name: str,
    user_id: uuid.UUID,
    body: MemberUpdate,
    ctx: Ctx,
    presence: Presence = Depends(get_presence),
) -> MemberRead:
    """Change a member's role (manager+; owner role only by owners)."""
    access = await ctx.require_role(name, "manager")
    member = await service.set_member_role(
        ctx.session, access=access, user_id=user_id, role=body.role
    )
    await ctx.session.refresh(member, ["user"])
    online = await presence.online_usernames(access.workspace.id)
    return _member_read(member.user, member.role, online)


@router.delete("/workspaces/{name}/members/{user_id}", status_code=204)
async def remove_member(name: str, user_id: uuid.UUID, ctx: Ctx) -> Response:
    """Remove a member (manager+), or leave the workspace yourself."""
    access = await ctx.require_role(name, "viewer")
    await service.remove_member(ctx.session, access=access, user_id=user_id)
    return Response(status_code=204)


def _member_read(user: User, role: Role, online: set[str]) -> MemberRead:
    return MemberRead(
        id=user.id,
        username=user.username,
        name=user.name,
        email=user.email,
        role=role,
        online=user.username in online,
    )


@router.get("/users", response_model=Page[MemberRead])
async def list_users(
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    params: PageParams = Depends(page_params),
    presence: Presence = Depends(get_presence),
) -> Page[MemberRead]:
    """The workspace's members, each with its role and whether it is online now."""
    access = await ctx.require_role(workspace, "viewer")
    rows, total = await service.list_members(ctx.session, workspace=access.workspace, params=params)
    online = await presence.online_usernames(access.workspace.id)
    items = [_member_read(user, role, online) for user, role in rows]
    return page_of(items, total, params)


@router.post("/users/init", response_model=UserInitRead)
async def init_user(body: UserInitIn, ctx: Ctx) -> UserInitRead:
    """Create the caller's personal folder in a workspace (idempotent)."""
    access, target, created = await service.init_user_folder(
        ctx.session, user=ctx.user, workspace=body.workspace, username=body.username
    )
    # Backfill: the new folder gets a copy of every workspace file (shared by content hash).
    copied = await vault.backfill(ctx.session, actor=ctx.user, access=access, owner=target)
    ws = access.workspace.name
    return UserInitRead(
        workspace=ws,
        username=target.username,
        created=created,
        backfilled=copied,
        path=f"/v1/serve/{ws}/{target.username}/",
    )
