"""BOM structure, set-based: one query loads every line of a BOM and of the sub-BOMs its tree
expands into (:mod:`threadline.boms.graph`) as ``Line``s, then an in-memory walk builds the
tree, the diff and the exports. Where-used is one recursive CTE. (The explosion and the cost
rollup, which return every line, render their JSON in the database: see ``explode``.)

Nothing here issues a query per line (STYLE: set-based, not row-by-row).
"""

from __future__ import annotations

import copy
import operator
import typing
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    String,
    and_,
    cast,
    exists,
    literal,
    null,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from threadline.boms.graph import (
    MAX_LEVELS,
    NO_EXPANSION,
    Expand,
    LineSource,
    TreeOptions,
    has_lines_below,
    is_chosen,
    line_source,
)
from threadline.boms.models import Bom, BomItem, BomItemAlternate
from threadline.catalog.models import Part

# Deeper than any real product; stops a corrupted (cyclic) graph from recursing forever.
MAX_DEPTH = 64


@dataclass(slots=True)
class Line:
    """One BOM item with the child part's catalog columns it is shown with."""

    # Ids stay as the driver returns them (SQLite: hex text, asyncpg: its own UUID) on this hot
    # path — 100k uuid.UUID objects cost more than the query. uuid_text() formats them for output.
    id: Any
    parent_item_id: Any
    child_part_id: Any
    child_version_id: Any
    qty: Decimal
    uom: str
    refdes: str | None
    notes: str | None
    sort_index: int
    attributes: Any  # the column's JSON text (or a dict, if the driver decoded it)
    date_from: date | None
    date_to: date | None
    serial_from: int | None
    serial_to: int | None
    lot_from: str | None
    lot_to: str | None
    part_number: str
    name: str
    unit_cost: Decimal | None
    currency: str | None
    rohs_compliant: bool | None
    reach_compliant: bool | None
    conflict_minerals: str | None
    part_uom: str
    bom_id: Any  # the BOM the line belongs to (where a client edits it)
    sub_bom_id: Any  # the BOM the line's part expands into, when it has one
    sub_bom_revision: str | None
    sub_bom_status: str | None
    dnp: bool
    version: int
    files: int  # vault files attached to the child part revision the line stands for
    manufacturer_name: str | None
    manufacturer_part_number: str | None
    part_attributes: Any  # the part's attributes: JSON text (or a dict, as ``attributes``)
    alternates: list[dict[str, Any]] = field(default_factory=list)
    children: list[Line] = field(default_factory=list)
    level: int = 1
    expanded: bool = False  # its children are its sub-BOM's top lines

    def effectivity(self) -> dict[str, Any]:
        if (
            self.date_from is None
            and self.date_to is None
            and self.serial_from is None
            and self.serial_to is None
            and self.lot_from is None
            and self.lot_to is None
        ):
            return NO_EFFECTIVITY  # most lines: one shared, never-mutated dict
        return {
            "dateFrom": self.date_from.isoformat() if self.date_from else None,
            "dateTo": self.date_to.isoformat() if self.date_to else None,
            "serialFrom": self.serial_from,
            "serialTo": self.serial_to,
            "lotFrom": self.lot_from,
            "lotTo": self.lot_to,
        }


NO_EFFECTIVITY: dict[str, Any] = dict.fromkeys(
    ("dateFrom", "dateTo", "serialFrom", "serialTo", "lotFrom", "lotTo")
)


def _line_columns(source: LineSource) -> tuple[Any, ...]:
    """The columns of a ``Line``, in its fields' order."""
    sub_id = type_coerce(source.sub.c.id, String) if source.sub is not None else null()
    return (
        type_coerce(BomItem.id, String),
        type_coerce(BomItem.parent_item_id, String),
        type_coerce(BomItem.child_part_id, String),
        type_coerce(BomItem.child_version_id, String),
        BomItem.qty,
        BomItem.uom,
        BomItem.refdes,
        BomItem.notes,
        BomItem.sort_index,
        # The JSON text as stored: not parsed unless a caller needs it.
        type_coerce(BomItem.attributes, String),
        BomItem.date_from,
        BomItem.date_to,
        BomItem.serial_from,
        BomItem.serial_to,
        BomItem.lot_from,
        BomItem.lot_to,
        Part.part_number,
        Part.name,
        Part.unit_cost,
        Part.currency,
        Part.rohs_compliant,
        Part.reach_compliant,
        Part.conflict_minerals,
        Part.uom,
        type_coerce(BomItem.bom_id, String),
        sub_id,  # the driver's id, as bom_id: the walk looks one up by the other
        source.sub_revision,
        source.sub_status,
        BomItem.dnp,
        BomItem.version,
        source.files,
        Part.manufacturer_name,
        Part.manufacturer_part_number,
        type_coerce(Part.attributes, String),
    )


