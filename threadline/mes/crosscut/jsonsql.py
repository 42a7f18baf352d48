"""JSON documents opened up in SQL, on SQLite (``json_each``) and PostgreSQL (``jsonb_*``).

The audit log keeps a change's fields as one JSON object and a row's custom field values as one
JSON array; ``/event/`` pages over the object's keys and ``/custom_field/``'s ``use_count``
counts the array's items, each in one statement rather than by loading documents into Python.
A document of another shape (JSON ``null`` for the missing side of a create) opens up empty.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, cast, func, literal
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement


def _postgresql(dialect: str) -> bool:
    return dialect == "postgresql"


def object_keys(dialect: str, column: Any) -> Any:
    """A table-valued ``(key)`` of the keys of a JSON object column, joinable laterally."""
    if _postgresql(dialect):
        # jsonb_object_keys refuses anything but an object, so others become {} first; the
        # alias names its column (``AS anon(key)``), which a one-column function needs there.
        document = case(
            (func.jsonb_typeof(column) == "object", column),
            else_=cast(literal("{}"), JSONB),
        )
        return func.jsonb_object_keys(document).table_valued("key").render_derived()
    document = case((func.json_type(column) == "object", column), else_=literal("{}"))
    return func.json_each(document).table_valued("key")


def array_items(dialect: str, column: Any) -> Any:
    """A table-valued ``(value)`` of the items of a JSON array column, joinable laterally."""
    if _postgresql(dialect):
        document = case(
            (func.jsonb_typeof(column) == "array", column),
            else_=cast(literal("[]"), JSONB),
        )
        return func.jsonb_array_elements(document).table_valued("value").render_derived()
    document = case((func.json_type(column) == "array", column), else_=literal("[]"))
    return func.json_each(document).table_valued("value")


def item_text(dialect: str, item: Any, key: str) -> ColumnElement[Any]:
    """The text of ``item[key]`` for an item of :func:`array_items`."""
    if _postgresql(dialect):
        return item.op("->>")(literal(key))  # type: ignore[no-any-return]
    return func.json_extract(item, f"$.{key}")
