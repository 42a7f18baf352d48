"""The floor's read-only helpers and the shipment split (mes-api-reference.txt
``/pieces-by-run/``, ``/line-items-by-run/``, ``/run-material/``, the ADD RUN list of line items
with prints available for a new run, ``/shipment/split/``).

Each helper LIST is one query for its page plus one count, whatever the run's size.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import and_, exists, func, select

from threadline.errors import Invalid, NotFound
from threadline.mes.auth import mes_context
from threadline.mes.demand.models import LineItem, Order, Piece, Print
from threadline.mes.demand.models import PieceStatus as P
from threadline.mes.demand.models import PrintStatus as R
from threadline.mes.face import (
    Filter,
    ListQuery,
    MesContext,
    json_body,
    json_response,
    list_response,
    parse_list_query,
    parse_uri,
)
from threadline.mes.floor import runs, states
from threadline.mes.floor.models import Operation, Run, RunActual, RunActualAdditive, Shipment
from threadline.mes.process.models import Workflow
from threadline.mes.resources import REGISTRY, add_route, get_row, render


def _filters(query: ListQuery, allowed: set[str]) -> dict[str, Filter]:
    out = {}
    for flt in query.filters:
        if flt.name not in allowed:
            raise Invalid(f"Unknown filter: {flt.name}.", code="UNKNOWN_FILTER", field=flt.name)
        out[flt.name] = flt
    return out


def _run_filter(ctx: MesContext, flt: Filter | None) -> list[uuid.UUID]:
    if flt is None:
        raise Invalid("The filter run is required.", code="FILTER_REQUIRED", field="run")
    return [parse_uri(v, kinds=("run",), field_name="run") for v in flt.values]


async def _page(ctx: MesContext, stmt: Any, query: ListQuery) -> tuple[int, list[Any]]:
    count = await ctx.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = (await ctx.session.execute(stmt.limit(query.page.limit).offset(query.page.offset))).all()
    return count, list(rows)


async def pieces_by_run(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """The pieces of runs (``filter[run]``), with their line item, order and workflow names;
    ``search`` matches the piece uuid, piece name or line item name."""
    query = parse_list_query(request)
    flt = _filters(query, {"run", "piece_status"})
    stmt = (
        select(
            Print.run_id,
            Piece.id,
            Piece.name,
            Piece.status,
            Piece.workflow_id,
            LineItem.id,
            LineItem.name,
            LineItem.workflow_id,
            Order.name,
            Order.customer_id,
            Workflow.name,
        )
        .join(Piece, Piece.id == Print.piece_id)
        .join(LineItem, LineItem.id == Piece.line_item_id)
        .outerjoin(Order, Order.id == Piece.order_id)
        .outerjoin(Workflow, Workflow.id == Piece.workflow_id)
        .where(
            Print.run_id.in_(_run_filter(ctx, flt.get("run"))),
            Print.workspace_id.in_(ctx.bureau_ids),
        )
        .order_by(Print.run_id, LineItem.name, Piece.copy, Piece.id)
    )
    if "piece_status" in flt:
        stmt = stmt.where(Piece.status.in_(flt["piece_status"].values))
    search = query.params.get("search")
    if search:
        pattern = f"%{search.lower()}%"
        stmt = stmt.where(
            func.lower(Piece.name).like(pattern)
            | func.lower(LineItem.name).like(pattern)
            | (func.lower(func.cast(Piece.id, _text())) == search.lower())
        )
    count, rows = await _page(ctx, stmt, query)
    return list_response(
        [
            {
                "run": ctx.uri("run", run_id),
                "piece": ctx.uri("piece", piece_id),
                "piece_name": piece_name,
                "piece_status": str(status.value if hasattr(status, "value") else status),
                "reworked": piece_workflow != item_workflow,
                "line_item": ctx.uri("line-item", item_id),
                "line_item_name": item_name,
                "order_name": order_name,
                "order_customer_id": customer,
                "workflow_name": workflow_name,
            }
            for (
                run_id,
                piece_id,
                piece_name,
                status,
                piece_workflow,
                item_id,
                item_name,
                item_workflow,
                order_name,
                customer,
                workflow_name,
            ) in rows
        ],
        count,
        query.page,
    )


def _text() -> Any:
    from sqlalchemy import String

    return String(36)


async def line_items_by_run(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """Per run (``filter[run]``) and line item: the pieces the run works on, and the line
    item's quantity (``original_piece_quantity``)."""
    query = parse_list_query(request)
    flt = _filters(query, {"run"})
    stmt = (
        select(
            Print.run_id, LineItem.id, LineItem.quantity, func.count(func.distinct(Print.piece_id))
        )
        .join(LineItem, LineItem.id == Print.line_item_id)
        .where(
            Print.run_id.in_(_run_filter(ctx, flt.get("run"))),
            Print.workspace_id.in_(ctx.bureau_ids),
        )
        .group_by(Print.run_id, LineItem.id, LineItem.quantity)
        .order_by(Print.run_id, LineItem.id)
    )
    count, rows = await _page(ctx, stmt, query)
    return list_response(
        [
            {
                "run": ctx.uri("run", run_id),
                "line_item": ctx.uri("line-item", item_id),
                "original_piece_quantity": quantity,
                "total_piece_quantity": pieces,
            }
            for run_id, item_id, quantity, pieces in rows
        ],
        count,
        query.page,
    )


