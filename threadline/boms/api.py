"""Routes of BOMs (productflo-sync-api: Parts & BOM, BOM Advanced Features, BOM Export Formats)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, File, Form, Header, Query, Response, UploadFile

from threadline.auth.deps import Ctx, RequestContext
from threadline.auth.models import Role
from threadline.auth.service import Access
from threadline.boms import effectivity, exports, importer, service, tree
from threadline.boms.explode import cost_rollup as cost_rollup_of
from threadline.boms.explode import explode
from threadline.boms.graph import Expand, TreeOptions
from threadline.boms.models import Bom, BomItemAlternate, BomType
from threadline.boms.schemas import (
    AlternateRead,
    AlternatesIn,
    BomCreate,
    BomDiff,
    BomItemFields,
    BomItemsIn,
    BomItemsResult,
    BomLineRead,
    BomRead,
    BomReject,
    CostRollup,
    DeriveMbomIn,
    Effectivity,
    EffectivityReport,
    EffectivityValidateIn,
)
from threadline.catalog import settings as bom_settings
from threadline.catalog.models import ApprovalStatus, Part
from threadline.concurrency import Expected, etag
from threadline.errors import NotFound
from threadline.imports import ImportReport, read_upload
from threadline.pagination import PageParams, page_of, page_params
from threadline.perf import bulk_request
from threadline.schemas import Page

router = APIRouter(prefix="/v1", tags=["boms"])
# Routes that build whole BOM trees in memory run with the cyclic collector paused.
BULK = [Depends(bulk_request, scope="function")]


def tree_options(
    expand: Expand = Query(
        "approved",
        description="Sub-BOMs a line expands into: the approved revision (else the latest), "
        "the latest revision, or none",
    ),
    levels: int | None = Query(
        None, ge=1, description="Levels shown (1: the BOM's own top lines); all when omitted"
    ),
) -> TreeOptions:
    """``?expand=approved|latest|none&levels=N`` of the whole-tree reads."""
    return TreeOptions(expand=expand, levels=levels)


Tree = Annotated[TreeOptions, Depends(tree_options)]


async def bom_access(
    ctx: RequestContext, bom_id: uuid.UUID, minimum: Role | str, workspace: str | None = None
) -> tuple[Access, Bom]:
    """The BOM and the caller's access to its workspace: 404 for strangers and wrong workspaces."""
    workspace_id = await service.workspace_of_bom(ctx.session, bom_id)
    missing = NotFound(f"BOM {bom_id} not found.", code="BOM_NOT_FOUND")
    if workspace_id is None:
        raise missing
    try:
        access = await ctx.require_role(workspace_id, minimum)
    except NotFound:
        raise missing from None
    if workspace is not None and access.workspace.name != workspace:
        raise missing
    return access, await service.get_bom(ctx.session, workspace_id=workspace_id, bom_id=bom_id)


def bom_read(bom: Bom, assembly: Part) -> BomRead:
    return BomRead(
        id=bom.id,
        assembly_part_id=bom.assembly_part_id,
        assembly_part_number=assembly.part_number,
        assembly_name=assembly.name,
        assembly_version_id=bom.assembly_version_id,
        type=bom.type,
        revision=bom.revision,
        status=bom.status,
        change_note=bom.change_note,
        reject_reason=bom.reject_reason,
        source_bom_id=bom.source_bom_id,
        created_at=bom.created_at,
        updated_at=bom.updated_at,
    )


async def _read(ctx: RequestContext, bom: Bom) -> BomRead:
    return bom_read(bom, await service.assembly_of(ctx.session, bom))


@router.post("/boms", status_code=201, response_model=BomRead)
async def create_bom(body: BomCreate, ctx: Ctx) -> BomRead:
    """Create an empty draft BOM for an assembly revision (engineer+)."""
    access = await ctx.require_role(body.workspace, "engineer")
    bom = await service.create_bom(ctx.session, access=access, bom_in=body)
    return await _read(ctx, bom)


