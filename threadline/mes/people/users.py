"""The users of a bureau (mes-api-reference.txt ``/users/``): a bureau manager adds an account
(new, or an existing one by e-mail) to the bureau, and keeps the bureau's record of it.

A user is an account, shared by every bureau they belong to; ``archived``, ``blocked_until``,
``address``, ``company``, ``emails``, ``tos`` and ``context`` are each bureau's own record. The
account's ``username`` and ``email`` are read-only here ("Issue a support request to change").
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select

from threadline.audit import service as audit
from threadline.auth import service as auth
from threadline.auth.models import Membership, Role, User
from threadline.db import iso
from threadline.errors import Forbidden, Invalid, NotFound
from threadline.mes.face import ListQuery, MesContext, Page, invalid_value, parse_uri
from threadline.mes.people.models import MesBureauUser
from threadline.mes.people.roles import NEW_USER_ROLE, grant
from threadline.mes.resources import Field, coerce, workspace_of

# Input fields and their kinds (the reference's names); ``None`` = accepted and ignored.
FIELDS: dict[str, Field | None] = {
    "address": Field("address"),
    "archived": Field("archived", "boolean", nullable=False),
    "blocked_until": Field("blocked_until", "datetime"),
    "bureau": Field("bureau", "uri", to=("bureau",)),
    "company": Field("company", max_length=255),
    "email": Field("email", max_length=320),
    "emails": Field("emails", "array"),
    "is_self_registered": Field("is_self_registered", "boolean", nullable=False),
    "name": Field("name", max_length=200, nullable=False),
    "password": Field("password", max_length=256),
    "tos": Field("tos", "boolean", nullable=False),
    "username": Field("username", max_length=64),
    "enable_contactless_logon": Field("enable_contactless_logon", "boolean"),
    "get_contactless_logon": Field("get_contactless_logon", "boolean"),
    # Read-only or without effect here: what GET returned may be sent back as it was.
    "uuid": None,
    "uri": None,
    "context": None,
    "contactless_enabled": None,
    "qr_logon_code": None,
    "conversion_expert_uuid": None,
    "group": None,
    "login": None,
    "submit": None,
    "created": None,
    "updated": None,
}
RECORD_FIELDS = ("address", "company", "emails", "tos")
SORTS = {"name": User.name, "username": User.username, "created": Membership.created_at}
MIN_PASSWORD = 8


def parse(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a ``/users/`` body field by field; unknown fields are a 400 naming them."""
    unknown = sorted(k for k in body if k not in FIELDS)
    if unknown:
        raise Invalid(
            f"Unknown fields: {', '.join(unknown)}.", code="UNKNOWN_FIELD", fields=unknown
        )
    values = {k: coerce(f, body[k]) for k, f in FIELDS.items() if f is not None and k in body}
    if values.get("emails") and not all(isinstance(e, str) for e in values["emails"]):
        raise invalid_value("emails", "must be an array of strings")
    if values.get("get_contactless_logon") or values.get("enable_contactless_logon"):
        raise Invalid(
            "Contactless (QR) logon is not available on this server.",
            code="CONTACTLESS_UNSUPPORTED",
        )
    password = values.get("password")
    if password is not None and len(password) < MIN_PASSWORD:
        raise invalid_value("password", f"must be at least {MIN_PASSWORD} characters")
    return values


@dataclass
class Row:
    """One user as a bureau sees them."""

    user: User
    workspace_id: uuid.UUID
    record: MesBureauUser | None


def render(ctx: MesContext, row: Row) -> dict[str, Any]:
    user, record = row.user, row.record
    emails = (record.emails if record and record.emails else None) or [user.email]
    return {
        "uuid": str(user.id),
        "uri": ctx.uri("users", user.id),
        "username": user.username,
        "name": user.name,
        "email": user.email,
        "emails": emails,
        "bureau": ctx.uri("bureau", row.workspace_id),
        "group": None,
        "address": record.address if record else None,
        "company": record.company if record else None,
        "archived": bool(record and record.archived),
        "blocked_until": iso(record.blocked_until) if record else None,
        "contactless_enabled": False,
        "context": record.context if record else None,
        "conversion_expert_uuid": None,
        "is_self_registered": bool(record and record.is_self_registered),
        "login": user.is_active,
        "qr_logon_code": None,
        "tos": bool(record and record.tos),
        "created": iso(user.created_at),
        "updated": iso(user.updated_at),
    }


def _bureaus(ctx: MesContext, query: ListQuery) -> list[uuid.UUID]:
    wanted = list(ctx.bureau_ids)
    for flt in query.filters:
        if flt.name == "bureau":
            named = {
                parse_uri(v, kinds=("bureau",), field_name="filter[bureau]") for v in flt.values
            }
            wanted = [ws for ws in wanted if ws in named]
    return wanted


