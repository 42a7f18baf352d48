"""Benchmarks of the reference faces, as named cases:
``python -m bench.faces --json [--case production_bom] [--database sqlite|postgresql]``.

``production_bom`` (issue 12: <= 100 ms): a production BOM of ``--entries`` entries whose jobs
hold ``--serials`` serials (``--entries`` jobs made through ``POST /api/jobs``, each entry fed
by ``--jobs-per-entry`` of them; a third of the serials completed, a third in progress), then
times ``GET /api/bom/:id`` — entries plus each entry's summary counted from the serials at
request time — beside two floors measured on the same connection: the plain SELECT of the
entries with their job ids (the rows the answer shows), and the summary's one aggregate
statement alone. Timed right after the writes and once settled (PostgreSQL vacuumed, as
autovacuum soon does). ``--serials 1000`` is a smoke run.

Other faces add their case to ``CASES``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select, text, update

from bench.common import Bench, bench_app, machine, timed
from threadline.db import create_sessionmaker
from threadline.mes.demand.models import Piece, PieceStatus
from threadline.mes.production.models import ProductionBomEntry, ProductionBomEntryJob
from threadline.mes.production.service import summary_statement
from threadline.perf import gc_paused


async def settle(b: Bench, tables: tuple[str, ...]) -> None:
    """VACUUM ANALYZE on PostgreSQL: what autovacuum does within a minute of a bulk write."""
    if b.database != "postgresql":
        return
    async with b.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in tables:
            await connection.execute(text(f"VACUUM ANALYZE {table}"))


async def production_bom(b: Bench, args: argparse.Namespace) -> dict[str, Any]:
    entries, serials, per_entry = args.entries, args.serials, args.jobs_per_entry
    per_job = max(1, serials // entries)
    jobs = []
    for i in range(entries):
        response = await b.client.post(
            "/api/jobs", json={"name": f"job-{i:04d}", "quantity": per_job, "partType": f"P{i}"}
        )
        assert response.status_code == 201, response.text
        jobs.append(response.json()["id"])
    # Serial progress, written in bulk (100,000 PATCHes would time the seeding, not the read).
    sessionmaker = create_sessionmaker(b.engine)
    async with sessionmaker() as session, session.begin():
        for remainder, status in ((0, PieceStatus.complete), (1, PieceStatus.printing)):
            await session.execute(
                update(Piece)
                .where(Piece.serial_number.is_not(None), Piece.copy % 3 == remainder)
                .values(status=status)
                .execution_options(synchronize_session=False)
            )
    body = {
        "name": "bench build",
        "entries": [
            {
                "partType": f"P{i}",
                "requiredQuantityPerBuild": per_job,
                "contributingJobIds": [jobs[(i + k) % entries] for k in range(per_entry)],
            }
            for i in range(entries)
        ],
    }
    response = await b.client.post("/api/bom", json=body)
    assert response.status_code == 201, response.text
    bom_id = response.json()["id"]
    url = f"/api/bom/{bom_id}"
    cold_s, got = await timed(lambda: b.client.get(url), repeat=5)
    assert got.status_code == 200, got.text
    await settle(
        b, ("mes_pieces", "production_bom_entries", "production_bom_entry_jobs", "production_boms")
    )
    get_s, got = await timed(lambda: b.client.get(url), repeat=11)
    shown = got.json()
    completed = sum(e["summary"]["totalCompleted"] for e in shown["entries"])
    bom = uuid.UUID(bom_id)
    async with sessionmaker() as session:
        connection = await session.connection()

        async def entry_rows() -> int:
            e, j = ProductionBomEntry, ProductionBomEntryJob
            rows = await connection.execute(
                select(e.id, e.part_type, e.required_quantity, e.part_id).where(e.bom_id == bom)
            )
            links = await connection.execute(
                select(j.entry_id, j.line_item_id).where(j.bom_id == bom)
            )
            links.all()
            return len(rows.all())

        async def aggregate() -> int:
            return len((await connection.execute(summary_statement(bom))).all())

        with gc_paused():
            floor_s, count = await timed(entry_rows, repeat=11)
            aggregate_s, _groups = await timed(aggregate, repeat=11)
    assert count == entries
    return {
        "entries": entries,
        "jobs": entries,
        "jobs_per_entry": per_entry,
        "serials": per_job * entries,
        "serials_counted": sum(
            e["summary"]["totalCompleted"] + e["summary"]["totalInProgress"]
            for e in shown["entries"]
        ),
        "completed_counted": completed,
        "get_bom_cold_s": round(cold_s, 4),
        "get_bom_s": round(get_s, 4),
        "target_s": 0.1,
        "floor_select_s": round(floor_s, 4),
        "aggregate_alone_s": round(aggregate_s, 4),
        "get_vs_floor_plus_aggregate": round(get_s / (floor_s + aggregate_s), 2),
    }


Case = Callable[[Bench, argparse.Namespace], Awaitable[dict[str, Any]]]
CASES: dict[str, Case] = {"production_bom": production_bom}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in args.case or list(CASES):
        async with bench_app(args.database) as b:  # a fresh database per case
            results[name] = await CASES[name](b, args)
    return {"database": args.database, "cases": results, "machine": machine()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="repeatable")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--serials", type=int, default=100_000)
    parser.add_argument("--jobs-per-entry", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
