"""ORM models of the MES shop room: where the shop is and what it runs (mes-api-reference.txt
``/location/``, ``/sub-location/``, ``/manufacturer/``, and the machines)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from threadline.db import Base
from threadline.mes.models import BureauOwned


class Location(BureauOwned, Base):
    """An office of the bureau that keeps stock, processes orders or ships goods."""

    __tablename__ = "mes_locations"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(255))
    address: Mapped[str] = mapped_column(Text)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    phone: Mapped[str | None] = mapped_column(String(64))
    countries_served: Mapped[list[Any] | None] = mapped_column()
    admin_group: Mapped[str | None] = mapped_column(String(2000))
    standard_group: Mapped[str | None] = mapped_column(String(2000))
    order_completion_note: Mapped[str] = mapped_column(Text, default="")


class SubLocation(BureauOwned, Base):
    """A sub-division of a location; every location has exactly one default sub-location."""

    __tablename__ = "mes_sub_locations"
    __table_args__ = (
        UniqueConstraint("location_id", "name"),
        # "There must be one default sub-location for every location": at most one, by index.
        Index(
            "uq_mes_sub_locations_default",
            "location_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    location_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_locations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(default=False, server_default=false())
    archived: Mapped[datetime | None]


class Manufacturer(BureauOwned, Base):
    """An organisation that makes printers or materials; templates are shared starting points."""

    __tablename__ = "mes_manufacturers"

    name: Mapped[str] = mapped_column(String(255), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[dict[str, Any] | None]
    support: Mapped[dict[str, Any] | None]
    notes: Mapped[str | None] = mapped_column(Text)
    is_template: Mapped[bool] = mapped_column(default=False, server_default=false())
    base_template_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_manufacturers.id", ondelete="SET NULL")
    )
    custom_field_values: Mapped[list[Any] | None] = mapped_column()


# --- the catalog: what the shop prints with and on ---------------------------------------------


class Material(BureauOwned, Base):
    """A kind of consumable (a polymer powder, a resin, a filament), not an amount of it
    (mes-api-reference.txt ``/material/``)."""

    __tablename__ = "mes_materials"

    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(32))
    units: Mapped[str] = mapped_column(String(16), default="cm3")
    units_measurement_core: Mapped[str] = mapped_column(String(16), default="volume")
    cost: Mapped[float | None]
    density: Mapped[float | None]
    color: Mapped[str | None] = mapped_column(String(32))
    color_opacity: Mapped[float] = mapped_column(default=1.0)
    manufacturer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_manufacturers.id", ondelete="SET NULL"), index=True
    )
    manufacturing_process: Mapped[str | None] = mapped_column(String(32))
    material_family: Mapped[str | None] = mapped_column(String(32))
    post_processing_seconds: Mapped[int] = mapped_column(default=0)
    external_id: Mapped[str | None] = mapped_column(String(255))
    external_datasheet_url: Mapped[str | None] = mapped_column(String(2000))
    identifiers: Mapped[list[Any] | None] = mapped_column()
    is_prosper_integration_available: Mapped[bool] = mapped_column(
        default=False, server_default=false()
    )
    swatch: Mapped[str | None] = mapped_column(String(2000))
    third_party_fulfillment: Mapped[bool] = mapped_column(default=False, server_default=false())
    thumbnail: Mapped[dict[str, Any] | None]
    is_template: Mapped[bool] = mapped_column(default=False, server_default=false())
    base_template_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_materials.id", ondelete="SET NULL")
    )
    custom_field_values: Mapped[list[Any] | None] = mapped_column()


class PrinterType(BureauOwned, Base):
    """The model of a printer the bureau runs: build volume, materials, costs, timing
    (mes-api-reference.txt ``/printer-type/``)."""

    __tablename__ = "mes_printer_types"

    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    manufacturer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_manufacturers.id", ondelete="SET NULL"), index=True
    )
    type: Mapped[str | None] = mapped_column(String(255))
    manufacturing_process: Mapped[str | None] = mapped_column(String(32))
    build_volume: Mapped[dict[str, Any] | None]
    build_plate_shape: Mapped[str] = mapped_column(String(16), default="rectangular")
    build_packer_type: Mapped[str] = mapped_column(String(32), default="pack2d")
    material_mode: Mapped[str] = mapped_column(String(32), default="single_material")
    min_packing_distance: Mapped[float | None] = mapped_column(default=5.0)
    running_cost_per_hour: Mapped[float | None]
    constant_overhead: Mapped[float | None]
    overhead_per_line_item: Mapped[float | None]
    material_cost_scale_factor: Mapped[int] = mapped_column(default=1)
    print_cost_scale_factor: Mapped[int] = mapped_column(default=1)
    time_before_print: Mapped[int] = mapped_column(default=0)  # seconds
    time_after_print: Mapped[int] = mapped_column(default=0)  # seconds
    # Historic means (seconds) that run tracking (next issue) maintains.
    flow_time: Mapped[int | None]
    flow_time_queued: Mapped[int | None]
    edit_group: Mapped[str | None] = mapped_column(String(2000))
    integrated: Mapped[bool] = mapped_column(default=False, server_default=false())
    is_modular: Mapped[bool] = mapped_column(default=False, server_default=false())
    infill_strategies: Mapped[list[Any] | None] = mapped_column()
    support_strategies: Mapped[list[Any] | None] = mapped_column()
    custom_print_time_estimator: Mapped[str | None] = mapped_column(String(2000))
    is_template: Mapped[bool] = mapped_column(default=False, server_default=false())
    base_template_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_printer_types.id", ondelete="SET NULL")
    )


class PrinterTypeMaterial(Base):
    """``printer-type.materials``: the materials a printer type can consume, in order."""

    __tablename__ = "mes_printer_type_materials"
    __table_args__ = (UniqueConstraint("printer_type_id", "material_id"),)

    printer_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_printer_types.id", ondelete="CASCADE"), index=True
    )
    material_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_materials.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)


class Printer(BureauOwned, Base):
    """One physical printer of a printer type at a location (mes-api-reference.txt
    ``/printer/``). Its queue is the runs of the next issue; it has no status of its own."""

    __tablename__ = "mes_printers"

    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    printer_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_printer_types.id", ondelete="RESTRICT"), index=True
    )
    location_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_locations.id", ondelete="RESTRICT"), index=True
    )
    sub_location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_sub_locations.id", ondelete="RESTRICT"), index=True
    )
    in_progress_max: Mapped[int] = mapped_column(default=1)
    archived: Mapped[datetime | None]
    modeler: Mapped[str | None] = mapped_column(String(2000))
    flow_time: Mapped[int | None]
    flow_time_queued: Mapped[int | None]
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class PostProcessorType(BureauOwned, Base):
    """A kind of post-processing the bureau offers: sanding, dyeing, a caustic bath
    (mes-api-reference.txt ``/post-processor-type/``)."""

    __tablename__ = "mes_post_processor_types"
    __table_args__ = (
        # "One of each type allowed per bureau" (special_type): at most one, by index.
        Index(
            "uq_mes_post_processor_types_special_type",
            "workspace_id",
            "special_type",
            unique=True,
            sqlite_where=text("special_type IS NOT NULL"),
            postgresql_where=text("special_type IS NOT NULL"),
        ),
    )

    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    duration: Mapped[int | None]  # seconds
    cost: Mapped[float | None]  # per minute
    overhead_cost_per_run: Mapped[float] = mapped_column(default=0.0)
    overhead_cost_per_piece_in_run: Mapped[float] = mapped_column(default=0.0)
    batching_strategy: Mapped[str] = mapped_column(String(32), default="match_previous")
    number_of_parts: Mapped[int | None]
    build_volume: Mapped[dict[str, Any] | None]
    min_packing_distance: Mapped[float | None]
    in_progress_max: Mapped[int] = mapped_column(default=10)
    manufacturer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_manufacturers.id", ondelete="SET NULL"), index=True
    )
    edit_group: Mapped[str | None] = mapped_column(String(2000))
    special_type: Mapped[str | None] = mapped_column(String(32))
    integrated: Mapped[bool] = mapped_column(default=False, server_default=false())
    is_modular: Mapped[bool] = mapped_column(default=False, server_default=false())
    archived: Mapped[datetime | None]
    flow_time: Mapped[int | None]
    flow_time_queued: Mapped[int | None]


class PostProcessorTypeMaterial(Base):
    """``post-processor-type.materials``, in order."""

    __tablename__ = "mes_post_processor_type_materials"
    __table_args__ = (UniqueConstraint("post_processor_type_id", "material_id"),)

    post_processor_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_post_processor_types.id", ondelete="CASCADE"), index=True
    )
    material_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_materials.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)


class PostProcessor(BureauOwned, Base):
    """One post-processing station of a type, at a location or outsourced (``is_service``)
    (mes-api-reference.txt ``/post-processor/``)."""

    __tablename__ = "mes_post_processors"

    name: Mapped[str | None] = mapped_column(String(255), index=True)
    post_processor_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_post_processor_types.id", ondelete="RESTRICT"), index=True
    )
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_locations.id", ondelete="RESTRICT"), index=True
    )
    sub_location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_sub_locations.id", ondelete="RESTRICT"), index=True
    )
    is_service: Mapped[bool] = mapped_column(default=False, server_default=false())
    duration: Mapped[int | None]  # seconds
    archived: Mapped[datetime | None]
    modeler: Mapped[str | None] = mapped_column(String(2000))
    flow_time: Mapped[int | None]
    flow_time_queued: Mapped[int | None]
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class Shipping(BureauOwned, Base):
    """A way the bureau ships (a workstation type and its station in one, not a shipment)
    (mes-api-reference.txt ``/shipping/``)."""

    __tablename__ = "mes_shippings"
    __table_args__ = (UniqueConstraint("workspace_id", "region", "name"),)

    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str] = mapped_column(String(32))
    cost: Mapped[float | None]
    batching_strategy: Mapped[str] = mapped_column(String(32), default="single")
    number_of_parts: Mapped[int | None]
    build_volume: Mapped[dict[str, Any] | None]
    min_packing_distance: Mapped[float | None]
    in_progress_max: Mapped[int | None]
    flow_time: Mapped[int | None]
    flow_time_queued: Mapped[int | None]


def _exactly_one(*columns: str) -> str:
    """A portable CHECK that exactly one of ``columns`` is set (PostgreSQL adds no booleans)."""
    return " + ".join(f"CASE WHEN {c} IS NULL THEN 0 ELSE 1 END" for c in columns) + " = 1"


# --- when the machines work -----------------------------------------------------------------


class Downtime(BureauOwned, Base):
    """A period in which one machine (printer, post-processor or shipping) takes no work
    (mes-api-reference.txt ``/downtime/``)."""

    __tablename__ = "mes_downtimes"
    __table_args__ = (
        CheckConstraint(
            _exactly_one("printer_id", "post_processor_id", "shipping_id"),
            name="one_machine",
        ),
        CheckConstraint("start < finish", name="start_before_finish"),
    )

    printer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_printers.id", ondelete="CASCADE"), index=True
    )
    post_processor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_post_processors.id", ondelete="CASCADE"), index=True
    )
    shipping_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_shippings.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    start: Mapped[datetime]
    finish: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    assigned_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    custom_field_values: Mapped[list[Any] | None] = mapped_column()


class WorkSchedule(BureauOwned, Base):
    """When a workstation type is workable: around the clock or by week calendar
    (mes-api-reference.txt ``/work-schedule/``); one per workstation type, by unique index."""

    __tablename__ = "mes_work_schedules"
    __table_args__ = (
        CheckConstraint(
            _exactly_one("printer_type_id", "post_processor_type_id"),
            name="one_workstation_type",
        ),
    )

    printer_type_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_printer_types.id", ondelete="CASCADE"), unique=True
    )
    post_processor_type_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_post_processor_types.id", ondelete="CASCADE"), unique=True
    )
    type: Mapped[str] = mapped_column(String(16))
    week: Mapped[dict[str, Any]]
    utc_offset: Mapped[float] = mapped_column(default=0.0)


class Labor(BureauOwned, Base):
    """The manual labor a workstation type needs: to start a run, or through it
    (mes-api-reference.txt ``/labor/``); one per workstation type, by unique index."""

    __tablename__ = "mes_labors"
    __table_args__ = (
        CheckConstraint(
            _exactly_one("printer_type_id", "post_processor_type_id"),
            name="one_workstation_type",
        ),
    )

    printer_type_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_printer_types.id", ondelete="CASCADE"), unique=True
    )
    post_processor_type_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_post_processor_types.id", ondelete="CASCADE"), unique=True
    )
    type: Mapped[str] = mapped_column(String(16))
    duration: Mapped[int]  # seconds
