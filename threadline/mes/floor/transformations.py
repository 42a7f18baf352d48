"""Changing what becomes of pieces of a run (mes-api-reference.txt ``/run-transformation/``),
worked by a durable job like the planner: a POST stores the request (``pending``), the
``mes.run-transformation`` job applies it in one transaction and records ``complete`` or, with
the reason in ``notes``, ``error``.

For each print of ``source_run`` named in ``prints`` (its piece is "the piece"):

- ``remanufacture``: the piece is given up (``incomplete``) and a new piece of the same line item
  is made with all its workflow's prints, ``confirmed``, ready for the floor; the old piece and
  the old print name the new ones in ``remanufactured_to``.
- ``redo``: the piece does this step again: the print leaves the run and waits for another
  (``error`` → into a run), the piece waits for the step's operation.
- ``scrap``: the piece is ``incomplete``; its open prints are cancelled.
- ``change_workflow``: a custom workflow of ``process_steps`` (all the steps of the new
  workflow) is made and pinned to the pieces (``custom_workflow``; the pieces-by-run
  ``reworked`` flag follows); the steps after the current one are re-made from it.
- ``flag_non_conformance``: as ``change_workflow`` with a step at the bureau's
  ``non_conformance_review`` post-processor type inserted after the current step.
- ``split_shipment``: the pieces leave a shipping run for a new one with its own shipment
  (the same rules as ``/shipment/split/``).

Prints still in progress are first ended in ``error`` (the step failed); the line items and
orders follow their pieces as after any run.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth.models import Role, User
from threadline.db import utcnow
from threadline.errors import Invalid, NotFound
from threadline.jobs import service as jobs
from threadline.mes.demand import pieces as piece_rows
from threadline.mes.demand.models import LineItem, Piece, Print
from threadline.mes.demand.models import PieceStatus as P
from threadline.mes.demand.models import PrintStatus as R
from threadline.mes.face import MesContext, parse_uri
from threadline.mes.floor import runs
from threadline.mes.floor.models import JobStatus, Run, RunTransformation
from threadline.mes.floor.workstations import QUEUED_FOR, WORKING_AT, step_type
from threadline.mes.process.models import ProcessStep
from threadline.mes.resources import REGISTRY, Links, Rules, Values, create_resource
from threadline.mes.shop.models import PostProcessorType

JOB_KIND = "mes.run-transformation"
TYPES = (
    "remanufacture",
    "redo",
    "change_workflow",
    "flag_non_conformance",
    "scrap",
    "split_shipment",
)


class RunTransformationRules(Rules):
    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        run_id = values.get("source_run_id")
        if run_id is None:
            raise Invalid(
                "The field source_run is required.", code="FIELD_REQUIRED", field="source_run"
            )
        raw = values.get("prints")
        if not isinstance(raw, list) or not raw:
            raise Invalid("The field prints is required.", code="FIELD_REQUIRED", field="prints")
        ids = list(dict.fromkeys(parse_uri(v, kinds=("print",), field_name="prints") for v in raw))
        found = set(
            await ctx.session.scalars(
                select(Print.id).where(Print.id.in_(ids), Print.run_id == run_id)
            )
        )
        if len(found) != len(ids):
            raise NotFound(
                "The requested run transformation or related object cannot be found.",
                code="RESOURCE_NOT_FOUND",
                field="prints",
            )
        values["prints"] = [str(i) for i in ids]
        steps = values.get("process_steps")
        if values["type"] == "change_workflow":
            if not isinstance(steps, list) or not steps:
                raise Invalid(
                    "A change_workflow names all the process steps of the new workflow.",
                    code="FIELD_REQUIRED",
                    field="process_steps",
                )
            values["process_steps"] = [
                str(parse_uri(s, kinds=("process-step",), field_name="process_steps"))
                for s in steps
            ]
        values["user_id"] = ctx.user.id
        values["status"] = JobStatus.pending

    async def after_create(self, ctx: MesContext, row: Any, links: Links) -> None:
        jobs.enqueue(
            ctx.session,
            kind=JOB_KIND,
            workspace_id=row.workspace_id,
            payload={"id": str(row.id)},
            actor_id=ctx.user.id,
        )

    async def computed(self, ctx: MesContext, rows: Any) -> dict[uuid.UUID, Values]:
        return {
            r.id: {
                "prints": [ctx.uri("print", p) for p in r.prints or []],
                "process_steps": [ctx.uri("process-step", p) for p in r.process_steps or []]
                if r.process_steps
                else None,
                "destination_runs": [ctx.uri("run", p) for p in r.destination_runs or []],
            }
            for r in rows
        }


async def handle(session: AsyncSession, job: Any) -> dict[str, Any] | None:
    row = await session.get(RunTransformation, uuid.UUID(str(job.payload.get("id"))))
    if row is None or row.status in (JobStatus.complete, JobStatus.error):
        return {"skipped": "no pending transformation"}
    user = await session.get(User, row.user_id) if row.user_id else None
    if user is None:
        row.status, row.notes = JobStatus.error, "The user who asked for it no longer exists."
        return {"error": row.notes}
    ctx = MesContext(
        session=session,
        user=user,
        runtime=None,  # type: ignore[arg-type]  # a job reads no runtime service
        base_url="",
        roles={row.workspace_id: Role.manager},
    )
    row.status = JobStatus.processing
    try:
        async with session.begin_nested():
            await apply(ctx, row)
    except (Invalid, NotFound) as refused:
        row.status = JobStatus.error
        row.notes = str(getattr(refused, "detail", refused))
        return {"error": row.notes}
    row.status = JobStatus.complete
    return {"destination_runs": row.destination_runs}


async def apply(ctx: MesContext, row: RunTransformation) -> None:
    session = ctx.session
    run = await session.get(Run, row.source_run_id) if row.source_run_id else None
    if run is None:
        raise NotFound("The requested run cannot be found.", code="RESOURCE_NOT_FOUND")
    prints = list(
        (
            await session.scalars(
                select(Print).where(Print.id.in_([uuid.UUID(p) for p in row.prints]))
            )
        ).all()
    )
    pieces = {p.id: p for p in await runs._pieces_of(session, [p.piece_id for p in prints])}
    journal = runs.Journal(ctx)
    if row.type == "split_shipment":
        from threadline.mes.floor import helpers

        made = await helpers.split(ctx, list(pieces.values()))
        row.destination_runs = [str(made[0].id)]
        return
    # a step still running has failed for these pieces
    for p in prints:
        if p.status in (R.queued, R.in_progress):
            runs.set_status(journal, "print", p, R.error)
    await runs.move_pieces(
        journal,
        [
            pc
            for pc in pieces.values()
            if pc.status in (WORKING_AT[run.operation], QUEUED_FOR[run.operation])
        ],
        P.error,
    )
    if row.type == "remanufacture":
        await _remanufacture(ctx, journal, prints, pieces)
    elif row.type == "redo":
        for p in prints:
            journal.note("print", p, "run", str(run.id), None)
            p.run_id = None
        await runs.move_pieces(
            journal,
            [pc for pc in pieces.values() if pc.status == P.error],
            QUEUED_FOR[run.operation],
        )
    elif row.type == "scrap":
        await _scrap(journal, list(pieces.values()))
    elif row.type in ("change_workflow", "flag_non_conformance"):
        steps = await _new_steps(ctx, row, run, prints)
        workflow = await create_resource(
            ctx,
            REGISTRY["workflow"],
            {
                "bureau": f"/mes/bureau/{row.workspace_id}/",
                "name": f"Rework {row.id}",
                "process_steps": [f"/mes/process-step/{s}/" for s in steps],
            },
        )
        row.custom_workflow_id = workflow.id
        await _repin(journal, run, prints, pieces, workflow.id, steps)
    await session.flush()
    await runs.follow_pieces(journal, {pc.line_item_id for pc in pieces.values()})
    await journal.flush()


async def _remanufacture(
    ctx: MesContext,
    journal: runs.Journal,
    prints: list[Print],
    pieces: dict[uuid.UUID, Piece],
) -> None:
    session = ctx.session
    by_item: dict[uuid.UUID, list[Piece]] = {}
    for pc in pieces.values():
        by_item.setdefault(pc.line_item_id, []).append(pc)
    items = {
        i.id: i for i in await session.scalars(select(LineItem).where(LineItem.id.in_(by_item)))
    }
    last = dict(
        (
            await session.execute(
                select(Piece.line_item_id, func.max(Piece.copy))
                .where(Piece.line_item_id.in_(by_item))
                .group_by(Piece.line_item_id)
            )
        ).all()
    )
    wanted = [
        (piece_rows.Planned.of(items[i]), last[i] + 1, last[i] + len(group))
        for i, group in by_item.items()
    ]
    await piece_rows.create_pieces(session, wanted)
    for item_id, group in by_item.items():
        fresh = list(
            (
                await session.scalars(
                    select(Piece)
                    .where(Piece.line_item_id == item_id, Piece.copy > last[item_id])
                    .order_by(Piece.copy)
                )
            ).all()
        )
        for old, new in zip(sorted(group, key=lambda p: p.copy), fresh, strict=True):
            await runs.move_pieces(journal, [new], P.confirmed)
            journal.note("piece", old, "remanufactured_to", None, str(new.id))
            old.remanufactured_to_id = new.id
            await runs.move_pieces(journal, [old], P.incomplete)
            first = await session.scalar(
                select(Print.id)
                .where(Print.piece_id == new.id)
                .order_by(Print.process_step_position)
                .limit(1)
            )
            for p in prints:
                if p.piece_id == old.id:
                    p.remanufactured_to_id = first
    await _cancel_open_prints(journal, list(pieces))


async def _scrap(journal: runs.Journal, pieces: list[Piece]) -> None:
    await runs.move_pieces(journal, pieces, P.incomplete)
    await _cancel_open_prints(journal, [p.id for p in pieces])


async def _cancel_open_prints(journal: runs.Journal, piece_ids: list[uuid.UUID]) -> None:
    open_prints = (
        await journal.ctx.session.scalars(
            select(Print).where(
                Print.piece_id.in_(piece_ids), Print.status.in_([R.created, R.queued, R.error])
            )
        )
    ).all()
    for p in open_prints:
        runs.set_status(journal, "print", p, R.cancelled)


async def _new_steps(
    ctx: MesContext, row: RunTransformation, run: Run, prints: list[Print]
) -> list[uuid.UUID]:
    if row.type == "change_workflow":
        return [uuid.UUID(s) for s in row.process_steps or []]
    review = await ctx.session.scalar(
        select(PostProcessorType).where(
            PostProcessorType.workspace_id == row.workspace_id,
            PostProcessorType.special_type == "non_conformance_review",
        )
    )
    if review is None:
        raise Invalid(
            "The bureau has no post-processor type of special_type non_conformance_review.",
            code="NO_NON_CONFORMANCE_REVIEW",
        )
    step = await ctx.session.scalar(
        select(ProcessStep.id).where(
            ProcessStep.post_processor_type_id == review.id,
            ProcessStep.workspace_id == row.workspace_id,
        )
    )
    if step is None:
        made = await create_resource(
            ctx,
            REGISTRY["process-step"],
            {
                "bureau": f"/mes/bureau/{row.workspace_id}/",
                "name": "Non-conformance review",
                "workstation_type_uri": f"/mes/post-processor-type/{review.id}/",
            },
        )
        step = made.id
    first = prints[0]
    workflow = await ctx.session.scalar(select(Piece.workflow_id).where(Piece.id == first.piece_id))
    current = await piece_rows.workflow_steps(ctx.session, [workflow])
    ordered = current.get(workflow, []) if workflow else []
    at = first.process_step_position
    return [*ordered[:at], step, *ordered[at:]]


async def _repin(
    journal: runs.Journal,
    run: Run,
    prints: list[Print],
    pieces: dict[uuid.UUID, Piece],
    workflow_id: uuid.UUID,
    steps: list[uuid.UUID],
) -> None:
    """The pieces follow the custom workflow from the step after the failed one."""
    session = journal.ctx.session
    kinds = {
        s.id: s for s in await session.scalars(select(ProcessStep).where(ProcessStep.id.in_(steps)))
    }
    at = {p.piece_id: p.process_step_position for p in prints}
    now = utcnow()
    for pc in pieces.values():
        journal.note("piece", pc, "workflow", str(pc.workflow_id), str(workflow_id))
        pc.workflow_id = workflow_id
        position = at[pc.id]
        await session.execute(
            delete(Print).where(
                Print.piece_id == pc.id,
                Print.process_step_position > position,
                Print.status.in_([R.created, R.error]),
                Print.run_id.is_(None),
            )
        )
        for n, step in enumerate(steps[position:], start=position + 1):
            session.add(
                Print(
                    workspace_id=pc.workspace_id,
                    piece_id=pc.id,
                    line_item_id=pc.line_item_id,
                    process_step_id=step,
                    process_step_position=n,
                    status=R.created,
                    created_at=now,
                    updated_at=now,
                )
            )
        following = steps[position] if len(steps) > position else None
        if following is not None:
            journal.note(
                "piece", pc, "current_step_position", pc.current_step_position, position + 1
            )
            pc.current_step_position = position + 1
            await runs.move_pieces(journal, [pc], QUEUED_FOR[step_type(kinds[following])[0]])
    await session.flush()


jobs.register(JOB_KIND, handle)