async def run_material(uuid: str, ctx: MesContext = Depends(mes_context)) -> Response:
    """A printing run's material: estimated (its line items' ``estimates.materials``, per
    piece in the run) against actual (its run-actuals-additive)."""
    run = await get_row(ctx, REGISTRY["run"], uuid)
    if run.operation != Operation.printing:
        raise Invalid(
            "run-material is used in printing only.", code="RUN_NOT_PRINTING", field="run"
        )
    estimated = 0.0
    estimated_support = 0.0
    rows = await ctx.session.execute(
        select(LineItem.estimates, LineItem.quantity, func.count(func.distinct(Print.piece_id)))
        .join(LineItem, LineItem.id == Print.line_item_id)
        .where(Print.run_id == run.id)
        .group_by(LineItem.id, LineItem.estimates, LineItem.quantity)
    )
    for estimates, quantity, pieces in rows:
        materials = (estimates or {}).get("materials") or {}
        share = pieces / quantity if quantity else 0
        estimated += float(materials.get("base") or 0) * share
        estimated_support += float(materials.get("support") or 0) * share
    actual_base, actual_support = (
        await ctx.session.execute(
            select(
                func.coalesce(func.sum(RunActualAdditive.base_material_used), 0.0),
                func.coalesce(func.sum(RunActualAdditive.support_material_used), 0.0),
            )
            .join(RunActual, RunActual.id == RunActualAdditive.run_actual_id)
            .where(RunActual.run_id == run.id)
        )
    ).one()
    return json_response(
        {
            "run": ctx.uri("run", run.id),
            "estimate_base_material_used": round(estimated, 6),
            "actual_base_material_used": float(actual_base or 0),
            "materials": [
                {
                    "type": "base",
                    "estimate": round(estimated, 6),
                    "actual": float(actual_base or 0),
                },
                {
                    "type": "support",
                    "estimate": round(estimated_support, 6),
                    "actual": float(actual_support or 0),
                },
            ],
        }
    )


async def add_run_list(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """The ADD RUN page's list: line items with at least one print without a run and in
    ``created`` status at its piece's current step, each with ``available_quantity`` (the
    pieces that could join a new run now)."""
    query = parse_list_query(request)
    flt = _filters(query, {"available_for_printer", "order"})
    available = (
        select(Print.line_item_id, func.count(func.distinct(Print.piece_id)).label("n"))
        .join(Piece, Piece.id == Print.piece_id)
        .where(
            Print.run_id.is_(None),
            Print.status == R.created,
            Print.workspace_id.in_(ctx.bureau_ids),
            # the print of the piece's current step: a later step waits for this one
            Print.process_step_position == Piece.current_step_position,
        )
        .group_by(Print.line_item_id)
    )
    if "available_for_printer" in flt:
        printer_id = parse_uri(
            flt["available_for_printer"].values[0],
            kinds=("printer",),
            field_name="available_for_printer",
        )
        from threadline.mes.process.models import ProcessStep
        from threadline.mes.shop.models import Printer

        printer_type = (
            select(Printer.printer_type_id).where(Printer.id == printer_id).scalar_subquery()
        )
        available = available.where(
            Print.process_step_id.in_(
                select(ProcessStep.id).where(ProcessStep.printer_type_id == printer_type)
            )
        )
    sub = available.subquery()
    stmt = (
        select(LineItem, sub.c.n)
        .join(sub, sub.c.line_item_id == LineItem.id)
        .where(LineItem.workspace_id.in_(ctx.bureau_ids))
        .order_by(LineItem.priority.desc(), LineItem.created_at, LineItem.id)
    )
    if "order" in flt:
        stmt = stmt.where(
            LineItem.order_id.in_(
                [parse_uri(v, kinds=("order",), field_name="order") for v in flt["order"].values]
            )
        )
    count, rows = await _page(ctx, stmt, query)
    rendered = await render(ctx, REGISTRY["line-item"], [r[0] for r in rows])
    for item, (_, n) in zip(rendered, rows, strict=True):
        item["available_quantity"] = n
    return list_response(rendered, count, query.page)


async def split_shipment(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """Move pieces that are ready to ship into a new shipping run with its own shipment
    (201 ``{run, shipment, message}``), with the reference's preconditions."""
    body = await json_body(request)
    raw = body.get("pieces")
    if not isinstance(raw, list) or not raw:
        raise Invalid("The field pieces is required.", code="FIELD_REQUIRED", field="pieces")
    ids = list(dict.fromkeys(parse_uri(v, kinds=("piece",), field_name="pieces") for v in raw))
    pieces = list(
        (
            await ctx.session.scalars(
                select(Piece).where(Piece.id.in_(ids), Piece.workspace_id.in_(ctx.bureau_ids))
            )
        ).all()
    )
    if len(pieces) != len(ids):
        raise NotFound("The requested piece cannot be found.", code="RESOURCE_NOT_FOUND")
    new_run, new_shipment = await split(ctx, pieces)
    return json_response(
        {
            "run": ctx.uri("run", new_run.id),
            "shipment": ctx.uri("shipment", new_shipment.id),
            "message": f"Split shipping completed successfully. {len(ids)} pieces moved to "
            "fast-track shipping.",
        },
        201,
    )


async def split(ctx: MesContext, pieces: list[Piece]) -> tuple[Run, Shipment]:
    """Pieces ready to ship leave their shipping run for a new one with its own shipment
    (the reference's preconditions, each a 400 with its own code)."""
    ids = [p.id for p in pieces]
    if any(p.status != P.queued_for_shipping for p in pieces):
        raise Invalid(
            "All pieces must be in queued_for_shipping status.", code="SHIPMENT_SPLIT_NOT_READY"
        )
    prints = list(
        (
            await ctx.session.scalars(
                select(Print).where(
                    Print.piece_id.in_(ids),
                    Print.run_id.is_not(None),
                    Print.status.in_([R.queued, R.created]),
                    exists().where(
                        and_(Run.id == Print.run_id, Run.operation == Operation.shipping)
                    ),
                )
            )
        ).all()
    )
    if len({p.piece_id for p in prints}) != len(ids):
        raise Invalid(
            "All pieces must be at the final step position in their workflow.",
            code="SHIPMENT_SPLIT_NOT_FINAL",
        )
    last = dict(
        (
            await ctx.session.execute(
                select(Print.piece_id, func.max(Print.process_step_position))
                .where(Print.piece_id.in_(ids))
                .group_by(Print.piece_id)
            )
        ).all()
    )
    if any(p.process_step_position != last[p.piece_id] for p in prints):
        raise Invalid(
            "All pieces must be at the final step position in their workflow.",
            code="SHIPMENT_SPLIT_NOT_FINAL",
        )
    run_ids = {p.run_id for p in prints}
    if len(run_ids) != 1:
        raise Invalid(
            "All pieces must belong to the same original shipping run.",
            code="SHIPMENT_SPLIT_MIXED_RUNS",
        )
    original = await ctx.session.get(Run, next(iter(run_ids)))
    assert original is not None
    if original.status not in states.QUEUED:
        raise Invalid(
            "The original shipping run has started; it cannot be split.",
            code="SHIPMENT_SPLIT_STARTED",
        )
    if original.shipping_id is None:
        raise Invalid(
            "Original run must have a shipping workstation assigned.",
            code="SHIPMENT_SPLIT_NO_SHIPPING",
        )
    shipment = await ctx.session.scalar(select(Shipment).where(Shipment.run_id == original.id))
    if shipment is None:
        raise Invalid(
            "Original run must have an associated shipment.", code="SHIPMENT_SPLIT_NO_SHIPMENT"
        )
    journal = runs.Journal(ctx)
    await runs.release_prints(journal, original, prints)
    await journal.flush()
    new_run = await runs.create_run(
        ctx,
        {
            "bureau": ctx.uri("bureau", original.workspace_id),
            "prints": [str(p.id) for p in prints],
            "name": f"{original.name or 'Shipping'} (split)",
            "priority": original.priority,
        },
    )
    new_shipment = await ctx.session.scalar(select(Shipment).where(Shipment.run_id == new_run.id))
    assert new_shipment is not None
    for name in (
        "shipping_partner",
        "origin_address",
        "recipient_address",
        "billing_address",
        "currency",
        "estimated_shipment_date",
        "estimated_delivery_date",
    ):
        setattr(new_shipment, name, getattr(shipment, name))
    new_shipment.order_id = shipment.order_id
    await ctx.session.flush()
    return new_run, new_shipment


def mount_routes(router: APIRouter) -> None:
    for path, handler, methods, kind, summary in (
        ("/pieces-by-run/", pieces_by_run, ["GET"], "pieces-by-run", "Pieces of runs"),
        (
            "/line-items-by-run/",
            line_items_by_run,
            ["GET"],
            "line-items-by-run",
            "Line items of runs",
        ),
        (
            "/run-material/{uuid}/",
            run_material,
            ["GET"],
            "run-material",
            "A printing run's material, estimated and actual",
        ),
        (
            "/line-item-with-available-for-run-prints/",
            add_run_list,
            ["GET"],
            "line-item-with-available-for-run-prints",
            "Line items with prints for a new run",
        ),
        ("/shipment/split/", split_shipment, ["POST"], "shipment", "Split a shipment"),
    ):
        add_route(
            router,
            path,
            handler,
            methods,
            tags=[f"mes: {kind}"],
            summary=summary,
            name=f"mes.{kind}.{methods[0].lower()}.{handler.__name__}",
        )
