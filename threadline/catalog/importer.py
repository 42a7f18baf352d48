"""Parts import from CSV/XLSX (productflo-sync-api: Parts Import): dry run or atomic upsert."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.audit import service as audit
from threadline.auth.models import Role
from threadline.auth.service import Access
from threadline.catalog import settings as bom_settings
from threadline.catalog.models import Domain, Lifecycle, Part, PartTag
from threadline.db import insert_rows, new_id, utcnow
from threadline.imports import ImportReport, Problems, parse_bool, parse_decimal
from threadline.tabular import read_table

ALIASES: dict[str, list[str]] = {
    "part_number": ["part_number", "pn", "part number", "part no", "partno"],
    "name": ["name", "part name"],
    "description": ["description", "desc"],
    "domain": ["domain"],
    "uom": ["uom", "unit", "unit_of_measure"],
    "lifecycle": ["lifecycle", "life_cycle"],
    "manufacturer_name": ["manufacturer_name", "manufacturer", "mfr"],
    "manufacturer_part_number": ["manufacturer_part_number", "mpn", "mfr_pn"],
    "tags": ["tags"],
    "attributes": ["attributes", "attrs", "json"],
    "unit_cost": ["unit_cost", "cost", "price"],
    "currency": ["currency"],
    "rohs_compliant": ["rohs_compliant", "rohs"],
    "reach_compliant": ["reach_compliant", "reach"],
    "conflict_minerals": ["conflict_minerals"],
}
CHUNK = 1000


def _tags(text: str) -> list[str]:
    return sorted({t.strip()[:64] for t in text.replace("|", ",").split(",") if t.strip()})


def _parse_row(values: dict[str, str], number: int, problems: Problems) -> dict[str, Any] | None:
    """One row's part fields, or None after recording why it cannot be imported."""
    out: dict[str, Any] = {}
    ok = True

    def bad(column: str, message: str) -> None:
        nonlocal ok
        ok = False
        problems.error(number, column, message)

    pn = values.get("part_number", "").strip()
    name = values.get("name", "").strip()
    if not pn:
        bad("part_number", "part_number is required")
    elif len(pn) > 100:
        bad("part_number", "part_number is longer than 100 characters")
    if not name:
        bad("name", "name is required")
    out.update(part_number=pn, name=name[:300])
    for column, enum in (("domain", Domain), ("lifecycle", Lifecycle)):
        text = values.get(column, "").strip().lower().replace(" ", "_")
        if not text:
            out[column] = None  # new parts take the default; existing parts keep theirs
        elif text in enum.__members__:
            out[column] = enum(text)
        else:
            bad(column, f"{values[column]!r} is not one of {', '.join(enum)}")
    out["uom"] = values.get("uom", "").strip()[:32] or "each"
    for column in (
        "description",
        "manufacturer_name",
        "manufacturer_part_number",
        "conflict_minerals",
    ):
        text = values.get(column, "").strip()
        out[column] = text[: 100 if column == "conflict_minerals" else 200] or None
    out["description"] = values.get("description", "").strip() or None
    out["tags"] = _tags(values.get("tags", ""))
    raw = values.get("attributes", "").strip()
    out["attributes"] = {}
    if raw:
        try:
            attributes = json.loads(raw)
        except json.JSONDecodeError as exc:
            bad("attributes", f"not valid JSON: {exc.msg} at character {exc.pos}")
        else:
            if isinstance(attributes, dict):
                out["attributes"] = attributes
            else:
                bad("attributes", 'must be a JSON object like {"material": "6061-T6"}')
    for column in ("rohs_compliant", "reach_compliant"):
        try:
            out[column] = parse_bool(values.get(column, ""))
        except ValueError as exc:
            bad(column, str(exc))
    cost = values.get("unit_cost", "").strip()
    out["unit_cost"] = None
    if cost:
        try:
            out["unit_cost"] = parse_decimal(cost, what="cost")
            if out["unit_cost"] < 0 or out["unit_cost"] > Decimal("1e12"):
                bad("unit_cost", "must be between 0 and 1e12")
        except ValueError as exc:
            bad("unit_cost", str(exc))
    currency = values.get("currency", "").strip().upper()
    if currency and (len(currency) != 3 or not currency.isalpha()):
        bad("currency", f"{currency!r} is not a 3-letter ISO currency code")
    out["currency"] = currency or None
    return out if ok else None


