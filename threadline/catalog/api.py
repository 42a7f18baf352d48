"""Routes of the parts catalog (productflo-sync-api: Parts & BOM, Parts Catalog, Parts Import)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Query, Response, UploadFile

from threadline.auth.deps import Ctx, RequestContext
from threadline.auth.models import Role
from threadline.auth.service import Access
from threadline.boms import service as boms
from threadline.boms.graph import Expand
from threadline.catalog import attachments, exports, importer, service
from threadline.catalog import settings as bom_settings
from threadline.catalog.attachments_schemas import AttachmentRead
from threadline.catalog.models import Domain, Lifecycle, Part
from threadline.catalog.schemas import (
    BomSettingsModel,
    PartBulkAction,
    PartBulkResult,
    PartCreate,
    PartDetail,
    PartExportRequest,
    PartRead,
    PartUpdate,
    PartVersionCreate,
    PartVersionRead,
    PartVersionReject,
    WhereUsed,
    WhereUsedRow,
)
from threadline.concurrency import Expected, etag
from threadline.errors import Invalid, NotFound
from threadline.imports import ImportReport, read_upload
from threadline.pagination import PageParams, page_of, page_params, sorting
from threadline.perf import bulk_request
from threadline.schemas import Page

router = APIRouter(prefix="/v1", tags=["parts"])

part_sorting = sorting(service.SORTABLE, default="part_number")


async def part_access(
    ctx: RequestContext, part_id: uuid.UUID, minimum: Role | str, workspace: str | None = None
) -> tuple[Access, Part]:
    """The part and the caller's access to its workspace: 404 for strangers and wrong workspaces."""
    workspace_id = await service.workspace_of_part(ctx.session, part_id)
    if workspace_id is None:
        raise NotFound(f"Part {part_id} not found.", code="PART_NOT_FOUND")
    try:
        access = await ctx.require_role(workspace_id, minimum)
    except NotFound:
        raise NotFound(f"Part {part_id} not found.", code="PART_NOT_FOUND") from None
    if workspace is not None and access.workspace.name != workspace:
        raise NotFound(f"Part {part_id} not found.", code="PART_NOT_FOUND")
    part = await service.get_part(ctx.session, workspace_id=workspace_id, part_id=part_id)
    return access, part


async def _detail(ctx: RequestContext, access: Access, part: Part) -> PartDetail:
    versions = await service.list_versions(ctx.session, part=part)
    settings = await bom_settings.load(ctx.session, access.workspace)
    warnings = bom_settings.attribute_problems(settings, part.domain, part.attributes)
    warnings += service.compliance_warnings(part)
    current = await attachments.current_revisions(ctx.session, part_ids=[part.id])
    files = await attachments.list_attachments(ctx.session, access=access, part_id=part.id)
    return PartDetail(
        **PartRead.model_validate(part).model_dump(),
        versions=[PartVersionRead.model_validate(v) for v in versions],
        warnings=warnings,
        current_version_id=current.get(part.id),
        files=[AttachmentRead.model_validate(f) for f in files],
    )


@router.post("/parts", status_code=201, response_model=PartRead)
async def create_part(body: PartCreate, ctx: Ctx) -> PartRead:
    """Create a part (engineer+); the numbering rules supply a part number when none is given."""
    access = await ctx.require_role(body.workspace, "engineer")
    part = await service.create_part(ctx.session, access=access, part_in=body)
    return PartRead.model_validate(part)


@router.get("/parts", response_model=Page[PartRead])
async def list_parts(
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    q: str | None = Query(None, max_length=200),
    domain: Domain | None = None,
    lifecycle: Lifecycle | None = None,
    tag: str | None = Query(None, max_length=64),
    order_by: list[Any] = Depends(part_sorting),
    params: PageParams = Depends(page_params),
) -> Page[PartRead]:
    """Search the catalog: ``q`` (part number / MPN prefix, name substring), filters, sorting."""
    access = await ctx.require_role(workspace, "viewer")
    parts, total = await service.list_parts(
        ctx.session,
        workspace_id=access.workspace.id,
        params=params,
        order_by=order_by,
        q=q,
        domain=domain,
        lifecycle=lifecycle,
        tag=tag,
    )
    items = [PartRead.model_validate(p) for p in parts]
    return page_of(items, total, params)


