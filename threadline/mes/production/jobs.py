"""Jobs and serials of the production-BOM face: a job is an MES line item, a serial is one of
its pieces with a serial number (DESIGN.md "Production BOM face"). Nothing here is a second copy
of an MES rule: a job is created by the MES order intake (order, line item, pieces, audit), its
quantity changes through the MES line-item update, and a serial's status moves along the piece
state machine (:mod:`threadline.mes.demand.states`) one edge at a time.
"""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from collections.abc import Sequence

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from threadline.audit import service as audit
from threadline.auth.models import Role, Workspace
from threadline.catalog.models import ApprovalStatus, Part, PartVersion
from threadline.db import table
from threadline.errors import Conflict, Invalid, NotFound
from threadline.mes import resources as mes_resources
from threadline.mes.demand import intake, resources, service, states
from threadline.mes.demand.models import LineItem, Order, Piece
from threadline.mes.demand.models import PieceStatus as P
from threadline.mes.face import MesContext
from threadline.mes.production.models import ProductionJob
from threadline.mes.production.schemas import JobCreate, JobUpdate, SerialCounts, SerialStatus
from threadline.pagination import PageParams, paginate

READ, WRITE = Role.viewer, Role.engineer
# The audit entity of what the face keeps beside a job's line item (its part type).
JOB_ENTITY = "production_job"

# A serial's status is its piece's, as docs/production-bom.md tables it. Each serial status
# stands for the piece statuses listed; PATCH moves the piece to the nearest of them.
SERIAL_STATUSES: dict[SerialStatus, tuple[P, ...]] = {
    "pending": (P.new, P.confirmed, P.queued_for_printing),
    "in_progress": (
        P.printing,
        P.queued_for_post_processing,
        P.post_processing,
        P.queued_for_shipping,
        P.shipping,
        P.error,
    ),
    "completed": (P.complete,),
    "scrapped": (P.incomplete, P.cancelled),
}
SERIAL_OF: dict[P, SerialStatus] = {p: s for s, ps in SERIAL_STATUSES.items() for p in ps}


# --- workspaces -------------------------------------------------------------------------------


async def resolve_workspace(ctx: MesContext, raw: str | None, minimum: Role = READ) -> uuid.UUID:
    """The workspace ``workspaceId`` names (an id or a name), else the caller's only one.

    A workspace the caller is not a member of is a 404, as if it did not exist."""
    if raw is None or not raw.strip():
        if len(ctx.roles) == 1:
            workspace_id = next(iter(ctx.roles))
            ctx.require(workspace_id, minimum)
            return workspace_id
        if not ctx.roles:
            raise Invalid("You are not a member of any workspace.", code="NO_WORKSPACE")
        raise Invalid(
            "You belong to several workspaces: name one in workspaceId (its id or name).",
            code="WORKSPACE_REQUIRED",
        )
    raw = raw.strip()
    try:
        named: uuid.UUID | None = uuid.UUID(raw)
    except ValueError:
        named = await ctx.session.scalar(select(Workspace.id).where(Workspace.name == raw))
    if named is None or named not in ctx.roles:
        raise NotFound(f"Workspace {raw!r} was not found.", code="WORKSPACE_NOT_FOUND")
    ctx.require(named, minimum)
    return named


def job_not_found(job_id: object) -> NotFound:
    return NotFound(f"Job {job_id} was not found.", code="JOB_NOT_FOUND")


# --- jobs -------------------------------------------------------------------------------------


async def _part_version(ctx: MesContext, workspace_id: uuid.UUID, part_id: uuid.UUID) -> str | None:
    """The MES ``part_version`` URI of the part's newest approved revision (else its newest;
    None for a part without revisions); a part of no workspace of the caller's is a 404."""
    row = (
        await ctx.session.execute(
            select(Part.id, PartVersion.id)
            .outerjoin(PartVersion, PartVersion.part_id == Part.id)
            .where(Part.id == part_id, Part.workspace_id == workspace_id)
            .order_by(
                (PartVersion.status == ApprovalStatus.approved).desc(),
                PartVersion.created_at.desc(),
                PartVersion.id.desc(),
            )
            .limit(1)
        )
    ).first()
    if row is None:
        raise NotFound(f"Part {part_id} was not found.", code="PART_NOT_FOUND", field="partId")
    return f"/v1/parts/{part_id}/versions/{row[1]}" if row[1] is not None else None


async def _check_serial_numbers(
    ctx: MesContext, workspace_id: uuid.UUID, numbers: Sequence[str]
) -> None:
    """Serial numbers are unique in a workspace: a taken one is a 409 naming it."""
    taken = set()
    for start in range(0, len(numbers), 5000):
        chunk = list(numbers[start : start + 5000])
        taken |= set(
            await ctx.session.scalars(
                select(Piece.serial_number).where(
                    Piece.workspace_id == workspace_id, Piece.serial_number.in_(chunk)
                )
            )
        )
    if taken:
        first = sorted(str(t) for t in taken)[0]
        raise Conflict(
            f"Serial number {first!r} is already used in this workspace.",
            code="SERIAL_NUMBER_TAKEN",
            serialNumber=first,
        )


