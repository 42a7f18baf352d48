"""Declarative MES resources: one :class:`Resource` per reference resource, served generically.

A resource names its ORM model and its fields with the reference's names, kinds, choices and
defaults (mes-api-reference.txt). This module turns that into LIST / GET / POST / PUT / DELETE
with the face's conventions (:mod:`threadline.mes.face`): input validated field by field (an
unknown field, a wrong type or enum value, a URI of another type is a 400 naming the field; a
URI of another bureau is a 404, as if it did not exist), relations rendered as absolute URIs,
every write audited with the changed fields before and after (the one log ``/mes/event/``
reads). A room's business rules plug in through :class:`Rules`; rooms whose writes are more
than field updates (an order with its line items) call the same pieces from their own routes.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from threadline.audit import service as audit
from threadline.auth.models import Membership, Role, Workspace
from threadline.db import Base, iso
from threadline.errors import Invalid, NotFound
from threadline.mes.auth import mes_context
from threadline.mes.face import (
    PREFIX,
    Filter,
    ListQuery,
    MesContext,
    created,
    invalid_value,
    json_body,
    json_response,
    list_response,
    list_response_of_texts,
    no_content,
    parse_list_query,
    parse_uri,
)
from threadline.mes.pagesql import SqlJson, page_select

NO_DEFAULT: Any = object()
# Bounds of an integer field unless it names its own: what every database stores as INTEGER.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
MAX_STRING = 10_000
MAX_ARRAY = 10_000

KINDS = frozenset(
    {"string", "integer", "number", "boolean", "datetime", "object", "array", "uri", "uris"}
)


@dataclass(frozen=True)
class Link:
    """An ordered many-to-many relation kept in an association table (``uris`` fields)."""

    table: Table
    owner: str  # column holding the resource's id
    target: str  # column holding the linked resource's id
    position: str | None = None  # column keeping the list's order, when order matters


@dataclass(frozen=True)
class Field:
    """One field of a resource, named as the reference names it."""

    name: str
    kind: str = "string"
    attr: str | None = None  # ORM attribute; default ``name`` (``name + "_id"`` for a URI)
    to: tuple[str, ...] = ()  # URI fields: the resource kinds the URI may name
    choices: tuple[str, ...] | None = None
    default: Any = NO_DEFAULT  # applied on POST when the field is absent
    required: bool = False  # on POST
    read_only: bool = False  # computed or system-set: ignored in input
    create_only: bool = False  # "SET ONCE": accepted on POST only
    nullable: bool = True
    max_length: int = MAX_STRING
    minimum: float | None = None
    maximum: float | None = None
    filter: bool = True
    sort: bool = False
    link: Link | None = None  # ``uris`` fields

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind
        # One kind per URI field; a polymorphic link (``target_uri``) is a string its Rules check.
        assert self.kind not in ("uri", "uris") or len(self.to) == 1, self.name
        assert (self.kind == "uris") == (self.link is not None) or self.read_only, self.name

    @property
    def column(self) -> str:
        if self.attr is not None:
            return self.attr
        return f"{self.name}_id" if self.kind == "uri" else self.name


def common_fields(*, bureau: bool = True) -> tuple[Field, ...]:
    """``uuid``, ``uri``, ``created``, ``updated`` (and ``bureau``) that every resource has."""
    fields = [
        Field("uuid", "string", attr="id", read_only=True, sort=False),
        Field("uri", "string", attr="id", read_only=True, filter=False),
        Field("created", "datetime", attr="created_at", read_only=True, sort=True),
        Field("updated", "datetime", attr="updated_at", read_only=True, sort=True),
    ]
    if bureau:
        fields.append(Field("bureau", "uri", attr="workspace_id", to=("bureau",), create_only=True))
    return tuple(fields)


Values = dict[str, Any]  # ORM attribute → value, after validation
Links = dict[str, list[uuid.UUID]]  # field name → linked ids, after validation


class Rules:
    """A room's business rules for one resource; every hook is optional."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        """Check or complete a new resource's values before it is inserted."""

    async def before_create_many(
        self, ctx: MesContext, items: Sequence[tuple[Values, Links]]
    ) -> None:
        """:meth:`before_create` of rows created together (:func:`create_resources`); a room
        whose checks query per row overrides it to query once for all."""
        for values, links in items:
            await self.before_create(ctx, values, links)

    async def after_create(self, ctx: MesContext, row: Any, links: Links) -> None:
        """Side effects of a new row (it has been flushed: its id exists in the database)."""

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        """Check a change (``values``/``links`` hold only the fields sent) before it is applied."""

    async def after_update(self, ctx: MesContext, row: Any, changed: set[str]) -> None:
        """Side effects of a change; ``changed`` holds the names of the fields that changed."""

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        """Refuse a delete (raise) or clean up what the database does not cascade."""

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        """Read-only fields computed for a page of rows, set-based (one query for the page)."""
        return {}

    def list_clauses(self, ctx: MesContext, query: ListQuery) -> list[ColumnElement[bool]]:
        """Default filters of a LIST (templates hidden, LIST of line items is of type product)."""
        return []

    def custom_filters(self) -> dict[str, Callable[[Filter], ColumnElement[bool]]]:
        """Filters that are not fields (``filter[name_ilike]``, ``filter[by_order]``)."""
        return {}

    def sql_page(self, ctx: MesContext, sql: Any, page: Any) -> tuple[Any, Values] | None:
        """For a LIST the database renders (:mod:`threadline.mes.pagesql`): ``page`` (the
        subquery of the page's rows) joined to what the computed fields read, and the SQL of
        each computed field. None (the default) renders the page in Python."""
        return None

    def custom_sorts(self) -> dict[str, ColumnElement[Any]]:
        """Sort keys that are not columns of the resource's table (a print's piece ``copy``)."""
        return {}


@dataclass
class Resource:
    """A reference resource served at ``/mes/{kind}/``."""

    kind: str  # path segment, as the reference spells it: "printer-type", "custom_field"
    model: type[Base]
    fields: tuple[Field, ...]
    rules: Rules = field(default_factory=Rules)
    methods: frozenset[str] = frozenset({"LIST", "GET", "POST", "PUT", "DELETE"})
    read_role: Role = Role.viewer
    write_role: Role = Role.engineer
    default_sort: tuple[tuple[str, bool], ...] = (("created", False),)
    label: str = ""  # in messages: "The requested printer-type cannot be found."

    def __post_init__(self) -> None:
        self.label = self.label or self.kind
        self.by_name = {f.name: f for f in self.fields}
        REGISTRY[self.kind] = self

    def attr(self, name: str) -> InstrumentedAttribute[Any]:
        return getattr(self.model, name)  # type: ignore[no-any-return]

    def not_found(self) -> NotFound:
        return NotFound(f"The requested {self.label} cannot be found.", code="RESOURCE_NOT_FOUND")


REGISTRY: dict[str, Resource] = {}


# --- reading ----------------------------------------------------------------------------------


class PageRows(list[Any]):
    """The rows of one LIST page, with the SELECT of their ids: a page's computed fields join
    that SELECT instead of binding a thousand ids (PostgreSQL plans a long IN list slowly)."""

    def __init__(self, rows: Sequence[Any], ids: Any) -> None:
        super().__init__(rows)
        self.ids = ids


def ids_of(rows: Sequence[Any]) -> Any:
    """What ``column.in_()`` takes for the ids of ``rows``: a page's id SELECT, else the ids."""
    return rows.ids if isinstance(rows, PageRows) else [row.id for row in rows]


