"""Rules of process steps (mes-api-reference.txt ``/process-step/``).

A step happens at exactly one workstation type: a printer-type, a post-processor-type or a
shipping ("Steps must have either a printer-type, post-processor-type or shipping type that
defines their behavior"). ``workstation_type_uri`` names it; it is stored as one of three
foreign keys. ``workstation`` optionally ties the step to one exact machine of that type.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import exists, func, select
from sqlalchemy.sql.elements import ColumnElement

from threadline.errors import Conflict, Invalid, NotFound
from threadline.mes.face import PREFIX, Filter, MesContext, invalid_value, parse_uri
from threadline.mes.process.models import (
    ProcessStep,
    Requirement,
    Workflow,
    WorkflowType,
    workflow_process_steps,
)
from threadline.mes.process.service import (
    PRINTER_STEP_REQUIRED,
    WORKFLOW_PROCESSING,
    workflows_processing,
)
from threadline.mes.resources import Links, Rules, Values
from threadline.mes.shop.models import (
    PostProcessor,
    PostProcessorType,
    Printer,
    PrinterType,
    Shipping,
)

# Workstation-type kind → (model, the step's foreign key).
TYPE_COLUMNS: dict[str, tuple[Any, str]] = {
    "printer-type": (PrinterType, "printer_type_id"),
    "post-processor-type": (PostProcessorType, "post_processor_type_id"),
    "shipping": (Shipping, "shipping_id"),
}
# Exact machine kind → (model, the step's foreign key, the machine's type column, type kind).
MACHINE_COLUMNS: dict[str, tuple[Any, str | None, str, str]] = {
    "printer": (Printer, "printer_id", "printer_type_id", "printer-type"),
    "post-processor": (
        PostProcessor,
        "post_processor_id",
        "post_processor_type_id",
        "post-processor-type",
    ),
    # A shipping is its own workstation: tying a shipping step to it stores nothing more.
    "shipping": (Shipping, None, "id", "shipping"),
}
# "Rounded longer to 4 hour blocks" (``flow_time``, ``flow_time_queued``).
FLOW_TIME_BLOCK = 4 * 3600

IN_WORKFLOW = "Cannot delete process-step that belongs to a workflow."
NAME_EXISTS = "The requested process_step name already exists."


def workstation_type(step: ProcessStep) -> tuple[str, uuid.UUID]:
    """The kind (``printer-type``, ``post-processor-type``, ``shipping``) and id of the
    workstation type a step happens at."""
    for kind, (_, column) in TYPE_COLUMNS.items():
        value = getattr(step, column)
        if value is not None:
            return kind, value
    raise AssertionError("a process step has one workstation type (CHECK one_workstation_type)")


def workstation(step: ProcessStep) -> tuple[str, uuid.UUID] | None:
    """The exact machine a step is tied to, if any."""
    if step.printer_id is not None:
        return "printer", step.printer_id
    if step.post_processor_id is not None:
        return "post-processor", step.post_processor_id
    return None


def _kind_and_id(value: Any, kinds: Sequence[str], field_name: str) -> tuple[str, uuid.UUID]:
    """Parse a URI of one of ``kinds``; the path segment before the uuid names the kind."""
    found = parse_uri(value, kinds=tuple(kinds), field_name=field_name)
    text = str(value)
    path = urlsplit(text).path if "://" in text else text
    kind = path.rstrip("/").split("/")[-2]
    return kind, found


async def _in_bureau(
    ctx: MesContext, model: Any, row_id: uuid.UUID, workspace_id: uuid.UUID, kind: str, name: str
) -> Any:
    row = await ctx.session.get(model, row_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound(
            f"The requested {kind} cannot be found ({name}: {PREFIX}/{kind}/{row_id}/).",
            code="RESOURCE_NOT_FOUND",
            field=name,
        )
    return row


def round_flow_time(value: float | None) -> int | None:
    """Seconds rounded up to the next 4-hour block, as the reference keeps flow times."""
    if value is None:
        return None
    return math.ceil(value / FLOW_TIME_BLOCK) * FLOW_TIME_BLOCK


async def steps_in_workflows(ctx: MesContext, step_id: uuid.UUID) -> list[uuid.UUID]:
    """The workflows that list a step (once each)."""
    table = workflow_process_steps
    rows = await ctx.session.scalars(
        select(table.c.workflow_id).where(table.c.process_step_id == step_id).distinct()
    )
    return list(rows)


class ProcessStepRules(Rules):
    """One workstation type and a machine of it; named steps have unique names in a bureau;
    a step in a workflow is not deleted, and a step a processing workflow follows keeps its
    workstation type."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        workspace_id = values["workspace_id"]
        await self._apply(ctx, workspace_id, values, current=None)
        if values.get("tracking_id") is None:
            # A tracking number belongs to a parcel: asked for on shipping steps only.
            values["tracking_id"] = (
                Requirement.optional if values.get("shipping_id") else Requirement.hidden
            )
        if values.get("name") is not None:
            await self._check_name(ctx, workspace_id, values["name"], None)

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        old_type = workstation_type(row)
        await self._apply(ctx, row.workspace_id, values, current=row)
        if "name" in values and values["name"] is not None and values["name"] != row.name:
            await self._check_name(ctx, row.workspace_id, values["name"], row.id)
        new_type = next(
            ((k, values[c]) for k, (_, c) in TYPE_COLUMNS.items() if values.get(c)), old_type
        )
        if new_type != old_type:
            await self._check_type_change(ctx, row, new_type[0])

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        if await steps_in_workflows(ctx, row.id):
            raise Invalid(IN_WORKFLOW, code="PROCESS_STEP_IN_WORKFLOW")
        from threadline.mes.demand.models import Print

        if await ctx.session.scalar(select(exists().where(Print.process_step_id == row.id))):
            raise Invalid(
                "Cannot delete process-step that has prints: it is part of the history of the "
                "pieces made with it.",
                code="PROCESS_STEP_HAS_PRINTS",
            )

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        """``workstation_type_uri``/``workstation`` as absolute URIs, and ``workflows`` with the
        index-matched ``step_positions`` (1-based, as prints number them): one query."""
        ids = [row.id for row in rows]
        table = workflow_process_steps
        placed: dict[uuid.UUID, list[tuple[uuid.UUID, int]]] = defaultdict(list)
        if ids:
            result = await ctx.session.execute(
                select(table.c.process_step_id, table.c.workflow_id, table.c.position)
                .where(table.c.process_step_id.in_(ids))
                .order_by(table.c.process_step_id, table.c.workflow_id, table.c.position)
            )
            for step_id, workflow_id, position in result:
                placed[step_id].append((workflow_id, position))
        out: dict[uuid.UUID, Values] = {}
        for row in rows:
            kind, type_id = workstation_type(row)
            machine = workstation(row)
            out[row.id] = {
                "workstation_type_uri": ctx.uri(kind, type_id),
                "workstation": ctx.uri(*machine) if machine else None,
                "workflows": [ctx.uri("workflow", w) for w, _ in placed[row.id]],
                "step_positions": [p + 1 for _, p in placed[row.id]],
            }
        return out

    def custom_filters(self) -> dict[str, Any]:
        return {
            "workstation_type_uri": _type_filter,
            "workflows": _workflows_filter,
        }

    # --- helpers ----------------------------------------------------------------------------

    async def _apply(
        self, ctx: MesContext, workspace_id: uuid.UUID, values: Values, current: Any
    ) -> None:
        """Turn ``workstation_type_uri``/``workstation`` into foreign keys and check that the
        machine, ``is_service`` and ``shipping_direction`` fit the step's type."""
        if "workstation_type_uri" in values:
            raw = values.pop("workstation_type_uri")
            if raw is None:
                raise invalid_value("workstation_type_uri", "may not be null")
            kind, type_id = _kind_and_id(raw, tuple(TYPE_COLUMNS), "workstation_type_uri")
            model, _ = TYPE_COLUMNS[kind]
            await _in_bureau(ctx, model, type_id, workspace_id, kind, "workstation_type_uri")
            for other, (_, column) in TYPE_COLUMNS.items():
                values[column] = type_id if other == kind else None
        type_kind, type_id = self._merged_type(values, current)
        if "workstation" in values:
            raw = values.pop("workstation")
            values["printer_id"] = values["post_processor_id"] = None
            if raw is not None:
                await self._set_machine(ctx, workspace_id, raw, type_kind, type_id, values)
        elif current is not None and any(c in values for _, c in TYPE_COLUMNS.values()):
            machine = workstation(current)
            if machine is not None and (
                MACHINE_COLUMNS[machine[0]][3] != type_kind
                or await self._machine_type(ctx, *machine) != type_id
            ):
                raise Invalid(
                    "The step's workstation is not of its new workstation type: send a "
                    "workstation of that type, or workstation: null, with the new type.",
                    code="WORKSTATION_TYPE_MISMATCH",
                    field="workstation",
                )
        for column in ("flow_time", "flow_time_queued"):
            if column in values:
                values[column] = round_flow_time(values[column])
        is_service = values.get("is_service", current.is_service if current else False)
        if is_service and type_kind != "post-processor-type":
            raise Invalid(
                "is_service marks an outsourced post-processing step: it needs a "
                "post-processor-type workstation_type_uri.",
                code="SERVICE_NEEDS_POST_PROCESSOR",
                field="is_service",
            )
        direction = values.get(
            "shipping_direction", current.shipping_direction if current else None
        )
        if direction is not None and type_kind != "shipping":
            raise Invalid(
                "shipping_direction applies to shipping steps only: its workstation_type_uri "
                "must be a shipping.",
                code="SHIPPING_DIRECTION_NEEDS_SHIPPING",
                field="shipping_direction",
            )

    @staticmethod
    def _merged_type(values: Values, current: Any) -> tuple[str, uuid.UUID]:
        for kind, (_, column) in TYPE_COLUMNS.items():
            if values.get(column) is not None:
                return kind, values[column]
        assert current is not None  # POST requires workstation_type_uri
        return workstation_type(current)

    async def _machine_type(self, ctx: MesContext, kind: str, machine_id: uuid.UUID) -> Any:
        model, _, type_column, _ = MACHINE_COLUMNS[kind]
        return await ctx.session.scalar(
            select(getattr(model, type_column)).where(model.id == machine_id)
        )

    async def _set_machine(
        self,
        ctx: MesContext,
        workspace_id: uuid.UUID,
        raw: Any,
        type_kind: str,
        type_id: uuid.UUID,
        values: Values,
    ) -> None:
        kind, machine_id = _kind_and_id(raw, tuple(MACHINE_COLUMNS), "workstation")
        model, column, type_column, machine_type_kind = MACHINE_COLUMNS[kind]
        machine = await _in_bureau(ctx, model, machine_id, workspace_id, kind, "workstation")
        if machine_type_kind != type_kind or getattr(machine, type_column) != type_id:
            raise Invalid(
                f"The workstation must be a machine of the step's workstation type "
                f"({PREFIX}/{type_kind}/{type_id}/).",
                code="WORKSTATION_TYPE_MISMATCH",
                field="workstation",
            )
        if column is not None:
            values[column] = machine_id

    @staticmethod
    async def _check_name(
        ctx: MesContext, workspace_id: uuid.UUID, name: str, exclude: uuid.UUID | None
    ) -> None:
        clauses = [
            ProcessStep.workspace_id == workspace_id,
            func.lower(ProcessStep.name) == name.lower(),
        ]
        if exclude is not None:
            clauses.append(ProcessStep.id != exclude)
        if await ctx.session.scalar(select(exists().where(*clauses))):
            raise Invalid(NAME_EXISTS, code="NAME_EXISTS")

    @staticmethod
    async def _check_type_change(ctx: MesContext, row: ProcessStep, new_kind: str) -> None:
        """A step's type changes only while no workflow listing it is processing, and never so
        that an additive workflow loses its last printer-type step."""
        workflow_ids = await steps_in_workflows(ctx, row.id)
        if not workflow_ids:
            return
        if await workflows_processing(ctx.session, workflow_ids):
            raise Conflict(WORKFLOW_PROCESSING, code="WORKFLOW_PROCESSING")
        if row.printer_type_id is None or new_kind == "printer-type":
            return
        table = workflow_process_steps
        others = (
            select(table.c.workflow_id)
            .join(ProcessStep, ProcessStep.id == table.c.process_step_id)
            .where(ProcessStep.printer_type_id.is_not(None), ProcessStep.id != row.id)
        )
        orphaned = await ctx.session.scalar(
            select(
                exists().where(
                    Workflow.id.in_(workflow_ids),
                    Workflow.type == WorkflowType.additive_manufacturing,
                    Workflow.id.notin_(others),
                )
            )
        )
        if orphaned:
            raise Invalid(PRINTER_STEP_REQUIRED, code="PRINTER_STEP_REQUIRED")


def _type_filter(flt: Filter) -> ColumnElement[bool]:
    """``filter[workstation_type_uri]=<printer-type, post-processor-type or shipping URI>``."""
    clauses: list[ColumnElement[bool]] = []
    for raw in flt.values:
        kind, type_id = _kind_and_id(raw, tuple(TYPE_COLUMNS), "filter[workstation_type_uri]")
        clauses.append(getattr(ProcessStep, TYPE_COLUMNS[kind][1]) == type_id)
    if not clauses:
        return ProcessStep.id.is_(None)
    out = clauses[0]
    for clause in clauses[1:]:
        out = out | clause
    return out


def _workflows_filter(flt: Filter) -> ColumnElement[bool]:
    """``filter[workflows]=<workflow URI>``: the steps a workflow lists."""
    ids = [
        parse_uri(raw, kinds=("workflow",), field_name="filter[workflows]") for raw in flt.values
    ]
    table = workflow_process_steps
    return ProcessStep.id.in_(select(table.c.process_step_id).where(table.c.workflow_id.in_(ids)))