def _given_serial_numbers(job_in: JobCreate) -> list[str] | None:
    if job_in.serial_numbers is None:
        return None
    numbers = [n.strip() for n in job_in.serial_numbers]
    if len(numbers) != job_in.quantity:
        raise Invalid(
            f"serialNumbers holds {len(numbers)} numbers for a quantity of {job_in.quantity}; "
            "give one per serial, or none to have them numbered.",
            code="SERIAL_NUMBERS_MISMATCH",
        )
    for index, number in enumerate(numbers):
        if not number or len(number) > 255:
            raise Invalid(
                f"serialNumbers[{index}] must be 1 to 255 characters.", code="INVALID_SERIAL_NUMBER"
            )
    seen: set[str] = set()
    for number in numbers:
        if number in seen:
            raise Invalid(
                f"Serial number {number!r} is given twice.", code="DUPLICATE_SERIAL_NUMBER"
            )
        seen.add(number)
    return numbers


async def _number_serials(
    ctx: MesContext, line_item: LineItem, given: Sequence[str] | None = None
) -> None:
    """Give the job's pieces without a serial number one: ``given`` in copy order, else
    ``SN-<order code>-<copy>`` (the order's customer id, 8 random hex digits)."""
    rows = (
        await ctx.session.execute(
            select(Piece.id, Piece.copy)
            .where(Piece.line_item_id == line_item.id, Piece.serial_number.is_(None))
            .order_by(Piece.copy)
        )
    ).all()
    if not rows:
        return
    if given is None:
        code = None
        if line_item.order_id is not None:
            code = await ctx.session.scalar(
                select(Order.customer_id).where(Order.id == line_item.order_id)
            )
        prefix = f"SN-{(code or line_item.id.hex[-8:]).upper()}"
        given = [f"{prefix}-{copy:05d}" for _id, copy in rows]
        await _check_serial_numbers(ctx, line_item.workspace_id, given)
    pieces = table(Piece)
    statement = (
        update(pieces)
        .where(pieces.c.id == bindparam("piece_id"))
        .values(serial_number=bindparam("number"))
    )
    try:
        await ctx.session.execute(
            statement,
            [{"piece_id": pid, "number": n} for (pid, _copy), n in zip(rows, given, strict=True)],
        )
    except IntegrityError:  # another request took one of the numbers since the check
        raise Conflict(
            "A serial number was taken by another request; try again.",
            code="SERIAL_NUMBER_TAKEN",
        ) from None


async def create_job(ctx: MesContext, *, job_in: JobCreate) -> LineItem:
    """An MES order holding one line item of ``quantity`` pieces (no model upload: the face
    tracks serials, not print files), numbered as serials; the part's newest approved revision
    when ``partId`` is given."""
    workspace_id = await resolve_workspace(ctx, job_in.workspace_id, WRITE)
    given = _given_serial_numbers(job_in)
    if given:
        await _check_serial_numbers(ctx, workspace_id, given)
    line_item: dict[str, object] = {
        "quantity": job_in.quantity,
        "name": job_in.name,
        "no_model_upload": True,
    }
    if job_in.part_id is not None:
        version = await _part_version(ctx, workspace_id, job_in.part_id)
        if version is not None:
            line_item["part_version"] = version
    order_id = await intake.create_order(
        ctx,
        {
            "bureau": ctx.uri("bureau", workspace_id),
            "name": job_in.name,
            "line_items": [line_item],
        },
    )
    row = await ctx.session.scalar(select(LineItem).where(LineItem.order_id == order_id))
    assert row is not None  # the intake just made it
    await _number_serials(ctx, row, given)
    ctx.session.add(
        ProductionJob(line_item_id=row.id, part_type=job_in.part_type, part_id=job_in.part_id)
    )
    return row


async def get_job(ctx: MesContext, job_id: uuid.UUID) -> LineItem:
    """A job (any MES line item) of one of the caller's workspaces; 404 otherwise."""
    row = await ctx.session.get(LineItem, job_id)
    if row is None or row.workspace_id not in ctx.roles:
        raise job_not_found(job_id)
    return row


def _jobs_statement(workspace_id: uuid.UUID) -> Select[LineItem]:
    return (
        select(LineItem)
        .where(LineItem.workspace_id == workspace_id)
        .order_by(LineItem.created_at.desc(), LineItem.id.desc())
    )


async def list_jobs(
    ctx: MesContext, *, workspace_id: uuid.UUID, params: PageParams
) -> tuple[list[LineItem], int]:
    """One page of the workspace's jobs, newest first."""
    rows, total = await paginate(ctx.session, _jobs_statement(workspace_id), params)
    return [row[0] for row in rows], total


