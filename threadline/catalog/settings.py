"""Workspace BOM settings: numbering rules, domain templates (JSON Schema) and currency rates."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.audit import service as audit
from threadline.auth.models import User, Workspace
from threadline.catalog.models import BomSettings, Domain, NumberingCounter, Part
from threadline.catalog.schemas import BomSettingsModel
from threadline.errors import Invalid, Unprocessable

_PREFIX = re.compile(r"^[A-Za-z0-9._/-]{0,20}$")


async def load(session: AsyncSession, workspace: Workspace) -> BomSettingsModel:
    """The workspace's settings, or the defaults when none were saved."""
    row = await session.scalar(select(BomSettings).where(BomSettings.workspace_id == workspace.id))
    if row is None:
        return BomSettingsModel()
    return BomSettingsModel(
        numbering_rules=row.numbering_rules,
        domain_templates=row.domain_templates,
        currency=row.base_currency,
        exchange_rates={k: Decimal(str(v)) for k, v in row.exchange_rates.items()},
    )


def _check_numbering(rules: dict[str, Any]) -> None:
    """Rules are keyed by domain (or ``default``): ``{"prefix": "EL-", "digits": 5}``."""
    for key, rule in rules.items():
        where = f"numbering_rules.{key}"
        if key != "default" and key not in Domain.__members__:
            raise Invalid(f"{where}: key must be a domain or 'default'.", code="INVALID_SETTINGS")
        if not isinstance(rule, dict) or set(rule) - {"prefix", "digits"}:
            raise Invalid(f"{where}: expected {{prefix, digits}}.", code="INVALID_SETTINGS")
        prefix, digits = rule.get("prefix", ""), rule.get("digits", 5)
        if not isinstance(prefix, str) or not _PREFIX.match(prefix):
            raise Invalid(
                f"{where}.prefix: up to 20 letters, digits or . _ / -", code="INVALID_SETTINGS"
            )
        if not isinstance(digits, int) or isinstance(digits, bool) or not 1 <= digits <= 12:
            raise Invalid(f"{where}.digits: an integer 1-12.", code="INVALID_SETTINGS")


def _check_templates(templates: dict[str, Any]) -> None:
    for domain, schema in templates.items():
        if domain not in Domain.__members__:
            raise Invalid(
                f"domain_templates.{domain}: not a domain ({', '.join(Domain)}).",
                code="INVALID_SETTINGS",
            )
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise Invalid(
                f"domain_templates.{domain} is not a valid JSON Schema: {exc.message}",
                code="INVALID_SETTINGS",
            ) from None


async def save(
    session: AsyncSession, *, workspace: Workspace, actor: User, data: BomSettingsModel
) -> BomSettingsModel:
    """Validate and store the settings (the caller has checked manager+)."""
    _check_numbering(data.numbering_rules)
    _check_templates(data.domain_templates)
    row = await session.scalar(select(BomSettings).where(BomSettings.workspace_id == workspace.id))
    before = None
    if row is None:
        row = BomSettings(workspace_id=workspace.id)
        session.add(row)
    else:
        before = {"numbering_rules": row.numbering_rules, "domain_templates": row.domain_templates}
    row.numbering_rules = data.numbering_rules
    row.domain_templates = data.domain_templates
    row.base_currency = data.currency
    row.exchange_rates = {k.upper(): str(v) for k, v in data.exchange_rates.items()}
    audit.record(
        session,
        actor=actor,
        workspace=workspace,
        entity_type="bom_settings",
        entity_id=workspace.id,
        action="update",
        before=before,
        after=data.model_dump(mode="json"),
    )
    return data


def attribute_problems(
    settings: BomSettingsModel, domain: Domain, attributes: dict[str, Any]
) -> list[str]:
    """What the domain template says is wrong with ``attributes`` (empty when fine)."""
    if domain.value not in settings.domain_templates:
        return []
    schema = settings.domain_templates[domain.value]
    validator = Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(attributes), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in error.path) or "attributes"
        problems.append(f"{where}: {error.message}")
    return problems


def check_attributes(
    settings: BomSettingsModel, domain: Domain, attributes: dict[str, Any]
) -> None:
    """400 ATTRIBUTES_INVALID listing every problem when the domain template rejects them."""
    problems = attribute_problems(settings, domain, attributes)
    if problems:
        raise Unprocessable(
            f"Attributes do not satisfy the {domain.value} template: " + "; ".join(problems[:5]),
            code="ATTRIBUTES_INVALID",
            problems=problems,
        )


def _rule(settings: BomSettingsModel, domain: Domain) -> tuple[str, int]:
    rule = settings.numbering_rules.get(domain.value) or settings.numbering_rules.get("default")
    if rule is None:
        return "PN-", 6
    return str(rule.get("prefix", "")), int(rule.get("digits", 5))


async def next_part_numbers(
    session: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    settings: BomSettingsModel,
    domain: Domain,
    count: int,
) -> list[str]:
    """``count`` fresh part numbers from the domain's numbering rule.

    The counter row is advanced with one UPDATE, so concurrent requests never hand out the same
    number; numbers somebody already typed in by hand are skipped.
    """
    prefix, digits = _rule(settings, domain)
    numbers: list[str] = []
    while len(numbers) < count:
        start = await _advance(session, workspace_id, prefix, count - len(numbers))
        wanted = [f"{prefix}{n:0{digits}d}" for n in range(start, start + count - len(numbers))]
        taken = set(
            (
                await session.scalars(
                    select(Part.part_number).where(
                        Part.workspace_id == workspace_id, Part.part_number.in_(wanted)
                    )
                )
            ).all()
        )
        numbers.extend(n for n in wanted if n not in taken)
    return numbers


async def _advance(session: AsyncSession, workspace_id: uuid.UUID, prefix: str, n: int) -> int:
    """Reserve ``n`` values of the counter; returns the first."""
    stmt = (
        update(NumberingCounter)
        .where(NumberingCounter.workspace_id == workspace_id, NumberingCounter.prefix == prefix)
        .values(next_value=NumberingCounter.next_value + n)
        .returning(NumberingCounter.next_value)
    )
    after = await session.scalar(stmt)
    if after is None:
        try:
            async with session.begin_nested():
                session.add(
                    NumberingCounter(workspace_id=workspace_id, prefix=prefix, next_value=1)
                )
        except IntegrityError:
            pass  # a concurrent request created it first; the UPDATE below uses theirs
        after = await session.scalar(stmt)
        assert after is not None
    return int(after) - n
