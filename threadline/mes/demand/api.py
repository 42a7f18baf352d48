"""Routes of the MES demand room, mounted under /mes by threadline/mes/api.py.

Field updates are served generically (:func:`threadline.mes.resources.mount`); creating an order
or a line item (pieces and prints follow), clones and a line item's delete are routes of their
own because they write more than one row.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from threadline.errors import Invalid
from threadline.mes.auth import mes_context
from threadline.mes.demand import intake, resources, service
from threadline.mes.demand.models import OrderQuote, Piece, Print
from threadline.mes.face import MesContext, created, json_body, no_content
from threadline.mes.files.api import mount_content
from threadline.mes.resources import add_route, cleanup_deleted, delete_resource, get_row, mount
from threadline.perf import bulk_request

# Orders make pieces and prints by the ten thousand and pages hold up to 1,000 of them: every
# route of the room runs with the cyclic collector paused (threadline/perf.py).
router = APIRouter(dependencies=[Depends(bulk_request, scope="function")])


async def create_order(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """Create an order, with its line items inline (objects) or by URI."""
    order_id = await intake.create_order(ctx, await json_body(request))
    return created(ctx.uri("order", order_id))


async def clone_order(uuid: str, ctx: MesContext = Depends(mes_context)) -> Response:
    """Copy an order and its line items (pieces and prints made anew)."""
    order = await get_row(ctx, resources.order, uuid)
    return created(ctx.uri("order", await intake.clone_order(ctx, order)))


async def create_line_item(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """Create a line item; its pieces and prints follow."""
    line_item_id = await intake.create_line_item(ctx, await json_body(request))
    return created(ctx.uri("line-item", line_item_id))


async def clone_line_item(
    uuid: str, request: Request, ctx: MesContext = Depends(mes_context)
) -> Response:
    """Copy a line item into its order with ``quantity`` pieces."""
    row = await get_row(ctx, resources.line_item, uuid)
    body = await json_body(request)
    unknown = sorted(set(body) - {"quantity"})
    if unknown:
        raise Invalid(f"Unknown field: {', '.join(unknown)}.", code="UNKNOWN_FIELD")
    new = await intake.clone_line_item(ctx, row, body.get("quantity"))
    return created(ctx.uri("line-item", new))


async def delete_line_item(uuid: str, ctx: MesContext = Depends(mes_context)) -> Response:
    """Delete a line item (refused when one of its prints is in a run)."""
    row = await get_row(ctx, resources.line_item, uuid)
    ctx.require(row.workspace_id, resources.line_item.write_role)
    if await service.prints_in_run(ctx.session, [row.id]):
        raise Invalid(
            "An line-item with prints that are associated with a run cannot be deleted",
            code="PRINTS_IN_RUN",
        )
    order_id = row.order_id
    for owned in (
        select(Print.id).where(Print.line_item_id == row.id),
        select(Piece.id).where(Piece.line_item_id == row.id),
    ):
        await cleanup_deleted(ctx, owned)
    await ctx.session.execute(Print.__table__.delete().where(Print.line_item_id == row.id))  # type: ignore[attr-defined]
    await delete_resource(ctx, resources.line_item, row)
    if order_id is not None:
        await service.refresh_orders(ctx.session, [order_id])
    return no_content()


for resource in (
    resources.order,
    resources.product,
    resources.line_item,
    resources.piece,
    resources.print_,
    resources.order_quote,
):
    mount(router, resource)
# The quote's rendered document, through the signed link of its ``content``
mount_content(router, "order-quote", OrderQuote)

for path, handler, method, name in (
    ("/order/", create_order, "POST", "mes.order.post"),
    ("/order/{uuid}/clone/", clone_order, "POST", "mes.order.clone"),
    ("/line-item/", create_line_item, "POST", "mes.line-item.post"),
    ("/line-item/{uuid}/clone/", clone_line_item, "POST", "mes.line-item.clone"),
    ("/line-item/{uuid}/", delete_line_item, "DELETE", "mes.line-item.delete"),
):
    kind = path.split("/")[1]
    add_route(
        router,
        path,
        handler,
        [method],
        tags=[f"mes: {kind}"],
        summary=(handler.__doc__ or "").strip(),
        name=name,
    )