@router.post("/parts/bulk", response_model=PartBulkResult)
async def bulk_parts(body: PartBulkAction, ctx: Ctx) -> PartBulkResult:
    """Apply tags (engineer+) or set the lifecycle (manager+) of selected parts."""
    access = await ctx.require_role(body.workspace, "engineer")
    if body.action == "apply_tags" and not body.tags:
        raise Invalid("apply_tags needs a non-empty tags list.", code="INVALID_BULK_ACTION")
    if body.action == "set_lifecycle" and body.lifecycle is None:
        raise Invalid("set_lifecycle needs a lifecycle.", code="INVALID_BULK_ACTION")
    versions = await service.bulk_update(
        ctx.session,
        access=access,
        part_ids=body.part_ids,
        tags=body.tags if body.action == "apply_tags" else None,
        lifecycle=body.lifecycle if body.action == "set_lifecycle" else None,
        versions=body.versions,
    )
    return PartBulkResult(updated=len(versions), versions=versions)


@router.post("/parts/export")
async def export_parts(body: PartExportRequest, ctx: Ctx) -> Response:
    """Export selected parts (or all matching parts) as CSV or XLSX."""
    access = await ctx.require_role(body.workspace, "viewer")
    parts = await service.parts_for_export(
        ctx.session, workspace_id=access.workspace.id, part_ids=body.part_ids
    )
    return exports.parts_response(parts, body.format, f"{access.workspace.name}-parts")


@router.post(
    "/parts/import",
    response_model=ImportReport,
    dependencies=[Depends(bulk_request, scope="function")],
)
async def import_parts(
    ctx: Ctx,
    file: UploadFile = File(...),
    workspace: str = Form(..., max_length=64),
    dry_run: bool = Form(False, alias="dryRun"),
) -> ImportReport:
    """Create or update parts from CSV/XLSX; ``dryRun`` reports without writing."""
    access = await ctx.require_role(workspace, "engineer")
    data = await read_upload(file, ctx.runtime.settings.max_upload_mb)
    return await importer.import_parts(ctx.session, access=access, data=data, dry_run=dry_run)


@router.get("/parts/{part_id}", response_model=PartDetail)
async def get_part(
    part_id: uuid.UUID,
    ctx: Ctx,
    response: Response,
    workspace: str | None = Query(None, max_length=64),
) -> PartDetail:
    """Part detail with its versions and any template or compliance warnings; ETag = version."""
    access, part = await part_access(ctx, part_id, "viewer", workspace)
    response.headers["ETag"] = etag(part.version)
    return await _detail(ctx, access, part)


@router.patch("/parts/{part_id}", response_model=PartDetail)
async def update_part(
    part_id: uuid.UUID,
    body: PartUpdate,
    ctx: Ctx,
    response: Response,
    workspace: str | None = Query(None, max_length=64),
    if_match: str | None = Header(None, max_length=1000),
) -> PartDetail:
    """Update a part (engineer+; lifecycle changes manager+); stale If-Match 412, version 409."""
    access, _part = await part_access(ctx, part_id, "engineer", workspace)
    part = await service.update_part(
        ctx.session,
        access=access,
        part_id=part_id,
        part_in=body,
        expected=Expected.of(if_match, body.version),
    )
    response.headers["ETag"] = etag(part.version)
    return await _detail(ctx, access, part)


@router.post("/parts/{part_id}/versions", status_code=201, response_model=PartVersionRead)
async def create_version(part_id: uuid.UUID, body: PartVersionCreate, ctx: Ctx) -> PartVersionRead:
    """Create a revision of the part (engineer+)."""
    access, _part = await part_access(ctx, part_id, "engineer")
    version = await service.create_version(
        ctx.session, access=access, part_id=part_id, version_in=body
    )
    return PartVersionRead.model_validate(version)


