"""The material room's services: what other rooms call (the floor's runs consume batches, the
trace follows the genealogy) and the rules of lots.

Genealogy is set-based: one recursive CTE over ``mes_material_batch_linkings`` answers any
depth in one statement. ``UNION`` (not ``UNION ALL``) keeps each (batch, depth) once, so the
diamonds of split-then-blend graphs never multiply paths; ``MAX_DEPTH`` bounds the walk even if
a top-off closes a loop.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.errors import Invalid
from threadline.mes.face import MesContext
from threadline.mes.material import actions
from threadline.mes.material.models import (
    BatchStatus,
    MaterialBatch,
    MaterialBatchLinking,
    MaterialLot,
)

MAX_DEPTH = 1000


async def consume_for_run(
    ctx: MesContext,
    batch_id: uuid.UUID,
    quantity: float,
    *,
    run_uri: str,
    printer_id: uuid.UUID | None,
) -> uuid.UUID:
    """Record that a print run used ``quantity`` of the batch; returns the action's id.

    The reference has no action for a print consuming material, so this is a ``machine_load``
    whose metadata names the run (``{"run": run_uri, "consumed": true}``); unlike a plain load
    it lowers the batch's quantity (from what is loaded first, then from what is available).
    400 ``MATERIAL_BATCH_INSUFFICIENT`` when the batch holds less; 404 for another bureau's."""
    row = await ctx.session.get(MaterialBatch, batch_id)
    if row is None or row.workspace_id not in ctx.roles:
        from threadline.errors import NotFound

        raise NotFound(
            "The requested material batch cannot be found.",
            code="RESOURCE_NOT_FOUND",
            field="material_batch",
        )
    metadata: dict[str, Any] = {"run": run_uri, "consumed": True}
    if printer_id is not None:
        metadata["machine"] = ctx.uri("printer", printer_id)

    async def consume(step: actions.Step) -> None:
        batch = step.source
        assert batch is not None
        if quantity <= 0:
            raise Invalid(
                "The quantity must be greater than zero.", code="INVALID_QUANTITY", field="quantity"
            )
        if quantity > batch.quantity + actions.EPSILON:
            raise actions.insufficient(batch, quantity, batch.quantity)
        batch.reserved_quantity -= min(batch.reserved_quantity, quantity)
        batch.quantity -= quantity
        batch.status = BatchStatus.in_use
        step.recorded_quantity = quantity
        actions._settle(batch)

    action = await actions.perform(
        ctx, row.workspace_id, "machine_load", batch_id, quantity, metadata, performer=consume
    )
    return action.id


def _ancestors_cte(workspace_id: uuid.UUID, batch_ids: Any) -> Any:
    """(origin, batch_id, depth): each batch of ``batch_ids`` at depth 0 and its ancestors."""
    link = MaterialBatchLinking
    anchor = select(
        MaterialBatch.id.label("origin"),
        MaterialBatch.id.label("batch_id"),
        literal(0).label("depth"),
    ).where(MaterialBatch.id.in_(batch_ids), MaterialBatch.workspace_id == workspace_id)
    cte = anchor.cte("ancestors", recursive=True)
    step = (
        select(cte.c.origin, link.source_batch_id, cte.c.depth + 1)
        .join(link, link.destination_batch_id == cte.c.batch_id)
        .where(link.workspace_id == workspace_id, cte.c.depth < MAX_DEPTH)
    )
    return cte.union(step)


