"""Rules of the cross-cutting resources (mes-api-reference.txt ``/comment/``, ``/label/``,
``/label-relationship/``; custom field definitions: ``definitions.py``).

Comments and label relationships point at rows of other rooms by kind and uuid; where that kind
is one of the MES resources served here (:data:`threadline.mes.resources.REGISTRY`), the row
must exist in the same bureau, or the write is a 404 as if it did not exist.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import delete, exists, func, select, true
from sqlalchemy.sql.elements import ColumnElement

from threadline.audit import service as audit
from threadline.auth.models import Membership, Role, User
from threadline.errors import Forbidden, Invalid, NotFound
from threadline.mes.crosscut.models import Comment, Label, LabelRelationship
from threadline.mes.face import PREFIX, Filter, ListQuery, MesContext, invalid_value, parse_uri
from threadline.mes.resources import (
    REGISTRY,
    Links,
    Resource,
    Rules,
    Values,
    record,
    snapshot,
    workspace_of,
)

COMMENT_TABLES = (
    "order",
    "line_item",
    "prep_task_record",
    "model_library",
    "run",
    "service_provider_job",
    "piece",
)
COMMENT_ACTION_STATUSES = ("new", "in-progress", "complete")
OWNER_ONLY = "Modification of the comment allowed only for comment owner."
LABEL_LOCKED = "This label is not editable: un-editable labels can't be changed or deleted via API."
# Labels go on the shop's and the demand's resources, not on labels or their relationships,
# nor on ``/workstation/`` (a read-only view whose rows are the machines: label the machine).
NOT_LABELLED = frozenset({"label", "label-relationship", "workstation"})
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def served(table: str) -> Resource | None:
    """The resource a table name (``line_item``) names, when this server has it."""
    return REGISTRY.get(table.replace("_", "-"))


async def exists_in(ctx: MesContext, resource: Resource, row_id: uuid.UUID, ws: uuid.UUID) -> bool:
    return bool(
        await ctx.session.scalar(
            select(
                exists().where(resource.attr("id") == row_id, resource.attr("workspace_id") == ws)
            )
        )
    )


def _uuid_filter(column: Any, name: str) -> Callable[[Filter], ColumnElement[bool]]:
    def clause(flt: Filter) -> ColumnElement[bool]:
        try:
            ids = [uuid.UUID(raw) for raw in flt.values]
        except ValueError:
            raise invalid_value(f"filter[{name}]", "must be a uuid") from None
        return column.in_(ids)  # type: ignore[no-any-return]

    return clause


# --- comments ---------------------------------------------------------------------------------


def _mentions(raw: Any) -> list[uuid.UUID]:
    """``mentioned_users`` as sent: URIs, or objects whose ``uri`` is read (the reference)."""
    ids: list[uuid.UUID] = []
    for item in raw or []:
        uri = item.get("uri") if isinstance(item, dict) else item
        ident = parse_uri(uri, kinds=("users",), field_name="mentioned_users")
        if ident not in ids:
            ids.append(ident)
    return ids


async def _check_members(ctx: MesContext, ws: uuid.UUID, ids: list[uuid.UUID]) -> None:
    if not ids:
        return
    members = set(
        await ctx.session.scalars(
            select(Membership.user_id).where(
                Membership.workspace_id == ws, Membership.user_id.in_(ids)
            )
        )
    )
    for ident in ids:
        if ident not in members:
            raise NotFound(
                f"The requested users cannot be found (mentioned_users: {PREFIX}/users/{ident}/).",
                code="RESOURCE_NOT_FOUND",
                field="mentioned_users",
            )


def _action(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    unknown = sorted(set(raw) - {"status"})
    if unknown:
        raise invalid_value("comment_action", f"has unknown keys ({', '.join(unknown)})")
    status = raw.get("status", "new")
    if status not in COMMENT_ACTION_STATUSES:
        raise invalid_value("comment_action", "status must be one of new, in-progress, complete")
    return {"status": status}


class CommentRules(Rules):
    """The caller is the author; the related row exists in the bureau where its table is
    served; mentions are members of the bureau and are told; only the author may change or
    delete a comment (mes-api-reference.txt ``/comment/``: 403)."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        ws = values["workspace_id"]
        values["user_id"] = ctx.user.id
        try:
            related = uuid.UUID(values["related_uuid"])
        except ValueError:
            raise invalid_value("related_uuid", "must be a uuid") from None
        values["related_uuid"] = related
        target = served(values["related_table_name"])
        if target is not None and not await exists_in(ctx, target, related, ws):
            raise target.not_found()
        await self._mentions(ctx, ws, values)
        values["comment_action"] = _action(values.get("comment_action"))

    async def after_create(self, ctx: MesContext, row: Any, links: Links) -> None:
        await self._notify(ctx, row, _mentions(row.mentioned_users))

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        self._owner(ctx, row)
        if "mentioned_users" in values:
            before = set(_mentions(row.mentioned_users))
            ids = await self._mentions(ctx, row.workspace_id, values)
            await self._notify(ctx, row, [ident for ident in ids if ident not in before])
        if "comment_action" in values:
            values["comment_action"] = _action(values["comment_action"])

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        self._owner(ctx, row)

    @staticmethod
    def _owner(ctx: MesContext, row: Any) -> None:
        if row.user_id != ctx.user.id:
            raise Forbidden(OWNER_ONLY, code="COMMENT_OWNER_ONLY")

    @staticmethod
    async def _mentions(ctx: MesContext, ws: uuid.UUID, values: Values) -> list[uuid.UUID]:
        """Store mentions as relative URIs (members of the bureau only); returns their ids."""
        ids = _mentions(values.get("mentioned_users"))
        await _check_members(ctx, ws, ids)
        values["mentioned_users"] = [f"{PREFIX}/users/{ident}/" for ident in ids]
        return ids

    @staticmethod
    async def _notify(ctx: MesContext, row: Any, ids: list[uuid.UUID]) -> None:
        """Tell each newly mentioned user, on their live event stream (the reference emails
        them; Threadline's notices are the stream's)."""
        new = [ident for ident in ids if ident != ctx.user.id]
        if not new:
            return
        workspace = await workspace_of(ctx, row.workspace_id)
        for user in await ctx.session.scalars(select(User).where(User.id.in_(new))):
            audit.record(
                ctx.session,
                actor=ctx.user,
                workspace=workspace,
                entity_type="mes.comment",
                entity_id=row.id,
                action="mention",
                after={"mentioned_user": f"{PREFIX}/users/{user.id}/"},
                notify=user.username,
            )

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        ids: set[uuid.UUID] = {row.user_id for row in rows if row.user_id}
        for row in rows:
            ids.update(_mentions(row.mentioned_users))
        users = {
            u.id: u for u in await ctx.session.scalars(select(User).where(User.id.in_(ids)))
        } if ids else {}  # fmt: skip
        out: dict[uuid.UUID, Values] = {}
        for row in rows:
            author = users.get(row.user_id) if row.user_id else None
            out[row.id] = {
                "author_name": author.name if author else None,
                "username": author.email if author else None,
                "mentioned_users": [
                    {"uri": ctx.uri("users", i), "username": u.email, "name": u.name}
                    for i in _mentions(row.mentioned_users)
                    if (u := users.get(i)) is not None
                ],
            }
        return out

    def custom_filters(self) -> dict[str, Callable[[Filter], ColumnElement[bool]]]:
        # ``text`` is read by list_clauses, which also sees ``text_ilike``.
        return {
            "related_uuid": _uuid_filter(Comment.related_uuid, "related_uuid"),
            "text": lambda flt: true(),
            "text_ilike": lambda flt: true(),
        }

    def list_clauses(self, ctx: MesContext, query: ListQuery) -> list[ColumnElement[bool]]:
        """``filter[text]`` matches the text exactly; with ``text_ilike`` it matches any
        comment whose text contains it, ignoring case (the reference's 400s when misused)."""
        flags = [f.values[0] for f in query.filters if f.name == "text_ilike"]
        flag = (flags[-1] if flags else query.params.get("text_ilike", "")).lower()
        ilike = flag in ("true", "1")
        texts = [value for f in query.filters if f.name == "text" for value in f.values]
        names = {f.name for f in query.filters}
        if ilike and "related_table_name" not in names:
            raise Invalid(
                "Filtering using text_ilike requires a related_table_name filter",
                code="INVALID_FILTER",
            )
        if ilike and not texts:
            raise Invalid(
                "Filtering using text_ilike is only valid if a text filter is also provided",
                code="INVALID_FILTER",
            )
        if not texts:
            return []
        if ilike:
            patterns = [
                func.lower(Comment.text).contains(t.lower(), autoescape=True) for t in texts
            ]
            clause = patterns[0]
            for other in patterns[1:]:
                clause = clause | other
            return [clause]
        return [Comment.text.in_(texts)]