def statement(ctx: MesContext, query: ListQuery) -> Any:
    """Each user of the caller's bureaus once, with the first bureau they share with the
    caller (``filter[bureau]`` picks the bureau)."""
    scope = _bureaus(ctx, query)
    first = (
        select(Membership.id)
        .where(Membership.user_id == User.id, Membership.workspace_id.in_(scope))
        .order_by(Membership.created_at, Membership.id)
        .limit(1)
        .correlate(User)
        .scalar_subquery()
    )
    stmt = (
        select(User, Membership.workspace_id, MesBureauUser)
        .join(Membership, Membership.user_id == User.id)
        .outerjoin(
            MesBureauUser,
            and_(
                MesBureauUser.workspace_id == Membership.workspace_id,
                MesBureauUser.user_id == User.id,
            ),
        )
        .where(Membership.id == first)
    )
    for flt in query.filters:
        stmt = stmt.where(_filter(flt))
    order = []
    for name, descending in query.sort or (("created", False),):
        if name not in SORTS:
            raise Invalid(
                f"Unknown sort field {name!r}; sortable: {', '.join(sorted(SORTS))}.",
                code="UNKNOWN_SORT",
            )
        order.append(SORTS[name].desc() if descending else SORTS[name].asc())
    return stmt.order_by(*order, User.id)


def _filter(flt: Any) -> Any:
    values = list(flt.values)
    if flt.name == "bureau":
        return User.id.is_not(None)  # applied to the scope of the statement
    if flt.name == "uuid":
        try:
            return User.id.in_([uuid.UUID(v) for v in values])
        except ValueError:
            raise invalid_value("filter[uuid]", "must be a uuid") from None
    if flt.name in ("username", "name"):
        column = User.username if flt.name == "username" else User.name
        return column.in_([v.lower() if flt.name == "username" else v for v in values])
    if flt.name in ("email", "emails"):
        return User.email.in_([auth.normalise_email(v) for v in values])
    if flt.name == "archived":
        if values[0].lower() not in ("true", "false", "1", "0"):
            raise invalid_value("filter[archived]", "must be true or false")
        archived = values[0].lower() in ("true", "1")
        condition = MesBureauUser.archived.is_(True)
        return condition if archived else or_(MesBureauUser.id.is_(None), ~condition)
    raise Invalid(
        f"Unknown filter field {flt.name!r}; filterable: archived, bureau, email, emails, name, "
        "username, uuid.",
        code="UNKNOWN_FILTER",
    )


async def page(ctx: MesContext, query: ListQuery) -> tuple[list[Row], int]:
    stmt = statement(ctx, query)
    count = await ctx.session.scalar(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    )
    rows = await ctx.session.execute(stmt.limit(query.page.limit).offset(query.page.offset))
    return [Row(u, ws, rec) for u, ws, rec in rows], int(count or 0)


async def get(ctx: MesContext, raw_id: str | uuid.UUID) -> Row:
    """A user of one of the caller's bureaus; 404 for anyone else."""
    try:
        user_id = raw_id if isinstance(raw_id, uuid.UUID) else uuid.UUID(raw_id)
    except ValueError:
        user_id = None
    if user_id is not None:
        query = ListQuery(Page(1, 0), (), (), {})
        found = (await ctx.session.execute(statement(ctx, query).where(User.id == user_id))).first()
        if found is not None:
            return Row(*found)
    raise NotFound("The requested user cannot be found.", code="RESOURCE_NOT_FOUND")


async def _record(ctx: MesContext, workspace_id: uuid.UUID, user_id: uuid.UUID) -> MesBureauUser:
    record = await ctx.session.scalar(
        select(MesBureauUser).where(
            MesBureauUser.workspace_id == workspace_id, MesBureauUser.user_id == user_id
        )
    )
    if record is None:
        record = MesBureauUser(workspace_id=workspace_id, user_id=user_id)
        ctx.session.add(record)
    return record


