"""Request and response shapes of the production-BOM face (production-bom-api.md), camelCase
on the wire, without an envelope."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from threadline.schemas import ApiModel

SerialStatus = Literal["pending", "in_progress", "completed", "scrapped"]
MAX_ENTRIES = 5000
MAX_JOBS_PER_ENTRY = 1000
MAX_QUANTITY = 10_000  # a job's serials, as an MES line item's quantity allows


class EntryIn(ApiModel):
    """One requirement: ``requiredQuantityPerBuild`` of ``partType``, supplied by jobs."""

    part_type: str = Field(min_length=1, max_length=255)
    required_quantity_per_build: Decimal = Field(gt=0, max_digits=18, decimal_places=6)
    contributing_job_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=MAX_JOBS_PER_ENTRY
    )
    part_id: uuid.UUID | None = None


class BomCreate(ApiModel):
    """``POST /api/bom``: entries given, or derived from an approved native MBOM (``fromBomId``)."""

    name: str | None = Field(None, min_length=1, max_length=255)
    entries: list[EntryIn] | None = Field(None, max_length=MAX_ENTRIES)
    from_bom_id: uuid.UUID | None = None
    workspace_id: str | None = Field(None, max_length=64)


class BomUpdate(ApiModel):
    """``PUT /api/bom/:id``: a simple update, no version."""

    name: str | None = Field(None, min_length=1, max_length=255)
    entries: list[EntryIn] | None = Field(None, max_length=MAX_ENTRIES)


class BomEdit(ApiModel):
    """``POST /api/bom/:id/edit``: new entries and why (a version of the old ones is kept)."""

    entries: list[EntryIn] = Field(max_length=MAX_ENTRIES)
    change_description: str = Field(min_length=1, max_length=10_000)
    name: str | None = Field(None, min_length=1, max_length=255)


class EntrySummary(ApiModel):
    total_completed: int
    total_in_progress: int
    total_outstanding: int


class EntryRead(ApiModel):
    id: uuid.UUID
    part_type: str
    required_quantity_per_build: int | float
    contributing_job_ids: list[uuid.UUID]
    part_id: uuid.UUID | None
    summary: EntrySummary | None = None


class EntrySummaryRow(EntrySummary):
    """The BOM-level ``summary``: one row per entry, in entry order."""

    entry_id: uuid.UUID
    part_type: str
    required_quantity_per_build: int | float


class BomRead(ApiModel):
    id: uuid.UUID
    name: str
    workspace_id: uuid.UUID
    source_bom_id: uuid.UUID | None
    source_part_id: uuid.UUID | None
    latest_version_number: int
    entries: list[EntryRead]
    summary: list[EntrySummaryRow] | None = None
    created_by_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class BomVersionRead(ApiModel):
    id: uuid.UUID
    bom_id: uuid.UUID
    version_number: int
    entries: list[dict[str, Any]]
    change_description: str
    user_id: uuid.UUID | None
    user: str
    created_at: datetime


class BomEdited(ApiModel):
    """What a versioned edit answers: the new version's number and the BOM as it now is."""

    version_number: int
    version_id: uuid.UUID
    bom: BomRead


class JobCreate(ApiModel):
    """``POST /api/jobs``: an MES line item of ``quantity`` serials."""

    name: str = Field(min_length=1, max_length=255)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    part_id: uuid.UUID | None = None
    part_type: str | None = Field(None, min_length=1, max_length=255)
    workspace_id: str | None = Field(None, max_length=64)
    serial_numbers: list[str] | None = Field(None, max_length=MAX_QUANTITY)


class JobUpdate(ApiModel):
    """``PUT /api/jobs/:id``: the fields sent change (quantity while the job is in planning)."""

    name: str | None = Field(None, min_length=1, max_length=255)
    quantity: int | None = Field(None, ge=1, le=MAX_QUANTITY)
    part_type: str | None = Field(None, min_length=1, max_length=255)


class SerialCounts(ApiModel):
    total: int = 0
    pending: int = 0
    in_progress: int = 0
    completed: int = 0
    scrapped: int = 0


class JobRead(ApiModel):
    id: uuid.UUID
    name: str | None
    quantity: int
    status: str  # the MES line item's status
    part_id: uuid.UUID | None
    part_type: str | None
    workspace_id: uuid.UUID
    order_id: uuid.UUID | None
    serials: SerialCounts
    created_at: datetime
    updated_at: datetime


class SerialRead(ApiModel):
    id: uuid.UUID
    serial_number: str
    job_id: uuid.UUID
    status: SerialStatus
    piece_status: str  # the MES piece's own status
    workspace_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


class SerialPatch(ApiModel):
    status: SerialStatus


class AuditEntryRead(ApiModel):
    id: uuid.UUID
    action: str
    entity_type: str
    entity_id: str
    user_id: uuid.UUID | None
    user: str
    workspace_id: uuid.UUID | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime
