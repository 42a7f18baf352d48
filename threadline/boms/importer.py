"""BOM import from CSV/XLSX (productflo-sync-api: BOM Import CSV format): check every row
(:mod:`threadline.boms.import_rows`), resolve the parts, and write the lines in one transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth.service import Access
from threadline.boms import service
from threadline.boms.import_rows import (
    ALIASES,
    PendingLine,
    is_mark,
    parse_rows,
    part_number_is_mpn,
)
from threadline.boms.models import AlternateApproval, Bom, BomItem, BomItemAlternate
from threadline.catalog.models import Domain, Lifecycle, Part
from threadline.db import insert_rows, new_id, utcnow
from threadline.errors import Invalid
from threadline.imports import ImportReport, Problems
from threadline.tabular import read_table

__all__ = ["ALIASES", "import_bom"]

CHUNK = 1000


async def _parts_by_number(
    session: AsyncSession, workspace_id: uuid.UUID, numbers: set[str]
) -> dict[str, uuid.UUID]:
    ordered = sorted(numbers)
    found: dict[str, uuid.UUID] = {}
    for start in range(0, len(ordered), CHUNK):
        rows = await session.execute(
            select(Part.part_number, Part.id).where(
                Part.workspace_id == workspace_id,
                Part.part_number.in_(ordered[start : start + CHUNK]),
            )
        )
        found.update(dict(rows.all()))
    return found


async def _parts_by_mpn(
    session: AsyncSession, workspace_id: uuid.UUID, mpns: set[str]
) -> dict[str, list[tuple[str, uuid.UUID]]]:
    """MPN → (part number, id) of the workspace's parts carrying it, by part number."""
    ordered = sorted(mpns)
    found: dict[str, list[tuple[str, uuid.UUID]]] = {}
    for start in range(0, len(ordered), CHUNK):
        rows = await session.execute(
            select(Part.manufacturer_part_number, Part.part_number, Part.id)
            .where(
                Part.workspace_id == workspace_id,
                Part.manufacturer_part_number.in_(ordered[start : start + CHUNK]),
            )
            .order_by(Part.part_number)
        )
        for mpn, number, part_id in rows.all():
            found.setdefault(mpn or "", []).append((number, part_id))
    return found


async def _resolve_parts(
    session: AsyncSession, access: Access, lines: list[PendingLine], problems: Problems
) -> tuple[dict[str, uuid.UUID], set[str]]:
    """(part number → id of the existing parts, part numbers to create). A line identified by
    MPN alone uses the catalog part carrying that MPN when no part is numbered by it."""
    numbers = {line.part_number for line in lines} | {a for line in lines for a in line.alternates}
    known = await _parts_by_number(session, access.workspace.id, numbers)
    by_mpn = {line.part_number for line in lines if line.by_mpn} - known.keys()
    matches = await _parts_by_mpn(session, access.workspace.id, by_mpn) if by_mpn else {}
    for line in lines:
        candidates = matches.get(line.part_number) if line.by_mpn else None
        if not candidates:
            continue
        if len(candidates) > 1:
            problems.warn(
                line.first_row,
                "manufacturer_part_number",
                f"MPN {line.part_number} is on parts {', '.join(n for n, _ in candidates)}; "
                f"used {candidates[0][0]}",
            )
        line.part_number, part_id = candidates[0]
        known[line.part_number] = part_id
    numbers = {line.part_number for line in lines} | {a for line in lines for a in line.alternates}
    return known, numbers - known.keys()


