"""ORM models of BOMs: a header per assembly revision and a tree of items under it."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from threadline.catalog.models import ApprovalStatus
from threadline.db import Base, bump_version_on_update, enum_column


class BomType(enum.StrEnum):
    """Engineering BOM (as designed) or manufacturing BOM (as built)."""

    ebom = "ebom"
    mbom = "mbom"


class AlternateApproval(enum.StrEnum):
    """productflo-sync-api: Alternates Management; ``pending`` awaits a manager."""

    pending = "pending"
    approved = "approved"
    conditional = "conditional"
    rejected = "rejected"


class Bom(Base):
    __tablename__ = "boms"
    __table_args__ = (
        UniqueConstraint("workspace_id", "assembly_part_id", "type", "revision"),
        Index("ix_boms_assembly_part_id", "assembly_part_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    assembly_part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"))
    assembly_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("part_versions.id", ondelete="SET NULL")
    )
    type: Mapped[BomType] = mapped_column(enum_column(BomType, "bom_type"))
    revision: Mapped[str] = mapped_column(String(32))
    status: Mapped[ApprovalStatus] = mapped_column(
        enum_column(ApprovalStatus, "bom_status"), default=ApprovalStatus.draft
    )
    change_note: Mapped[str | None] = mapped_column(Text)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    source_bom_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("boms.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]


class BomItem(Base):
    """One line: ``qty`` of a child part under the assembly or under another line."""

    __tablename__ = "bom_items"
    __table_args__ = (
        Index("ix_bom_items_bom_id", "bom_id"),
        Index("ix_bom_items_child_part_id", "child_part_id"),
        Index("ix_bom_items_parent_item_id", "parent_item_id"),
    )

    bom_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("boms.id", ondelete="CASCADE"))
    parent_item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("bom_items.id", ondelete="CASCADE")
    )
    child_part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id", ondelete="RESTRICT"))
    child_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("part_versions.id", ondelete="SET NULL")
    )
    qty: Mapped[Decimal] = mapped_column(Numeric(18, 6))
    uom: Mapped[str] = mapped_column(String(32), default="each")
    refdes: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    sort_index: Mapped[int] = mapped_column(default=0)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    date_from: Mapped[date | None]
    date_to: Mapped[date | None]
    serial_from: Mapped[int | None] = mapped_column(BigInteger)
    serial_to: Mapped[int | None] = mapped_column(BigInteger)
    lot_from: Mapped[str | None] = mapped_column(String(64))
    lot_to: Mapped[str | None] = mapped_column(String(64))
    # Do-not-populate: the footprint stays on the board and in the BOM (an assembler needs its
    # designators), but the line is left out of cost rollups and purchasing quantities.
    dnp: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Optimistic concurrency: bumped by every write, checked against If-Match / ``version``.
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    alternates: Mapped[list[BomItemAlternate]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


bump_version_on_update(BomItem)


class BomItemAlternate(Base):
    __tablename__ = "bom_item_alternates"
    __table_args__ = (UniqueConstraint("item_id", "part_id"),)

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bom_items.id", ondelete="CASCADE"))
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"))
    approval: Mapped[AlternateApproval] = mapped_column(
        enum_column(AlternateApproval, "alternate_approval"), default=AlternateApproval.pending
    )
    rationale: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