@router.get("/boms", response_model=Page[BomRead])
async def list_boms(
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    type: BomType | None = None,
    status: ApprovalStatus | None = None,
    assembly_part_id: uuid.UUID | None = Query(None, alias="assemblyPartId"),
    assembly_pn: str | None = Query(None, alias="assemblyPn", max_length=100),
    params: PageParams = Depends(page_params),
) -> Page[BomRead]:
    """List BOM headers with filters."""
    access = await ctx.require_role(workspace, "viewer")
    rows, total = await service.list_boms(
        ctx.session,
        workspace_id=access.workspace.id,
        params=params,
        type=type,
        status=status,
        assembly_part_id=assembly_part_id,
        assembly_pn=assembly_pn,
    )
    items = []
    for bom, number, name in rows:
        read = bom_read(bom, Part(part_number=number, name=name))
        items.append(read)
    return page_of(items, total, params)


@router.get(
    "/boms/{bom_id}",
    dependencies=BULK,
    responses={200: {"description": "BOM header, tree and warnings"}},
)
async def get_bom(
    bom_id: uuid.UUID, ctx: Ctx, options: Tree, workspace: str | None = Query(None, max_length=64)
) -> Response:
    """BOM header plus the indented tree through its sub-BOMs, and its warnings, in one call."""
    _access, bom = await bom_access(ctx, bom_id, "viewer", workspace)
    header = await _read(ctx, bom)
    exploded = await explode(ctx.session, bom, options)
    body = {
        **header.model_dump(mode="json", by_alias=True),
        "lineCount": exploded.line_count,
        "items": orjson.Fragment(exploded.items_json),  # JSON text from explode: used as is
        "warnings": exploded.warnings,
    }
    return Response(orjson.dumps(body), media_type="application/json")


@router.post("/boms/{bom_id}/items", dependencies=BULK, response_model=BomItemsResult)
async def write_items(bom_id: uuid.UUID, body: BomItemsIn, ctx: Ctx) -> BomItemsResult:
    """Bulk upsert/delete lines of a draft BOM (engineer+), all or nothing."""
    access, bom = await bom_access(ctx, bom_id, "engineer")
    changes = service.changes_from(body.items)
    result = await service.write_items(ctx.session, access=access, bom_id=bom.id, changes=changes)
    return BomItemsResult(**result)


async def _alternates_read(
    ctx: RequestContext, rows: Sequence[BomItemAlternate]
) -> list[AlternateRead]:
    numbers = await service.part_numbers(ctx.session, [r.part_id for r in rows])
    return [
        AlternateRead(
            part_id=r.part_id,
            part_number=numbers[r.part_id],
            approval=r.approval,
            rationale=r.rationale,
        )
        for r in rows
    ]


async def _line_read(
    ctx: RequestContext, bom: Bom, item_id: uuid.UUID, response: Response
) -> BomLineRead:
    line, part = await service.get_line(ctx.session, bom_id=bom.id, item_id=item_id)
    await ctx.session.refresh(line, ["alternates"])
    response.headers["ETag"] = etag(line.version)
    return BomLineRead(
        id=line.id,
        bom_id=line.bom_id,
        parent_item_id=line.parent_item_id,
        child_part_id=line.child_part_id,
        child_part_number=part.part_number,
        child_name=part.name,
        child_version_id=line.child_version_id,
        qty=line.qty,
        uom=line.uom,
        refdes=line.refdes,
        notes=line.notes,
        sort_index=line.sort_index,
        attributes=line.attributes,
        effectivity=Effectivity.model_validate(line),
        dnp=line.dnp,
        alternates=await _alternates_read(ctx, line.alternates),
        version=line.version,
        created_at=line.created_at,
        updated_at=line.updated_at,
    )


@router.get("/boms/{bom_id}/items/{item_id}", response_model=BomLineRead)
async def get_line(
    bom_id: uuid.UUID,
    item_id: uuid.UUID,
    ctx: Ctx,
    response: Response,
    workspace: str | None = Query(None, max_length=64),
) -> BomLineRead:
    """One line with its alternates; the ETag is its version, for If-Match on PATCH."""
    _access, bom = await bom_access(ctx, bom_id, "viewer", workspace)
    return await _line_read(ctx, bom, item_id, response)


@router.patch("/boms/{bom_id}/items/{item_id}", response_model=BomLineRead)
async def update_line(
    bom_id: uuid.UUID,
    item_id: uuid.UUID,
    body: BomItemFields,
    ctx: Ctx,
    response: Response,
    if_match: str | None = Header(None, max_length=1000),
) -> BomLineRead:
    """Patch one line of a draft BOM (engineer+); stale If-Match 412, stale version 409."""
    access, bom = await bom_access(ctx, bom_id, "engineer")
    await service.update_line(
        ctx.session,
        access=access,
        bom_id=bom.id,
        item_id=item_id,
        line_in=body,
        expected=Expected.of(if_match, body.version),
    )
    return await _line_read(ctx, bom, item_id, response)


