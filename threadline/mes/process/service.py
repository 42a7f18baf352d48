"""Rules of workflows (mes-api-reference.txt ``/workflow/``), and what other rooms ask of them.

- Names are unique in a bureau, archived workflows included ("The requested workflow name
  already exists."); archiving renames only when a replacement takes the name.
- An ``additive_manufacturing`` workflow has a printer-type step.
- ``usage_state`` is computed from the line items and pieces that follow the workflow (the
  demand room's statuses): ``active`` while one is processing, ``can_be_safely_archived`` when
  some follow it but none is processing, ``inactive`` when none follows it; ``archived`` once
  archived (``PUT {"usage_state": "archived"}``). Archived workflows are hidden from LIST unless
  ``filter[usage_state]`` asks for them.
- While a line item or piece following it is processing, a workflow's steps do not change and it
  is not archived: 409 "The requested workflow is attached to line items that are processing.".
  A change of steps re-creates the prints of the line items still in planning.
- Custom workflows (pinned to a line item, or followed by pieces whose line item follows another
  workflow) are hidden from LIST unless ``include_custom_workflows`` is true.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import case, exists, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from threadline.db import utcnow
from threadline.errors import Conflict, Invalid
from threadline.mes.face import Filter, ListQuery, MesContext, invalid_value, parse_uri
from threadline.mes.process.models import (
    ProcessStep,
    UsageState,
    Workflow,
    WorkflowType,
    workflow_process_steps,
)
from threadline.mes.resources import Links, Rules, Values

NAME_EXISTS = "The requested workflow name already exists."
WORKFLOW_PROCESSING = "The requested workflow is attached to line items that are processing."
PRINTER_STEP_REQUIRED = (
    "Workflow with type additive_manufacturing must have an associated printer_type: add a "
    "process step whose workstation_type_uri is a printer-type."
)
MAX_SPECIMEN_QUANTITY = 1_000_000

# --- what other rooms ask ---------------------------------------------------------------------


async def workflow_steps(
    session: AsyncSession, workflow_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[ProcessStep]]:
    """The process steps of each workflow in their order (a step listed twice appears twice):
    one query for any number of workflows."""
    wanted = sorted(set(workflow_ids))
    out: dict[uuid.UUID, list[ProcessStep]] = {w: [] for w in wanted}
    if not wanted:
        return out
    table = workflow_process_steps
    rows = await session.execute(
        select(table.c.workflow_id, ProcessStep)
        .join(ProcessStep, ProcessStep.id == table.c.process_step_id)
        .where(table.c.workflow_id.in_(wanted))
        .order_by(table.c.workflow_id, table.c.position)
    )
    for workflow_id, step in rows:
        out[workflow_id].append(step)
    return out


async def has_printer_step(session: AsyncSession, step_ids: Sequence[uuid.UUID]) -> bool:
    """Whether one of these steps happens at a printer type."""
    if not step_ids:
        return False
    return bool(
        await session.scalar(
            select(
                exists().where(
                    ProcessStep.id.in_(list(step_ids)), ProcessStep.printer_type_id.is_not(None)
                )
            )
        )
    )


def processing_clause(workflow_id: Any) -> ColumnElement[bool]:
    """SQL: a line item or live piece following ``workflow_id`` is processing (the demand
    room's statuses, as its ``workflow_is_processing`` reads them)."""
    from threadline.mes.demand import states
    from threadline.mes.demand.models import LineItem, Piece, PieceStatus

    return exists().where(
        LineItem.workflow_id == workflow_id, LineItem.status.in_(states.LINE_ITEM_PROCESSING)
    ) | exists().where(
        Piece.workflow_id == workflow_id,
        Piece.status.notin_([PieceStatus.new, *states.PIECE_DONE]),
    )


def used_clause(workflow_id: Any) -> ColumnElement[bool]:
    """SQL: some line item or piece follows ``workflow_id``."""
    from threadline.mes.demand.models import LineItem, Piece

    return exists().where(LineItem.workflow_id == workflow_id) | exists().where(
        Piece.workflow_id == workflow_id
    )


def usage_state_expression() -> ColumnElement[str]:
    """SQL: each workflow's ``usage_state`` (one CASE over correlated EXISTS)."""
    return case(
        (Workflow.archived_at.is_not(None), literal(UsageState.archived.value)),
        (processing_clause(Workflow.id), literal(UsageState.active.value)),
        (used_clause(Workflow.id), literal(UsageState.can_be_safely_archived.value)),
        else_=literal(UsageState.inactive.value),
    )


def custom_clause() -> ColumnElement[bool]:
    """SQL: the workflow is custom: pinned to a line item, or followed by pieces whose line item
    follows another workflow (a ``change_workflow`` of the pieces)."""
    from threadline.mes.demand.models import LineItem, Piece

    reworked = (
        select(Piece.id)
        .join(LineItem, LineItem.id == Piece.line_item_id)
        .where(
            Piece.workflow_id == Workflow.id,
            LineItem.workflow_id.is_distinct_from(Piece.workflow_id),
        )
        .exists()
    )
    return Workflow.line_item_id.is_not(None) | reworked


async def workflows_processing(session: AsyncSession, workflow_ids: Sequence[uuid.UUID]) -> bool:
    """Whether any of these workflows is processing (one query)."""
    if not workflow_ids:
        return False
    return bool(
        await session.scalar(
            select(
                exists().where(Workflow.id.in_(list(workflow_ids)), processing_clause(Workflow.id))
            )
        )
    )


async def usage_states(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """``usage_state`` of each workflow (one query)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Workflow.id, usage_state_expression()).where(Workflow.id.in_(list(ids)))
    )
    return {row_id: str(state) for row_id, state in rows}


async def check_printer_step(
    session: AsyncSession, workflow_type: str, step_ids: Sequence[uuid.UUID]
) -> None:
    """An additive workflow "must have an associated printer_type" (400)."""
    if workflow_type == WorkflowType.additive_manufacturing and not await has_printer_step(
        session, step_ids
    ):
        raise Invalid(PRINTER_STEP_REQUIRED, code="PRINTER_STEP_REQUIRED", field="process_steps")


async def name_taken(
    session: AsyncSession, workspace_id: uuid.UUID, name: str, exclude: uuid.UUID | None = None
) -> bool:
    clauses = [Workflow.workspace_id == workspace_id, func.lower(Workflow.name) == name.lower()]
    if exclude is not None:
        clauses.append(Workflow.id != exclude)
    return bool(await session.scalar(select(exists().where(*clauses))))


def _check_specimens(value: Any) -> list[dict[str, Any]] | None:
    """``specimens``: ``[{"uri": <specimen URI>, "quantity": n}]``."""
    if value is None:
        return None
    out = []
    for index, item in enumerate(value):
        name = f"specimens[{index}]"
        if not isinstance(item, dict) or set(item) - {"uri", "quantity"} or "uri" not in item:
            raise invalid_value(name, 'must be an object {"uri": ..., "quantity": ...}')
        specimen_id = parse_uri(item["uri"], kinds=("specimen",), field_name=f"{name}.uri")
        quantity = item.get("quantity", 1)
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not 1 <= quantity <= MAX_SPECIMEN_QUANTITY
        ):
            raise invalid_value(
                f"{name}.quantity", f"must be an integer from 1 to {MAX_SPECIMEN_QUANTITY}"
            )
        out.append({"uri": f"/mes/specimen/{specimen_id}/", "quantity": quantity})
    return out


def _check_unique(links: Links, *names: str) -> None:
    for name in names:
        ids = links.get(name)
        if ids is not None and len(set(ids)) != len(ids):
            raise invalid_value(name, "lists a URI twice")


class WorkflowRules(Rules):
    """Unique names, the printer-type step of additive workflows, archiving, and the 409 of a
    workflow whose line items are processing (see the module docstring)."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        workspace_id = values["workspace_id"]
        if await name_taken(ctx.session, workspace_id, values["name"]):
            raise Invalid(NAME_EXISTS, code="NAME_EXISTS")
        _check_unique(links, "materials", "labels")
        if "specimens" in values:
            values["specimens"] = _check_specimens(values["specimens"])
        if values.pop("usage_state", None) == UsageState.archived:
            values["archived_at"] = utcnow()
        await check_printer_step(ctx.session, values["type"], links.get("process_steps", []))
        values["updated_by_id"] = ctx.user.id

    async def after_create(self, ctx: MesContext, row: Any, links: Links) -> None:
        row.usage_state = UsageState.archived if row.archived_at else UsageState.inactive

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        state = (await usage_states(ctx.session, [row.id]))[row.id]
        row.usage_state = state  # the audit log's "before"
        renamed = "name" in values and values["name"] != row.name
        if renamed and await name_taken(ctx.session, row.workspace_id, values["name"], row.id):
            raise Invalid(NAME_EXISTS, code="NAME_EXISTS")
        _check_unique(links, "materials", "labels")
        if "specimens" in values:
            values["specimens"] = _check_specimens(values["specimens"])
        wanted = values.pop("usage_state", None)
        if wanted is not None and wanted != state:
            if wanted != UsageState.archived:
                raise Invalid(
                    "usage_state can only be set to archived; the other states follow from the "
                    "line items that use the workflow.",
                    code="INVALID_USAGE_STATE",
                    field="usage_state",
                )
            if state == UsageState.active:
                raise Conflict(WORKFLOW_PROCESSING, code="WORKFLOW_PROCESSING")
            values["archived_at"] = utcnow()
            values["usage_state"] = UsageState.archived
        current = [s.id for s in (await workflow_steps(ctx.session, [row.id]))[row.id]]
        steps = links.get("process_steps", current)
        if steps != current and state == UsageState.active:
            raise Conflict(WORKFLOW_PROCESSING, code="WORKFLOW_PROCESSING")
        if steps != current or values.get("type", row.type) != row.type:
            await check_printer_step(ctx.session, values.get("type", row.type), steps)
        values["updated_by_id"] = ctx.user.id

    async def after_update(self, ctx: MesContext, row: Any, changed: set[str]) -> None:
        if "process_steps" in changed:
            # The line items still in planning get prints of the new steps.
            from threadline.mes.demand.service import repoint_workflow

            await repoint_workflow(ctx, source_id=row.id, target_id=row.id, line_item_id=None)

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        from threadline.mes.demand.service import workflow_in_use

        if await workflow_in_use(ctx.session, row.id):
            raise Conflict(
                "The requested workflow is used by line items or pieces: archive it instead "
                '(PUT {"usage_state": "archived"}).',
                code="WORKFLOW_IN_USE",
            )

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        """``usage_state``, ``flow_time*`` (sums of the steps, a step listed twice counting
        twice; null when no step has one) and ``pieces``: three queries a page."""
        ids = [row.id for row in rows]
        if not ids:
            return {}
        from threadline.mes.demand.models import LineItem, Piece

        states = await usage_states(ctx.session, ids)
        table = workflow_process_steps
        sums = {
            workflow_id: (flow, queued)
            for workflow_id, flow, queued in await ctx.session.execute(
                select(
                    table.c.workflow_id,
                    func.sum(ProcessStep.flow_time),
                    func.sum(ProcessStep.flow_time_queued),
                )
                .join(ProcessStep, ProcessStep.id == table.c.process_step_id)
                .where(table.c.workflow_id.in_(ids))
                .group_by(table.c.workflow_id)
            )
        }
        pieces: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for workflow_id, piece_id in await ctx.session.execute(
            select(Piece.workflow_id, Piece.id)
            .join(LineItem, LineItem.id == Piece.line_item_id)
            .where(
                Piece.workflow_id.in_(ids),
                LineItem.workflow_id.is_distinct_from(Piece.workflow_id),
            )
            .order_by(Piece.workflow_id, Piece.id)
        ):
            if workflow_id is not None:
                pieces[workflow_id].append(piece_id)
        out: dict[uuid.UUID, Values] = {}
        for row in rows:
            flow, queued = sums.get(row.id, (None, None))
            out[row.id] = {
                "usage_state": states[row.id],
                "flow_time": int(flow) if flow is not None else None,
                "flow_time_queued": int(queued) if queued is not None else None,
                "pieces": [ctx.uri("piece", p) for p in pieces[row.id]],
            }
        return out

    def list_clauses(self, ctx: MesContext, query: ListQuery) -> list[ColumnElement[bool]]:
        names = {f.name for f in query.filters}
        clauses: list[ColumnElement[bool]] = []
        if "usage_state" not in names and "uuid" not in names:
            clauses.append(Workflow.archived_at.is_(None))
        include = query.params.get("include_custom_workflows", "")
        for flt in query.filters:
            if flt.name == "include_custom_workflows":
                include = flt.values[0] if flt.values else ""
        if not _boolean(include, "include_custom_workflows") and not names & {"line_item", "uuid"}:
            clauses.append(~custom_clause())
        return clauses

    def custom_filters(self) -> dict[str, Any]:
        return {
            "usage_state": _usage_state_filter,
            "name_ilike": _name_ilike_filter,
            "include_custom_workflows": lambda flt: true(),
        }


def _boolean(raw: str, name: str) -> bool:
    lowered = raw.lower()
    if lowered in ("", "false", "0"):
        return False
    if lowered in ("true", "1"):
        return True
    raise invalid_value(name, "must be true or false")


def _usage_state_filter(flt: Filter) -> ColumnElement[bool]:
    choices = [s.value for s in UsageState]
    for value in flt.values:
        if value not in choices:
            raise invalid_value("filter[usage_state]", "must be one of " + ", ".join(choices))
    return usage_state_expression().in_(list(flt.values))


def _name_ilike_filter(flt: Filter) -> ColumnElement[bool]:
    """``filter[name_ilike]=text``: names containing ``text``, case-insensitively."""
    text = ",".join(flt.values).lower()
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(Workflow.name).like(f"%{escaped}%", escape="\\")
