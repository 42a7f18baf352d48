"""Business rules of the material resources: the lot's status machine and the containers and
initial batch it creates; the read-only fields of lots and batches, computed per page."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.sql.elements import ColumnElement

from threadline.errors import Conflict, Invalid
from threadline.mes.face import ListQuery, MesContext
from threadline.mes.material import actions, states
from threadline.mes.material.models import (
    ContainerStatus,
    LotStatus,
    MaterialBatch,
    MaterialBatchLinking,
    MaterialContainer,
    MaterialLot,
)
from threadline.mes.resources import Links, Rules, Values, ids_of
from threadline.mes.shop.models import Location, Material


class LotRules(Rules):
    """Initial status ``on_order|received``; the table of :mod:`states` for changes; units and
    cost from the material when not sent; containers from ``number_of_containers`` times
    ``size_of_container``; the initial batch once the lot is received."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        states.check_initial(LotStatus(values.get("status") or LotStatus.received))
        material = await ctx.session.get(Material, values["material_id"])
        assert material is not None  # the reference was checked
        if values.get("units") is None:
            values["units"] = material.units
        if values.get("cost") is None:
            values["cost"] = material.cost
        count = values.get("number_of_containers") or 0
        size = values.get("size_of_container") or 0.0
        if count and size <= 0:
            raise Invalid(
                "size_of_container must be greater than zero when number_of_containers is set.",
                code="INVALID_FIELD",
                field="size_of_container",
            )
        values["number_of_containers"], values["size_of_container"] = count, size
        values["full_quantity"] = count * size

    async def after_create(self, ctx: MesContext, row: Any, links: Links) -> None:
        if row.number_of_containers:
            await ctx.session.execute(
                insert(MaterialContainer),
                [
                    {
                        "id": uuid.uuid4(),
                        "workspace_id": row.workspace_id,
                        "material_lot_id": row.id,
                        "material_id": row.material_id,
                        "name": f"{row.name or 'lot'} #{n + 1}",
                        "type": "disposable",
                        "disposable": True,
                        "status": ContainerStatus.new,
                        "quantity": row.size_of_container,
                        "full_quantity": row.size_of_container,
                        "location_id": row.location_id,
                        "sub_location_id": row.sub_location_id,
                    }
                    for n in range(row.number_of_containers)
                ],
            )
        if row.status == LotStatus.received:
            await self._initial_batch(ctx, row)

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        if "status" in values:
            states.check_transition(row.status, LotStatus(values["status"]))

    async def after_update(self, ctx: MesContext, row: Any, changed: set[str]) -> None:
        if "status" in changed and row.status == LotStatus.received:
            await self._initial_batch(ctx, row)

    async def _initial_batch(self, ctx: MesContext, lot: MaterialLot) -> None:
        free = await ctx.session.scalar(
            select(func.count())
            .select_from(MaterialContainer)
            .where(
                MaterialContainer.material_lot_id == lot.id,
                MaterialContainer.current_batch_id.is_(None),
            )
        )
        if free:
            await actions.perform(
                ctx,
                lot.workspace_id,
                "create_initial_batch",
                None,
                None,
                {"material_lot": ctx.uri("material-lot", lot.id)},
            )

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        used = await ctx.session.scalar(
            select(func.count())
            .select_from(MaterialBatch)
            .where(MaterialBatch.material_lot_id == row.id)
        )
        if used:
            raise Conflict(
                "A material lot whose material has batches cannot be deleted.",
                code="MATERIAL_LOT_IN_USE",
            )

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        ids = ids_of(rows)
        out: dict[uuid.UUID, Values] = {
            row.id: {
                "quantity": 0.0,
                "initial_batches": [],
                "containers_available_for_initial_batches": [],
            }
            for row in rows
        }
        batches = (
            select(
                MaterialBatch.material_lot_id,
                MaterialBatch.id,
                MaterialBatch.initial_batch_id,
                MaterialBatch.quantity,
            )
            .where(MaterialBatch.material_lot_id.in_(ids))
            .order_by(MaterialBatch.created_at)
        )
        for lot_id, batch_id, initial_id, quantity in await ctx.session.execute(batches):
            assert lot_id is not None  # the query's filter
            out[lot_id]["quantity"] += quantity
            if initial_id == batch_id:
                out[lot_id]["initial_batches"].append(ctx.uri("material-batch", batch_id))
        free = select(MaterialContainer.material_lot_id, MaterialContainer.id).where(
            MaterialContainer.material_lot_id.in_(ids),
            MaterialContainer.current_batch_id.is_(None),
            MaterialContainer.status == ContainerStatus.new,
        )
        for lot_id, container_id in await ctx.session.execute(free):
            assert lot_id is not None  # the query's filter
            out[lot_id]["containers_available_for_initial_batches"].append(
                ctx.uri("material-container", container_id)
            )
        names = await _names(ctx, rows)
        for row in rows:
            out[row.id].update(names[row.id])
        return out


