"""BOM import from CSV/XLSX (productflo-sync-api: BOM Import CSV format).

Real exports are messy; :mod:`threadline.tabular` finds the header and the columns. Here each row
becomes a line: the part is identified by part number, else MPN, else value + footprint (KiCad
exports often carry no part number); the quantity defaults to the number of designators; rows of
the same part under the same parent are merged (one-row-per-designator exports); DNP rows are
skipped; a ``level`` column (as the hierarchical export writes) rebuilds the nesting.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth.service import Access
from threadline.boms import effectivity, service
from threadline.boms.models import AlternateApproval, Bom, BomItem, BomItemAlternate
from threadline.catalog.models import Domain, Lifecycle, Part
from threadline.db import insert_rows, new_id, utcnow
from threadline.errors import Invalid
from threadline.imports import ImportReport, Problems, parse_decimal
from threadline.tabular import expand_refdes, read_table

ALIASES: dict[str, list[str]] = {
    "child_part_number": [
        "child_part_number", "part_number", "pn", "child_pn", "part number", "partno", "part no",
    ],
    # Field1..Field5 are KiCad's generic legacy columns (manufacturer, MPN, description, DNP).
    "manufacturer_part_number": [
        "manufacturer_part_number", "mpn", "mfr_pn", "mfg part number", "field2",
    ],
    "manufacturer_name": ["manufacturer_name", "manufacturer", "mfr", "field1"],
    "qty": ["qty", "quantity"],
    "uom": ["uom", "unit", "unit_of_measure"],
    "refdes": [
        "refdes", "reference_designators", "reference", "references", "designators",
        "designator", "ref", "ref des", "reference(s)",
    ],
    "notes": ["notes", "note", "comment", "comments"],
    "value": ["value"],
    "footprint": ["footprint"],
    "description": ["description", "field3"],
    "name": ["name"],
    "dnp": ["dnp", "do not populate", "field5"],
    "level": ["level"],
    "alternates": ["alternates", "alternate", "alternate_part_numbers"],
    # effectivity, as the hierarchical export writes it (camelCase matches too)
    "date_from": ["date_from", "effective_from"],
    "date_to": ["date_to", "effective_to"],
    "serial_from": ["serial_from"],
    "serial_to": ["serial_to"],
    "lot_from": ["lot_from"],
    "lot_to": ["lot_to"],
}  # fmt: skip
CHUNK = 1000
_DNP = {"dnp", "yes", "y", "x", "1", "true", "do not populate", "dnf", "nc"}
_DNP_MARKS = {"DNP", "DNF", "DO NOT POPULATE"}


@dataclass
class PendingLine:
    key: tuple[Any, ...]
    effectivity: dict[str, Any]
    id: uuid.UUID
    parent: uuid.UUID | None
    part_number: str
    qty: Decimal
    uom: str
    refdes: list[str]
    notes: list[str]
    alternates: list[str]
    first_row: int
    new_part: dict[str, Any] = field(default_factory=dict)


def _identify(values: dict[str, str]) -> tuple[str, bool]:
    """(part number, whether it was synthesised from value/footprint)."""
    for column in ("child_part_number", "manufacturer_part_number"):
        if values.get(column, "").strip():
            return values[column].strip()[:100], False
    value, footprint = values.get("value", "").strip(), values.get("footprint", "").strip()
    if value and footprint:
        return f"{value} {footprint.rsplit(':', 1)[-1]}"[:100], True
    return value[:100], bool(value)


def _marked_dnp(row: Any) -> bool:
    """A DNP or DNF marker in any cell: legacy KiCad exports put it in whichever FieldN (or the
    Value) the designer chose, e.g. jawbreaker-bom.csv and hackrf-one-bom_2014_semicolon.csv."""
    cells = (*row.values.values(), *row.extra.values())
    return any(cell.strip().upper() in _DNP_MARKS for cell in cells)


_EFFECTIVITY = ("date_from", "date_to", "serial_from", "serial_to", "lot_from", "lot_to")


def _effectivity(values: dict[str, str], number: int, problems: Problems) -> dict[str, Any] | None:
    """The row's effectivity columns parsed, or None after recording why they cannot be."""
    out: dict[str, Any] = {}
    for column in _EFFECTIVITY:
        text = values.get(column, "").strip()
        if not text:
            out[column] = None
            continue
        try:
            if column.startswith("date"):
                out[column] = date.fromisoformat(text[:10])
            elif column.startswith("serial"):
                out[column] = int(parse_decimal(text, what="serial number"))
                if not 0 <= out[column] <= 2**62:
                    raise ValueError(f"{text!r} is out of range")
            else:
                out[column] = text[:64]
        except ValueError as exc:
            problems.error(number, column, str(exc))
            return None
    for message in effectivity.contradictions(out):
        problems.error(number, "effectivity", message)
        return None
    return out


