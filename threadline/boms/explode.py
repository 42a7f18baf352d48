"""The full explosion of a BOM (``GET /v1/boms/:id``) as JSON text the database writes.

A 100,000-line tree through Python objects costs a row object, a ``Line``, a node dict and an
encoder pass per line — three times the time of fetching the rows. Here the database renders
each line's JSON object (everything but ``alternates``, ``level`` and ``children``) in the same
statement that fetches it, already in sibling order; Python only links lines to their parents
and writes the nested text in one depth-first pass. The rows carry just what the warnings need
besides (compliance flags, refdes, quantity).

The output is the same tree :func:`threadline.boms.tree.tree_json` describes, number for number:
quantities and costs are JSON numbers written from the stored decimals.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.boms.models import BomItem, BomItemAlternate
from threadline.boms.warnings import item_warnings
from threadline.catalog.models import Part


@dataclass
class Explosion:
    """The ``items`` array as JSON text, the line count and the warnings in tree order."""

    items_json: str
    line_count: int
    warnings: list[dict[str, Any]]


async def explode(session: AsyncSession, bom_id: uuid.UUID) -> Explosion:
    """Two statements (lines with their JSON, alternates), one pass to nest them."""
    connection = await session.connection()
    dialect = connection.dialect.name
    rows = (
        await connection.execute(
            select(
                cast(BomItem.id, Text),
                cast(BomItem.parent_item_id, Text),
                _node_json(dialect),
                Part.part_number,
                Part.rohs_compliant,
                Part.reach_compliant,
                Part.conflict_minerals,
                BomItem.refdes,
                cast(BomItem.qty, Text),
            )
            .join(Part, Part.id == BomItem.child_part_id)
            .where(BomItem.bom_id == bom_id)
            # Sibling order, as tree.arrange sorts: code-point order of part numbers.
            .order_by(BomItem.sort_index, _binary(Part.part_number, dialect), BomItem.id)
        )
    ).all()
    alternates = await _alternates_json(session, bom_id) if rows else {}
    children: dict[str | None, list[Any]] = {}
    ids = {row[0] for row in rows}
    for row in rows:  # in sibling order, so every list of children comes out sorted
        parent = row[1] if row[1] in ids else None  # a dangling parent: shown at the top
        siblings = children.get(parent)
        if siblings is None:
            children[parent] = [row]
        else:
            siblings.append(row)
    pieces: list[str] = []
    warnings: list[dict[str, Any]] = []
    _write(children, children.get(None, []), 1, alternates, pieces, warnings)
    return Explosion(items_json="".join(pieces), line_count=len(rows), warnings=warnings)


def _write(
    children: dict[str | None, list[Any]],
    lines: list[Any],
    level: int,
    alternates: dict[str, str],
    pieces: list[str],
    warnings: list[dict[str, Any]],
) -> None:
    """Append ``[line, line, ...]`` with every descendant nested; depth first, so warnings come
    out in tree order. Recursion depth is the BOM's depth (tree.MAX_DEPTH at most)."""
    append = pieces.append
    append("[")
    tail = f',"level":{level},"alternates":'
    for index, row in enumerate(lines):
        item_id, _parent, node, number, rohs, reach, minerals, refdes, qty = row
        if index:
            append(",")
        append(node[:-1])  # the database's object, reopened for the keys only Python knows
        append(tail)
        append(alternates.get(item_id, "[]"))
        append(',"children":')
        below = children.get(item_id)
        if below:
            _write(children, below, level + 1, alternates, pieces, warnings)
        else:
            append("[]")
        append("}")
        if rohs is False or reach is False or minerals or refdes:
            warnings.extend(
                item_warnings(
                    item_id=_canonical_uuid(item_id),
                    part_number=number,
                    rohs_compliant=rohs,
                    reach_compliant=reach,
                    conflict_minerals=minerals,
                    refdes=refdes,
                    qty=Decimal(qty),
                )
            )
    append("]")


async def _alternates_json(session: AsyncSession, bom_id: uuid.UUID) -> dict[str, str]:
    """Each line's alternates as JSON text, keyed like the explosion's ids."""
    rows = (
        await session.execute(
            select(
                cast(BomItemAlternate.item_id, Text),
                BomItemAlternate.part_id,
                Part.part_number,
                BomItemAlternate.approval,
                BomItemAlternate.rationale,
            )
            .join(Part, Part.id == BomItemAlternate.part_id)
            .join(BomItem, BomItem.id == BomItemAlternate.item_id)
            .where(BomItem.bom_id == bom_id)
            .order_by(Part.part_number)
        )
    ).all()
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item_id, part_id, number, approval, rationale in rows:
        grouped.setdefault(item_id, []).append(
            {
                "partId": str(part_id),
                "partNumber": number,
                "approval": approval.value,
                "rationale": rationale,
            }
        )
    return {item_id: orjson.dumps(group).decode() for item_id, group in grouped.items()}


