"""The production BOM API (production-bom-api.md): ``/api/bom``, ``/api/jobs``, ``/api/serials``
and ``/api/audit``. Translation only: the rules live in :mod:`threadline.mes.production` (BOMs,
versions, summaries), the MES demand room (a job is a line item, a serial a piece) and the audit
log. Bodies are camelCase JSON without an envelope; errors are problem+json; auth is the native
API's (bearer token, or the session cookie with CSRF on writes). Roles: viewer reads, engineer
writes, the audit log is for managers (as ``/v1/audit``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from threadline.audit import service as audit
from threadline.auth.deps import Ctx
from threadline.auth.models import Role, Workspace
from threadline.mes.auth import load_context
from threadline.mes.demand.models import LineItem, Piece
from threadline.mes.demand.models import PieceStatus as P
from threadline.mes.face import MesContext
from threadline.mes.production import jobs
from threadline.mes.production import service as boms
from threadline.mes.production.models import BomVersion, ProductionBom
from threadline.mes.production.schemas import (
    AuditEntryRead,
    BomCreate,
    BomEdit,
    BomEdited,
    BomRead,
    BomUpdate,
    BomVersionRead,
    EntryRead,
    EntrySummary,
    EntrySummaryRow,
    JobCreate,
    JobRead,
    JobUpdate,
    SerialCounts,
    SerialPatch,
    SerialRead,
    SerialStatus,
)
from threadline.pagination import PageParams, page_of, page_params
from threadline.schemas import Page

router = APIRouter(prefix="/api", tags=["production BOM"])


async def production_context(request: Request, ctx: Ctx) -> MesContext:
    """The signed-in caller (native auth) with their role in each of their workspaces."""
    return await load_context(request, ctx.session, ctx.runtime, ctx.user)


PCtx = Annotated[MesContext, Depends(production_context)]
WorkspaceQuery = Annotated[
    str | None,
    Query(alias="workspaceId", max_length=64, description="A workspace id or name"),
]
Paging = Annotated[PageParams, Depends(page_params)]


# --- rendering ----------------------------------------------------------------------------------


def _bom_read(
    bom: ProductionBom,
    entries: Sequence[boms.Entry],
    progress: dict[uuid.UUID, boms.Progress] | None,
) -> BomRead:
    rows: list[EntryRead] = []
    summary: list[EntrySummaryRow] | None = [] if progress is not None else None
    for entry in entries:
        required = boms.quantity_out(entry.required_quantity)
        totals = None
        if progress is not None and summary is not None:
            done = progress.get(entry.id, boms.Progress())
            totals = EntrySummary(
                total_completed=done.completed,
                total_in_progress=done.in_progress,
                total_outstanding=done.outstanding(entry.required_quantity),
            )
            summary.append(
                EntrySummaryRow(
                    entry_id=entry.id,
                    part_type=entry.part_type,
                    required_quantity_per_build=required,
                    **totals.model_dump(),
                )
            )
        rows.append(
            EntryRead(
                id=entry.id,
                part_type=entry.part_type,
                required_quantity_per_build=required,
                contributing_job_ids=entry.job_ids,
                part_id=entry.part_id,
                summary=totals,
            )
        )
    return BomRead(
        id=bom.id,
        name=bom.name,
        workspace_id=bom.workspace_id,
        source_bom_id=bom.source_bom_id,
        source_part_id=bom.source_part_id,
        latest_version_number=bom.last_version,
        entries=rows,
        summary=summary,
        created_by_id=bom.created_by_id,
        created_at=bom.created_at,
        updated_at=bom.updated_at,
    )


async def _bom_with_summary(ctx: MesContext, bom: ProductionBom) -> BomRead:
    entries = (await boms.entries_of(ctx, [bom.id]))[bom.id]
    return _bom_read(bom, entries, await boms.summary(ctx, bom.id))


def _version_read(version: BomVersion) -> BomVersionRead:
    return BomVersionRead(
        id=version.id,
        bom_id=version.bom_id,
        version_number=version.version_number,
        entries=version.entries,
        change_description=version.change_description,
        user_id=version.user_id,
        user=version.user_label,
        created_at=version.created_at,
    )


async def _jobs_read(ctx: MesContext, rows: Sequence[LineItem]) -> list[JobRead]:
    extras, counts = await jobs.job_details(ctx, rows)
    out = []
    for row in rows:
        extra = extras.get(row.id)
        out.append(
            JobRead(
                id=row.id,
                name=row.name,
                quantity=row.quantity,
                status=str(row.status),
                part_id=extra.part_id if extra else None,
                part_type=extra.part_type if extra else None,
                workspace_id=row.workspace_id,
                order_id=row.order_id,
                serials=counts.get(row.id, SerialCounts()),
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
        )
    return out


def _serial_read(row: Piece) -> SerialRead:
    assert row.serial_number is not None  # jobs.get_serial / list_serials read serials only
    return SerialRead(
        id=row.id,
        serial_number=row.serial_number,
        job_id=row.line_item_id,
        status=jobs.SERIAL_OF[P(row.status)],
        piece_status=str(row.status),
        workspace_id=row.workspace_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# --- BOMs ---------------------------------------------------------------------------------------


@router.get("/bom", response_model=Page[BomRead])
async def list_boms(
    ctx: PCtx, params: Paging, workspace_id: WorkspaceQuery = None
) -> Page[BomRead]:
    """List the workspace's production BOMs, newest first (entries without summaries)."""
    workspace = await jobs.resolve_workspace(ctx, workspace_id)
    rows, total = await boms.list_boms(ctx, workspace_id=workspace, params=params)
    entries = await boms.entries_of(ctx, [r.id for r in rows])
    return page_of([_bom_read(r, entries[r.id], None) for r in rows], total, params)


