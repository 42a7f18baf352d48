"""MES floor benchmark: ``python -m bench.mes_floor --database sqlite|postgresql --json``.

Through the HTTP API (in process), the figures issue 11 names:

- one run of ``--pieces`` prints (one order, a print → post-process → ship workflow): its POST,
  its start (run and piece actuals) and its completion (every print, piece, line item and order
  moved on, audited), beside the floor — the plain SELECT of the same print and piece rows;
- in a database of ``--background-pieces`` more pieces: the trace of one piece, and the recall
  of a lot consumed by a run of ``--recall-pieces`` prints (every piece it reached);
- the assisted planner: ``--plan-pieces`` confirmed pieces with measured models, one
  ``/create-runs/`` per printer over ``--printers`` printers, worked by the durable jobs, end
  to end (POSTs and jobs); and the packer alone on ``--plan-pieces`` random boxes.

``--pieces 50 --background-pieces 1000 --recall-pieces 100 --plan-pieces 100`` is a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from typing import Any

from sqlalchemy import func, select

from bench.common import Bench, bench_app, machine, timed
from bench.mes import _post
from threadline.db import create_sessionmaker
from threadline.jobs import service as jobs
from threadline.mes.demand.models import Piece, Print
from threadline.mes.files.models import Model
from threadline.mes.floor import packing
from threadline.mes.floor.models import CreateRuns, Run
from threadline.perf import gc_paused


async def _shop(b: Bench, *, printers: int = 1) -> dict[str, Any]:
    """A location, ``printers`` printers of one type, a post-processor type, a shipping and
    their workflow (each call its own, named apart)."""
    tag = uuid.uuid4().hex[:6]
    location = await _post(b, "location", {"name": f"Bench HQ {tag}", "address": "x"})
    printer_type = await _post(
        b,
        "printer-type",
        {"name": f"Bench SLS {tag}", "build_volume": {"x": 340, "y": 340, "z": 600}},
    )
    machines = [
        await _post(
            b,
            "printer",
            {"name": f"P{n} {tag}", "printer_type": printer_type, "location": location},
        )
        for n in range(1, printers + 1)
    ]
    pp_type = await _post(b, "post-processor-type", {"name": f"Blast {tag}", "duration": 600})
    shipping = await _post(b, "shipping", {"name": f"UPS {tag}", "region": "europe"})
    steps = [
        await _post(
            b, "process-step", {"name": f"Print {tag}", "workstation_type_uri": printer_type}
        ),
        await _post(b, "process-step", {"name": f"Blast {tag}", "workstation_type_uri": pp_type}),
        await _post(
            b,
            "process-step",
            {
                "name": f"Ship {tag}",
                "workstation_type_uri": shipping,
                "shipping_direction": "bureau_to_customer",
            },
        ),
    ]
    flow = await _post(b, "workflow", {"name": f"Bench flow {tag}", "process_steps": steps})
    return {"printer": machines[0], "printers": machines, "workflow": flow, "steps": steps}


async def _order(b: Bench, shop: dict[str, Any], pieces: int) -> tuple[uuid.UUID, list[str]]:
    per_item = max(1, pieces // 10)
    items = [
        {
            "quantity": per_item,
            "no_model_upload": True,
            "name": f"part {n}",
            "workflow": shop["workflow"],
        }
        for n in range(pieces // per_item)
    ]
    order = await _post(b, "order", {"name": "bench", "line_items": items})
    response = await b.client.put(order, json={"status": "confirmed"})
    assert response.status_code == 204, response.text
    order_id = uuid.UUID(order.rstrip("/").rsplit("/", 1)[1])
    sessionmaker = create_sessionmaker(b.engine)
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Print.id)
            .join(Piece, Piece.id == Print.piece_id)
            .where(Piece.order_id == order_id, Print.process_step_position == 1)
        )
        return order_id, [f"/mes/print/{p}/" for p in rows]


async def _order_of(b: Bench, shop: dict[str, Any], items: int, quantity: int) -> None:
    body = [
        {
            "quantity": quantity,
            "no_model_upload": True,
            "name": f"bg {n}",
            "workflow": shop["workflow"],
        }
        for n in range(items)
    ]
    await _post(b, "order", {"name": "background", "line_items": body})


async def _put(b: Bench, uri: str, body: dict[str, Any]) -> None:
    response = await b.client.put(uri, json=body)
    assert response.status_code == 204, response.text


async def _run_case(b: Bench, shop: dict[str, Any], pieces: int) -> dict[str, Any]:
    """POST, start and complete one run of ``pieces`` prints, and the floor SELECT."""
    order_id, prints = await _order(b, shop, pieces)
    start = time.perf_counter()
    run_uri = await _post(b, "run", {"prints": prints, "printer": shop["printer"]})
    post_s = time.perf_counter() - start
    start_s, _ = await timed(lambda: _put(b, run_uri, {"status": "in-progress"}))
    complete_s, _ = await timed(lambda: _put(b, run_uri, {"status": "complete"}))
    async with create_sessionmaker(b.engine)() as session:

        async def floor() -> int:
            connection = await session.connection()
            stmt = (
                select(Print.__table__, Piece.__table__)
                .join(Piece.__table__, Piece.__table__.c.id == Print.__table__.c.piece_id)
                .where(Piece.__table__.c.order_id == order_id)
            )
            return len((await connection.execute(stmt)).all())

        with gc_paused():
            floor_s, rows = await timed(floor, repeat=5)
        piece_id = await session.scalar(select(Piece.id).where(Piece.order_id == order_id).limit(1))
    return {
        "run_prints": len(prints),
        "run_post_s": round(post_s, 4),
        "run_start_s": round(start_s, 4),
        "run_complete_s": round(complete_s, 4),
        "floor_select_s": round(floor_s, 4),
        "floor_rows": rows,
        "complete_vs_floor": round(complete_s / floor_s, 1) if floor_s else None,
        "_piece": piece_id,
    }


async def _consumed_lot(b: Bench, shop: dict[str, Any], pieces: int) -> str:
    """A lot whose batch a printing run of ``pieces`` prints consumed: its id."""
    _, prints = await _order(b, shop, pieces)
    run_uri = await _post(b, "run", {"prints": prints, "printer": shop["printer"]})
    await _put(b, run_uri, {"status": "in-progress"})
    material = await _post(b, "material", {"name": "PA12", "type": "base"})
    lot = await _post(
        b,
        "material-lot",
        {"material": material, "number_of_containers": 10, "size_of_container": 1000.0},
    )
    batch = (await b.client.get(lot)).json()["initial_batches"][0]
    actual = (await b.client.get("/mes/run-actuals/", params={"filter[run]": run_uri})).json()
    await _post(
        b,
        "run-actuals-additive",
        {
            "run_actual": actual["resources"][0]["uri"],
            "material_batch": batch,
            "base_material_used": 500.0,
        },
    )
    await _put(b, run_uri, {"status": "complete"})
    return lot.rstrip("/").rsplit("/", 1)[1]


async def _trace_case(
    b: Bench, shop: dict[str, Any], piece_id: uuid.UUID, background: int, recall: int
) -> dict[str, Any]:
    """The trace of a piece and the recall of a lot in a database of ``background`` pieces."""
    lot_id = await _consumed_lot(b, shop, recall)
    per_item = 1000
    for start_at in range(0, background, 100 * per_item):
        n = min(100, (background - start_at) // per_item)
        if n:
            await _order_of(b, shop, n, per_item)
    async with create_sessionmaker(b.engine)() as session:
        total = await session.scalar(select(func.count()).select_from(Piece))
    trace_s, answer = await timed(lambda: b.client.get(f"/v1/trace/pieces/{piece_id}"), repeat=5)
    assert answer.status_code == 200, answer.text
    recall_s, answer = await timed(
        lambda: b.client.get(f"/v1/trace/material-lots/{lot_id}"), repeat=3
    )
    assert answer.status_code == 200, answer.text
    return {
        "database_pieces": total,
        "trace_piece_s": round(trace_s, 4),
        "recall_pieces": len(answer.json()["pieces"]),
        "recall_lot_s": round(recall_s, 4),
    }


async def _plan_case(b: Bench, pieces: int, printers: int) -> dict[str, Any]:
    """``pieces`` confirmed pieces of measured models, planned by one ``/create-runs/`` per
    printer (an equal share each), every job worked: end to end, and what it made."""
    shop = await _shop(b, printers=printers)
    sessionmaker = create_sessionmaker(b.engine)
    # Models of 20-60 mm cubes; measuring their geometry is the files room's job (its tests), so
    # the measured sizes are written directly here.
    edges = [20.0, 30.0, 40.0, 60.0]
    models = [await _post(b, "model", {"name": f"cube{e:g}.stl"}) for e in edges]
    async with sessionmaker() as session, session.begin():
        for uri, edge in zip(models, edges, strict=True):
            model = await session.get(Model, uuid.UUID(uri.rstrip("/").rsplit("/", 1)[1]))
            assert model is not None
            model.size = {"x": edge, "y": edge, "z": edge}
    per_item = max(1, pieces // 20)
    items = [
        {
            "quantity": per_item,
            "model": models[n % len(models)],
            "name": f"plan part {n}",
            "workflow": shop["workflow"],
        }
        for n in range(pieces // per_item)
    ]
    order = await _post(b, "order", {"name": "planned", "line_items": items})
    await _put(b, order, {"status": "confirmed"})
    order_id = uuid.UUID(order.rstrip("/").rsplit("/", 1)[1])
    async with sessionmaker() as session:
        piece_uris = [
            f"/mes/piece/{p}/"
            for p in await session.scalars(
                select(Piece.id).where(Piece.order_id == order_id).order_by(Piece.id)
            )
        ]
    share = -(-len(piece_uris) // printers)
    start = time.perf_counter()
    for n, printer in enumerate(shop["printers"]):
        await _post(
            b,
            "create-runs",
            {"pieces": piece_uris[n * share : (n + 1) * share], "primary_workstation": printer},
        )
    done = await jobs.run_pending(sessionmaker)
    plan_s = time.perf_counter() - start
    assert [j.status for j in done] == ["complete"] * printers, [j.error for j in done]
    async with sessionmaker() as session:
        made = dict(
            (
                await session.execute(
                    select(Run.operation, func.count())
                    .where(Run.planned_by_id.is_not(None))
                    .group_by(Run.operation)
                )
            ).all()
        )
        unfitted = sum(
            len(r.unfitted_pieces or []) for r in await session.scalars(select(CreateRuns))
        )
    return {
        "plan_pieces": len(piece_uris),
        "plan_printers": printers,
        "plan_s": round(plan_s, 4),
        "plan_runs": {str(op.value): n for op, n in made.items()},
        "plan_unfitted": unfitted,
    }


async def run(
    pieces: int, database: str, background: int, recall: int, plan_pieces: int, printers: int
) -> dict[str, Any]:
    async with bench_app(database) as b:
        shop = await _shop(b)
        result = await _run_case(b, shop, pieces)
        piece_id = result.pop("_piece")
        result.update(await _trace_case(b, shop, piece_id, background, recall))
        result.update(await _plan_case(b, plan_pieces, printers))

    rng = random.Random(7)
    plate = packing.Plate("rectangle", 340, 340, 600, 5)
    boxes = [
        packing.Item(str(n), rng.uniform(5, 80), rng.uniform(5, 80), rng.uniform(5, 100))
        for n in range(plan_pieces)
    ]
    start = time.perf_counter()
    packed = packing.pack(plate, boxes)
    pack_s = time.perf_counter() - start
    assert not packing.check(plate, packed, boxes)
    return {
        "database": database,
        **result,
        "pack_boxes": plan_pieces,
        "pack_plates": len(packed.plates),
        "pack_s": round(pack_s, 4),
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pieces", type=int, default=500)
    parser.add_argument("--background-pieces", type=int, default=100_000)
    parser.add_argument("--recall-pieces", type=int, default=10_000)
    parser.add_argument("--plan-pieces", type=int, default=5000)
    parser.add_argument("--printers", type=int, default=10)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = asyncio.run(
        run(
            args.pieces,
            args.database,
            args.background_pieces,
            args.recall_pieces,
            args.plan_pieces,
            args.printers,
        )
    )
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
