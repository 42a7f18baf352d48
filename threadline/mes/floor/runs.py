"""Runs on the floor: making one from prints, changing its status, and what each change does to
its prints, pieces, line items and orders (mes-api-reference.txt ``/run/``; mes-digest 3 F).

- :func:`create_run` checks the prints with the reference's messages, writes the run through the
  declarative resource (threadline/mes/floor/resources.py) and puts the prints in it.
- :func:`move` walks the run's state machine (threadline/mes/floor/states.py). ``in-progress``
  opens the run's actuals and each piece's, ``complete`` closes them and moves every print and
  piece to its next step; the pieces' statuses follow the demand room's piece table
  (threadline/mes/demand/states.py, ``who="system"``) and the line items follow their pieces
  (:func:`follow_pieces`), the orders their line items.
- A run waits in its workstation's queue at ``queue_position``; :func:`requeue` moves it.

Every status change is audited: one record per run, per print and per piece that changed, with
the status before and after, so the live stream shows the floor as it moves.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from threadline.audit import service as audit
from threadline.auth.models import Role
from threadline.db import insert_rows, iso, new_id, table, utcnow
from threadline.errors import Conflict, Invalid, NotFound
from threadline.mes.demand import service as demand
from threadline.mes.demand import states as demand_states
from threadline.mes.demand.models import LineItem, LineItemStatus, Piece, PieceStatus, Print
from threadline.mes.demand.models import PrintStatus as R
from threadline.mes.face import MesContext, parse_uri
from threadline.mes.floor import states
from threadline.mes.floor.models import Operation, PieceActual, Run, RunActual, RunStatus, Shipment
from threadline.mes.floor.workstations import (
    MACHINE_COLUMN,
    MACHINE_KIND,
    QUEUED_FOR,
    TYPE_COLUMN,
    WORKING_AT,
    run_machine,
    run_type,
    station,
    step_type,
)
from threadline.mes.process.models import ProcessStep
from threadline.mes.resources import REGISTRY, Values, create_resources, workspace_of

S = RunStatus
P = PieceStatus

# The reference's messages (mes-api-reference.txt ``/run/``, 400).
LINE_ITEMS_NOT_PRODUCING = (
    "The requested prints do not have their associated line_items in either confirmed or "
    "printing state."
)
MIXED_PROCESS_TYPES = (
    "The requested prints do not have same process types belonging to process steps."
)
PREVIOUS_STEPS_OPEN = (
    "All the previous steps for the order should be completed before we can process these prints."
)
MIXED_MODELS = "Run cannot consist of pieces with models and without models at the same time."
BUSY = "The system is busy printing. Please end the current process first."
QUEUE_NOT_ALLOWED = "The queue modification is not allowed at this time."
QUEUE_BAD_POSITION = "Invalid position specified for queue modification."


# --- the prints of a run ------------------------------------------------------------------------


@dataclass
class Batch:
    """Prints checked to go into one run, with what they belong to."""

    prints: list[Print]
    pieces: dict[uuid.UUID, Piece]
    operation: Operation
    type_id: uuid.UUID


def parse_prints(raw: Any) -> list[uuid.UUID]:
    if not isinstance(raw, list) or not raw:
        raise Invalid("The field prints is required.", code="FIELD_REQUIRED", field="prints")
    if len(raw) > 10_000:
        raise Invalid("A run holds at most 10000 prints.", code="INVALID_FIELD", field="prints")
    ids = [parse_uri(v, kinds=("print",), field_name="prints") for v in raw]
    return list(dict.fromkeys(ids))


async def load_prints(
    session: AsyncSession, workspace_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[Print]:
    """The prints ``ids`` of the bureau, in the order given; 404 if one is not there."""
    rows = {
        p.id: p
        for p in (
            await session.scalars(
                select(Print).where(Print.id.in_(ids), Print.workspace_id == workspace_id)
            )
        ).all()
    }
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFound(
            "The requested print cannot be found.", code="RESOURCE_NOT_FOUND", field="prints"
        )
    return [rows[i] for i in ids]


@dataclass
class PrintFacts:
    """What the checks of prints going into runs read, loaded once for the prints of any number
    of runs (four queries)."""

    line_items: dict[uuid.UUID, LineItem]
    steps: dict[uuid.UUID, ProcessStep]
    # each piece's prints not done yet: (position, print id, in a run already)
    open_prints: dict[uuid.UUID, list[tuple[int, uuid.UUID, bool]]]
    pieces: dict[uuid.UUID, Piece]


async def load_print_facts(session: AsyncSession, prints: Sequence[Print]) -> PrintFacts:
    line_items = {
        li.id: li
        for li in (
            await session.scalars(
                select(LineItem).where(LineItem.id.in_({p.line_item_id for p in prints}))
            )
        ).all()
    }
    steps = {
        s.id: s
        for s in (
            await session.scalars(
                select(ProcessStep).where(ProcessStep.id.in_({p.process_step_id for p in prints}))
            )
        ).all()
    }
    piece_ids = {p.piece_id for p in prints}
    open_prints: dict[uuid.UUID, list[tuple[int, uuid.UUID, bool]]] = defaultdict(list)
    for piece_id, print_id, position, in_run in await session.execute(
        select(
            Print.piece_id, Print.id, Print.process_step_position, Print.run_id.is_not(None)
        ).where(
            Print.piece_id.in_(piece_ids),
            Print.status.notin_([R.complete, R.cancelled]),
            Print.remanufactured_to_id.is_(None),
        )
    ):
        open_prints[piece_id].append((position, print_id, bool(in_run)))
    pieces = {
        piece.id: piece
        for piece in (await session.scalars(select(Piece).where(Piece.id.in_(piece_ids)))).all()
    }
    return PrintFacts(line_items, steps, open_prints, pieces)


def check_batch(
    facts: PrintFacts,
    prints: Sequence[Print],
    *,
    run_id: uuid.UUID | None = None,
    planned: frozenset[uuid.UUID] | None = None,
) -> Batch:
    """The reference's checks for the prints of one run, on facts loaded beforehand.

    ``planned``: the prints the assisted planner puts into runs in this one request (every
    step's runs at once), so an earlier step may still be open as long as it is in a run
    already or among them."""
    for p in prints:
        if p.run_id is not None and p.run_id != run_id:
            raise Invalid(
                f"The print {p.id} is already in a run.", code="PRINT_IN_RUN", print=str(p.id)
            )
        if p.status not in (R.created, R.queued, R.error):
            raise Invalid(
                f"The print {p.id} is {p.status}: only waiting prints go into a run.",
                code="PRINT_NOT_WAITING",
                print=str(p.id),
            )
    line_items = [facts.line_items[li] for li in {p.line_item_id for p in prints}]
    if any(li.status not in demand_states.LINE_ITEM_PROCESSING for li in line_items):
        raise Invalid(LINE_ITEMS_NOT_PRODUCING, code="LINE_ITEMS_NOT_PRODUCING")
    if len({li.model_id is None for li in line_items}) > 1:
        raise Invalid(MIXED_MODELS, code="RUN_MIXED_MODELS")
    steps = facts.steps
    kinds = {step_type(steps[p.process_step_id]) for p in prints if p.process_step_id in steps}
    if len(kinds) != 1 or any(p.process_step_id not in steps for p in prints):
        raise Invalid(MIXED_PROCESS_TYPES, code="RUN_MIXED_PROCESS_TYPES")
    for p in prints:
        for position, print_id, in_run in facts.open_prints.get(p.piece_id, ()):
            waits = planned is None or not (in_run or print_id in planned)
            if position < p.process_step_position and waits:
                raise Invalid(PREVIOUS_STEPS_OPEN, code="PREVIOUS_STEPS_OPEN")
    operation, type_id = next(iter(kinds))
    pieces = {p.piece_id: facts.pieces[p.piece_id] for p in prints}
    return Batch(list(prints), pieces, operation, type_id)


async def check_prints(
    session: AsyncSession,
    prints: Sequence[Print],
    *,
    run_id: uuid.UUID | None = None,
    planned: bool = False,
) -> Batch:
    """The reference's checks for prints going into one run (four queries for any number)."""
    facts = await load_print_facts(session, prints)
    return check_batch(
        facts, prints, run_id=run_id, planned=frozenset(p.id for p in prints) if planned else None
    )


# --- audit of status changes --------------------------------------------------------------------


class Journal:
    """Status changes of runs, prints and pieces in one request, audited together at the end."""

    def __init__(self, ctx: MesContext) -> None:
        self.ctx = ctx
        self.changes: dict[tuple[str, uuid.UUID], tuple[uuid.UUID, Values, Values]] = {}

    def note(self, kind: str, row: Any, field_name: str, before: Any, after: Any) -> None:
        if before == after:
            return
        key = (kind, row.id)
        _, old, new = self.changes.get(key, (row.workspace_id, {}, {}))
        old.setdefault(field_name, _plain(before))
        new[field_name] = _plain(after)
        self.changes[key] = (row.workspace_id, old, new)

    async def flush(self) -> None:
        """One audit record per changed row, before and after of the fields that changed."""
        by_workspace: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for (kind, row_id), (workspace_id, before, after) in self.changes.items():
            changed = sorted(k for k in after if before.get(k) != after[k])
            if changed:
                by_workspace[workspace_id].append(
                    (
                        f"mes.{kind}",
                        row_id,
                        "update",
                        {k: before[k] for k in changed},
                        {k: after[k] for k in changed},
                    )
                )
        for workspace_id, changes in by_workspace.items():
            workspace = await workspace_of(self.ctx, workspace_id)
            audit.record_many(
                self.ctx.session, actor=self.ctx.user, workspace=workspace, changes=changes
            )
        self.changes.clear()


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str):  # str enums too: JSON writes their value
        return value
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value.value if hasattr(value, "value") else value