@router.post("/bom", status_code=201, response_model=BomRead)
async def create_bom(ctx: PCtx, bom_in: BomCreate, workspace_id: WorkspaceQuery = None) -> BomRead:
    """Create a production BOM (or derive one from an approved MBOM with ``fromBomId``)."""
    if bom_in.workspace_id is None:
        bom_in.workspace_id = workspace_id
    bom = await boms.create_bom(ctx, bom_in=bom_in)
    return await _bom_with_summary(ctx, bom)


@router.get("/bom/{bom_id}", response_model=BomRead)
async def get_bom(ctx: PCtx, bom_id: uuid.UUID) -> BomRead:
    """A production BOM with each entry's summary, computed from its jobs' serials now."""
    return await _bom_with_summary(ctx, await boms.get_bom(ctx, bom_id))


@router.put("/bom/{bom_id}", response_model=BomRead)
async def update_bom(ctx: PCtx, bom_id: uuid.UUID, bom_in: BomUpdate) -> BomRead:
    """Update a BOM's name or entries (simple: no version)."""
    bom = await boms.get_bom(ctx, bom_id)
    await boms.update_bom(ctx, bom, bom_in=bom_in)
    return await _bom_with_summary(ctx, bom)


@router.post("/bom/{bom_id}/edit", status_code=201, response_model=BomEdited)
async def edit_bom(ctx: PCtx, bom_id: uuid.UUID, edit_in: BomEdit) -> BomEdited:
    """Edit a BOM's entries, keeping the old ones as a new version (answers its number)."""
    bom = await boms.get_bom(ctx, bom_id)
    version = await boms.edit_bom(ctx, bom, edit_in=edit_in)
    return BomEdited(
        version_number=version.version_number,
        version_id=version.id,
        bom=await _bom_with_summary(ctx, bom),
    )


@router.get("/bom/{bom_id}/versions", response_model=Page[BomVersionRead])
async def list_versions(ctx: PCtx, bom_id: uuid.UUID, params: Paging) -> Page[BomVersionRead]:
    """A BOM's version history, newest first."""
    bom = await boms.get_bom(ctx, bom_id)
    rows, total = await boms.list_versions(ctx, bom, params)
    return page_of([_version_read(v) for v in rows], total, params)


# --- jobs ---------------------------------------------------------------------------------------


@router.post("/jobs", status_code=201, response_model=JobRead)
async def create_job(ctx: PCtx, job_in: JobCreate, workspace_id: WorkspaceQuery = None) -> JobRead:
    """Create a job: an MES line item (in an order of its own) with ``quantity`` serials."""
    if job_in.workspace_id is None:
        job_in.workspace_id = workspace_id
    row = await jobs.create_job(ctx, job_in=job_in)
    return (await _jobs_read(ctx, [row]))[0]


