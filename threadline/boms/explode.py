"""The two whole-tree reads of a BOM — the full explosion (``GET /v1/boms/:id``) and the cost
rollup — as JSON text the database writes.

A 100,000-line tree through Python objects costs a row object, a ``Line``, a dict and an encoder
pass per line: three times the time of fetching the rows. Here the statement that fetches the
lines also renders each one's JSON object (what only the tree walk knows — level, children,
extended quantities — is left out) and returns them in sibling order; Python links lines to
their parents and writes the nested or flat text in one depth-first pass, reading just the few
plain columns the walk needs (quantities, costs, what the warnings look at).

The output is what the API documents: quantities and costs are JSON numbers written from the
stored decimals, ids canonical UUIDs. Other whole-BOM work (diff, exports) uses
:mod:`threadline.boms.tree`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

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
from threadline.boms.tree import alternates_by_line, convert_cost, uuid_text
from threadline.boms.warnings import item_warnings
from threadline.catalog.models import Part

# How a value is written into the JSON text, per dialect (see _render).
Kind = Literal["uuid", "string", "number", "json", "effectivity"]

_EFFECTIVITY = (
    ("dateFrom", BomItem.date_from),
    ("dateTo", BomItem.date_to),
    ("serialFrom", BomItem.serial_from),
    ("serialTo", BomItem.serial_to),
    ("lotFrom", BomItem.lot_from),
    ("lotTo", BomItem.lot_to),
)
_NO_EFFECTIVITY = orjson.dumps(dict.fromkeys(key for key, _column in _EFFECTIVITY)).decode()

_NODE: tuple[tuple[str, Any, Kind], ...] = (
    ("id", BomItem.id, "uuid"),
    ("parentItemId", BomItem.parent_item_id, "uuid"),
    ("childPartId", BomItem.child_part_id, "uuid"),
    ("childVersionId", BomItem.child_version_id, "uuid"),
    ("partNumber", Part.part_number, "string"),
    ("name", Part.name, "string"),
    ("qty", BomItem.qty, "number"),
    ("uom", BomItem.uom, "string"),
    ("refdes", BomItem.refdes, "string"),
    ("notes", BomItem.notes, "string"),
    ("sortIndex", BomItem.sort_index, "number"),
    ("attributes", BomItem.attributes, "json"),
    ("effectivity", None, "effectivity"),
    ("unitCost", Part.unit_cost, "number"),
    ("currency", Part.currency, "string"),
)
_ROLLUP_LINE: tuple[tuple[str, Any, Kind], ...] = (
    ("itemId", BomItem.id, "uuid"),
    ("partNumber", Part.part_number, "string"),
    ("qty", BomItem.qty, "number"),
    ("unitCost", Part.unit_cost, "number"),
    ("currency", Part.currency, "string"),
)


# --- explosion -------------------------------------------------------------------------------


@dataclass
class Explosion:
    """The ``items`` array as JSON text, the line count and the warnings in tree order."""

    items_json: str
    line_count: int
    warnings: list[dict[str, Any]]


async def explode(session: AsyncSession, bom_id: uuid.UUID) -> Explosion:
    """Two statements (lines with their JSON, alternates), one pass to nest them."""
    rows = await _lines(
        session,
        bom_id,
        _NODE,
        Part.part_number,
        Part.rohs_compliant,
        Part.reach_compliant,
        Part.conflict_minerals,
        BomItem.refdes,
        cast(BomItem.qty, Text),
    )
    alternates = await _alternates_json(session, bom_id) if rows else {}
    children = _nest(rows)
    pieces: list[str] = []
    warnings: list[dict[str, Any]] = []

    def write(lines: list[Any], level: int) -> None:
        """``[line, ...]`` with every descendant nested; depth first, so warnings come out in
        tree order. Recursion depth is the BOM's depth (tree.MAX_DEPTH at most)."""
        append = pieces.append
        append("[")
        tail = f',"level":{level},"alternates":'
        for index, row in enumerate(lines):
            item_id, _parent, node, number, rohs, reach, minerals, refdes, qty = row
            if index:
                append(",")
            if rohs is False or reach is False or minerals or refdes:
                warnings.extend(
                    item_warnings(
                        item_id=uuid_text(item_id),
                        part_number=number,
                        rohs_compliant=rohs,
                        reach_compliant=reach,
                        conflict_minerals=minerals,
                        refdes=refdes,
                        qty=Decimal(qty),
                    )
                )
            append(node)  # the database's object, still open for the keys only we know
            append(tail)
            append(alternates.get(item_id, "[]"))
            append(',"children":')
            below = children.get(item_id)
            if below:
                write(below, level + 1)
            else:
                append("[]")
            append("}")
        append("]")

    write(children.get(None, []), 1)
    return Explosion(items_json="".join(pieces), line_count=len(rows), warnings=warnings)


