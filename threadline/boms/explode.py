"""The two whole-tree reads of a BOM — the full explosion (``GET /v1/boms/:id``) and the cost
rollup — as JSON text the database writes.

A 100,000-line tree through Python objects costs a row object, a ``Line``, a dict and an encoder
pass per line: three times the time of fetching the rows. Here the statement that fetches the
lines — of the BOM and of every sub-BOM its tree expands into (:mod:`threadline.boms.graph`) —
also renders each one's JSON object (what only the tree walk knows — level, children, extended
quantities, the sub-BOM — is left out) and returns them in sibling order; Python links lines to
their parents and sub-BOMs and writes the nested or flat text in one depth-first pass, reading
just the few plain columns the walk needs (quantities, costs, what the warnings look at). A
sub-BOM used twice is fetched once and written twice.

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
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.boms.graph import MAX_LEVELS, LineSource, TreeOptions, line_source
from threadline.boms.models import Bom, BomItem, BomItemAlternate
from threadline.boms.tree import alternates_by_line, convert_cost, uuid_text
from threadline.boms.warnings import item_warnings
from threadline.catalog.models import Part

# How a value is written into the JSON text, per dialect (see _render).
Kind = Literal["uuid", "string", "number", "bool", "json", "effectivity"]

_EFFECTIVITY = (
    ("dateFrom", BomItem.date_from),
    ("dateTo", BomItem.date_to),
    ("serialFrom", BomItem.serial_from),
    ("serialTo", BomItem.serial_to),
    ("lotFrom", BomItem.lot_from),
    ("lotTo", BomItem.lot_to),
)
_NO_EFFECTIVITY = orjson.dumps(dict.fromkeys(key for key, _column in _EFFECTIVITY)).decode()

# --- explosion -------------------------------------------------------------------------------


# work_mem of the statement that reads a tree's lines (PostgreSQL): enough to sort 100k lines
# with their JSON in memory.
SORT_WORK_MEM = "256MB"


@dataclass
class Explosion:
    """The ``items`` array as JSON text, the line count and the warnings in tree order."""

    items_json: str
    line_count: int
    warnings: list[dict[str, Any]]


def _node_fields(source: LineSource) -> tuple[tuple[str, Any, Kind], ...]:
    """What the database renders of a tree line (the walk adds ``bomId``, ``level``, ``via``,
    ``alternates``, ``subBom`` and ``children``)."""
    return (
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
        ("dnp", BomItem.dnp, "bool"),
        ("version", BomItem.version, "number"),
        ("files", source.files, "number"),
        ("unitCost", Part.unit_cost, "number"),
        ("currency", Part.currency, "string"),
    )


async def explode(
    session: AsyncSession, bom: Bom, options: TreeOptions = TreeOptions()
) -> Explosion:
    """Three statements (the BOMs reached, their lines with their JSON, the alternates), one
    depth-first pass that nests them and writes the text."""
    source = await line_source(session, bom, options)
    rows = await _lines(
        session,
        source,
        _node_fields(source),
        Part.part_number,
        Part.rohs_compliant,
        Part.reach_compliant,
        Part.conflict_minerals,
        BomItem.refdes,
        cast(BomItem.qty, Text),
    )
    alternates = await _alternates_json(session, source) if rows else {}
    walk = _Walk(rows, await _key_of(session, bom.id))
    children = walk.children
    depth = options.depth
    pieces: list[str] = []
    append = pieces.append
    warnings: list[dict[str, Any]] = []
    warned: set[str] = set()  # a sub-BOM used twice shows its lines twice, its warnings once
    count = 0

    def write(lines: list[Any], level: int, bom_key: str, via: str, active: frozenset[str]) -> None:
        """``[line, ...]`` with every descendant nested; depth first, so warnings come out in
        tree order. Recursion depth is the tree's (graph.MAX_LEVELS across sub-BOMs)."""
        nonlocal count
        count += len(lines)
        deeper = depth is None or level < depth
        append("[")
        tail = f'{walk.bom_field(bom_key)},"level":{level},"via":{via},"alternates":'
        for index, row in enumerate(lines):
            (item_id, _p, _b, sub, sub_revision, sub_status, node, number, rohs, reach, minerals,
             refdes, qty) = row  # fmt: skip
            if index:
                append(",")
            if (rohs is False or reach is False or minerals or refdes) and item_id not in warned:
                warned.add(item_id)
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
            below = children.get(item_id)
            if below is None and sub is not None and sub not in active and level < MAX_LEVELS:
                append(',"subBom":')
                append(walk.sub_bom(sub, sub_revision, sub_status))
                append(',"children":')
                tops = children.get(sub)
                if tops and deeper:
                    write(tops, level + 1, sub, walk.via(via, item_id), active | {sub})
                else:
                    append("[]")
            elif below and deeper:
                append(',"subBom":null,"children":')
                write(below, level + 1, bom_key, via, active)
            else:
                append(',"subBom":null,"children":[]')
            append("}")
        append("]")

    write(children.get(walk.root, []), 1, walk.root, "[]", frozenset((walk.root,)))
    return Explosion(items_json="".join(pieces), line_count=count, warnings=warnings)


