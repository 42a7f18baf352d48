"""ORM models of the MES material room: lots, containers, batches, the append-only batch actions
and the linking edges between batches (mes-api-reference.txt ``/material-lot/``,
``/material-container/``, ``/material-batch/``, ``/material-batch-action/``)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from threadline.db import Base
from threadline.mes.demand.models import status_column
from threadline.mes.models import BureauOwned


class LotStatus(enum.StrEnum):
    on_order = "on_order"
    received = "received"
    in_testing = "in_testing"
    available = "available"
    in_use = "in_use"
    done = "done"
    scrapped = "scrapped"
    return_to_supplier = "return_to_supplier"
    in_storage = "in_storage"


class ContainerStatus(enum.StrEnum):
    new = "new"
    in_use = "in_use"
    empty = "empty"


class BatchStatus(enum.StrEnum):
    new = "new"
    in_use = "in_use"
    idle = "idle"
    done = "done"


class PowderQuality(enum.StrEnum):
    new = "new"
    sieved = "sieved"
    unsieved = "unsieved"
    unknown = "unknown"
    done = "done"


class MaterialLot(BureauOwned, Base):
    """A delivery of one material; its containers and initial batch are created with it."""

    __tablename__ = "mes_material_lots"

    material_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_materials.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    delivery_id: Mapped[str | None] = mapped_column(String(255))
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[LotStatus] = mapped_column(
        status_column(LotStatus, "mes_material_lot_status"), default=LotStatus.received
    )
    number_of_containers: Mapped[int] = mapped_column(default=0)
    size_of_container: Mapped[float] = mapped_column(default=0.0)
    full_quantity: Mapped[float] = mapped_column(default=0.0)
    cost: Mapped[float | None]
    units: Mapped[str | None] = mapped_column(String(16))
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_locations.id", ondelete="SET NULL")
    )
    sub_location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_sub_locations.id", ondelete="SET NULL")
    )
    expiration_date: Mapped[datetime | None]
    estimated_delivery_date: Mapped[datetime | None]
    actual_delivery_date: Mapped[datetime | None]
    usage_cycles_limit: Mapped[int | None]


class MaterialBatch(BureauOwned, Base):
    """A mass of material whose use is tracked; changed only by batch actions.

    ``quantity`` = ``reserved_quantity`` (loaded into a machine) + what is available for
    actions. ``material_lot_id`` is the lot of the batch's initial batch (a blend keeps the
    lot of its source batch; ``material_lot_ids`` lists every lot of the mix)."""

    __tablename__ = "mes_material_batches"

    material_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_materials.id", ondelete="RESTRICT"), index=True
    )
    material_lot_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_material_lots.id", ondelete="SET NULL"), index=True
    )
    material_lot_ids: Mapped[list[Any]] = mapped_column(default=list)
    initial_batch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_material_batches.id", ondelete="SET NULL")
    )
    quantity: Mapped[float] = mapped_column(default=0.0)
    reserved_quantity: Mapped[float] = mapped_column(default=0.0)
    full_quantity: Mapped[float] = mapped_column(default=0.0)
    units: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[BatchStatus] = mapped_column(
        status_column(BatchStatus, "mes_material_batch_status"), default=BatchStatus.new
    )
    powder_quality: Mapped[PowderQuality] = mapped_column(
        status_column(PowderQuality, "mes_material_batch_powder_quality"),
        default=PowderQuality.new,
    )
    usage_cycles: Mapped[int] = mapped_column(default=0)
    # A printer or post-processor: either room's row, so no foreign key.
    at_machine_id: Mapped[uuid.UUID | None]
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_locations.id", ondelete="SET NULL")
    )
    sub_location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_sub_locations.id", ondelete="SET NULL")
    )
    material_in_containers: Mapped[bool] = mapped_column(default=True)
    notes: Mapped[str | None] = mapped_column(Text)
    custom_status: Mapped[str | None] = mapped_column(String(255))
    external_build_id: Mapped[str | None] = mapped_column(String(255))
    last_action_id: Mapped[uuid.UUID | None]


class MaterialContainer(BureauOwned, Base):
    """A physical container of a lot (or an internal one made by ``containerize_batch``)."""

    __tablename__ = "mes_material_containers"

    material_lot_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_material_lots.id", ondelete="CASCADE"), index=True
    )
    material_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_materials.id", ondelete="RESTRICT")
    )
    current_batch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_material_batches.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16), default="disposable")
    disposable: Mapped[bool] = mapped_column(default=True)
    status: Mapped[ContainerStatus] = mapped_column(
        status_column(ContainerStatus, "mes_material_container_status"),
        default=ContainerStatus.new,
    )
    quantity: Mapped[float] = mapped_column(default=0.0)
    full_quantity: Mapped[float] = mapped_column(default=0.0)
    tare_weight: Mapped[float | None]
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_locations.id", ondelete="SET NULL")
    )
    sub_location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_sub_locations.id", ondelete="SET NULL")
    )
    is_docked: Mapped[bool] = mapped_column(default=False, server_default=false())
    archived: Mapped[bool] = mapped_column(default=False, server_default=false())


class MaterialBatchAction(BureauOwned, Base):
    """One logged action on a batch (append-only: never updated, never deleted)."""

    __tablename__ = "mes_material_batch_actions"

    action_type: Mapped[str] = mapped_column(String(32))
    source_batch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_material_batches.id", ondelete="CASCADE"), index=True
    )
    # The batch the action made (split, blend, unload chamber, initial batch), if any.
    destination_batch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_material_batches.id", ondelete="CASCADE")
    )
    quantity: Mapped[float] = mapped_column(default=0.0)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    previous_action_id: Mapped[uuid.UUID | None]
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class MaterialBatchLinking(BureauOwned, Base):
    """An edge of the genealogy graph: ``quantity`` of ``source_batch`` went into
    ``destination_batch`` through ``action``."""

    __tablename__ = "mes_material_batch_linkings"

    action_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_material_batch_actions.id", ondelete="CASCADE"), index=True
    )
    source_batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_material_batches.id", ondelete="CASCADE"), index=True
    )
    destination_batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_material_batches.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[float] = mapped_column(default=0.0)
    containers: Mapped[list[Any]] = mapped_column(default=list)