# --- labels -----------------------------------------------------------------------------------


async def _label_name_taken(
    ctx: MesContext, ws: uuid.UUID, name: str, other_than: uuid.UUID | None = None
) -> bool:
    clauses = [Label.workspace_id == ws, func.lower(Label.name) == name.lower()]
    if other_than is not None:
        clauses.append(Label.id != other_than)
    return bool(await ctx.session.scalar(select(exists().where(*clauses))))


def _check_color(color: Any) -> None:
    if color is not None and not _COLOR.match(color):
        raise invalid_value("color", "must be a HEX color such as #1f77b4")


class LabelRules(Rules):
    """Names unique in a bureau (20 characters max), HEX colours; a label that is not
    ``editable`` can't be changed or deleted (mes-api-reference.txt ``/label/``), so only a
    manager may create one locked."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        ws = values["workspace_id"]
        _check_color(values.get("color"))
        if await _label_name_taken(ctx, ws, values["name"]):
            raise Invalid("The requested label name already exists.", code="NAME_EXISTS")
        if values.get("editable") is False:
            ctx.require(ws, Role.manager)

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        if not row.editable:
            raise Forbidden(LABEL_LOCKED, code="LABEL_NOT_EDITABLE")
        _check_color(values.get("color"))
        name = values.get("name")
        if name is not None and await _label_name_taken(ctx, row.workspace_id, name, row.id):
            raise Invalid("The requested label name already exists.", code="NAME_EXISTS")
        if values.get("editable") is False:
            ctx.require(row.workspace_id, Role.manager)

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        if not row.editable:
            raise Forbidden(LABEL_LOCKED, code="LABEL_NOT_EDITABLE")
        await ctx.session.execute(
            delete(LabelRelationship).where(LabelRelationship.label_id == row.id)
        )

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        items: dict[uuid.UUID, list[str]] = {row.id: [] for row in rows}
        if rows:
            found = await ctx.session.execute(
                select(LabelRelationship.label_id, LabelRelationship.id)
                .where(LabelRelationship.label_id.in_(list(items)))
                .order_by(LabelRelationship.created_at, LabelRelationship.id)
            )
            for label_id, relationship_id in found:
                items[label_id].append(ctx.uri("label-relationship", relationship_id))
        return {label_id: {"items": uris} for label_id, uris in items.items()}


def parse_target(raw: Any, name: str = "target_uri") -> tuple[Resource, uuid.UUID]:
    """The resource kind and id a ``target_uri`` names: any MES resource served here."""
    if not isinstance(raw, str) or "/" not in raw:
        raise invalid_value(name, "must be the URI of a resource, not a bare uuid")
    kinds = tuple(sorted(k for k in REGISTRY if k not in NOT_LABELLED))
    try:
        ident = parse_uri(raw, kinds=kinds, field_name=name)
    except Invalid:
        raise invalid_value(
            name, "must be the URI of a MES resource (/mes/{kind}/{uuid}/)"
        ) from None
    kind = raw.rstrip("/").split("/")[-2]
    return REGISTRY[kind], ident


class LabelRelationshipRules(Rules):
    """A label goes once on one resource of the label's bureau (404 for another bureau's)."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        ws = values["workspace_id"]
        target, ident = parse_target(values.pop("target_uri"))
        if not await exists_in(ctx, target, ident, ws):
            raise target.not_found()
        values["target_kind"], values["target_id"] = target.kind, ident
        taken = exists().where(
            LabelRelationship.label_id == values["label_id"], LabelRelationship.target_id == ident
        )
        if await ctx.session.scalar(select(taken)):
            raise Invalid("The label is already applied to this resource.", code="LABEL_APPLIED")

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        return {row.id: {"target_uri": ctx.uri(row.target_kind, row.target_id)} for row in rows}

    def custom_filters(self) -> dict[str, Callable[[Filter], ColumnElement[bool]]]:
        def target(flt: Filter) -> ColumnElement[bool]:
            ids = [parse_target(raw, "filter[target_uri]")[1] for raw in flt.values]
            return LabelRelationship.target_id.in_(ids)

        return {"target_uri": target}


# --- comments and labels of deleted rows --------------------------------------------------------


async def remove_attached(ctx: MesContext, ids: Any) -> None:
    """The comments on, and label relationships to, rows being deleted go with them, each
    audited as a delete (a comment has no foreign key: its subject's table varies)."""
    attached: tuple[tuple[str, Any, Any], ...] = (
        ("comment", Comment, Comment.related_uuid),
        ("label-relationship", LabelRelationship, LabelRelationship.target_id),
    )
    for kind, model, column in attached:
        resource = REGISTRY[kind]
        rows = (await ctx.session.scalars(select(model).where(column.in_(ids)))).all()
        for row in rows:
            workspace = await workspace_of(ctx, row.workspace_id)
            before = snapshot(ctx, resource, row)
            record(ctx, resource, workspace, row.id, "delete", before, None)
        if rows:
            await ctx.session.execute(
                delete(model)
                .where(model.id.in_([r.id for r in rows]))
                .execution_options(synchronize_session=False)
            )
