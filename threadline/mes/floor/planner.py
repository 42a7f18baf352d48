"""The assisted planner (mes-api-reference.txt ``/create-runs/``), worked by a durable job.

A POST stores the request (``status: pending``) and enqueues a ``mes.create-runs`` job
(threadline/jobs); the job does all of it in the job's one transaction, so a server killed
mid-way leaves nothing half-made and the job is simply run again:

1. each piece's next open print must be at the primary workstation's type (else unfitted);
2. on a printer, the pieces' model bounding boxes are packed onto build plates of the printer
   type (threadline/mes/floor/packing.py: ``build_volume``, ``build_plate_shape``,
   ``min_packing_distance``); one printing run per plate, the first is the ``primary_run``;
   a piece that fits no plate, or has no measured model while ``do_build_volume_check`` is on,
   is unfitted. On a post-processor the pieces go into runs batched by its type's strategy;
3. every later step of the planned pieces gets its runs too, batched by each workstation
   type's ``batching_strategy`` (threadline/mes/floor/batching.py), in calculated status until
   a machine is assigned (shipping runs are queued at once: the type is the workstation).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth.models import Role, User
from threadline.db import utcnow
from threadline.errors import Invalid, NotFound
from threadline.jobs import service as jobs
from threadline.mes.demand.models import LineItem, Piece, Print
from threadline.mes.demand.models import PrintStatus as R
from threadline.mes.face import MesContext, parse_uri
from threadline.mes.files.models import Model
from threadline.mes.floor import batching, packing, runs
from threadline.mes.floor.models import CreateRuns, JobStatus, Operation
from threadline.mes.floor.workstations import KIND_OPERATION, station, step_type
from threadline.mes.process.models import ProcessStep
from threadline.mes.resources import REGISTRY
from threadline.mes.shop.models import PostProcessorType, Shipping

JOB_KIND = "mes.create-runs"
MAX_PIECES = 10_000


async def prepare(ctx: MesContext, values: dict[str, Any]) -> None:
    """Check a request before it is stored: its pieces and workstation are the bureau's."""
    raw = values.pop("pieces", None)
    if not isinstance(raw, list) or not raw:
        raise Invalid("The field pieces is required.", code="FIELD_REQUIRED", field="pieces")
    if len(raw) > MAX_PIECES:
        raise Invalid(
            f"A request plans at most {MAX_PIECES} pieces.", code="INVALID_FIELD", field="pieces"
        )
    ids = list(dict.fromkeys(parse_uri(v, kinds=("piece",), field_name="pieces") for v in raw))
    workspace_id = values["workspace_id"]
    found = set(
        await ctx.session.scalars(
            select(Piece.id).where(Piece.id.in_(ids), Piece.workspace_id == workspace_id)
        )
    )
    if len(found) != len(ids):
        raise NotFound("The requested piece cannot be found.", code="RESOURCE_NOT_FOUND")
    text = values.pop("primary_workstation", None)
    kind = None
    for candidate in ("printer", "post-processor"):
        try:
            machine_id = parse_uri(text, kinds=(candidate,), field_name="primary_workstation")
        except Invalid:
            continue
        kind = candidate
        break
    if kind is None or (isinstance(text, str) and "/" not in text):
        raise Invalid(
            "The value of primary_workstation must be a URI of a printer or a post-processor.",
            code="INVALID_FIELD",
            field="primary_workstation",
        )
    where = await station(ctx.session, kind, machine_id)
    model: Any = REGISTRY[kind].model
    row = await ctx.session.get(model, machine_id)
    if where is None or row is None or row.workspace_id != workspace_id:
        raise NotFound(
            f"The requested {kind} cannot be found.",
            code="RESOURCE_NOT_FOUND",
            field="primary_workstation",
        )
    values.update(
        pieces=[str(i) for i in ids],
        primary_workstation_kind=kind,
        primary_workstation_id=machine_id,
        user_id=ctx.user.id,
        status=JobStatus.pending,
    )


