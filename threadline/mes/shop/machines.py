"""Rules of the shop's machines: printers, post-processors and shippings
(mes-api-reference.txt ``/printer/``, ``/post-processor/``, ``/shipping/``).

A machine's ``queue`` and ``in_progress`` are runs, which the next issue brings. This room
keeps the place for them: :func:`register_run_source` takes the function that lists the runs
of a page of machines, and every computed field and the "runs in queue" delete rule read
through it, so nothing here changes when runs arrive.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.sql.elements import ColumnElement

from threadline.db import iso, utcnow
from threadline.errors import Invalid
from threadline.mes.face import Filter, ListQuery, MesContext
from threadline.mes.resources import Links, Rules, Values
from threadline.mes.shop.models import (
    Downtime,
    Location,
    PostProcessor,
    PostProcessorType,
    Printer,
    Shipping,
    SubLocation,
)
from threadline.mes.shop.service import require_unique_name

# --- runs: the hook the next issue fills ------------------------------------------------------


@dataclass
class MachineRuns:
    """The runs of one machine: queued in order, and those in progress."""

    queue: list[uuid.UUID] = field(default_factory=list)
    in_progress: list[uuid.UUID] = field(default_factory=list)


# (ctx, workstation_type, machine ids) → machine id → its runs; one query for the whole page.
RunSource = Callable[[MesContext, str, list[uuid.UUID]], Awaitable[dict[uuid.UUID, MachineRuns]]]
_run_sources: list[RunSource] = []


def register_run_source(source: RunSource) -> None:
    """Called once by the runs room: where machine queues come from."""
    _run_sources.append(source)


async def machine_runs(
    ctx: MesContext, workstation_type: str, ids: list[uuid.UUID]
) -> dict[uuid.UUID, MachineRuns]:
    """The runs of a page of machines (``printer``, ``post-processor`` or ``shipping``)."""
    out: dict[uuid.UUID, MachineRuns] = defaultdict(MachineRuns)
    for source in _run_sources:
        for machine_id, runs in (await source(ctx, workstation_type, ids)).items():
            out[machine_id].queue.extend(runs.queue)
            out[machine_id].in_progress.extend(runs.in_progress)
    return out


def runs_fields(ctx: MesContext, runs: MachineRuns, *, queue: bool = True) -> Values:
    fields: Values = {"in_progress": [ctx.uri("run", r) for r in runs.in_progress]}
    if queue:
        fields["queue"] = [ctx.uri("run", r) for r in runs.queue]
    return fields


async def refuse_delete_with_runs(ctx: MesContext, kind: str, row: Any, label: str) -> None:
    """ "Cannot delete printer that has runs in queue. Remove runs before deleting printer."""
    runs = (await machine_runs(ctx, kind, [row.id])).get(row.id)
    if runs is not None and (runs.queue or runs.in_progress):
        raise Invalid(
            f"Cannot delete {label} that has runs in queue. Remove runs before deleting {label}.",
            code="RUNS_IN_QUEUE",
        )


# --- availability: downtimes block a machine ----------------------------------------------------


async def available_at(
    ctx: MesContext, column: Any, ids: list[uuid.UUID]
) -> dict[uuid.UUID, datetime]:
    """When each machine is next free: now, or the end of the downtimes that cover now back to
    back (mes-api-reference.txt ``/printer/``: "calculated based on run schedules and printer
    downtimes"; runs add their own busy time when they arrive). One query for the page."""
    now = utcnow()
    free = dict.fromkeys(ids, now)
    stmt = (
        select(column, Downtime.start, Downtime.finish)
        .where(column.in_(ids), Downtime.finish > now, Downtime.status != "complete")
        .order_by(column, Downtime.start)
    )
    for machine_id, start, finish in await ctx.session.execute(stmt):
        if start <= free[machine_id] < finish:
            free[machine_id] = finish
    return free


# --- where a machine stands ---------------------------------------------------------------------


async def place(ctx: MesContext, values: Values, row: Any) -> None:
    """A machine's ``sub_location`` belongs to its ``location``; when none is given (a new
    machine, a move, a sub-location cleared), the location's default sub-location is used."""
    location_id = values.get("location_id", row.location_id if row is not None else None)
    sub_id = values.get("sub_location_id")
    if location_id is None:
        if sub_id is not None:
            raise Invalid(
                "A sub_location needs a location.", code="LOCATION_REQUIRED", field="location"
            )
        values["sub_location_id"] = None
        return
    if sub_id is not None:
        owner = await ctx.session.scalar(
            select(SubLocation.location_id).where(SubLocation.id == sub_id)
        )
        if owner != location_id:
            raise Invalid(
                "The sub_location must be a sub-location of the machine's location.",
                code="SUB_LOCATION_MISMATCH",
                field="sub_location",
            )
        return
    moved = row is None or values.get("location_id", row.location_id) != row.location_id
    if moved or "sub_location_id" in values or row.sub_location_id is None:
        values["sub_location_id"] = await ctx.session.scalar(
            select(SubLocation.id).where(
                SubLocation.location_id == location_id, SubLocation.is_default.is_(True)
            )
        )


