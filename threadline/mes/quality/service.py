"""Quality rules: which checklist applies to a print (the reference's inheritance), what blocks
a print from completing, and the writes of checklists (versioned instructions) and reports.

Inheritance (mes-api-reference.txt ``/work-checklist-for/``: "if there is no 'print' work
checklist, the system scans for a 'process-step' checklist, if no process-step checklist, it
scans for a workstation_type checklist, and so on"). For a print at step S of piece P the
first linking found wins, the most recent on a tie:

1. the print itself;
2. the process step S as the print's line item has it (a line-item linking for S), as the
   piece's workflow has it (a workflow linking for S), then S's own linking;
3. the line item (a linking for all its steps), then the workflow (all its steps);
4. the workstation type of S: its printer type, post-processor type or shipping.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from threadline.errors import Invalid, NotFound
from threadline.mes.demand.models import Piece, Print
from threadline.mes.face import PREFIX, ListQuery, MesContext, invalid_value, parse_uri
from threadline.mes.floor.runs import register_completion_check
from threadline.mes.process.models import ProcessStep
from threadline.mes.quality import thresholds
from threadline.mes.quality.models import (
    RelatedType,
    ReportType,
    ThresholdAction,
    WorkChecklist,
    WorkChecklistLinking,
    WorkInstruction,
    WorkInstructionReport,
)
from threadline.mes.resources import Rules, Values, register_delete_cleanup

# related_uri kinds: the reference's name of the relation → the face's resource kind.
KIND_OF: dict[RelatedType, str] = {
    RelatedType.printer_type: "printer-type",
    RelatedType.post_processor_type: "post-processor-type",
    RelatedType.shipping: "shipping",
    RelatedType.process_step: "process-step",
    RelatedType.line_item: "line-item",
    RelatedType.print: "print",
    RelatedType.workflow: "workflow",
}
RELATED_OF = {kind: related for related, kind in KIND_OF.items()}
STEP_SCOPED = frozenset({RelatedType.line_item, RelatedType.workflow})


def parse_related_uri(
    value: Any, *, field_name: str = "related_uri"
) -> tuple[RelatedType, uuid.UUID]:
    """The kind and id a ``related_uri`` names; 400 unless it is one of the linkable kinds."""
    if isinstance(value, str):
        path = value.split("://", 1)[-1]
        path = path[path.find("/") :] if "://" in value else path
        for kind, related in RELATED_OF.items():
            if path.startswith(f"{PREFIX}/{kind}/"):
                return related, parse_uri(value, kinds=(kind,), field_name=field_name)
    kinds = ", ".join(f"{PREFIX}/{kind}/{{uuid}}/" for kind in KIND_OF.values())
    raise invalid_value(field_name, f"must be the URI of one of {kinds}")


def related_uri(ctx: MesContext, related_type: RelatedType, related_id: uuid.UUID) -> str:
    return ctx.uri(KIND_OF[related_type], related_id)


# --- inheritance --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrintRoute:
    """What a print's checklist may be inherited from."""

    print_id: uuid.UUID
    process_step_id: uuid.UUID | None
    line_item_id: uuid.UUID
    workflow_id: uuid.UUID | None
    workstation_type_id: uuid.UUID | None  # printer type, post-processor type or shipping

    def candidates(self) -> list[tuple[RelatedType | None, uuid.UUID | None, uuid.UUID | None]]:
        """(related type or None for "the workstation type", related id, step scope), in the
        order of inheritance."""
        step = self.process_step_id
        return [
            (RelatedType.print, self.print_id, None),
            (RelatedType.line_item, self.line_item_id, step),
            (RelatedType.workflow, self.workflow_id, step),
            (RelatedType.process_step, step, None),
            (RelatedType.line_item, self.line_item_id, None),
            (RelatedType.workflow, self.workflow_id, None),
            (None, self.workstation_type_id, None),
        ]


WORKSTATION_TYPES = frozenset(
    {RelatedType.printer_type, RelatedType.post_processor_type, RelatedType.shipping}
)


async def print_routes(
    session: AsyncSession, workspace_id: uuid.UUID, print_ids: Sequence[uuid.UUID]
) -> list[PrintRoute]:
    """The routes of the bureau's prints among ``print_ids`` (one query)."""
    if not print_ids:
        return []
    rows = await session.execute(
        select(
            Print.id,
            Print.process_step_id,
            Print.line_item_id,
            Piece.workflow_id,
            func.coalesce(
                ProcessStep.printer_type_id,
                ProcessStep.post_processor_type_id,
                ProcessStep.shipping_id,
            ),
        )
        .join(Piece, Piece.id == Print.piece_id)
        .outerjoin(ProcessStep, ProcessStep.id == Print.process_step_id)
        .where(Print.workspace_id == workspace_id, Print.id.in_(list(print_ids)))
    )
    return [PrintRoute(*row) for row in rows]