def enqueue(ctx: MesContext, row: CreateRuns) -> None:
    jobs.enqueue(
        ctx.session,
        kind=JOB_KIND,
        workspace_id=row.workspace_id,
        payload={"id": str(row.id)},
        actor_id=ctx.user.id,
    )


async def handle(session: AsyncSession, job: Any) -> dict[str, Any] | None:
    """The ``mes.create-runs`` job: plan the request, or record why it could not be."""
    row = await session.get(CreateRuns, uuid.UUID(str(job.payload.get("id"))))
    if row is None or row.status in (JobStatus.complete, JobStatus.error):
        return {"skipped": "no pending request"}
    user = await session.get(User, row.user_id) if row.user_id else None
    if user is None:
        row.status = JobStatus.error
        row.notes = "The user who asked for the plan no longer exists."
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
            await plan(ctx, row)
    except (Invalid, NotFound) as refused:
        row.status = JobStatus.error
        row.notes = refused.detail if hasattr(refused, "detail") else str(refused)
        row.finished = utcnow()
        return {"error": row.notes}
    row.status = JobStatus.complete
    row.finished = utcnow()
    return {"primary_run": str(row.primary_run_id) if row.primary_run_id else None}


async def plan(ctx: MesContext, row: CreateRuns) -> None:
    session = ctx.session
    piece_ids = [uuid.UUID(p) for p in row.pieces]
    pieces = {
        p.id: p for p in (await session.scalars(select(Piece).where(Piece.id.in_(piece_ids))))
    }
    prints = list(
        (
            await session.scalars(
                select(Print)
                .where(
                    Print.piece_id.in_(piece_ids),
                    Print.status.in_([R.created, R.error]),
                    Print.run_id.is_(None),
                    Print.remanufactured_to_id.is_(None),
                )
                .order_by(Print.piece_id, Print.process_step_position)
            )
        ).all()
    )
    steps = {
        s.id: s
        for s in await session.scalars(
            select(ProcessStep).where(ProcessStep.id.in_({p.process_step_id for p in prints}))
        )
    }
    by_piece: dict[uuid.UUID, list[Print]] = defaultdict(list)
    for p in prints:
        if p.process_step_id in steps:
            by_piece[p.piece_id].append(p)
    where = await station(session, row.primary_workstation_kind, row.primary_workstation_id)
    assert where is not None  # checked on POST; a machine deleted since cascades its runs
    operation = KIND_OPERATION[row.primary_workstation_kind]
    unfitted: list[uuid.UUID] = []
    first: dict[uuid.UUID, Print] = {}
    for piece_id in piece_ids:
        todo = by_piece.get(piece_id)
        if not todo or step_type(steps[todo[0].process_step_id]) != (  # type: ignore[index]
            operation,
            where.type_id,
        ):
            unfitted.append(piece_id)
        else:
            first[piece_id] = todo[0]
    groups, too_big = await _primary_groups(ctx, row, where, operation, pieces, list(first))
    unfitted.extend(too_big)
    new = [
        runs.NewRun(
            _run_body(row, name=row.run_name, duration=row.primary_run_duration),
            [first[p] for p in group],
            machine=where.id,
        )
        for group in groups
    ]
    # Later steps: batched per workstation type, in the order the pieces reach them; a piece's
    # previous group is the index of the run it was in at its previous step.
    previous = {p: i for i, g in enumerate(groups) for p in g}
    later: dict[tuple[int, Operation, uuid.UUID], list[Print]] = defaultdict(list)
    for piece_id in (p for g in groups for p in g):
        for p in by_piece[piece_id][1:]:
            op, type_id = step_type(steps[p.process_step_id])  # type: ignore[index]
            later[(p.process_step_position, op, type_id)].append(p)
    for (_, op, type_id), step_prints in sorted(later.items(), key=lambda kv: kv[0][0]):
        strategy, parts = await _batching_of(session, op, type_id)
        infos = [
            batching.PieceInfo(
                id=str(p.piece_id),
                order_id=str(pieces[p.piece_id].order_id),
                line_item_id=str(p.line_item_id),
                previous_group=str(previous[p.piece_id]),
            )
            for p in step_prints
        ]
        by_id = {str(p.piece_id): p for p in step_prints}
        for batch in batching.batch(strategy, infos, number_of_parts=parts):
            for member in batch:
                previous[uuid.UUID(member)] = len(new)
            new.append(runs.NewRun(_run_body(row), [by_id[i] for i in batch]))
    made = await runs.create_runs(ctx, new, planned=True)
    for run in made:
        run.planned_by_id = row.id
    row.primary_run_id = made[0].id if groups else None
    row.resulting_runs = [str(r.id) for r in made]
    row.unfitted_pieces = [str(p) for p in unfitted]


