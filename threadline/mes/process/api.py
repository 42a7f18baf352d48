"""Routes of the MES process room, mounted under /mes by threadline/mes/api.py."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from threadline.mes.auth import mes_context
from threadline.mes.face import MesContext, created, json_body
from threadline.mes.process import replace, resources
from threadline.mes.resources import add_route, get_row, mount

router = APIRouter()


async def replace_workflow(
    uuid: str, request: Request, ctx: MesContext = Depends(mes_context)
) -> Response:
    """Copy a workflow with new steps; archive it and move its line items, or pin the copy."""
    source = await get_row(ctx, resources.workflow, uuid)
    copy = await replace.replace_workflow(ctx, source, await json_body(request))
    return created(ctx.uri("workflow", copy.id))


add_route(
    router,
    "/workflow/{uuid}/replace/",
    replace_workflow,
    ["POST"],
    tags=["mes: workflow"],
    summary="Replace a workflow (copy with new steps; archive or pin)",
    name="mes.workflow.replace",
)
for resource in (resources.process_step, resources.workflow):
    mount(router, resource)