async def resolve_linkings(
    session: AsyncSession, workspace_id: uuid.UUID, routes: Sequence[PrintRoute]
) -> dict[uuid.UUID, WorkChecklistLinking]:
    """print id → the linking its checklist comes from (one query for every route)."""
    related = {rid for route in routes for _, rid, _ in route.candidates() if rid is not None}
    if not related:
        return {}
    linkings = (
        await session.scalars(
            select(WorkChecklistLinking)
            .where(
                WorkChecklistLinking.workspace_id == workspace_id,
                WorkChecklistLinking.related_id.in_(related),
            )
            .order_by(WorkChecklistLinking.created_at, WorkChecklistLinking.id)
        )
    ).all()
    # (related type, id, step scope) → latest linking; workstation types share one key space.
    index: dict[tuple[RelatedType | None, uuid.UUID, uuid.UUID | None], WorkChecklistLinking] = {}
    for linking in linkings:
        kind = None if linking.related_type in WORKSTATION_TYPES else linking.related_type
        scope = linking.process_step_id if linking.related_type in STEP_SCOPED else None
        index[(kind, linking.related_id, scope)] = linking
    out: dict[uuid.UUID, WorkChecklistLinking] = {}
    for route in routes:
        for kind, rid, scope in route.candidates():
            if rid is None:
                continue
            found = index.get((kind, rid, scope))
            if found is not None:
                out[route.print_id] = found
                break
    return out


def current_instructions_query(checklist_ids: Any) -> Any:
    """The SELECT of the current instructions (of each checklist's latest version)."""
    latest = (
        select(
            WorkInstruction.work_checklist_id.label("checklist_id"),
            func.max(WorkInstruction.checklist_version).label("version"),
        )
        .where(WorkInstruction.work_checklist_id.in_(checklist_ids))
        .group_by(WorkInstruction.work_checklist_id)
        .subquery()
    )
    return (
        select(WorkInstruction)
        .join(
            latest,
            (latest.c.checklist_id == WorkInstruction.work_checklist_id)
            & (latest.c.version == WorkInstruction.checklist_version),
        )
        .order_by(WorkInstruction.work_checklist_id, WorkInstruction.position, WorkInstruction.id)
    )


async def current_instructions(
    session: AsyncSession, checklist_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[WorkInstruction]]:
    """checklist id → its current instructions in position order (one query)."""
    out: dict[uuid.UUID, list[WorkInstruction]] = defaultdict(list)
    if checklist_ids:
        for wi in await session.scalars(current_instructions_query(list(set(checklist_ids)))):
            assert wi.work_checklist_id is not None
            out[wi.work_checklist_id].append(wi)
    return out


def _label(wi: WorkInstruction, checklist: WorkChecklist) -> str:
    what = f" ({wi.description})" if wi.description else ""
    return f"work instruction {wi.position}{what} of work checklist {checklist.name!r}"


async def completion_blockers(
    session: AsyncSession, workspace_id: uuid.UUID, print_ids: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """print id → why it may not complete: a required instruction of its resolved checklist
    not reported, or its latest report outside the threshold of an instruction whose
    ``threshold_action`` is ``error``. Four queries whatever the number of prints."""
    routes = await print_routes(session, workspace_id, print_ids)
    linkings = await resolve_linkings(session, workspace_id, routes)
    if not linkings:
        return {}
    checklist_ids = {linking.work_checklist_id for linking in linkings.values()}
    rows = (
        await session.execute(
            current_instructions_query(list(checklist_ids))
            .add_columns(WorkChecklist)
            .join(WorkChecklist, WorkChecklist.id == WorkInstruction.work_checklist_id)
        )
    ).all()
    by_checklist: dict[uuid.UUID, list[tuple[WorkInstruction, WorkChecklist]]] = defaultdict(list)
    for wi, checklist in rows:
        by_checklist[checklist.id].append((wi, checklist))
    instruction_ids = [wi.id for wi, _ in rows]
    latest: dict[tuple[uuid.UUID, uuid.UUID], WorkInstructionReport] = {}
    if instruction_ids:
        reports = await session.scalars(
            select(WorkInstructionReport)
            .where(
                WorkInstructionReport.print_id.in_(list(linkings)),
                WorkInstructionReport.work_instruction_id.in_(instruction_ids),
            )
            .order_by(WorkInstructionReport.created_at, WorkInstructionReport.id)
        )
        for each in reports:
            latest[(each.print_id, each.work_instruction_id)] = each
    out: dict[uuid.UUID, str] = {}
    for print_id, linking in linkings.items():
        for wi, checklist in by_checklist.get(linking.work_checklist_id, []):
            report = latest.get((print_id, wi.id))
            if report is None and wi.required:
                out[print_id] = (
                    f"The required {_label(wi, checklist)} is not reported for print "
                    f"{PREFIX}/print/{print_id}/."
                )
                break
            if (
                report is not None
                and report.outside_threshold
                and wi.threshold_action == ThresholdAction.error
            ):
                out[print_id] = (
                    f"The report of {_label(wi, checklist)} for print {PREFIX}/print/{print_id}/ "
                    "is outside its threshold (threshold_action error)."
                )
                break
    return out


register_completion_check(completion_blockers)


async def forget_linkings(ctx: MesContext, ids: Any) -> None:
    """Linkings to deleted rows go with them (``related_id`` has no foreign key)."""
    await ctx.session.execute(
        delete(WorkChecklistLinking).where(WorkChecklistLinking.related_id.in_(ids))
    )


register_delete_cleanup(forget_linkings)


# --- instructions -------------------------------------------------------------------------------


def check_instruction(values: Values) -> None:
    """A work instruction's threshold fits its threshold_type; a dropdown has choices."""
    thresholds.check_threshold(values.get("threshold_type"), values.get("threshold"))
    choices = values.get("choices")
    if choices is not None and not all(isinstance(c, str) for c in choices):
        raise invalid_value("choices", "must be an array of texts")
    if values.get("report_type") == ReportType.single_selection_dropdown and not choices:
        raise Invalid(
            "A single-selection-dropdown instruction needs choices.",
            code="CHOICES_REQUIRED",
            field="choices",
        )


class WorkInstructionRules(Rules):
    """``/work-instruction/`` writes floating (template) instructions only."""

    async def before_create(self, ctx: MesContext, values: Values, links: Any) -> None:
        values["work_checklist_id"] = None
        check_instruction(values)

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Any) -> None:
        _floating_only(row)
        merged = {
            k: values.get(k, getattr(row, k))
            for k in ("threshold_type", "threshold", "choices", "report_type")
        }
        check_instruction(merged)

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        _floating_only(row)

    def list_clauses(self, ctx: MesContext, query: ListQuery) -> list[ColumnElement[bool]]:
        """LIST shows the floating ones; a checklist's are read through the checklist."""
        return [WorkInstruction.work_checklist_id.is_(None)]


