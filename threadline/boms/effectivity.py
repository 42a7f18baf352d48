"""Effectivity: when a BOM line applies, by date, serial range and lot range.

Two lines of the same part under the same parent conflict when some unit — a date, a serial and a
lot together — would get both. A range whose start lies after its end is contradictory.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.boms.models import BomItem
from threadline.boms.schemas import Effectivity
from threadline.catalog.models import Part
from threadline.errors import NotFound

_DIMENSIONS = (
    ("date_from", "date_to", "date"),
    ("serial_from", "serial_to", "serial"),
    ("lot_from", "lot_to", "lot"),
)


def lot_key(lot: str) -> tuple[Any, ...]:
    """Natural order for lot codes: L9 < L10 < L100."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", lot))


def _key(dimension: str, value: Any) -> Any:
    return lot_key(value) if dimension == "lot" and value is not None else value


def contradictions(eff: dict[str, Any]) -> list[str]:
    """Ranges that end before they start."""
    out = []
    for low, high, name in _DIMENSIONS:
        a, b = eff.get(low), eff.get(high)
        if a is not None and b is not None and _key(name, a) > _key(name, b):
            out.append(f"{name} range starts ({a}) after it ends ({b})")
    return out


def _overlap(a_low: Any, a_high: Any, b_low: Any, b_high: Any, name: str) -> bool:
    """Closed intervals with open (None) ends intersect."""
    lo_a, hi_a, lo_b, hi_b = (_key(name, v) for v in (a_low, a_high, b_low, b_high))
    if hi_a is not None and lo_b is not None and hi_a < lo_b:
        return False
    return not (hi_b is not None and lo_a is not None and hi_b < lo_a)


def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when some unit falls inside both effectivities."""
    return all(
        _overlap(a.get(low), a.get(high), b.get(low), b.get(high), name)
        for low, high, name in _DIMENSIONS
    )


def as_dict(eff: Effectivity | BomItem) -> dict[str, Any]:
    return {f: getattr(eff, f) for low, high, _ in _DIMENSIONS for f in (low, high)}


async def validate(
    session: AsyncSession,
    *,
    bom_id: uuid.UUID,
    effectivity: Effectivity,
    item_id: uuid.UUID | None,
    part_id: uuid.UUID | None,
    parent_item_id: uuid.UUID | None,
) -> list[dict[str, Any]]:
    """Conflicts of ``effectivity`` with the other lines of the same part under the same parent."""
    proposed = as_dict(effectivity)
    conflicts: list[dict[str, Any]] = []
    if item_id is not None:
        line = await session.scalar(
            select(BomItem).where(BomItem.id == item_id, BomItem.bom_id == bom_id)
        )
        if line is None:
            raise NotFound(f"No line {item_id} in this BOM.", code="ITEM_NOT_FOUND")
        part_id, parent_item_id = line.child_part_id, line.parent_item_id
    if part_id is None:
        raise NotFound("Give itemId or partId.", code="ITEM_NOT_FOUND")
    number = await session.scalar(select(Part.part_number).where(Part.id == part_id)) or str(
        part_id
    )
    for reason in contradictions(proposed):
        conflicts.append({"item_id": item_id or part_id, "part_number": number, "reason": reason})
    siblings: Sequence[BomItem] = (
        await session.scalars(
            select(BomItem).where(
                BomItem.bom_id == bom_id,
                BomItem.child_part_id == part_id,
                BomItem.parent_item_id.is_(None)
                if parent_item_id is None
                else BomItem.parent_item_id == parent_item_id,
            )
        )
    ).all()
    for other in siblings:
        if other.id == item_id:
            continue
        if overlaps(proposed, as_dict(other)):
            conflicts.append(
                {
                    "item_id": other.id,
                    "part_number": number,
                    "reason": "overlapping effectivity with another line of the same part "
                    "under the same parent",
                }
            )
    return conflicts