def _out(ctx: MesContext, f: Field, value: Any) -> Any:
    if value is None:
        return None
    if f.kind == "uri":
        return ctx.uri(f.to[0], value)
    if f.kind == "datetime":
        return iso(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):
        return value.value  # an Enum member
    return value


async def load_links(
    ctx: MesContext, resource: Resource, ids: list[uuid.UUID]
) -> dict[str, dict[uuid.UUID, list[uuid.UUID]]]:
    """Every ``uris`` field of ``ids``: field name → owner id → linked ids (one query a field)."""
    out: dict[str, dict[uuid.UUID, list[uuid.UUID]]] = {}
    for f in resource.fields:
        if f.link is None or not ids:
            continue
        link = f.link
        table = link.table
        stmt = select(table.c[link.owner], table.c[link.target]).where(table.c[link.owner].in_(ids))
        if link.position:
            stmt = stmt.order_by(table.c[link.owner], table.c[link.position])
        grouped: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for owner, target in await ctx.session.execute(stmt):
            grouped[owner].append(target)
        out[f.name] = grouped
    return out


async def render(ctx: MesContext, resource: Resource, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The reference JSON of ``rows``: fields in the resource's order, links and computed
    fields loaded for the whole page at once."""
    ids = [row.id for row in rows]
    links = await load_links(ctx, resource, ids)
    computed = await resource.rules.computed(ctx, rows)
    out = []
    for row in rows:
        item: dict[str, Any] = {}
        extra = computed.get(row.id, {})
        for f in resource.fields:
            if f.name in extra:
                item[f.name] = extra[f.name]
            elif f.name == "uri":
                item["uri"] = ctx.uri(resource.kind, row.id)
            elif f.link is not None:
                kind = f.to[0]
                item[f.name] = [ctx.uri(kind, i) for i in links[f.name].get(row.id, [])]
            elif f.kind == "uris":
                item[f.name] = []
            else:
                item[f.name] = _out(ctx, f, getattr(row, f.column, None))
        out.append(item)
    return out


def _filter_value(f: Field, raw: str) -> Any:
    if f.kind in ("uri", "uris"):
        if raw in ("", "null", "None"):
            return None
        return parse_uri(raw, kinds=f.to, field_name=f"filter[{f.name}]")
    if f.name == "uuid":
        try:
            return uuid.UUID(raw)
        except ValueError:
            raise invalid_value(f"filter[{f.name}]", "must be a uuid") from None
    if f.kind == "boolean":
        lowered = raw.lower()
        if lowered not in ("true", "false", "1", "0"):
            raise invalid_value(f"filter[{f.name}]", "must be true or false")
        return lowered in ("true", "1")
    if f.kind in ("integer", "number"):
        try:
            number = int(raw) if f.kind == "integer" else float(raw)
        except ValueError:
            raise invalid_value(f"filter[{f.name}]", f"must be a {f.kind}") from None
        if f.kind == "number" and not math.isfinite(number):
            raise invalid_value(f"filter[{f.name}]", "must be finite")
        if f.kind == "integer" and not INT_MIN <= number <= INT_MAX:
            raise invalid_value(f"filter[{f.name}]", "is out of range")
        return number
    if f.kind == "datetime":
        return _datetime(raw, f"filter[{f.name}]")
    if f.choices is not None and raw not in f.choices:
        raise invalid_value(f"filter[{f.name}]", "must be one of " + ", ".join(f.choices))
    return raw


def filter_clause(resource: Resource, flt: Filter) -> ColumnElement[bool]:
    f = resource.by_name.get(flt.name)
    if f is None or not f.filter or f.kind in ("object", "array"):
        allowed = sorted(
            [x.name for x in resource.fields if x.filter and x.kind not in ("object", "array")]
            + list(resource.rules.custom_filters())
        )
        raise Invalid(
            f"Unknown filter field {flt.name!r}; filterable: {', '.join(allowed)}.",
            code="UNKNOWN_FILTER",
        )
    if f.link is not None:
        link = f.link
        values = [_filter_value(f, raw) for raw in flt.values]
        owners = select(link.table.c[link.owner]).where(link.table.c[link.target].in_(values))
        return resource.attr("id").in_(owners)
    column = resource.attr(f.column)
    if flt.op == ">":
        return cast(ColumnElement[bool], column > _filter_value(f, flt.values[0]))
    if flt.op == "<":
        return cast(ColumnElement[bool], column < _filter_value(f, flt.values[0]))
    values = [_filter_value(f, raw) for raw in flt.values]
    if None in values:
        rest = [v for v in values if v is not None]
        return column.is_(None) | column.in_(rest) if rest else column.is_(None)
    return column.in_(values) if len(values) > 1 else column == values[0]


def list_statement(ctx: MesContext, resource: Resource, query: ListQuery) -> Any:
    """The SELECT of a LIST: the caller's bureaus, the defaults, the filters, the sort."""
    model = resource.model
    stmt = select(model).where(resource.attr("workspace_id").in_(ctx.bureau_ids))
    custom = resource.rules.custom_filters()
    for flt in query.filters:
        # A custom filter also serves a field that is not filterable as a column (a computed
        # ``usage_state``, a polymorphic ``workstation_type_uri``).
        named = resource.by_name.get(flt.name)
        if flt.name in custom and (named is None or not named.filter):
            stmt = stmt.where(custom[flt.name](flt))
        else:
            stmt = stmt.where(filter_clause(resource, flt))
    for clause in resource.rules.list_clauses(ctx, query):
        stmt = stmt.where(clause)
    order = []
    sorts = resource.rules.custom_sorts()
    for name, descending in query.sort or resource.default_sort:
        f = resource.by_name.get(name)
        if name in sorts:
            order.append(sorts[name].desc() if descending else sorts[name].asc())
            continue
        if f is None or not (f.sort or name in ("created", "updated", "name")) or f.link:
            allowed = sorted(
                {x.name for x in resource.fields if x.sort or x.name == "name"} | set(sorts)
            )
            raise Invalid(
                f"Unknown sort field {name!r}; sortable: {', '.join(allowed)}.",
                code="UNKNOWN_SORT",
            )
        column = resource.attr(f.column)
        order.append(column.desc() if descending else column.asc())
    order.append(resource.attr("id").asc())  # a stable order for paging
    return stmt.order_by(*order)


async def list_resources(ctx: MesContext, resource: Resource, query: ListQuery) -> Response:
    """LIST: one page, its total, rendered."""
    stmt = list_statement(ctx, resource, query)
    count = await ctx.session.scalar(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    )
    page = stmt.limit(query.page.limit).offset(query.page.offset)
    rendered = await _rendered_by_database(ctx, resource, query, page)
    if rendered is not None:
        return list_response_of_texts(rendered, int(count or 0), query.page)
    rows = PageRows(
        (await ctx.session.scalars(page)).all(), page.with_only_columns(resource.attr("id"))
    )
    return list_response(await render(ctx, resource, rows), int(count or 0), query.page)


async def _rendered_by_database(
    ctx: MesContext, resource: Resource, query: ListQuery, page: Any
) -> list[str] | None:
    """The page's rows as JSON texts when the resource's rules give their SQL and the sort is
    on the resource's own columns; else None."""
    if any(f.link is not None for f in resource.fields):
        return None
    sorts = resource.rules.custom_sorts()
    keys = query.sort or resource.default_sort
    if any(name in sorts for name, _ in keys):
        return None
    sql = SqlJson(ctx.session.get_bind().dialect.name, ctx.base_url)
    rows = page.subquery("page")
    found = resource.rules.sql_page(ctx, sql, rows)
    if found is None:
        return None
    from_, computed = found
    order = []
    for name, descending in keys:
        column = rows.c[resource.attr(resource.by_name[name].column).key]
        order.append(column.desc() if descending else column.asc())
    order.append(rows.c.id.asc())
    return list(await ctx.session.scalars(page_select(sql, resource, rows, from_, computed, order)))


def _parse_id(resource: Resource, raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise resource.not_found() from None


async def get_row(ctx: MesContext, resource: Resource, raw_id: str | uuid.UUID) -> Any:
    """The row with that id in one of the caller's bureaus; 404 otherwise."""
    row_id = raw_id if isinstance(raw_id, uuid.UUID) else _parse_id(resource, raw_id)
    row: Any = await ctx.session.get(resource.model, row_id)
    if row is None or row.workspace_id not in ctx.roles:
        raise resource.not_found()
    return row


# --- writing ----------------------------------------------------------------------------------


def _datetime(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise invalid_value(name, "must be an ISO-8601 datetime string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_value(name, "must be an ISO-8601 datetime") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def coerce(f: Field, value: Any) -> Any:
    """One input value checked against its field; returns what the ORM attribute takes."""
    if value is None:
        if not f.nullable:
            raise invalid_value(f.name, "may not be null")
        return None
    if f.kind == "string":
        if not isinstance(value, str):
            raise invalid_value(f.name, "must be a string")
        if len(value) > f.max_length:
            raise invalid_value(f.name, f"must be at most {f.max_length} characters")
        if "\x00" in value:
            raise invalid_value(f.name, "may not contain NUL characters")
        if f.choices is not None and value not in f.choices:
            raise invalid_value(f.name, "must be one of " + ", ".join(f.choices))
        return value
    if f.kind in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise invalid_value(f.name, f"must be a{'n' if f.kind == 'integer' else ''} {f.kind}")
        if f.kind == "integer" and isinstance(value, float):
            if not value.is_integer():
                raise invalid_value(f.name, "must be an integer")
            value = int(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise invalid_value(f.name, "must be a finite number")
        low = f.minimum if f.minimum is not None else (INT_MIN if f.kind == "integer" else -1e15)
        high = f.maximum if f.maximum is not None else (INT_MAX if f.kind == "integer" else 1e15)
        if not low <= value <= high:
            raise invalid_value(f.name, f"must be between {low:g} and {high:g}")
        return value
    if f.kind == "boolean":
        if not isinstance(value, bool):
            raise invalid_value(f.name, "must be true or false")
        return value
    if f.kind == "datetime":
        return _datetime(value, f.name)
    if f.kind == "object":
        if not isinstance(value, dict):
            raise invalid_value(f.name, "must be an object")
        return value
    if f.kind == "array":
        if not isinstance(value, list) or len(value) > MAX_ARRAY:
            raise invalid_value(f.name, f"must be an array of at most {MAX_ARRAY} items")
        return value
    if f.kind == "uri":
        return parse_uri(value, kinds=f.to, field_name=f.name)
    if not isinstance(value, list) or len(value) > MAX_ARRAY:
        raise invalid_value(f.name, f"must be an array of at most {MAX_ARRAY} URIs")
    return [parse_uri(v, kinds=f.to, field_name=f.name) for v in value]


@dataclass
class Input:
    """A validated body: ORM values, link lists, and the references still to be checked."""

    values: Values = field(default_factory=dict)
    links: Links = field(default_factory=dict)
    refs: list[tuple[Field, uuid.UUID]] = field(default_factory=list)


def parse_input(
    resource: Resource,
    body: dict[str, Any],
    *,
    creating: bool,
    aliases: dict[str, str] | None = None,
) -> Input:
    """Validate a POST or PUT body field by field; unknown fields are a 400 naming them."""
    aliases = aliases or {}
    unknown = sorted(k for k in body if k not in resource.by_name and k not in aliases)
    if unknown:
        raise Invalid(
            f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.",
            code="UNKNOWN_FIELD",
            fields=unknown,
        )
    parsed = Input()
    for key, raw in body.items():
        f = resource.by_name[aliases.get(key, key)]
        if f.read_only or (f.create_only and not creating):
            continue  # what GET returned may be sent back as it was
        value = coerce(f, raw)
        if f.kind == "uris":
            parsed.links[f.name] = value
            parsed.refs.extend((f, v) for v in value)
        else:
            parsed.values[f.column] = value
            if f.kind == "uri" and value is not None:
                parsed.refs.append((f, value))
    if creating:
        for f in resource.fields:
            if f.read_only or f.name in body or any(aliases.get(k) == f.name for k in body):
                continue
            if f.default is not NO_DEFAULT:
                default = f.default() if callable(f.default) else f.default
                if f.kind == "uris":
                    parsed.links[f.name] = list(default)
                else:
                    parsed.values[f.column] = default
            elif f.required:
                raise Invalid(
                    f"The field {f.name} is required.", code="FIELD_REQUIRED", field=f.name
                )
    return parsed


async def check_refs(
    ctx: MesContext, workspace_id: uuid.UUID, refs: Iterable[tuple[Field, uuid.UUID]]
) -> None:
    """Every referenced resource exists in the same bureau: one query per referenced kind.

    A URI of another bureau (or of nothing) is a 404 naming the field, as if it did not exist.
    """
    wanted: dict[str, set[uuid.UUID]] = defaultdict(set)
    field_of: dict[tuple[str, uuid.UUID], Field] = {}
    for f, ref_id in refs:
        kind = f.to[0]
        wanted[kind].add(ref_id)
        field_of[(kind, ref_id)] = f
    for kind, ids in wanted.items():
        found = await _existing(ctx, kind, workspace_id, ids)
        for missing in ids - found:
            f = field_of[(kind, missing)]
            raise NotFound(
                f"The requested {kind} cannot be found ({f.name}: {PREFIX}/{kind}/{missing}/).",
                code="RESOURCE_NOT_FOUND",
                field=f.name,
            )


async def _existing(
    ctx: MesContext, kind: str, workspace_id: uuid.UUID, ids: set[uuid.UUID]
) -> set[uuid.UUID]:
    if kind == "bureau":
        return {workspace_id} & ids if workspace_id in ctx.roles else set()
    if kind == "users":
        rows = await ctx.session.scalars(
            select(Membership.user_id).where(
                Membership.workspace_id == workspace_id, Membership.user_id.in_(ids)
            )
        )
        return set(rows)
    target = REGISTRY.get(kind)
    if target is None:  # a kind whose room is not mounted: nothing of it exists
        return set()
    rows = await ctx.session.scalars(
        select(target.attr("id")).where(
            target.attr("id").in_(ids), target.attr("workspace_id") == workspace_id
        )
    )
    return set(rows)


async def write_links(ctx: MesContext, resource: Resource, row_id: uuid.UUID, links: Links) -> None:
    """Replace the given ``uris`` fields of one row (delete + one multi-row insert each)."""
    for name, ids in links.items():
        link = resource.by_name[name].link
        assert link is not None
        await ctx.session.execute(delete(link.table).where(link.table.c[link.owner] == row_id))
        if ids:
            rows = []
            for position, target in enumerate(ids):
                entry: dict[str, Any] = {link.owner: row_id, link.target: target}
                if link.position:
                    entry[link.position] = position
                rows.append(entry)
            await ctx.session.execute(insert(link.table), rows)


def audit_value(ctx: MesContext, f: Field, value: Any) -> Any:
    """A value as the log keeps it: URIs relative (the base URL is the reader's)."""
    if f.kind == "uri" and value is not None:
        return f"{PREFIX}/{f.to[0]}/{value}/"
    if f.kind == "uris":
        return [f"{PREFIX}/{f.to[0]}/{v}/" for v in value]
    return _out(ctx, f, value)


def snapshot(ctx: MesContext, resource: Resource, row: Any, links: Links | None = None) -> Values:
    """The stored fields of a row, as the audit log records them."""
    out: Values = {}
    for f in resource.fields:
        if f.read_only:
            continue
        if f.kind == "uris":
            if links is not None and f.name in links:
                out[f.name] = audit_value(ctx, f, links[f.name])
            continue
        out[f.name] = audit_value(ctx, f, getattr(row, f.column, None))
    return out


async def workspace_of(ctx: MesContext, workspace_id: uuid.UUID) -> Workspace:
    workspace = await ctx.session.get(Workspace, workspace_id)
    assert workspace is not None  # a membership points at it
    return workspace


def record(
    ctx: MesContext,
    resource: Resource,
    workspace: Workspace,
    row_id: uuid.UUID,
    action: str,
    before: Values | None,
    after: Values | None,
) -> None:
    audit.record(
        ctx.session,
        actor=ctx.user,
        workspace=workspace,
        entity_type=f"mes.{resource.kind}",
        entity_id=row_id,
        action=action,
        before=before,
        after=after,
    )


# --- custom field values ----------------------------------------------------------------------

CUSTOM_FIELD_VALUES = "custom_field_values"
# (ctx, resource, bureau id, values sent or None, the row's current values or None, creating)
# → the values to store. Registered by mes/crosscut, which owns the definitions.
CustomFieldCheck = Callable[
    [MesContext, Resource, uuid.UUID, Any, Any, bool], Awaitable[list[Any] | None]
]
_custom_field_checks: list[CustomFieldCheck] = []


def register_custom_field_check(check: CustomFieldCheck) -> None:
    """Have every create and update of a resource with ``custom_field_values`` call ``check``."""
    if check not in _custom_field_checks:
        _custom_field_checks.append(check)


async def check_custom_fields(
    ctx: MesContext,
    resource: Resource,
    workspace_id: uuid.UUID,
    values: Values,
    *,
    row: Any = None,
) -> None:
    """Replace ``custom_field_values`` in ``values`` by what the registered checks make of it:
    on create always (required fields and defaults apply), on update when it was sent. Rooms
    that write without :func:`create_resource` / :func:`update_resource` call this too."""
    f = resource.by_name.get(CUSTOM_FIELD_VALUES)
    if f is None or f.read_only or (row is not None and f.column not in values):
        return
    current = getattr(row, f.column, None) if row is not None else None
    for check in _custom_field_checks:
        result = await check(
            ctx, resource, workspace_id, values.get(f.column), current, row is None
        )
        if result is not None or f.column in values:
            values[f.column] = result


async def create_resource(
    ctx: MesContext, resource: Resource, body: dict[str, Any], *, system: Values | None = None
) -> Any:
    """POST: validate, check references, insert, link, audit. Returns the new row.

    ``system`` holds values the room sets itself (read-only fields such as a run's status and
    workstation type, derived from what the route read before); the rules see them too."""
    return (await create_resources(ctx, resource, [(body, system)]))[0]


async def create_resources(
    ctx: MesContext, resource: Resource, items: Sequence[tuple[dict[str, Any], Values | None]]
) -> list[Any]:
    """Many POSTs at once (the assisted planner's runs): each ``(body, system)`` validated,
    checked, ruled, inserted, linked and audited as :func:`create_resource` does one, with the
    references of all of them checked together (one query per kind), the rules'
    ``before_create_many`` seeing all of them, and one flush for every row."""
    parsed_all: list[Input] = []
    for body, system in items:
        parsed = parse_input(resource, body, creating=True)
        parsed.values.update(system or {})
        workspace_id = parsed.values.get("workspace_id") or ctx.default_bureau()
        ctx.require(workspace_id, resource.write_role)
        parsed.values["workspace_id"] = workspace_id
        parsed_all.append(parsed)
    refs: dict[uuid.UUID, list[tuple[Field, uuid.UUID]]] = defaultdict(list)
    for parsed in parsed_all:
        refs[parsed.values["workspace_id"]].extend(parsed.refs)
    for workspace_id, wanted in refs.items():
        await check_refs(ctx, workspace_id, wanted)
    for parsed in parsed_all:
        await check_custom_fields(ctx, resource, parsed.values["workspace_id"], parsed.values)
    await resource.rules.before_create_many(ctx, [(p.values, p.links) for p in parsed_all])
    rows = [resource.model(**parsed.values) for parsed in parsed_all]
    ctx.session.add_all(rows)
    await ctx.session.flush()  # the ids must exist before links and side effects point at them
    created: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row, parsed in zip(rows, parsed_all, strict=True):
        await write_links(ctx, resource, row.id, parsed.links)
        await resource.rules.after_create(ctx, row, parsed.links)
        after = snapshot(ctx, resource, row, parsed.links)
        workspace_id = parsed.values["workspace_id"]
        created[workspace_id].append((f"mes.{resource.kind}", row.id, "create", None, after))
    for workspace_id, changes in created.items():
        workspace = await workspace_of(ctx, workspace_id)
        audit.record_many(ctx.session, actor=ctx.user, workspace=workspace, changes=changes)
    return rows


async def update_resource(
    ctx: MesContext, resource: Resource, row: Any, body: dict[str, Any]
) -> None:
    """PUT (partial): validate the fields sent, apply, audit what changed before and after."""
    ctx.require(row.workspace_id, resource.write_role)
    parsed = parse_input(resource, body, creating=False)
    await check_refs(ctx, row.workspace_id, parsed.refs)
    await check_custom_fields(ctx, resource, row.workspace_id, parsed.values, row=row)
    await resource.rules.before_update(ctx, row, parsed.values, parsed.links)
    old_links = await load_links(ctx, resource, [row.id]) if parsed.links else {}
    before = snapshot(ctx, resource, row, {k: v.get(row.id, []) for k, v in old_links.items()})
    for attr, value in parsed.values.items():
        setattr(row, attr, value)
    await write_links(ctx, resource, row.id, parsed.links)
    after = snapshot(ctx, resource, row, parsed.links)
    changed = {k for k in after if before.get(k) != after[k]}
    if changed:
        await ctx.session.flush()  # a rule violation surfaces here, inside the request
        await resource.rules.after_update(ctx, row, changed)
        workspace = await workspace_of(ctx, row.workspace_id)
        record(
            ctx,
            resource,
            workspace,
            row.id,
            "update",
            {k: before.get(k) for k in sorted(changed)},
            {k: after[k] for k in sorted(changed)},
        )


# --- what points at a deleted row by uuid alone -------------------------------------------------

# (ctx, the ids of deleted rows: a list or a SELECT of ids) → remove the records that point at
# them without a foreign key (comments, label relationships). Registered by mes/crosscut.
DeleteCleanup = Callable[[MesContext, Any], Awaitable[None]]
_delete_cleanups: list[DeleteCleanup] = []


def register_delete_cleanup(cleanup: DeleteCleanup) -> None:
    """Have every delete of MES rows call ``cleanup`` with their ids."""
    if cleanup not in _delete_cleanups:
        _delete_cleanups.append(cleanup)


async def cleanup_deleted(ctx: MesContext, ids: Any) -> None:
    """Remove what points at the rows ``ids`` (about to be deleted) by uuid alone. A room that
    deletes rows in bulk (an order's line items, pieces and prints) calls it with their SELECT."""
    for cleanup in _delete_cleanups:
        await cleanup(ctx, ids)


async def delete_resource(ctx: MesContext, resource: Resource, row: Any) -> None:
    """DELETE: the room's rules may refuse; the row, its links and the comments and labels on it
    go, audited."""
    ctx.require(row.workspace_id, resource.write_role)
    await resource.rules.before_delete(ctx, row)
    await cleanup_deleted(ctx, [row.id])
    workspace = await workspace_of(ctx, row.workspace_id)
    before = snapshot(ctx, resource, row)
    for f in resource.fields:
        if f.link is not None:
            await ctx.session.execute(
                delete(f.link.table).where(f.link.table.c[f.link.owner] == row.id)
            )
    await ctx.session.delete(row)
    await ctx.session.flush()  # a foreign key that still points at the row fails here, as a 409
    record(ctx, resource, workspace, row.id, "delete", before, None)


# --- routes -----------------------------------------------------------------------------------

Handler = Callable[..., Awaitable[Response]]


def add_route(
    router: APIRouter, path: str, handler: Handler, methods: list[str], **kw: Any
) -> None:
    """``path`` (with its trailing slash, the canonical form) and the same path without it."""
    router.add_api_route(path, handler, methods=methods, **kw)
    kw["include_in_schema"] = False
    router.add_api_route(path.rstrip("/"), handler, methods=methods, **kw)


def mount(router: APIRouter, resource: Resource) -> None:
    """LIST/POST on ``/{kind}/``, GET/PUT/DELETE on ``/{kind}/{uuid}/``, as ``methods`` allows."""
    kind = resource.kind
    tags = [f"mes: {kind}"]

    async def list_(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
        return await list_resources(ctx, resource, parse_list_query(request))

    async def create(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
        row = await create_resource(ctx, resource, await json_body(request))
        return created(ctx.uri(kind, row.id))

    async def read(uuid: str, ctx: MesContext = Depends(mes_context)) -> Response:
        row = await get_row(ctx, resource, uuid)
        return json_response((await render(ctx, resource, [row]))[0])

    async def update(
        uuid: str, request: Request, ctx: MesContext = Depends(mes_context)
    ) -> Response:
        row = await get_row(ctx, resource, uuid)
        await update_resource(ctx, resource, row, await json_body(request))
        return no_content()

    async def remove(uuid: str, ctx: MesContext = Depends(mes_context)) -> Response:
        row = await get_row(ctx, resource, uuid)
        await delete_resource(ctx, resource, row)
        return no_content()

    collection, item = f"/{kind}/", f"/{kind}/{{uuid}}/"
    for method, path, handler, summary in (
        ("LIST", collection, list_, f"List {kind} resources"),
        ("POST", collection, create, f"Create a {kind}"),
        ("GET", item, read, f"Get one {kind}"),
        ("PUT", item, update, f"Update a {kind} (partial)"),
        ("DELETE", item, remove, f"Delete a {kind}"),
    ):
        if method in resource.methods:
            http = "GET" if method == "LIST" else method
            add_route(
                router,
                path,
                handler,
                [http],
                tags=tags,
                summary=summary,
                name=f"mes.{kind}.{method.lower()}",
            )
