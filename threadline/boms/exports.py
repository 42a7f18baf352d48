"""BOM exports (productflo-sync-api: BOM Export Formats).

- ``csv`` / ``xlsx``: hierarchical, a ``level`` column, every line attribute, alternates as a
  comma-separated list, effectivity as ISO dates, cost columns. Re-importable: the BOM import
  reads the ``level`` column back into the same nesting.
- ``erp``: flattened parent/child pairs with normalised UoM and extended quantities and cost.
- ``flat``: consolidated — total quantity of each part across all levels.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from starlette.responses import Response

from threadline.boms.tree import Line, Structure, convert_cost
from threadline.spreadsheets import table_response

HIERARCHICAL = [
    "level", "part_number", "name", "qty", "uom", "refdes", "notes", "alternates",
    "date_from", "date_to", "serial_from", "serial_to", "lot_from", "lot_to",
    "unit_cost", "currency", "extended_qty", "extended_cost",
]  # fmt: skip
ERP = [
    "parent_part_number", "child_part_number", "child_name", "level", "qty_per", "uom",
    "extended_qty", "unit_cost", "currency", "extended_cost", "refdes",
]  # fmt: skip
FLAT = ["part_number", "name", "total_qty", "uom", "unit_cost", "currency", "extended_cost", "kind"]

_UOM = {
    "each": "EA", "ea": "EA", "pc": "EA", "pcs": "EA", "piece": "EA", "pieces": "EA", "unit": "EA",
    "units": "EA", "m": "M", "meter": "M", "metre": "M", "meters": "M", "mm": "MM", "cm": "CM",
    "kg": "KG", "g": "G", "gram": "G", "l": "L", "liter": "L", "litre": "L", "ml": "ML",
    "ft": "FT", "foot": "FT", "feet": "FT", "in": "IN", "inch": "IN", "set": "SET", "roll": "ROLL",
}  # fmt: skip


def normalise_uom(uom: str) -> str:
    """ERP unit codes: each/pcs → EA, metre → M, ... (unknown units upper-cased)."""
    return _UOM.get(uom.strip().lower(), uom.strip().upper())


def _extended(structure: Structure) -> Iterator[tuple[Line, Decimal, Line | None]]:
    """Lines in tree order with their extended quantity and parent line."""
    stack: list[tuple[Line, Decimal, Line | None]] = [
        (root, root.qty, None) for root in reversed(structure.roots)
    ]
    while stack:
        line, extended, parent = stack.pop()
        yield line, extended, parent
        stack.extend((c, c.qty * extended, line) for c in reversed(line.children))


def _cost(line: Line, qty: Decimal, base: str, rates: dict[str, Decimal]) -> Decimal | None:
    if line.children:
        return None  # assemblies are costed by their children
    unit = convert_cost(line.unit_cost, line.currency, base, rates)
    return unit * qty if unit is not None else None


def hierarchical_rows(
    structure: Structure, base: str, rates: dict[str, Decimal]
) -> Iterator[list[Any]]:
    for line, extended, _parent in _extended(structure):
        yield [
            line.level, line.part_number, line.name, line.qty, line.uom, line.refdes, line.notes,
            ", ".join(a["partNumber"] for a in line.alternates),
            line.date_from.isoformat() if line.date_from else None,
            line.date_to.isoformat() if line.date_to else None,
            line.serial_from, line.serial_to, line.lot_from, line.lot_to,
            line.unit_cost, line.currency, extended, _cost(line, extended, base, rates),
        ]  # fmt: skip


def erp_rows(
    structure: Structure, base: str, rates: dict[str, Decimal], top: str
) -> Iterator[list[Any]]:
    for line, extended, parent in _extended(structure):
        yield [
            parent.part_number if parent else top, line.part_number, line.name, line.level,
            line.qty, normalise_uom(line.uom), extended, line.unit_cost, line.currency,
            _cost(line, extended, base, rates), line.refdes,
        ]  # fmt: skip


def flat_rows(structure: Structure, base: str, rates: dict[str, Decimal]) -> Iterator[list[Any]]:
    totals: dict[str, list[Any]] = {}
    for line, extended, _parent in _extended(structure):
        key = f"{line.part_number}\x1f{normalise_uom(line.uom)}"
        row = totals.setdefault(
            key,
            [line.part_number, line.name, Decimal(0), normalise_uom(line.uom), line.unit_cost,
             line.currency, Decimal(0), "assembly" if line.children else "component"],
        )  # fmt: skip
        row[2] += extended
        cost = _cost(line, extended, base, rates)
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
