"""Production BOMs: create (or derive from an approved native MBOM), update, versioned edit,
and the per-entry summary computed from the contributing jobs' serials at request time
(production-bom-api.md: BOMs and Entries, Versioned Editing, BOM Summary).

- Entries are rewritten set-based (one DELETE, one INSERT of entries, one of their jobs).
- A versioned edit first bumps the BOM's ``last_version`` with one ``UPDATE ... RETURNING``:
  the number it gets is the new version's, and the row lock that UPDATE takes holds every other
  edit of the BOM back until this one commits or rolls back. So concurrent edits get
  consecutive numbers, never a duplicate, and a rolled-back edit gives its number back (no gap);
  the snapshot is read after the lock, so each version holds the entries the edit replaced.
  (SQLite serialises writers anyway.) A unique (bom, version number) backs it up.
- The summary is one grouped query over the BOM's entry-job links joined to the serials.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, delete, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from threadline.audit import service as audit
from threadline.boms.graph import TreeOptions
from threadline.boms.models import Bom, BomType
from threadline.boms.tree import load_structure
from threadline.catalog.models import ApprovalStatus, Part
from threadline.db import insert_rows, new_ids, utcnow
from threadline.errors import Conflict, Invalid, NotFound
from threadline.mes.demand.models import LineItem, Piece
from threadline.mes.face import MesContext
from threadline.mes.production.jobs import SERIAL_STATUSES, WRITE, resolve_workspace
from threadline.mes.production.models import (
    BomVersion,
    ProductionBom,
    ProductionBomEntry,
    ProductionBomEntryJob,
)
from threadline.mes.production.schemas import BomCreate, BomEdit, BomUpdate, EntryIn
from threadline.mes.resources import workspace_of
from threadline.pagination import PageParams, paginate

ENTITY = "production_bom"
CHUNK = 5000


def quantity_out(value: Decimal) -> int | float:
    """A stored quantity as the JSON number a client expects (2, not "2.000000")."""
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass
class Entry:
    """An entry as the API shows it (without its summary)."""

    id: uuid.UUID
    part_type: str
    required_quantity: Decimal
    part_id: uuid.UUID | None
    job_ids: list[uuid.UUID] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The entry in the API's shape: what a version snapshot and the audit log keep."""
        return {
            "id": str(self.id),
            "partType": self.part_type,
            "requiredQuantityPerBuild": quantity_out(self.required_quantity),
            "contributingJobIds": [str(j) for j in self.job_ids],
            "partId": str(self.part_id) if self.part_id else None,
        }


@dataclass(frozen=True)
class Progress:
    """An entry's serials: completed and in progress (production-bom-api.md: BOM Summary)."""

    completed: int = 0
    in_progress: int = 0

    def outstanding(self, required: Decimal) -> int:
        """Completed units still needed to meet the requirement (never below zero)."""
        needed = int(required.to_integral_value(rounding="ROUND_CEILING"))
        return max(0, needed - self.completed)


def bom_not_found(bom_id: object) -> NotFound:
    return NotFound(f"BOM {bom_id} was not found.", code="BOM_NOT_FOUND")


# --- reading ------------------------------------------------------------------------------------


async def get_bom(ctx: MesContext, bom_id: uuid.UUID) -> ProductionBom:
    """A production BOM of one of the caller's workspaces; 404 otherwise."""
    row = await ctx.session.get(ProductionBom, bom_id)
    if row is None or row.workspace_id not in ctx.roles:
        raise bom_not_found(bom_id)
    return row


async def list_boms(
    ctx: MesContext, *, workspace_id: uuid.UUID, params: PageParams
) -> tuple[list[ProductionBom], int]:
    """One page of the workspace's production BOMs, newest first."""
    stmt = (
        select(ProductionBom)
        .where(ProductionBom.workspace_id == workspace_id)
        .order_by(ProductionBom.created_at.desc(), ProductionBom.id.desc())
    )
    rows, total = await paginate(ctx.session, stmt, params)
    return [row[0] for row in rows], total