def set_status(journal: Journal, kind: str, row: Any, target: Any) -> None:
    journal.note(kind, row, "status", row.status, target)
    row.status = target


async def move_pieces(journal: Journal, pieces: Iterable[Piece], target: str) -> None:
    """Pieces along the demand room's piece table (system edges), audited."""
    rows = [p for p in pieces if p.status != target]
    before = {p.id: p.status for p in rows}
    await demand.move_pieces(journal.ctx.session, rows, target, "system")
    for p in rows:
        journal.note("piece", p, "status", before[p.id], p.status)


# --- creating -----------------------------------------------------------------------------------


def run_resource() -> Any:
    return REGISTRY["run"]


@dataclass
class NewRun:
    """One run to make: its POST body without ``prints``, its prints (loaded), and the exact
    machine the planner chose for it, if any."""

    body: dict[str, Any]
    prints: list[Print]
    machine: uuid.UUID | None = None


async def create_run(
    ctx: MesContext,
    body: dict[str, Any],
    *,
    planned: bool = False,
    machine: uuid.UUID | None = None,
) -> Run:
    """POST /run/: the prints checked, the run written, the prints put in it. The planner
    passes ``planned`` (see :func:`check_batch`) and the exact ``machine`` it chose."""
    body = dict(body)
    print_ids = parse_prints(body.pop("prints", None))
    workspace_id = (
        parse_uri(body["bureau"], kinds=("bureau",), field_name="bureau")
        if body.get("bureau")
        else ctx.default_bureau()
    )
    ctx.require(workspace_id, Role.engineer)
    prints = await load_prints(ctx.session, workspace_id, print_ids)
    return (await create_runs(ctx, [NewRun(body, prints, machine)], planned=planned))[0]


