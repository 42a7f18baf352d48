"""Write and read the audit log. Writing adds a row to the caller's transaction, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.audit.models import AuditEvent
from threadline.auth.models import User, Workspace
from threadline.db import pending_events
from threadline.events import typed
from threadline.pagination import PageParams, paginate


def record(
    session: AsyncSession,
    *,
    actor: User | None,
    workspace: Workspace | None,
    entity_type: str,
    entity_id: uuid.UUID | str,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    notify: str | None = None,
) -> AuditEvent:
    """Record one change in the same transaction as the change itself.

    If the surrounding transaction rolls back, so does this row: the log never claims a change
    that did not happen. A workspace change also becomes a live event, published once the
    transaction has committed (``notify``: deliver it to that username only).
    """
    event = AuditEvent(
        workspace_id=workspace.id if workspace else None,
        actor_id=actor.id if actor else None,
        actor_label=actor.email if actor else "system",
        entity_type=entity_type,
        entity_id=str(entity_id),
        action=action,
        before=before,
        after=after,
    )
    session.add(event)
    if workspace is not None:
        pending_events(session).append(
            typed.from_audit(
                workspace=workspace.name,
                actor=actor.username if actor else None,
                entity_type=entity_type,
                entity_id=str(entity_id),
                action=action,
                after=after,
                to=notify,
            )
        )
    return event


def _list_statement(
    workspace: Workspace, entity_type: str | None, entity_id: str | None, action: str | None
) -> Select[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.workspace_id == workspace.id)
    if entity_type:
        stmt = stmt.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    # ids are UUIDv7, so id order is insertion order within the same timestamp.
    return stmt.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


async def list_events(
    session: AsyncSession,
    *,
    workspace: Workspace,
    params: PageParams,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
) -> tuple[Sequence[AuditEvent], int]:
    """One page of a workspace's audit events, newest first, optionally narrowed."""
    rows, total = await paginate(
        session, _list_statement(workspace, entity_type, entity_id, action), params
    )
    return [row[0] for row in rows], total
