"""MES floor benchmark: ``python -m bench.mes_floor --database sqlite|postgresql --json``.

Through the HTTP API, for one run of ``--pieces`` prints (one order, a print → post-process →
ship workflow): the POST of the run, its start (run and piece actuals) and its completion
(every print, piece, line item and order moved on), beside the floor — the plain SELECT of
the same print and piece rows. Then, in a database of ``--background-pieces`` more pieces,
the trace of one piece and the recall of the lot the run consumed (reaching all its
pieces). Then the assisted planner (``/create-runs/``) over ``--pieces`` fresh pieces, worked
by its durable job, and the packer alone on ``--pieces`` random boxes. ``--pieces 50`` is a
smoke run.
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
from threadline.mes.floor import packing
from threadline.perf import gc_paused


async def _shop(b: Bench) -> dict[str, Any]:
    location = await _post(b, "location", {"name": "Bench HQ", "address": "x"})
    printer_type = await _post(
        b, "printer-type", {"name": "Bench SLS", "build_volume": {"x": 340, "y": 340, "z": 600}}
    )
    printer = await _post(
        b, "printer", {"name": "P1", "printer_type": printer_type, "location": location}
    )
    pp_type = await _post(b, "post-processor-type", {"name": "Blast", "duration": 600})
    shipping = await _post(b, "shipping", {"name": "UPS", "region": "europe"})
    steps = [
        await _post(b, "process-step", {"name": "Print", "workstation_type_uri": printer_type}),
        await _post(b, "process-step", {"name": "Blast", "workstation_type_uri": pp_type}),
        await _post(
            b,
            "process-step",
            {
                "name": "Ship",
                "workstation_type_uri": shipping,
                "shipping_direction": "bureau_to_customer",
            },
        ),
    ]
    flow = await _post(b, "workflow", {"name": "Bench flow", "process_steps": steps})
    return {"printer": printer, "workflow": flow, "steps": steps}


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


async def run(pieces: int, database: str, background: int) -> dict[str, Any]:
    async with bench_app(database) as b:
        shop = await _shop(b)
        order_id, prints = await _order(b, shop, pieces)
        start = time.perf_counter()
        run_uri = await _post(b, "run", {"prints": prints, "printer": shop["printer"]})
        post_s = time.perf_counter() - start
        start_s, _ = await timed(lambda: _put(b, run_uri, {"status": "in-progress"}))
        # the run consumed a batch of a lot: the recall below reaches every piece of it
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
        complete_s, _ = await timed(lambda: _put(b, run_uri, {"status": "complete"}))
        # a database of ``background`` more pieces, then the trace both ways
        per_item = 1000
        for start_at in range(0, background, 100 * per_item):
            n = min(100, (background - start_at) // per_item)
            if n:
                await _order_of(b, shop, n, per_item)
        async with create_sessionmaker(b.engine)() as session:
            piece_id = await session.scalar(
                select(Piece.id).where(Piece.order_id == order_id).limit(1)
            )
            total = await session.scalar(select(func.count()).select_from(Piece))
        lot_id = lot.rstrip("/").rsplit("/", 1)[1]
        trace_s, answer = await timed(
            lambda: b.client.get(f"/v1/trace/pieces/{piece_id}"), repeat=5
        )
        assert answer.status_code == 200, answer.text
        recall_s, answer = await timed(
            lambda: b.client.get(f"/v1/trace/material-lots/{lot_id}"), repeat=3
        )
        assert answer.status_code == 200, answer.text
        recalled = len(answer.json()["pieces"])

        sessionmaker = create_sessionmaker(b.engine)
        async with sessionmaker() as session:

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

        # the planner over fresh pieces, worked by its job
        planned_order, _ = await _order(b, shop, pieces)
        async with sessionmaker() as session:
            piece_uris = [
                f"/mes/piece/{p}/"
                for p in await session.scalars(
                    select(Piece.id).where(Piece.order_id == planned_order)
                )
            ]
        await _post(
            b,
            "create-runs",
            {
                "pieces": piece_uris,
                "primary_workstation": shop["printer"],
                "do_build_volume_check": False,
            },
        )
        start = time.perf_counter()
        done = await jobs.run_pending(sessionmaker)
        plan_s = time.perf_counter() - start
        assert [j.status for j in done] == ["complete"], [j.error for j in done]

    rng = random.Random(7)
    plate = packing.Plate("rectangle", 340, 340, 600, 5)
    boxes = [
        packing.Item(str(n), rng.uniform(5, 80), rng.uniform(5, 80), rng.uniform(5, 100))
        for n in range(pieces)
    ]
    start = time.perf_counter()
    packed = packing.pack(plate, boxes)
    pack_s = time.perf_counter() - start
    assert not packing.check(plate, packed, boxes)
    return {
        "database": database,
        "run_prints": len(prints),
        "run_post_s": round(post_s, 4),
        "run_start_s": round(start_s, 4),
        "run_complete_s": round(complete_s, 4),
        "floor_select_s": round(floor_s, 4),
        "floor_rows": rows,
        "complete_vs_floor": round(complete_s / floor_s, 1) if floor_s else None,
        "database_pieces": total,
        "trace_piece_s": round(trace_s, 4),
        "recall_pieces": recalled,
        "recall_lot_s": round(recall_s, 4),
        "create_runs_pieces": len(piece_uris),
        "create_runs_job_s": round(plan_s, 4),
        "pack_boxes": pieces,
        "pack_plates": len(packed.plates),
        "pack_s": round(pack_s, 4),
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pieces", type=int, default=1000)
    parser.add_argument("--background-pieces", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = asyncio.run(run(args.pieces, args.database, args.background_pieces))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