async def _alternates_json(session: AsyncSession, source: LineSource) -> dict[str, str]:
    """Each line's alternates as JSON text, keyed like the lines' ids (their text)."""
    key = cast(BomItemAlternate.item_id, Text)
    grouped = await alternates_by_line(session, source.bom_filter(), key)
    return {item_id: orjson.dumps(alternates).decode() for item_id, alternates in grouped.items()}


# --- cost rollup -----------------------------------------------------------------------------


@dataclass
class Rollup:
    """The rollup's ``lines`` and ``missingCost`` arrays as JSON text, and its total."""

    total: Decimal
    lines_json: str
    missing_json: str
    complete: bool


_ROLLUP_LINE: tuple[tuple[str, Any, Kind], ...] = (
    ("itemId", BomItem.id, "uuid"),
    ("partNumber", Part.part_number, "string"),
    ("qty", BomItem.qty, "number"),
    ("unitCost", Part.unit_cost, "number"),
    ("currency", Part.currency, "string"),
)


async def cost_rollup(
    session: AsyncSession,
    bom: Bom,
    *,
    base: str,
    rates: dict[str, Decimal],
    options: TreeOptions = TreeOptions(),
) -> Rollup:
    """Cost of one assembly: the sum over leaf lines of extended quantity times unit cost, in
    ``base``, through the sub-BOMs the tree expands into.

    A line with children is costed by its children (its own catalog cost would count twice).
    A DNP line, and everything under it, is not built: it costs nothing and is not missing.
    Any other leaf with no unit cost, or in a currency without a rate, is listed in
    ``missingCost`` and contributes nothing: the total is then a lower bound and ``complete``
    false.
    """
    source = await line_source(session, bom, options)
    rows = await _lines(
        session,
        source,
        _ROLLUP_LINE,
        cast(BomItem.qty, Text),
        cast(Part.unit_cost, Text),
        Part.currency,
        BomItem.dnp,
        files=False,
    )
    walk = _Walk(rows, await _key_of(session, bom.id))
    children = walk.children
    depth = options.depth
    lines: list[str] = []
    missing: list[str] = []
    total = Decimal(0)
    root = walk.root
    # (row, level, multiplier, the line's BOM, via, BOMs on the path, under a DNP line)
    Entry = tuple[Any, int, Decimal, str, str, frozenset[str], bool]
    stack: list[Entry] = [
        (row, 1, Decimal(1), root, "[]", frozenset((root,)), False)
        for row in reversed(children.get(root, []))
    ]
    while stack:  # depth first, parents before children, siblings in order
        row, level, multiplier, bom_key, via, active, dnp_above = stack.pop()
        item_id, _parent, _bom, sub, _revision, _status, line, qty, unit_cost, currency, dnp = row
        dnp = dnp_above or bool(dnp)
        extended = Decimal(qty) * multiplier
        below = children.get(item_id)
        below_bom, below_via, below_active = bom_key, via, active
        if below is None and sub is not None and sub not in active and level < MAX_LEVELS:
            below = children.get(sub)
            below_bom, below_via, below_active = sub, walk.via(via, item_id), active | {sub}
        if depth is not None and level >= depth:
            below = None
        cost: Decimal | None = None
        if not below and not dnp:
            amount = Decimal(unit_cost) if unit_cost is not None else None
            unit = convert_cost(amount, currency, base, rates)
            if unit is not None:
                cost = unit * extended
                total += cost
        text = (
            f'{line}{walk.bom_field(bom_key)},"level":{level},"via":{via},'
            f'"dnp":{"true" if dnp else "false"},"extendedQty":{float(extended)!r},'
            f'"extendedCost":{"null" if cost is None else repr(float(cost))}}}'
        )
        lines.append(text)
        if below:
            stack.extend(
                (child, level + 1, extended, below_bom, below_via, below_active, dnp)
                for child in reversed(below)
            )
        elif cost is None and not dnp:
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
    source: LineSource,
    rendered: Sequence[tuple[str, Any, Kind]],
    *plain: Any,
    files: bool = True,
) -> Sequence[Any]:
    """Every line of every BOM the tree reads, in sibling order: its id, parent id and BOM id
    as text (compared, never shown), the BOM it expands into (id as text, revision, status;
    NULL when none), the JSON object of the ``rendered`` fields, then the ``plain`` columns."""
    connection = await session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # The lines are sorted with their JSON (~0.5 kB a line); with the default 4 MB of
        # work_mem a tree of 30k lines already sorted on disk (external merge, a third of the
        # statement's time). Raised for this transaction only; PostgreSQL takes what it needs.
        await connection.exec_driver_sql(f"SET LOCAL work_mem = '{SORT_WORK_MEM}'")
    rows: Sequence[Any] = (
        await connection.execute(
            source.statement(
                cast(BomItem.id, Text),
                cast(BomItem.parent_item_id, Text),
                source.bom_id,
                source.sub_id,
                source.sub_revision,
                source.sub_status,
                _render(rendered, dialect),
                *plain,
                files=files,
            )
            # As tree.arrange orders siblings: sort index, then part number by code point.
            .order_by(BomItem.sort_index, _by_code_point(Part.part_number, dialect), BomItem.id)
        )
    ).all()
    return rows


