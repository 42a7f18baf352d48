"""Order intake: an order with its line items in one request, a single line item, and clones.

All or nothing: every inline line item is validated before anything is written, and a bad one
is a 400 naming it (``line_items[3]: The value of quantity ...``). Then the writes are
set-based: one INSERT for the order, one each for its products, line items, pieces and prints
(``threadline.db.insert_rows``: ``COPY`` on PostgreSQL), so an order of 1,000 line items x 10
pieces on a 5-step workflow takes the same statements as an order of one.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from threadline.db import insert_rows, new_id, utcnow
from threadline.errors import Invalid, ThreadlineError
from threadline.mes.demand import pieces as piece_rows
from threadline.mes.demand import resources, rules, service
from threadline.mes.demand.models import LineItem, LineItemStatus, Order, Piece, Product
from threadline.mes.face import MesContext, parse_uri
from threadline.mes.resources import (
    Field,
    check_custom_fields,
    check_refs,
    parse_input,
    record,
    snapshot,
    workspace_of,
)

MAX_INLINE = 1000
_ALLOWED_AT_CREATE = {None, LineItemStatus.new.value, LineItemStatus.pending.value}


def _named(index: int, exc: ThreadlineError) -> ThreadlineError:
    """The same error, its detail prefixed with the line item it is about."""
    exc.detail = f"line_items[{index}]: {exc.detail}"
    exc.args = (exc.detail,)
    exc.extra["line_item"] = index
    return exc


def parse_line_item(
    ctx: MesContext, body: Any, workspace_id: uuid.UUID, refs: list[tuple[Field, uuid.UUID]]
) -> dict[str, Any]:
    """One line item's body → column values (references appended to ``refs``)."""
    if not isinstance(body, dict):
        raise Invalid("A line item must be a JSON object or a line-item URI.", code="INVALID_FIELD")
    parsed = parse_input(resources.line_item, body, creating=True)
    values = parsed.values
    if values.pop("workspace_id", workspace_id) != workspace_id:
        raise Invalid("A line item belongs to the bureau of its order.", code="BUREAU_MISMATCH")
    if values.pop("status", None) not in _ALLOWED_AT_CREATE:
        raise Invalid(
            "Provided status transformation is not allowed", code="STATUS_TRANSITION_NOT_ALLOWED"
        )
    rules.line_item_values(values, parsed.refs)
    refs.extend(parsed.refs)
    values.setdefault("additive", None)
    return values


async def _product_orders(
    ctx: MesContext, rows: list[dict[str, Any]]
) -> dict[uuid.UUID, uuid.UUID | None]:
    ids = {v["product_id"] for v in rows if v.get("product_id")}
    if not ids:
        return {}
    found = await ctx.session.execute(
        select(Product.id, Product.order_id).where(Product.id.in_(ids))
    )
    return dict(found.all())


async def insert_line_items(
    ctx: MesContext,
    workspace_id: uuid.UUID,
    rows: list[dict[str, Any]],
    *,
    order_id: uuid.UUID | None,
    make_products: bool,
) -> list[uuid.UUID]:
    """Validated line items in, with a product each where they name none (when
    ``make_products``), then their pieces and prints; returns their ids."""
    await rules.check_line_item(ctx, workspace_id, rows)
    owners = await _product_orders(ctx, rows)
    now = utcnow()
    products: list[dict[str, Any]] = []
    for index, v in enumerate(rows):
        if v.get("product_id") is not None:
            product_order = owners.get(v["product_id"])
            v.setdefault("order_id", order_id or product_order)
            if product_order is not None and v["order_id"] != product_order:
                raise Invalid(
                    f"line_items[{index}]: the product belongs to another order.",
                    code="PRODUCT_ORDER_MISMATCH",
                )
        elif v.get("type", "product") == "product":
            if not make_products:
                raise Invalid(
                    "The field product is required.", code="FIELD_REQUIRED", field="product"
                )
            product_id = new_id()
            products.append(
                {
                    "id": product_id,
                    "workspace_id": workspace_id,
                    "created_at": now,
                    "updated_at": now,
                    "order_id": order_id,
                    "no_model_upload": bool(v.get("no_model_upload")),
                    "user_id": ctx.user.id,
                }
            )
            v["product_id"] = product_id
        if order_id is not None:
            v["order_id"] = order_id
    await insert_rows(ctx.session, Product, products)
    columns = {c.key for c in LineItem.__table__.columns}
    full: list[dict[str, Any]] = []
    for v in rows:
        row: dict[str, Any] = dict.fromkeys(columns)
        row.update(
            {
                "created_at": now,
                "updated_at": now,
                "workspace_id": workspace_id,
                "status": LineItemStatus.new.value,
                "type": "product",
                "priority": 65,
                "autorun": False,
                "no_model_upload": False,
                "is_relevant_estimation": True,
            }
        )
        row.update({k: v for k, v in v.items() if k in columns})
        row["id"] = row["id"] or new_id()
        full.append(row)
    await insert_rows(ctx.session, LineItem, full)
    planned = [
        piece_rows.Planned(
            r["id"],
            workspace_id,
            r["order_id"],
            r["workflow_id"],
            r["model_id"],
            r["name"],
            r["type"],
            r["priority"],
        )
        for r in full
    ]
    await piece_rows.create_pieces(
        ctx.session, [(p, 1, r["quantity"]) for p, r in zip(planned, full, strict=True)]
    )
    workspace = await workspace_of(ctx, workspace_id)
    for r in full:
        record(ctx, resources.line_item, workspace, r["id"], "create", None, _audit(ctx, r))
    return [r["id"] for r in full]


