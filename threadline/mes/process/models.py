"""ORM models of the MES process room: process steps and the workflows that order them
(mes-api-reference.txt ``/process-step/``, ``/workflow/``)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from threadline.db import Base
from threadline.mes.models import BureauOwned


class Requirement(enum.StrEnum):
    """What an operator must give when completing a step ("Select: optional, required or
    hidden", ``notes``/``success``/``upload``/``tracking_id``)."""

    optional = "optional"
    required = "required"
    hidden = "hidden"


class ShippingDirection(enum.StrEnum):
    bureau_to_customer = "bureau_to_customer"
    bureau_to_service_provider = "bureau_to_service_provider"
    service_provider_to_bureau = "service_provider_to_bureau"


class WorkflowType(enum.StrEnum):
    additive_manufacturing = "additive_manufacturing"
    specimen = "specimen"
    powder_manufacturing = "powder_manufacturing"


class UsageState(enum.StrEnum):
    """A workflow's ``usage_state``: computed from the line items that follow it (see
    :mod:`threadline.mes.process.service`); only ``archived`` is stored (``archived_at``)."""

    archived = "archived"
    active = "active"
    can_be_safely_archived = "can_be_safely_archived"
    inactive = "inactive"


def choice_column(cls: type[enum.Enum], name: str) -> Enum:
    """VARCHAR(32) + named CHECK (``db.enum_column`` is 16 wide; these values are longer)."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


def _requirement(name: str) -> Any:
    return mapped_column(
        choice_column(Requirement, f"mes_process_step_{name}"), default=Requirement.optional
    )


class ProcessStep(BureauOwned, Base):
    """One step a piece goes through: at a printer type, a post-processor type or a shipping
    ("Steps must have either a printer-type, post-processor-type or shipping type"), optionally
    tied to one exact machine. A step may be shared by several workflows."""

    __tablename__ = "mes_process_steps"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN printer_type_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN post_processor_type_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN shipping_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_workstation_type",
        ),
        # The exact machine is a printer only on a printer-type step, a post-processor only on
        # a post-processor-type step (service.py also checks the machine is of that type).
        CheckConstraint(
            "printer_id IS NULL OR printer_type_id IS NOT NULL", name="printer_on_printer_step"
        ),
        CheckConstraint(
            "post_processor_id IS NULL OR post_processor_type_id IS NOT NULL",
            name="post_processor_on_post_processor_step",
        ),
    )

    name: Mapped[str | None] = mapped_column(String(255), index=True)
    printer_type_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_printer_types.id", ondelete="RESTRICT"), index=True
    )
    post_processor_type_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_post_processor_types.id", ondelete="RESTRICT"), index=True
    )
    shipping_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_shippings.id", ondelete="RESTRICT"), index=True
    )
    # ``workstation``: a machine of the step's type, when the step is tied to one.
    printer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_printers.id", ondelete="SET NULL"), index=True
    )
    post_processor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_post_processors.id", ondelete="SET NULL"), index=True
    )
    notes: Mapped[Requirement] = _requirement("notes")
    success: Mapped[Requirement] = _requirement("success")
    upload: Mapped[Requirement] = _requirement("upload")
    tracking_id: Mapped[Requirement] = _requirement("tracking_id")
    is_service: Mapped[bool] = mapped_column(default=False, server_default=false())
    shipping_direction: Mapped[ShippingDirection | None] = mapped_column(
        choice_column(ShippingDirection, "mes_process_step_shipping_direction")
    )
    source_process_step_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_process_steps.id", ondelete="SET NULL")
    )
    # Historic means in seconds, rounded up to 4-hour blocks (run tracking maintains them).
    flow_time: Mapped[int | None]
    flow_time_queued: Mapped[int | None]
    additive: Mapped[dict[str, Any] | None]


class Workflow(BureauOwned, Base):
    """The ordered process steps a line item's pieces follow. ``line_item_id`` pins a custom
    copy to one line item (no foreign key: line items are created by a later migration)."""

    __tablename__ = "mes_workflows"
    # The reference renames a workflow it archives "to avoid constraint error": names are unique
    # in a bureau, archived ones included.
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    type: Mapped[WorkflowType] = mapped_column(
        choice_column(WorkflowType, "mes_workflow_type"),
        default=WorkflowType.additive_manufacturing,
    )
    integrated: Mapped[bool] = mapped_column(default=False, server_default=false())
    line_item_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    source_workflow_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_workflows.id", ondelete="SET NULL"), index=True
    )
    specimens: Mapped[list[Any] | None] = mapped_column()
    archived_at: Mapped[datetime | None]
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    @property
    def usage_state(self) -> str | None:
        """The state last computed for this row by the service (for the audit log's before and
        after); None until computed. Not a column: only ``archived_at`` is stored."""
        value = self.__dict__.get("_usage_state")
        return str(value) if value is not None else None

    @usage_state.setter
    def usage_state(self, value: str | None) -> None:
        self.__dict__["_usage_state"] = value


# ``workflow.process_steps``: the order matters, and a step may appear twice (a second
# inspection), so a row is a position, not a pair.
workflow_process_steps = Table(
    "mes_workflow_process_steps",
    Base.metadata,
    Column(
        "workflow_id",
        Uuid,
        ForeignKey("mes_workflows.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),
    Column(
        "process_step_id",
        Uuid,
        ForeignKey("mes_process_steps.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    ),
)

# ``workflow.materials``: the materials a workflow is pinned to.
workflow_materials = Table(
    "mes_workflow_materials",
    Base.metadata,
    Column(
        "workflow_id", Uuid, ForeignKey("mes_workflows.id", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "material_id",
        Uuid,
        ForeignKey("mes_materials.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    Column("position", Integer, nullable=False, default=0),
)

# ``workflow.labels``: label URIs (the labels' table comes in a later migration, hence no
# foreign key on ``label_id``).
workflow_labels = Table(
    "mes_workflow_labels",
    Base.metadata,
    Column(
        "workflow_id", Uuid, ForeignKey("mes_workflows.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("label_id", Uuid, primary_key=True, index=True),
    Column("position", Integer, nullable=False, default=0),
)