# Columns a purpose never looks at are read as NULL literals, which cost the driver nothing:
# a diff loads two whole BOM trees.
_UNUSED = {
    "tree": frozenset[int](),
    # child part and version, attributes, name .. part uom, sub-BOM revision and status,
    # version .. attributes
    "diff": frozenset({2, 3, 9, *range(17, 24), 26, 27, *range(29, 34)}),
}
_BOM_ID = 24  # read only to link a tree through sub-BOMs


@dataclass
class Structure:
    """A BOM's tree as a forest: ``roots`` in sort order, every line reachable from them.

    ``lines`` holds every stored line read, by id; a line of a sub-BOM used twice appears twice
    in the tree (the second time as a copy), so walk the tree to count what it shows.
    """

    roots: list[Line]
    lines: dict[Any, Line]

    def walk(self) -> Iterable[Line]:
        """Depth-first, parents before children, siblings in sort order."""
        stack = list(reversed(self.roots))
        while stack:
            line = stack.pop()
            yield line
            stack.extend(reversed(line.children))


async def load_structure(
    session: AsyncSession,
    bom: Bom,
    options: TreeOptions = TreeOptions(),
    *,
    with_alternates: bool = True,
    purpose: typing.Literal["tree", "diff"] = "tree",
) -> Structure:
    """The tree of ``bom`` — its lines and those of the sub-BOMs it expands into
    (:mod:`threadline.boms.graph`) — in three statements (the BOMs reached, lines, alternates).

    ``purpose="diff"`` leaves out the columns a diff never reads.
    """
    source = await line_source(session, bom, options)
    unused = _UNUSED[purpose]
    if purpose == "diff" and source.sub is None:
        unused |= {_BOM_ID}
    columns = [
        null().label(f"unused_{i}") if i in unused else column
        for i, column in enumerate(_line_columns(source))
    ]
    # Core execution on the session's connection: the same transaction, minus the ORM's
    # per-row loading machinery (these rows are tuples, not entities).
    connection = await session.connection()
    rows = (await connection.execute(source.statement(*columns, files=purpose == "tree"))).all()
    lines: dict[Any, Line] = {row[0]: Line(*row) for row in rows}
    if with_alternates and lines:
        key = type_coerce(BomItemAlternate.item_id, String)  # the driver's id, as lines are keyed
        grouped = await alternates_by_line(session, source.bom_filter(), key)
        for item_id, alternates in grouped.items():
            lines[item_id].alternates = alternates
    root = driver_key(bom.id, connection.dialect.name)
    return arrange(lines, root, options, expanding=source.sub is not None)


async def alternates_by_line(
    session: AsyncSession, boms: ColumnElement[bool], key: ColumnElement[Any]
) -> dict[Any, list[dict[str, Any]]]:
    """Every line's alternates as API dicts (by part number), keyed by ``key`` — an expression
    of ``BomItemAlternate.item_id`` that matches how the caller keys its lines — for the lines
    of the BOMs ``boms`` selects (a condition on ``BomItem.bom_id``)."""
    rows = (
        await session.execute(
            select(
                key,
                BomItemAlternate.part_id,
                Part.part_number,
                BomItemAlternate.approval,
                BomItemAlternate.rationale,
            )
            .join(Part, Part.id == BomItemAlternate.part_id)
            .join(BomItem, BomItem.id == BomItemAlternate.item_id)
            .where(boms)
            .order_by(Part.part_number)
        )
    ).all()
    grouped: dict[Any, list[dict[str, Any]]] = {}
    for item_id, part_id, number, approval, rationale in rows:
        grouped.setdefault(item_id, []).append(
            {
                "partId": str(part_id),
                "partNumber": number,
                "approval": approval.value,
                "rationale": rationale,
            }
        )
    return grouped


