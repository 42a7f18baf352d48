"""Request and response shapes of BOMs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from threadline.boms.models import AlternateApproval, BomType
from threadline.catalog.models import ApprovalStatus
from threadline.catalog.schemas import Attributes, Number, RowVersion, Uom, WorkspaceRef
from threadline.schemas import ApiModel

Revision = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Qty = Annotated[Decimal, Field(gt=0, le=Decimal("1e9"), decimal_places=6)]
Serial = Annotated[int, Field(ge=0, le=2**62)]
Lot = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Note = Annotated[str, StringConstraints(max_length=20_000)]


class Effectivity(ApiModel):
    """When a line applies: by date, serial range and lot range (productflo: Effectivity)."""

    date_from: date | None = None
    date_to: date | None = None
    serial_from: Serial | None = None
    serial_to: Serial | None = None
    lot_from: Lot | None = None
    lot_to: Lot | None = None


class BomCreate(ApiModel):
    workspace: WorkspaceRef
    assembly_part_id: uuid.UUID
    assembly_version_id: uuid.UUID | None = None
    type: BomType = BomType.ebom
    revision: Revision
    change_note: Note | None = None


class BomRead(ApiModel):
    id: uuid.UUID
    assembly_part_id: uuid.UUID
    assembly_part_number: str
    assembly_name: str
    assembly_version_id: uuid.UUID | None
    type: BomType
    revision: str
    status: ApprovalStatus
    change_note: str | None
    reject_reason: str | None
    source_bom_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class BomReject(ApiModel):
    reason: Note | None = None


class BomItemFields(ApiModel):
    """What a client may set on a line (the body of ``PATCH /v1/boms/:id/items/:itemId``).

    ``version`` is the line's version the edit is based on: a stale one writes nothing (409).
    """

    parent_item_id: uuid.UUID | None = None
    child_part_id: uuid.UUID | None = None
    child_version_id: uuid.UUID | None = None
    qty: Qty | None = None
    uom: Uom | None = None
    refdes: Note | None = None
    notes: Note | None = None
    sort_index: Annotated[int, Field(ge=-(2**31), le=2**31 - 1)] | None = None
    attributes: Attributes | None = None
    effectivity: Effectivity | None = None
    dnp: bool | None = None
    version: RowVersion | None = None


class BomItemIn(BomItemFields):
    """One line of a bulk write; ``_op: "delete"`` removes it (and the lines under it)."""

    id: uuid.UUID | None = None
    op: Literal["upsert", "delete"] | None = Field(default=None, alias="_op")


class BomItemsIn(ApiModel):
    items: Annotated[list[BomItemIn], Field(min_length=1, max_length=200_000)]


class BomItemsResult(ApiModel):
    created: int
    updated: int
    deleted: int
    ids: list[uuid.UUID]
    versions: list[int]  # each line's version after the write, aligned with ``ids``


class BomLineRead(ApiModel):
    """One line of a BOM as ``GET /v1/boms/:id/items/:itemId`` shows it (ETag = ``version``)."""

    id: uuid.UUID
    bom_id: uuid.UUID
    parent_item_id: uuid.UUID | None
    child_part_id: uuid.UUID
    child_part_number: str
    child_name: str
    child_version_id: uuid.UUID | None
    qty: Number
    uom: str
    refdes: str | None
    notes: str | None
    sort_index: int
    attributes: dict[str, Any]
    effectivity: Effectivity
    dnp: bool
    alternates: list[AlternateRead]
    version: int
    created_at: datetime
    updated_at: datetime


class AlternateIn(ApiModel):
    part_id: uuid.UUID
    approval: AlternateApproval | None = None
    rationale: Note | None = None


class AlternatesIn(ApiModel):
    alternates: Annotated[list[AlternateIn], Field(max_length=100)]
    version: RowVersion | None = None  # the line's version the client read (409 when stale)


class AlternateRead(ApiModel):
    part_id: uuid.UUID
    part_number: str
    approval: AlternateApproval
    rationale: str | None


class DeriveMbomIn(ApiModel):
    revision: Revision
    change_note: Note | None = None


class EffectivityValidateIn(ApiModel):
    effectivity: Effectivity
    item_id: uuid.UUID | None = None
    part_id: uuid.UUID | None = None
    parent_item_id: uuid.UUID | None = None


class EffectivityConflict(ApiModel):
    item_id: uuid.UUID
    part_number: str
    reason: str


class EffectivityReport(ApiModel):
    valid: bool
    conflicts: list[EffectivityConflict]


class BomWarning(ApiModel):
    item_id: uuid.UUID | None
    part_number: str | None
    code: str
    message: str


class RollupLine(ApiModel):
    item_id: uuid.UUID
    part_number: str
    level: int
    qty: Number
    extended_qty: Number
    unit_cost: Number | None
    currency: str | None
    extended_cost: Number | None


class CostRollup(ApiModel):
    bom_id: uuid.UUID
    currency: str
    total_cost: Number
    complete: bool
    lines: list[RollupLine]
    missing_cost: list[RollupLine]


class DiffChange(ApiModel):
    path: list[str]
    part_number: str
    changes: dict[str, dict[str, Any]]


class DiffLine(ApiModel):
    path: list[str]
    part_number: str
    qty: Number
    uom: str


class BomDiff(ApiModel):
    left: BomRead
    right: BomRead
    added: list[DiffLine]
    removed: list[DiffLine]
    changed: list[DiffChange]