async def import_bom(
    session: AsyncSession, *, access: Access, bom: Bom, data: bytes, dry_run: bool, replace: bool
) -> ImportReport:
    """Check every row; on apply, write the lines (creating missing parts, domain ``other``) in
    this transaction, or refuse the whole file when any row has an error."""
    service.ensure_editable(bom)
    sheet = read_table(data, aliases=ALIASES, required=[])
    identities = {"child_part_number", "part_number", "manufacturer_part_number", "value"}
    if not identities & set(sheet.columns) or not {"qty", "refdes"} & set(sheet.columns):
        raise Invalid(
            "The file needs a part-number column (child_part_number, part_number, pn, MPN or "
            "Value) and a qty or reference-designator column; found: "
            + ", ".join(sheet.columns + sheet.unmapped),
            code="HEADER_NOT_FOUND",
        )
    problems = Problems()
    problems.read_from(sheet, consumed=is_mark)
    refused = {note.row for note in sheet.row_notes if note.error}
    lines = parse_rows(sheet.rows, part_number_is_mpn(sheet.columns), refused, problems)
    known, missing = await _resolve_parts(session, access, lines, problems)
    rows = len(sheet.rows)
    failed = {p.row for p in problems.errors}
    valid = sum(1 for r in sheet.rows if r.number not in failed)
    counts: dict[str, Any] = {"created": len(lines), "parts_created": len(missing)}
    if dry_run:
        return problems.report(rows=rows, valid=valid, dry_run=True, **counts)
    problems.refuse_if_any(rows, valid)
    known.update(await _create_parts(session, access, lines, missing))
    first_index = 0
    if replace:
        await session.execute(delete(BomItem).where(BomItem.bom_id == bom.id))
    else:  # appended lines come after the existing ones
        last = await session.scalar(
            select(func.max(BomItem.sort_index)).where(BomItem.bom_id == bom.id)
        )
        first_index = 0 if last is None else last + 1
    # Values were validated row by row above; hand the service plain changes, not 100k models.
    items = [
        service.ItemChange(
            id=line.id,
            generated=True,
            values={
                "parent_item_id": line.parent,
                "child_part_id": known[line.part_number],
                "qty": line.qty,
                "uom": line.uom,
                "refdes": ", ".join(line.refdes) or None,
                "notes": "; ".join(line.notes) or None,
                "dnp": line.dnp,
                "sort_index": first_index + index,
                **{k: v for k, v in line.effectivity.items() if v is not None},
            },
        )
        for index, line in enumerate(lines)
    ]
    if items:
        await service.write_items(session, access=access, bom_id=bom.id, changes=items)
    await _add_alternates(session, lines, known)
    return problems.report(rows=rows, valid=valid, dry_run=False, **counts)


async def _create_parts(
    session: AsyncSession, access: Access, lines: list[PendingLine], missing: set[str]
) -> dict[str, uuid.UUID]:
    now = utcnow()
    details: dict[str, dict[str, Any]] = {}
    for line in lines:  # the first row naming a part describes it
        details.setdefault(line.part_number, line.new_part)
    created: dict[str, uuid.UUID] = {}
    rows = []
    for number in sorted(missing):
        created[number] = new_id()
        detail = details.get(number) or {"name": number, "attributes": {}}
        rows.append(
            {
                "id": created[number], "workspace_id": access.workspace.id, "part_number": number,
                "name": detail.get("name") or number, "description": detail.get("description"),
                "domain": Domain.other, "uom": "each", "lifecycle": Lifecycle.prototype,
                "manufacturer_name": detail.get("manufacturer_name"),
                "manufacturer_part_number": detail.get("manufacturer_part_number"),
                "attributes": detail.get("attributes") or {}, "rohs_compliant": None,
                "reach_compliant": None, "conflict_minerals": None, "unit_cost": None,
                "currency": None, "created_at": now, "updated_at": now,
            }
        )  # fmt: skip
    await insert_rows(session, Part, rows)
    return created


async def _add_alternates(
    session: AsyncSession, lines: list[PendingLine], known: dict[str, uuid.UUID]
) -> None:
    now = utcnow()
    rows = [
        {"id": new_id(), "item_id": line.id, "part_id": known[a],
         "approval": AlternateApproval.pending, "rationale": "imported", "decided_by_id": None,
         "created_at": now, "updated_at": now}
        for line in lines
        for a in dict.fromkeys(line.alternates)
    ]  # fmt: skip
    await insert_rows(session, BomItemAlternate, rows)