async def entries_of(ctx: MesContext, bom_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Entry]]:
    """The entries of these BOMs in order, with their jobs: two queries for any number. Plain
    columns, never ORM rows: an edit reads them after taking the BOM's lock and must see what
    the edit before it committed."""
    out: dict[uuid.UUID, list[Entry]] = {b: [] for b in bom_ids}
    if not bom_ids:
        return out
    by_id: dict[uuid.UUID, Entry] = {}
    e = ProductionBomEntry
    for bom_id, entry_id, part_type, quantity, part_id in await ctx.session.execute(
        select(e.bom_id, e.id, e.part_type, e.required_quantity, e.part_id)
        .where(e.bom_id.in_(list(bom_ids)))
        .order_by(e.bom_id, e.position)
    ):
        entry = Entry(entry_id, part_type, Decimal(quantity), part_id)
        by_id[entry_id] = entry
        out[bom_id].append(entry)
    j = ProductionBomEntryJob
    for entry_id, line_item_id in await ctx.session.execute(
        select(j.entry_id, j.line_item_id)
        .where(j.bom_id.in_(list(bom_ids)))
        .order_by(j.entry_id, j.position)
    ):
        by_id[entry_id].job_ids.append(line_item_id)
    return out


def summary_statement(bom_id: uuid.UUID) -> Select[uuid.UUID, int, int]:
    """Each entry of the BOM with its serials completed and in progress, across its jobs."""
    j = ProductionBomEntryJob
    completed = func.count().filter(Piece.status.in_(SERIAL_STATUSES["completed"]))
    working = func.count().filter(Piece.status.in_(SERIAL_STATUSES["in_progress"]))
    return (
        select(j.entry_id, completed, working)
        .join(
            Piece,
            and_(Piece.line_item_id == j.line_item_id, Piece.serial_number.is_not(None)),
        )
        .where(j.bom_id == bom_id)
        .group_by(j.entry_id)
    )


async def summary(ctx: MesContext, bom_id: uuid.UUID) -> dict[uuid.UUID, Progress]:
    """Each entry's serials across its contributing jobs, completed and in progress: one
    grouped query, whatever the number of entries, jobs and serials."""
    rows = await ctx.session.execute(summary_statement(bom_id))
    return {entry_id: Progress(int(done), int(busy)) for entry_id, done, busy in rows}


async def list_versions(
    ctx: MesContext, bom: ProductionBom, params: PageParams
) -> tuple[list[BomVersion], int]:
    """One page of a BOM's versions, newest first."""
    stmt = (
        select(BomVersion)
        .where(BomVersion.bom_id == bom.id)
        .order_by(BomVersion.version_number.desc())
    )
    rows, total = await paginate(ctx.session, stmt, params)
    return [row[0] for row in rows], total


# --- checking entries -----------------------------------------------------------------------------