async def update_job(ctx: MesContext, row: LineItem, *, job_in: JobUpdate) -> None:
    """Name and quantity through the MES line-item update (its rules: quantity only while the
    line item is in planning); new pieces are numbered; ``partType`` is the face's own."""
    ctx.require(row.workspace_id, WRITE)
    body: dict[str, object] = {}
    if job_in.name is not None:
        body["name"] = job_in.name
    if job_in.quantity is not None:
        body["quantity"] = job_in.quantity
    if body:
        await mes_resources.update_resource(ctx, resources.line_item, row, body)
        await _number_serials(ctx, row)
    if job_in.part_type is not None:
        extra = await ctx.session.scalar(
            select(ProductionJob).where(ProductionJob.line_item_id == row.id)
        )
        before = extra.part_type if extra else None
        if before == job_in.part_type:
            return
        if extra is None:
            ctx.session.add(ProductionJob(line_item_id=row.id, part_type=job_in.part_type))
        else:
            extra.part_type = job_in.part_type
        audit.record(
            ctx.session,
            actor=ctx.user,
            workspace=await mes_resources.workspace_of(ctx, row.workspace_id),
            entity_type=JOB_ENTITY,
            entity_id=row.id,
            action="update",
            before={"partType": before},
            after={"partType": job_in.part_type},
        )


async def job_details(
    ctx: MesContext, rows: Sequence[LineItem]
) -> tuple[dict[uuid.UUID, ProductionJob], dict[uuid.UUID, SerialCounts]]:
    """The face's extras and the serials counted by status, for a page of jobs: two queries."""
    ids = [r.id for r in rows]
    if not ids:
        return {}, {}
    extras = {
        e.line_item_id: e
        for e in (
            await ctx.session.scalars(
                select(ProductionJob).where(ProductionJob.line_item_id.in_(ids))
            )
        ).all()
    }
    counts: dict[uuid.UUID, SerialCounts] = defaultdict(SerialCounts)
    for line_item_id, status, n in await ctx.session.execute(
        select(Piece.line_item_id, Piece.status, func.count())
        .where(Piece.line_item_id.in_(ids), Piece.serial_number.is_not(None))
        .group_by(Piece.line_item_id, Piece.status)
    ):
        tally = counts[line_item_id]
        tally.total += n
        serial = SERIAL_OF[P(status)]
        setattr(tally, serial, getattr(tally, serial) + n)
    return extras, counts


# --- serials ------------------------------------------------------------------------------------


def serial_not_found(serial_id: object) -> NotFound:
    return NotFound(f"Serial {serial_id} was not found.", code="SERIAL_NOT_FOUND")


async def list_serials(
    ctx: MesContext,
    *,
    workspace_id: uuid.UUID,
    params: PageParams,
    job_id: uuid.UUID | None = None,
    status: SerialStatus | None = None,
) -> tuple[list[Piece], int]:
    """One page of the workspace's serials (of one job, at one status), in job and copy order."""
    stmt = select(Piece).where(Piece.workspace_id == workspace_id, Piece.serial_number.is_not(None))
    if job_id is not None:
        stmt = stmt.where(Piece.line_item_id == job_id)
    if status is not None:
        stmt = stmt.where(Piece.status.in_(SERIAL_STATUSES[status]))
    stmt = stmt.order_by(Piece.created_at, Piece.line_item_id, Piece.copy)
    rows, total = await paginate(ctx.session, stmt, params)
    return [row[0] for row in rows], total


async def get_serial(ctx: MesContext, serial_id: uuid.UUID) -> Piece:
    """A serial of one of the caller's workspaces; 404 otherwise (a piece without a number too)."""
    row = await ctx.session.get(Piece, serial_id)
    if row is None or row.workspace_id not in ctx.roles or row.serial_number is None:
        raise serial_not_found(serial_id)
    return row


def path_to(source: P, status: SerialStatus) -> list[P]:
    """The shortest walk along the piece table's edges from ``source`` to a piece status that
    ``status`` stands for (edges in table order break ties), never through ``error`` (a failure
    is the floor's to report); empty when ``source`` is one; 400 when no walk leads there."""
    wanted = SERIAL_STATUSES[status]
    if source in wanted:
        return []
    came_from: dict[P, P] = {}
    queue = deque([source])
    while queue:
        here = queue.popleft()
        for target in states.targets("piece", here, "system"):
            step = P(target)
            if step in came_from or step in (source, P.error):
                continue
            came_from[step] = here
            if step in wanted:
                walk: list[P] = [step]
                while came_from[walk[-1]] != source:
                    walk.append(came_from[walk[-1]])
                return walk[::-1]
            queue.append(step)
    raise Invalid(
        states.NOT_ALLOWED,
        code="STATUS_TRANSITION_NOT_ALLOWED",
        source=SERIAL_OF[source],
        target=status,
    )


async def set_serial_status(ctx: MesContext, row: Piece, status: SerialStatus) -> None:
    """Move the serial's piece to the nearest piece status its serial status stands for, one
    edge of the piece table at a time (the edges a run would take), and audit the change."""
    ctx.require(row.workspace_id, WRITE)
    before = row.status
    for step in path_to(P(row.status), status):
        await service.move_pieces(ctx.session, [row], step, "system")
    if row.status != before:
        workspace = await mes_resources.workspace_of(ctx, row.workspace_id)
        mes_resources.record(
            ctx,
            resources.piece,
            workspace,
            row.id,
            "update",
            {"status": str(before), "serial_status": SERIAL_OF[P(before)]},
            {"status": str(row.status), "serial_status": status},
        )
