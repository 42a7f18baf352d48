"""MES material genealogy benchmark: ``python -m bench.mes_genealogy --database sqlite|postgresql
--json``.

Builds, through the HTTP API, a lot and a chain of ``--generations`` split-then-blend steps
(each generation a diamond: 2 actions, 2 batches, 3 edges), then bulk-inserts unrelated batches,
actions and edges until the bureau holds ``--actions`` actions, and times ``GET
/mes/material-genealogy/?target_batch=`` of the deepest batch (issue 11: 50 generations in a
bureau of 10,000 actions in <= 100 ms), median of ``--repeat`` calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text

from bench.common import Bench, bench_app, machine, timed
from threadline.db import create_sessionmaker, insert_rows
from threadline.mes.material.models import (
    MaterialBatch,
    MaterialBatchAction,
    MaterialBatchLinking,
)


async def _post(b: Bench, kind: str, body: dict[str, Any]) -> str:
    response = await b.client.post(f"/mes/{kind}/", json=body)
    if response.status_code != 204:
        raise RuntimeError(f"POST /mes/{kind}/: {response.status_code} {response.text}")
    return str(response.headers["location"])


def _id(uri: str) -> uuid.UUID:
    return uuid.UUID(uri.rstrip("/").rsplit("/", 1)[1])


async def _filler(b: Bench, workspace_id: uuid.UUID, material_id: uuid.UUID, count: int) -> None:
    """``count`` more actions: chains of splits of unrelated batches (one edge per action)."""
    now = datetime.now(UTC)
    batches: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    previous: uuid.UUID | None = None
    n = -1
    while len(actions) < count:
        n += 1
        batch_id = uuid.uuid4()
        batches.append({"id": batch_id, "workspace_id": workspace_id, "material_id": material_id,
                        "material_lot_ids": [], "quantity": 1.0, "created_at": now,
                        "updated_at": now})  # fmt: skip
        if previous is not None and n % 50:
            action_id = uuid.uuid4()
            actions.append({"id": action_id, "workspace_id": workspace_id,
                            "action_type": "split_batch", "source_batch_id": previous,
                            "destination_batch_id": batch_id, "quantity": 1.0, "metadata": {},
                            "created_at": now, "updated_at": now})  # fmt: skip
            edges.append({"id": uuid.uuid4(), "workspace_id": workspace_id,
                          "action_id": action_id, "source_batch_id": previous,
                          "destination_batch_id": batch_id, "quantity": 1.0, "containers": [],
                          "created_at": now, "updated_at": now})  # fmt: skip
        previous = batch_id
    sessionmaker = create_sessionmaker(b.engine)
    async with sessionmaker() as session, session.begin():
        for model, rows in (
            (MaterialBatch, batches),
            (MaterialBatchAction, actions),
            (MaterialBatchLinking, edges),
        ):
            for start in range(0, len(rows), 2000):
                await insert_rows(session, model, rows[start : start + 2000])
    if b.database == "postgresql":
        async with b.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("mes_material_batches", "mes_material_batch_actions",
                          "mes_material_batch_linkings"):  # fmt: skip
                await connection.execute(text(f"VACUUM ANALYZE {table}"))


async def run(generations: int, actions: int, repeat: int, database: str) -> dict[str, Any]:
    async with bench_app(database) as b:
        material = await _post(b, "material", {"name": "PA12", "type": "base"})
        lot = await _post(
            b,
            "material-lot",
            {"material": material, "number_of_containers": 10, "size_of_container": 1000},
        )
        current = (await b.client.get(lot)).json()["initial_batches"][0]
        for _ in range(generations):
            split = {"action_type": "split_batch", "source_batch": current, "quantity": 1}
            part = await _post(b, "material-batch-action", split)
            blend = {"action_type": "blend_batches", "source_batch": current,
                     "metadata": {"batches": [part]}}  # fmt: skip
            current = await _post(b, "material-batch-action", blend)
        sessionmaker = create_sessionmaker(b.engine)
        async with sessionmaker() as session:
            row = await session.get(MaterialBatch, _id(current))
            assert row is not None
            workspace_id, material_id = row.workspace_id, row.material_id
            have = await session.scalar(select(func.count()).select_from(MaterialBatchAction))
        await _filler(b, workspace_id, material_id, max(0, actions - (have or 0)))
        async with sessionmaker() as session:
            total = await session.scalar(select(func.count()).select_from(MaterialBatchAction))

        async def genealogy() -> dict[str, Any]:
            response = await b.client.get(
                "/mes/material-genealogy/", params={"target_batch": current}
            )
            if response.status_code != 200:
                raise RuntimeError(response.text)
            return dict(response.json())

        await genealogy()  # warm
        seconds, tree = await timed(genealogy, repeat=repeat)
        return {
            "database": database,
            "generations": generations,
            "actions_in_bureau": total,
            "genealogy_batches": len(tree["batches"]),
            "genealogy_s": round(seconds, 4),
            "machine": machine(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--generations", type=int, default=50)
    parser.add_argument("--actions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = asyncio.run(run(args.generations, args.actions, args.repeat, args.database))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