@router.get("/parts/{part_id}/versions", response_model=list[PartVersionRead])
async def list_versions(
    part_id: uuid.UUID, ctx: Ctx, workspace: str | None = Query(None, max_length=64)
) -> list[PartVersionRead]:
    """The part's revisions, oldest first."""
    _access, part = await part_access(ctx, part_id, "viewer", workspace)
    return [
        PartVersionRead.model_validate(v)
        for v in await service.list_versions(ctx.session, part=part)
    ]


async def _transition(
    ctx: RequestContext,
    part_id: uuid.UUID,
    version_id: uuid.UUID,
    action: str,
    reason: str | None = None,
) -> PartVersionRead:
    access, _part = await part_access(ctx, part_id, "viewer")
    version = await service.transition_version(
        ctx.session,
        access=access,
        part_id=part_id,
        version_id=version_id,
        action=action,
        reason=reason,
    )
    return PartVersionRead.model_validate(version)


@router.post("/parts/{part_id}/versions/{version_id}/submit", response_model=PartVersionRead)
async def submit_version(part_id: uuid.UUID, version_id: uuid.UUID, ctx: Ctx) -> PartVersionRead:
    """Submit a version for approval (engineer+)."""
    return await _transition(ctx, part_id, version_id, "submit")


@router.post("/parts/{part_id}/versions/{version_id}/approve", response_model=PartVersionRead)
async def approve_version(part_id: uuid.UUID, version_id: uuid.UUID, ctx: Ctx) -> PartVersionRead:
    """Approve a submitted version (manager+); it becomes immutable."""
    return await _transition(ctx, part_id, version_id, "approve")


@router.post("/parts/{part_id}/versions/{version_id}/reject", response_model=PartVersionRead)
async def reject_version(
    part_id: uuid.UUID, version_id: uuid.UUID, ctx: Ctx, body: PartVersionReject | None = None
) -> PartVersionRead:
    """Reject a submitted version with an optional reason (manager+)."""
    return await _transition(ctx, part_id, version_id, "reject", body.reason if body else None)


@router.get("/parts/{part_id}/where-used", response_model=list[WhereUsedRow] | WhereUsed)
async def where_used(
    part_id: uuid.UUID,
    ctx: Ctx,
    workspace: str | None = Query(None, max_length=64),
    expand: Expand = Query("approved", description="Sub-BOMs followed, as in the BOM tree"),
    include: Literal["builds"] | None = Query(
        None,
        description="builds: answer {lines, builds}, adding the open MES line items that build "
        "the part or an assembly on its paths",
    ),
) -> list[WhereUsedRow] | WhereUsed:
    """Every BOM line using the part, with its path; with include=builds, the open builds too."""
    access, part = await part_access(ctx, part_id, "viewer", workspace)
    if include == "builds":
        return await boms.where_used_with_builds(
            ctx.session, workspace_id=access.workspace.id, part_id=part.id, expand=expand
        )
    return await boms.where_used(
        ctx.session, workspace_id=access.workspace.id, part_id=part.id, expand=expand
    )


@router.get("/workspaces/{name}/bom-settings", response_model=BomSettingsModel)
async def get_bom_settings(name: str, ctx: Ctx) -> BomSettingsModel:
    """Numbering rules, domain templates and currency table (viewer+)."""
    access = await ctx.require_role(name, "viewer")
    return await bom_settings.load(ctx.session, access.workspace)


@router.post("/workspaces/{name}/bom-settings", response_model=BomSettingsModel)
async def save_bom_settings(name: str, body: BomSettingsModel, ctx: Ctx) -> BomSettingsModel:
    """Save numbering rules, domain templates and currency table (manager+)."""
    access = await ctx.require_role(name, "manager")
    return await bom_settings.save(
        ctx.session, workspace=access.workspace, actor=ctx.user, data=body
    )
