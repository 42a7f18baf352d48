"""The demand room's :class:`Rules`: what a write of an order, product, line item or piece must
satisfy, and the read-only fields computed a page at a time (one query per page and kind).

Line-item input is shaped by :func:`line_item_values` wherever it comes from (``/line-item/``,
an order's inline ``line_items``, a PUT): ``model`` at the top level or ``additive.model``,
materials in ``additive.materials`` (``base``, ``support``), the native part revision in
``part_version`` (``/v1/parts/{id}/versions/{vid}``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import String, cast, delete, exists, false, literal, select, update
from sqlalchemy.sql.elements import ColumnElement

from threadline.auth.models import User
from threadline.catalog.models import Part, PartVersion
from threadline.errors import Invalid, NotFound
from threadline.mes.demand import pieces as piece_rows
from threadline.mes.demand import service, states
from threadline.mes.demand.models import LineItem, Order, OrderStatus, Piece, Print, Product
from threadline.mes.face import Filter, ListQuery, MesContext, invalid_value, parse_uri
from threadline.mes.resources import (
    REGISTRY,
    Field,
    Links,
    Rules,
    Values,
    cleanup_deleted,
    filter_clause,
    ids_of,
)

MODEL_OR_NO_UPLOAD = (
    "Either supply a model uri, or set no_model_upload to True. You cannot do both, and you "
    "cannot do neither."
)
_PART_VERSION = re.compile(
    r"^(?:.*?)/v1/parts/(?P<part>[0-9a-fA-F-]{32,36})/versions/(?P<version>[0-9a-fA-F-]{32,36})/?$"
)
MATERIAL_FIELD = Field("additive.materials", "uri", to=("material",))
MODEL_FIELD = Field("model", "uri", to=("model",))

# --- line-item input --------------------------------------------------------------------------


def line_item_values(values: Values, refs: list[tuple[Field, uuid.UUID]]) -> None:
    """Lift ``additive.model`` and ``additive.materials`` into columns (adding the references
    to check) and turn ``part_version`` into a revision id; ``additive`` keeps the rest."""
    additive = values.get("additive")
    if isinstance(additive, dict):
        additive = dict(additive)
        if "model" in additive:
            model = additive.pop("model")
            if "model_id" in values and model is not None:
                top = values["model_id"]
                if (
                    top is not None
                    and parse_uri(model, kinds=("model",), field_name="model") != top
                ):
                    raise invalid_value("additive.model", "names another model than model")
            if model is not None:
                values["model_id"] = parse_uri(model, kinds=("model",), field_name="additive.model")
                refs.append((MODEL_FIELD, values["model_id"]))
        materials = additive.pop("materials", None)
        if materials is not None:
            if not isinstance(materials, dict) or set(materials) - {"base", "support"}:
                raise invalid_value("additive.materials", "must be an object of base and support")
            for key in ("base", "support"):
                raw = materials.get(key)
                ref = (
                    parse_uri(raw, kinds=("material",), field_name=f"additive.materials.{key}")
                    if raw is not None
                    else None
                )
                values[f"{key}_material_id"] = ref
                if ref is not None:
                    refs.append((MATERIAL_FIELD, ref))
        values["additive"] = additive or None
    if "part_version_id" in values and values["part_version_id"] is not None:
        match = _PART_VERSION.match(str(values["part_version_id"]).strip())
        if match is None:
            raise invalid_value(
                "part_version", "must be a URI of the form /v1/parts/{id}/versions/{vid}"
            )
        try:
            values["part_version_id"] = uuid.UUID(match["version"])
            values["_part_id"] = uuid.UUID(match["part"])
        except ValueError:
            raise invalid_value("part_version", "names an invalid id") from None


async def check_line_item(ctx: MesContext, workspace_id: uuid.UUID, rows: list[Values]) -> None:
    """Cross-field rules of new or changed line items, checked for all at once: a part
    revision of the same workspace, and a model or no_model_upload (never both)."""
    wanted = {(v["_part_id"], v["part_version_id"]) for v in rows if v.get("_part_id")}
    if wanted:
        found = set(
            await ctx.session.execute(
                select(PartVersion.part_id, PartVersion.id)
                .join(Part, Part.id == PartVersion.part_id)
                .where(
                    PartVersion.id.in_([v for _, v in wanted]), Part.workspace_id == workspace_id
                )
            )
        )
        for part_id, version_id in wanted:
            if (part_id, version_id) not in {tuple(f) for f in found}:
                raise NotFound(
                    "The requested part version cannot be found "
                    f"(part_version: /v1/parts/{part_id}/versions/{version_id}).",
                    code="RESOURCE_NOT_FOUND",
                    field="part_version",
                )
    products = {v["product_id"] for v in rows if v.get("product_id")}
    no_upload: set[uuid.UUID] = set()
    if products:
        no_upload = set(
            await ctx.session.scalars(
                select(Product.id).where(Product.id.in_(products), Product.no_model_upload)
            )
        )
    for v in rows:
        v.pop("_part_id", None)
        skip = bool(v.get("no_model_upload")) or v.get("product_id") in no_upload
        if (v.get("model_id") is not None) == skip:
            raise Invalid(MODEL_OR_NO_UPLOAD, code="MODEL_OR_NO_MODEL_UPLOAD")


def check_registered(refs: list[tuple[Field, uuid.UUID]]) -> None:
    """A reference to a kind no room serves yet is a 404, not a crash."""
    for f, ref in refs:
        kind = f.to[0]
        if kind not in REGISTRY and kind not in ("bureau", "users"):
            raise NotFound(
                f"The requested {kind} cannot be found ({f.name}: /mes/{kind}/{ref}/).",
                code="RESOURCE_NOT_FOUND",
                field=f.name,
            )


# --- orders ---------------------------------------------------------------------------------------

_DELETABLE = {
    OrderStatus.new,
    OrderStatus.calculating_estimates,
    OrderStatus.pending,
    OrderStatus.in_preparation,
    OrderStatus.error,
    OrderStatus.cancelled,
}


def order_defaults(ctx: MesContext, values: Values) -> None:
    """A new order's id, ``customer_id`` ("Defaults to UUID-8"), creator and status.

    An order's id is random (v4), not time-ordered like other rows: the first 8 characters of
    a v7 id are its timestamp, so orders made within a minute would share a customer_id."""
    values.setdefault("id", uuid.uuid4())
    if not values.get("customer_id"):
        values["customer_id"] = str(values["id"])[:8]
    values["user_id"] = ctx.user.id
    status = values.pop("status", None)
    if status not in (None, OrderStatus.new.value):
        raise Invalid(states.NOT_ALLOWED, code="STATUS_TRANSITION_NOT_ALLOWED")


class OrderRules(Rules):
    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        order_defaults(ctx, values)

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        if "status" in values:
            states.edge("order", row.status, values["status"], "user")
            row._status_before = row.status  # after_update moves it along the table

    async def after_update(self, ctx: MesContext, row: Any, changed: set[str]) -> None:
        if "status" in changed:
            target = row.status
            row.status = row._status_before
            await service.move_order(ctx, row, target)

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        if row.status not in _DELETABLE:
            raise Invalid(
                "You cannot delete order which is already confirmed.", code="ORDER_CONFIRMED"
            )
        items = select(LineItem.id).where(LineItem.order_id == row.id)
        in_run = exists().where(Print.line_item_id.in_(items), Print.run_id.is_not(None))
        if await ctx.session.scalar(select(in_run)):
            raise Invalid(
                "An order with prints associated with a run cannot be deleted",
                code="PRINTS_IN_RUN",
            )
        for owned in (
            select(Print.id).where(Print.line_item_id.in_(items)),
            select(Piece.id).where(Piece.order_id == row.id),
            items,
        ):
            await cleanup_deleted(ctx, owned)
        await ctx.session.execute(
            delete(Print)
            .where(Print.line_item_id.in_(items))
            .execution_options(synchronize_session=False)
        )
        for model in (Piece, LineItem):
            await ctx.session.execute(
                model.__table__.delete().where(model.__table__.c.order_id == row.id)  # type: ignore[attr-defined]
            )

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        ids = [r.id for r in rows]
        out: dict[uuid.UUID, Values] = {
            r.id: {
                "line_items": [],
                "is_template": r.template_name is not None,
                "shipping_type": (r.shipping or {}).get("name"),
            }
            for r in rows
        }
        if not ids:
            return out
        items = await ctx.session.execute(
            select(LineItem.order_id, LineItem.id)
            .where(LineItem.order_id.in_(ids))
            .order_by(LineItem.order_id, LineItem.created_at, LineItem.id)
        )
        for owner, item_id in items:
            assert owner is not None  # the WHERE asked for these orders
            out[owner]["line_items"].append(ctx.uri("line-item", item_id))
        totals, _ = await piece_rows.piece_counts(ctx.session, Piece.order_id, ids)
        users = {u for r in rows for u in (r.user_id, r.order_owner_id) if u}
        names = (
            dict(
                (
                    await ctx.session.execute(select(User.id, User.name).where(User.id.in_(users)))
                ).all()
            )
            if users
            else {}
        )
        for r in rows:
            out[r.id]["piece_count"] = totals.get(r.id, 0)
            out[r.id]["created_by"] = names.get(r.user_id)
            out[r.id]["order_owner_name"] = names.get(r.order_owner_id)
        return out


class ProductRules(Rules):
    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        values["user_id"] = ctx.user.id

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        used = exists().where(LineItem.product_id == row.id)
        if await ctx.session.scalar(select(used)):
            raise Invalid(
                "A product with line items cannot be deleted; delete its line items first.",
                code="PRODUCT_IN_USE",
            )


# --- line items ---------------------------------------------------------------------------------


class LineItemRules(Rules):
    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        refs: list[tuple[Field, uuid.UUID]] = []
        line_item_values(values, refs)
        check_registered(refs)
        from threadline.mes.resources import check_refs

        await check_refs(ctx, row.workspace_id, refs)
        planning = row.status in states.LINE_ITEM_PLANNING
        for name, column in (("quantity", "quantity"), ("workflow", "workflow_id")):
            if column in values and values[column] != getattr(row, column) and not planning:
                raise Invalid(
                    f"The {name} of a line-item can only change while its status is new, "
                    "calculating_estimates or pending.",
                    code="LINE_ITEM_IN_PRODUCTION",
                    field=name,
                )
        if {"model_id", "no_model_upload", "part_version_id"} & set(values):
            merged = {
                "model_id": values.get("model_id", row.model_id),
                "no_model_upload": values.get("no_model_upload", row.no_model_upload),
                "product_id": row.product_id,
                "part_version_id": values.get("part_version_id", row.part_version_id),
                "_part_id": values.pop("_part_id", None),
            }
            await check_line_item(ctx, row.workspace_id, [merged])
        if "status" in values:
            states.edge("line-item", row.status, values["status"], "user")
        row._before = {
            "status": row.status,
            "quantity": row.quantity,
            "workflow_id": row.workflow_id,
        }

    async def after_update(self, ctx: MesContext, row: Any, changed: set[str]) -> None:
        before = row._before
        planned = piece_rows.Planned.of(row)
        if "quantity" in changed:
            await piece_rows.resize(ctx.session, planned, before["quantity"], row.quantity)
        if "workflow" in changed:
            await piece_rows.recreate_prints(ctx.session, [planned])
        if "model" in changed or "name" in changed:
            await rename_pieces(ctx, row)
        if "priority" in changed:
            await ctx.session.execute(
                update(Piece)
                .where(Piece.line_item_id == row.id, Piece.status.notin_(states.PIECE_DONE))
                .values(priority=row.priority)
                .execution_options(synchronize_session=False)
            )
        if "status" in changed:
            target = row.status
            row.status = before["status"]
            await service.move_line_items(ctx.session, [row], target, "user")

    def list_clauses(self, ctx: MesContext, query: ListQuery) -> list[ColumnElement[bool]]:
        """LIST defaults to ``type=product`` unless a type filter is given (``/line-item/``)."""
        if any(f.name == "type" for f in query.filters):
            return []
        return [LineItem.type == "product"]

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        ids = [r.id for r in rows]
        totals, complete = await piece_rows.piece_counts(ctx.session, Piece.line_item_id, ids)
        parts = await _part_ids(ctx, [r.part_version_id for r in rows])
        return {
            r.id: {
                "piece_count": totals.get(r.id, 0),
                "completed_quantity": complete.get(r.id, 0),
                "additive": additive_out(ctx, r),
                "part_version": part_version_uri(ctx, parts, r.part_version_id),
            }
            for r in rows
        }


async def _part_ids(ctx: MesContext, version_ids: list[uuid.UUID | None]) -> dict[uuid.UUID, Any]:
    wanted = {v for v in version_ids if v is not None}
    if not wanted:
        return {}
    rows = await ctx.session.execute(
        select(PartVersion.id, PartVersion.part_id).where(PartVersion.id.in_(wanted))
    )
    return dict(rows.all())


def part_version_uri(
    ctx: MesContext, parts: dict[uuid.UUID, Any], version_id: uuid.UUID | None
) -> str | None:
    if version_id is None or version_id not in parts:
        return None
    return f"{ctx.base_url}/v1/parts/{parts[version_id]}/versions/{version_id}"


def additive_out(ctx: MesContext, row: LineItem) -> dict[str, Any]:
    """``additive`` as stored, with the model and materials as URIs again."""
    out = dict(row.additive or {})
    out["model"] = ctx.uri("model", row.model_id) if row.model_id else None
    out["materials"] = {
        "base": ctx.uri("material", row.base_material_id) if row.base_material_id else None,
        "support": ctx.uri("material", row.support_material_id)
        if row.support_material_id
        else None,
    }
    return out


async def rename_pieces(ctx: MesContext, row: LineItem) -> None:
    """Piece names follow the line item's model (model name + copy), one UPDATE."""
    names = await piece_rows.model_names(ctx.session, [row.model_id])
    base = piece_rows.piece_name(piece_rows.Planned.of(row), names, 0)[:-2]
    await ctx.session.execute(
        update(Piece)
        .where(Piece.line_item_id == row.id)
        .values(name=literal(base + " ") + cast(Piece.copy, String))
        .execution_options(synchronize_session=False)
    )


