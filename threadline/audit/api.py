"""``GET /v1/audit``: a workspace's change log (manager+)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from threadline.audit import service
from threadline.audit.schemas import AuditEventRead
from threadline.auth.deps import Ctx
from threadline.pagination import PageParams, page_of, page_params
from threadline.schemas import Page

router = APIRouter(prefix="/v1", tags=["audit"])


@router.get("/audit", response_model=Page[AuditEventRead])
async def list_audit_events(
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    entity: str | None = Query(
        None, max_length=64, description="Entity type, e.g. part; or type:id for one entity"
    ),
    entity_id: str | None = Query(None, alias="entityId", max_length=64),
    action: str | None = Query(None, max_length=64),
    params: PageParams = Depends(page_params),
) -> Page[AuditEventRead]:
    """Who changed what in a workspace, newest first."""
    access = await ctx.require_role(workspace, "manager")
    entity_type = entity
    if entity and ":" in entity:
        entity_type, entity_id = entity.split(":", 1)
    events, total = await service.list_events(
        ctx.session,
        workspace=access.workspace,
        params=params,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
    )
    items = [
        AuditEventRead(
            id=e.id,
            created_at=e.created_at,
            actor_id=e.actor_id,
            actor=e.actor_label,
            entity_type=e.entity_type,
            entity_id=e.entity_id,
            action=e.action,
            before=e.before,
            after=e.after,
            seq=e.seq,
        )
        for e in events
    ]
    return page_of(items, total, params)
