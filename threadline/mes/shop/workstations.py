"""``/workstation/``: the read-only union of printers, post-processors and shippings
(mes-api-reference.txt ``/workstation/``: "a Read-Only collection/Summary of Workstation types
(printer/post-processor/shipping) that are stored in their own tables").

The union is one SELECT mapped as a read-only class, so the generic LIST/GET serve it with the
face's filters, sort and paging, and other rooms may point a ``workstation`` URI field at it.
Each row's ``uri`` is the machine's own (``/printer/{uuid}/``...), as the reference says.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, Uuid, literal, null, select, union_all
from sqlalchemy.orm import registry
from sqlalchemy.sql.elements import ColumnElement

from threadline.db import Base, UTCDateTime
from threadline.mes.face import Filter, ListQuery, MesContext
from threadline.mes.resources import Field, Resource, Rules, Values, common_fields
from threadline.mes.shop.machines import archived_clauses, include_archived
from threadline.mes.shop.models import PostProcessor, PostProcessorType, Printer, Shipping

WORKSTATION_TYPES = ("printer", "post-processor", "shipping")


def _union() -> Any:
    printers = select(
        Printer.id,
        Printer.workspace_id,
        literal("printer").label("workstation_type"),
        Printer.name,
        Printer.description,
        Printer.archived,
        Printer.location_id,
        Printer.in_progress_max,
        Printer.updated_by_id,
        Printer.created_at,
        Printer.updated_at,
    )
    post_processors = select(
        PostProcessor.id,
        PostProcessor.workspace_id,
        literal("post-processor"),
        PostProcessor.name,
        null(),  # a post-processor has no description of its own
        PostProcessor.archived,
        PostProcessor.location_id,
        PostProcessorType.in_progress_max,
        PostProcessor.updated_by_id,
        PostProcessor.created_at,
        PostProcessor.updated_at,
    ).join(PostProcessorType, PostProcessorType.id == PostProcessor.post_processor_type_id)
    shippings = select(
        Shipping.id,
        Shipping.workspace_id,
        literal("shipping"),
        Shipping.name,
        Shipping.description,
        null().cast(UTCDateTime()),
        null().cast(Uuid()),
        Shipping.in_progress_max.cast(Integer()),
        null().cast(Uuid()),
        Shipping.created_at,
        Shipping.updated_at,
    )
    return union_all(printers, post_processors, shippings).subquery("mes_workstations")


class Workstation:
    """One row of the union (read-only: mapped on a SELECT, never written)."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    workstation_type: str
    name: str | None
    description: str | None
    archived: datetime | None
    location_id: uuid.UUID | None
    in_progress_max: int | None
    updated_by_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


_view = _union()
registry().map_imperatively(Workstation, _view, primary_key=[_view.c.id])


class WorkstationRules(Rules):
    """Archived machines hidden unless asked for; ``uri`` names the machine itself."""

    def list_clauses(self, ctx: MesContext, query: ListQuery) -> list[ColumnElement[bool]]:
        return archived_clauses(Workstation, query)

    def custom_filters(self) -> dict[str, Callable[[Filter], ColumnElement[bool]]]:
        return {"include_archived": include_archived}

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        return {row.id: {"uri": ctx.uri(row.workstation_type, row.id)} for row in rows}


workstation = Resource(
    "workstation",
    cast(type[Base], Workstation),
    (
        *common_fields(),
        Field("workstation_type", choices=WORKSTATION_TYPES, read_only=True, sort=True),
        Field("name", read_only=True, sort=True),
        Field("description", read_only=True),
        Field("archived", "datetime", read_only=True),
        Field("location", "uri", to=("location",), read_only=True),
        Field("in_progress_max", "integer", read_only=True),
        Field("updated_by", "uri", to=("users",), read_only=True),
    ),
    rules=WorkstationRules(),
    methods=frozenset({"LIST", "GET"}),
)
