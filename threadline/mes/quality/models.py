"""ORM models of the MES quality room: work checklists, their work instructions (versioned),
the linkings that attach a checklist to a print, line item, workflow, process step or
workstation type, and the operators' work instruction reports (mes-api-reference.txt
``/work-checklist/``, ``/work-instruction/``, ``/work-instruction-report/``)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.db import Base
from threadline.mes.demand.models import status_column
from threadline.mes.models import BureauOwned


class ReportType(enum.StrEnum):
    checkbox = "checkbox"
    document = "document"
    picture = "picture"
    no_entry = "no entry"
    number = "number"
    range = "range"
    text = "text"
    single_selection_dropdown = "single-selection-dropdown"
    output_at_location = "output-at-location"


class ReportUnits(enum.StrEnum):
    mm = "mm"
    cm = "cm"
    inch = "inch"
    gram = "gram"
    kg = "kg"
    lb = "lb"


class ThresholdType(enum.StrEnum):
    between = "between"
    not_between = "not-between"
    tolerance = "tolerance"
    less_than = "less-than"
    less_than_or_equals_to = "less-than-or-equals-to"
    greater_than = "greater-than"
    greater_than_or_equals_to = "greater-than-or-equals-to"
    contains = "contains"
    not_contains = "not-contains"
    equals_to = "equals-to"
    not_equals_to = "not-equals-to"


class ThresholdAction(enum.StrEnum):
    warning = "warning"
    error = "error"
    warning_prompt_ncr = "warning_prompt_ncr"


class ThresholdNotification(enum.StrEnum):
    piece_owner = "piece_owner"
    user_group = "user_group"


class RelatedType(enum.StrEnum):
    """What a work checklist linking attaches to (the reference's ``related_uri`` kinds)."""

    printer_type = "printer_type"
    post_processor_type = "post_processor_type"
    shipping = "shipping"
    process_step = "process_step"
    line_item = "line_item"
    print = "print"
    workflow = "workflow"


class WorkChecklist(BureauOwned, Base):
    """A list of work instructions to do during a work step; ``version`` counts its updates."""

    __tablename__ = "mes_work_checklists"

    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    additional_instruction_url: Mapped[str | None] = mapped_column(String(2000))
    initial_related_uri: Mapped[str | None] = mapped_column(String(2000))
    version: Mapped[int] = mapped_column(default=1)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class WorkInstruction(BureauOwned, Base):
    """One step of a checklist, as of one checklist version (``work_checklist_id`` null: a
    floating template). A new version of the list adds rows and keeps the old ones, so a
    report always points at the instruction the operator saw."""

    __tablename__ = "mes_work_instructions"
    __table_args__ = (
        Index("ix_mes_work_instructions_checklist", "work_checklist_id", "checklist_version"),
    )

    work_checklist_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_work_checklists.id", ondelete="CASCADE")
    )
    checklist_version: Mapped[int | None]
    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[str | None] = mapped_column(Text)
    additional_instruction_url: Mapped[str | None] = mapped_column(String(2000))
    report_type: Mapped[ReportType] = mapped_column(
        status_column(ReportType, "mes_work_instruction_report_type"), default=ReportType.text
    )
    report_units: Mapped[ReportUnits | None] = mapped_column(
        status_column(ReportUnits, "mes_work_instruction_report_units")
    )
    required: Mapped[bool] = mapped_column(default=False)
    choices: Mapped[list[Any] | None] = mapped_column()
    threshold: Mapped[dict[str, Any] | None] = mapped_column()
    threshold_type: Mapped[ThresholdType | None] = mapped_column(
        status_column(ThresholdType, "mes_work_instruction_threshold_type")
    )
    threshold_action: Mapped[ThresholdAction | None] = mapped_column(
        status_column(ThresholdAction, "mes_work_instruction_threshold_action")
    )
    threshold_notification: Mapped[ThresholdNotification | None] = mapped_column(
        status_column(ThresholdNotification, "mes_work_instruction_threshold_notification")
    )


class WorkChecklistLinking(BureauOwned, Base):
    """A checklist attached to one resource; on a line item or workflow, optionally to one of
    its process steps only (``process_step_id``)."""

    __tablename__ = "mes_work_checklist_linkings"
    __table_args__ = (Index("ix_mes_work_checklist_linkings_related", "related_id"),)

    work_checklist_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_work_checklists.id", ondelete="CASCADE"), index=True
    )
    related_type: Mapped[RelatedType] = mapped_column(
        status_column(RelatedType, "mes_work_checklist_linking_related_type")
    )
    # No foreign key: the related row is of one of seven tables (the service checks it).
    related_id: Mapped[uuid.UUID]
    process_step_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("mes_process_steps.id", ondelete="CASCADE")
    )


class WorkInstructionReport(BureauOwned, Base):
    """What an operator reported for one instruction on one print; the latest counts."""

    __tablename__ = "mes_work_instruction_reports"
    __table_args__ = (
        Index("ix_mes_work_instruction_reports_print", "print_id", "work_instruction_id"),
    )

    work_instruction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mes_work_instructions.id", ondelete="CASCADE"), index=True
    )
    print_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mes_prints.id", ondelete="CASCADE"))
    report: Mapped[str | None] = mapped_column(Text)
    report_file: Mapped[dict[str, Any] | None] = mapped_column()
    outside_threshold: Mapped[bool] = mapped_column(default=False)
    completed: Mapped[datetime | None]
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
