"""Bureaus (mes-api-reference.txt ``/bureau/``): a bureau is a Threadline workspace.

The workspace keeps its URL-safe name; the reference's fields (display ``name``,
``description``, ``notifications``, ``order_banner``, ``reply_to``) live in
``mes_bureau_settings``. Threadline has no separate user groups: a bureau's members are its
group, so ``group`` reads null and is accepted without effect on POST.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import func, or_, select

from threadline.audit import service as audit
from threadline.auth import service as auth
from threadline.auth.models import Role, Workspace
from threadline.db import iso
from threadline.errors import Conflict, Invalid, NotFound
from threadline.mes.face import ListQuery, MesContext, invalid_value
from threadline.mes.people.models import MesBureauSettings
from threadline.mes.people.roles import grant
from threadline.mes.resources import Field, coerce

NAME_EXISTS = "The requested bureau name already exists."
NOTIFICATIONS = (
    "order_summary",
    "order_confirmation",
    "order_scheduled",
    "order_print",
    "order_error",
    "order_shipped",
    "order_complete",
)
FIELDS: dict[str, Field | None] = {
    "name": Field("name", max_length=255, nullable=False),
    "description": Field("description"),
    "notifications": Field("notifications", "object"),
    "order_banner": Field("order_banner", "object"),
    "reply_to": Field("reply_to", max_length=320),
    # Read-only, or without effect here (see the module docstring).
    "group": None,
    "user": None,
    "uri": None,
    "uuid": None,
    "created": None,
    "updated": None,
}
SETTINGS = ("description", "notifications", "order_banner", "reply_to")


def parse(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    unknown = sorted(k for k in body if k not in FIELDS)
    if unknown:
        raise Invalid(
            f"Unknown fields: {', '.join(unknown)}.", code="UNKNOWN_FIELD", fields=unknown
        )
    values = {k: coerce(f, body[k]) for k, f in FIELDS.items() if f is not None and k in body}
    if creating and not values.get("name"):
        raise Invalid("The field name is required.", code="FIELD_REQUIRED", field="name")
    if "name" in values and not values["name"].strip():
        raise invalid_value("name", "may not be empty")
    notifications = values.get("notifications")
    if notifications:
        unknown = sorted(set(notifications) - set(NOTIFICATIONS))
        if unknown:
            raise invalid_value("notifications", f"has unknown keys {', '.join(unknown)}")
        if not all(isinstance(v, bool) for v in notifications.values()):
            raise invalid_value("notifications", "must map each notification to true or false")
    return values


def slug(name: str) -> str:
    """The workspace name for a bureau name (``Acme Print Bureau`` → ``acme-print-bureau``)."""
    text = re.sub(r"[^a-z0-9_-]+", "-", name.strip().lower()).strip("-_")[:63]
    if not text:
        raise invalid_value("name", "must contain letters or digits")
    return text


def statement(ctx: MesContext) -> Any:
    return (
        select(Workspace, MesBureauSettings)
        .outerjoin(MesBureauSettings, MesBureauSettings.workspace_id == Workspace.id)
        .where(Workspace.id.in_(ctx.bureau_ids))
    )


def render(
    ctx: MesContext, workspace: Workspace, settings: MesBureauSettings | None
) -> dict[str, Any]:
    return {
        "uuid": str(workspace.id),
        "uri": ctx.uri("bureau", workspace.id),
        "name": (settings.name if settings and settings.name else None) or workspace.name,
        "description": settings.description if settings else None,
        "group": None,
        "notifications": settings.notifications if settings else None,
        "order_banner": settings.order_banner if settings else None,
        "reply_to": settings.reply_to if settings else None,
        "user": ctx.uri("users", workspace.created_by_id) if workspace.created_by_id else None,
        "created": iso(workspace.created_at),
        "updated": iso(
            max(workspace.updated_at, settings.updated_at) if settings else workspace.updated_at
        ),
    }


def list_statement(ctx: MesContext, query: ListQuery) -> Any:
    stmt = statement(ctx)
    for flt in query.filters:
        if flt.name == "uuid":
            try:
                stmt = stmt.where(Workspace.id.in_([uuid.UUID(v) for v in flt.values]))
            except ValueError:
                raise invalid_value("filter[uuid]", "must be a uuid") from None
        elif flt.name == "name":
            shown = func.coalesce(MesBureauSettings.name, Workspace.name)
            stmt = stmt.where(shown.in_(list(flt.values)))
        else:
            raise Invalid(
                f"Unknown filter field {flt.name!r}; filterable: name, uuid.", code="UNKNOWN_FILTER"
            )
    order = []
    for name, descending in query.sort or (("name", False),):
        column: Any = {
            "name": func.coalesce(MesBureauSettings.name, Workspace.name),
            "created": Workspace.created_at,
        }.get(name)
        if column is None:
            raise Invalid(
                f"Unknown sort field {name!r}; sortable: created, name.", code="UNKNOWN_SORT"
            )
        order.append(column.desc() if descending else column.asc())
    return stmt.order_by(*order, Workspace.id)


async def get(ctx: MesContext, raw_id: str) -> tuple[Workspace, MesBureauSettings | None]:
    try:
        ident = uuid.UUID(raw_id)
    except ValueError:
        ident = None
    found = None
    if ident is not None and ident in ctx.roles:
        found = (await ctx.session.execute(statement(ctx).where(Workspace.id == ident))).first()
    if found is None:
        raise NotFound("The requested bureau cannot be found.", code="RESOURCE_NOT_FOUND")
    return found[0], found[1]


async def _name_taken(ctx: MesContext, name: str, exclude: uuid.UUID | None = None) -> bool:
    stmt = (
        select(Workspace.id)
        .outerjoin(MesBureauSettings, MesBureauSettings.workspace_id == Workspace.id)
        .where(
            or_(
                Workspace.name == slug(name),
                func.lower(MesBureauSettings.name) == name.strip().lower(),
            )
        )
    )
    if exclude is not None:
        stmt = stmt.where(Workspace.id != exclude)
    return bool(await ctx.session.scalar(stmt.limit(1)))


async def create(ctx: MesContext, body: dict[str, Any]) -> uuid.UUID:
    """POST: a new workspace; the caller becomes its owner and a MES ``manager``."""
    values = parse(body, creating=True)
    name = values["name"].strip()
    if await _name_taken(ctx, name):
        raise Invalid(NAME_EXISTS, code="NAME_EXISTS")
    try:
        workspace = await auth.create_workspace(ctx.session, user=ctx.user, name=slug(name))
    except Conflict:
        raise Invalid(NAME_EXISTS, code="NAME_EXISTS") from None
    await ctx.session.flush()  # the membership row exists before the MES role is synced onto it
    ctx.roles[workspace.id] = Role.owner
    settings = MesBureauSettings(workspace_id=workspace.id, name=name)
    for key in SETTINGS:
        setattr(settings, key, values.get(key))
    ctx.session.add(settings)
    await grant(ctx, workspace.id, ctx.user.id, "manager")
    return workspace.id


async def update(
    ctx: MesContext, workspace: Workspace, settings: MesBureauSettings | None, body: dict[str, Any]
) -> None:
    """PUT (partial, managers): the display name and the reference's settings."""
    ctx.require(workspace.id, Role.manager)
    values = parse(body, creating=False)
    if "name" in values:
        values["name"] = values["name"].strip()
        if await _name_taken(ctx, values["name"], exclude=workspace.id):
            raise Invalid(NAME_EXISTS, code="NAME_EXISTS")
    if settings is None:
        settings = MesBureauSettings(workspace_id=workspace.id)
        ctx.session.add(settings)
    before = {k: getattr(settings, k) for k in values}
    for key, value in values.items():
        setattr(settings, key, value)
    changed = sorted(k for k in values if before[k] != values[k])
    if changed:
        audit.record(
            ctx.session,
            actor=ctx.user,
            workspace=workspace,
            entity_type="mes.bureau",
            entity_id=workspace.id,
            action="update",
            before={k: before[k] for k in changed},
            after={k: values[k] for k in changed},
        )
