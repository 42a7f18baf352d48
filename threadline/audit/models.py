"""ORM models of the audit log: one row per create/update/delete, with before/after snapshots.

The log is also the outbox of the live event stream: each workspace row carries ``seq``, the
workspace's event number, handed out by :class:`AuditSequence` (see ``audit/service.py``).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from threadline.db import Base, id_generator

# An audit row's id ends in this many zero bits: the MES ``/event/`` of its n-th key is the id
# with n in them (``mes/crosscut/events.py``), so events of rows made in the same millisecond,
# whose ids differ only in their last bits, never share a uuid.
KEY_BITS = 16
new_audit_id = id_generator(KEY_BITS)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_workspace_created", "workspace_id", "created_at"),
        Index("ix_audit_events_entity", "entity_type", "entity_id"),
        # The relay and Last-Event-ID replay read "this workspace, after seq N" through it.
        UniqueConstraint("workspace_id", "seq"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_audit_id)
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Kept as text so the log still says who acted after the account is gone.
    actor_label: Mapped[str] = mapped_column(String(320))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    # The workspace's event number (1, 2, 3, ... in commit order; the SSE ``id``); None for
    # changes outside any workspace, which no stream shows.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    # Username the live event goes to alone (a lock request to the holder, a mention to the
    # mentioned); None: every member's stream.
    notify: Mapped[str | None] = mapped_column(String(64))


class AuditSequence(Base):
    """The last event number handed out in a workspace. Claiming numbers updates this row, so
    the row lock orders a workspace's audited transactions (see ``audit.service``)."""

    __tablename__ = "audit_sequences"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), unique=True
    )
    last_seq: Mapped[int] = mapped_column(BigInteger)
