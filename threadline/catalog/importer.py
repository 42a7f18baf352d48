"""Parts import from CSV/XLSX (productflo-sync-api: Parts Import): dry run or atomic upsert."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.audit import service as audit
from threadline.auth.models import Role
from threadline.auth.service import Access
from threadline.catalog import settings as bom_settings
from threadline.catalog.models import Domain, Lifecycle, Part, PartTag
from threadline.db import insert_rows, new_id, utcnow
from threadline.imports import (
    FieldChange,
    ImportChange,
    ImportReport,
    Problems,
    parse_bool,
    parse_decimal,
)
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


# A part always has these: a blank cell keeps the part's value instead of clearing it.
_KEEP_WHEN_BLANK = frozenset({"name", "domain", "uom", "lifecycle"})
_FIELDS = (
    "name", "description", "domain", "uom", "lifecycle", "manufacturer_name",
    "manufacturer_part_number", "attributes", "rohs_compliant", "reach_compliant",
    "conflict_minerals", "unit_cost", "currency",
)  # fmt: skip
_TEXT_LIMITS = {
    "description": None, "manufacturer_name": 200, "manufacturer_part_number": 200,
    "conflict_minerals": 100,
}  # fmt: skip


def _tags(text: str) -> list[str]:
    return sorted({t.strip()[:64] for t in text.replace("|", ",").split(",") if t.strip()})


def _parse_row(values: dict[str, str], number: int, problems: Problems) -> dict[str, Any] | None:
    """The row's part number and the fields of the columns the file has (None: a blank cell),
    or None after recording why the row cannot be imported."""
    out: dict[str, Any] = {}
    ok = True

    def bad(column: str, message: str) -> None:
        nonlocal ok
        ok = False
        problems.error(number, column, message)

    pn = values.get("part_number", "").strip()
    if not pn:
        bad("part_number", "part_number is required")
    elif len(pn) > 100:
        bad("part_number", "part_number is longer than 100 characters")
    out["part_number"] = pn
    if "name" in values:
        out["name"] = values["name"].strip()[:300] or None
    for column, enum in (("domain", Domain), ("lifecycle", Lifecycle)):
        if column not in values:
            continue
        text = values[column].strip().lower().replace(" ", "_")
        out[column] = None
        if text in enum.__members__:
            out[column] = enum(text)
        elif text:
            bad(column, f"{values[column]!r} is not one of {', '.join(enum)}")
    if "uom" in values:
        out["uom"] = values["uom"].strip()[:32] or None
    for column, limit in _TEXT_LIMITS.items():
        if column in values:
            out[column] = values[column].strip()[:limit] or None
    if "tags" in values:
        out["tags"] = _tags(values["tags"])
    if "attributes" in values:
        raw = values["attributes"].strip()
        out["attributes"] = {}
        try:
            attributes = json.loads(raw) if raw else {}
        except json.JSONDecodeError as exc:
            bad("attributes", f"not valid JSON: {exc.msg} at character {exc.pos}")
        else:
            if isinstance(attributes, dict):
                out["attributes"] = attributes
            else:
                bad("attributes", 'must be a JSON object like {"material": "6061-T6"}')
    for column in ("rohs_compliant", "reach_compliant"):
        if column in values:
            try:
                out[column] = parse_bool(values[column])
            except ValueError as exc:
                bad(column, str(exc))
    if "unit_cost" in values:
        cost = values["unit_cost"].strip()
        out["unit_cost"] = None
        if cost:
            try:
                out["unit_cost"] = parse_decimal(cost, what="cost")
                if out["unit_cost"] < 0 or out["unit_cost"] > Decimal("1e12"):
                    bad("unit_cost", "must be between 0 and 1e12")
            except ValueError as exc:
                bad("unit_cost", str(exc))
    if "currency" in values:
        currency = values["currency"].strip().upper()
        if currency and (len(currency) != 3 or not currency.isalpha()):
            bad("currency", f"{currency!r} is not a 3-letter ISO currency code")
        out["currency"] = currency or None
    return out if ok else None


def _plain(value: Any) -> Any:
    """A field value as the report's JSON shows it."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    return value


