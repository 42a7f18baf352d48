"""ORM models of the MES floor room: runs and what happens in them (mes-api-reference.txt
``/run/``, ``/run-actuals/``, ``/run-actuals-additive/``, ``/piece-actuals/``, ``/time-entry/``,
``/shipment/``, ``/create-runs/``, ``/run-transformation/``).

A run holds prints through ``mes_prints.run_id`` (the demand room's column; its foreign key is
added with this table). A run stands in one workstation's queue at ``queue_position``; its
schedule (``estimated_start``/``estimated_end``) is written by ``/schedule_runs/``. The two
planners (``/create-runs/``, ``/run-transformation/``) are promise rows of their own, each
worked by a durable job (threadline/jobs) whose handler finishes it exactly once.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column

from threadline.db import Base
from threadline.mes.demand.models import status_column
from threadline.mes.models import BureauOwned


class RunStatus(enum.StrEnum):
    calculating = "calculating"
    calculated = "calculated"
    queued = "queued"
    queued_work_ready = "queued-work-ready"
    in_progress = "in-progress"
    paused = "paused"
    error = "error"
    complete = "complete"
    cancelled = "cancelled"


class Operation(enum.StrEnum):
    printing = "printing"
    post_processing = "post-processing"
    shipping = "shipping"


class JobStatus(enum.StrEnum):
    """Of a promise row (``/create-runs/``, ``/run-transformation/``)."""

    pending = "pending"
    processing = "processing"
    complete = "complete"
    error = "error"


class Run(BureauOwned, Base):
    """Prints worked on together at one workstation (``/run/``)."""

    __tablename__ = "mes_runs"
    __table_args__ = (
        Index("ix_mes_runs_status", "workspace_id", "status"),
        Index("ix_mes_runs_printer", "printer_id", "queue_position"),
        Index("ix_mes_runs_post_processor", "post_processor_id", "queue_position"),
        Index("ix_mes_runs_shipping", "shipping_id", "queue_position"),
    )

    name: Mapped[str | None] = mapped_column(String(255))
    operation: Mapped[Operation] = mapped_column(status_column(Operation, "mes_run_operation"))
    status: Mapped[RunStatus] = mapped_column(
        status_column(RunStatus, "mes_run_status"), default=RunStatus.calculated
    )
    printer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_printers.id", ondelete="SET NULL")
    )
    printer_type_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_printer_types.id", ondelete="SET NULL")
    )
    post_processor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_post_processors.id", ondelete="SET NULL")
    )
    post_processor_type_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_post_processor_types.id", ondelete="SET NULL")
    )
    # A shipping run's workstation is the shipping type itself (it has no machines).
    shipping_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_shippings.id", ondelete="SET NULL")
    )
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_locations.id", ondelete="SET NULL")
    )
    batch_type: Mapped[str] = mapped_column(String(32), default="match_previous")
    pieces_locked: Mapped[bool] = mapped_column(default=True, server_default=true())
    filled_by_batch_type_prints: Mapped[bool] = mapped_column(default=False, server_default=false())
    priority: Mapped[int] = mapped_column(default=65)
    notes: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    custom_field_values: Mapped[list[Any] | None] = mapped_column()
    # Place in its workstation's queue (smaller first); None once it left the queue.
    queue_position: Mapped[int | None]
    # The run's own duration estimate in seconds (the planner's or ``primary_run_duration``),
    # and the schedule /schedule_runs/ computed from it.
    estimated_duration: Mapped[int | None]
    estimated_start: Mapped[datetime | None]
    estimated_end: Mapped[datetime | None]
    # The planner row that made it (create-runs or run-transformation), so a job that is
    # re-run after a crash finds what it already made instead of making it twice.
    planned_by_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # Who last set the estimate by hand through /schedule_runs/ (its ``edited_by``).
    schedule_edited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class RunActual(BureauOwned, Base):
    """What actually happened in a run (``/run-actuals/``): made when the run goes
    ``in-progress``, closed when it completes."""

    __tablename__ = "mes_run_actuals"

    run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_runs.id", ondelete="SET NULL"), index=True
    )
    previous_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_run_actuals.id", ondelete="SET NULL")
    )
    start_in_progress_time: Mapped[datetime]
    end_in_progress_time: Mapped[datetime | None]
    consumable_cost: Mapped[float | None]
    machine_cost: Mapped[float | None]
    workstation_cost: Mapped[float | None]
    total_cost: Mapped[float | None]
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    edited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    system_notes: Mapped[str | None] = mapped_column(Text)
    powder: Mapped[dict[str, Any] | None] = mapped_column()


class RunActualAdditive(BureauOwned, Base):
    """The material batch a printing run consumed (``/run-actuals-additive/``): the link
    lot → batch → run → print → piece. Recording it draws the quantity from the batch through
    the material room (an append-only batch action, ``consumption_action_id``)."""

    __tablename__ = "mes_run_actuals_additive"

    run_actual_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_run_actuals.id", ondelete="CASCADE"), index=True
    )
    # The material room's batch; checked through its resource (its table is that room's).
    material_batch_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    base_material_used: Mapped[float | None]
    support_material_used: Mapped[float | None]
    consumption_action_id: Mapped[uuid.UUID | None]


class PieceActual(BureauOwned, Base):
    """What actually happened to a piece (``/piece-actuals/``): one per piece, started by its
    first run, ended when its last print completes; ``per_step_details`` holds each step."""

    __tablename__ = "mes_piece_actuals"

    piece_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_pieces.id", ondelete="CASCADE"), unique=True
    )
    start_in_progress_time: Mapped[datetime | None]
    end_in_progress_time: Mapped[datetime | None]
    per_step_details: Mapped[list[Any] | None] = mapped_column()
    total_cost: Mapped[float | None]


class TimeEntry(BureauOwned, Base):
    """Time an operator or a machine spent on a run (``/time-entry/``)."""

    __tablename__ = "mes_time_entries"
    __table_args__ = (Index("ix_mes_time_entries_related", "related_table_name", "related_uuid"),)

    category: Mapped[str] = mapped_column(String(32))
    related_table_name: Mapped[str] = mapped_column(String(32))
    related_uuid: Mapped[uuid.UUID]
    start_time: Mapped[datetime]
    end_time: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    completed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class ShipmentStatus(enum.StrEnum):
    new = "new"
    queued = "queued"
    in_transit = "in_transit"
    received = "received"
    error = "error"
    cancelled = "cancelled"


class Shipment(BureauOwned, Base):
    """A package (``/shipment/``): made with a shipping run, never POSTed."""

    __tablename__ = "mes_shipments"

    run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_runs.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_orders.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[ShipmentStatus] = mapped_column(
        status_column(ShipmentStatus, "mes_shipment_status"), default=ShipmentStatus.new
    )
    shipping_partner: Mapped[str | None] = mapped_column(String(255))
    tracking_number: Mapped[str | None] = mapped_column(String(255))
    shipper_url: Mapped[str | None] = mapped_column(String(2000))
    origin_address: Mapped[dict[str, Any] | None] = mapped_column()
    recipient_address: Mapped[dict[str, Any] | None] = mapped_column()
    billing_address: Mapped[dict[str, Any] | None] = mapped_column()
    estimated_shipment_date: Mapped[datetime | None]
    estimated_delivery_date: Mapped[datetime | None]
    actual_shipment_date: Mapped[datetime | None]
    actual_delivery_date: Mapped[datetime | None]
    actual_cost: Mapped[float | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    duration: Mapped[int | None]
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class CreateRuns(BureauOwned, Base):
    """A request to the assisted planner (``/create-runs/``) and what it made."""

    __tablename__ = "mes_create_runs"

    status: Mapped[JobStatus] = mapped_column(
        status_column(JobStatus, "mes_create_runs_status"), default=JobStatus.pending
    )
    pieces: Mapped[list[Any]] = mapped_column()  # piece ids, as strings
    primary_workstation_kind: Mapped[str] = mapped_column(String(32))  # printer|post-processor
    primary_workstation_id: Mapped[uuid.UUID]
    run_name: Mapped[str | None] = mapped_column(String(255))
    priority: Mapped[int] = mapped_column(default=65)
    do_build_volume_check: Mapped[bool] = mapped_column(default=True, server_default=true())
    locked: Mapped[bool] = mapped_column(default=True, server_default=true())
    on_packing_process_failure: Mapped[str] = mapped_column(String(32), default="ignore")
    on_packing_process_success: Mapped[str] = mapped_column(String(32), default="silent")
    primary_run_duration: Mapped[int | None]
    base_material_used: Mapped[float | None]
    notes: Mapped[str | None] = mapped_column(Text)
    finished: Mapped[datetime | None]
    primary_run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_runs.id", ondelete="SET NULL")
    )
    resulting_runs: Mapped[list[Any] | None] = mapped_column()  # run ids, as strings
    unfitted_pieces: Mapped[list[Any] | None] = mapped_column()  # piece ids, as strings
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def primary_workstation(self) -> str:
        """As the audit log keeps a URI: relative."""
        return f"/mes/{self.primary_workstation_kind}/{self.primary_workstation_id}/"


class RunTransformation(BureauOwned, Base):
    """A change to pieces of a run (``/run-transformation/``) and what it made."""

    __tablename__ = "mes_run_transformations"

    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[JobStatus] = mapped_column(
        status_column(JobStatus, "mes_run_transformation_status"), default=JobStatus.pending
    )
    source_run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_runs.id", ondelete="SET NULL")
    )
    prints: Mapped[list[Any]] = mapped_column()  # print ids, as strings
    process_steps: Mapped[list[Any] | None] = mapped_column()  # process step ids, as strings
    split_piece_schedules: Mapped[bool] = mapped_column(default=False, server_default=false())
    notes: Mapped[str | None] = mapped_column(Text)
    destination_runs: Mapped[list[Any] | None] = mapped_column()
    custom_workflow_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_workflows.id", ondelete="SET NULL")
    )
    line_items: Mapped[list[Any] | None] = mapped_column()
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
