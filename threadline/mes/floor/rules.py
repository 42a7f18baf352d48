"""Business rules of the floor's resources (the :class:`~threadline.mes.resources.Rules` hooks
of threadline/mes/floor/resources.py)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from threadline.errors import Invalid, NotFound
from threadline.mes.demand.models import LineItem, Order, Piece, Print
from threadline.mes.face import Filter, MesContext, parse_uri
from threadline.mes.floor import runs
from threadline.mes.floor.models import Operation, Run, RunActual, RunActualAdditive
from threadline.mes.floor.workstations import MACHINE_COLUMN, MACHINE_KIND, TYPE_COLUMN, station
from threadline.mes.resources import Links, Rules, Values, ids_of
from threadline.mes.shop.models import (
    PostProcessor,
    PostProcessorType,
    Printer,
    PrinterType,
    Shipping,
)


class RunRules(Rules):
    """A run's exact workstation must be of its prints' workstation type; with one it waits in
    that queue (``queued``), without one it is ``calculated`` until assigned."""

    async def _check_machine(
        self, ctx: MesContext, operation: Operation, values: Values, type_id: Any
    ) -> None:
        for op, column in MACHINE_COLUMN.items():
            if op != operation and op != Operation.shipping and values.get(column) is not None:
                raise Invalid(
                    f"A {operation.value} run has no {MACHINE_KIND[op]}.",
                    code="RUN_WORKSTATION_MISMATCH",
                    field=MACHINE_KIND[op].replace("-", "_"),
                )
        machine = values.get(MACHINE_COLUMN[operation])
        if machine is None or operation == Operation.shipping:
            return
        model: Any = Printer if operation == Operation.printing else PostProcessor
        type_column = (
            "printer_type_id" if operation == Operation.printing else "post_processor_type_id"
        )
        row = await ctx.session.get(model, machine)
        if row is None or getattr(row, type_column) != type_id:
            kind = MACHINE_KIND[operation]
            raise Invalid(
                f"The {kind} is not of the prints' {kind} type.",
                code="RUN_WORKSTATION_MISMATCH",
                field=kind.replace("-", "_"),
            )
        values["location_id"] = row.location_id

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        await self.before_create_many(ctx, [(values, links)])

    async def before_create_many(
        self, ctx: MesContext, items: Sequence[tuple[Values, Links]]
    ) -> None:
        """Each new run's workstation checked, and the run placed at the end of its queue:
        each machine read once and each queue's end once, whatever the number of runs (the
        planner makes hundreds in one request, each one after the other in its queue)."""
        ends: dict[tuple[Operation, Any], int] = {}
        durations: dict[tuple[Operation, Any], int | None] = {}
        for values, _links in items:
            operation = Operation(values["operation"])
            values["operation"] = operation
            type_id = values[TYPE_COLUMN[operation]]
            await self._check_machine(ctx, operation, values, type_id)
            machine = values.get(MACHINE_COLUMN[operation])
            if machine is None:
                values["status"] = runs.S.calculated
                continue
            key = (operation, machine)
            if key in ends:
                ends[key] += 1
            else:
                ends[key] = await runs.queue_end(ctx.session, operation, machine)
                where = await station(ctx.session, MACHINE_KIND[operation], machine)
                durations[key] = where.duration if where is not None else None
            values["status"] = runs.S.queued
            values["queue_position"] = ends[key]
            if values.get("estimated_duration") is None and durations[key] is not None:
                values["estimated_duration"] = durations[key]

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        await self._check_machine(
            ctx, row.operation, values, getattr(row, TYPE_COLUMN[row.operation])
        )
        journal = runs.Journal(ctx)
        await runs.assign(ctx, row, values, journal)
        await journal.flush()

    async def before_delete(self, ctx: MesContext, row: Any) -> None:
        await runs.before_delete(ctx, row)

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        ids = ids_of(rows)
        prints: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        orders: dict[uuid.UUID, dict[uuid.UUID, str | None]] = defaultdict(dict)
        for run_id, print_id, order_id, customer in await ctx.session.execute(
            select(Print.run_id, Print.id, Piece.order_id, Order.customer_id)
            .join(Piece, Piece.id == Print.piece_id)
            .outerjoin(Order, Order.id == Piece.order_id)
            .where(Print.run_id.in_(ids))
            .order_by(Print.run_id, Print.line_item_id, Print.id)
        ):
            if run_id is None:
                continue
            prints[run_id].append(print_id)
            if order_id is not None:
                orders[run_id][order_id] = customer
        names = await _workstation_names(ctx, rows)
        out: dict[uuid.UUID, Values] = {}
        for row in rows:
            machine = getattr(row, MACHINE_COLUMN[row.operation])
            kind = MACHINE_KIND[row.operation]
            station_name, type_name = names.get(row.id, (None, None))
            customers = sorted({c for c in orders[row.id].values() if c})
            out[row.id] = {
                "prints": [ctx.uri("print", p) for p in prints[row.id]],
                "orders": [ctx.uri("order", o) for o in orders[row.id]],
                "customer_id": customers[0] if len(customers) == 1 else None,
                "export_controlled": False,
                "run_documents": [],
                "service_provider_jobs": [],
                "workstation_uri": ctx.uri(kind, machine) if machine else None,
                "workstation_name": station_name,
                "workstation_type_name": type_name,
            }
        return out

    def custom_filters(self) -> dict[str, Callable[[Filter], ColumnElement[bool]]]:
        def through_prints(column: Any, kind: str) -> Callable[[Filter], ColumnElement[bool]]:
            def clause(flt: Filter) -> ColumnElement[bool]:
                wanted = [parse_uri(v, kinds=(kind,), field_name=flt.name) for v in flt.values]
                return Run.id.in_(select(Print.run_id).where(column.in_(wanted)))

            return clause

        return {
            "by_line_item": through_prints(Print.line_item_id, "line-item"),
            "by_order": _by_order,
        }


def _by_order(flt: Filter) -> ColumnElement[bool]:
    wanted = [parse_uri(v, kinds=("order",), field_name=flt.name) for v in flt.values]
    line_items = select(LineItem.id).where(LineItem.order_id.in_(wanted))
    return Run.id.in_(select(Print.run_id).where(Print.line_item_id.in_(line_items)))


async def _workstation_names(
    ctx: MesContext, rows: Sequence[Any]
) -> dict[uuid.UUID, tuple[str | None, str | None]]:
    """The exact workstation's and its type's names of each run (one query per kind)."""
    out: dict[uuid.UUID, tuple[str | None, str | None]] = {}
    printers = {r.printer_id for r in rows if r.printer_id}
    printer_types = {r.printer_type_id for r in rows if r.printer_type_id}
    pps = {r.post_processor_id for r in rows if r.post_processor_id}
    pp_types = {r.post_processor_type_id for r in rows if r.post_processor_type_id}
    shippings = {r.shipping_id for r in rows if r.shipping_id}

    async def names(model: Any, ids: set[Any]) -> dict[Any, str | None]:
        if not ids:
            return {}
        return dict(
            (await ctx.session.execute(select(model.id, model.name).where(model.id.in_(ids)))).all()
        )

    p, pt = await names(Printer, printers), await names(PrinterType, printer_types)
    q, qt = await names(PostProcessor, pps), await names(PostProcessorType, pp_types)
    s = await names(Shipping, shippings)
    for r in rows:
        if r.operation == Operation.printing:
            out[r.id] = (p.get(r.printer_id), pt.get(r.printer_type_id))
        elif r.operation == Operation.post_processing:
            out[r.id] = (q.get(r.post_processor_id), qt.get(r.post_processor_type_id))
        else:
            out[r.id] = (s.get(r.shipping_id), s.get(r.shipping_id))
    return out


class RunActualRules(Rules):
    """Costs are entered after the fact; ``total_cost`` is their sum, ``edited_by`` the editor."""

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        values["edited_by_id"] = ctx.user.id
        costs = [
            values.get(name, getattr(row, name))
            for name in ("consumable_cost", "machine_cost", "workstation_cost")
        ]
        values["total_cost"] = (
            sum(c for c in costs if c is not None) if any(c is not None for c in costs) else None
        )

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        used: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        for a in await ctx.session.scalars(
            select(RunActualAdditive).where(RunActualAdditive.run_actual_id.in_(ids_of(rows)))
        ):
            used[a.run_actual_id].append(
                {
                    "material_batch": ctx.uri("material-batch", a.material_batch_id)
                    if a.material_batch_id
                    else None,
                    "base_material_used": a.base_material_used,
                    "support_material_used": a.support_material_used,
                }
            )
        return {
            r.id: {
                "additive": {
                    "batches": used[r.id],
                    "base_material_used": sum(u["base_material_used"] or 0 for u in used[r.id]),
                    "support_material_used": sum(
                        u["support_material_used"] or 0 for u in used[r.id]
                    ),
                }
            }
            for r in rows
        }


class RunActualAdditiveRules(Rules):
    """Material a printing run used: recording it draws the quantity from the batch (the
    material room's append-only action), so lot → batch → run → piece is one chain."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        actual = await ctx.session.get(RunActual, values["run_actual_id"])
        assert actual is not None  # the reference was checked
        run = await ctx.session.get(Run, actual.run_id) if actual.run_id else None
        if run is None or run.operation != Operation.printing:
            raise Invalid(
                "Material is recorded on the actuals of a printing run.",
                code="RUN_NOT_PRINTING",
                field="run_actual",
            )
        batch_id = values.get("material_batch_id")
        used = (values.get("base_material_used") or 0) + (values.get("support_material_used") or 0)
        if batch_id is not None and used > 0:
            from threadline.mes.material import service as material

            values["consumption_action_id"] = await material.consume_for_run(
                ctx, batch_id, used, run_uri=ctx.uri("run", run.id), printer_id=run.printer_id
            )


class TimeEntryRules(Rules):
    """Time is logged against a run of the bureau; it ends after it starts."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        values["created_by_id"] = ctx.user.id
        try:
            related = uuid.UUID(str(values["related_uuid"]))
        except ValueError:
            raise Invalid(
                "The value of related_uuid must be a uuid.",
                code="INVALID_FIELD",
                field="related_uuid",
            ) from None
        values["related_uuid"] = related
        if values["related_table_name"] == "run":
            run = await ctx.session.get(Run, related)
            if run is None or run.workspace_id != values["workspace_id"]:
                raise NotFound(
                    "The requested run cannot be found.",
                    code="RESOURCE_NOT_FOUND",
                    field="related_uuid",
                )
        self._check_times(values.get("start_time"), values.get("end_time"))

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        values.pop("related_uuid", None)
        values.pop("related_table_name", None)
        self._check_times(
            values.get("start_time", row.start_time), values.get("end_time", row.end_time)
        )
        if values.get("end_time") is not None and row.end_time is None:
            values["completed_by_id"] = ctx.user.id

    @staticmethod
    def _check_times(start: Any, end: Any) -> None:
        if start is not None and end is not None and end < start:
            raise Invalid(
                "The end_time must not be before start_time.",
                code="INVALID_FIELD",
                field="end_time",
            )


class ShipmentRules(Rules):
    """A shipment is made with its shipping run; its generated name stays."""

    async def before_update(self, ctx: MesContext, row: Any, values: Values, links: Links) -> None:
        if (
            "name" in values
            and values["name"] != row.name
            and (row.name or "").startswith("Shipment ")
        ):
            raise Invalid(
                "Auto-generated shipment names cannot be renamed.", code="SHIPMENT_NAME_FIXED"
            )


class CreateRunsRules(Rules):
    """``/create-runs/``: the request is checked and stored; a durable job plans it
    (threadline/mes/floor/planner.py)."""

    async def before_create(self, ctx: MesContext, values: Values, links: Links) -> None:
        from threadline.mes.floor import planner

        await planner.prepare(ctx, values)

    async def after_create(self, ctx: MesContext, row: Any, links: Links) -> None:
        from threadline.mes.floor import planner

        planner.enqueue(ctx, row)

    async def computed(self, ctx: MesContext, rows: Sequence[Any]) -> dict[uuid.UUID, Values]:
        return {
            r.id: {
                "primary_workstation": ctx.uri(
                    r.primary_workstation_kind, r.primary_workstation_id
                ),
                "pieces": [ctx.uri("piece", p) for p in r.pieces or []],
                "resulting_runs": [ctx.uri("run", p) for p in r.resulting_runs or []],
                "unfitted_pieces": [ctx.uri("piece", p) for p in r.unfitted_pieces or []],
            }
            for r in rows
        }
