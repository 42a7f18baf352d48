"""Parts export (selected parts, or the whole catalog) as CSV/XLSX in the import's columns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from starlette.responses import Response

from threadline.catalog.models import Part
from threadline.spreadsheets import table_response

COLUMNS = [
    "part_number", "name", "description", "domain", "uom", "lifecycle", "manufacturer_name",
    "manufacturer_part_number", "tags", "attributes", "rohs_compliant", "reach_compliant",
    "conflict_minerals", "unit_cost", "currency",
]  # fmt: skip


def _rows(parts: Sequence[Part]) -> Iterator[list[Any]]:
    for p in parts:
        yield [
            p.part_number, p.name, p.description, p.domain.value, p.uom, p.lifecycle.value,
            p.manufacturer_name, p.manufacturer_part_number, "|".join(p.tags),
            orjson.dumps(p.attributes).decode() if p.attributes else "",
            p.rohs_compliant, p.reach_compliant, p.conflict_minerals, p.unit_cost, p.currency,
        ]  # fmt: skip


def parts_response(parts: Sequence[Part], fmt: str, name: str) -> Response:
    """Columns match the parts import, so an export can be edited and imported back."""
    return table_response(fmt, name, COLUMNS, _rows(parts))
