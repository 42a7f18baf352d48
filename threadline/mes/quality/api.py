"""Routes of the MES quality room, mounted under /mes by threadline/mes/api.py.

Importing this module imports :mod:`threadline.mes.quality.service`, which registers
:func:`~threadline.mes.quality.service.completion_blockers` with the floor's run completion.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import delete, select

from threadline.errors import Invalid
from threadline.mes.auth import mes_context
from threadline.mes.demand.models import Print
from threadline.mes.face import (
    MesContext,
    created,
    json_body,
    json_response,
    no_content,
    parse_uri,
)
from threadline.mes.quality import resources, service
from threadline.mes.quality.models import (
    RelatedType,
    WorkChecklist,
    WorkChecklistLinking,
    WorkInstructionReport,
)
from threadline.mes.resources import (
    Values,
    add_route,
    create_resource,
    get_row,
    mount,
    parse_input,
    record,
    render,
    snapshot,
    update_resource,
    workspace_of,
)

router = APIRouter()
mount(router, resources.work_instruction)
mount(router, resources.work_checklist_linking)


def _instructions(raw: Any) -> list[Values]:
    """The ``work_instructions`` of a checklist body, each validated as a work instruction."""
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise Invalid(
            "work_instructions must be an array of work instruction objects.",
            code="INVALID_FIELD",
            field="work_instructions",
        )
    items = []
    for item in raw:
        values = parse_input(resources.work_instruction, item, creating=True).values
        service.check_instruction(values)
        items.append(values)
    return items


async def create_checklist(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """Create a work checklist with its work instructions (version 1)."""
    body = await json_body(request)
    items = _instructions(body.pop("work_instructions", []))
    row = await create_resource(ctx, resources.work_checklist, body)
    ctx.session.add_all(service.instruction_rows(row.workspace_id, row.id, row.version, items))
    if row.initial_related_uri:
        related, related_id = service.parse_related_uri(row.initial_related_uri)
        ctx.session.add(
            WorkChecklistLinking(
                workspace_id=row.workspace_id,
                work_checklist_id=row.id,
                related_type=related,
                related_id=related_id,
            )
        )
    return created(ctx.uri(resources.work_checklist.kind, row.id))


async def update_checklist(
    uuid: str, request: Request, ctx: MesContext = Depends(mes_context)
) -> Response:
    """Update a work checklist (partial); ``work_instructions``, when sent, replace the list.
    Every update counts one ``version``; reports keep pointing at the instructions they saw."""
    row: WorkChecklist = await get_row(ctx, resources.work_checklist, uuid)
    body = await json_body(request)
    items = _instructions(body.pop("work_instructions")) if "work_instructions" in body else None
    await update_resource(ctx, resources.work_checklist, row, body)
    before = row.version
    row.version = before + 1
    row.updated_by_id = ctx.user.id
    if items is not None:
        ctx.session.add_all(service.instruction_rows(row.workspace_id, row.id, row.version, items))
    record(
        ctx,
        resources.work_checklist,
        await workspace_of(ctx, row.workspace_id),
        row.id,
        "update",
        {"version": before},
        {"version": row.version, "work_instructions_replaced": items is not None},
    )
    return no_content()


for method, path, handler, summary in (
    ("POST", "/work-checklist/", create_checklist, "Create a work-checklist"),
    ("PUT", "/work-checklist/{uuid}/", update_checklist, "Update a work-checklist (partial)"),
):
    add_route(
        router,
        path,
        handler,
        [method],
        tags=["mes: work-checklist"],
        summary=summary,
        name=f"mes.work-checklist.{method.lower()}",
    )
resources.work_checklist.methods = frozenset({"LIST", "GET", "DELETE"})
mount(router, resources.work_checklist)


async def create_reports(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """Report a value of one work instruction for ``prints`` (one report per print; Location
    names the first); ``outside_threshold`` is computed from the instruction's threshold."""
    resource = resources.work_instruction_report
    body = await json_body(request)
    raw = body.pop("prints", None)
    single = body.pop("print", None)
    if raw is None and single is not None:
        raw = [single]
    if not isinstance(raw, list) or not raw:
        raise Invalid("The field prints is required.", code="FIELD_REQUIRED", field="prints")
    print_ids = list(
        dict.fromkeys(parse_uri(v, kinds=("print",), field_name="prints") for v in raw)
    )
    values = parse_input(resource, body, creating=True).values
    workspace_id = values.get("workspace_id") or ctx.default_bureau()
    ctx.require(workspace_id, resource.write_role)
    wi = await service.instruction_of(ctx, workspace_id, values["work_instruction_id"])
    await service.check_prints(ctx, workspace_id, print_ids)
    service.check_report(wi, values.get("report"))
    values.update(
        workspace_id=workspace_id,
        user_id=ctx.user.id,
        outside_threshold=service.is_outside(wi, values.get("report")),
    )
    rows = [WorkInstructionReport(print_id=print_id, **values) for print_id in print_ids]
    ctx.session.add_all(rows)
    await ctx.session.flush()  # the ids go to the audit log and Location
    workspace = await workspace_of(ctx, workspace_id)
    for row in rows:
        record(ctx, resource, workspace, row.id, "create", None, snapshot(ctx, resource, row))
    return created(ctx.uri(resource.kind, rows[0].id))