async def _primary_groups(
    ctx: MesContext,
    row: CreateRuns,
    where: Any,
    operation: Operation,
    pieces: dict[uuid.UUID, Piece],
    candidates: list[uuid.UUID],
) -> tuple[list[list[uuid.UUID]], list[uuid.UUID]]:
    """The pieces of each primary run, and those that fit none."""
    if not candidates:
        return [], []
    if operation != Operation.printing:
        infos = [
            batching.PieceInfo(
                id=str(p),
                order_id=str(pieces[p].order_id),
                line_item_id=str(pieces[p].line_item_id),
                previous_group=None,
            )
            for p in candidates
        ]
        batches = batching.batch(
            where.batching_strategy, infos, number_of_parts=where.number_of_parts
        )
        return [[uuid.UUID(i) for i in g] for g in batches], []
    plate = packing.Plate.from_build_volume(
        where.build_volume, where.build_plate_shape, where.min_packing_distance
    )
    if not row.do_build_volume_check or plate is None:
        return [candidates], []
    sizes = await _model_sizes(ctx.session, [pieces[p].line_item_id for p in candidates])
    items: list[packing.Item] = []
    unsized: list[uuid.UUID] = []
    for p in candidates:
        size = sizes.get(pieces[p].line_item_id)
        if size is None:
            unsized.append(p)
        else:
            items.append(packing.Item(str(p), *size))
    packed = packing.pack(plate, items)
    problems = packing.check(plate, packed, items)
    assert not problems, problems  # the packer's own guarantee, checked on every plan
    groups = [[uuid.UUID(pl.item_id) for pl in placed] for placed in packed.plates if placed]
    return groups, [*unsized, *(uuid.UUID(i) for i in packed.unfitted)]


async def _model_sizes(
    session: AsyncSession, line_item_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[float, float, float]]:
    """The bounding box (mm) of each line item's measured model."""
    out: dict[uuid.UUID, tuple[float, float, float]] = {}
    rows = await session.execute(
        select(LineItem.id, Model.size)
        .join(Model, Model.id == LineItem.model_id)
        .where(LineItem.id.in_(set(line_item_ids)))
    )
    for item_id, size in rows:
        if isinstance(size, dict) and all(
            isinstance(size.get(k), (int, float)) and size[k] > 0 for k in ("x", "y", "z")
        ):
            out[item_id] = (float(size["x"]), float(size["y"]), float(size["z"]))
    return out


async def _batching_of(
    session: AsyncSession, operation: Operation, type_id: uuid.UUID
) -> tuple[str | None, int | None]:
    model: Any = PostProcessorType if operation == Operation.post_processing else Shipping
    kind = await session.get(model, type_id)
    if kind is None:
        return None, None
    return kind.batching_strategy, kind.number_of_parts


def _run_body(row: CreateRuns, *, name: str | None = None, duration: int | None = None) -> Any:
    body: dict[str, Any] = {
        "bureau": f"/mes/bureau/{row.workspace_id}/",
        "priority": row.priority,
        "pieces_locked": row.locked,
    }
    if name:
        body["name"] = name
    if duration is not None:
        body["estimated_duration"] = duration
    return body


jobs.register(JOB_KIND, handle)
