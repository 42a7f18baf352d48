"""Routes of the MES shop room, mounted under /mes by threadline/mes/api.py."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from threadline.mes.auth import mes_context
from threadline.mes.face import MesContext, created, json_body
from threadline.mes.resources import Resource, add_route, mount
from threadline.mes.shop import catalog, resources
from threadline.mes.shop.workstations import workstation

router = APIRouter()
for resource in (
    resources.location,
    resources.sub_location,
    resources.manufacturer,
    resources.material,
    resources.printer_type,
    resources.printer,
    resources.post_processor_type,
    resources.post_processor,
    resources.shipping,
    workstation,
    resources.downtime,
    resources.work_schedule,
    resources.labor,
):
    mount(router, resource)


def _clone_route(resource: Resource, missing: str) -> None:
    async def clone(
        uuid: str, request: Request, ctx: MesContext = Depends(mes_context)
    ) -> Response:
        """Clone a template into the caller's bureau (204, the clone's URI in Location)."""
        row = await catalog.clone_template(ctx, resource, uuid, await json_body(request), missing)
        return created(ctx.uri(resource.kind, row.id))

    add_route(
        router,
        f"/{resource.kind}/{{uuid}}/clone/",
        clone,
        ["POST"],
        tags=[f"mes: {resource.kind}"],
        summary=f"Clone a template {resource.kind} into your bureau",
        name=f"mes.{resource.kind}.clone",
    )


# Messages of mes-api-reference.txt ``/material//clone/`` and the printer-type clone block.
_clone_route(resources.material, "The requested material type cannot be found.")
_clone_route(resources.printer_type, "The requested printer type cannot be found.")