async def _existing(
    ctx: MesContext, model: Any, workspace_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    wanted = sorted(set(ids))
    found: set[uuid.UUID] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        found |= set(
            await ctx.session.scalars(
                select(model.id).where(model.id.in_(chunk), model.workspace_id == workspace_id)
            )
        )
    return found


async def check_entries(ctx: MesContext, workspace_id: uuid.UUID, entries: list[EntryIn]) -> None:
    """Every contributing job is a job of the BOM's workspace, named once per entry, and every
    ``partId`` a part of it: a 400 naming the entry otherwise (nothing written)."""
    for index, entry in enumerate(entries):
        if len(set(entry.contributing_job_ids)) != len(entry.contributing_job_ids):
            raise Invalid(
                f"entries[{index}].contributingJobIds names a job twice.",
                code="DUPLICATE_JOB",
                entry=index,
            )
    jobs = await _existing(
        ctx, LineItem, workspace_id, (j for e in entries for j in e.contributing_job_ids)
    )
    parts = await _existing(ctx, Part, workspace_id, (e.part_id for e in entries if e.part_id))
    for index, entry in enumerate(entries):
        for job_id in entry.contributing_job_ids:
            if job_id not in jobs:
                raise Invalid(
                    f"entries[{index}].contributingJobIds: {job_id} is not a job of this "
                    "workspace (create it with POST /api/jobs).",
                    code="UNKNOWN_JOB",
                    entry=index,
                    jobId=str(job_id),
                )
        if entry.part_id is not None and entry.part_id not in parts:
            raise Invalid(
                f"entries[{index}].partId: {entry.part_id} is not a part of this workspace.",
                code="UNKNOWN_PART",
                entry=index,
            )


async def _write_entries(ctx: MesContext, bom: ProductionBom, entries: list[EntryIn]) -> None:
    """Replace the BOM's entries and their jobs: three statements for any number."""
    await ctx.session.execute(
        delete(ProductionBomEntryJob).where(ProductionBomEntryJob.bom_id == bom.id)
    )
    await ctx.session.execute(delete(ProductionBomEntry).where(ProductionBomEntry.bom_id == bom.id))
    now = utcnow()
    ids = new_ids(len(entries))
    await insert_rows(
        ctx.session,
        ProductionBomEntry,
        [
            {
                "id": entry_id,
                "created_at": now,
                "updated_at": now,
                "bom_id": bom.id,
                "position": position,
                "part_type": entry.part_type,
                "required_quantity": entry.required_quantity_per_build,
                "part_id": entry.part_id,
            }
            for position, (entry_id, entry) in enumerate(zip(ids, entries, strict=True))
        ],
    )
    links = [
        (entry_id, job_id, position)
        for entry_id, entry in zip(ids, entries, strict=True)
        for position, job_id in enumerate(entry.contributing_job_ids)
    ]
    await insert_rows(
        ctx.session,
        ProductionBomEntryJob,
        [
            {
                "id": link_id,
                "created_at": now,
                "updated_at": now,
                "bom_id": bom.id,
                "entry_id": entry_id,
                "line_item_id": job_id,
                "position": position,
            }
            for link_id, (entry_id, job_id, position) in zip(
                new_ids(len(links)), links, strict=True
            )
        ],
    )


def _audit(ctx: MesContext, workspace: Any, bom: ProductionBom, action: str, **after: Any) -> None:
    audit.record(
        ctx.session,
        actor=ctx.user,
        workspace=workspace,
        entity_type=ENTITY,
        entity_id=bom.id,
        action=action,
        after=after,
    )


# --- deriving from a native MBOM ------------------------------------------------------------------


async def derive_entries(
    ctx: MesContext, workspace_id: uuid.UUID, bom_id: uuid.UUID
) -> tuple[Bom, str, list[EntryIn]]:
    """One entry per leaf part of an approved native MBOM, its quantity multiplied through the
    levels and summed over every place the part is used; the name is the assembly's.

    The tree is the BOM engine's (:func:`threadline.boms.tree.load_structure`, expanding into
    approved sub-BOMs); do-not-populate lines are left out."""
    source = await ctx.session.get(Bom, bom_id)
    if source is None or source.workspace_id != workspace_id:
        raise NotFound(
            f"BOM {bom_id} was not found in this workspace.",
            code="BOM_NOT_FOUND",
            field="fromBomId",
        )
    if source.type != BomType.mbom:
        raise Invalid(
            "A production BOM is derived from a manufacturing BOM (type mbom); derive an MBOM "
            "from this EBOM first.",
            code="NOT_AN_MBOM",
        )
    if source.status != ApprovalStatus.approved:
        raise Conflict(
            f"BOM {bom_id} is {source.status.value}; only an approved MBOM can be derived from.",
            code="BOM_NOT_APPROVED",
        )
    structure = await load_structure(
        ctx.session, source, TreeOptions(expand="approved"), with_alternates=False
    )
    totals: dict[Any, Decimal] = defaultdict(Decimal)
    names: dict[Any, str] = {}
    stack = [(line, Decimal(1)) for line in reversed(structure.roots)]
    while stack:
        line, factor = stack.pop()
        if line.dnp:
            continue
        quantity = factor * Decimal(line.qty)
        if line.children:
            stack.extend((child, quantity) for child in reversed(line.children))
        else:
            totals[line.child_part_id] += quantity
            names.setdefault(line.child_part_id, line.part_number)
    assembly = await ctx.session.get(Part, source.assembly_part_id)
    name = f"{assembly.part_number if assembly else 'BOM'} rev {source.revision}"
    entries = [
        EntryIn(
            part_type=names[part_id],
            required_quantity_per_build=totals[part_id].quantize(Decimal("0.000001")),
            part_id=uuid.UUID(str(part_id)),
        )
        for part_id in names
    ]
    return source, name, entries


# --- writing ------------------------------------------------------------------------------------


async def create_bom(ctx: MesContext, *, bom_in: BomCreate) -> ProductionBom:
    """A new production BOM with its entries (or those derived from ``fromBomId``)."""
    workspace_id = await resolve_workspace(ctx, bom_in.workspace_id, WRITE)
    entries = list(bom_in.entries or [])
    name = bom_in.name
    source_bom_id = source_part_id = None
    if bom_in.from_bom_id is not None:
        if entries:
            raise Invalid(
                "Give entries or fromBomId, not both: derived entries come from the BOM.",
                code="ENTRIES_WITH_SOURCE",
            )
        source, derived_name, entries = await derive_entries(ctx, workspace_id, bom_in.from_bom_id)
        name = name or derived_name
        source_bom_id, source_part_id = source.id, source.assembly_part_id
    if name is None:
        raise Invalid("A production BOM needs a name.", code="FIELD_REQUIRED", field="name")
    await check_entries(ctx, workspace_id, entries)
    bom = ProductionBom(
        workspace_id=workspace_id,
        name=name,
        source_bom_id=source_bom_id,
        source_part_id=source_part_id,
        created_by_id=ctx.user.id,
        last_version=0,
    )
    ctx.session.add(bom)
    await ctx.session.flush()  # the entries' foreign key points at it
    await _write_entries(ctx, bom, entries)
    workspace = await workspace_of(ctx, workspace_id)
    _audit(ctx, workspace, bom, "create", name=name, entries=len(entries))
    return bom


async def _lock(ctx: MesContext, bom: ProductionBom, *, next_version: bool) -> int:
    """Row-lock the BOM until the transaction ends (``UPDATE ... RETURNING``); with
    ``next_version``, claim the next version number. Returns the BOM's last version number."""
    now = utcnow()
    values: dict[str, Any] = {"updated_at": now}
    if next_version:
        values["last_version"] = ProductionBom.last_version + 1
    name, number = (
        await ctx.session.execute(
            update(ProductionBom)
            .where(ProductionBom.id == bom.id)
            .values(**values)
            .returning(ProductionBom.name, ProductionBom.last_version)
            .execution_options(synchronize_session=False)
        )
    ).one()
    # The ORM row takes what the locked row holds now (another edit may have committed while
    # this one waited), without marking it changed.
    for key, value in (("name", name), ("last_version", number), ("updated_at", now)):
        set_committed_value(bom, key, value)
    return int(number)


async def update_bom(ctx: MesContext, bom: ProductionBom, *, bom_in: BomUpdate) -> None:
    """A simple update of the name or entries: no version (production-bom-api.md)."""
    ctx.require(bom.workspace_id, WRITE)
    if bom_in.entries is not None:
        await check_entries(ctx, bom.workspace_id, bom_in.entries)
    await _lock(ctx, bom, next_version=False)
    changed: dict[str, Any] = {}
    if bom_in.name is not None and bom_in.name != bom.name:
        bom.name = bom_in.name
        changed["name"] = bom_in.name
    if bom_in.entries is not None:
        await _write_entries(ctx, bom, bom_in.entries)
        changed["entries"] = len(bom_in.entries)
    if changed:
        _audit(ctx, await workspace_of(ctx, bom.workspace_id), bom, "update", **changed)


async def edit_bom(ctx: MesContext, bom: ProductionBom, *, edit_in: BomEdit) -> BomVersion:
    """A versioned edit: the entries as they were become version N (N = the BOM's next
    number), the new ones replace them, and a ``bom_edited`` audit entry says so."""
    ctx.require(bom.workspace_id, WRITE)
    await check_entries(ctx, bom.workspace_id, edit_in.entries)
    number = await _lock(ctx, bom, next_version=True)
    previous = (await entries_of(ctx, [bom.id]))[bom.id]
    version = BomVersion(
        bom_id=bom.id,
        version_number=number,
        entries=[entry.as_json() for entry in previous],
        change_description=edit_in.change_description,
        user_id=ctx.user.id,
        user_label=ctx.user.email,
    )
    ctx.session.add(version)
    if edit_in.name is not None:
        bom.name = edit_in.name
    await _write_entries(ctx, bom, edit_in.entries)
    _audit(
        ctx,
        await workspace_of(ctx, bom.workspace_id),
        bom,
        "bom_edited",
        versionNumber=number,
        changeDescription=edit_in.change_description,
    )
    await ctx.session.flush()  # the version's id and timestamps for the answer
    return version