add_route(
    router,
    "/work-instruction-report/",
    create_reports,
    ["POST"],
    tags=["mes: work-instruction-report"],
    summary="Report a work instruction for prints",
    name="mes.work-instruction-report.post",
)
resources.work_instruction_report.methods = frozenset({"LIST", "GET", "PUT", "DELETE"})
mount(router, resources.work_instruction_report)


def _related_param(request: Request) -> tuple[RelatedType | None, Any, str]:
    raw = request.query_params.get("filter[related_uri]")
    if not raw:
        raise Invalid(
            "filter[related_uri] is required.", code="FILTER_REQUIRED", field="related_uri"
        )
    try:
        related, related_id = service.parse_related_uri(raw)
    except Invalid:
        # a piece's checklists are those of its prints
        return None, parse_uri(raw, kinds=("piece",), field_name="related_uri"), raw
    return related, related_id, raw


async def checklist_for(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """The work checklist linkings (with their checklists and instructions) of a resource,
    inherited for a print (and for each print of a piece), direct for the other kinds."""
    related, related_id, raw = _related_param(request)
    session = ctx.session
    bureaus = ctx.bureau_ids
    linkings: list[WorkChecklistLinking] = []
    if related in (RelatedType.print, None):
        print_ids = [related_id]
        if related is None:
            print_ids = list(
                await session.scalars(select(Print.id).where(Print.piece_id == related_id))
            )
        for workspace_id in bureaus:
            routes = await service.print_routes(session, workspace_id, print_ids)
            resolved = await service.resolve_linkings(session, workspace_id, routes)
            linkings.extend(dict.fromkeys(resolved.values()))
    else:
        linkings = list(
            await session.scalars(
                select(WorkChecklistLinking)
                .where(
                    WorkChecklistLinking.workspace_id.in_(bureaus),
                    WorkChecklistLinking.related_id == related_id,
                )
                .order_by(WorkChecklistLinking.created_at, WorkChecklistLinking.id)
            )
        )
    checklist_ids = list(dict.fromkeys(linking.work_checklist_id for linking in linkings))
    checklists = (
        list(
            await session.scalars(select(WorkChecklist).where(WorkChecklist.id.in_(checklist_ids)))
        )
        if checklist_ids
        else []
    )
    rendered = {c["uuid"]: c for c in await render(ctx, resources.work_checklist, checklists)}
    out = []
    for linking, item in zip(
        linkings, await render(ctx, resources.work_checklist_linking, linkings), strict=True
    ):
        item["work_checklist"] = rendered[str(linking.work_checklist_id)]
        out.append(item)
    return json_response({"related_uri": raw, "work_checklist_linkings": out})


async def set_checklist_for(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """Set (or with ``work_checklist`` null, remove) the checklist linked directly to
    ``related_uri`` (and ``process_step``, for a line item or workflow)."""
    body = await json_body(request)
    unknown = sorted(set(body) - {"related_uri", "work_checklist", "process_step", "bureau"})
    if unknown:
        raise Invalid(f"Unknown fields: {', '.join(unknown)}.", code="UNKNOWN_FIELD")
    if "related_uri" not in body:
        raise Invalid("The field related_uri is required.", code="FIELD_REQUIRED")
    related, related_id = service.parse_related_uri(body["related_uri"])
    workspace_id = (
        parse_uri(body["bureau"], kinds=("bureau",), field_name="bureau")
        if body.get("bureau")
        else ctx.default_bureau()
    )
    ctx.require(workspace_id, resources.work_checklist_linking.write_role)
    await resources.check_related(ctx, workspace_id, related, related_id)
    step = body.get("process_step")
    step_id = parse_uri(step, kinds=("process-step",), field_name="process_step") if step else None
    existing = delete(WorkChecklistLinking).where(
        WorkChecklistLinking.workspace_id == workspace_id,
        WorkChecklistLinking.related_type == related,
        WorkChecklistLinking.related_id == related_id,
        WorkChecklistLinking.process_step_id.is_(None)
        if step_id is None
        else WorkChecklistLinking.process_step_id == step_id,
    )
    await ctx.session.execute(existing)
    if body.get("work_checklist") is not None:
        linking_body = {
            "bureau": f"/mes/bureau/{workspace_id}/",
            "work_checklist": body["work_checklist"],
            "related_uri": body["related_uri"],
        }
        if step_id is not None:
            linking_body["process_step"] = step
        await create_resource(ctx, resources.work_checklist_linking, linking_body)
    return no_content()


for method, handler, summary in (
    ("GET", checklist_for, "Work checklists of a resource, by inheritance"),
    ("PUT", set_checklist_for, "Set the work checklist of a resource"),
):
    add_route(
        router,
        "/work-checklist-for/",
        handler,
        [method],
        tags=["mes: work-checklist-for"],
        summary=summary,
        name=f"mes.work-checklist-for.{method.lower()}",
    )
