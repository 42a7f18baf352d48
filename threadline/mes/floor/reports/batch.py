"""What a material batch's traceability report says: the batch's genealogy both ways
(threadline/mes/material/genealogy.py), its lots, the runs that consumed it or what it went
into with their pieces, and the audit records of the batch, of the actions on it and of its
consumption (one group, ``material_batch``: the reference gives this report no filters).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import or_, select

from threadline.mes.demand.models import Piece, Print
from threadline.mes.face import MesContext
from threadline.mes.floor.models import Run, RunActual, RunActualAdditive
from threadline.mes.floor.reports.thread import Subjects, audit_rows, events, uri
from threadline.mes.material import genealogy
from threadline.mes.material import service as material
from threadline.mes.material.models import MaterialBatch, MaterialBatchAction, MaterialLot
from threadline.mes.shop.models import Material


async def batch_report(ctx: MesContext, batch: MaterialBatch) -> dict[str, Any]:
    """The batch's genealogy both ways, its lots, the runs that consumed it or what it went
    into and their pieces, and the records of the batch and of the actions on it."""
    session = ctx.session
    tree = await genealogy.genealogy(ctx, {"target_batch": str(batch.id)})
    descendants = {batch.id}
    for direction, _source, destination, *_rest in await material.genealogy_edges(
        session, batch.workspace_id, batch.id
    ):
        if direction == "child":
            descendants.add(destination)
    consumed = (
        await session.execute(
            select(RunActualAdditive, RunActual.run_id)
            .join(RunActual, RunActual.id == RunActualAdditive.run_actual_id)
            .where(RunActualAdditive.material_batch_id.in_(descendants))
            .order_by(RunActualAdditive.created_at, RunActualAdditive.id)
        )
    ).all()
    run_ids = {run_id for _, run_id in consumed if run_id}
    runs = {r.id: r for r in await session.scalars(select(Run).where(Run.id.in_(run_ids)))}
    pieces: dict[uuid.UUID | None, list[dict[str, Any]]] = defaultdict(list)
    for run_id, piece_id, name, status in await session.execute(
        select(Print.run_id, Piece.id, Piece.name, Piece.status)
        .join(Piece, Piece.id == Print.piece_id)
        .where(Print.run_id.in_(run_ids))
        .order_by(Piece.line_item_id, Piece.copy)
    ):
        pieces[run_id].append(
            {"piece": uri("piece", piece_id), "name": name, "status": str(status)}
        )
    consumption = []
    for used, run_id in consumed:
        run = runs.get(run_id) if run_id else None
        consumption.append(
            {
                "material_batch": uri("material-batch", used.material_batch_id),
                "run": uri("run", run_id) if run_id else None,
                "run_name": run.name if run else None,
                "run_status": run.status.value if run else None,
                "base_material_used": used.base_material_used,
                "support_material_used": used.support_material_used,
                "pieces": pieces.get(run_id, []) if run_id else [],
            }
        )
    lot_ids = {uuid.UUID(str(i)) for i in (batch.material_lot_ids or [])}
    lot_ids.update(i for i in (batch.material_lot_id,) if i)
    lots = [
        {
            "material_lot": uri("material-lot", lot.id),
            "name": lot.name,
            "delivery_id": lot.delivery_id,
            "material": uri("material", lot.material_id),
            "material_name": material_name,
            "status": str(lot.status),
        }
        for lot, material_name in await session.execute(
            select(MaterialLot, Material.name)
            .join(Material, Material.id == MaterialLot.material_id)
            .where(MaterialLot.id.in_(lot_ids))
            .order_by(MaterialLot.created_at, MaterialLot.id)
        )
    ]
    subjects = Subjects()
    subjects.add("material-batch", [batch.id], "material_batch", "material batch")
    subjects.add(
        "material-batch-action",
        await session.scalars(
            select(MaterialBatchAction.id).where(
                or_(
                    MaterialBatchAction.source_batch_id == batch.id,
                    MaterialBatchAction.destination_batch_id == batch.id,
                )
            )
        ),
        "material_batch",
        "material batch action",
    )
    subjects.add(
        "run-actuals-additive",
        [u.id for u, _ in consumed if u.material_batch_id == batch.id],
        "material_batch",
        "material consumed",
    )
    rows = await audit_rows(session, batch.workspace_id, list(subjects.groups))
    return {
        "genealogy": tree,
        "material_lots": lots,
        "consumption": consumption,
        "events": events(rows, subjects, {"material_batch"}),
    }