async def _transition(
    ctx: RequestContext, bom_id: uuid.UUID, action: str, reason: str | None = None
) -> BomRead:
    access, bom = await bom_access(ctx, bom_id, "viewer")
    bom = await service.transition(
        ctx.session, access=access, bom_id=bom.id, action=action, reason=reason
    )
    return await _read(ctx, bom)


@router.post("/boms/{bom_id}/submit", response_model=BomRead)
async def submit_bom(bom_id: uuid.UUID, ctx: Ctx) -> BomRead:
    """Submit a draft BOM for approval (engineer+)."""
    return await _transition(ctx, bom_id, "submit")


@router.post("/boms/{bom_id}/approve", response_model=BomRead)
async def approve_bom(bom_id: uuid.UUID, ctx: Ctx) -> BomRead:
    """Approve a submitted BOM (manager+); it is frozen from then on."""
    return await _transition(ctx, bom_id, "approve")


@router.post("/boms/{bom_id}/reject", response_model=BomRead)
async def reject_bom(bom_id: uuid.UUID, ctx: Ctx, body: BomReject | None = None) -> BomRead:
    """Reject a submitted BOM with an optional reason (manager+)."""
    return await _transition(ctx, bom_id, "reject", body.reason if body else None)


@router.get("/boms/{bom_id}/diff", dependencies=BULK, response_model=BomDiff)
async def diff_boms(
    bom_id: uuid.UUID,
    ctx: Ctx,
    options: Tree,
    workspace: str | None = Query(None, max_length=64),
    left_rev: str | None = Query(None, alias="leftRev", max_length=32),
    right_rev: str | None = Query(None, alias="rightRev", max_length=32),
) -> BomDiff:
    """Compare the trees of two revisions of this BOM's assembly and type at every level."""
    _access, bom = await bom_access(ctx, bom_id, "viewer", workspace)
    left = await service.revision_of(ctx.session, bom=bom, revision=left_rev)
    right = await service.revision_of(ctx.session, bom=bom, revision=right_rev)
    result = tree.diff(
        await tree.load_structure(ctx.session, left, options, purpose="diff"),
        await tree.load_structure(ctx.session, right, options, purpose="diff"),
    )
    return BomDiff(left=await _read(ctx, left), right=await _read(ctx, right), **result)


@router.get("/boms/{bom_id}/cost-rollup", dependencies=BULK, responses={200: {"model": CostRollup}})
async def cost_rollup(
    bom_id: uuid.UUID, ctx: Ctx, options: Tree, workspace: str | None = Query(None, max_length=64)
) -> Response:
    """Cost of one assembly through its sub-BOMs in the workspace currency, with missing costs."""
    access, bom = await bom_access(ctx, bom_id, "viewer", workspace)
    settings = await bom_settings.load(ctx.session, access.workspace)
    result = await cost_rollup_of(
        ctx.session,
        bom,
        base=settings.currency,
        rates=dict(settings.exchange_rates),
        options=options,
    )
    body = {
        "bomId": str(bom.id),
        "currency": settings.currency,
        "totalCost": float(result.total),
        "complete": result.complete,
        # JSON text from explode.cost_rollup, used as is: 100k lines through Pydantic take
        # seconds, and even as dicts most of a second.
        "lines": orjson.Fragment(result.lines_json),
        "missingCost": orjson.Fragment(result.missing_json),
    }
    return Response(orjson.dumps(body), media_type="application/json")


@router.post("/boms/{bom_id}/items/{item_id}/alternates", response_model=list[AlternateRead])
async def set_alternates(
    bom_id: uuid.UUID,
    item_id: uuid.UUID,
    body: AlternatesIn,
    ctx: Ctx,
    response: Response,
    if_match: str | None = Header(None, max_length=1000),
) -> list[AlternateRead]:
    """Replace a line's alternates (engineer+ proposes; manager+ decides); bumps its version."""
    access, bom = await bom_access(ctx, bom_id, "engineer")
    line, rows = await service.set_alternates(
        ctx.session,
        access=access,
        bom_id=bom.id,
        item_id=item_id,
        alternates=body.alternates,
        expected=Expected.of(if_match, body.version),
    )
    response.headers["ETag"] = etag(line.version)
    return await _alternates_read(ctx, rows)


