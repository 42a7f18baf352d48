"""The digital thread of the floor, native (``/v1/trace/...``, camelCase like the native API):

- ``GET /v1/trace/pieces/{id}``: one piece back to everything it came from — its order and line
  item, the part revision it builds and that revision's CAD files, the BOM revision it was built
  to with every line of its tree, the model and the vault file version it was made from, and per
  step the run, the machine, the operator, the times, the material batches the run consumed with
  the lots they descend from, and the work instruction reports recorded on the step's print.
- ``GET /v1/trace/material-lots/{id}``: one lot forward to every piece made from it — the
  batches descending from the lot, the printing runs that consumed them, their pieces and
  orders.

Each answer is a fixed number of queries whatever the piece's history or the lot's reach (the
lot's descendants are one recursive query of the material room).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth.deps import Ctx
from threadline.auth.models import User
from threadline.catalog.models import Part, PartVersion, PartVersionFile
from threadline.db import iso
from threadline.errors import NotFound
from threadline.mes.demand.models import LineItem, Order, Piece, Print
from threadline.mes.files.models import DesignFile, Model
from threadline.mes.floor.models import PieceActual, Run, RunActual, RunActualAdditive
from threadline.mes.floor.trace_records import bom_built_to, reports_by_print
from threadline.mes.floor.workstations import MACHINE_KIND, run_machine
from threadline.mes.material.models import MaterialBatch, MaterialLot
from threadline.mes.process.models import ProcessStep
from threadline.mes.shop.models import Material, PostProcessor, Printer, Shipping
from threadline.vault.models import FileVersion, VaultFile

router = APIRouter(prefix="/v1/trace", tags=["trace"])


def _id(value: Any) -> str | None:
    return str(value) if value is not None else None


async def _file_versions(
    session: AsyncSession, ids: set[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    if not ids:
        return {}
    rows = await session.execute(
        select(FileVersion, VaultFile)
        .join(VaultFile, VaultFile.id == FileVersion.file_id)
        .where(FileVersion.id.in_(ids))
    )
    return {
        version.id: {
            "fileId": str(file.id),
            "versionId": str(version.id),
            "name": file.name,
            "version": version.number,
            "sha256": version.sha256,
        }
        for version, file in rows
    }


async def _machines(session: AsyncSession, runs: list[Run]) -> dict[uuid.UUID, str | None]:
    """The name of each run's workstation: one query whatever the kinds."""
    ids = {m for r in runs for m in (r.printer_id, r.post_processor_id, r.shipping_id) if m}
    stmt: Any = union_all(
        select(Printer.id, Printer.name).where(Printer.id.in_(ids)),
        select(PostProcessor.id, PostProcessor.name).where(PostProcessor.id.in_(ids)),
        select(Shipping.id, Shipping.name).where(Shipping.id.in_(ids)),
    )
    return {row_id: name for row_id, name in (await session.execute(stmt)).all()}