def _parse(table_rows: Any, problems: Problems) -> list[PendingLine]:
    lines: dict[tuple[Any, ...], PendingLine] = {}
    stack: list[uuid.UUID] = []  # the line currently open at each level (for the level column)
    for row in table_rows:
        values, number = row.values, row.number
        if values.get("dnp", "").strip().lower() in _DNP or _marked_dnp(row):
            problems.warn(number, "dnp", "marked do-not-populate; skipped")
            continue
        pn, synthesised = _identify(values)
        if not pn:
            problems.error(
                number, "child_part_number", "no part number, MPN or value identifies the part"
            )
            continue
        if synthesised:
            problems.warn(
                number,
                "child_part_number",
                f"no part number; identified as {pn!r} by value/footprint",
            )
        try:
            refdes = expand_refdes(values.get("refdes", ""))
        except ValueError as exc:
            problems.error(number, "refdes", str(exc))
            continue
        qty_text = values.get("qty", "").strip()
        if qty_text:
            try:
                qty = parse_decimal(qty_text, what="quantity")
            except ValueError as exc:
                problems.error(number, "qty", str(exc))
                continue
        elif refdes:
            qty = Decimal(len(refdes))
        else:
            problems.error(number, "qty", "qty is required (or reference designators to count)")
            continue
        if qty <= 0 or qty > Decimal("1e9"):
            problems.error(number, "qty", f"qty must be > 0 and at most 1e9, not {qty_text}")
            continue
        if refdes and qty == qty.to_integral_value() and len(refdes) != qty:
            problems.warn(number, "refdes", f"{len(refdes)} designators but qty {qty.normalize()}")
        level_text = values.get("level", "").strip()
        level = 1
        if level_text:
            try:
                level = int(parse_decimal(level_text, what="level"))
            except ValueError as exc:
                problems.error(number, "level", str(exc))
                continue
            if level < 1 or level > len(stack) + 1:
                problems.error(number, "level", f"level {level} does not follow level {len(stack)}")
                continue
        parent = stack[level - 2] if level > 1 else None
        uom = values.get("uom", "").strip()[:32] or "each"
        eff = _effectivity(values, number, problems)
        if eff is None:
            continue
        key = (parent, pn, uom, tuple(eff.values()))
        line = lines.get(key)
        if line is None or level_text:
            line = PendingLine(
                key=key, effectivity=eff, id=new_id(), parent=parent, part_number=pn,
                qty=Decimal(0), uom=uom,
                refdes=[], notes=[], alternates=[], first_row=number,
            )  # fmt: skip
            lines[(*key, line.id) if level_text else key] = line
            line.new_part = {
                "name": (
                    values.get("name") or values.get("description") or values.get("value") or pn
                ).strip()[:300],
                "description": values.get("description", "").strip() or None,
                "manufacturer_name": values.get("manufacturer_name", "").strip()[:200] or None,
                "manufacturer_part_number": values.get("manufacturer_part_number", "").strip()[:200]
                or None,
                "attributes": {
                    k: values[k].strip()
                    for k in ("value", "footprint")
                    if values.get(k, "").strip()
                },
            }
        line.qty += qty
        line.refdes += [r for r in refdes if r not in line.refdes]
        if values.get("notes", "").strip():
            line.notes.append(values["notes"].strip())
        alternates = values.get("alternates", "").replace("|", ",").split(",")
        line.alternates += [a.strip()[:100] for a in alternates if a.strip() and a.strip() != pn]
        del stack[level - 1 :]
        stack.append(line.id)
    return list(lines.values())


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


async def import_bom(
    session: AsyncSession, *, access: Access, bom: Bom, data: bytes, dry_run: bool, replace: bool
) -> ImportReport:
    """Check every row; on apply, write the lines (creating missing parts, domain ``other``) in
    this transaction, or refuse the whole file when any row has an error."""
    service.ensure_editable(bom)
    sheet = read_table(data, aliases=ALIASES, required=[])
    has_identity = {"child_part_number", "manufacturer_part_number", "value"} & set(sheet.columns)
    if not has_identity or not {"qty", "refdes"} & set(sheet.columns):
        raise Invalid(
            "The file needs a part-number column (child_part_number, part_number, pn, MPN or "
            "Value) and a qty or reference-designator column; found: "
            + ", ".join(sheet.columns + sheet.unmapped),
            code="HEADER_NOT_FOUND",
        )
    problems = Problems()
    for note in sheet.notes:
        problems.warn(sheet.header_row, None, note)
    lines = _parse(sheet.rows, problems)
    numbers = {line.part_number for line in lines} | {a for line in lines for a in line.alternates}
    known = await _parts_by_number(session, access.workspace.id, numbers)
    missing = numbers - known.keys()
    rows = len(sheet.rows)
    failed = {p.row for p in problems.errors}
    valid = sum(1 for r in sheet.rows if r.number not in failed)
    counts = {"created": len(lines), "parts_created": len(missing)}
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
    details = {line.part_number: line.new_part for line in lines}
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