def _audit(ctx: MesContext, row: dict[str, Any]) -> dict[str, Any]:
    class _Row:
        pass

    shadow = _Row()
    shadow.__dict__.update(row)
    return snapshot(ctx, resources.line_item, shadow)


async def create_order(ctx: MesContext, body: dict[str, Any]) -> uuid.UUID:
    """POST ``/order/``: the order, its inline line items and the existing ones it names."""
    raw_items = body.pop("line_items", [])
    if not isinstance(raw_items, list) or len(raw_items) > MAX_INLINE:
        raise Invalid(
            f"The value of line_items must be an array of at most {MAX_INLINE} items.",
            code="INVALID_FIELD",
            field="line_items",
        )
    parsed = parse_input(resources.order, body, creating=True)
    workspace_id = parsed.values.get("workspace_id") or ctx.default_bureau()
    ctx.require(workspace_id, resources.order.write_role)
    parsed.values["workspace_id"] = workspace_id
    rules.order_defaults(ctx, parsed.values)
    await check_custom_fields(ctx, resources.order, workspace_id, parsed.values)
    refs = list(parsed.refs)
    existing: list[uuid.UUID] = []
    inline: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_items):
        try:
            if isinstance(raw, str):
                existing.append(parse_uri(raw, kinds=("line-item",), field_name="line_items"))
            else:
                values = parse_line_item(ctx, raw, workspace_id, refs)
                await check_custom_fields(ctx, resources.line_item, workspace_id, values)
                inline.append(values)
        except ThreadlineError as exc:
            raise _named(index, exc) from None
    rules.check_registered(refs)
    await check_refs(ctx, workspace_id, refs)
    attached = []
    if existing:
        attached = list(
            (
                await ctx.session.scalars(
                    select(LineItem).where(
                        LineItem.id.in_(existing), LineItem.workspace_id == workspace_id
                    )
                )
            ).all()
        )
        missing = set(existing) - {row.id for row in attached}
        if missing:
            raise resources.line_item.not_found()
        if any(row.order_id is not None for row in attached):
            raise Invalid(
                "A line item already belongs to another order.", code="LINE_ITEM_IN_ORDER"
            )
    order = Order(**parsed.values)
    ctx.session.add(order)
    await ctx.session.flush()  # the line items' foreign key points at it
    if inline:
        await insert_line_items(ctx, workspace_id, inline, order_id=order.id, make_products=True)
    if attached:
        await _attach(ctx, order.id, attached)
    workspace = await workspace_of(ctx, workspace_id)
    record(
        ctx,
        resources.order,
        workspace,
        order.id,
        "create",
        None,
        snapshot(ctx, resources.order, order),
    )
    await service.refresh_orders(ctx.session, [order.id])
    return order.id


async def _attach(ctx: MesContext, order_id: uuid.UUID, items: list[LineItem]) -> None:
    ids = [row.id for row in items]
    await ctx.session.execute(
        update(LineItem)
        .where(LineItem.id.in_(ids))
        .values(order_id=order_id)
        .execution_options(synchronize_session="fetch")
    )
    await ctx.session.execute(
        update(Piece)
        .where(Piece.line_item_id.in_(ids))
        .values(order_id=order_id)
        .execution_options(synchronize_session=False)
    )
    products = {row.product_id for row in items if row.product_id}
    if products:
        await ctx.session.execute(
            update(Product)
            .where(Product.id.in_(products), Product.order_id.is_(None))
            .values(order_id=order_id)
            .execution_options(synchronize_session=False)
        )