async def create(ctx: MesContext, body: dict[str, Any]) -> uuid.UUID:
    """POST: a new account, or an existing one found by e-mail, joins the bureau as a
    ``standard-user``. The bureau defaults to the caller's; adding needs its manager role."""
    values = parse(body)
    workspace_id = values.get("bureau") or ctx.default_bureau()
    ctx.require(workspace_id, Role.manager)
    email = values.get("email") or next(iter(values.get("emails") or []), None)
    if not email or "@" not in email:
        raise Invalid(
            "The field email is required: the user's e-mail address.",
            code="FIELD_REQUIRED",
            field="email",
        )
    user = await auth.user_by_email(ctx.session, email)
    if user is None:
        password = values.get("password") or secrets.token_urlsafe(32)  # no password: no login
        user = await auth.create_user(
            ctx.session,
            email=email,
            password_hash=await ctx.runtime.passwords.hash(password),
            name=values.get("name") or email.split("@", 1)[0],
            username=values.get("username"),
            actor=ctx.user,
        )
    elif await ctx.session.scalar(
        select(Membership.id).where(
            Membership.workspace_id == workspace_id, Membership.user_id == user.id
        )
    ):
        raise Invalid(f"{user.email} is already a user of this bureau.", code="ALREADY_MEMBER")
    ctx.session.add(Membership(workspace_id=workspace_id, user_id=user.id, role=Role.viewer))
    record = MesBureauUser(workspace_id=workspace_id, user_id=user.id)
    _apply_record(record, values)
    record.is_self_registered = values.get("is_self_registered", False)
    ctx.session.add(record)
    await grant(ctx, workspace_id, user.id, NEW_USER_ROLE)
    _audit(
        ctx, await workspace_of(ctx, workspace_id), user.id, "create", None, {"email": user.email}
    )
    return user.id


def _apply_record(record: MesBureauUser, values: dict[str, Any]) -> None:
    for name in RECORD_FIELDS:
        if name in values:
            setattr(record, name, values[name])
    if "archived" in values:
        record.archived = values["archived"]
    if "blocked_until" in values:
        record.blocked_until = values["blocked_until"]


async def update(ctx: MesContext, row: Row, body: dict[str, Any]) -> None:
    """PUT (partial). The user edits their own name, password and record; a manager of the
    bureau edits the record, the name, and archives or blocks (never an owner, never
    themselves). ``username`` and ``email`` do not change here."""
    values = parse(body)
    user, workspace_id = row.user, values.pop("bureau", None) or row.workspace_id
    ctx.require(workspace_id, Role.viewer)
    if workspace_id != row.workspace_id and not await ctx.session.scalar(
        select(Membership.id).where(
            Membership.workspace_id == workspace_id, Membership.user_id == user.id
        )
    ):
        raise NotFound("The requested user cannot be found.", code="RESOURCE_NOT_FOUND")
    is_self = user.id == ctx.user.id
    manager = ctx.roles[workspace_id].at_least(Role.manager)
    if not (is_self or manager):
        raise Forbidden("You are not authorized to complete the request.", code="INSUFFICIENT_ROLE")
    for name in ("username", "email"):
        if name in values and values[name] != getattr(user, name):
            raise Invalid(
                f"The {name} of a user cannot change; issue a support request to change it.",
                code="READ_ONLY_FIELD",
                field=name,
            )
    if values.get("archived") or values.get("blocked_until") is not None:
        await _check_may_suspend(ctx, workspace_id, user, manager)
    if "password" in values:
        if not is_self:
            raise Forbidden("Only the user can change their password.", code="SELF_ONLY")
        if values["password"] is None:
            raise invalid_value("password", "may not be null")
        await auth.set_password(
            ctx.session,
            user=user,
            password_hash=await ctx.runtime.passwords.hash(values["password"]),
            actor=ctx.user,
        )
    if "is_self_registered" in values:
        values.pop(
            "is_self_registered"
        )  # "set up only on user creation and not available for change"
    before = {"name": user.name}
    if "name" in values:
        user.name = values["name"]
    record = await _record(ctx, workspace_id, user.id)
    _apply_record(record, values)
    changed = sorted(k for k in values if k not in ("password", "username", "email"))
    if changed:
        _audit(
            ctx,
            await workspace_of(ctx, workspace_id),
            user.id,
            "update",
            before,
            {k: _plain(values[k]) for k in changed},
        )


async def _check_may_suspend(
    ctx: MesContext, workspace_id: uuid.UUID, user: User, manager: bool
) -> None:
    if not manager:
        raise Forbidden(
            "Only a bureau manager can archive or block users.", code="INSUFFICIENT_ROLE"
        )
    if user.id == ctx.user.id:
        raise Invalid("You cannot archive or block yourself.", code="SELF_SUSPEND")
    role = await ctx.session.scalar(
        select(Membership.role).where(
            Membership.workspace_id == workspace_id, Membership.user_id == user.id
        )
    )
    if role == Role.owner:
        raise Invalid("The owner of a bureau cannot be archived or blocked.", code="OWNER_SUSPEND")


def _plain(value: Any) -> Any:
    return iso(value) if hasattr(value, "isoformat") else value


def _audit(
    ctx: MesContext, workspace: Any, user_id: uuid.UUID, action: str, before: Any, after: Any
) -> None:
    audit.record(
        ctx.session,
        actor=ctx.user,
        workspace=workspace,
        entity_type="mes.users",
        entity_id=user_id,
        action=action,
        before=before,
        after=after,
    )
