"""Rules of the demand room that other rooms call, and the state machines' guards and effects.

- The process room asks whether a workflow is processing or in use, and repoints line items
  from one workflow to another (``/workflow/{uuid}/replace/``).
- Status changes go through :func:`move_line_items` / :func:`move_pieces` / :func:`move_order`,
  which read the tables of :mod:`threadline.mes.demand.states`, check each edge's guard and run
  its side effect; the runs of the next issue call them with ``who="system"``.
- An order's status is the aggregate of its line items' (mes-api-reference.txt ``/order/``:
  "When an order has all line items printing, the status is printing. When all line items are
  complete, the order is complete."), refreshed set-based by :func:`refresh_orders`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.errors import Invalid
from threadline.mes.demand import pieces as piece_rows
from threadline.mes.demand import states
from threadline.mes.demand.models import (
    LineItem,
    LineItemStatus,
    Order,
    OrderStatus,
    Piece,
    Print,
    PrintStatus,
    Product,
)
from threadline.mes.demand.models import PieceStatus as P
from threadline.mes.demand.states import Who
from threadline.mes.face import MesContext

L = LineItemStatus

# --- what the process room asks -------------------------------------------------------------


async def workflow_is_processing(session: AsyncSession, workflow_id: uuid.UUID) -> bool:
    """A line item in production (confirmed … shipping) or a live piece follows the workflow:
    then it may not change ("The requested workflow is attached to line items that are
    processing.", 409, mes-api-reference.txt ``/workflow/``)."""
    in_line_items = exists().where(
        LineItem.workflow_id == workflow_id,
        LineItem.status.in_(states.LINE_ITEM_PROCESSING),
    )
    in_pieces = exists().where(
        Piece.workflow_id == workflow_id,
        Piece.status.notin_([P.new, *states.PIECE_DONE]),
    )
    return bool(await session.scalar(select(in_line_items | in_pieces)))


async def workflow_in_use(session: AsyncSession, workflow_id: uuid.UUID) -> bool:
    """Any line item or piece names the workflow (then it is archived, not deleted); a
    print's workflow is its piece's."""
    used = exists().where(LineItem.workflow_id == workflow_id) | exists().where(
        Piece.workflow_id == workflow_id
    )
    return bool(await session.scalar(select(used)))


async def repoint_workflow(
    ctx: MesContext,
    *,
    source_id: uuid.UUID,
    target_id: uuid.UUID,
    line_item_id: uuid.UUID | None,
) -> None:
    """Move line items still in planning (status <= pending) from ``source`` to ``target``
    (only ``line_item_id`` when given) and re-create their prints from the target's steps
    (``/workflow/{uuid}/replace/``). Line items in production keep their workflow."""
    stmt = select(LineItem).where(
        LineItem.workflow_id == source_id,
        LineItem.status.in_(states.LINE_ITEM_PLANNING),
        LineItem.workspace_id.in_(ctx.bureau_ids),
    )
    if line_item_id is not None:
        stmt = stmt.where(LineItem.id == line_item_id)
    rows = list((await ctx.session.scalars(stmt)).all())
    for row in rows:
        row.workflow_id = target_id
    await ctx.session.flush()  # the pieces' workflow follows the line items' new one
    await piece_rows.recreate_prints(ctx.session, [piece_rows.Planned.of(r) for r in rows])


# --- the digital thread -----------------------------------------------------------------------


@dataclass(frozen=True)
class Build:
    """An open line item building a revision of a native part, with its pieces counted."""

    line_item_id: uuid.UUID
    line_item_name: str | None
    status: str
    quantity: int
    order_id: uuid.UUID | None
    order_name: str | None
    order_status: str | None
    due_date: datetime | None
    part_id: uuid.UUID
    part_number: str
    version_id: uuid.UUID
    revision: str
    open_pieces: int  # pieces not complete, incomplete (scrapped) or cancelled
    pieces: dict[str, int]  # piece status → how many


async def builds_of_parts(
    session: AsyncSession, *, workspace_id: uuid.UUID, part_ids: Collection[uuid.UUID]
) -> list[Build]:
    """The open line items (not complete or cancelled) of the workspace that build a revision of
    any of the native parts, by part number then oldest first, with their pieces counted by
    status: two statements whatever the number of parts, line items or pieces (where-used and
    the part page ask it)."""
    from threadline.catalog.models import Part, PartVersion

    if not part_ids:
        return []
    rows = (
        await session.execute(
            select(LineItem, Order, PartVersion, Part.part_number)
            .join(PartVersion, PartVersion.id == LineItem.part_version_id)
            .join(Part, Part.id == PartVersion.part_id)
            .outerjoin(Order, Order.id == LineItem.order_id)
            .where(
                LineItem.workspace_id == workspace_id,
                PartVersion.part_id.in_(list(part_ids)),
                LineItem.status.notin_(states.LINE_ITEM_DONE),
            )
            .order_by(Part.part_number, LineItem.created_at, LineItem.id)
        )
    ).all()
    if not rows:
        return []
    counts: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for line_item_id, status, number in await session.execute(
        select(Piece.line_item_id, Piece.status, func.count())
        .where(Piece.line_item_id.in_([item.id for item, *_ in rows]))
        .group_by(Piece.line_item_id, Piece.status)
    ):
        counts[line_item_id][str(status)] = number
    return [
        Build(
            line_item_id=item.id,
            line_item_name=item.name,
            status=str(item.status),
            quantity=item.quantity,
            order_id=order.id if order else None,
            order_name=order.name if order else None,
            order_status=str(order.status) if order else None,
            due_date=order.due_date if order else None,
            part_id=version.part_id,
            part_number=part_number,
            version_id=version.id,
            revision=version.revision,
            open_pieces=sum(n for s, n in counts[item.id].items() if P(s) not in states.PIECE_DONE),
            pieces=dict(sorted(counts[item.id].items())),
        )
        for item, order, version, part_number in rows
    ]


# --- guards -------------------------------------------------------------------------------------


async def prints_in_run(session: AsyncSession, line_item_ids: Sequence[uuid.UUID]) -> bool:
    if not line_item_ids:
        return False
    return bool(
        await session.scalar(
            select(exists().where(Print.line_item_id.in_(line_item_ids), Print.run_id.is_not(None)))
        )
    )


async def _prints_in_progress(session: AsyncSession, line_item_ids: Sequence[uuid.UUID]) -> bool:
    if not line_item_ids:
        return False
    return bool(
        await session.scalar(
            select(
                exists().where(
                    Print.line_item_id.in_(line_item_ids),
                    Print.status == PrintStatus.in_progress,
                )
            )
        )
    )


async def check_confirmable(session: AsyncSession, items: Sequence[LineItem]) -> None:
    """A line item goes to production with a workflow, with a model or a product that needs
    none, and, when its order requires a quote, once that quote is approved."""
    orders = {i.order_id for i in items if i.order_id is not None}
    quote_blocked: set[uuid.UUID] = set()
    if orders:
        quote_blocked = set(
            await session.scalars(
                select(Order.id).where(
                    Order.id.in_(orders),
                    Order.quote_required.is_(True),
                    Order.quote_approved.is_(False),
                )
            )
        )
    products = {i.product_id for i in items if i.product_id is not None}
    no_upload = (
        set(
            await session.scalars(
                select(Product.id).where(
                    Product.id.in_(products), Product.no_model_upload.is_(True)
                )
            )
        )
        if products
        else set()
    )
    for item in items:
        label = f"line-item {item.id}"
        if item.order_id in quote_blocked:
            raise Invalid(
                "If an order quote are enabled, the parent order's quote must be accepted "
                "before child line item status is set to confirmed or equivalent status.",
                code="QUOTE_NOT_APPROVED",
                line_item=str(item.id),
            )
        if item.workflow_id is None:
            raise Invalid(
                f"A {label} needs a workflow before it is confirmed.", code="WORKFLOW_REQUIRED"
            )
        if item.model_id is None and item.product_id not in no_upload:
            raise Invalid(
                f"A {label} needs a model before it is confirmed (or a product with "
                "no_model_upload set to True).",
                code="MODEL_REQUIRED",
            )


async def _guard(session: AsyncSession, name: str, items: Sequence[LineItem]) -> None:
    ids = [i.id for i in items]
    if name == "line_item_confirmable":
        await check_confirmable(session, items)
    elif name == "noprints_in_run" and await prints_in_run(session, ids):
        raise Invalid(
            "A line-item with prints in a run cannot be taken back; remove the prints from "
            "their runs first.",
            code="PRINTS_IN_RUN",
        )
    elif name == "no_prints_in_progress" and await _prints_in_progress(session, ids):
        raise Invalid(
            "A line-item with prints in progress cannot be cancelled; finish or stop the "
            "runs first.",
            code="PRINTS_IN_PROGRESS",
        )


# --- moving statuses ----------------------------------------------------------------------------

_PIECE_EFFECTS: dict[str, tuple[list[P], P]] = {
    "confirm_pieces": ([P.new], P.confirmed),
    "unconfirm_pieces": ([P.confirmed], P.new),
    "cancel_pieces": ([s for s in P if s not in states.PIECE_DONE], P.cancelled),
}


async def move_line_items(
    session: AsyncSession, items: Sequence[LineItem], target: str, who: Who
) -> None:
    """Move each line item to ``target`` along its edge (400 if one has none), check the
    guards for all at once, apply the side effects set-based, then refresh their orders."""
    moving = [i for i in items if i.status != target]
    by_edge: dict[states.Edge, list[LineItem]] = defaultdict(list)
    for item in moving:
        by_edge[states.edge("line-item", item.status, target, who)].append(item)
    for e, group in by_edge.items():
        if e.guard:
            await _guard(session, e.guard, group)
    for item in moving:
        item.status = LineItemStatus(target)
    for e, group in by_edge.items():
        if e.effect in _PIECE_EFFECTS:
            sources, piece_target = _PIECE_EFFECTS[e.effect]
            await _set_pieces(session, [i.id for i in group], sources, piece_target)
    await session.flush()  # the aggregate below reads the new statuses
    await refresh_orders(session, {i.order_id for i in moving if i.order_id is not None})


async def _set_pieces(
    session: AsyncSession, line_item_ids: list[uuid.UUID], sources: list[P], target: P
) -> None:
    """A line item's transition carried to its pieces (system edges of the piece table)."""
    for chunk in piece_rows._chunks(line_item_ids):
        await session.execute(
            update(Piece)
            .where(Piece.line_item_id.in_(chunk), Piece.status.in_(sources))
            .values(status=target)
            .execution_options(synchronize_session=False)
        )
    if target == P.cancelled:
        for chunk in piece_rows._chunks(line_item_ids):
            await session.execute(
                update(Print)
                .where(
                    Print.line_item_id.in_(chunk),
                    Print.status.in_([PrintStatus.created, PrintStatus.queued, PrintStatus.error]),
                )
                .values(status=PrintStatus.cancelled)
                .execution_options(synchronize_session=False)
            )


async def move_pieces(session: AsyncSession, rows: Sequence[Piece], target: str, who: Who) -> None:
    """Move pieces along the piece table; cancelling one cancels its open prints."""
    for row in rows:
        if row.status == target:
            continue
        e = states.edge("piece", row.status, target, who)
        if e.guard == "piece_not_in_progress" and row.status in (
            P.printing,
            P.post_processing,
            P.shipping,
        ):
            raise Invalid(
                "A piece in progress cannot be cancelled; finish or stop its run first.",
                code="PIECE_IN_PROGRESS",
            )
        row.status = P(target)
    cancelled = [r.id for r in rows if r.status == P.cancelled]
    if cancelled:
        await session.execute(
            update(Print)
            .where(
                Print.piece_id.in_(cancelled),
                Print.status.in_([PrintStatus.created, PrintStatus.queued, PrintStatus.error]),
            )
            .values(status=PrintStatus.cancelled)
            .execution_options(synchronize_session=False)
        )


async def move_order(ctx: MesContext, order: Order, target: str) -> None:
    """A user's change of an order's status: confirm, take back or cancel its line items
    (the order's edges; its other statuses follow from the line items)."""
    if order.status == target:
        return
    e = states.edge("order", order.status, target, "user")
    items = list(
        (await ctx.session.scalars(select(LineItem).where(LineItem.order_id == order.id))).all()
    )
    if e.effect == "confirm_line_items":
        open_items = [i for i in items if i.status in (L.new, L.pending, L.error)]
        await move_line_items(ctx.session, open_items, L.confirmed, "user")
    elif e.effect == "unconfirm_line_items":
        await move_line_items(
            ctx.session, [i for i in items if i.status == L.confirmed], L.pending, "user"
        )
    elif e.effect == "cancel_line_items":
        live = [i for i in items if i.status not in states.LINE_ITEM_DONE]
        await move_line_items(ctx.session, live, L.cancelled, "user")
    await ctx.session.refresh(order, ["status"])
    if not items or order.status != target:
        order.status = OrderStatus(target)  # an order with no line items holds its own status


# --- the order's aggregate status ---------------------------------------------------------------

_PLANNING_ORDER = [L.new, L.calculating_estimates, L.pending, L.in_preparation, L.confirmed]
_PRODUCTION = {L.printing, L.post_processing, L.shipping, L.complete}


def aggregate(statuses: Iterable[str]) -> OrderStatus | None:
    """The order status of line items at ``statuses`` (None: no line items, keep its own).

    All cancelled → cancelled; the rest all complete → complete; any error → error; all at one
    status → that status; production mixed with anything → processing; otherwise the least
    advanced planning status (an order is as far along as its slowest line item).
    """
    seen = {LineItemStatus(s) for s in statuses}
    if not seen:
        return None
    if seen == {L.cancelled}:
        return OrderStatus.cancelled
    seen.discard(L.cancelled)
    if L.error in seen:
        return OrderStatus.error
    if len(seen) == 1:
        return OrderStatus(next(iter(seen)).value)
    if seen & _PRODUCTION:
        return OrderStatus.processing
    return OrderStatus(next(s for s in _PLANNING_ORDER if s in seen).value)


async def refresh_orders(session: AsyncSession, order_ids: Iterable[uuid.UUID]) -> None:
    """Recompute the status of these orders from their line items: one grouped read, and an
    UPDATE per distinct resulting status."""
    ids = sorted(set(order_ids))
    if not ids:
        return
    grouped: dict[uuid.UUID, set[str]] = defaultdict(set)
    for chunk in piece_rows._chunks(ids):
        rows = await session.execute(
            select(LineItem.order_id, LineItem.status)
            .where(LineItem.order_id.in_(chunk))
            .group_by(LineItem.order_id, LineItem.status)
        )
        for owner, line_status in rows:
            if owner is not None:
                grouped[owner].add(line_status)
    by_status: dict[OrderStatus, list[uuid.UUID]] = defaultdict(list)
    for order_id in ids:
        aggregated = aggregate(grouped.get(order_id, ()))
        if aggregated is not None:
            by_status[aggregated].append(order_id)
    for status, chunk_ids in by_status.items():
        await session.execute(
            update(Order)
            .where(Order.id.in_(chunk_ids), Order.status != status)
            .values(status=status)
            .execution_options(synchronize_session="fetch")
        )