async def create_line_item(ctx: MesContext, body: dict[str, Any]) -> uuid.UUID:
    """POST ``/line-item/``: one line item (product required for type product), its pieces."""
    workspace_raw = body.get("bureau")
    workspace_id = (
        parse_uri(workspace_raw, kinds=("bureau",), field_name="bureau")
        if workspace_raw
        else ctx.default_bureau()
    )
    ctx.require(workspace_id, resources.line_item.write_role)
    refs: list[tuple[Field, uuid.UUID]] = []
    values = parse_line_item(ctx, dict(body), workspace_id, refs)
    await check_custom_fields(ctx, resources.line_item, workspace_id, values)
    rules.check_registered(refs)
    await check_refs(ctx, workspace_id, refs)
    [line_item_id] = await insert_line_items(
        ctx, workspace_id, [values], order_id=values.get("order_id"), make_products=False
    )
    if values.get("order_id"):
        await service.refresh_orders(ctx.session, [values["order_id"]])
    return line_item_id


_NOT_COPIED = {"id", "created_at", "updated_at", "status", "error"}


def _copy(row: Any, **changes: Any) -> dict[str, Any]:
    columns = row.__table__.columns
    out = {c.key: getattr(row, c.key) for c in columns if c.key not in _NOT_COPIED}
    out.update(changes)
    return out


async def clone_line_item(ctx: MesContext, row: LineItem, quantity: Any) -> uuid.UUID:
    """POST ``/line-item/{uuid}/clone/``: a copy in the same order with its own product and
    ``quantity`` pieces (the original's quantity when none is given)."""
    ctx.require(row.workspace_id, resources.line_item.write_role)
    if quantity is None:
        quantity = row.quantity
    quantity_field = resources.line_item.by_name["quantity"]
    from threadline.mes.resources import coerce

    values = _copy(row, quantity=coerce(quantity_field, quantity), product_id=None)
    values["type"] = str(row.type.value)
    if row.product_id is not None:
        product = await ctx.session.get(Product, row.product_id)
        values["no_model_upload"] = row.no_model_upload or bool(product and product.no_model_upload)
    [new] = await insert_line_items(
        ctx, row.workspace_id, [values], order_id=row.order_id, make_products=True
    )
    if row.order_id:
        await service.refresh_orders(ctx.session, [row.order_id])
    return new


async def clone_order(ctx: MesContext, order: Order) -> uuid.UUID:
    """POST ``/order/{uuid}/clone/``: a new order (status new, customer_id its own) with a copy
    of every line item that is not cancelled, each with its product, pieces and prints."""
    ctx.require(order.workspace_id, resources.order.write_role)
    values = _copy(order, customer_id=None, quote_approved=False)
    rules.order_defaults(ctx, values)
    copy = Order(**values)
    ctx.session.add(copy)
    await ctx.session.flush()  # the copies' foreign key points at it
    items = (
        await ctx.session.scalars(
            select(LineItem)
            .where(LineItem.order_id == order.id, LineItem.status != LineItemStatus.cancelled)
            .order_by(LineItem.created_at, LineItem.id)
        )
    ).all()
    products = {
        p.id: p
        for p in (
            await ctx.session.scalars(
                select(Product).where(Product.id.in_({i.product_id for i in items if i.product_id}))
            )
        ).all()
    }
    rows = []
    for item in items:
        v = _copy(item, product_id=None, order_id=copy.id)
        v["type"] = str(item.type.value)
        product = products.get(item.product_id) if item.product_id else None
        v["no_model_upload"] = item.no_model_upload or bool(product and product.no_model_upload)
        rows.append(v)
    if rows:
        await insert_line_items(ctx, order.workspace_id, rows, order_id=copy.id, make_products=True)
    workspace = await workspace_of(ctx, order.workspace_id)
    record(
        ctx,
        resources.order,
        workspace,
        copy.id,
        "create",
        None,
        snapshot(ctx, resources.order, copy),
    )
    await service.refresh_orders(ctx.session, [copy.id])
    return copy.id
