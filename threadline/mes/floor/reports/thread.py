"""What a piece's traceability report says: the piece's digital thread
(threadline/mes/floor/trace.py) and the audit log's records of everything the piece went
through, each record in one ``filters`` group (a batch's report: ``batch.py``).

A piece's records, by group (the reference names the groups, not what they hold):

| group | audit records of |
|---|---|
| ``cad_model_changes`` | the line item's models (current and former) and their design files |
| ``cad_model_replaced`` | the line item's changes of ``model`` |
| ``print_events`` | the piece's printing prints, their runs, run actuals, the material consumed |
| ``post_process_events`` | the piece's post-processing prints, their runs and run actuals |
| ``work_checklist_changes`` | checklists linked to the piece's prints, line item, workflow, steps or workstation types, their instructions and linkings |
| ``work_instruction_report`` | the operators' work instruction reports on the piece's prints |
| ``manual_notes`` | comments on the piece, its line item, order and runs; time entries of its runs |
| ``preparation_events`` | the piece's order and line item (but ``model`` changes), the planner requests that made its runs |
| ``other`` | the piece itself, its shipping prints and runs, their shipments, run transformations, documents |

Each report is a fixed number of statements whatever the piece's history.
"""  # noqa: E501  (the table reads as one)

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.audit.models import AuditEvent
from threadline.db import iso
from threadline.mes.crosscut.models import Comment
from threadline.mes.demand.models import LineItem, Piece, Print
from threadline.mes.face import PREFIX
from threadline.mes.files.models import Document, Model
from threadline.mes.floor import trace
from threadline.mes.floor.models import (
    Operation,
    Run,
    RunActual,
    RunActualAdditive,
    RunTransformation,
    Shipment,
    TimeEntry,
)
from threadline.mes.floor.workstations import TYPE_COLUMN, step_type
from threadline.mes.process.models import ProcessStep
from threadline.mes.quality.models import (
    WorkChecklistLinking,
    WorkInstruction,
    WorkInstructionReport,
)

FILTERS = (
    "cad_model_changes",
    "cad_model_replaced",
    "print_events",
    "post_process_events",
    "work_checklist_changes",
    "manual_notes",
    "other",
    "work_instruction_report",
    "preparation_events",
)
OPERATION_GROUP = {
    Operation.printing: "print_events",
    Operation.post_processing: "post_process_events",
    Operation.shipping: "other",
}
Key = tuple[str, str]  # (audit entity_type, entity_id)


def uri(kind: str, row_id: Any) -> str:
    """A relative URI, as the audit log and the stored document keep them."""
    return f"{PREFIX}/{kind}/{row_id}/"


class Subjects:
    """The records a report reads: audit key → (group, label)."""

    def __init__(self) -> None:
        self.groups: dict[Key, str] = {}
        self.labels: dict[Key, str] = {}

    def add(self, kind: str, ids: Any, group: str, label: str | None = None) -> None:
        for row_id in ids:
            if row_id is None:
                continue
            key = (f"mes.{kind}", str(row_id))
            self.groups.setdefault(key, group)
            if label:
                self.labels.setdefault(key, label)


async def audit_rows(
    session: AsyncSession, workspace_id: uuid.UUID, keys: list[Key]
) -> list[AuditEvent]:
    """The audit rows of ``keys`` in the bureau, oldest first (one statement)."""
    if not keys:
        return []
    rows = await session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.workspace_id == workspace_id,
            tuple_(AuditEvent.entity_type, AuditEvent.entity_id).in_(keys),
        )
        .order_by(AuditEvent.created_at, AuditEvent.id)
    )
    return list(rows)


def event(row: AuditEvent, group: str, label: str | None) -> dict[str, Any]:
    """One audit record as a report lists it: every field it set, before and after."""
    before = row.before if isinstance(row.before, dict) else {}
    after = row.after if isinstance(row.after, dict) else {}
    kind = row.entity_type.removeprefix("mes.")
    return {
        "group": group,
        "created": iso(row.created_at),
        "user": row.actor_label,
        "action": row.action,
        "reference": uri(kind, row.entity_id),
        "kind": kind,
        "label": label or kind,
        "changes": [
            {"key": key, "previous_value": before.get(key), "current_value": after.get(key)}
            for key in sorted(set(before) | set(after))
        ],
    }