async def create_runs(
    ctx: MesContext, new: Sequence[NewRun], *, planned: bool = False
) -> list[Run]:
    """Runs made together (one POST, or every run of an assisted plan): each run's prints
    checked as the reference says, the runs written through the run resource, the prints put
    in them, a shipment opened with each shipping run — a fixed number of statements for any
    number of runs and prints."""
    every = [p for n in new for p in n.prints]
    placing = frozenset(p.id for p in every)
    if len(placing) != len(every):
        twice = next(p for p in every if sum(q.id == p.id for q in every) > 1)
        raise Invalid(
            f"The print {twice.id} is already in a run.", code="PRINT_IN_RUN", print=str(twice.id)
        )
    facts = await load_print_facts(ctx.session, every)
    items: list[tuple[dict[str, Any], Values | None]] = []
    batches: list[Batch] = []
    for n in new:
        body = dict(n.body)
        body.pop("force", None)
        body.pop("status", None)  # a new run's status is the system's: queued or calculated
        batch = check_batch(facts, n.prints, planned=placing if planned else None)
        operation = body.get("operation")
        if operation is not None and operation != batch.operation:
            raise Invalid(
                f"The operation {operation} does not match the prints' process step "
                f"({batch.operation.value}).",
                code="RUN_OPERATION_MISMATCH",
                field="operation",
            )
        body["operation"] = batch.operation.value
        if batch.operation == Operation.shipping:
            body.pop("shipping", None)  # a shipping run's workstation is its prints' type
        system: Values = {TYPE_COLUMN[batch.operation]: batch.type_id}
        if n.machine is not None:
            system[MACHINE_COLUMN[batch.operation]] = n.machine
        items.append((body, system))
        batches.append(batch)
    rows: list[Run] = await create_resources(ctx, run_resource(), items)
    journal = Journal(ctx)
    placed: list[dict[str, Any]] = []
    shipments: list[dict[str, Any]] = []
    for row, batch in zip(rows, batches, strict=True):
        placed.extend(_place_prints(journal, row, batch))
        await _wait_for(journal, row, batch)
        if row.operation == Operation.shipping:
            shipments.append(_shipment_of(ctx, row, batch))
    await _write_prints(ctx.session, placed)
    await insert_rows(ctx.session, Shipment, shipments)
    await ctx.session.flush()
    await journal.flush()
    return rows