def _new_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Every field of a part created from ``fields``: what the file says, else the defaults."""
    defaults: dict[str, Any] = {
        "domain": Domain.other, "uom": "each", "lifecycle": Lifecycle.prototype, "attributes": {},
    }  # fmt: skip
    return {f: fields.get(f) if fields.get(f) is not None else defaults.get(f) for f in _FIELDS}


def _changes(current: Part, fields: dict[str, Any]) -> dict[str, FieldChange]:
    """What applying ``fields`` (the columns the file has) changes on ``current``."""
    changes: dict[str, FieldChange] = {}
    for name in _FIELDS:
        if name not in fields or (name in _KEEP_WHEN_BLANK and fields[name] is None):
            continue
        before, after = getattr(current, name), fields[name]
        if before != after:
            changes[name] = FieldChange(before=_plain(before), after=_plain(after))
    have = current.tags
    added = [t for t in fields.get("tags", []) if t not in have]
    if added:  # imported tags are added to the part's own
        changes["tags"] = FieldChange(before=have, after=sorted({*have, *added}))
    return changes


def _plan(
    parsed: list[tuple[int, dict[str, Any]]], existing: dict[str, Part], problems: Problems
) -> list[ImportChange]:
    """What each valid row would do; a new part without a name is an error of its row."""
    plan: list[ImportChange] = []
    for number, fields in parsed:
        current = existing.get(fields["part_number"])
        if current is None:
            if not fields.get("name"):
                problems.error(number, "name", "name is required for a new part")
                continue
            created = _new_fields(fields)
            plan.append(
                ImportChange(
                    row=number,
                    part_number=fields["part_number"],
                    action="create",
                    changes={
                        k: FieldChange(before=None, after=_plain(v))
                        for k, v in {**created, "tags": fields.get("tags", [])}.items()
                        if v not in (None, {}, [])
                    },
                )
            )
            continue
        changes = _changes(current, fields)
        plan.append(
            ImportChange(
                row=number,
                part_number=fields["part_number"],
                action="update" if changes else "unchanged",
                changes=changes,
            )
        )
    return plan


async def import_parts(
    session: AsyncSession, *, access: Access, data: bytes, dry_run: bool
) -> ImportReport:
    """Check every row; on apply, create new parts and update existing ones (matched by part
    number) in this transaction, or refuse the whole file when any row has an error.

    Only the columns the file has are written (productflo-sync-api requires ``name`` on every
    row; here only a row that creates a part needs it), so ``part_number,unit_cost,currency``
    reprices parts and leaves everything else as it was."""
    sheet = read_table(data, aliases=ALIASES, required=["part_number"])
    problems = Problems()
    problems.read_from(sheet)
    settings = await bom_settings.load(session, access.workspace)
    present = set(sheet.columns)
    parsed: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    refused = {note.row for note in sheet.row_notes if note.error}  # cells misplaced
    for row in sheet.rows:
        if row.number in refused:
            continue
        values = {k: v for k, v in row.values.items() if k in present}
        fields = _parse_row(values, row.number, problems)
        if fields is None:
            continue
        pn = fields["part_number"]
        if pn in seen:
            problems.error(row.number, "part_number", f"{pn} already appears on row {seen[pn]}")
            continue
        seen[pn] = row.number
        parsed.append((row.number, fields))
    existing = await _existing(session, access.workspace.id, [f["part_number"] for _, f in parsed])
    checked: list[tuple[int, dict[str, Any]]] = []
    is_manager = access.role.at_least(Role.manager)
    for number, fields in parsed:
        current = existing.get(fields["part_number"])
        domain = fields.get("domain") or (current.domain if current else Domain.other)
        attributes = (
            fields.get("attributes", {})
            if "attributes" in fields or current is None
            else current.attributes
        )
        failed = False
        for message in bom_settings.attribute_problems(settings, domain, attributes):
            problems.error(number, "attributes", f"{domain.value} template: {message}")
            failed = True
        # The PATCH rule: changing a lifecycle needs the manager role (catalog.service).
        wanted = fields.get("lifecycle")
        before = current.lifecycle if current else Lifecycle.prototype
        if wanted is not None and wanted != before and not is_manager:
            problems.error(number, "lifecycle", "changing lifecycle needs the manager role")
            failed = True
        if not failed:
            checked.append((number, fields))
    plan = _plan(checked, existing, problems)
    rows = len(sheet.rows)
    failed_rows = {p.row for p in problems.errors}
    valid = sum(1 for r in sheet.rows if r.number not in failed_rows)
    counts = {
        action: sum(1 for c in plan if c.action == verb)
        for action, verb in (
            ("created", "create"),
            ("updated", "update"),
            ("unchanged", "unchanged"),
        )
    }
    if dry_run:
        return problems.report(rows=rows, valid=valid, dry_run=True, changes=plan, **counts)
    problems.refuse_if_any(rows, valid)
    fields_by_number = {f["part_number"]: f for _, f in checked}
    await _apply(session, access, plan, fields_by_number, existing)
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="import",
        entity_id=access.workspace.id,
        action="parts",
        after={"rows": rows, **counts},
    )
    return problems.report(rows=rows, valid=valid, dry_run=False, changes=plan, **counts)


async def _existing(
    session: AsyncSession, workspace_id: Any, numbers: Sequence[str]
) -> dict[str, Part]:
    found: dict[str, Part] = {}
    for start in range(0, len(numbers), CHUNK):
        # Locked until commit: an updated part's version bump (db.bump_version_on_update) then
        # starts from the latest version, and a concurrent PATCH waits instead of being undone.
        rows = await session.scalars(
            select(Part)
            .where(
                Part.workspace_id == workspace_id,
                Part.part_number.in_(numbers[start : start + CHUNK]),
            )
            .order_by(Part.id)
            .with_for_update()
        )
        found.update({p.part_number: p for p in rows})
    return found


async def _apply(
    session: AsyncSession,
    access: Access,
    plan: list[ImportChange],
    fields_by_number: dict[str, dict[str, Any]],
    existing: dict[str, Part],
) -> None:
    """Insert the new parts in bulk; update only the changed fields of the others (the ORM
    bumps each changed part's ``version``); leave unchanged parts untouched."""
    ws = access.workspace
    now = utcnow()
    new_parts: list[dict[str, Any]] = []
    new_tags: list[dict[str, Any]] = []
    for change in plan:
        fields = fields_by_number[change.part_number]
        if change.action == "create":
            part_id = new_id()
            new_parts.append(
                {
                    "id": part_id, "workspace_id": ws.id, "part_number": change.part_number,
                    "created_at": now, "updated_at": now, **_new_fields(fields),
                }
            )  # fmt: skip
            new_tags += [
                {"id": new_id(), "part_id": part_id, "workspace_id": ws.id, "tag": t,
                 "created_at": now, "updated_at": now}
                for t in fields.get("tags", [])
            ]  # fmt: skip
        elif change.action == "update":
            current = existing[change.part_number]
            for name in change.changes:
                if name != "tags":
                    setattr(current, name, fields[name])
            have = set(current.tags)
            current.tag_rows += [
                PartTag(workspace_id=ws.id, tag=t) for t in fields.get("tags", []) if t not in have
            ]
            current.updated_at = now
    await insert_rows(session, Part, new_parts)
    await insert_rows(session, PartTag, new_tags)