# --- pieces and prints -------------------------------------------------------------------------


class PieceRules(Rules):
    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        if "name" in values and values["name"] != row.name:
            raise Invalid("Auto-generated piece names cannot be renamed.", code="PIECE_NAME_FIXED")
        if "status" in values and values["status"] != row.status:
            target = values.pop("status")
            await service.move_pieces(ctx.session, [row], target, "user")

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        return await piece_context(ctx, rows)

    def sql_page(self, ctx: MesContext, sql: Any, page: Any) -> tuple[Any, Values] | None:
        """:func:`piece_context` in SQL: the page joined to its line items, orders, part
        revisions and current prints (by the print's (piece, position) index)."""
        li, order, version, current = (
            LineItem.__table__.alias("li"),
            Order.__table__.alias("o"),
            PartVersion.__table__.alias("pv"),
            Print.__table__.alias("cp"),
        )
        from_ = (
            page.join(li, li.c.id == page.c.line_item_id)
            .outerjoin(order, order.c.id == li.c.order_id)
            .outerjoin(version, version.c.id == li.c.part_version_id)
            .outerjoin(
                current,
                (current.c.piece_id == page.c.id)
                & (current.c.process_step_position == page.c.current_step_position),
            )
        )
        part_version = (
            sql.text(f"{ctx.base_url}/v1/parts/")
            + sql.uuid(version.c.part_id)
            + literal("/versions/")
            + sql.uuid(li.c.part_version_id)
        )
        computed: Values = {
            "current_print": sql.uri("print", current.c.id),
            "line_item_status": li.c.status,
            "reworked": sql.boolean(page.c.workflow_id.is_distinct_from(li.c.workflow_id)),
            "is_line_item_deleted": sql.boolean(false()),
            "is_order_deleted": sql.boolean(page.c.order_id.is_not(None) & order.c.id.is_(None)),
            "location": sql.uri("location", order.c.location_id),
            "material": sql.uri("material", li.c.base_material_id),
            "model": sql.uri("model", li.c.model_id),
            "no_model_upload": sql.boolean(li.c.no_model_upload),
            "part_version": part_version,
            "order_name": order.c.name,
            "order_due_date": sql.timestamp(order.c.due_date, utc_suffix="+00:00"),
            "owner": sql.uri("users", order.c.order_owner_id),
        }
        return from_, computed


