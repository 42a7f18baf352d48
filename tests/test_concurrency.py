"""No lost update: twenty writers race for one part and one BOM line, and exactly one wins.

The writers are twenty clients of an app with its own sessionmaker on the real engine, so each
request runs in its own transaction on its own connection and really commits. Each writer reads
the version first; then a blocker holds the row while all twenty send their write, and lets go
only once every writer is queued on the database (on PostgreSQL the test waits until twenty
backends are blocked behind it), so the twenty transactions truly overlap. Exactly one answers
200; the nineteen others see the version it wrote and answer 412 (If-Match) or 409 (version),
write nothing and leave no audit row. SQLite serialises writers (BEGIN IMMEDIATE) rather than
locking rows; the same race runs there too and must give the same answer.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from threadline.app import create_app
from threadline.audit.models import AuditEvent
from threadline.auth import service as auth
from threadline.auth.models import User, Workspace
from threadline.boms.models import Bom, BomItem
from threadline.catalog.models import Part
from threadline.config import Settings
from threadline.db import create_sessionmaker

WRITERS = 20


@dataclass
class Race:
    """A committed workspace, its owner, and ``WRITERS`` separate clients of the same app."""

    workspace: str
    workspace_id: uuid.UUID
    engine: AsyncEngine
    owner: httpx.AsyncClient
    writers: list[httpx.AsyncClient]

    async def audit_rows(self, entity_type: str, entity_id: str, action: str) -> int:
        async with self.engine.connect() as connection:
            count = await connection.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.workspace_id == self.workspace_id,
                    AuditEvent.entity_type == entity_type,
                    AuditEvent.entity_id == entity_id,
                    AuditEvent.action == action,
                )
            )
        return int(count or 0)


@pytest.fixture
async def race(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Race]:
    """Outside the per-test rollback (removed again afterwards)."""
    tag = secrets.token_hex(4)
    workspace, username = f"race-{tag}", f"race{tag}"
    sessions = create_sessionmaker(engine)
    async with sessions() as session, session.begin():
        user = await auth.create_user(
            session,
            email=f"{username}@example.com",
            password_hash="not-used",  # the token signs in
            name=username,
            username=username,
        )
        ws = await auth.create_workspace(session, user=user, name=workspace)
        _row, token = await auth.create_token(session, user=user, name="race")
        user_id, workspace_id = user.id, ws.id
    app = create_app(settings, engine=engine)

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )

    clients = [client() for _ in range(WRITERS + 1)]
    try:
        yield Race(workspace, workspace_id, engine, clients[0], clients[1:])
    finally:
        for c in clients:
            await c.aclose()
        await app.state.runtime.broker.close()
        async with sessions() as session, session.begin():
            # BOMs first: their lines hold RESTRICT references to the workspace's parts.
            await session.execute(delete(Bom).where(Bom.workspace_id == workspace_id))
            await session.execute(delete(Workspace).where(Workspace.id == workspace_id))
            await session.execute(delete(AuditEvent).where(AuditEvent.actor_id == user_id))
            await session.execute(delete(User).where(User.id == user_id))


async def _blocked_behind(connection: AsyncConnection, blocker: int) -> int:
    """How many PostgreSQL backends wait, directly or through another waiter, on ``blocker``."""
    rows = await connection.execute(
        text(
            "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        )
    )
    waits = {pid: set(blockers) for pid, blockers in rows}
    # pg_stat_activity is snapshotted once per transaction: end it, or the next poll sees the
    # same (stale) waiters forever.
    await connection.rollback()
    behind: set[int] = set()
    frontier = {blocker}
    while frontier:
        frontier = {pid for pid, by in waits.items() if by & frontier and pid not in behind}
        behind |= frontier
    return len(behind)


async def _all_at_once(
    engine: AsyncEngine,
    model: type[Part] | type[BomItem],
    row_id: str,
    writes: list[Awaitable[httpx.Response]],
) -> list[httpx.Response]:
    """Run ``writes`` while a transaction holds the row, and release it once all are queued."""
    async with engine.connect() as blocker:
        await blocker.begin()
        postgres = blocker.dialect.name == "postgresql"
        if postgres:
            await blocker.execute(
                select(model.id).where(model.id == uuid.UUID(row_id)).with_for_update()
            )
        # else: the engine began this transaction IMMEDIATE, so it holds SQLite's write lock
        tasks = [asyncio.ensure_future(w) for w in writes]
        if postgres:
            pid = await blocker.scalar(text("SELECT pg_backend_pid()"))
            async with engine.connect() as watcher:
                while await _blocked_behind(watcher, pid) < len(tasks):
                    assert not any(t.done() for t in tasks), [t.result().text for t in tasks]
                    await asyncio.sleep(0.01)
        else:
            await asyncio.sleep(0.2)  # let the writers queue on busy_timeout
        await blocker.rollback()
    return list(await asyncio.gather(*tasks))


Write = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def _read_then_write(race: Race, read: str, write: Write) -> list[Awaitable[httpx.Response]]:
    """Every writer reads ``read`` (at version 1); their writes, not started yet."""
    seen = await asyncio.gather(*(c.get(read) for c in race.writers))
    assert {(r.status_code, r.headers["etag"]) for r in seen} == {(200, '"1"')}
    return [write(c, i) for i, c in enumerate(race.writers)]


async def test_twenty_writers_of_one_part_one_wins(race: Race):
    created = await race.owner.post(
        "/v1/parts", json={"workspace": race.workspace, "partNumber": "RACE-1", "name": "v1"}
    )
    assert created.status_code == 201, created.text
    part_id = created.json()["id"]
    url = f"/v1/parts/{part_id}"

    def write(client: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        return client.patch(url, json={"name": f"writer {i}"}, headers={"If-Match": '"1"'})

    writes = await _read_then_write(race, url, write)
    responses = await _all_at_once(race.engine, Part, part_id, writes)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 412: WRITERS - 1}, [r.text for r in responses]
    [winner] = [i for i, r in enumerate(responses) if r.status_code == 200]
    assert {r.json()["currentVersion"] for r in responses if r.status_code == 412} == {2}
    after = await race.owner.get(url)
    assert (after.json()["name"], after.json()["version"]) == (f"writer {winner}", 2)
    assert after.headers["etag"] == '"2"'
    assert await race.audit_rows("part", part_id, "update") == 1


@pytest.mark.parametrize("how", ["patch-if-match", "patch-version", "batch-version"])
async def test_twenty_writers_of_one_bom_line_one_wins(race: Race, how: str):
    ws = race.workspace
    top, bolt = [
        (
            await race.owner.post("/v1/parts", json={"workspace": ws, "partNumber": n, "name": n})
        ).json()["id"]
        for n in ("RACE-TOP", "RACE-BOLT")
    ]
    bom = await race.owner.post(
        "/v1/boms", json={"workspace": ws, "assemblyPartId": top, "revision": "A"}
    )
    bom_id = bom.json()["id"]
    items = await race.owner.post(
        f"/v1/boms/{bom_id}/items", json={"items": [{"childPartId": bolt, "qty": 1}]}
    )
    [item] = items.json()["ids"]
    url = f"/v1/boms/{bom_id}/items/{item}"

    def write(client: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        qty = i + 2
        if how == "patch-if-match":
            return client.patch(url, json={"qty": qty}, headers={"If-Match": '"1"'})
        if how == "patch-version":
            return client.patch(url, json={"qty": qty, "version": 1})
        row = {"id": item, "qty": qty, "version": 1}
        return client.post(f"/v1/boms/{bom_id}/items", json={"items": [row]})

    writes = await _read_then_write(race, url, write)
    responses = await _all_at_once(race.engine, BomItem, item, writes)

    lost = 412 if how == "patch-if-match" else 409
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, lost: WRITERS - 1}, [r.text for r in responses]
    [winner] = [i for i, r in enumerate(responses) if r.status_code == 200]
    losers = [r.json() for r in responses if r.status_code == lost]
    assert {b["code"] for b in losers} == {"VERSION_CONFLICT"}
    if how == "batch-version":
        assert all(b["items"] == [{"id": item, "version": 2}] for b in losers)
    else:
        assert {b["currentVersion"] for b in losers} == {2}
    after = (await race.owner.get(url)).json()
    assert (after["qty"], after["version"]) == (winner + 2, 2)
    # one audited batch for the line's creation, one for the winner's write; none for a loser
    assert await race.audit_rows("bom", bom_id, "items") == 2