async def ancestry(
    session: AsyncSession, workspace_id: uuid.UUID, batch_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """For each batch, itself (depth 0) and its ancestor batches with their lots, nearest
    first: dicts with ``batch_id``, ``lot_id``, ``lot_name``, ``material_id``, ``depth``. One
    statement for any depth; batches of another bureau are left out."""
    out: dict[uuid.UUID, list[dict[str, Any]]] = {b: [] for b in batch_ids}
    if not batch_ids:
        return out
    cte = _ancestors_cte(workspace_id, batch_ids)
    stmt = (
        select(
            cte.c.origin,
            cte.c.batch_id,
            func.min(cte.c.depth).label("depth"),
            MaterialBatch.material_lot_id,
            MaterialLot.name,
            MaterialBatch.material_id,
        )
        .join(MaterialBatch, MaterialBatch.id == cte.c.batch_id)
        .outerjoin(MaterialLot, MaterialLot.id == MaterialBatch.material_lot_id)
        .group_by(
            cte.c.origin,
            cte.c.batch_id,
            MaterialBatch.material_lot_id,
            MaterialLot.name,
            MaterialBatch.material_id,
        )
        .order_by(cte.c.origin, func.min(cte.c.depth), cte.c.batch_id)
    )
    for origin, batch_id, depth, lot_id, lot_name, material_id in await session.execute(stmt):
        out[origin].append(
            {
                "batch_id": batch_id,
                "lot_id": lot_id,
                "lot_name": lot_name,
                "material_id": material_id,
                "depth": depth,
            }
        )
    return out


async def descendants_of_lot(
    session: AsyncSession, workspace_id: uuid.UUID, lot_id: uuid.UUID
) -> list[uuid.UUID]:
    """Every batch descending from the lot (its own batches and all they went into), in one
    recursive statement; empty for another bureau's lot."""
    link = MaterialBatchLinking
    anchor = select(MaterialBatch.id.label("batch_id"), literal(0).label("depth")).where(
        MaterialBatch.material_lot_id == lot_id, MaterialBatch.workspace_id == workspace_id
    )
    cte = anchor.cte("descendants", recursive=True)
    cte = cte.union(
        select(link.destination_batch_id, cte.c.depth + 1)
        .join(link, link.source_batch_id == cte.c.batch_id)
        .where(link.workspace_id == workspace_id, cte.c.depth < MAX_DEPTH)
    )
    rows = await session.scalars(select(cte.c.batch_id).distinct().order_by(cte.c.batch_id))
    return list(rows)


async def genealogy_edges(
    session: AsyncSession, workspace_id: uuid.UUID, batch_id: uuid.UUID
) -> list[tuple[str, uuid.UUID, uuid.UUID, uuid.UUID, float, int]]:
    """The linking edges above (``"parent"``) and below (``"child"``) a batch, any depth, in
    one statement: (direction, source, destination, action, quantity, depth)."""
    link = MaterialBatchLinking
    cols = (link.source_batch_id, link.destination_batch_id, link.action_id, link.quantity)
    up = (
        select(*cols, literal(1).label("depth"))
        .where(link.destination_batch_id == batch_id, link.workspace_id == workspace_id)
        .cte("up", recursive=True)
    )
    up = up.union(
        select(*cols, up.c.depth + 1)
        .join(up, link.destination_batch_id == up.c.source_batch_id)
        .where(link.workspace_id == workspace_id, up.c.depth < MAX_DEPTH)
    )
    down = (
        select(*cols, literal(1).label("depth"))
        .where(link.source_batch_id == batch_id, link.workspace_id == workspace_id)
        .cte("down", recursive=True)
    )
    down = down.union(
        select(*cols, down.c.depth + 1)
        .join(down, link.source_batch_id == down.c.destination_batch_id)
        .where(link.workspace_id == workspace_id, down.c.depth < MAX_DEPTH)
    )
    stmt = select(
        literal("parent").label("direction"),
        up.c.source_batch_id,
        up.c.destination_batch_id,
        up.c.action_id,
        up.c.quantity,
        up.c.depth,
    ).union_all(
        select(
            literal("child"),
            down.c.source_batch_id,
            down.c.destination_batch_id,
            down.c.action_id,
            down.c.quantity,
            down.c.depth,
        )
    )
    return [tuple(row) for row in await session.execute(stmt)]
