"""Warnings shown with a BOM: non-compliant parts and refdes lists that disagree with quantity."""

from __future__ import annotations

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
    out = []

    def warn(code: str, message: str) -> None:
        out.append(
            {
                "itemId": uuid_text(line.id),
                "partNumber": line.part_number,
                "code": code,
                "message": message,
            }
        )

    if line.rohs_compliant is False:
        warn("ROHS_NONCOMPLIANT", f"{line.part_number} is not RoHS compliant.")
    if line.reach_compliant is False:
        warn("REACH_NONCOMPLIANT", f"{line.part_number} is not REACH compliant.")
    if line.conflict_minerals and line.conflict_minerals.strip().lower() not in _CLEAN_MINERALS:
        warn(
            "CONFLICT_MINERALS", f"{line.part_number} conflict minerals: {line.conflict_minerals}."
        )
    if line.refdes:
        try:
            count = len(expand_refdes(line.refdes))
        except ValueError as exc:
            warn("REFDES_INVALID", f"{line.part_number}: {exc}")
        else:
            if count and line.qty != count:
                warn(
                    "REFDES_QTY_MISMATCH",
                    f"{line.part_number}: {count} reference designators but quantity "
                    f"{line.qty.normalize()}.",
                )
    return out


def bom_warnings(structure: Structure) -> list[dict[str, Any]]:
    """Every warning of every line, in tree order."""
    return [w for line in structure.walk() for w in line_warnings(line)]