def _floating_only(row: WorkInstruction) -> None:
    if row.work_checklist_id is not None:
        raise Invalid(
            "Only floating (template) work instructions change here; the instructions of a "
            "work checklist change through its work_instructions.",
            code="WORK_INSTRUCTION_OF_CHECKLIST",
        )


def instruction_rows(
    workspace_id: uuid.UUID, checklist_id: uuid.UUID, version: int, items: list[Values]
) -> list[WorkInstruction]:
    """The rows of one version of a checklist's instructions; without a position, the list's
    order gives it."""
    rows = []
    for index, values in enumerate(items):
        values.setdefault("position", index + 1)
        values.pop("work_checklist_id", None)
        rows.append(
            WorkInstruction(
                workspace_id=workspace_id,
                work_checklist_id=checklist_id,
                checklist_version=version,
                **values,
            )
        )
    return rows


# --- reports ------------------------------------------------------------------------------------


def check_report(wi: WorkInstruction, report: str | None) -> None:
    """A report fits its instruction's report_type (a number, a range, one of the choices)."""
    if report is None:
        return
    if (
        wi.report_type in thresholds.NUMERIC_REPORTS
        and thresholds.report_numbers(wi.report_type, report) is None
    ):
        shape = "two numbers, low,high" if wi.report_type == ReportType.range else "a number"
        raise Invalid(
            f"The report of a {wi.report_type.value} instruction must be {shape}.",
            code="INVALID_REPORT",
            field="report",
        )
    if wi.report_type == ReportType.single_selection_dropdown and report not in (wi.choices or []):
        raise Invalid(
            "The report must be one of the instruction's choices: " + ", ".join(wi.choices or []),
            code="INVALID_REPORT",
            field="report",
        )


def is_outside(wi: WorkInstruction, report: str | None) -> bool:
    """``outside_threshold`` of a report on ``wi``."""
    return thresholds.outside_threshold(wi.report_type, wi.threshold_type, wi.threshold, report)


async def instruction_of(
    ctx: MesContext, workspace_id: uuid.UUID, wi_id: uuid.UUID
) -> WorkInstruction:
    wi = await ctx.session.get(WorkInstruction, wi_id)
    if wi is None or wi.workspace_id != workspace_id:
        raise NotFound(
            "The requested work-instruction cannot be found.",
            code="RESOURCE_NOT_FOUND",
            field="work_instruction",
        )
    return wi


async def check_prints(ctx: MesContext, workspace_id: uuid.UUID, ids: list[uuid.UUID]) -> None:
    """Every print exists in the bureau (one query); 404 naming the first that does not."""
    found = set(
        await ctx.session.scalars(
            select(Print.id).where(Print.workspace_id == workspace_id, Print.id.in_(ids))
        )
    )
    for print_id in ids:
        if print_id not in found:
            raise NotFound(
                f"The requested print cannot be found (prints: {PREFIX}/print/{print_id}/).",
                code="RESOURCE_NOT_FOUND",
                field="prints",
            )


class ReportRules(Rules):
    """A changed report gets its ``outside_threshold`` computed again."""

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Any) -> None:
        if "report" in values:
            wi = await instruction_of(ctx, row.workspace_id, row.work_instruction_id)
            check_report(wi, values["report"])
            values["outside_threshold"] = is_outside(wi, values["report"])
