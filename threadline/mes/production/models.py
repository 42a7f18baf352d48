"""ORM models of production BOMs (production-bom-api.md, DESIGN.md "Production BOM face").

A production BOM is its own table: named entries, each a part type with a quantity required per
build and the jobs (MES line items) that supply it. Versions are immutable snapshots of the
entries as they were before a versioned edit; ``last_version`` on the BOM is the counter those
edits bump, so the UPDATE that claims a number also row-locks the BOM until the edit commits.
A job's face-only attribute (its part type) lives beside its line item in ``production_jobs``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from threadline.db import Base
from threadline.mes.models import BureauOwned


class ProductionBom(BureauOwned, Base):
    """A named list of per-build requirements, optionally derived from a native BOM."""

    __tablename__ = "production_boms"
    __table_args__ = (Index("ix_production_boms_workspace_created", "workspace_id", "created_at"),)

    name: Mapped[str] = mapped_column(String(255))
    # The native BOM (and its assembly part) it was derived from; they may go, the BOM stays.
    source_bom_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("boms.id", ondelete="SET NULL")
    )
    source_part_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("parts.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # The last version number handed out (0 before the first versioned edit).
    last_version: Mapped[int] = mapped_column(default=0, server_default="0")


class ProductionBomEntry(Base):
    """One part type a build needs, ``required_quantity`` of it per build."""

    __tablename__ = "production_bom_entries"
    __table_args__ = (Index("ix_production_bom_entries_bom", "bom_id", "position"),)

    bom_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production_boms.id", ondelete="CASCADE"))
    position: Mapped[int]
    part_type: Mapped[str] = mapped_column(String(255))
    required_quantity: Mapped[Decimal] = mapped_column(Numeric(18, 6))
    # The native part a derived entry stands for.
    part_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("parts.id", ondelete="SET NULL"))


class ProductionBomEntryJob(Base):
    """A job contributing to an entry. Carries the BOM too, so a BOM's summary reads one index."""

    __tablename__ = "production_bom_entry_jobs"
    __table_args__ = (
        UniqueConstraint("entry_id", "line_item_id"),
        Index("ix_production_bom_entry_jobs_bom", "bom_id", "entry_id"),
        Index("ix_production_bom_entry_jobs_line_item", "line_item_id"),
    )

    bom_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production_boms.id", ondelete="CASCADE"))
    entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("production_bom_entries.id", ondelete="CASCADE")
    )
    # A line item deleted on the MES face stops contributing.
    line_item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_line_items.id", ondelete="CASCADE")
    )
    position: Mapped[int]


class BomVersion(Base):
    """An immutable snapshot of a BOM's entries before a versioned edit (append-only)."""

    __tablename__ = "production_bom_versions"
    __table_args__ = (UniqueConstraint("bom_id", "version_number"),)

    bom_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production_boms.id", ondelete="CASCADE"))
    version_number: Mapped[int]
    # The entries as the API showed them: [{partType, requiredQuantityPerBuild, ...}, ...]
    entries: Mapped[list[Any]]
    change_description: Mapped[str] = mapped_column(Text)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Kept as text so the history still says who edited after the account is gone.
    user_label: Mapped[str] = mapped_column(String(320))


class ProductionJob(Base):
    """What the production-BOM face knows of a job beyond its MES line item."""

    __tablename__ = "production_jobs"

    line_item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_line_items.id", ondelete="CASCADE"), unique=True
    )
    part_type: Mapped[str | None] = mapped_column(String(255))
    part_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("parts.id", ondelete="SET NULL"))
