"""``/event/``: the one audit log, read as the reference's events (mes-api-reference.txt
``/event/``: "Events are recorded for nearly every change in the system and do not expire").

Every MES write is one audit row (``entity_type`` ``mes.<kind>``, ``before``/``after`` holding
the changed fields; :mod:`threadline.mes.resources`). An event is one key of one row:

- a create shows each field with ``previous_value`` null, a change each changed field with both
  values, a delete each field the resource had with ``current_value`` null;
- ``uuid`` is the audit row's id with the key's position among the row's keys (sorted) in its
  last 16 bits, which audit ids keep zero (``audit.models.KEY_BITS``): unique, stable (audit
  rows never change) and reversible, so ``GET /event/{uuid}/`` finds its row by one range
  lookup on the primary key;
- values keep the log's relative URIs (``/mes/order/{uuid}/``) and are shown absolute.

A page is one statement (plus its count): the rows' keys are opened up in SQL
(:mod:`threadline.mes.crosscut.jsonsql`), so paging, ``filter[key]`` and the total are over
events, not over audit rows.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, func, select, true, union
from sqlalchemy.sql.elements import ColumnElement

from threadline.audit.models import KEY_BITS, AuditEvent
from threadline.db import iso
from threadline.errors import Invalid, NotFound
from threadline.mes.crosscut.jsonsql import object_keys
from threadline.mes.face import PREFIX, Filter, ListQuery, MesContext, invalid_value, parse_uri
from threadline.mes.resources import Field, coerce

ENTITY_PREFIX = "mes."
# Audit rows that are notices rather than changes (a mention tells the mentioned user).
NOT_CHANGES = ("mention",)
FILTERS = ("bureau", "created", "key", "reference", "user")
_KEY_MASK = (1 << KEY_BITS) - 1
_RELATIVE_URI = re.compile(rf"^{PREFIX}/[a-z0-9_-]+/[0-9a-fA-F-]{{32,36}}/$")


def not_found() -> NotFound:
    return NotFound("The requested event cannot be found.", code="RESOURCE_NOT_FOUND")


def event_id(audit_id: uuid.UUID, position: int) -> uuid.UUID:
    """The event of the ``position``-th key (sorted) of the audit row ``audit_id``."""
    return uuid.UUID(int=(audit_id.int & ~_KEY_MASK) | position)


def _keys(row: AuditEvent) -> list[str]:
    keys: set[str] = set()
    for document in (row.before, row.after):
        if isinstance(document, dict):
            keys.update(document)
    return sorted(keys)


def _absolute(ctx: MesContext, value: Any) -> Any:
    if isinstance(value, str) and _RELATIVE_URI.match(value):
        return ctx.base_url + value
    if isinstance(value, list):
        return [_absolute(ctx, item) for item in value]
    if isinstance(value, dict):
        return {key: _absolute(ctx, item) for key, item in value.items()}
    return value


def render(ctx: MesContext, row: AuditEvent, key: str) -> dict[str, Any]:
    """One event as the reference shows it."""
    ident = event_id(row.id, _keys(row).index(key))
    before = row.before if isinstance(row.before, dict) else {}
    after = row.after if isinstance(row.after, dict) else {}
    kind = row.entity_type.removeprefix(ENTITY_PREFIX)
    assert row.workspace_id is not None  # MES rows always belong to a bureau
    return {
        "uuid": str(ident),
        "uri": ctx.uri("event", ident),
        "reference": ctx.uri(kind, row.entity_id),
        "key": key,
        "previous_value": _absolute(ctx, before.get(key)),
        "current_value": _absolute(ctx, after.get(key)),
        "user": ctx.uri("users", row.actor_id) if row.actor_id else None,
        "bureau": ctx.uri("bureau", row.workspace_id),
        "created": iso(row.created_at),
    }


# --- filters ------------------------------------------------------------------------------------


def _reference(raw: str) -> tuple[str, str]:
    """``(entity_type, entity_id)`` of a resource URI of any MES kind."""
    path = urlsplit(raw).path if "://" in raw else raw
    parts = [part for part in path.split("/") if part]
    if parts[:1] == [PREFIX.strip("/")]:
        parts = parts[1:]
    if len(parts) != 2 or not re.fullmatch(r"[a-z0-9_-]+", parts[0]):
        raise invalid_value("filter[reference]", "must be a URI of the form /mes/{kind}/{uuid}/")
    try:
        ident = uuid.UUID(parts[1])
    except ValueError:
        raise invalid_value("filter[reference]", "must name a resource by its uuid") from None
    return ENTITY_PREFIX + parts[0], str(ident)


def _row_clause(flt: Filter) -> ColumnElement[bool]:
    """A filter on the audit row (every filter but ``key``)."""
    name = f"filter[{flt.name}]"
    if flt.name == "created":
        column = AuditEvent.created_at
        when = coerce(Field(name, "datetime"), flt.values[0]) if flt.op != "=" else None
        if flt.op == ">":
            return column > when
        if flt.op == "<":
            return column < when
        moments = [coerce(Field(name, "datetime"), raw) for raw in flt.values]
        return column.in_(moments)
    if flt.op != "=":
        raise Invalid(f"{name} takes no range; use {name}=value.", code="INVALID_FILTER")
    if flt.name == "reference":
        pairs = [_reference(raw) for raw in flt.values]
        clauses = [
            (AuditEvent.entity_type == kind) & (AuditEvent.entity_id == ident)
            for kind, ident in pairs
        ]
        clause = clauses[0]
        for other in clauses[1:]:
            clause = clause | other
        return clause
    kinds = {"user": ("users",), "bureau": ("bureau",)}[flt.name]
    ids = [parse_uri(raw, kinds=kinds, field_name=name) for raw in flt.values]
    if flt.name == "user":
        return AuditEvent.actor_id.in_(ids)
    return AuditEvent.workspace_id.in_(ids)


def _check_filters(query: ListQuery) -> None:
    for flt in query.filters:
        if flt.name not in FILTERS:
            raise Invalid(
                f"Unknown filter field {flt.name!r}; filterable: {', '.join(FILTERS)}.",
                code="UNKNOWN_FILTER",
            )
    for name, _descending in query.sort:
        if name != "created":
            raise Invalid(f"Unknown sort field {name!r}; sortable: created.", code="UNKNOWN_SORT")


def _mes_rows(ctx: MesContext) -> list[ColumnElement[bool]]:
    return [
        AuditEvent.workspace_id.in_(ctx.bureau_ids),
        AuditEvent.entity_type.startswith(ENTITY_PREFIX, autoescape=True),
        AuditEvent.action.not_in(NOT_CHANGES),
    ]


async def _statement(ctx: MesContext, query: ListQuery) -> Select[Any]:
    """Audit rows joined with their keys, the caller's bureaus only, filtered and sorted."""
    _check_filters(query)
    dialect = (await ctx.session.connection()).dialect.name
    rows = _mes_rows(ctx) + [_row_clause(f) for f in query.filters if f.name != "key"]
    sides = []
    for column in (AuditEvent.before, AuditEvent.after):
        keys = object_keys(dialect, column)
        sides.append(
            select(AuditEvent.id.label("audit_id"), keys.c.key.label("key"))
            .select_from(AuditEvent)
            .join(keys, true())  # lateral: the function reads the row beside it
            .where(*rows)
        )
    changes = union(*sides).subquery("changes")
    stmt = select(AuditEvent, changes.c.key).join(changes, changes.c.audit_id == AuditEvent.id)
    for flt in query.filters:
        if flt.name == "key":
            if flt.op != "=":
                raise Invalid("filter[key] takes no range.", code="INVALID_FILTER")
            stmt = stmt.where(changes.c.key.in_(flt.values))
    descending = any(d for _name, d in query.sort)
    order = [AuditEvent.created_at, AuditEvent.id, changes.c.key]
    return stmt.order_by(*(c.desc() if descending else c.asc() for c in order))


async def list_events(ctx: MesContext, query: ListQuery) -> tuple[list[dict[str, Any]], int]:
    """One page of events and the number of events the filters select."""
    stmt = await _statement(ctx, query)
    count = await ctx.session.scalar(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    )
    page: Sequence[Any] = (
        await ctx.session.execute(stmt.limit(query.page.limit).offset(query.page.offset))
    ).all()
    return [render(ctx, row, key) for row, key in page], int(count or 0)


async def get_event(ctx: MesContext, raw_id: str) -> dict[str, Any]:
    """One event by uuid: its audit row is the one whose id differs only in the key bits."""
    try:
        ident = uuid.UUID(raw_id)
    except ValueError:
        raise not_found() from None
    low = uuid.UUID(int=ident.int & ~_KEY_MASK)
    high = uuid.UUID(int=ident.int | _KEY_MASK)
    row = await ctx.session.scalar(
        select(AuditEvent).where(AuditEvent.id.between(low, high), *_mes_rows(ctx)).limit(1)
    )
    position = ident.int & _KEY_MASK
    keys = _keys(row) if row is not None else []
    if row is None or position >= len(keys):
        raise not_found()
    return render(ctx, row, keys[position])
