"""BOM benchmark: ``python -m bench.bom --lines 100000 --database sqlite|postgresql --json``.

Generates a synthetic BOM of N lines over 10 levels (about N/5 distinct parts, a disjoint pool per
level so there are no cycles), imports it through the HTTP API, then times through the API: the
full explosion (tree GET), where-used of a leaf, the cost rollup and the diff of two revisions
that differ in 1% of lines. The floor is one plain SELECT of all the BOM's item rows.

``--linked-boms B`` spreads the N lines over B BOMs instead, linked through their sub-assembly
lines (each BOM's assembly is a top line of the BOM above it, ten sub-assemblies per BOM, so the
tree of the top BOM reaches every BOM once and shows all N lines), and times the explosion, the
rollup and where-used of a leaf of the deepest BOM against the plain SELECT of the same N rows.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import random
import time
import uuid
from typing import Any

from sqlalchemy import select

from bench.common import Bench, bench_app, machine, timed
from threadline.boms.models import BomItem
from threadline.catalog.models import Part
from threadline.db import create_sessionmaker
from threadline.perf import gc_paused

LEVELS = 10


def generate(
    lines: int,
    *,
    seed: int = 7,
    change: float = 0.0,
    prefix: str = "",
    top_lines: tuple[str, ...] = (),
) -> tuple[bytes, list[list[str]]]:
    """A level-column CSV (the hierarchical export's format) and the leaf parts' numbers;
    part numbers start with ``prefix``; ``top_lines`` are part numbers added as top lines
    (quantity 1) before the generated ones, which then number ``lines - len(top_lines)``."""
    lines -= len(top_lines)
    rng = random.Random(seed)
    weights = [1.6**level for level in range(LEVELS)]
    sizes = [max(1, round(lines * w / sum(weights))) for w in weights]
    sizes[-1] += lines - sum(sizes)
    parts_total = max(LEVELS, lines // 5)
    pools = [
        [f"{prefix}L{level + 1}-{n:06d}" for n in range(max(1, round(parts_total * size / lines)))]
        for level, size in enumerate(sizes)
    ]
    # parent index (in the level above) of every line, then a depth-first order
    children: list[list[list[int]]] = [[[] for _ in range(size)] for size in sizes]
    for level in range(1, LEVELS):
        for index in range(sizes[level]):
            children[level - 1][rng.randrange(sizes[level - 1])].append(index)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["level", "part_number", "qty", "uom", "refdes", "notes"])
    for number in top_lines:
        writer.writerow([1, number, 1, "each", "", ""])
    rows = 0
    stack = [(0, i) for i in reversed(range(sizes[0]))]
    while stack:
        level, index = stack.pop()
        part = pools[level][index % len(pools[level])]
        qty = 1 + (index * 7919 + level) % 5
        if change and rng.random() < change:
            qty += 1
        writer.writerow([level + 1, part, qty, "each", "", ""])
        rows += 1
        stack.extend((level + 1, child) for child in reversed(children[level][index]))
    assert rows == lines, (rows, lines)
    return buffer.getvalue().encode(), pools


async def _create(b: Bench, assembly_id: str, revision: str) -> str:
    response = await b.client.post(
        "/v1/boms",
        json={
            "workspace": b.workspace,
            "assemblyPartId": assembly_id,
            "type": "ebom",
            "revision": revision,
        },
    )
    response.raise_for_status()
    return str(response.json()["id"])


async def _import(b: Bench, bom_id: str, data: bytes) -> dict[str, Any]:
    response = await b.client.post(
        "/v1/boms/import",
        data={"bomId": bom_id},
        files={"file": ("bom.csv", data, "text/csv")},
    )
    if response.status_code != 200:
        raise SystemExit(f"import failed: {response.status_code} {response.text[:500]}")
    return dict(response.json())


async def run(lines: int, database: str) -> dict[str, Any]:
    data_a, pools = generate(lines)
    leaves = pools[-1]
    data_b, _ = generate(lines, change=0.01)
    async with bench_app(database) as b:
        top = await b.client.post(
            "/v1/parts", json={"workspace": b.workspace, "partNumber": "TOP", "name": "Top"}
        )
        top.raise_for_status()
        top_id = top.json()["id"]
        # unit costs for the rollup: one bulk catalog import
        costs = io.StringIO()
        writer = csv.writer(costs)
        writer.writerow(["part_number", "name", "unit_cost", "currency"])
        for leaf in leaves:
            writer.writerow([leaf, leaf, "0.25", "USD"])
        (await b.client.post(
            "/v1/parts/import",
            data={"workspace": b.workspace},
            files={"file": ("parts.csv", costs.getvalue().encode(), "text/csv")},
        )).raise_for_status()  # fmt: skip

        bom_a = await _create(b, top_id, "A")
        bom_a_id = uuid.UUID(bom_a)
        import_s, report = await timed(lambda: _import(b, bom_a, data_a))
        explode_s, tree = await timed(lambda: b.client.get(f"/v1/boms/{bom_a}"), repeat=3)
        assert tree.status_code == 200 and tree.json()["lineCount"] == lines
        rollup_s, rollup = await timed(
            lambda: b.client.get(f"/v1/boms/{bom_a}/cost-rollup"), repeat=3
        )
        assert rollup.status_code == 200, rollup.text

        sessionmaker = create_sessionmaker(b.engine)
        async with sessionmaker() as session:
            leaf_id = await session.scalar(select(Part.id).where(Part.part_number == leaves[0]))

            async def floor() -> int:
                connection = await session.connection()
                table = BomItem.__table__
                rows = (
                    await connection.execute(select(table).where(table.c.bom_id == bom_a_id))
                ).all()
                return len(rows)

            with gc_paused():  # the same conditions the BOM routes run under
                floor_select_s, count = await timed(floor, repeat=3)
            assert count == lines
        where_used_s, used = await timed(
            lambda: b.client.get(f"/v1/parts/{leaf_id}/where-used"), repeat=5
        )
        assert used.status_code == 200, used.text

        bom_b = await _create(b, top_id, "B")
        await _import(b, bom_b, data_b)
        diff_s, diff = await timed(
            lambda: b.client.get(
                f"/v1/boms/{bom_a}/diff", params={"leftRev": "A", "rightRev": "B"}
            ),
            repeat=3,
        )
        assert diff.status_code == 200, diff.text
        changed = len(diff.json()["changed"])
    return {
        "benchmark": "bom",
        "database": database,
        "lines": lines,
        "levels": LEVELS,
        "parts": sum(len(pool) for pool in pools) + 1,
        "import_parts_created": report["partsCreated"],
        "import_s": round(import_s, 3),
        "explode_s": round(explode_s, 3),
        "where_used_s": round(where_used_s, 4),
        "where_used_rows": len(used.json()),
        "rollup_s": round(rollup_s, 3),
        "diff_s": round(diff_s, 3),
        "diff_changed_lines": changed,
        "floor_select_s": round(floor_select_s, 3),
        "explode_vs_floor": round(explode_s / floor_select_s, 2),
        "rollup_vs_floor": round(rollup_s / floor_select_s, 2),
        "machine": machine(),
    }


FANOUT = 10  # sub-assemblies per BOM in the linked case


async def _ids_by_number(b: Bench, numbers: list[str]) -> dict[str, str]:
    sessionmaker = create_sessionmaker(b.engine)
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Part.part_number, Part.id).where(Part.part_number.in_(numbers))
        )
        return {number: str(part_id) for number, part_id in rows.all()}


async def run_linked(lines: int, boms: int, database: str) -> dict[str, Any]:
    """The linked case: ``lines`` lines over ``boms`` BOMs, BOM i a sub-assembly of BOM
    (i - 1) // FANOUT; every part but the assemblies costed."""
    per_bom = lines // boms
    assemblies = [f"ASM-{i:05d}" for i in range(boms)]
    children: list[list[str]] = [[] for _ in range(boms)]
    for i in range(1, boms):
        children[(i - 1) // FANOUT].append(assemblies[i])
    files = []
    for i in range(boms):
        size = per_bom + (lines - per_bom * boms if i == 0 else 0)
        data, pools = generate(size, seed=i, prefix=f"B{i:05d}-", top_lines=tuple(children[i]))
        files.append((data, pools))
    async with bench_app(database) as b:
        # Assemblies and costed leaves in one catalog import.
        catalog = io.StringIO()
        writer = csv.writer(catalog)
        writer.writerow(["part_number", "name", "unit_cost", "currency"])
        for number in assemblies:
            writer.writerow([number, number, "", ""])
        for _data, pools in files:
            for pool in pools:
                for number in pool:
                    writer.writerow([number, number, "0.25", "USD"])
        (await b.client.post(
            "/v1/parts/import",
            data={"workspace": b.workspace},
            files={"file": ("parts.csv", catalog.getvalue().encode(), "text/csv")},
        )).raise_for_status()  # fmt: skip
        ids = await _ids_by_number(b, assemblies)
        bom_ids: list[str] = []
        import_s = 0.0
        # Deepest first: each import then checks cycles against the BOMs below it.
        for i in reversed(range(boms)):
            bom_id = await _create(b, ids[assemblies[i]], "A")
            started = time.perf_counter()
            await _import(b, bom_id, files[i][0])
            import_s += time.perf_counter() - started
            bom_ids.append(bom_id)
        top = bom_ids[-1]
        explode_s, tree = await timed(lambda: b.client.get(f"/v1/boms/{top}"), repeat=3)
        assert tree.status_code == 200 and tree.json()["lineCount"] == lines, tree.text[:300]
        rollup_s, rollup = await timed(
            lambda: b.client.get(f"/v1/boms/{top}/cost-rollup"), repeat=3
        )
        assert rollup.status_code == 200 and rollup.json()["complete"], rollup.text[:300]
        none_s, flat_tree = await timed(
            lambda: b.client.get(f"/v1/boms/{top}", params={"expand": "none"}), repeat=3
        )
        assert flat_tree.json()["lineCount"] == per_bom + lines - per_bom * boms
        sessionmaker = create_sessionmaker(b.engine)
        async with sessionmaker() as session:
            leaf_id = await session.scalar(
                select(Part.id).where(Part.part_number == files[-1][1][-1][0])
            )
            every_bom = [uuid.UUID(i) for i in bom_ids]

            async def floor() -> int:
                connection = await session.connection()
                table = BomItem.__table__
                rows = (
                    await connection.execute(select(table).where(table.c.bom_id.in_(every_bom)))
                ).all()
                return len(rows)

            with gc_paused():
                floor_select_s, count = await timed(floor, repeat=3)
            assert count == lines
        where_used_s, used = await timed(
            lambda: b.client.get(f"/v1/parts/{leaf_id}/where-used"), repeat=5
        )
        assert used.status_code == 200, used.text
    return {
        "benchmark": "bom",
        "database": database,
        "lines": lines,
        "linked_boms": boms,
        "levels": max(n["level"] for n in _walk(tree.json()["items"])),
        "import_s": round(import_s, 3),
        "explode_s": round(explode_s, 3),
        "explode_top_bom_only_s": round(none_s, 4),
        "where_used_s": round(where_used_s, 4),
        "where_used_levels": max(len(r["path"]) for r in used.json()) - 1,
        "rollup_s": round(rollup_s, 3),
        "floor_select_s": round(floor_select_s, 3),
        "explode_vs_floor": round(explode_s / floor_select_s, 2),
        "rollup_vs_floor": round(rollup_s / floor_select_s, 2),
        "machine": machine(),
    }


def _walk(nodes: list[dict[str, Any]]) -> Any:
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node["children"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--linked-boms", type=int, default=0, help="spread the lines over this many linked BOMs"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.linked_boms:
        result = asyncio.run(run_linked(args.lines, args.linked_boms, args.database))
    else:
        result = asyncio.run(run(args.lines, args.database))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