def uuid_text(value: Any) -> Any:
    """A UUID as canonical text, from the driver's value (SQLite: 32 hex digits; asyncpg: UUID)."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 32:
            return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
        return value
    return str(value)


_SIBLING_ORDER = operator.attrgetter("sort_index", "part_number", "id")


def driver_key(bom_id: uuid.UUID, dialect: str) -> Any:
    """``bom_id`` as the driver returns an id column (SQLite: 32 hex digits; asyncpg: its UUID,
    equal to and hashed as ``uuid.UUID``)."""
    return bom_id if dialect == "postgresql" else bom_id.hex


def arrange(
    lines: dict[Any, Line],
    root: Any,
    options: TreeOptions = NO_EXPANSION,
    *,
    expanding: bool | None = None,
) -> Structure:
    """Link children to parents and expanded lines to their sub-BOMs' top lines, order siblings
    by (sortIndex, part number), set levels, down to ``options.depth``.

    One global sort, then each line is appended to its parent's (or, at the top, its BOM's)
    group in that order, so every group of siblings comes out sorted without sorting each group.
    A line shown a second time (a sub-BOM used twice) is a copy, with children of its own.
    ``expanding``: whether any line expands into a sub-BOM (None: look).
    """
    ordered = sorted(lines.values(), key=_SIBLING_ORDER)
    depth = options.depth
    if expanding is None:
        expanding = any(line.sub_bom_id is not None for line in ordered)
    if not expanding:
        # One BOM, every line shown once: append each line to its parent's own list.
        roots: list[Line] = []
        for line in ordered:
            parent = lines.get(line.parent_item_id) if line.parent_item_id else None
            (parent.children if parent is not None else roots).append(line)
        flat = [(line, 1) for line in roots]
        while flat:
            line, level = flat.pop()
            line.level = level
            if line.children:
                if depth is not None and level >= depth:
                    line.children = []
                else:
                    flat.extend((child, level + 1) for child in line.children)
        return Structure(roots=roots, lines=lines)
    below: dict[Any, list[Line]] = {}
    # Ids compare as the driver returns them (all of one type), so no per-line conversion.
    for line in ordered:
        parent = line.parent_item_id if line.parent_item_id in lines else line.bom_id
        group = below.get(parent)
        if group is None:
            below[parent] = [line]
        else:
            group.append(line)
    shown: set[Any] = set()

    def occurrence(line: Line) -> Line:
        if line.id in shown:
            return copy.copy(line)
        shown.add(line.id)
        return line

    roots = [occurrence(line) for line in below.get(root, [])]
    stack = [(line, 1, frozenset((root,))) for line in roots]
    while stack:
        line, level, active = stack.pop()
        line.level = level
        children = below.get(line.id)
        sub = line.sub_bom_id
        if children is None and sub is not None and sub not in active and level < MAX_LEVELS:
            line.expanded = True
            children = below.get(sub)
            active = active | {sub}
        if children and (depth is None or level < depth):
            line.children = [occurrence(child) for child in children]
            stack.extend((child, level + 1, active) for child in line.children)
        else:
            line.children = []
    return Structure(roots=roots, lines=lines)


# --- cost conversion ------------------------------------------------------------------------


def convert_cost(
    amount: Decimal | None, currency: str | None, base: str, rates: dict[str, Decimal]
) -> Decimal | None:
    """``amount`` in ``currency`` expressed in ``base``; None when unknown or without a rate."""
    if amount is None:
        return None
    if currency is None or currency.upper() == base.upper():
        return amount
    rate = rates.get(currency.upper())
    return amount * rate if rate is not None else None


# --- diff -------------------------------------------------------------------------------------


DIFF_FIELDS = ("qty", "uom", "refdes", "notes", "dnp", "alternates", "effectivity")


_SEP = "\x1f"


def _keyed(structure: Structure) -> dict[str, Line]:
    """Lines keyed by the part-number path from the top; repeats get an occurrence suffix.

    Keys are strings (part numbers joined by a separator), whose hashes Python caches — set
    algebra over 100k tuple keys would rehash every tuple on every lookup.
    """
    keyed: dict[str, Line] = {}
    # Depth first like Structure.walk, each line carrying its parent's path.
    stack = [(root, "") for root in reversed(structure.roots)]
    while stack:
        line, parent_path = stack.pop()
        key = parent_path + _SEP + line.part_number
        if key in keyed:  # the same part twice under one parent: pair them in sort order
            n = 2
            while f"{key}#{n}" in keyed:
                n += 1
            key = f"{key}#{n}"
        keyed[key] = line
        if line.children:
            stack.extend((child, key) for child in reversed(line.children))
    return keyed


def _alternates_key(line: Line) -> list[str]:
    return sorted(f"{a['partNumber']}:{a['approval']}" for a in line.alternates)


# Every field _changes compares but the alternates, read at once.
_compared = operator.attrgetter(
    "qty", "uom", "refdes", "notes", "dnp",
    "date_from", "date_to", "serial_from", "serial_to", "lot_from", "lot_to",
)  # fmt: skip


def _changes(before: Line, after: Line) -> dict[str, dict[str, Any]]:
    """The DIFF_FIELDS that differ between two matched lines (cheap when nothing does)."""
    if not (before.alternates or after.alternates) and _compared(before) == _compared(after):
        return {}  # most lines of two revisions: one C-level comparison
    changes: dict[str, dict[str, Any]] = {}
    for name in ("qty", "uom", "refdes", "notes", "dnp"):
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            changes[name] = {"from": old, "to": new}
    if before.alternates or after.alternates:
        old_alts, new_alts = _alternates_key(before), _alternates_key(after)
        if old_alts != new_alts:
            changes["alternates"] = {"from": old_alts, "to": new_alts}
    old_eff, new_eff = before.effectivity(), after.effectivity()
    if old_eff != new_eff:
        changes["effectivity"] = {"from": old_eff, "to": new_eff}
    if "qty" in changes:
        changes["qty"] = {"from": float(before.qty), "to": float(after.qty)}
    return changes


def diff(left: Structure, right: Structure) -> dict[str, list[dict[str, Any]]]:
    """Added, removed and changed lines between two BOM structures, at every level."""
    a, b = _keyed(left), _keyed(right)
    added = [_diff_line(path, b[path]) for path in b.keys() - a.keys()]
    removed = [_diff_line(path, a[path]) for path in a.keys() - b.keys()]
    changed = []
    for path, before in a.items():
        after = b.get(path)
        if after is None:
            continue
        changes = _changes(before, after)
        if changes:
            changed.append(
                {"path": path.split(_SEP)[1:], "part_number": after.part_number, "changes": changes}
            )
    for group in (added, removed, changed):
        group.sort(key=lambda d: list(d["path"]))
    return {"added": added, "removed": removed, "changed": changed}


def _diff_line(path: str, line: Line) -> dict[str, Any]:
    return {
        "path": path.split(_SEP)[1:],
        "part_number": line.part_number,
        "qty": line.qty,
        "uom": line.uom,
    }


# --- where-used -------------------------------------------------------------------------------


async def where_used_rows(
    session: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    part_id: uuid.UUID,
    expand: Expand = "approved",
) -> Sequence[Any]:
    """Every line using ``part_id`` at any level, walking up in one recursive CTE.

    Each step goes to the parent line in the same BOM, or — at a BOM's top level, when that BOM
    is the one its assembly expands into (:func:`graph.is_chosen` for ``expand``; never with
    ``"none"``) — to every line in BOMs of the same type that uses the assembly and expands into
    it (has no lines of its own below it): the paths a tree shows, read upwards. Rows carry the
    starting line, the line reached, its BOM, the distance and the path of line ids walked.
    """
    item, parent, bom = aliased(BomItem), aliased(BomItem), aliased(Bom)
    sep = literal("\x1f")
    start = (
        select(
            item.id.label("start_id"),
            item.id.label("item_id"),
            item.parent_item_id.label("parent_item_id"),
            item.bom_id.label("bom_id"),
            literal(1, Integer).label("depth"),
            cast(literal(""), String).label("path"),
            literal(True, Boolean).label("valid"),
        )
        .join(bom, bom.id == item.bom_id)
        .where(item.child_part_id == part_id, bom.workspace_id == workspace_id)
        .cte("walk", recursive=True)
    )
    walk = start.alias()
    here, parent_bom = aliased(Bom), aliased(Bom)
    within = parent.id == walk.c.parent_item_id
    step: ColumnElement[bool] = within
    allowed: ColumnElement[bool] = true()
    if expand != "none":
        # Across BOMs: from the top of the BOM its assembly expands into, to the lines of BOMs
        # of the same type that use the assembly and have no lines of their own below them.
        # The join stays an OR of two indexed equalities (a filter beside it makes PostgreSQL
        # scan every line per step); a step it should not take is marked, not followed further,
        # and left out of the answer.
        step = or_(
            within,
            and_(walk.c.parent_item_id.is_(None), parent.child_part_id == here.assembly_part_id),
        )
        same_type = exists().where(parent_bom.id == parent.bom_id, parent_bom.type == here.type)
        allowed = or_(within, and_(is_chosen(here, expand), same_type, ~has_lines_below(parent)))
    above = (
        select(
            walk.c.start_id,
            parent.id,
            parent.parent_item_id,
            parent.bom_id,
            walk.c.depth + 1,
            cast(walk.c.path + sep + cast(walk.c.item_id, String), String),
            allowed,
        )
        .select_from(walk)
        .join(here, here.id == walk.c.bom_id)
        .join(parent, step)
        .where(walk.c.depth < MAX_DEPTH, walk.c.valid)
    )
    cte = start.union_all(above)
    top_bom = aliased(Bom)
    return (
        await session.execute(
            select(cte.c.start_id, cte.c.item_id, cte.c.depth, cte.c.path, cte.c.bom_id)
            .join(top_bom, top_bom.id == cte.c.bom_id)
            .where(top_bom.workspace_id == workspace_id, cte.c.valid)
        )
    ).all()