async def _alternates_json(session: AsyncSession, bom_id: uuid.UUID) -> dict[str, str]:
    """Each line's alternates as JSON text, keyed like the lines' ids (their text)."""
    key = cast(BomItemAlternate.item_id, Text)
    grouped = await alternates_by_line(session, bom_id, key)
    return {item_id: orjson.dumps(alternates).decode() for item_id, alternates in grouped.items()}


# --- cost rollup -----------------------------------------------------------------------------


@dataclass
class Rollup:
    """The rollup's ``lines`` and ``missingCost`` arrays as JSON text, and its total."""

    total: Decimal
    lines_json: str
    missing_json: str
    complete: bool


async def cost_rollup(
    session: AsyncSession, bom_id: uuid.UUID, *, base: str, rates: dict[str, Decimal]
) -> Rollup:
    """Cost of one assembly: the sum over leaf lines of extended quantity times unit cost, in
    ``base``.

    A line with children is costed by its children (its own catalog cost would count twice).
    A leaf with no unit cost, or in a currency without a rate, is listed in ``missingCost`` and
    contributes nothing: the total is then a lower bound and ``complete`` false.
    """
    rows = await _lines(
        session,
        bom_id,
        _ROLLUP_LINE,
        cast(BomItem.qty, Text),
        cast(Part.unit_cost, Text),
        Part.currency,
    )
    children = _nest(rows)
    lines: list[str] = []
    missing: list[str] = []
    total = Decimal(0)
    stack: list[tuple[Any, int, Decimal]] = [
        (row, 1, Decimal(1)) for row in reversed(children.get(None, []))
    ]
    while stack:  # depth first, parents before children, siblings in order
        row, level, multiplier = stack.pop()
        item_id, _parent, line, qty, unit_cost, currency = row
        extended = Decimal(qty) * multiplier
        below = children.get(item_id)
        cost: Decimal | None = None
        if not below:
            amount = Decimal(unit_cost) if unit_cost is not None else None
            unit = convert_cost(amount, currency, base, rates)
            if unit is not None:
                cost = unit * extended
                total += cost
        text = (
            f'{line},"level":{level},"extendedQty":{float(extended)!r},'
            f'"extendedCost":{"null" if cost is None else repr(float(cost))}}}'
        )
        lines.append(text)
        if below:
            stack.extend((child, level + 1, extended) for child in reversed(below))
        elif cost is None:
            missing.append(text)
    return Rollup(
        total=total,
        lines_json=f"[{','.join(lines)}]",
        missing_json=f"[{','.join(missing)}]",
        complete=not missing,
    )


# --- shared: one statement for the lines, nesting, rendering ----------------------------------