def archived_clauses(model: Any, query: ListQuery) -> list[ColumnElement[bool]]:
    """Archived machines are hidden from a LIST unless ``filter[include_archived]=true`` (or
    ``?include_archived=true``) or the LIST filters on ``archived`` itself."""
    asked = query.params.get("include_archived", "").lower() in ("true", "1")
    if asked or any(f.name in ("include_archived", "archived") for f in query.filters):
        return []
    return [model.archived.is_(None)]


def include_archived(flt: Filter) -> ColumnElement[bool]:
    """``filter[include_archived]=true``: archived_clauses then leaves the archived in."""
    if flt.values[0].lower() not in ("true", "false", "1", "0"):
        raise Invalid(
            "The value of filter[include_archived] must be true or false.", code="INVALID_FIELD"
        )
    return true()


class _MachineRules(Rules):
    kind = ""
    model: Any = None

    def list_clauses(self, ctx: MesContext, query: ListQuery) -> list[ColumnElement[bool]]:
        return archived_clauses(self.model, query)

    def custom_filters(self) -> dict[str, Callable[[Filter], ColumnElement[bool]]]:
        return {"include_archived": include_archived}


class PrinterRules(_MachineRules):
    """Unique names, the sub-location rule, who updated it last, and no delete while runs are
    queued on it (mes-api-reference.txt ``/printer/``)."""

    kind = "printer"
    MESSAGE = "The requested printer name already exists."

    model = Printer

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        await require_unique_name(ctx, self.model, values, self.MESSAGE)
        await place(ctx, values, None)
        values["updated_by_id"] = ctx.user.id

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        await require_unique_name(ctx, self.model, values, self.MESSAGE, row=row)
        await place(ctx, values, row)
        values["updated_by_id"] = ctx.user.id

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        await refuse_delete_with_runs(ctx, "printer", row, "printer")

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        ids = [row.id for row in rows]
        runs = await machine_runs(ctx, "printer", ids)
        free = await available_at(ctx, Downtime.printer_id, ids)
        return {
            i: {**runs_fields(ctx, runs.get(i, MachineRuns())), "available_at": iso(free[i])}
            for i in ids
        }


class PostProcessorRules(_MachineRules):
    """A post-processor in the shop needs a name and a location; an outsourced one
    (``is_service``) needs neither and is named after its type when unnamed. Its duration
    defaults to its type's; its capacity is its type's ``in_progress_max``
    (mes-api-reference.txt ``/post-processor/``)."""

    kind = "post-processor"
    model = PostProcessor
    MESSAGE = "The requested post processor name already exists."

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        kind = await ctx.session.get(PostProcessorType, values["post_processor_type_id"])
        assert kind is not None  # the reference was checked
        if values.get("duration") is None:
            values["duration"] = kind.duration
        if values.get("is_service") and not values.get("name"):
            values["name"] = kind.name
        await self._check(ctx, values, None)
        values["updated_by_id"] = ctx.user.id

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        await self._check(ctx, values, row)
        values["updated_by_id"] = ctx.user.id

    async def _check(self, ctx: MesContext, values: Values, row: Any) -> None:
        def current(name: str) -> Any:
            return values.get(name, getattr(row, name, None) if row is not None else None)

        if not current("is_service"):
            for name, column in (("name", "name"), ("location", "location_id")):
                if current(column) is None:
                    raise Invalid(
                        f"The field {name} is required if is_service is false.",
                        code="FIELD_REQUIRED",
                        field=name,
                    )
            # An outsourced one's name "will be ignored": only the shop's own are unique.
            await require_unique_name(ctx, PostProcessor, values, self.MESSAGE, row=row)
        await place(ctx, values, row)

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        await refuse_delete_with_runs(ctx, "post-processor", row, "post-processor")

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        ids = [row.id for row in rows]
        runs = await machine_runs(ctx, "post-processor", ids)
        stmt = (
            select(
                PostProcessor.id,
                PostProcessorType.name,
                PostProcessorType.special_type,
                PostProcessorType.in_progress_max,
                Location.name,
            )
            .join(PostProcessorType, PostProcessorType.id == PostProcessor.post_processor_type_id)
            .outerjoin(Location, Location.id == PostProcessor.location_id)
            .where(PostProcessor.id.in_(ids))
        )
        out: dict[uuid.UUID, Values] = {}
        for machine_id, type_name, special, capacity, location_name in await ctx.session.execute(
            stmt
        ):
            out[machine_id] = {
                **runs_fields(ctx, runs.get(machine_id, MachineRuns())),
                "post_processor_type_name": type_name,
                "post_processor_special_type": special,
                "in_progress_max": capacity,
                "location_name": location_name,
            }
        return out


class ShippingRules(Rules):
    """A name is unique within its region; no delete while runs are queued
    (mes-api-reference.txt ``/shipping/``)."""

    MESSAGE = "The requested shipping name for the region already exists."

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        await require_unique_name(
            ctx, Shipping, values, self.MESSAGE, scope=("workspace_id", "region")
        )

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        await require_unique_name(
            ctx, Shipping, values, self.MESSAGE, row=row, scope=("workspace_id", "region")
        )

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        await refuse_delete_with_runs(ctx, "shipping", row, "shipping")

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        ids = [row.id for row in rows]
        runs = await machine_runs(ctx, "shipping", ids)
        return {i: runs_fields(ctx, runs.get(i, MachineRuns()), queue=False) for i in ids}