async def _names(ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
    """``material_name``, ``material_type``, ``location_name`` of a page (two queries)."""
    materials = {
        m.id: m
        for m in await ctx.session.scalars(
            select(Material).where(Material.id.in_({r.material_id for r in rows}))
        )
    }
    location_ids = {r.location_id for r in rows if r.location_id}
    locations = (
        dict(
            (
                await ctx.session.execute(
                    select(Location.id, Location.name).where(Location.id.in_(location_ids))
                )
            ).all()
        )
        if location_ids
        else {}
    )
    out: dict[uuid.UUID, Values] = {}
    for row in rows:
        material = materials.get(row.material_id)
        out[row.id] = {
            "material_name": material.name if material else None,
            "material_type": material.type if material else None,
            "location_name": locations.get(row.location_id),
        }
    return out


class ContainerRules(Rules):
    """Archived containers are listed only when asked for; a container holding a batch stays."""

    def list_clauses(self, ctx: MesContext, query: ListQuery) -> list[ColumnElement[bool]]:
        if any(f.name == "archived" for f in query.filters):
            return []
        return [MaterialContainer.archived.is_(False)]

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        values.setdefault("full_quantity", values.get("quantity") or 0.0)
        if values.get("full_quantity") is None:
            values["full_quantity"] = values.get("quantity") or 0.0

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        if row.current_batch_id is not None or row.material_lot_id is not None:
            raise Conflict(
                "A container of a lot or holding a batch cannot be deleted: archive it.",
                code="MATERIAL_CONTAINER_IN_USE",
            )

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        ids = ids_of(rows)
        used: dict[uuid.UUID, list[str]] = defaultdict(list)
        stmt = (
            select(MaterialContainer.id, MaterialBatch.id)
            .join(MaterialBatch, MaterialBatch.id == MaterialContainer.current_batch_id)
            .where(MaterialContainer.id.in_(ids))
        )
        for container_id, batch_id in await ctx.session.execute(stmt):
            used[container_id].append(ctx.uri("material-batch", batch_id))
        return {
            row.id: {
                "used_in_batches": used.get(row.id, []),
                "is_available_for_initial_batches": row.current_batch_id is None
                and row.material_lot_id is not None
                and row.status == ContainerStatus.new,
                "printer_type_relationships": [],
            }
            for row in rows
        }


class BatchRules(Rules):
    """Batches change only through actions; their helper fields are computed per page."""

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        ids = ids_of(rows)
        out: dict[uuid.UUID, Values] = {
            row.id: {
                "containers": [],
                "source_material_batches": [],
                "is_initial_batch": row.initial_batch_id == row.id,
                "quantity_available_for_actions": row.quantity - row.reserved_quantity,
                "material_lots": [ctx.uri("material-lot", x) for x in row.material_lot_ids or []][
                    :10
                ],
            }
            for row in rows
        }
        containers = (
            select(MaterialContainer.current_batch_id, MaterialContainer.id)
            .where(MaterialContainer.current_batch_id.in_(ids))
            .order_by(MaterialContainer.created_at, MaterialContainer.id)
        )
        for batch_id, container_id in await ctx.session.execute(containers):
            assert batch_id is not None  # the query's filter
            out[batch_id]["containers"].append(ctx.uri("material-container", container_id))
        sources = (
            select(MaterialBatchLinking.destination_batch_id, MaterialBatchLinking.source_batch_id)
            .where(MaterialBatchLinking.destination_batch_id.in_(ids))
            .distinct()
        )
        for batch_id, source_id in await ctx.session.execute(sources):
            out[batch_id]["source_material_batches"].append(ctx.uri("material-batch", source_id))
        materials = {
            m.id: m
            for m in await ctx.session.scalars(
                select(Material).where(Material.id.in_({r.material_id for r in rows}))
            )
        }
        names = await _names(ctx, rows)
        for row in rows:
            m = materials.get(row.material_id)
            out[row.id]["materials"] = (
                [
                    {
                        "units": m.units,
                        "cost": m.cost,
                        "type": m.type,
                        "uri": ctx.uri("material", m.id),
                    }
                ]
                if m
                else []
            )
            out[row.id]["location_name"] = names[row.id]["location_name"]
        return out


class ActionRules(Rules):
    """Actions are written by :func:`actions.perform` (the POST route); nothing to add here."""
