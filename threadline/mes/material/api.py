"""Routes of the MES material room, mounted under /mes by threadline/mes/api.py."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from threadline.errors import Forbidden, NotFound
from threadline.mes.auth import mes_context
from threadline.mes.face import MesContext, created, json_body, json_response
from threadline.mes.material import actions, genealogy, resources
from threadline.mes.material.models import MaterialBatch
from threadline.mes.resources import add_route, check_refs, mount, parse_input

router = APIRouter()
for resource in (
    resources.material_lot,
    resources.material_container,
    resources.material_batch,
    resources.material_batch_action,
    resources.material_batch_linking,
):
    mount(router, resource)


async def modify_batch(uuid: str, ctx: MesContext = Depends(mes_context)) -> Response:
    """Batches change only through /material-batch-action/ (403, as the reference answers)."""
    raise Forbidden(
        "Modification of material batch not allowed via API.",
        code="MATERIAL_BATCH_READ_ONLY",
    )


add_route(
    router,
    "/material-batch/{uuid}/",
    modify_batch,
    ["PUT"],
    tags=["mes: material-batch"],
    summary="Refused: batches change only through material-batch-action",
    name="mes.material-batch.put",
)


async def create_action(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """Log an action on a batch and apply it; Location names the new batch when there is one."""
    resource = resources.material_batch_action
    parsed = parse_input(resource, await json_body(request), creating=True)
    values = parsed.values
    source_id = values.get("source_batch_id")
    if source_id is not None:
        batch = await ctx.session.get(MaterialBatch, source_id)
        if batch is None or batch.workspace_id not in ctx.roles:
            raise NotFound(
                "The requested material batch cannot be found.",
                code="RESOURCE_NOT_FOUND",
                field="source_batch",
            )
        workspace_id = batch.workspace_id
    else:
        workspace_id = values.get("workspace_id") or ctx.default_bureau()
    ctx.require(workspace_id, resource.write_role)
    await check_refs(ctx, workspace_id, parsed.refs)
    action = await actions.perform(
        ctx,
        workspace_id,
        values["action_type"],
        source_id,
        values.get("quantity"),
        values.get("metadata_"),
        notes=values.get("notes"),
    )
    action_uri = ctx.uri("material-batch-action", action.id)
    if action.destination_batch_id is not None:
        return created(
            ctx.uri("material-batch", action.destination_batch_id),
            headers={"X-Material-Batch-Action": action_uri},
        )
    return created(action_uri, headers={"X-Material-Batch-Action": action_uri})


add_route(
    router,
    "/material-batch-action/",
    create_action,
    ["POST"],
    tags=["mes: material-batch-action"],
    summary="Log (and apply) an action on a material batch",
    name="mes.material-batch-action.post",
)


async def read_genealogy(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """The parents and children trees of ``target_batch``, with their batches and actions."""
    return json_response(await genealogy.genealogy(ctx, dict(request.query_params)))


add_route(
    router,
    "/material-genealogy/",
    read_genealogy,
    ["GET"],
    tags=["mes: material-genealogy"],
    summary="Genealogy of a material batch (parents and children trees)",
    name="mes.material-genealogy.get",
)
