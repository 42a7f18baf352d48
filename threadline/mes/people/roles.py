"""MES roles and how they map onto workspace roles (mes-api-reference.txt ``/role/``).

"Users can have multiple roles. For a lot of internal logic, only 'highest role is used.'" The
membership's workspace role follows the user's highest MES role in the bureau (the table in
docs/mes/people.md); an owner stays an owner.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from threadline.audit import service as audit
from threadline.auth.models import Membership, Role, User
from threadline.db import new_id, utcnow
from threadline.errors import Invalid, NotFound
from threadline.mes.face import Filter, ListQuery, MesContext
from threadline.mes.people.models import MesRole
from threadline.mes.resources import REGISTRY, Links, Rules, Values, workspace_of

# Highest first, as the reference lists them.
MES_ROLES = (
    "manager",
    "location-manager",
    "global-user",
    "standard-user",
    "location-user",
    "restricted",
    "unknown",
    "self-registered-guest",
)
RANK = {name: len(MES_ROLES) - i for i, name in enumerate(MES_ROLES)}
LOCATION_ROLES = frozenset({"location-manager", "location-user"})
WORKSPACE_ROLE: dict[str, Role] = {
    "manager": Role.manager,
    "location-manager": Role.engineer,
    "global-user": Role.engineer,
    "standard-user": Role.engineer,
    "location-user": Role.engineer,
    "restricted": Role.viewer,
    "unknown": Role.viewer,
    "self-registered-guest": Role.viewer,
}
# A member without MES roles (added on the native face) reads as holding this one.
MES_ROLE_OF: dict[Role, str] = {
    Role.owner: "manager",
    Role.manager: "manager",
    Role.engineer: "standard-user",
    Role.viewer: "restricted",
}
NEW_USER_ROLE = "standard-user"  # what POST /users/ grants; a manager changes it on /role/


def membership_role(mes_roles: Iterable[str], current: Role) -> Role:
    """The workspace role that the highest of ``mes_roles`` maps to; an owner stays an owner,
    and a member left with no MES role is a viewer."""
    if current == Role.owner:
        return Role.owner
    ranked = sorted(mes_roles, key=RANK.__getitem__, reverse=True)
    return WORKSPACE_ROLE[ranked[0]] if ranked else Role.viewer


async def sync_memberships(
    ctx: MesContext, workspace_id: uuid.UUID, user_ids: Iterable[uuid.UUID]
) -> None:
    """Set each user's membership role from their highest MES role (one query to read)."""
    ids = set(user_ids)
    if not ids:
        return
    highest = dict(
        (
            await ctx.session.execute(
                select(MesRole.user_id, func.max(MesRole.rank))
                .where(MesRole.workspace_id == workspace_id, MesRole.user_id.in_(ids))
                .group_by(MesRole.user_id)
            )
        ).all()
    )
    by_rank = {rank: name for name, rank in RANK.items()}
    members = await ctx.session.scalars(
        select(Membership).where(
            Membership.workspace_id == workspace_id, Membership.user_id.in_(ids)
        )
    )
    workspace = None
    for member in members:
        held = [by_rank[highest[member.user_id]]] if member.user_id in highest else []
        wanted = membership_role(held, member.role)
        if wanted == member.role:
            continue
        before, member.role = member.role, wanted
        workspace = workspace or await workspace_of(ctx, workspace_id)
        audit.record(
            ctx.session,
            actor=ctx.user,
            workspace=workspace,
            entity_type="membership",
            entity_id=member.id,
            action="update",
            before={"userId": str(member.user_id), "role": before.value},
            after={"userId": str(member.user_id), "role": wanted.value},
        )


async def ensure_roles(ctx: MesContext, workspace_ids: Sequence[uuid.UUID]) -> None:
    """Give every member without a MES role the one their workspace role reads as, so that
    ``/role/`` lists every user of the bureau (members added on the native face included)."""
    if not workspace_ids:
        return
    missing = (
        await ctx.session.execute(
            select(Membership.workspace_id, Membership.user_id, Membership.role).where(
                Membership.workspace_id.in_(workspace_ids),
                ~select(MesRole.id)
                .where(
                    MesRole.workspace_id == Membership.workspace_id,
                    MesRole.user_id == Membership.user_id,
                )
                .exists(),
            )
        )
    ).all()
    if not missing:
        return
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "workspace_id": ws,
            "user_id": user_id,
            "role": MES_ROLE_OF[role],
            "rank": RANK[MES_ROLE_OF[role]],
            "created_at": now,
            "updated_at": now,
        }
        for ws, user_id, role in missing
    ]
    try:
        # Two first readers at once: the unique index keeps one row each; the other is a no-op.
        async with ctx.session.begin_nested():
            await ctx.session.execute(insert(MesRole), rows)
    except IntegrityError:
        pass


