"""BOM exports (productflo-sync-api: BOM Export Formats), of the tree as ``GET /v1/boms/:id``
shows it: through the sub-BOMs its lines expand into (``?expand=``), down to ``?levels=``.

- ``csv`` / ``xlsx``: hierarchical, a ``level`` column, every line attribute, the part's
  manufacturer, MPN and KiCad/JLC attributes (value, footprint, datasheet, LCSC / Digi-Key /
  Mouser numbers), the ``dnp`` flag, alternates as a comma-separated list, effectivity as ISO
  dates, cost columns. Re-importable: the BOM import reads these columns back under the same
  names, and the ``level`` column into the same nesting.
- ``erp``: flattened parent/child pairs with normalised UoM and extended quantities and cost.
- ``flat``: consolidated — total quantity of each part across all levels.

DNP lines (and everything under one) are not built: they cost nothing, and the purchasing
lists (``erp``, ``flat``) give them quantity 0 (``flat``: their count in ``dnp_qty``) while
still listing them with their flag and designators.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import Response

from threadline.boms.tree import Line, Structure, convert_cost
from threadline.spreadsheets import table_response

# Part attributes written back as columns, under the names the BOM import reads them by.
PART_ATTRIBUTES = ("value", "footprint", "datasheet", "lcsc", "digikey", "mouser")

HIERARCHICAL = [
    "level", "part_number", "name", "qty", "uom", "refdes", "dnp", "notes",
    "manufacturer_name", "manufacturer_part_number", *PART_ATTRIBUTES, "alternates",
    "date_from", "date_to", "serial_from", "serial_to", "lot_from", "lot_to",
    "unit_cost", "currency", "extended_qty", "extended_cost",
]  # fmt: skip
ERP = [
    "parent_part_number", "child_part_number", "child_name", "level", "qty_per", "uom",
    "extended_qty", "unit_cost", "currency", "extended_cost", "refdes", "dnp",
    "manufacturer_name", "manufacturer_part_number",
]  # fmt: skip
FLAT = [
    "part_number", "name", "total_qty", "uom", "unit_cost", "currency", "extended_cost", "kind",
    "dnp_qty", "manufacturer_name", "manufacturer_part_number",
]  # fmt: skip

_UOM = {
    "each": "EA", "ea": "EA", "pc": "EA", "pcs": "EA", "piece": "EA", "pieces": "EA", "unit": "EA",
    "units": "EA", "m": "M", "meter": "M", "metre": "M", "meters": "M", "mm": "MM", "cm": "CM",
    "kg": "KG", "g": "G", "gram": "G", "l": "L", "liter": "L", "litre": "L", "ml": "ML",
    "ft": "FT", "foot": "FT", "feet": "FT", "in": "IN", "inch": "IN", "set": "SET", "roll": "ROLL",
}  # fmt: skip
_ZERO = Decimal(0)


def normalise_uom(uom: str) -> str:
    """ERP unit codes: each/pcs → EA, metre → M, ... (unknown units upper-cased)."""
    return _UOM.get(uom.strip().lower(), uom.strip().upper())


def _extended(structure: Structure) -> Iterator[tuple[Line, Decimal, Line | None, bool]]:
    """Lines in tree order with their extended quantity, parent line, and whether they are not
    built (DNP, or under a DNP line)."""
    stack: list[tuple[Line, Decimal, Line | None, bool]] = [
        (root, root.qty, None, root.dnp) for root in reversed(structure.roots)
    ]
    while stack:
        line, extended, parent, dnp = stack.pop()
        yield line, extended, parent, dnp
        stack.extend((c, c.qty * extended, line, dnp or c.dnp) for c in reversed(line.children))


def _cost(
    line: Line, qty: Decimal, dnp: bool, base: str, rates: dict[str, Decimal]
) -> Decimal | None:
    if line.children or dnp:
        return None  # assemblies are costed by their children; DNP lines are not built
    unit = convert_cost(line.unit_cost, line.currency, base, rates)
    return unit * qty if unit is not None else None


def _flag(dnp: bool) -> str:
    return "true" if dnp else "false"


def _part_attributes(line: Line) -> list[Any]:
    """The part's KiCad/JLC attributes, in PART_ATTRIBUTES order (text only: the columns are
    text, and anything else a user stored is not one of these)."""
    stored = line.part_attributes
    if isinstance(stored, str | bytes):
        stored = orjson.loads(stored) if stored else {}
    if not stored:
        return [None] * len(PART_ATTRIBUTES)
    values = (stored.get(key) for key in PART_ATTRIBUTES)
    return [value if isinstance(value, str | int | float) else None for value in values]


def hierarchical_rows(
    structure: Structure, base: str, rates: dict[str, Decimal]
) -> Iterator[list[Any]]:
    for line, extended, _parent, dnp in _extended(structure):
        yield [
            line.level, line.part_number, line.name, line.qty, line.uom, line.refdes,
            _flag(line.dnp), line.notes, line.manufacturer_name, line.manufacturer_part_number,
            *_part_attributes(line),
            ", ".join(a["partNumber"] for a in line.alternates),
            line.date_from.isoformat() if line.date_from else None,
            line.date_to.isoformat() if line.date_to else None,
            line.serial_from, line.serial_to, line.lot_from, line.lot_to,
            line.unit_cost, line.currency, extended, _cost(line, extended, dnp, base, rates),
        ]  # fmt: skip


def erp_rows(
    structure: Structure, base: str, rates: dict[str, Decimal], top: str
) -> Iterator[list[Any]]:
    for line, extended, parent, dnp in _extended(structure):
        yield [
            parent.part_number if parent else top, line.part_number, line.name, line.level,
            _ZERO if dnp else line.qty, normalise_uom(line.uom), _ZERO if dnp else extended,
            line.unit_cost, line.currency, _cost(line, extended, dnp, base, rates), line.refdes,
            _flag(dnp), line.manufacturer_name, line.manufacturer_part_number,
        ]  # fmt: skip


def flat_rows(structure: Structure, base: str, rates: dict[str, Decimal]) -> Iterator[list[Any]]:
    totals: dict[str, list[Any]] = {}
    for line, extended, _parent, dnp in _extended(structure):
        key = f"{line.part_number}\x1f{normalise_uom(line.uom)}"
        row = totals.setdefault(
            key,
            [line.part_number, line.name, _ZERO, normalise_uom(line.uom), line.unit_cost,
             line.currency, _ZERO, "assembly" if line.children else "component", _ZERO,
             line.manufacturer_name, line.manufacturer_part_number],
        )  # fmt: skip
        if dnp:
            row[8] += extended
            continue
        row[2] += extended
        cost = _cost(line, extended, dnp, base, rates)
        row[6] = row[6] + cost if cost is not None and row[6] is not None else None
    for key in sorted(totals):
        yield totals[key]


def response(
    kind: str,
    structure: Structure,
    *,
    name: str,
    top: str,
    base: str,
    rates: dict[str, Decimal],
) -> Response:
    """The export ``kind`` (csv, xlsx, erp, flat) of ``structure`` as a download; ``top`` is the
    assembly's part number, the ERP parent of the top-level lines."""
    if kind == "erp":
        return table_response("csv", f"{name}-erp", ERP, erp_rows(structure, base, rates, top))
    if kind == "flat":
        return table_response("csv", f"{name}-flat", FLAT, flat_rows(structure, base, rates))
    return table_response(kind, name, HIERARCHICAL, hierarchical_rows(structure, base, rates))
