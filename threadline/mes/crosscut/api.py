"""Routes of the MES crosscut room, mounted under /mes by threadline/mes/api.py."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from threadline.mes.auth import mes_context
from threadline.mes.crosscut import custom_fields, events, resources
from threadline.mes.crosscut.service import remove_attached
from threadline.mes.face import MesContext, json_response, list_response, parse_list_query
from threadline.mes.resources import (
    add_route,
    mount,
    register_custom_field_check,
    register_delete_cleanup,
)

router = APIRouter()
for resource in (
    resources.comment,
    resources.label,
    resources.label_relationship,
    resources.custom_field,
):
    mount(router, resource)

# Every resource with ``custom_field_values`` checks them against the bureau's definitions.
register_custom_field_check(custom_fields.check_values)
# Comments and labels of a deleted row go with it.
register_delete_cleanup(remove_attached)


async def list_events(request: Request, ctx: MesContext = Depends(mes_context)) -> Response:
    """One page of the audit log's MES changes, one event per changed key."""
    query = parse_list_query(request)
    page, count = await events.list_events(ctx, query)
    return list_response(page, count, query.page)


async def get_event(uuid: str, ctx: MesContext = Depends(mes_context)) -> Response:
    """One event by its uuid."""
    return json_response(await events.get_event(ctx, uuid))


add_route(router, "/event/", list_events, ["GET"], tags=["mes: event"], summary="List events")
add_route(
    router, "/event/{uuid}/", get_event, ["GET"], tags=["mes: event"], summary="Get one event"
)
