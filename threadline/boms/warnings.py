"""Warnings shown with a BOM: non-compliant parts and refdes lists that disagree with quantity."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from threadline.boms.tree import Line, Structure, uuid_text
from threadline.tabular import expand_refdes

_CLEAN_MINERALS = {
    "free",
    "none",
    "no",
    "conflict-free",
    "conflict free",
    "compliant",
    "drc conflict-free",
}


def line_warnings(line: Line) -> list[dict[str, Any]]:
    return item_warnings(
        item_id=uuid_text(line.id),
        part_number=line.part_number,
        rohs_compliant=line.rohs_compliant,
        reach_compliant=line.reach_compliant,
        conflict_minerals=line.conflict_minerals,
        refdes=line.refdes,
        qty=line.qty,
    )


def item_warnings(
    *,
    item_id: str,
    part_number: str,
    rohs_compliant: bool | None,
    reach_compliant: bool | None,
    conflict_minerals: str | None,
    refdes: str | None,
    qty: Decimal,
) -> list[dict[str, Any]]:
    """The warnings of one BOM line from the values they depend on."""
    out = []

    def warn(code: str, message: str) -> None:
        out.append({"itemId": item_id, "partNumber": part_number, "code": code, "message": message})

    if rohs_compliant is False:
        warn("ROHS_NONCOMPLIANT", f"{part_number} is not RoHS compliant.")
    if reach_compliant is False:
        warn("REACH_NONCOMPLIANT", f"{part_number} is not REACH compliant.")
    if conflict_minerals and conflict_minerals.strip().lower() not in _CLEAN_MINERALS:
        warn("CONFLICT_MINERALS", f"{part_number} conflict minerals: {conflict_minerals}.")
    if refdes:
        try:
            count = len(expand_refdes(refdes))
        except ValueError as exc:
            warn("REFDES_INVALID", f"{part_number}: {exc}")
        else:
            if count and qty != count:
                warn(
                    "REFDES_QTY_MISMATCH",
                    f"{part_number}: {count} reference designators but quantity {qty.normalize()}.",
                )
    return out


def bom_warnings(structure: Structure) -> list[dict[str, Any]]:
    """Every warning of every line, in tree order."""
    return [w for line in structure.walk() for w in line_warnings(line)]
