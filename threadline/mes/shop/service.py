"""Rules of the shop's sites and makers (mes-api-reference.txt ``/location/``,
``/sub-location/``, ``/manufacturer/``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from threadline.errors import Forbidden, Invalid
from threadline.mes.face import ListQuery, MesContext
from threadline.mes.resources import REGISTRY, Links, Rules, Values, record, snapshot, workspace_of
from threadline.mes.shop.models import Location, Manufacturer, SubLocation

DEFAULT_SUB_LOCATION = "Default"


async def name_taken(
    ctx: MesContext, column: Any, scope: ColumnElement[bool], name: str, exclude: Any = None
) -> bool:
    """Whether ``name`` is used (case-insensitively) in ``scope``, ``exclude`` aside."""
    stmt = select(exists().where(scope, func.lower(column) == name.lower()))
    if exclude is not None:
        stmt = select(exists().where(scope, func.lower(column) == name.lower(), exclude))
    return bool(await ctx.session.scalar(stmt))


class LocationRules(Rules):
    """Names are unique in a bureau; a new location gets its default sub-location."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        scope = Location.workspace_id == values["workspace_id"]
        if await name_taken(ctx, Location.name, scope, values["name"]):
            raise Invalid("The requested location name already exists.", code="NAME_EXISTS")

    async def after_create(self, ctx: MesContext, row: Any, links: Links) -> None:
        default = SubLocation(
            workspace_id=row.workspace_id,
            location_id=row.id,
            name=DEFAULT_SUB_LOCATION,
            is_default=True,
        )
        ctx.session.add(default)
        await ctx.session.flush()
        # the default is a write like any other: it is on /event/ and the live stream
        sub_location = REGISTRY["sub-location"]
        after = snapshot(ctx, sub_location, default)
        workspace = await workspace_of(ctx, row.workspace_id)
        record(ctx, sub_location, workspace, default.id, "create", None, after)

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        if "name" in values and values["name"] != row.name:
            scope = Location.workspace_id == row.workspace_id
            if await name_taken(ctx, Location.name, scope, values["name"], Location.id != row.id):
                raise Invalid("The requested location name already exists.", code="NAME_EXISTS")


class SubLocationRules(Rules):
    """One default per location: making one the default unsets the previous one, and the
    default cannot be unset or deleted (make another the default first)."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        scope = SubLocation.location_id == values["location_id"]
        if await name_taken(ctx, SubLocation.name, scope, values["name"]):
            raise Invalid("sub-location with the same name already exists.", code="NAME_EXISTS")
        if values.get("is_default"):
            await self._unset_default(ctx, values["location_id"])

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        if "name" in values and values["name"] != row.name:
            scope = SubLocation.location_id == row.location_id
            if await name_taken(
                ctx, SubLocation.name, scope, values["name"], SubLocation.id != row.id
            ):
                raise Invalid("sub-location with the same name already exists.", code="NAME_EXISTS")
        if values.get("is_default") is False and row.is_default:
            raise Invalid(
                "There must be one default sub-location for every location: make another "
                "sub-location the default instead.",
                code="DEFAULT_SUB_LOCATION_REQUIRED",
            )
        if values.get("is_default") and not row.is_default:
            await self._unset_default(ctx, row.location_id)

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        if row.is_default:
            raise Invalid(
                "The default sub-location of a location cannot be deleted; make another "
                "sub-location the default first.",
                code="DEFAULT_SUB_LOCATION_REQUIRED",
            )

    @staticmethod
    async def _unset_default(ctx: MesContext, location_id: Any) -> None:
        await ctx.session.execute(
            update(SubLocation)
            .where(SubLocation.location_id == location_id, SubLocation.is_default.is_(True))
            .values(is_default=False)
            .execution_options(synchronize_session="fetch")
        )


def template_clauses(model: Any, query: ListQuery) -> list[ColumnElement[bool]]:
    """Templates are hidden from a LIST unless it asks for them (``filter[is_template]=true``
    or ``?is_template=True``, mes-api-reference.txt ``/manufacturer/``)."""
    asked = query.params.get("is_template", "").lower() in ("true", "1")
    if asked:
        return [model.is_template.is_(True)]
    if any(f.name == "is_template" for f in query.filters):
        return []
    return [model.is_template.is_(False)]


def refuse_template_change(row: Any, label: str) -> None:
    """Templates are a shared starting point: changed only by cloning them (403)."""
    if row.is_template:
        raise Forbidden(
            f"Modification of template {label} not allowed via API.", code="TEMPLATE_READ_ONLY"
        )


class ManufacturerRules(Rules):
    """Names are unique in a bureau; templates are hidden unless asked for and read-only."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        scope = Manufacturer.workspace_id == values["workspace_id"]
        if await name_taken(ctx, Manufacturer.name, scope, values["name"]):
            raise Invalid("The requested manufacturer name already exists.", code="NAME_EXISTS")

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        refuse_template_change(row, "manufacturer")
        if "name" in values and values["name"] != row.name:
            scope = Manufacturer.workspace_id == row.workspace_id
            if await name_taken(
                ctx, Manufacturer.name, scope, values["name"], Manufacturer.id != row.id
            ):
                raise Invalid("The requested manufacturer name already exists.", code="NAME_EXISTS")

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        refuse_template_change(row, "manufacturer")

    def list_clauses(self, ctx: MesContext, query: ListQuery) -> list[ColumnElement[bool]]:
        return template_clauses(Manufacturer, query)


async def require_unique_name(
    ctx: MesContext,
    model: Any,
    values: Values,
    message: str,
    *,
    row: Any = None,
    scope: tuple[str, ...] = ("workspace_id",),
) -> None:
    """Refuse (400 NAME_EXISTS, the reference's ``message``) a name already used in ``scope``.

    ``values`` are the fields sent; on an update (``row`` given) the unsent ones are the row's.
    """
    name = values.get("name", getattr(row, "name", None) if row is not None else None)
    if name is None:
        return
    current = {c: values.get(c, getattr(row, c, None)) for c in scope}
    if (
        row is not None
        and name == row.name
        and all(getattr(row, c) == v for c, v in current.items())
    ):
        return
    clauses = [getattr(model, c) == v for c, v in current.items()]
    exclude = model.id != row.id if row is not None else None
    if await name_taken(ctx, model.name, and_(*clauses), name, exclude):
        raise Invalid(message, code="NAME_EXISTS")