# --- the per-line JSON, per dialect ----------------------------------------------------------

_EFFECTIVITY = (
    ("dateFrom", BomItem.date_from),
    ("dateTo", BomItem.date_to),
    ("serialFrom", BomItem.serial_from),
    ("serialTo", BomItem.serial_to),
    ("lotFrom", BomItem.lot_from),
    ("lotTo", BomItem.lot_to),
)
_NO_EFFECTIVITY = orjson.dumps(dict.fromkeys(key for key, _column in _EFFECTIVITY)).decode()


def _node_json(dialect: str) -> ColumnElement[str]:
    return _postgresql_node() if dialect == "postgresql" else _sqlite_node()


def _postgresql_node() -> ColumnElement[str]:
    """The object by concatenation: ``json_build_object`` over 100k rows takes twice as long.
    Strings go through ``to_json`` (escaping); numerics' text is already a JSON number."""

    def text(column: Any) -> ColumnElement[str]:
        return cast(column, Text)

    def string(column: Any) -> ColumnElement[str]:
        return func.coalesce(text(func.to_json(column)), "null")

    def number(column: Any) -> ColumnElement[str]:
        return func.coalesce(text(column), "null")

    no_effectivity = and_(*(column.is_(None) for _key, column in _EFFECTIVITY))
    effectivity = case(
        (no_effectivity, literal(_NO_EFFECTIVITY)),
        else_=text(
            func.json_build_object(
                *(part for key, column in _EFFECTIVITY for part in (literal(key), column))
            )
        ),
    )
    return type_coerce(
        func.concat(
            '{"id":"',
            text(BomItem.id),
            '","parentItemId":',
            string(text(BomItem.parent_item_id)),
            ',"childPartId":"',
            text(BomItem.child_part_id),
            '","childVersionId":',
            string(text(BomItem.child_version_id)),
            ',"partNumber":',
            string(Part.part_number),
            ',"name":',
            string(Part.name),
            ',"qty":',
            text(BomItem.qty),
            ',"uom":',
            string(BomItem.uom),
            ',"refdes":',
            string(BomItem.refdes),
            ',"notes":',
            string(BomItem.notes),
            ',"sortIndex":',
            text(BomItem.sort_index),
            ',"attributes":',
            func.coalesce(text(BomItem.attributes), "null"),
            ',"effectivity":',
            effectivity,
            ',"unitCost":',
            number(Part.unit_cost),
            ',"currency":',
            string(Part.currency),
            "}",
        ),
        Text,
    )


def _sqlite_node() -> ColumnElement[str]:
    """SQLite's ``json_object``; ids are stored as 32 hex digits and shown hyphenated."""
    effectivity = func.json_object(
        *(part for key, column in _EFFECTIVITY for part in (literal(key), column))
    )
    return type_coerce(
        func.json_object(
            "id",
            _sqlite_uuid(BomItem.id),
            "parentItemId",
            _sqlite_uuid(BomItem.parent_item_id),
            "childPartId",
            _sqlite_uuid(BomItem.child_part_id),
            "childVersionId",
            _sqlite_uuid(BomItem.child_version_id),
            "partNumber",
            Part.part_number,
            "name",
            Part.name,
            "qty",
            BomItem.qty,
            "uom",
            BomItem.uom,
            "refdes",
            BomItem.refdes,
            "notes",
            BomItem.notes,
            "sortIndex",
            BomItem.sort_index,
            "attributes",
            func.json(type_coerce(BomItem.attributes, Text)),
            "effectivity",
            effectivity,
            "unitCost",
            Part.unit_cost,
            "currency",
            Part.currency,
        ),
        Text,
    )


def _sqlite_uuid(column: Any) -> ColumnElement[str]:
    hex_digits = type_coerce(column, Text)
    groups = [func.substr(hex_digits, start, length, type_=Text) for start, length in _UUID_GROUPS]
    hyphenated: ColumnElement[str] = groups[0]
    for group in groups[1:]:
        hyphenated = hyphenated + "-" + group
    return case((hex_digits.is_(None), null()), else_=hyphenated)


_UUID_GROUPS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))


def _binary(column: ColumnElement[str] | Any, dialect: str) -> ColumnElement[str]:
    """``column`` compared by code point, as Python compares strings (PostgreSQL's default
    collation would sort by the locale's rules)."""
    expression: ColumnElement[str] = column.collate("C") if dialect == "postgresql" else column
    return expression


def _canonical_uuid(value: str) -> str:
    """The explosion's id text (PostgreSQL: canonical; SQLite: 32 hex digits) as canonical."""
    if len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return value