async def import_parts(
    session: AsyncSession, *, access: Access, data: bytes, dry_run: bool
) -> ImportReport:
    """Check every row; on apply, create new parts and update existing ones (matched by part
    number) in this transaction, or refuse the whole file when any row has an error."""
    sheet = read_table(data, aliases=ALIASES, required=["part_number", "name"])
    problems = Problems()
    for note in sheet.notes:
        problems.warn(sheet.header_row, None, note)
    settings = await bom_settings.load(session, access.workspace)
    parsed: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for row in sheet.rows:
        fields = _parse_row(row.values, row.number, problems)
        if fields is None:
            continue
        pn = fields["part_number"]
        if pn in seen:
            problems.error(row.number, "part_number", f"{pn} already appears on row {seen[pn]}")
            continue
        seen[pn] = row.number
        parsed.append((row.number, fields))
    existing = await _existing(session, access.workspace.id, [f["part_number"] for _, f in parsed])
    # An update changes only the columns the file has, so a file of part_number,name renames
    # parts without wiping their domain, cost or attributes.
    present = set(sheet.columns)
    checked: list[tuple[int, dict[str, Any]]] = []
    for number, fields in parsed:
        current = existing.get(fields["part_number"])
        domain = fields["domain"] or (current.domain if current else Domain.other)
        attributes = (
            fields["attributes"]
            if "attributes" in present or current is None
            else current.attributes
        )
        template_problems = bom_settings.attribute_problems(settings, domain, attributes)
        for message in template_problems:
            problems.error(number, "attributes", f"{domain.value} template: {message}")
        if not template_problems:
            checked.append((number, fields))
    parsed = checked
    is_manager = access.role.at_least(Role.manager)
    for number, fields in parsed:
        current = existing.get(fields["part_number"])
        wanted = fields["lifecycle"]
        before = current.lifecycle if current else Lifecycle.prototype
        if wanted is not None and wanted != before and not is_manager:
            problems.error(number, "lifecycle", "changing lifecycle needs the manager role")
    rows = len(sheet.rows)
    failed_rows = {p.row for p in problems.errors}
    valid = sum(1 for r in sheet.rows if r.number not in failed_rows)
    if dry_run:
        created = sum(1 for _, f in parsed if f["part_number"] not in existing)
        return problems.report(
            rows=rows, valid=valid, dry_run=True, created=created, updated=len(parsed) - created
        )
    problems.refuse_if_any(rows, valid)
    created, updated = await _apply(session, access, parsed, existing, present)
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="import",
        entity_id=access.workspace.id,
        action="parts",
        after={"rows": rows, "created": created, "updated": updated},
    )
    return problems.report(rows=rows, valid=valid, dry_run=False, created=created, updated=updated)


async def _existing(
    session: AsyncSession, workspace_id: Any, numbers: Sequence[str]
) -> dict[str, Part]:
    found: dict[str, Part] = {}
    for start in range(0, len(numbers), CHUNK):
        rows = await session.scalars(
            select(Part).where(
                Part.workspace_id == workspace_id,
                Part.part_number.in_(numbers[start : start + CHUNK]),
            )
        )
        found.update({p.part_number: p for p in rows})
    return found


_FIELDS = (
    "name", "description", "domain", "uom", "manufacturer_name", "manufacturer_part_number",
    "attributes", "rohs_compliant", "reach_compliant", "conflict_minerals", "unit_cost", "currency",
)  # fmt: skip


async def _apply(
    session: AsyncSession,
    access: Access,
    parsed: list[tuple[int, dict[str, Any]]],
    existing: dict[str, Part],
    present: set[str],
) -> tuple[int, int]:
    ws = access.workspace
    now = utcnow()
    new_parts: list[dict[str, Any]] = []
    new_tags: list[dict[str, Any]] = []
    updated = 0
    for _number, fields in parsed:
        current = existing.get(fields["part_number"])
        if current is None:
            part_id = new_id()
            new_parts.append(
                {
                    "id": part_id,
                    "workspace_id": ws.id,
                    "part_number": fields["part_number"],
                    "lifecycle": fields["lifecycle"] or Lifecycle.prototype,
                    "created_at": now,
                    "updated_at": now,
                    **{f: fields[f] for f in _FIELDS},
                    "domain": fields["domain"] or Domain.other,
                }
            )
            new_tags += [
                {"id": new_id(), "part_id": part_id, "workspace_id": ws.id, "tag": t,
                 "created_at": now, "updated_at": now}
                for t in fields["tags"]
            ]  # fmt: skip
            continue
        for f in _FIELDS:
            if f in present and (f != "domain" or fields[f] is not None):
                setattr(current, f, fields[f])
        if fields["lifecycle"] is not None:
            current.lifecycle = fields["lifecycle"]
        if fields["tags"]:
            have = {t.tag for t in current.tag_rows}
            current.tag_rows += [
                PartTag(workspace_id=ws.id, tag=t) for t in fields["tags"] if t not in have
            ]
        current.updated_at = now
        updated += 1
    await insert_rows(session, Part, new_parts)
    await insert_rows(session, PartTag, new_tags)
    return len(new_parts), updated