async def _lots(session: AsyncSession, lot_ids: set[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    if not lot_ids:
        return {}
    rows = await session.execute(
        select(MaterialLot, Material.name)
        .join(Material, Material.id == MaterialLot.material_id)
        .where(MaterialLot.id.in_(lot_ids))
    )
    return {
        lot.id: {
            "id": str(lot.id),
            "name": lot.name,
            "deliveryId": lot.delivery_id,
            "material": str(lot.material_id),
            "materialName": material_name,
            "status": str(lot.status),
        }
        for lot, material_name in rows
    }


async def piece_trace(session: AsyncSession, piece: Piece) -> dict[str, Any]:
    item = await session.get(LineItem, piece.line_item_id)
    assert item is not None  # a piece's line item cascades it
    order = await session.get(Order, item.order_id) if item.order_id else None
    part: dict[str, Any] | None = None
    bom: dict[str, Any] | None = None
    file_version_ids: set[uuid.UUID] = set()
    attached: list[uuid.UUID] = []
    if item.part_version_id is not None:
        row = (
            await session.execute(
                select(PartVersion, Part)
                .join(Part, Part.id == PartVersion.part_id)
                .where(PartVersion.id == item.part_version_id)
            )
        ).first()
        if row is not None:
            version, part_row = row
            part = {
                "partId": str(part_row.id),
                "partNumber": part_row.part_number,
                "name": part_row.name,
                "versionId": str(version.id),
                "revision": version.revision,
                "status": str(version.status),
            }
            attached = list(
                await session.scalars(
                    select(PartVersionFile.file_version_id).where(
                        PartVersionFile.part_version_id == version.id
                    )
                )
            )
            file_version_ids.update(attached)
            bom = await bom_built_to(session, item.workspace_id, part_row.id, version.id)
    model: dict[str, Any] | None = None
    model_version: uuid.UUID | None = None
    if item.model_id is not None:
        model_row = (
            await session.execute(
                select(Model, DesignFile.vault_file_version_id)
                .outerjoin(DesignFile, DesignFile.id == Model.design_file_id)
                .where(Model.id == item.model_id)
            )
        ).first()
        if model_row is not None:
            m, model_version = model_row
            model = {"id": str(m.id), "name": m.name, "sha256": m.sha256, "size": m.size}
            if model_version is not None:
                file_version_ids.add(model_version)
    files = await _file_versions(session, file_version_ids)
    if model is not None:
        model["vaultFile"] = files.get(model_version) if model_version else None

    prints = list(
        (
            await session.scalars(
                select(Print)
                .where(Print.piece_id == piece.id)
                .order_by(Print.process_step_position)
            )
        ).all()
    )
    step_names = dict(
        (
            await session.execute(
                select(ProcessStep.id, ProcessStep.name).where(
                    ProcessStep.id.in_({p.process_step_id for p in prints if p.process_step_id})
                )
            )
        ).all()
    )
    reports = await reports_by_print(session, [p.id for p in prints])
    runs = {
        r.id: r
        for r in await session.scalars(
            select(Run).where(Run.id.in_({p.run_id for p in prints if p.run_id}))
        )
    }
    machines = await _machines(session, list(runs.values()))
    actuals: dict[uuid.UUID, list[RunActual]] = defaultdict(list)
    for a in await session.scalars(
        select(RunActual)
        .where(RunActual.run_id.in_(list(runs)))
        .order_by(RunActual.start_in_progress_time)
    ):
        if a.run_id is not None:
            actuals[a.run_id].append(a)
    used: dict[uuid.UUID, list[RunActualAdditive]] = defaultdict(list)
    for u, run_id in await session.execute(
        select(RunActualAdditive, RunActual.run_id)
        .join(RunActual, RunActual.id == RunActualAdditive.run_actual_id)
        .where(RunActual.run_id.in_(list(runs)))
    ):
        if run_id is not None:
            used[run_id].append(u)
    batches = {
        b.id: b
        for b in await session.scalars(
            select(MaterialBatch).where(
                MaterialBatch.id.in_(
                    {u.material_batch_id for us in used.values() for u in us if u.material_batch_id}
                )
            )
        )
    }
    lot_ids = {uuid.UUID(str(i)) for b in batches.values() for i in (b.material_lot_ids or [])}
    lot_ids.update(b.material_lot_id for b in batches.values() if b.material_lot_id)
    lots = await _lots(session, lot_ids)
    operators = {
        u.id: u.email
        for u in await session.scalars(
            select(User).where(
                User.id.in_({a.user_id for aa in actuals.values() for a in aa if a.user_id})
            )
        )
    }

    def batch_lots(batch: MaterialBatch) -> list[dict[str, Any]]:
        ids = [uuid.UUID(str(i)) for i in (batch.material_lot_ids or [])]
        if batch.material_lot_id and batch.material_lot_id not in ids:
            ids.insert(0, batch.material_lot_id)
        return [lots[i] for i in ids if i in lots]

    steps = []
    for p in prints:
        run = runs.get(p.run_id) if p.run_id else None
        entry: dict[str, Any] = {
            "position": p.process_step_position,
            "processStep": step_names.get(p.process_step_id) if p.process_step_id else None,
            "print": str(p.id),
            "status": str(p.status),
            "run": None,
            "reports": reports.get(p.id, []),
        }
        if run is not None:
            machine = run_machine(run)
            run_actuals = actuals.get(run.id, [])
            entry["run"] = {
                "id": str(run.id),
                "name": run.name,
                "operation": run.operation.value,
                "status": run.status.value,
                "workstation": {
                    "kind": MACHINE_KIND[run.operation],
                    "id": _id(machine),
                    "name": machines.get(machine) if machine else None,
                },
                "started": iso(run_actuals[0].start_in_progress_time) if run_actuals else None,
                "ended": iso(run_actuals[-1].end_in_progress_time) if run_actuals else None,
                "operators": sorted(
                    {operators[a.user_id] for a in run_actuals if a.user_id in operators}
                ),
                "material": [
                    {
                        "batch": _id(u.material_batch_id),
                        "baseMaterialUsed": u.base_material_used,
                        "supportMaterialUsed": u.support_material_used,
                        "lots": batch_lots(batches[u.material_batch_id])
                        if u.material_batch_id in batches
                        else [],
                    }
                    for u in used.get(run.id, [])
                ],
            }
        steps.append(entry)
    actual = await session.scalar(select(PieceActual).where(PieceActual.piece_id == piece.id))
    return {
        "piece": {
            "id": str(piece.id),
            "name": piece.name,
            "copy": piece.copy,
            "status": str(piece.status),
            "started": iso(actual.start_in_progress_time) if actual else None,
            "ended": iso(actual.end_in_progress_time) if actual else None,
            "remanufacturedTo": _id(piece.remanufactured_to_id),
        },
        "order": {"id": str(order.id), "name": order.name, "customerId": order.customer_id}
        if order
        else None,
        "lineItem": {"id": str(item.id), "name": item.name, "status": str(item.status)},
        "part": part,
        "cadFiles": [files[v] for v in attached if v in files],
        "bom": bom,
        "model": model,
        "steps": steps,
        "materialLots": sorted(lots.values(), key=lambda lot: lot["id"]),
    }


async def lot_trace(session: AsyncSession, lot: MaterialLot) -> dict[str, Any]:
    from threadline.mes.material import service as material

    batch_ids = await material.descendants_of_lot(session, lot.workspace_id, lot.id)
    consumed = (
        await session.execute(
            select(RunActualAdditive, RunActual.run_id)
            .join(RunActual, RunActual.id == RunActualAdditive.run_actual_id)
            .where(RunActualAdditive.material_batch_id.in_(batch_ids))
        )
    ).all()
    run_ids = {run_id for _, run_id in consumed if run_id}
    runs = {r.id: r for r in await session.scalars(select(Run).where(Run.id.in_(run_ids)))}
    machines = await _machines(session, list(runs.values()))
    rows = (
        await session.execute(
            select(Print.run_id, Piece, Order.name, Order.id)
            .join(Piece, Piece.id == Print.piece_id)
            .outerjoin(Order, Order.id == Piece.order_id)
            .where(Print.run_id.in_(run_ids))
            .order_by(Piece.order_id, Piece.line_item_id, Piece.copy)
        )
    ).all()
    pieces: dict[uuid.UUID, dict[str, Any]] = {}
    for run_id, piece, order_name, order_id in rows:
        entry = pieces.setdefault(
            piece.id,
            {
                "id": str(piece.id),
                "name": piece.name,
                "status": str(piece.status),
                "order": {"id": _id(order_id), "name": order_name} if order_id else None,
                "runs": [],
            },
        )
        entry["runs"].append(str(run_id))
    return {
        "lot": (await _lots(session, {lot.id})).get(lot.id),
        "batches": [str(b) for b in batch_ids],
        "runs": [
            {
                "id": str(r.id),
                "name": r.name,
                "status": r.status.value,
                "printer": {
                    "id": _id(r.printer_id),
                    "name": machines.get(r.printer_id) if r.printer_id else None,
                },
                "batches": sorted(
                    {str(u.material_batch_id) for u, run_id in consumed if run_id == r.id}
                ),
            }
            for r in sorted(runs.values(), key=lambda r: r.created_at)
        ],
        "pieces": list(pieces.values()),
    }


async def _guard(ctx: Ctx, row: Any, label: str) -> None:
    if row is None:
        raise NotFound(f"No such {label}.", code="NOT_FOUND")
    await ctx.require_role(row.workspace_id, "viewer")


@router.get("/pieces/{piece_id}")
async def trace_piece(piece_id: uuid.UUID, ctx: Ctx) -> dict[str, Any]:
    """A piece back to its lots, machines, runs, reports, part and BOM revisions, CAD files."""
    piece = await ctx.session.get(Piece, piece_id)
    await _guard(ctx, piece, "piece")
    assert piece is not None
    return await piece_trace(ctx.session, piece)


@router.get("/material-lots/{lot_id}")
async def trace_lot(lot_id: uuid.UUID, ctx: Ctx) -> dict[str, Any]:
    """A material lot forward to the batches, runs, pieces and orders made from it."""
    lot = await ctx.session.get(MaterialLot, lot_id)
    await _guard(ctx, lot, "material lot")
    assert lot is not None
    return await lot_trace(ctx.session, lot)