@router.post("/boms/{bom_id}/derive-mbom", status_code=201, response_model=BomRead)
async def derive_mbom(bom_id: uuid.UUID, body: DeriveMbomIn, ctx: Ctx) -> BomRead:
    """Derive a new draft MBOM revision from this EBOM, linked to it (engineer+)."""
    access, bom = await bom_access(ctx, bom_id, "engineer")
    mbom = await service.derive_mbom(
        ctx.session,
        access=access,
        bom_id=bom.id,
        revision=body.revision,
        change_note=body.change_note,
    )
    return await _read(ctx, mbom)


@router.post("/boms/{bom_id}/effectivity/validate", response_model=EffectivityReport)
async def validate_effectivity(
    bom_id: uuid.UUID, body: EffectivityValidateIn, ctx: Ctx
) -> EffectivityReport:
    """Report overlapping or contradictory effectivity for a line or a part (engineer+)."""
    _access, bom = await bom_access(ctx, bom_id, "engineer")
    conflicts = await effectivity.validate(
        ctx.session,
        bom_id=bom.id,
        effectivity=body.effectivity,
        item_id=body.item_id,
        part_id=body.part_id,
        parent_item_id=body.parent_item_id,
    )
    return EffectivityReport(valid=not conflicts, conflicts=conflicts)


@router.post("/boms/import", dependencies=BULK, response_model=ImportReport)
async def import_bom(
    ctx: Ctx,
    file: UploadFile = File(...),
    bom_id: uuid.UUID = Form(..., alias="bomId"),
    dry_run: bool = Form(False, alias="dryRun"),
    mode: str = Form("replace", pattern="^(replace|append)$"),
) -> ImportReport:
    """Import lines from CSV/XLSX into a draft BOM; ``dryRun`` reports without writing."""
    access, bom = await bom_access(ctx, bom_id, "engineer")
    data = await read_upload(file, ctx.runtime.settings.max_upload_mb)
    return await importer.import_bom(
        ctx.session, access=access, bom=bom, data=data, dry_run=dry_run, replace=mode == "replace"
    )


async def _export(
    ctx: RequestContext, bom_id: uuid.UUID, workspace: str | None, kind: str, options: TreeOptions
) -> Response:
    access, bom = await bom_access(ctx, bom_id, "viewer", workspace)
    assembly = await service.assembly_of(ctx.session, bom)
    structure = await tree.load_structure(ctx.session, bom, options)
    settings = await bom_settings.load(ctx.session, access.workspace)
    rates: dict[str, Decimal] = dict(settings.exchange_rates)
    name = f"{assembly.part_number}-{bom.type.value}-{bom.revision}"
    return exports.response(
        kind, structure, name=name, top=assembly.part_number, base=settings.currency, rates=rates
    )


@router.get("/boms/{bom_id}/export.csv", dependencies=BULK)
async def export_csv(
    bom_id: uuid.UUID, ctx: Ctx, options: Tree, workspace: str | None = Query(None, max_length=64)
) -> Response:
    """Hierarchical CSV with a level column, alternates, effectivity and cost."""
    return await _export(ctx, bom_id, workspace, "csv", options)


@router.get("/boms/{bom_id}/export.xlsx", dependencies=BULK)
async def export_xlsx(
    bom_id: uuid.UUID, ctx: Ctx, options: Tree, workspace: str | None = Query(None, max_length=64)
) -> Response:
    """Hierarchical Excel workbook, same columns as the CSV."""
    return await _export(ctx, bom_id, workspace, "xlsx", options)


@router.get("/boms/{bom_id}/export.erp.csv", dependencies=BULK)
async def export_erp(
    bom_id: uuid.UUID, ctx: Ctx, options: Tree, workspace: str | None = Query(None, max_length=64)
) -> Response:
    """ERP-friendly flattened parent/child CSV with normalised UoM and cost columns."""
    return await _export(ctx, bom_id, workspace, "erp", options)


@router.get("/boms/{bom_id}/export.flat.csv", dependencies=BULK)
async def export_flat(
    bom_id: uuid.UUID, ctx: Ctx, options: Tree, workspace: str | None = Query(None, max_length=64)
) -> Response:
    """Consolidated list: total quantity of each part across all levels."""
    return await _export(ctx, bom_id, workspace, "flat", options)
