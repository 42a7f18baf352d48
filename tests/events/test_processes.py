"""Events written by other processes (docs/events.md: the audit log is the outbox): real
``threadline serve`` processes and ``threadline`` CLI commands on one database — a SQLite file,
and a fresh PostgreSQL database when ``THREADLINE_TEST_DATABASE_URL`` is set — without Redis, so
the relays find other processes' rows by reading the log."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.events.helpers import Message, sse
from tests.events.processes import ADMIN, Deployment, cli, deployment

WORKSPACE = "lab"

databases = pytest.mark.parametrize(
    "postgres",
    [
        pytest.param(False, id="sqlite"),
        pytest.param(
            True,
            id="postgresql",
            marks=pytest.mark.skipif(
                not TEST_DATABASE_URL, reason="THREADLINE_TEST_DATABASE_URL not set"
            ),
        ),
    ],
)


def logged(m: Message) -> bool:
    return m.data is not None and m.type != "presence"


async def _draft_bom(client: httpx.AsyncClient) -> str:
    r = await client.post("/v1/workspaces", json={"name": WORKSPACE})
    assert r.status_code == 201, r.text
    r = await client.post("/v1/parts", json={"workspace": WORKSPACE, "name": "Lab kit"})
    assert r.status_code == 201, r.text
    r = await client.post(
        "/v1/boms", json={"workspace": WORKSPACE, "assemblyPartId": r.json()["id"], "revision": "A"}
    )
    assert r.status_code == 201, r.text
    bom_id: str = r.json()["id"]
    return bom_id


async def _import(live: Deployment, tmp_path: Path, bom_id: str, name: str, body: str) -> None:
    file = tmp_path / name
    file.write_text("part_number,qty,refdes\n" + body)
    await cli(live.env, "import", "bom", str(file), "--bom", bom_id, "--as", ADMIN, "--append")


@databases
async def test_a_cli_import_reaches_the_stream_and_its_replay(tmp_path: Path, postgres: bool):
    async with deployment(tmp_path, servers=1, postgres=postgres) as live:
        [url], [client] = live.urls, live.clients
        bom_id = await _draft_bom(client)
        async with sse(url, live.token, WORKSPACE) as stream:
            await _import(live, tmp_path, bom_id, "first.csv", "R-10K,2,R1 R2\n")
            imported = await stream.next(logged)
        assert imported.data["type"] == "bom"
        assert imported.data["entity"] == {"type": "bom", "id": bom_id}
        assert imported.data["actor"] == "admin"
        assert imported.data["data"]["created"] == 1

        # Missed while disconnected: a second import and a write through the API.
        await _import(live, tmp_path, bom_id, "second.csv", "C-100N,4,C1 C2 C3 C4\n")
        r = await client.post("/v1/parts", json={"workspace": WORKSPACE, "name": "Spare"})
        assert r.status_code == 201, r.text

        resume = {"Last-Event-ID": imported.id or ""}
        async with sse(url, live.token, WORKSPACE, headers=resume) as stream:
            missed = [await stream.next(logged) for _ in range(2)]
            assert [m.data["type"] for m in missed] == ["bom", "part"]
            base = int(imported.id or 0)
            assert [int(m.id or 0) for m in missed] == [base + 1, base + 2]
            await stream.nothing(logged, within=0.5)  # exactly the missed ones, once
            await _import(live, tmp_path, bom_id, "third.csv", "L-1U,1,L1\n")
            after = await stream.next(logged)
            assert int(after.id or 0) == base + 3


@databases
async def test_two_servers_without_redis_deliver_every_write_once_in_order(
    tmp_path: Path, postgres: bool
):
    async with deployment(tmp_path, servers=2, postgres=postgres) as live:
        (a, b), (via_a, via_b) = live.urls, live.clients
        await _draft_bom(via_a)
        async with sse(a, live.token, WORKSPACE) as on_a, sse(b, live.token, WORKSPACE) as on_b:
            names = [f"P{n}" for n in range(20)]

            async def create(n: int, name: str) -> None:
                client = via_a if n % 2 else via_b
                r = await client.post("/v1/parts", json={"workspace": WORKSPACE, "name": name})
                assert r.status_code == 201, r.text

            await asyncio.gather(*(create(n, name) for n, name in enumerate(names)))
            parts_file = tmp_path / "parts.csv"
            parts_file.write_text("part_number,name\nCLI-1,From the CLI\n")
            await cli(live.env, "import", "parts", str(parts_file), "-w", WORKSPACE, "--as", ADMIN)

            seen_a = [await on_a.next(logged) for _ in range(21)]
            seen_b = [await on_b.next(logged) for _ in range(21)]
            await on_a.nothing(logged, within=0.5)
            await on_b.nothing(logged, within=0.5)
        # Both servers: the same events, the same ids, in increasing order, each once.
        assert [(m.id, m.data) for m in seen_a] == [(m.id, m.data) for m in seen_b]
        ids = [int(m.id or 0) for m in seen_a]
        assert ids == sorted(set(ids))
        assert sorted(m.data["data"]["name"] for m in seen_a[:20]) == sorted(names)
        assert seen_a[20].data["type"] == "import"