async def _key_of(session: AsyncSession, bom_id: uuid.UUID) -> str:
    """``bom_id`` as the statement's ``CAST(id AS TEXT)`` writes it (SQLite: 32 hex digits)."""
    connection = await session.connection()
    return str(bom_id) if connection.dialect.name == "postgresql" else bom_id.hex


class _Walk:
    """The rows linked for a depth-first walk, and the JSON bits written once per BOM."""

    def __init__(self, rows: Sequence[Any], root: str) -> None:
        self.root = root
        self.children = _nest(rows)
        self._bom_fields: dict[str, str] = {}
        self._sub_boms: dict[str, str] = {}

    def bom_field(self, key: str) -> str:
        """``,"bomId":"…"`` for the BOM whose id reads ``key``."""
        text = self._bom_fields.get(key)
        if text is None:
            text = self._bom_fields[key] = f',"bomId":"{uuid_text(key)}"'
        return text

    def sub_bom(self, key: str, revision: str, status: str) -> str:
        """The ``subBom`` object of a line expanding into BOM ``key``."""
        text = self._sub_boms.get(key)
        if text is None:
            value = {"id": uuid_text(key), "revision": revision, "status": status}
            text = self._sub_boms[key] = orjson.dumps(value).decode()
        return text

    @staticmethod
    def via(via: str, item_id: str) -> str:
        """``via`` (a JSON array of line ids) with ``item_id`` appended."""
        entry = f'"{uuid_text(item_id)}"]'
        return f"[{entry}" if via == "[]" else f"{via[:-1]},{entry}"


def _nest(rows: Sequence[Any]) -> dict[str | None, list[Any]]:
    """Each line's children, and each BOM's top lines under the BOM's id (ids are unique across
    both tables), in the rows' order. A line whose parent is not in its BOM is shown at the
    top, as tree.arrange does."""
    ids = {row[0] for row in rows}
    children: dict[str | None, list[Any]] = {}
    for row in rows:
        parent = row[1] if row[1] in ids else row[2]
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
    if kind == "bool":
        return case((column, literal("true")), else_=literal("false"))
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
    if kind == "bool":  # stored as 0/1: json() makes the text a JSON true/false
        return func.json(case((column, literal("true")), else_=literal("false")))
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
