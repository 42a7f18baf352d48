"""Warnings shown with a BOM: non-compliant parts and refdes lists that disagree with quantity."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
                    f"{part_number}: {count} reference designators but quantity "
                    f"{qty.normalize():f}.",
                )
    return out
