"""Routes of the MES floor room, mounted under /mes by threadline/mes/api.py.

``/run/`` is the declarative resource for LIST/GET/DELETE; its POST and PUT are this room's
own, because a run's prints and status are more than field writes (threadline/mes/floor/runs.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from threadline.errors import Invalid
from threadline.mes.auth import mes_context
from threadline.mes.face import MesContext, created, json_body, no_content, parse_uri
from threadline.mes.floor import helpers, planner, resources, runs, schedule
from threadline.mes.floor.reports import api as reports
from threadline.mes.resources import add_route, get_row, mount, update_resource
from threadline.mes.shop import machines

router = APIRouter()


async def create_run(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """Create a run from prints (204, its URI in Location)."""
    row = await runs.create_run(ctx, await json_body(request))
    return created(ctx.uri("run", row.id))


async def update_run(
    uuid: str, request: Request, ctx: MesContext = Depends(mes_context)
) -> Response:
    """Change a run's fields, its prints (while it waits) and its status (with ``force``)."""
    row = await get_row(ctx, resources.run, uuid)
    body = dict(await json_body(request))
    force = body.pop("force", False)
    if not isinstance(force, bool):
        raise Invalid("The value of force must be a boolean.", code="INVALID_FIELD", field="force")
    target = body.pop("status", None)
    prints = body.pop("prints", None)
    await runs.load_station(ctx.session, row)
    if body:
        await update_resource(ctx, resources.run, row, body)
        await runs.load_station(ctx.session, row)
    if prints is not None:
        await runs.replace_prints(ctx, row, prints)
    if target is not None:
        await runs.move(ctx, row, target, force=force)
    return no_content()


add_route(
    router,
    "/run/",
    create_run,
    ["POST"],
    tags=["mes: run"],
    summary="Create a run",
    name="mes.run.post",
)
add_route(
    router,
    "/run/{uuid}/",
    update_run,
    ["PUT"],
    tags=["mes: run"],
    summary="Update a run: fields, prints, status (partial)",
    name="mes.run.put",
)
mount(router, resources.run)
for resource in (
    resources.run_actuals,
    resources.run_actuals_additive,
    resources.piece_actuals,
    resources.time_entry,
    resources.shipment,
    resources.create_runs,
    resources.run_transformation,
):
    mount(router, resource)
machines.register_run_source(runs.machine_runs)
assert planner.JOB_KIND  # importing the planner registers its durable job's handler


async def run_queue(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """Move a waiting run to the front of its queue, or before/after another run of it."""
    body: dict[str, Any] = await json_body(request)
    if "run" not in body:
        raise Invalid("The field run is required.", code="FIELD_REQUIRED", field="run")
    run = await get_row(
        ctx, resources.run, parse_uri(body["run"], kinds=("run",), field_name="run")
    )
    ctx.require(run.workspace_id, resources.run.write_role)
    relative = None
    if body.get("relative_to"):
        relative = await get_row(
            ctx,
            resources.run,
            parse_uri(body["relative_to"], kinds=("run",), field_name="relative_to"),
        )
    await runs.requeue(ctx, run, relative, body.get("position", "before"))
    return no_content()


add_route(
    router,
    "/run-queue/",
    run_queue,
    ["POST"],
    tags=["mes: run-queue"],
    summary="Re-queue a run",
    name="mes.run-queue.post",
)
schedule.mount_routes(router)
helpers.mount_routes(router)
router.include_router(reports.router)  # /traceability-report/, /material-batch-traceability-report/
