"""A LIST page rendered to JSON by the database, for the long pages of the floor (``/piece/``).

:func:`threadline.mes.resources.render` builds each row's JSON in Python from ORM objects; for a
page of 1,000 pieces that is most of the request. A resource whose rules give the SQL of their
computed fields (:meth:`Rules.sql_page`) is instead rendered by one SELECT that returns each row
as a JSON text (``json_build_object`` on PostgreSQL, ``json_object`` on SQLite), joined here into
the page. The SQL below writes every field exactly as ``render`` does — URIs, ISO timestamps
(``Z``, microseconds only when there are some), booleans, JSON documents, enum values — and
``tests/mes/test_demand_pages.py`` checks the two renderings agree field by field.

SQLite keeps a UUID as 32 hex digits and a timestamp as ``YYYY-MM-DD HH:MM:SS.ffffff`` text; the
expressions turn them into the forms the API shows.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    Boolean,
    String,
    Uuid,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from threadline.mes.face import PREFIX

_KEY = re.compile(r"^[a-z][a-z0-9_-]*$")


class SqlJson:
    """The SQL forms of one dialect; ``base`` is the request's base URL."""

    def __init__(self, dialect: str, base_url: str) -> None:
        self.postgresql = dialect == "postgresql"
        self.base_url = base_url

    def text(self, value: str) -> ColumnElement[Any]:
        return literal(value, String)

    def uuid(self, column: Any) -> ColumnElement[Any]:
        """A UUID as the API writes it: 8-4-4-4-12 lowercase hex (NULL stays NULL)."""
        if self.postgresql:
            return cast(column, String)
        parts = [func.substr(column, start, length) for start, length in _UUID_PARTS]
        dashed: ColumnElement[Any] = parts[0]
        for part in parts[1:]:
            dashed = dashed + literal("-") + part
        return func.lower(dashed)

    def uri(self, kind: str, column: Any) -> ColumnElement[Any]:
        """``{base}/mes/{kind}/{uuid}/``, NULL for a NULL id (``||`` with NULL is NULL)."""
        return self.text(f"{self.base_url}{PREFIX}/{kind}/") + self.uuid(column) + literal("/")

    def timestamp(self, column: Any, *, utc_suffix: str = "Z") -> ColumnElement[Any]:
        """``datetime.isoformat()``: ``YYYY-MM-DDTHH:MM:SS[.ffffff]`` and the UTC suffix."""
        if self.postgresql:
            utc = func.timezone("UTC", column)
            seconds = func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS')
            micros = func.to_char(utc, "US")
            fraction = case((micros == "000000", literal("")), else_=literal(".") + micros)
            return seconds + fraction + self.text(utc_suffix)
        whole = func.substr(column, 1, 10) + literal("T") + func.substr(column, 12, 8)
        fraction = case(
            (func.substr(column, 21, 6) == "000000", literal("")),
            else_=literal(".") + func.substr(column, 21, 6),
        )
        return case((column.is_(None), null()), else_=whole + fraction + self.text(utc_suffix))

    def boolean(self, expression: Any) -> ColumnElement[Any]:
        if self.postgresql:
            return cast(expression, Boolean())
        return func.json(
            case(
                (expression.is_(None), literal("null")),
                (expression, literal("true")),
                else_=literal("false"),
            )
        )

    def document(self, column: Any) -> ColumnElement[Any]:
        """A JSON column embedded as JSON (SQLite keeps it as text)."""
        return column if self.postgresql else func.json(column)

    def obj(self, pairs: list[tuple[str, Any]]) -> ColumnElement[Any]:
        """One JSON object, keys in order, as text."""
        args: list[Any] = []
        for key, value in pairs:
            assert _KEY.match(key), key  # keys are field names of the code, inlined
            args += [literal_column(f"'{key}'"), value]
        if self.postgresql:
            return cast(func.json_build_object(*args), String)
        return func.json_object(*args)


_UUID_PARTS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))


def field_sql(sql: SqlJson, resource: Any, f: Any, row: Any) -> ColumnElement[Any]:
    """The SQL of one stored field of ``row`` (a FROM element with the model's columns),
    written as :func:`threadline.mes.resources._out` writes it."""
    if f.name == "uri":
        return sql.uri(resource.kind, row.c.id)
    if f.column not in row.c:
        return null()  # a field the rules compute, absent from the table
    column = row.c[f.column]
    if f.kind == "uri":
        return sql.uri(f.to[0], column)
    if f.kind == "datetime":
        return sql.timestamp(column)
    if f.kind == "boolean":
        return sql.boolean(column)
    if f.kind in ("object", "array"):
        return sql.document(column)
    if isinstance(column.type, Uuid):
        return sql.uuid(column)
    return column  # type: ignore[no-any-return]


def page_select(
    sql: SqlJson, resource: Any, page: Any, from_: Any, computed: dict[str, Any], order: list[Any]
) -> Any:
    """The SELECT of one JSON text per row of ``page`` (a subquery of the page's rows), over
    ``from_`` (the page joined to what the computed fields read), in ``order``."""
    pairs = [
        (f.name, computed[f.name] if f.name in computed else field_sql(sql, resource, f, page))
        for f in resource.fields
    ]
    return select(sql.obj(pairs)).select_from(from_).order_by(*order)
