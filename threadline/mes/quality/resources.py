"""The quality room's resources as the reference names their fields (mes-api-reference.txt
``/work-checklist/``, ``/work-instruction/``, ``/work-instruction-report/`` and the
work-checklist-linking records ``/work-checklist-for/`` returns)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.sql.elements import ColumnElement

from threadline.auth.models import Role
from threadline.errors import Invalid
from threadline.mes.face import Filter, MesContext
from threadline.mes.quality import models, service
from threadline.mes.quality.models import RelatedType
from threadline.mes.resources import (
    Field,
    Links,
    Resource,
    Rules,
    Values,
    check_refs,
    common_fields,
    render,
)


def _choices(cls: Any) -> tuple[str, ...]:
    return tuple(m.value for m in cls)


INSTRUCTION_FIELDS = (
    Field("position", "integer", minimum=0, sort=True),
    Field("description"),
    Field("additional_instruction_url", max_length=2000),
    Field("report_type", choices=_choices(models.ReportType), default="text", nullable=False),
    Field("report_units", choices=_choices(models.ReportUnits), default=None),
    Field("required", "boolean", default=False, nullable=False),
    Field("choices", "array", default=None),
    Field("threshold", "object", default=None),
    Field("threshold_type", choices=_choices(models.ThresholdType), default=None),
    Field("threshold_action", choices=_choices(models.ThresholdAction), default=None),
    Field("threshold_notification", choices=_choices(models.ThresholdNotification), default=None),
)

work_instruction = Resource(
    "work-instruction",
    models.WorkInstruction,
    (
        *common_fields(),
        Field("work_checklist", "uri", to=("work-checklist",), read_only=True),
        *INSTRUCTION_FIELDS,
    ),
    rules=service.WorkInstructionRules(),
    default_sort=(("position", False), ("created", False)),
)


class ChecklistRules(Rules):
    """A checklist renders its current instructions (one query for a page)."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        initial = values.get("initial_related_uri")
        if initial is not None:
            related, related_id = service.parse_related_uri(
                initial, field_name="initial_related_uri"
            )
            await check_related(ctx, values["workspace_id"], related, related_id)
        values["updated_by_id"] = ctx.user.id

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        initial = values.get("initial_related_uri")
        if initial is not None:
            related, related_id = service.parse_related_uri(
                initial, field_name="initial_related_uri"
            )
            await check_related(ctx, row.workspace_id, related, related_id)

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        current = await service.current_instructions(ctx.session, [row.id for row in rows])
        out: dict[uuid.UUID, Values] = {}
        for row in rows:
            out[row.id] = {
                "work_instructions": await render(ctx, work_instruction, current.get(row.id, []))
            }
        return out


work_checklist = Resource(
    "work-checklist",
    models.WorkChecklist,
    (
        *common_fields(),
        Field("name", required=True, max_length=255, sort=True),
        Field("description"),
        Field("additional_instruction_url", max_length=2000),
        Field("initial_related_uri", max_length=2000, filter=False),
        Field("version", "integer", read_only=True, sort=True),
        Field("updated_by", "uri", to=("users",), read_only=True),
        Field("work_instructions", "array", read_only=True, filter=False),
    ),
    rules=ChecklistRules(),
)


async def check_related(
    ctx: MesContext, workspace_id: uuid.UUID, related: RelatedType, related_id: uuid.UUID
) -> None:
    """The related resource exists in the bureau (404 naming related_uri otherwise)."""
    probe = Field("related_uri", "uri", to=(service.KIND_OF[related],))
    await check_refs(ctx, workspace_id, [(probe, related_id)])


def related_filter(flt: Filter) -> ColumnElement[bool]:
    ids = [service.parse_related_uri(v)[1] for v in flt.values]
    return models.WorkChecklistLinking.related_id.in_(ids)


class LinkingRules(Rules):
    """``related_uri`` is stored as its kind and id; a step scope only on line items and
    workflows."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        related, related_id = service.parse_related_uri(values.pop("related_uri"))
        await check_related(ctx, values["workspace_id"], related, related_id)
        if values.get("process_step_id") is not None and related not in service.STEP_SCOPED:
            raise Invalid(
                "Only a line_item or workflow linking may name a process_step.",
                code="PROCESS_STEP_NOT_ALLOWED",
                field="process_step",
            )
        values["related_type"] = related
        values["related_id"] = related_id

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        return {
            row.id: {"related_uri": service.related_uri(ctx, row.related_type, row.related_id)}
            for row in rows
        }

    def custom_filters(self) -> dict[str, Callable[[Filter], ColumnElement[bool]]]:
        return {"related_uri": related_filter}


work_checklist_linking = Resource(
    "work-checklist-linking",
    models.WorkChecklistLinking,
    (
        *common_fields(),
        Field("work_checklist", "uri", to=("work-checklist",), required=True),
        Field("related_uri", required=True, create_only=True, filter=False, max_length=2000),
        Field("process_step", "uri", to=("process-step",), create_only=True),
    ),
    rules=LinkingRules(),
)


class ReportListRules(service.ReportRules):
    """``prints`` renders as the report's one print."""

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        return {row.id: {"prints": [ctx.uri("print", row.print_id)]} for row in rows}


work_instruction_report = Resource(
    "work-instruction-report",
    models.WorkInstructionReport,
    (
        *common_fields(),
        Field("work_instruction", "uri", to=("work-instruction",), required=True, create_only=True),
        Field("print", "uri", to=("print",), read_only=True),
        Field("prints", "array", read_only=True, filter=False),
        Field("report"),
        Field("report_file", "object"),
        Field("outside_threshold", "boolean", read_only=True),
        Field("completed", "datetime", sort=True),
        Field("user", "uri", to=("users",), read_only=True),
    ),
    rules=ReportListRules(),
    write_role=Role.viewer,
)