async def piece_context(ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
    """The line item's and order's fields a piece shows, and its current print: two queries."""
    item_ids = {r.line_item_id for r in rows}
    if not item_ids:
        return {}
    joined = await ctx.session.execute(
        select(
            LineItem.id,
            LineItem.status,
            LineItem.workflow_id,
            LineItem.model_id,
            LineItem.base_material_id,
            LineItem.no_model_upload,
            LineItem.part_version_id,
            Order.id,
            Order.name,
            Order.due_date,
            Order.location_id,
            Order.order_owner_id,
            PartVersion.part_id,
        )
        .outerjoin(Order, Order.id == LineItem.order_id)
        .outerjoin(PartVersion, PartVersion.id == LineItem.part_version_id)
        .where(LineItem.id.in_(item_ids))
    )
    items = {row[0]: row for row in joined}
    current = dict(
        (
            await ctx.session.execute(
                select(Print.piece_id, Print.id)
                .join(Piece, Piece.id == Print.piece_id)
                .where(
                    Piece.id.in_(ids_of(rows)),
                    Print.process_step_position == Piece.current_step_position,
                )
            )
        ).all()
    )
    out: dict[uuid.UUID, Values] = {}
    for r in rows:
        li = items.get(r.line_item_id)
        if li is None:
            continue
        (_, status, workflow_id, model_id, material_id, no_upload, version_id, order_id) = li[:8]
        order_name, due, location_id, owner_id, part_id = li[8:]
        out[r.id] = {
            "current_print": ctx.uri("print", current[r.id]) if r.id in current else None,
            "line_item_status": str(status.value),
            "reworked": r.workflow_id != workflow_id,
            "is_line_item_deleted": False,
            "is_order_deleted": r.order_id is not None and order_id is None,
            "location": ctx.uri("location", location_id) if location_id else None,
            "material": ctx.uri("material", material_id) if material_id else None,
            "model": ctx.uri("model", model_id) if model_id else None,
            "no_model_upload": no_upload,
            "part_version": (
                f"{ctx.base_url}/v1/parts/{part_id}/versions/{version_id}" if part_id else None
            ),
            "order_name": order_name,
            "order_due_date": due.isoformat() if due else None,
            "owner": ctx.uri("users", owner_id) if owner_id else None,
        }
    return out


_STEP_STATUS = {
    "created": "new",
    "queued": "new",
    "in-progress": "processing",
    "complete": "complete",
    "error": "error",
    "cancelled": "error",
}


class PrintRules(Rules):
    """A print shows its piece's order, workflow, copy and names (read through the piece,
    whose they are: models.Print), all for a page in one query."""

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        piece_ids = {r.piece_id for r in rows}
        if not piece_ids:
            return {}
        joined = await ctx.session.execute(
            select(
                Piece.id,
                Piece.name,
                Piece.type,
                Piece.priority,
                Piece.layer_thickness,
                Piece.order_id,
                Piece.workflow_id,
                Piece.copy,
                LineItem.base_material_id,
                Order.name,
                Order.due_date,
                Order.location_id,
            )
            .join(LineItem, LineItem.id == Piece.line_item_id)
            .outerjoin(Order, Order.id == Piece.order_id)
            .where(Piece.id.in_(piece_ids))
        )
        pieces = {row[0]: row for row in joined}
        out: dict[uuid.UUID, Values] = {}
        for r in rows:
            (_, name, kind, priority, thickness, order_id, workflow_id, copy) = pieces[r.piece_id][
                :8
            ]
            material_id, order_name, due, location_id = pieces[r.piece_id][8:]
            out[r.id] = {
                "order": ctx.uri("order", order_id) if order_id else None,
                "workflow": ctx.uri("workflow", workflow_id) if workflow_id else None,
                "copy": copy,
                "name": f"{name} step {r.process_step_position}",
                "type": str(kind.value),
                "piece_priority": priority,
                "layer_thickness": thickness,
                "base_material": str(material_id) if material_id else None,
                "order_name": order_name,
                "order_due_date": due.isoformat() if due else None,
                "location": str(location_id) if location_id else None,
                "order_step_status": _STEP_STATUS[str(r.status.value)],
            }
        return out

    def custom_filters(self) -> dict[str, Callable[[Filter], ColumnElement[bool]]]:
        def work_needed(flt: Filter) -> ColumnElement[bool]:
            wanted = flt.values[0].lower() in ("true", "1")
            return (
                Print.remanufactured_to_id.is_(None)
                if wanted
                else Print.remanufactured_to_id.is_not(None)
            )

        def through_piece(flt: Filter) -> ColumnElement[bool]:
            """A filter on a field of the print's piece (``order``, ``workflow``, ``copy``)."""
            pieces = select(Piece.id).where(filter_clause(REGISTRY["piece"], flt))
            return Print.piece_id.in_(pieces)

        return {
            "work_needed": work_needed,
            "order": through_piece,
            "workflow": through_piece,
            "copy": through_piece,
        }

    def custom_sorts(self) -> dict[str, ColumnElement[Any]]:
        copy = select(Piece.copy).where(Piece.id == Print.piece_id).scalar_subquery()
        return {"copy": copy}