def events(rows: list[AuditEvent], subjects: Subjects, wanted: set[str]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        key = (row.entity_type, row.entity_id)
        group = subjects.groups.get(key)
        if group is None:
            continue
        after = row.after if isinstance(row.after, dict) else {}
        before = row.before if isinstance(row.before, dict) else {}
        if row.entity_type == "mes.line-item" and "model" in (set(after) | set(before)):
            group = "cad_model_replaced"  # which model the line item builds changed
        if group in wanted:
            out.append(event(row, group, subjects.labels.get(key)))
    return out


def _ids_in(values: Any, kind: str) -> list[uuid.UUID]:
    """The ids of ``/mes/{kind}/{uuid}/`` URIs in an audit value (a URI or a list of them)."""
    out = []
    for value in values if isinstance(values, list) else [values]:
        prefix = f"{PREFIX}/{kind}/"
        if isinstance(value, str) and value.startswith(prefix):
            try:
                out.append(uuid.UUID(value[len(prefix) :].strip("/")))
            except ValueError:
                continue
    return out


async def piece_report(session: AsyncSession, piece: Piece, filters: list[str]) -> dict[str, Any]:
    """The piece's thread and its records of the ``filters`` groups."""
    thread = await trace.piece_trace(session, piece)
    ws = piece.workspace_id
    item = await session.get(LineItem, piece.line_item_id)
    assert item is not None  # a piece's line item cascades it
    prints = list(await session.scalars(select(Print).where(Print.piece_id == piece.id)))
    runs = {
        r.id: r
        for r in await session.scalars(
            select(Run).where(Run.id.in_({p.run_id for p in prints if p.run_id}))
        )
    }
    steps = {
        s.id: s
        for s in await session.scalars(
            select(ProcessStep).where(
                ProcessStep.id.in_({p.process_step_id for p in prints if p.process_step_id})
            )
        )
    }
    subjects = Subjects()
    subjects.add("piece", [piece.id], "other", f"piece {piece.name}")
    subjects.add("order", [piece.order_id], "preparation_events", "order")
    subjects.add("line-item", [item.id], "preparation_events", f"line item {item.name or ''}")
    for p in prints:
        run = runs.get(p.run_id) if p.run_id else None
        step = steps.get(p.process_step_id) if p.process_step_id else None
        operation = run.operation if run else step_type(step)[0] if step else None
        group = OPERATION_GROUP[operation] if operation else "other"
        label = f"print at step {p.process_step_position}" + (f" ({step.name})" if step else "")
        subjects.add("print", [p.id], group, label)
    for run in runs.values():
        subjects.add("run", [run.id], OPERATION_GROUP[run.operation], f"run {run.name or ''}")
    run_ids = list(runs)
    actuals = (
        await session.execute(
            select(RunActual.id, RunActual.run_id).where(RunActual.run_id.in_(run_ids))
        )
    ).all()
    group_of_run: dict[uuid.UUID | None, str] = {
        r.id: OPERATION_GROUP[r.operation] for r in runs.values()
    }
    for actual_id, run_id in actuals:
        subjects.add("run-actuals", [actual_id], group_of_run[run_id], "run actuals")
    for additive_id, action_id, run_id in await session.execute(
        select(RunActualAdditive.id, RunActualAdditive.consumption_action_id, RunActual.run_id)
        .join(RunActual, RunActual.id == RunActualAdditive.run_actual_id)
        .where(RunActual.run_id.in_(run_ids))
    ):
        label = "material consumed"
        subjects.add("run-actuals-additive", [additive_id], group_of_run[run_id], label)
        subjects.add("material-batch-action", [action_id], group_of_run[run_id], label)
    subjects.add(
        "shipment",
        await session.scalars(select(Shipment.id).where(Shipment.run_id.in_(run_ids))),
        "other",
        "shipment",
    )
    piece_print_ids = {str(p.id) for p in prints}
    planners = {r.planned_by_id for r in runs.values() if r.planned_by_id}
    for t in await session.scalars(
        select(RunTransformation).where(
            or_(RunTransformation.source_run_id.in_(run_ids), RunTransformation.id.in_(planners))
        )
    ):
        if t.id in planners or piece_print_ids & set(t.prints or []):
            subjects.add("run-transformation", [t.id], "other", f"run transformation {t.type}")
    subjects.add("create-runs", planners, "preparation_events", "planner request")

    # manual notes: comments on the piece and what it belongs to, time entries of its runs
    related = {
        "piece": [piece.id],
        "line_item": [item.id],
        "order": [piece.order_id] if piece.order_id else [],
        "run": run_ids,
    }
    comment_keys = [(table, i) for table, ids in related.items() for i in ids]
    subjects.add(
        "comment",
        await session.scalars(
            select(Comment.id).where(
                Comment.workspace_id == ws,
                tuple_(Comment.related_table_name, Comment.related_uuid).in_(comment_keys),
            )
        ),
        "manual_notes",
        "comment",
    )
    subjects.add(
        "time-entry",
        await session.scalars(
            select(TimeEntry.id).where(
                TimeEntry.related_table_name == "run", TimeEntry.related_uuid.in_(run_ids)
            )
        ),
        "manual_notes",
        "time entry",
    )
    subjects.add(
        "document",
        await session.scalars(
            select(Document.id).where(
                Document.workspace_id == ws,
                tuple_(Document.related_table_name, Document.related_uuid).in_(comment_keys),
            )
        ),
        "other",
        "document",
    )

    # quality: the reports on the piece's prints, the checklists that apply to the piece
    reported = (
        await session.execute(
            select(
                WorkInstructionReport.id,
                WorkInstruction.description,
                WorkInstruction.work_checklist_id,
            )
            .join(WorkInstruction, WorkInstruction.id == WorkInstructionReport.work_instruction_id)
            .where(WorkInstructionReport.print_id.in_([p.id for p in prints]))
        )
    ).all()
    for report_id, description, _checklist in reported:
        label = f"work instruction report: {description or ''}"
        subjects.add("work-instruction-report", [report_id], "work_instruction_report", label)
    targets: set[uuid.UUID] = {p.id for p in prints} | {item.id} | set(steps)
    targets.update(i for i in (item.workflow_id, piece.workflow_id) if i)
    targets.update(t for r in runs.values() if (t := getattr(r, TYPE_COLUMN[r.operation])))
    linkings = (
        await session.execute(
            select(WorkChecklistLinking.id, WorkChecklistLinking.work_checklist_id).where(
                WorkChecklistLinking.workspace_id == ws,
                WorkChecklistLinking.related_id.in_(targets),
            )
        )
    ).all()
    checklists = {c for _, c in linkings} | {c for _, _, c in reported if c}
    subjects.add("work-checklist-linking", [i for i, _ in linkings], "work_checklist_changes")
    subjects.add("work-checklist", checklists, "work_checklist_changes", "work checklist")
    subjects.add(
        "work-instruction",
        await session.scalars(
            select(WorkInstruction.id).where(WorkInstruction.work_checklist_id.in_(checklists))
        ),
        "work_checklist_changes",
        "work instruction",
    )

    wanted = set(filters)
    rows = await audit_rows(session, ws, list(subjects.groups))
    if "cad_model_changes" in wanted:
        # the models the line item built, now and before (its model changes name them)
        models = {item.model_id} if item.model_id else set()
        for row in rows:
            if row.entity_type == "mes.line-item":
                for document in (row.before, row.after):
                    if isinstance(document, dict):
                        models.update(_ids_in(document.get("model"), "model"))
        designs = await session.scalars(
            select(Model.design_file_id).where(Model.id.in_(models), Model.workspace_id == ws)
        )
        cad = Subjects()
        cad.add("model", models, "cad_model_changes", "model")
        cad.add("design-file", list(designs), "cad_model_changes", "design file")
        subjects.groups.update(cad.groups)
        subjects.labels.update(cad.labels)
        rows.extend(await audit_rows(session, ws, list(cad.groups)))
        rows.sort(key=lambda r: (r.created_at, r.id))
    return {"trace": thread, "events": events(rows, subjects, wanted)}