async def _lines(
    session: AsyncSession,
    bom_id: uuid.UUID,
    rendered: Sequence[tuple[str, Any, Kind]],
    *plain: Any,
) -> Sequence[Any]:
    """Every line of ``bom_id`` in sibling order: its id and parent id as text (compared, never
    shown), the JSON object of the ``rendered`` fields, then the ``plain`` columns."""
    connection = await session.connection()
    dialect = connection.dialect.name
    return (
        await connection.execute(
            select(
                cast(BomItem.id, Text),
                cast(BomItem.parent_item_id, Text),
                _render(rendered, dialect),
                *plain,
            )
            .join(Part, Part.id == BomItem.child_part_id)
            .where(BomItem.bom_id == bom_id)
            # As tree.arrange orders siblings: sort index, then part number by code point.
            .order_by(BomItem.sort_index, _by_code_point(Part.part_number, dialect), BomItem.id)
        )
    ).all()


def _nest(rows: Sequence[Any]) -> dict[str | None, list[Any]]:
    """Each line's children (``None``: the top level), in the rows' order. A line whose parent
    is not in the BOM is shown at the top, as tree.arrange does."""
    ids = {row[0] for row in rows}
    children: dict[str | None, list[Any]] = {}
    for row in rows:
        parent = row[1] if row[1] in ids else None
        siblings = children.get(parent)
        if siblings is None:
            children[parent] = [row]
        else:
            siblings.append(row)
    return children


def _render(fields: Sequence[tuple[str, Any, Kind]], dialect: str) -> ColumnElement[str]:
    """The SQL for one JSON object of ``fields`` *without its closing brace*, so the walk can
    add keys by appending: PostgreSQL by concatenation (``json_build_object`` over 100k rows
    takes twice as long), SQLite by ``json_object`` with its brace trimmed (the last field is
    never an object, so the brace trimmed is the object's own)."""
    assert fields[-1][2] not in ("json", "effectivity")
    if dialect == "postgresql":
        parts: list[Any] = []
        for index, (key, column, kind) in enumerate(fields):
            parts.append(("{" if index == 0 else ",") + orjson.dumps(key).decode() + ":")
            parts.append(_postgresql_value(column, kind))
        return type_coerce(func.concat(*parts), Text)
    arguments: list[Any] = []
    for key, column, kind in fields:
        arguments += [key, _sqlite_value(column, kind)]
    return type_coerce(func.rtrim(func.json_object(*arguments), "}"), Text)


def _postgresql_value(column: Any, kind: Kind) -> ColumnElement[str]:
    """Strings through ``to_json`` (escaping); a numeric's or jsonb's text is already JSON."""
    if kind == "number" or kind == "json":
        return func.coalesce(cast(column, Text), "null")
    if kind == "uuid":
        return func.coalesce(literal('"') + cast(column, Text) + '"', "null")
    if kind == "string":
        return func.coalesce(cast(func.to_json(column), Text), "null")
    no_effectivity = and_(*(column.is_(None) for _key, column in _EFFECTIVITY))
    pairs = (part for key, column in _EFFECTIVITY for part in (literal(key), column))
    return case(
        (no_effectivity, literal(_NO_EFFECTIVITY)),
        else_=cast(func.json_build_object(*pairs), Text),
    )


def _sqlite_value(column: Any, kind: Kind) -> ColumnElement[Any]:
    if kind == "uuid":  # stored as 32 hex digits, shown hyphenated
        digits = type_coerce(column, Text)
        groups = [func.substr(digits, start, length, type_=Text) for start, length in _GROUPS]
        hyphenated: ColumnElement[str] = groups[0]
        for group in groups[1:]:
            hyphenated = hyphenated + "-" + group
        return case((digits.is_(None), null()), else_=hyphenated)
    if kind == "json":
        return func.json(type_coerce(column, Text))
    if kind == "effectivity":
        return func.json_object(*(part for key, column in _EFFECTIVITY for part in (key, column)))
    expression: ColumnElement[Any] = column
    return expression


_GROUPS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))  # a UUID's hex digit groups


def _by_code_point(column: Any, dialect: str) -> ColumnElement[str]:
    """``column`` compared by code point, as Python compares strings (PostgreSQL's default
    collation sorts by the locale's rules)."""
    expression: ColumnElement[str] = column.collate("C") if dialect == "postgresql" else column
    return expression
