"""ORM models of the parts catalog."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from threadline.db import Base, bump_version_on_update, enum_column


class Domain(enum.StrEnum):
    """Engineering domain of a part (productflo-sync-api: Parts Import)."""

    mechanical = "mechanical"
    electronic = "electronic"
    electrical = "electrical"
    chemical = "chemical"
    other = "other"


class Lifecycle(enum.StrEnum):
    prototype = "prototype"
    released = "released"
    on_hold = "on_hold"
    obsolete = "obsolete"


class ApprovalStatus(enum.StrEnum):
    """Status flow shared by part versions and BOMs: draft → submitted → approved | rejected."""

    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"


MONEY = Numeric(18, 6)


class Part(Base):
    __tablename__ = "parts"
    __table_args__ = (
        UniqueConstraint("workspace_id", "part_number"),
        Index("ix_parts_workspace_mpn", "workspace_id", "manufacturer_part_number"),
        Index("ix_parts_workspace_updated", "workspace_id", "updated_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    part_number: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    domain: Mapped[Domain] = mapped_column(enum_column(Domain, "domain"), default=Domain.other)
    uom: Mapped[str] = mapped_column(String(32), default="each")
    lifecycle: Mapped[Lifecycle] = mapped_column(
        enum_column(Lifecycle, "lifecycle"), default=Lifecycle.prototype
    )
    manufacturer_name: Mapped[str | None] = mapped_column(String(200))
    manufacturer_part_number: Mapped[str | None] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rohs_compliant: Mapped[bool | None]
    reach_compliant: Mapped[bool | None]
    conflict_minerals: Mapped[str | None] = mapped_column(String(100))
    unit_cost: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str | None] = mapped_column(String(3))
    # Optimistic concurrency: bumped by every write, checked against If-Match / ``version``.
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    tag_rows: Mapped[list[PartTag]] = relationship(
        back_populates="part", cascade="all, delete-orphan", lazy="selectin"
    )
    versions: Mapped[list[PartVersion]] = relationship(
        back_populates="part", cascade="all, delete-orphan", order_by="PartVersion.created_at"
    )

    @property
    def tags(self) -> list[str]:
        return sorted(t.tag for t in self.tag_rows)


bump_version_on_update(Part)


class PartTag(Base):
    """One tag on a part; a table rather than a JSON list so ``?tag=`` uses an index."""

    __tablename__ = "part_tags"
    __table_args__ = (
        UniqueConstraint("part_id", "tag"),
        Index("ix_part_tags_workspace_tag", "workspace_id", "tag"),
    )

    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"))
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(64))

    part: Mapped[Part] = relationship(back_populates="tag_rows")


class PartVersion(Base):
    """A revision of a part. Approved versions are immutable."""

    __tablename__ = "part_versions"
    __table_args__ = (UniqueConstraint("part_id", "revision"),)

    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"))
    revision: Mapped[str] = mapped_column(String(32))
    status: Mapped[ApprovalStatus] = mapped_column(
        enum_column(ApprovalStatus, "part_version_status"), default=ApprovalStatus.draft
    )
    change_note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]

    part: Mapped[Part] = relationship(back_populates="versions")


class PartVersionFile(Base):
    """A vault file version attached to a part revision: the native digital-thread link.

    Pins one version of the file (not the file), so a released revision keeps pointing at the
    exact bytes it was released with.
    """

    __tablename__ = "part_version_files"
    __table_args__ = (
        UniqueConstraint("part_version_id", "file_version_id"),
        Index("ix_part_version_files_file_version_id", "file_version_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"))
    part_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("part_versions.id", ondelete="CASCADE")
    )
    file_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vault_file_versions.id", ondelete="CASCADE")
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class BomSettings(Base):
    """Per-workspace numbering rules, domain templates (JSON Schema) and currency table."""

    __tablename__ = "bom_settings"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), unique=True
    )
    numbering_rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    domain_templates: Mapped[dict[str, Any]] = mapped_column(default=dict)
    base_currency: Mapped[str] = mapped_column(String(3), default="USD")
    exchange_rates: Mapped[dict[str, Any]] = mapped_column(default=dict)


class NumberingCounter(Base):
    """The next sequence number of one numbering rule, advanced atomically."""

    __tablename__ = "numbering_counters"
    __table_args__ = (UniqueConstraint("workspace_id", "prefix"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(40))
    next_value: Mapped[int] = mapped_column(default=1)