async def put_prints(journal: Journal, run: Run, batch: Batch) -> None:
    """The prints of ``batch`` join ``run``; their pieces wait for its operation."""
    await _write_prints(journal.ctx.session, _place_prints(journal, run, batch))
    await _wait_for(journal, run, batch)
    await journal.ctx.session.flush()


def _place_prints(journal: Journal, run: Run, batch: Batch) -> list[dict[str, Any]]:
    """The prints of ``batch`` in ``run`` (queued; a printing run's also on its printer), as
    the loaded rows now read and as :func:`_write_prints` writes them: the ORM would write
    thousands of print rows one by one."""
    now = utcnow()
    printer = run.printer_id if run.operation == Operation.printing else None
    out: list[dict[str, Any]] = []
    for p in batch.prints:
        journal.note("print", p, "run", p.run_id and str(p.run_id), str(run.id))
        journal.note("print", p, "status", p.status, R.queued)
        values = {"run_id": run.id, "status": R.queued, "updated_at": now}
        if printer is not None:
            values["printer_id"] = printer
        for key, value in values.items():
            set_committed_value(p, key, value)
        out.append({"_id": p.id, **values})
    return out


async def _write_prints(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """One executemany UPDATE per set of columns (prints taking a printer, the others)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(row))].append(row)
    prints = table(Print)
    connection = await session.connection()
    for keys, group in groups.items():
        statement = (
            update(prints)
            .where(prints.c.id == bindparam("_id"))
            .values({key: bindparam(key) for key in keys if key != "_id"})
        )
        await connection.execute(statement, group)


async def _wait_for(journal: Journal, run: Run, batch: Batch) -> None:
    """The pieces of ``batch`` still to start wait for ``run``'s operation."""
    await move_pieces(
        journal,
        [pc for pc in batch.pieces.values() if pc.status in (P.confirmed, P.error)],
        QUEUED_FOR[run.operation],
    )


async def release_prints(journal: Journal, run: Run, prints: Sequence[Print]) -> None:
    """Prints leave a run that has not started: they wait again for a run of their step."""
    session = journal.ctx.session
    for p in prints:
        journal.note("print", p, "run", str(run.id), None)
        p.run_id = None
        if p.status == R.queued:
            set_status(journal, "print", p, R.created)
    if run.operation == Operation.printing:
        pieces = await _pieces_of(session, [p.piece_id for p in prints])
        await move_pieces(
            journal, [pc for pc in pieces if pc.status == P.queued_for_printing], P.confirmed
        )
    await session.flush()


def _shipment_of(ctx: MesContext, run: Run, batch: Batch) -> dict[str, Any]:
    """The shipment a shipping run comes with (mes-api-reference.txt ``/shipment/``: "tied
    ... for run (when it will be created)"): one order's run names the order."""
    orders = {pc.order_id for pc in batch.pieces.values()}
    return {
        "id": new_id(),
        "workspace_id": run.workspace_id,
        "run_id": run.id,
        "order_id": next(iter(orders)) if len(orders) == 1 else None,
        "name": f"Shipment {run.id}",
        "user_id": ctx.user.id,
    }


# --- queues -------------------------------------------------------------------------------------


def _queue_of(run: Run) -> Any:
    column = getattr(Run, MACHINE_COLUMN[run.operation])
    return (
        select(Run)
        .where(
            column == run_machine(run),
            Run.operation == run.operation,
            Run.status.in_(states.QUEUED),
            Run.queue_position.is_not(None),
        )
        .order_by(Run.queue_position, Run.created_at, Run.id)
    )


async def queue_end(session: AsyncSession, operation: Operation, machine_id: uuid.UUID) -> int:
    column = getattr(Run, MACHINE_COLUMN[operation])
    last = await session.scalar(
        select(func.max(Run.queue_position)).where(
            column == machine_id, Run.operation == operation, Run.status.in_(states.QUEUED)
        )
    )
    return (last or 0) + 1


async def requeue(
    ctx: MesContext, run: Run, relative_to: Run | None, position: str = "before"
) -> None:
    """POST /run-queue/: ``run`` to the front of its queue, or before/after ``relative_to``."""
    if run.status not in states.QUEUED or run_machine(run) is None or run.queue_position is None:
        raise Invalid(QUEUE_NOT_ALLOWED, code="QUEUE_NOT_ALLOWED")
    if position not in ("before", "after"):
        raise Invalid(QUEUE_BAD_POSITION, code="QUEUE_BAD_POSITION")
    queue = list((await ctx.session.scalars(_queue_of(run))).all())
    if relative_to is not None and (relative_to.id == run.id or relative_to not in queue):
        raise Invalid(QUEUE_BAD_POSITION, code="QUEUE_BAD_POSITION")
    queue.remove(run)
    if relative_to is None:
        queue.insert(0, run)
    else:
        at = queue.index(relative_to)
        queue.insert(at if position == "before" else at + 1, run)
    journal = Journal(ctx)
    for place, row in enumerate(queue, start=1):
        journal.note("run", row, "workstation_queue_position", row.queue_position, place)
        row.queue_position = place
    await journal.flush()


async def machine_runs(ctx: MesContext, kind: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """The shop room's run source: each machine's queue (in order) and its runs in progress,
    one query for a page of machines."""
    from threadline.mes.shop.machines import MachineRuns

    operation = {v: k for k, v in MACHINE_KIND.items()}[kind]
    column = getattr(Run, MACHINE_COLUMN[operation])
    out: dict[uuid.UUID, MachineRuns] = defaultdict(MachineRuns)
    if not ids:
        return out
    rows = await ctx.session.execute(
        select(column, Run.id, Run.status)
        .where(
            column.in_(ids),
            Run.operation == operation,
            Run.status.in_(states.QUEUED | states.IN_PROGRESS),
        )
        .order_by(column, Run.queue_position, Run.created_at, Run.id)
    )
    for machine_id, run_id, status in rows:
        target = (
            out[machine_id].in_progress if status in states.IN_PROGRESS else out[machine_id].queue
        )
        target.append(run_id)
    return out


# --- status changes -----------------------------------------------------------------------------

# (session, bureau, print ids) → print id → why it may not complete. Registered by the quality
# room (required work instructions not reported, a threshold error awaiting review).
CompletionCheck = Callable[[AsyncSession, uuid.UUID, list[uuid.UUID]], Awaitable[dict[Any, str]]]
_completion_checks: list[CompletionCheck] = []


def register_completion_check(check: CompletionCheck) -> None:
    if check not in _completion_checks:
        _completion_checks.append(check)


async def _prints_of(session: AsyncSession, run: Run) -> list[Print]:
    return list(
        (
            await session.scalars(
                select(Print).where(Print.run_id == run.id).order_by(Print.line_item_id)
            )
        ).all()
    )


async def _pieces_of(session: AsyncSession, ids: Iterable[uuid.UUID]) -> list[Piece]:
    wanted = set(ids)
    if not wanted:
        return []
    return list((await session.scalars(select(Piece).where(Piece.id.in_(wanted)))).all())


async def assign(ctx: MesContext, run: Run, values: Values, journal: Journal) -> None:
    """A waiting run gets (or loses) its exact workstation: it joins the end of that queue."""
    column = MACHINE_COLUMN[run.operation]
    if column not in values or values[column] == getattr(run, column):
        return
    if run.status not in states.QUEUED and run.status != S.error:
        raise Invalid(
            "The workstation of a run that has started cannot change.",
            code="RUN_STARTED",
        )
    machine = values[column]
    if machine is None:
        values["queue_position"] = None
        if run.status in states.QUEUED:
            set_status(journal, "run", run, S.calculated)
        return
    values["queue_position"] = await queue_end(ctx.session, run.operation, machine)
    if run.status == S.calculated:
        set_status(journal, "run", run, S.queued)


async def move(ctx: MesContext, run: Run, target: str, *, force: bool) -> None:
    """PUT /run/{uuid}/ ``{"status": target}``: one edge of the run's table and its effects."""
    try:
        wanted = S(target)
    except ValueError:
        raise Invalid(
            f"The value of status must be one of {', '.join(s.value for s in S)}.",
            code="INVALID_FIELD",
            field="status",
        ) from None
    if wanted == run.status:
        if wanted in (S.in_progress, S.complete):  # someone else just did it
            raise Conflict(states.NOT_ALLOWED, code="RUN_TRANSITION_NOT_ALLOWED")
        return
    states.edge(run.status, wanted, force=force)
    journal = Journal(ctx)
    source = run.status
    # Claim the change: of two operators moving the same run at once, the second waits on
    # the row and then finds it moved (409), whatever it read before.
    claimed = await ctx.session.execute(
        update(Run)
        .where(Run.id == run.id, Run.status == source)
        .values(status=wanted)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(states.NOT_ALLOWED, code="RUN_TRANSITION_NOT_ALLOWED")
    if wanted in (S.queued, S.queued_work_ready) and source in (S.calculated, S.error):
        if run_machine(run) is None:
            raise Invalid(
                "A run needs its workstation before it is queued.",
                code="RUN_WORKSTATION_REQUIRED",
            )
        if run.queue_position is None:
            run.queue_position = await queue_end(ctx.session, run.operation, run_machine(run))  # type: ignore[arg-type]
        if source == S.error:
            await _retry(journal, run)
    elif wanted == S.calculated:
        run.queue_position = None
    elif wanted == S.in_progress:
        await _start(journal, run, resuming=source == S.paused)
    elif wanted == S.complete:
        if source in states.QUEUED:
            await _start(journal, run, resuming=False, check_capacity=False)
        await _complete(journal, run, force=force)
    elif wanted == S.error:
        await _fail(journal, run)
    elif wanted == S.cancelled:
        await _cancel(journal, run)
    set_status(journal, "run", run, wanted)
    await ctx.session.flush()
    await journal.flush()


async def _start(
    journal: Journal, run: Run, *, resuming: bool, check_capacity: bool = True
) -> None:
    session = journal.ctx.session
    machine = run_machine(run)
    if machine is None:
        raise Invalid(
            "A run needs its workstation before it starts.", code="RUN_WORKSTATION_REQUIRED"
        )
    if check_capacity:
        where = station_for(run)
        capacity = where.in_progress_max if where is not None else None
        column = getattr(Run, MACHINE_COLUMN[run.operation])
        busy = await session.scalar(
            select(func.count())
            .select_from(Run)
            .where(
                column == machine,
                Run.operation == run.operation,
                Run.status.in_(states.IN_PROGRESS),
                Run.id != run.id,
            )
        )
        if capacity is not None and (busy or 0) >= capacity:
            raise Invalid(BUSY, code="WORKSTATION_BUSY")
    if resuming:
        return
    now = utcnow()
    previous = await session.scalar(
        select(RunActual.id)
        .where(RunActual.run_id == run.id)
        .order_by(RunActual.start_in_progress_time.desc())
        .limit(1)
    )
    session.add(
        RunActual(
            workspace_id=run.workspace_id,
            run_id=run.id,
            previous_id=previous,
            start_in_progress_time=now,
            user_id=journal.ctx.user.id,
        )
    )
    prints = await _prints_of(session, run)
    for p in prints:
        if p.status == R.queued:
            set_status(journal, "print", p, R.in_progress)
    pieces = await _pieces_of(session, [p.piece_id for p in prints])
    await move_pieces(
        journal,
        [pc for pc in pieces if pc.status == QUEUED_FOR[run.operation]],
        WORKING_AT[run.operation],
    )
    await _begin_piece_actuals(session, run, prints, now)
    await session.flush()
    await follow_pieces(journal, {pc.line_item_id for pc in pieces})


def station_for(run: Run) -> Any:
    """Set by :func:`load_station` before a status change reads the workstation."""
    return getattr(run, "_station", None)


async def load_station(session: AsyncSession, run: Run) -> None:
    machine = run_machine(run)
    found = await station(session, MACHINE_KIND[run.operation], machine) if machine else None
    run._station = found  # type: ignore[attr-defined]


async def _begin_piece_actuals(
    session: AsyncSession, run: Run, prints: Sequence[Print], now: datetime
) -> None:
    """Each piece's actuals gain this step (made on its first run)."""
    by_piece = {p.piece_id: p for p in prints}
    existing = {
        a.piece_id: a
        for a in (
            await session.scalars(
                select(PieceActual).where(PieceActual.piece_id.in_(list(by_piece)))
            )
        ).all()
    }
    for piece_id, p in by_piece.items():
        step = {
            "run": str(run.id),
            "print": str(p.id),
            "process_step": str(p.process_step_id) if p.process_step_id else None,
            "operation": run.operation.value,
            "start": iso(now),
            "end": None,
        }
        actual = existing.get(piece_id)
        if actual is None:
            session.add(
                PieceActual(
                    workspace_id=run.workspace_id,
                    piece_id=piece_id,
                    start_in_progress_time=now,
                    per_step_details=[step],
                )
            )
        else:
            actual.per_step_details = [*(actual.per_step_details or []), step]


async def _end_piece_actuals(
    session: AsyncSession, run: Run, done: dict[uuid.UUID, bool], now: datetime
) -> None:
    """Close this run's step in each piece's actuals; a piece whose last step it was ends."""
    rows = (
        await session.scalars(select(PieceActual).where(PieceActual.piece_id.in_(list(done))))
    ).all()
    for actual in rows:
        details = []
        for step in actual.per_step_details or []:
            if step.get("run") == str(run.id) and step.get("end") is None:
                step = {**step, "end": iso(now)}
            details.append(step)
        actual.per_step_details = details
        if done.get(actual.piece_id):
            actual.end_in_progress_time = now


async def _close_actual(session: AsyncSession, run: Run, now: datetime) -> None:
    await session.execute(
        update(RunActual)
        .where(RunActual.run_id == run.id, RunActual.end_in_progress_time.is_(None))
        .values(end_in_progress_time=now)
        .execution_options(synchronize_session="fetch")
    )


async def _complete(journal: Journal, run: Run, *, force: bool) -> None:
    """Every print of the run is done; each piece goes to the status of its next step."""
    session = journal.ctx.session
    prints = await _prints_of(session, run)
    live = [p for p in prints if p.status == R.in_progress]
    if not force:
        for check in _completion_checks:
            blocked = await check(session, run.workspace_id, [p.id for p in live])
            if blocked:
                raise Invalid(next(iter(blocked.values())), code="RUN_COMPLETION_BLOCKED")
    now = utcnow()
    await _close_actual(session, run, now)
    for p in live:
        set_status(journal, "print", p, R.complete)
    await session.flush()
    pieces = await _pieces_of(session, [p.piece_id for p in live])
    next_step = await next_steps(session, [pc.id for pc in pieces])
    by_target: dict[str, list[Piece]] = defaultdict(list)
    for pc in pieces:
        if pc.status != WORKING_AT[run.operation]:
            continue
        following = next_step.get(pc.id)
        if following is None:
            by_target[P.complete].append(pc)
        else:
            position, operation = following
            journal.note("piece", pc, "current_step_position", pc.current_step_position, position)
            pc.current_step_position = position
            by_target[QUEUED_FOR[operation]].append(pc)
    for target, group in by_target.items():
        await move_pieces(journal, group, target)
    await _end_piece_actuals(session, run, {pc.id: pc.status == P.complete for pc in pieces}, now)
    run.queue_position = None
    if run.operation == Operation.shipping:
        await session.execute(
            update(Shipment)
            .where(Shipment.run_id == run.id, Shipment.actual_shipment_date.is_(None))
            .values(actual_shipment_date=now, status="in_transit")
            .execution_options(synchronize_session="fetch")
        )
    await session.flush()
    await follow_pieces(journal, {pc.line_item_id for pc in pieces})


async def next_steps(
    session: AsyncSession, piece_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, Operation]]:
    """Each piece's next open print after its completed ones: its position and operation."""
    if not piece_ids:
        return {}
    rows = await session.execute(
        select(Print.piece_id, Print.process_step_position, ProcessStep)
        .join(ProcessStep, ProcessStep.id == Print.process_step_id)
        .where(
            Print.piece_id.in_(piece_ids),
            Print.status.in_([R.created, R.queued, R.error]),
            Print.remanufactured_to_id.is_(None),
        )
        .order_by(Print.piece_id, Print.process_step_position)
    )
    out: dict[uuid.UUID, tuple[int, Operation]] = {}
    for piece_id, position, step in rows:
        if piece_id not in out:
            out[piece_id] = (position, step_type(step)[0])
    return out


async def _fail(journal: Journal, run: Run) -> None:
    """The run failed: its prints and their pieces are in error until a run transformation
    (remanufacture, redo, scrap) says what becomes of them, or the run is retried."""
    session = journal.ctx.session
    await _close_actual(session, run, utcnow())
    prints = await _prints_of(session, run)
    for p in prints:
        if p.status in (R.queued, R.in_progress):
            set_status(journal, "print", p, R.error)
    pieces = await _pieces_of(session, [p.piece_id for p in prints])
    await move_pieces(
        journal,
        [
            pc
            for pc in pieces
            if pc.status in (QUEUED_FOR[run.operation], WORKING_AT[run.operation])
        ],
        P.error,
    )


async def _retry(journal: Journal, run: Run) -> None:
    session = journal.ctx.session
    prints = await _prints_of(session, run)
    for p in prints:
        if p.status == R.error:
            set_status(journal, "print", p, R.queued)
    pieces = await _pieces_of(session, [p.piece_id for p in prints])
    await move_pieces(
        journal, [pc for pc in pieces if pc.status == P.error], QUEUED_FOR[run.operation]
    )


async def _cancel(journal: Journal, run: Run) -> None:
    """Not run: waiting prints leave it and wait for another run; a run stopped mid-way
    (forced) leaves its prints in error."""
    session = journal.ctx.session
    if run.status in states.IN_PROGRESS:
        await _fail(journal, run)
    prints = await _prints_of(session, run)
    waiting = [p for p in prints if p.status in (R.queued, R.created)]
    await release_prints(journal, run, waiting)
    run.queue_position = None


# --- line items follow their pieces ---------------------------------------------------------------

# How far along the floor a piece is, and the line item status of each stage.
_STAGE = {
    P.new: 0,
    P.confirmed: 0,
    P.queued_for_printing: 0,
    P.printing: 1,
    P.queued_for_post_processing: 2,
    P.post_processing: 2,
    P.queued_for_shipping: 3,
    P.shipping: 3,
    P.complete: 4,
}
_LINE_ITEM_AT = {
    0: LineItemStatus.confirmed,
    1: LineItemStatus.printing,
    2: LineItemStatus.post_processing,
    3: LineItemStatus.shipping,
    4: LineItemStatus.complete,
}
_LINE_ITEM_STAGE = {status: stage for stage, status in _LINE_ITEM_AT.items()}


def line_item_stage(statuses: Iterable[str]) -> int | None:
    """The stage of a line item whose pieces are at ``statuses``: the least advanced live
    piece's, but ``printing`` as soon as any piece has started; None when none is live."""
    stages = [_STAGE[P(s)] for s in statuses if P(s) in _STAGE]
    if not stages:
        return None
    least = min(stages)
    return max(least, 1) if max(stages) >= 1 else least


async def follow_pieces(journal: Journal, line_item_ids: Iterable[uuid.UUID]) -> None:
    """Line items move forward to their pieces' stage (a walk of system edges), and their
    orders' statuses are refreshed (mes-api-reference.txt ``/order/`` aggregation)."""
    session = journal.ctx.session
    ids = sorted(set(line_item_ids))
    if not ids:
        return
    grouped: dict[uuid.UUID, set[str]] = defaultdict(set)
    for owner, status in await session.execute(
        select(Piece.line_item_id, Piece.status)
        .where(Piece.line_item_id.in_(ids))
        .group_by(Piece.line_item_id, Piece.status)
    ):
        grouped[owner].add(status)
    items = (await session.scalars(select(LineItem).where(LineItem.id.in_(ids)))).all()
    for item in items:
        stage = line_item_stage(grouped.get(item.id, ()))
        current = _LINE_ITEM_STAGE.get(item.status)
        if stage is None or current is None or stage <= current:
            continue
        before = item.status
        path = [_LINE_ITEM_AT[stage]]
        if current == 0 and stage > 1:
            path.insert(0, LineItemStatus.printing)  # confirmed → printing → further
        for target in path:
            await demand.move_line_items(session, [item], target, "system")
        journal.note("line-item", item, "status", before, item.status)


# --- deleting -------------------------------------------------------------------------------------


async def before_delete(ctx: MesContext, run: Run) -> None:
    """A run that started keeps its record; a waiting one releases its prints first."""
    if run.status in states.IN_PROGRESS or run.status == S.complete:
        raise Invalid(
            "A run that is in progress or complete cannot be deleted.",
            code="RUN_NOT_DELETABLE",
        )
    journal = Journal(ctx)
    prints = await _prints_of(ctx.session, run)
    await release_prints(journal, run, [p for p in prints if p.status in (R.queued, R.created)])
    await journal.flush()


async def replace_prints(ctx: MesContext, run: Run, raw: Any) -> None:
    """PUT ``prints`` of a waiting run: prints left out leave it, new ones join it (not when
    ``pieces_locked``: "When locked, prints cannot be added to this run")."""
    ids = parse_prints(raw)
    if run.status not in states.QUEUED:
        raise Invalid("The prints of a run that has started cannot change.", code="RUN_STARTED")
    session = ctx.session
    current = await _prints_of(session, run)
    current_ids = {p.id for p in current}
    added = [i for i in ids if i not in current_ids]
    if added and run.pieces_locked:
        raise Invalid("When locked, prints cannot be added to this run.", code="RUN_LOCKED")
    batch = await check_prints(
        session, await load_prints(session, run.workspace_id, ids), run_id=run.id
    )
    if batch.operation != run.operation or batch.type_id != run_type(run):
        raise Invalid(MIXED_PROCESS_TYPES, code="RUN_MIXED_PROCESS_TYPES")
    journal = Journal(ctx)
    keep = set(ids)
    await release_prints(journal, run, [p for p in current if p.id not in keep])
    joining = [p for p in batch.prints if p.id in set(added)]
    await put_prints(
        journal,
        run,
        Batch(
            joining,
            {k: v for k, v in batch.pieces.items() if k in {p.piece_id for p in joining}},
            batch.operation,
            batch.type_id,
        ),
    )
    await journal.flush()
