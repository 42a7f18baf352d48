"""Parts catalog rules: create, search, update, bulk actions and revisions.

Services take the request's session and never commit; every write is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.audit import service as audit
from threadline.auth.models import Role
from threadline.auth.service import Access
from threadline.catalog import settings as bom_settings
from threadline.catalog.models import ApprovalStatus, Domain, Lifecycle, Part, PartTag, PartVersion
from threadline.catalog.schemas import PartCreate, PartUpdate, PartVersionCreate
from threadline.concurrency import Expected
from threadline.db import utcnow
from threadline.errors import Conflict, Forbidden, Invalid, NotFound
from threadline.pagination import PageParams, Sortable, paginate

# Ids per IN-list: well under SQLite's and asyncpg's bind-parameter limits.
_ID_BATCH = 1000

SORTABLE: dict[str, Sortable] = {
    "part_number": Part.part_number,
    "name": Part.name,
    "domain": Part.domain,
    "lifecycle": Part.lifecycle,
    "manufacturer_part_number": Part.manufacturer_part_number,
    "updated_at": Part.updated_at,
}


def snapshot(part: Part) -> dict[str, Any]:
    """The audited picture of a part."""
    return {
        "partNumber": part.part_number,
        "name": part.name,
        "description": part.description,
        "manufacturerName": part.manufacturer_name,
        "manufacturerPartNumber": part.manufacturer_part_number,
        "domain": part.domain.value,
        "lifecycle": part.lifecycle.value,
        "uom": part.uom,
        "tags": part.tags,
        "attributes": part.attributes,
        "unitCost": str(part.unit_cost) if part.unit_cost is not None else None,
        "currency": part.currency,
    }


def _require_manager_for_lifecycle(
    access: Access, lifecycle: Lifecycle | None, current: Lifecycle
) -> None:
    if lifecycle is not None and lifecycle != current and not access.role.at_least(Role.manager):
        raise Forbidden(
            "Changing a part's lifecycle needs the manager role.", code="INSUFFICIENT_ROLE"
        )


def _set_tags(part: Part, workspace_id: uuid.UUID, tags: Iterable[str]) -> None:
    wanted = {t.strip() for t in tags if t.strip()}
    part.tag_rows = [r for r in part.tag_rows if r.tag in wanted] + [
        PartTag(workspace_id=workspace_id, tag=t)
        for t in sorted(wanted - {r.tag for r in part.tag_rows})
    ]


async def _ensure_unique_number(
    session: AsyncSession, workspace_id: uuid.UUID, number: str
) -> None:
    if await session.scalar(
        select(Part.id).where(Part.workspace_id == workspace_id, Part.part_number == number)
    ):
        raise Conflict(f"Part number {number!r} already exists.", code="PART_NUMBER_TAKEN")


async def create_part(session: AsyncSession, *, access: Access, part_in: PartCreate) -> Part:
    """A new part (engineer+; a lifecycle other than prototype needs manager+)."""
    ws = access.workspace
    _require_manager_for_lifecycle(access, part_in.lifecycle, Lifecycle.prototype)
    settings = await bom_settings.load(session, ws)
    domain = part_in.domain or Domain.other
    attributes = part_in.attributes or {}
    bom_settings.check_attributes(settings, domain, attributes)
    if part_in.part_number:
        number = part_in.part_number
        await _ensure_unique_number(session, ws.id, number)
    else:
        (number,) = await bom_settings.next_part_numbers(
            session, workspace_id=ws.id, settings=settings, domain=domain, count=1
        )
    part = Part(
        workspace_id=ws.id,
        part_number=number,
        name=part_in.name,
        description=part_in.description,
        domain=domain,
        uom=part_in.uom or "each",
        lifecycle=part_in.lifecycle or Lifecycle.prototype,
        manufacturer_name=part_in.manufacturer_name,
        manufacturer_part_number=part_in.manufacturer_part_number,
        attributes=attributes,
        rohs_compliant=part_in.rohs_compliant,
        reach_compliant=part_in.reach_compliant,
        conflict_minerals=part_in.conflict_minerals,
        unit_cost=part_in.unit_cost,
        currency=part_in.currency,
        tag_rows=[],
        versions=[],
    )
    _set_tags(part, ws.id, part_in.tags or [])
    session.add(part)
    await session.flush()  # the id goes into the audit row and the response
    audit.record(
        session,
        actor=access.user,
        workspace=ws,
        entity_type="part",
        entity_id=part.id,
        action="create",
        after=snapshot(part),
    )
    return part


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_statement(
    workspace_id: uuid.UUID,
    *,
    q: str | None = None,
    domain: Domain | None = None,
    lifecycle: Lifecycle | None = None,
    tag: str | None = None,
) -> Select[Part]:
    """Parts of a workspace matching the catalog filters (productflo-sync-api: Filters & Query).

    ``q`` matches part_number by prefix, name by substring, manufacturer_part_number by prefix,
    all case-insensitively.
    """
    stmt = select(Part).where(Part.workspace_id == workspace_id)
    if q:
        term = _escape_like(q.lower())
        stmt = stmt.where(
            or_(
                func.lower(Part.part_number).like(term + "%", escape="\\"),
                func.lower(Part.name).like("%" + term + "%", escape="\\"),
                func.lower(Part.manufacturer_part_number).like(term + "%", escape="\\"),
            )
        )
    if domain:
        stmt = stmt.where(Part.domain == domain)
    if lifecycle:
        stmt = stmt.where(Part.lifecycle == lifecycle)
    if tag:
        stmt = stmt.where(exists().where(PartTag.part_id == Part.id, PartTag.tag == tag))
    return stmt


async def list_parts(
    session: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    params: PageParams,
    order_by: Sequence[ColumnElement[Any]],
    **filters: Any,
) -> tuple[list[Part], int]:
    stmt = search_statement(workspace_id, **filters).order_by(*order_by)
    rows, total = await paginate(session, stmt, params)
    return [row[0] for row in rows], total


def _locked(stmt: Select[Part]) -> Select[Part]:
    """``stmt`` locking its rows until commit (PostgreSQL; SQLite writers are serialised by
    BEGIN IMMEDIATE anyway), refreshing parts this session already holds."""
    return stmt.with_for_update().execution_options(populate_existing=True)


async def get_part(
    session: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    part_id: uuid.UUID,
    for_update: bool = False,
) -> Part:
    """A part of this workspace; another workspace's part is 404 like a missing one.

    ``for_update`` locks the row until commit: a writer then sees the latest committed version
    and concurrent writers of the part apply one after another.
    """
    stmt = select(Part).where(Part.id == part_id, Part.workspace_id == workspace_id)
    part = await session.scalar(_locked(stmt) if for_update else stmt)
    if part is None:
        raise NotFound(f"Part {part_id} not found.", code="PART_NOT_FOUND")
    return part


async def parts_by_id(
    session: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    part_ids: Iterable[uuid.UUID],
    for_update: bool = False,
) -> dict[uuid.UUID, Part]:
    """The workspace's parts among ``part_ids``; ids of other workspaces are simply absent.

    ``for_update`` locks them (in id order, so two bulk writers cannot deadlock).
    """
    ids = set(part_ids)
    if not ids:
        return {}
    stmt = select(Part).where(Part.workspace_id == workspace_id, Part.id.in_(ids))
    rows = await session.scalars(_locked(stmt.order_by(Part.id)) if for_update else stmt)
    return {p.id: p for p in rows}


async def update_part(
    session: AsyncSession,
    *,
    access: Access,
    part_id: uuid.UUID,
    part_in: PartUpdate,
    expected: Expected | None = None,
) -> Part:
    """Patch a part (engineer+; lifecycle changes manager+). Attributes are re-validated.

    The row is locked first, so ``expected`` (If-Match / ``version``) is checked against the
    version this write replaces, and a stale one writes nothing. The write bumps ``version``.
    """
    part = await get_part(
        session, workspace_id=access.workspace.id, part_id=part_id, for_update=True
    )
    (expected or Expected()).check(part.version, f"Part {part.part_number}")
    _require_manager_for_lifecycle(access, part_in.lifecycle, part.lifecycle)
    before = snapshot(part)
    changes = part_in.model_dump(exclude_unset=True)
    changes.pop("version", None)  # the precondition, not a field to set
    tags = changes.pop("tags", None)
    for field, value in changes.items():
        if value is None and field in {"name", "domain", "uom", "lifecycle", "attributes"}:
            continue  # required columns: null means "leave as is"
        setattr(part, field, value)
    if tags is not None:
        _set_tags(part, access.workspace.id, tags)
    if "attributes" in changes or "domain" in changes:
        settings = await bom_settings.load(session, access.workspace)
        bom_settings.check_attributes(settings, part.domain, part.attributes)
    part.updated_at = utcnow()
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="part",
        entity_id=part.id,
        action="update",
        before=before,
        after=snapshot(part),
    )
    await session.flush()  # bumps ``version`` (db.bump_version_on_update): the response shows it
    return part


async def bulk_update(
    session: AsyncSession,
    *,
    access: Access,
    part_ids: Sequence[uuid.UUID],
    tags: Sequence[str] | None = None,
    lifecycle: Lifecycle | None = None,
    versions: Mapping[uuid.UUID, int] | None = None,
) -> dict[uuid.UUID, int]:
    """Apply tags (engineer+) or a lifecycle (manager+) to selected parts, all or nothing.

    ``versions`` are the versions the client read of (some of) the parts: one stale version
    refuses the whole action (409 VERSION_CONFLICT listing each stale part's current version).
    Answers each part's new version.
    """
    if lifecycle is not None and not access.role.at_least(Role.manager):
        raise Forbidden("Setting lifecycle needs the manager role.", code="INSUFFICIENT_ROLE")
    parts = await parts_by_id(
        session, workspace_id=access.workspace.id, part_ids=part_ids, for_update=True
    )
    missing = set(part_ids) - set(parts)
    if missing:
        raise NotFound(
            f"{len(missing)} selected part(s) not found, e.g. {next(iter(missing))}.",
            code="PART_NOT_FOUND",
        )
    _check_versions(parts, versions or {})
    before = {part.id: snapshot(part) for part in parts.values()}
    if tags:
        for part in parts.values():
            _set_tags(part, access.workspace.id, [*part.tags, *tags])
    bumped = await _bump_versions(session, list(parts), lifecycle=lifecycle)
    for part in parts.values():
        audit.record(
            session,
            actor=access.user,
            workspace=access.workspace,
            entity_type="part",
            entity_id=part.id,
            action="bulk_update",
            before=before[part.id],
            after=snapshot(part),
        )
    return bumped


async def _bump_versions(
    session: AsyncSession, part_ids: Sequence[uuid.UUID], *, lifecycle: Lifecycle | None
) -> dict[uuid.UUID, int]:
    """Bump ``version`` and ``updated_at`` (and set ``lifecycle``) of locked parts, set-based.

    One UPDATE per batch of ids: an ORM flush would write (and version-check) each part on its
    own. The session's parts are updated in place, so the audit snapshots see the new values.
    """
    values: dict[str, Any] = {"updated_at": utcnow(), "version": Part.version + 1}
    if lifecycle is not None:
        values["lifecycle"] = lifecycle
    bumped: dict[uuid.UUID, int] = {}
    for start in range(0, len(part_ids), _ID_BATCH):
        rows = await session.execute(
            update(Part)
            .where(Part.id.in_(part_ids[start : start + _ID_BATCH]))
            .values(values)
            .returning(Part.id, Part.version)
        )
        bumped.update((part_id, version) for part_id, version in rows)
    return bumped


def _check_versions(parts: Mapping[uuid.UUID, Part], versions: Mapping[uuid.UUID, int]) -> None:
    """Refuse a bulk action when a version the client read is no longer current."""
    strays = set(versions) - set(parts)
    if strays:
        raise Invalid(
            f"versions names {len(strays)} part(s) that are not selected, e.g. "
            f"{next(iter(strays))}; give versions only for ids in partIds.",
            code="INVALID_BULK_ACTION",
        )
    stale = [(parts[i], v) for i, v in versions.items() if parts[i].version != v]
    if stale:
        part, seen = stale[0]
        raise Conflict(
            f"{len(stale)} selected part(s) changed since you read them, e.g. "
            f"{part.part_number} is at version {part.version}, not {seen}; nothing was saved.",
            code="VERSION_CONFLICT",
            parts=[{"id": str(p.id), "version": p.version} for p, _ in stale],
        )


# --- versions (revisions) ---------------------------------------------------------------------


async def list_versions(session: AsyncSession, *, part: Part) -> Sequence[PartVersion]:
    return (
        await session.scalars(
            select(PartVersion)
            .where(PartVersion.part_id == part.id)
            .order_by(PartVersion.created_at, PartVersion.id)
        )
    ).all()


async def create_version(
    session: AsyncSession, *, access: Access, part_id: uuid.UUID, version_in: PartVersionCreate
) -> PartVersion:
    part = await get_part(session, workspace_id=access.workspace.id, part_id=part_id)
    if await session.scalar(
        select(PartVersion.id).where(
            PartVersion.part_id == part.id, PartVersion.revision == version_in.revision
        )
    ):
        raise Conflict(
            f"{part.part_number} already has revision {version_in.revision}.",
            code="REVISION_EXISTS",
        )
    version = PartVersion(
        part_id=part.id,
        revision=version_in.revision,
        change_note=version_in.change_note,
        data=version_in.data or {},
        created_by_id=access.user.id,
    )
    session.add(version)
    await session.flush()  # the id goes into the audit row and the response
    _audit_version(session, access, version, "create", None)
    return version


async def get_version(
    session: AsyncSession, *, workspace_id: uuid.UUID, part_id: uuid.UUID, version_id: uuid.UUID
) -> PartVersion:
    version = await session.scalar(
        select(PartVersion)
        .join(Part, Part.id == PartVersion.part_id)
        .where(
            PartVersion.id == version_id,
            PartVersion.part_id == part_id,
            Part.workspace_id == workspace_id,
        )
    )
    if version is None:
        raise NotFound(f"Version {version_id} not found.", code="VERSION_NOT_FOUND")
    return version


def _audit_version(
    session: AsyncSession, access: Access, version: PartVersion, action: str, before: str | None
) -> None:
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="part_version",
        entity_id=version.id,
        action=action,
        before={"status": before} if before else None,
        after={"revision": version.revision, "status": version.status.value},
    )


# Which transitions each action allows: action -> (allowed from, to, minimum role).
TRANSITIONS: dict[str, tuple[frozenset[ApprovalStatus], ApprovalStatus, Role]] = {
    "submit": (
        frozenset({ApprovalStatus.draft, ApprovalStatus.rejected}),
        ApprovalStatus.submitted,
        Role.engineer,
    ),
    "approve": (frozenset({ApprovalStatus.submitted}), ApprovalStatus.approved, Role.manager),
    "reject": (frozenset({ApprovalStatus.submitted}), ApprovalStatus.rejected, Role.manager),
}


def check_transition(
    access: Access, current: ApprovalStatus, action: str, what: str
) -> ApprovalStatus:
    """The status after ``action``; 403 for too junior a role, 409 from the wrong status."""
    allowed_from, target, minimum = TRANSITIONS[action]
    if not access.role.at_least(minimum):
        raise Forbidden(f"To {action} needs the {minimum.value} role.", code="INSUFFICIENT_ROLE")
    if current not in allowed_from:
        raise Conflict(
            f"Cannot {action} {what}: it is {current.value}"
            f" (allowed from {', '.join(sorted(s.value for s in allowed_from))}).",
            code="INVALID_STATUS_TRANSITION",
        )
    return target


async def transition_version(
    session: AsyncSession,
    *,
    access: Access,
    part_id: uuid.UUID,
    version_id: uuid.UUID,
    action: str,
    reason: str | None = None,
) -> PartVersion:
    """Submit (engineer+), approve or reject (manager+) a part version."""
    version = await get_version(
        session, workspace_id=access.workspace.id, part_id=part_id, version_id=version_id
    )
    before = version.status
    version.status = check_transition(access, before, action, f"revision {version.revision}")
    if action in ("approve", "reject"):
        version.decided_by_id = access.user.id
        version.decided_at = utcnow()
    version.reject_reason = reason if action == "reject" else None
    _audit_version(session, access, version, action, before.value)
    return version


def compliance_warnings(part: Part) -> list[str]:
    """Regulatory flags worth a warning wherever the part is used."""
    out = []
    if part.rohs_compliant is False:
        out.append("not RoHS compliant")
    if part.reach_compliant is False:
        out.append("not REACH compliant")
    if part.conflict_minerals and part.conflict_minerals.lower() not in {
        "free",
        "none",
        "conflict-free",
        "compliant",
        "no",
    }:
        out.append(f"conflict minerals: {part.conflict_minerals}")
    return out


async def workspace_of_part(session: AsyncSession, part_id: uuid.UUID) -> uuid.UUID | None:
    """Which workspace a part belongs to (for routes addressed by part id alone)."""
    return await session.scalar(select(Part.workspace_id).where(Part.id == part_id))


async def parts_for_export(
    session: AsyncSession, *, workspace_id: uuid.UUID, part_ids: Sequence[uuid.UUID] | None
) -> Sequence[Part]:
    """The selected parts (all of the workspace's when none are selected), by part number."""
    stmt = select(Part).where(Part.workspace_id == workspace_id)
    if part_ids is not None:
        stmt = stmt.where(Part.id.in_(set(part_ids)))
    return (await session.scalars(stmt.order_by(Part.part_number))).all()
