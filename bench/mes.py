"""MES demand benchmark: ``python -m bench.mes --database sqlite|postgresql --json``.

Times, through the HTTP API, the POST of one order whose ``--line-items`` inline line items of
``--quantity`` each on a ``--steps``-step workflow make line-items x quantity pieces and
x steps prints (issue 10: 1,000 x 10 x 5 = 10,000 pieces and 50,000 prints in <= 2 s), then
pages of 1,000 of ``LIST /mes/piece/?filter[order]=`` over an order of ``--pieces`` pieces,
beside the floor: the plain SELECT of the same page of piece rows (the ratio must stay <= 3x),
once right after the insert and once settled (PostgreSQL vacuumed, as autovacuum soon does).
``--pieces 100`` is a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from typing import Any

from sqlalchemy import select, text

from bench.common import Bench, bench_app, machine, timed
from threadline.db import create_sessionmaker
from threadline.mes.demand.models import Order, Piece
from threadline.perf import gc_paused

PAGE = 1000


async def _post(b: Bench, kind: str, body: dict[str, Any]) -> str:
    response = await b.client.post(f"/mes/{kind}/", json=body)
    if response.status_code != 204:
        raise RuntimeError(f"POST /mes/{kind}/: {response.status_code} {response.text}")
    return str(response.headers["location"])


async def workflow(b: Bench, steps: int) -> str | None:
    """A workflow of one printing step and ``steps - 1`` post-processing steps, through the
    process room's API (None when it cannot be made: the figures then have no prints)."""
    try:
        printer_type = await _post(
            b, "printer-type", {"name": "Bench SLS", "build_volume": {"x": 300, "y": 300, "z": 300}}
        )
        uris = [
            await _post(b, "process-step", {"name": "Print", "workstation_type_uri": printer_type})
        ]
        for n in range(steps - 1):
            pp_type = await _post(
                b, "post-processor-type", {"name": f"Bench PP {n}", "duration": 60}
            )
            uris.append(
                await _post(
                    b, "process-step", {"name": f"Post {n}", "workstation_type_uri": pp_type}
                )
            )
        return await _post(b, "workflow", {"name": "Bench flow", "process_steps": uris})
    except RuntimeError as exc:
        print(f"no workflow: {exc}")
        return None


async def settle(b: Bench) -> None:
    """What autovacuum does within its naptime (a minute) after a bulk insert: on PostgreSQL,
    VACUUM ANALYZE (the visibility map lets a count read the index alone; the planner gets row
    estimates). The LIST is timed right after the insert too (``list_page_cold_s``)."""
    if b.database != "postgresql":
        return
    async with b.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("mes_pieces", "mes_prints", "mes_line_items", "mes_orders"):
            await connection.execute(text(f"VACUUM ANALYZE {table}"))


def _items(n: int, quantity: int, flow: str | None) -> list[dict[str, Any]]:
    extra = {"workflow": flow} if flow else {}
    return [
        {"name": f"part-{i:05d}", "quantity": quantity, "no_model_upload": True, **extra}
        for i in range(n)
    ]


async def run(
    line_items: int, quantity: int, steps: int, pieces: int, database: str
) -> dict[str, Any]:
    async with bench_app(database) as b:
        flow = await workflow(b, steps)
        body = {"name": "bench order", "line_items": _items(line_items, quantity, flow)}
        # the median of three POSTs of the same order (three orders, 3 x the pieces)
        order_s, response = await timed(lambda: b.client.post("/mes/order/", json=body), repeat=3)
        assert response.status_code == 204, response.text
        # the LIST order: ``pieces`` pieces over 1,000 line items (one request stays small)
        per_item = max(1, pieces // 1000)
        big = {"name": "big order", "line_items": _items(pieces // per_item, per_item, flow)}
        response = await b.client.post("/mes/order/", json=big)
        assert response.status_code == 204, response.text
        order_uri = response.headers["location"]
        order_id = uuid.UUID(order_uri.rstrip("/").rsplit("/", 1)[1])
        offset = max(0, (pieces // 2) - PAGE // 2)
        params = {"filter[order]": order_uri, "page[limit]": str(PAGE), "page[offset]": str(offset)}
        cold_s, page = await timed(lambda: b.client.get("/mes/piece/", params=params), repeat=5)
        assert page.status_code == 200, page.text
        await settle(b)
        list_s, page = await timed(lambda: b.client.get("/mes/piece/", params=params), repeat=5)
        rows = len(page.json()["resources"])
        sessionmaker = create_sessionmaker(b.engine)
        async with sessionmaker() as session:
            bureau = await session.scalar(select(Order.workspace_id).where(Order.id == order_id))

            async def floor() -> int:
                # the same WHERE as the LIST: the order, within the caller's bureaus
                connection = await session.connection()
                table = Piece.__table__
                stmt = (
                    select(table)
                    .where(table.c.workspace_id.in_([bureau]), table.c.order_id == order_id)
                    .order_by(table.c.created_at, table.c.id)
                    .limit(PAGE)
                    .offset(offset)
                )
                return len((await connection.execute(stmt)).all())

            with gc_paused():
                floor_s, count = await timed(floor, repeat=5)
        assert count == rows
    return {
        "database": database,
        "order_line_items": line_items,
        "order_pieces": line_items * quantity,
        "order_prints": line_items * quantity * (steps if flow else 0),
        "order_post_s": round(order_s, 4),
        "list_pieces_total": pieces,
        "list_page_rows": rows,
        "list_page_cold_s": round(cold_s, 4),
        "list_page_s": round(list_s, 4),
        "floor_select_s": round(floor_s, 4),
        "list_vs_floor": round(list_s / floor_s, 2) if floor_s else None,
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--line-items", type=int, default=1000)
    parser.add_argument("--quantity", type=int, default=10)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--pieces", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.pieces < 1000:  # a smoke run keeps the order small too
        args.line_items = min(args.line_items, max(1, args.pieces // 10))
    result = asyncio.run(
        run(args.line_items, args.quantity, args.steps, args.pieces, args.database)
    )
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