@router.get("/jobs", response_model=Page[JobRead])
async def list_jobs(
    ctx: PCtx, params: Paging, workspace_id: WorkspaceQuery = None
) -> Page[JobRead]:
    """List the workspace's jobs (its MES line items), newest first."""
    workspace = await jobs.resolve_workspace(ctx, workspace_id)
    rows, total = await jobs.list_jobs(ctx, workspace_id=workspace, params=params)
    return page_of(await _jobs_read(ctx, rows), total, params)


@router.get("/jobs/{job_id}", response_model=JobRead)
async def get_job(ctx: PCtx, job_id: uuid.UUID) -> JobRead:
    """A job with its serials counted by status."""
    return (await _jobs_read(ctx, [await jobs.get_job(ctx, job_id)]))[0]


@router.put("/jobs/{job_id}", response_model=JobRead)
async def update_job(ctx: PCtx, job_id: uuid.UUID, job_in: JobUpdate) -> JobRead:
    """Change a job's name, part type or (while it is in planning) quantity."""
    row = await jobs.get_job(ctx, job_id)
    await jobs.update_job(ctx, row, job_in=job_in)
    return (await _jobs_read(ctx, [row]))[0]


# --- serials ------------------------------------------------------------------------------------


@router.get("/serials", response_model=Page[SerialRead])
async def list_serials(
    ctx: PCtx,
    params: Paging,
    workspace_id: WorkspaceQuery = None,
    job_id: Annotated[uuid.UUID | None, Query(alias="jobId")] = None,
    status: SerialStatus | None = None,
) -> Page[SerialRead]:
    """List serials, of one job and at one status when asked."""
    if job_id is not None and workspace_id is None:
        workspace = (await jobs.get_job(ctx, job_id)).workspace_id
    else:
        workspace = await jobs.resolve_workspace(ctx, workspace_id)
    rows, total = await jobs.list_serials(
        ctx, workspace_id=workspace, params=params, job_id=job_id, status=status
    )
    return page_of([_serial_read(r) for r in rows], total, params)


@router.get("/serials/{serial_id}", response_model=SerialRead)
async def get_serial(ctx: PCtx, serial_id: uuid.UUID) -> SerialRead:
    """One serial."""
    return _serial_read(await jobs.get_serial(ctx, serial_id))


@router.patch("/serials/{serial_id}", response_model=SerialRead)
async def patch_serial(ctx: PCtx, serial_id: uuid.UUID, patch: SerialPatch) -> SerialRead:
    """Change a serial's status (through its piece's state machine)."""
    row = await jobs.get_serial(ctx, serial_id)
    await jobs.set_serial_status(ctx, row, patch.status)
    return _serial_read(row)


# --- audit --------------------------------------------------------------------------------------


def _utc(value: datetime | None) -> datetime | None:
    """A timestamp without a zone is read as UTC (the log's own times are UTC)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get("/audit", response_model=Page[AuditEntryRead])
async def list_audit(
    ctx: PCtx,
    params: Paging,
    workspace_id: WorkspaceQuery = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    entity_type: Annotated[str | None, Query(alias="entityType", max_length=64)] = None,
    entity_id: Annotated[str | None, Query(alias="entityId", max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    user_id: Annotated[uuid.UUID | None, Query(alias="userId")] = None,
) -> Page[AuditEntryRead]:
    """The audit log of a workspace (managers), newest first, filtered."""
    since, until = (_utc(t) for t in (since, until))
    workspace_id_ = await jobs.resolve_workspace(ctx, workspace_id, Role.manager)
    workspace = await ctx.session.get(Workspace, workspace_id_)
    assert workspace is not None  # the caller is a member
    events, total = await audit.list_events(
        ctx.session,
        workspace=workspace,
        params=params,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        since=since,
        until=until,
        actor_id=user_id,
    )
    items = [
        AuditEntryRead(
            id=e.id,
            action=e.action,
            entity_type=e.entity_type,
            entity_id=e.entity_id,
            user_id=e.actor_id,
            user=e.actor_label,
            workspace_id=e.workspace_id,
            before=e.before,
            after=e.after,
            created_at=e.created_at,
        )
        for e in events
    ]
    return page_of(items, total, params)