async def grant(ctx: MesContext, workspace_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
    """Give a user a bureau-wide MES role (new users of ``POST /users/``)."""
    ctx.session.add(MesRole(workspace_id=workspace_id, user_id=user_id, role=role, rank=RANK[role]))
    await ctx.session.flush()  # the membership sync below reads the new row
    await sync_memberships(ctx, workspace_id, [user_id])


class RoleRules(Rules):
    """Manager-only writes (``Resource.write_role``); location roles name a location and
    the others none; one role held once; the membership follows the highest role."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        _check_location(values["role"], values.get("location_id"))
        values["rank"] = RANK[values["role"]]
        if await _held(ctx, values["workspace_id"], values["user_id"], values):
            raise Invalid("The user already has this role.", code="ROLE_EXISTS")

    async def after_create(self, ctx: MesContext, row: Any, links: Links) -> None:
        await sync_memberships(ctx, row.workspace_id, [row.user_id])

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        if "user_id" in values and values["user_id"] != row.user_id:
            raise Invalid(
                "The user of a role cannot change; create a role for the other user.",
                code="ROLE_USER_FIXED",
            )
        role = values.get("role", row.role)
        location = values.get("location_id", row.location_id)
        if role not in LOCATION_ROLES and "location_id" not in values:
            location = values["location_id"] = None  # leaving a location role drops its location
        _check_location(role, location)
        values["rank"] = RANK[role]
        merged = {"role": role, "location_id": location}
        if (role, location) != (row.role, row.location_id) and await _held(
            ctx, row.workspace_id, row.user_id, merged
        ):
            raise Invalid("The user already has this role.", code="ROLE_EXISTS")

    async def after_update(self, ctx: MesContext, row: Any, changed: set[str]) -> None:
        await sync_memberships(ctx, row.workspace_id, [row.user_id])

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        """``name``, ``username`` and ``emails`` of each row's user (one query for the page)."""
        user_ids = {row.user_id for row in rows}
        users = {
            u.id: u for u in await ctx.session.scalars(select(User).where(User.id.in_(user_ids)))
        }
        located = {row.location_id for row in rows if row.location_id is not None}
        # No foreign key can name the location (see MesRole): a deleted one reads as null.
        existing = await _existing_locations(ctx, located)
        out: dict[uuid.UUID, Values] = {}
        for row in rows:
            user = users[row.user_id]
            location = row.location_id if row.location_id in existing else None
            out[row.id] = {
                "name": user.name,
                "username": user.username,
                "emails": [user.email],
                "csrf_token": None,
                "location": ctx.uri("location", location) if location else None,
            }
        return out

    def list_clauses(self, ctx: MesContext, query: ListQuery) -> list[ColumnElement[bool]]:
        """Other users can only view their own roles; managers see the bureau's (reference)."""
        managed = [ws for ws, role in ctx.roles.items() if role.at_least(Role.manager)]
        return [MesRole.workspace_id.in_(managed) | (MesRole.user_id == ctx.user.id)]

    def custom_filters(self) -> dict[str, Any]:
        return {"highest_only": _highest_only}


async def _existing_locations(ctx: MesContext, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    if not ids:
        return set()
    location = REGISTRY["location"]
    found = await ctx.session.scalars(
        select(location.attr("id")).where(location.attr("id").in_(ids))
    )
    return set(found)


def may_view(ctx: MesContext, row: MesRole) -> bool:
    role = ctx.roles.get(row.workspace_id)
    return role is not None and (role.at_least(Role.manager) or row.user_id == ctx.user.id)


def _highest_only(flt: Filter) -> ColumnElement[bool]:
    """``filter[highest_only]=true``: each user's roles of their highest rank in the bureau
    (several when the highest is a location role held at several locations)."""
    value = flt.values[0].lower() if flt.values else ""
    if value not in ("true", "false", "1", "0"):
        raise Invalid(
            "The value of filter[highest_only] must be true or false.",
            code="INVALID_FIELD",
            field="filter[highest_only]",
        )
    if value in ("false", "0"):
        return MesRole.id.is_not(None)
    other = MesRole.__table__.alias("highest")
    top = (
        select(func.max(other.c.rank))
        .where(
            and_(other.c.workspace_id == MesRole.workspace_id, other.c.user_id == MesRole.user_id)
        )
        .scalar_subquery()
    )
    return MesRole.rank == top


def _check_location(role: str, location: uuid.UUID | None) -> None:
    if role in LOCATION_ROLES and location is None:
        raise Invalid(f"The role {role} needs a location.", code="LOCATION_REQUIRED")
    if role not in LOCATION_ROLES and location is not None:
        raise Invalid(
            f"The role {role} is not location-based: leave location null.",
            code="LOCATION_NOT_ALLOWED",
        )


async def _held(
    ctx: MesContext, workspace_id: uuid.UUID, user_id: uuid.UUID, values: Values
) -> bool:
    location = values.get("location_id")
    return bool(
        await ctx.session.scalar(
            select(MesRole.id).where(
                MesRole.workspace_id == workspace_id,
                MesRole.user_id == user_id,
                MesRole.role == values["role"],
                MesRole.location_id.is_(None)
                if location is None
                else MesRole.location_id == location,
            )
        )
    )


async def role_row(ctx: MesContext, raw_id: str) -> MesRole:
    """A role the caller may see; 404 ("The requested role cannot be found.") otherwise."""
    try:
        row = await ctx.session.get(MesRole, uuid.UUID(raw_id))
    except ValueError:
        row = None
    if row is None or not may_view(ctx, row):
        raise NotFound("The requested role cannot be found.", code="RESOURCE_NOT_FOUND")
    return row
