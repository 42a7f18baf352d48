"""The audit log as the outbox of the live stream (docs/events.md): event numbers in commit order,
what an event says about a change, rolled-back work publishing nothing, and the classic outbox
gap — on PostgreSQL, a transaction holding a lower number committing after one with a higher
number — closed by the per-workspace sequence row."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import requires_postgres
from tests.events.conftest import Live, Member, workspace_name
from tests.events.helpers import Message, eventually, sse
from threadline.audit import service as audit
from threadline.audit.models import AuditEvent
from threadline.auth.models import User, Workspace
from threadline.db import create_sessionmaker
from threadline.events import typed


def logged(m: Message) -> bool:
    return m.data is not None and m.type != "presence"


async def _actors(session: AsyncSession, member: Member, workspace: str) -> tuple[User, Workspace]:
    user = await session.scalar(select(User).where(User.username == member.username))
    ws = await session.scalar(select(Workspace).where(Workspace.name == workspace))
    assert user is not None and ws is not None
    return user, ws


def _record(session: AsyncSession, user: User, ws: Workspace, name: str) -> None:
    audit.record(
        session, actor=user, workspace=ws, entity_type="part", entity_id=uuid.uuid4(),
        action="create", after={"name": name},
    )  # fmt: skip


# --- what an event says ---------------------------------------------------------------------------


def _row(**fields: object) -> AuditEvent:
    return AuditEvent(
        seq=7, entity_type="bom_item", entity_id="i-1",
        created_at=datetime(2026, 12, 3, tzinfo=UTC), notify=None, **fields,
    )  # fmt: skip


def test_an_update_lists_the_changed_fields_before_and_after():
    row = _row(
        action="update",
        before={"qty": "2", "refdes": "R1, R2", "notes": None},
        after={"qty": "3", "refdes": "R1, R2", "notes": "fit later"},
    )
    event = typed.from_audit(row, workspace="acme", actor="alice")
    assert event["id"] == "7"
    assert event["at"] == "2026-12-03T00:00:00Z"
    assert event["data"]["qty"] == "3"  # the record as the change left it
    assert event["data"]["changes"] == {
        "qty": {"before": "2", "after": "3"},
        "notes": {"before": None, "after": "fit later"},
    }


def test_a_create_carries_the_new_record_and_a_delete_the_old_one():
    created = typed.from_audit(
        _row(action="create", before=None, after={"qty": "1"}), workspace="acme", actor=None
    )
    assert created["data"] == {"qty": "1"}
    deleted = typed.from_audit(
        _row(action="delete", before={"qty": "1"}, after=None), workspace="acme", actor=None
    )
    assert deleted["data"] == {"qty": "1"}
    assert "changes" not in created["data"] and "changes" not in deleted["data"]


async def test_a_part_update_event_says_what_changed(live: Live):
    ws = workspace_name()
    alice = await live.member("alice", ws)
    r = await alice.client.post("/v1/parts", json={"workspace": ws, "name": "Bracket"})
    assert r.status_code == 201, r.text
    part = r.json()
    async with sse(live.base_url, alice.token, ws) as stream:
        r = await alice.client.patch(
            f"/v1/parts/{part['id']}", json={"name": "Bracket, steel", "description": "M6"}
        )
        assert r.status_code == 200, r.text
        event = await stream.next(logged)
    assert event.data["action"] == "update"
    assert event.data["data"]["changes"]["name"] == {"before": "Bracket", "after": "Bracket, steel"}
    assert event.data["data"]["changes"]["description"]["after"] == "M6"
    assert set(event.data["data"]["changes"]) == {"name", "description"}


# --- numbering ------------------------------------------------------------------------------------


async def test_numbers_follow_the_order_of_the_records(live: Live):
    ws = workspace_name()
    alice = await live.member("alice", ws)
    async with create_sessionmaker(live.engine)() as session, session.begin():
        user, workspace = await _actors(session, alice, ws)
        for name in ("a", "b", "c"):
            _record(session, user, workspace, name)
    async with create_sessionmaker(live.engine)() as session:
        rows = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.workspace_id == workspace.id)
                .order_by(AuditEvent.seq)
            )
        ).all()  # fmt: skip
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))  # no holes, from 1
    assert [r.after["name"] for r in rows[-3:]] == ["a", "b", "c"]


def _record_many(session: AsyncSession, user: User, ws: Workspace, *names: str) -> None:
    audit.record_many(
        session, actor=user, workspace=ws,
        changes=[("part", uuid.uuid4(), "create", None, {"name": n}) for n in names],
    )  # fmt: skip


async def test_bulk_records_are_numbered_in_order_with_the_others(live: Live):
    """record_many's rows (inserted at commit) and record's rows (ORM) interleave in the order
    they were recorded; a savepoint rolled back takes its bulk rows with it, one released keeps
    them, and the live stream carries them like any other."""
    ws = workspace_name()
    alice = await live.member("alice", ws)
    factory = create_sessionmaker(live.engine)
    async with sse(live.base_url, alice.token, ws) as stream:
        await stream.next(lambda m: m.type == "presence")
        async with factory() as session, session.begin():
            user, workspace = await _actors(session, alice, ws)
            _record(session, user, workspace, "a")
            _record_many(session, user, workspace, "b", "c")
            async with session.begin_nested():
                _record_many(session, user, workspace, "d")
            try:
                async with session.begin_nested():
                    _record_many(session, user, workspace, "dropped")
                    async with session.begin_nested():
                        _record_many(session, user, workspace, "dropped too")
                    raise RuntimeError("roll the savepoint back")
            except RuntimeError:
                pass
            await session.flush()
            _record(session, user, workspace, "e")
        names = [(await stream.next(logged)).data["data"]["name"] for _ in range(5)]
        assert names == ["a", "b", "c", "d", "e"]
        await stream.nothing(logged, within=0.5)
    async with factory() as session:
        rows = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.workspace_id == workspace.id)
                .order_by(AuditEvent.seq)
            )
        ).all()  # fmt: skip
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert [r.after["name"] for r in rows[-5:]] == ["a", "b", "c", "d", "e"]
    assert {r.actor_id for r in rows[-5:]} == {user.id}


async def test_bulk_records_of_a_rolled_back_transaction_are_not_written(live: Live):
    ws = workspace_name()
    alice = await live.member("alice", ws)
    factory = create_sessionmaker(live.engine)
    async with factory() as session:
        await session.begin()
        user, workspace = await _actors(session, alice, ws)
        _record_many(session, user, workspace, "never")
        await session.rollback()
    async with factory() as session, session.begin():
        user, workspace = await _actors(session, alice, ws)
        _record_many(session, user, workspace, "kept")
    async with factory() as session:
        names = [
            r.after["name"]
            for r in await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.workspace_id == workspace.id, AuditEvent.entity_type == "part"
                )
            )
        ]
    assert names == ["kept"]


async def test_a_rolled_back_transaction_publishes_nothing(live: Live):
    ws = workspace_name()
    alice = await live.member("alice", ws)
    factory = create_sessionmaker(live.engine)
    async with sse(live.base_url, alice.token, ws) as stream:
        await stream.next(lambda m: m.type == "presence")
        async with factory() as session:
            newest = await audit.newest_seq(
                session, workspace_id=(await _actors(session, alice, ws))[1].id
            )
        async with factory() as session:
            await session.begin()
            user, workspace = await _actors(session, alice, ws)
            _record(session, user, workspace, "never")
            await session.flush()  # numbered, then thrown away
            await session.rollback()
        async with factory() as session, session.begin():
            user, workspace = await _actors(session, alice, ws)
            _record(session, user, workspace, "kept")
        event = await stream.next(logged)
        assert event.data["data"]["name"] == "kept"
        assert event.id == str(newest + 1)  # the rolled-back number was given back
        await stream.nothing(logged, within=0.5)


# --- the outbox gap on PostgreSQL ----------------------------------------------------------------


@requires_postgres
async def test_a_later_transaction_waits_for_the_earlier_number_to_commit(live: Live):
    """T1 has taken number n and not committed yet; T2 of the same workspace, which without the
    sequence row would take n+1 and commit first (a reader at n+1 would then skip n for ever),
    waits at its commit until T1 has committed; both are delivered, in order, once each."""
    ws = workspace_name()
    alice = await live.member("alice", ws)
    factory = create_sessionmaker(live.engine)
    async with sse(live.base_url, alice.token, ws) as stream:
        await stream.next(lambda m: m.type == "presence")
        first = factory()
        await first.begin()
        user, workspace = await _actors(first, alice, ws)
        newest = await audit.newest_seq(first, workspace_id=workspace.id)
        _record(first, user, workspace, "T1")
        await first.run_sync(audit.number_rows)  # T1 stops where its commit would claim
        await first.flush()
        t1_pid = (await first.execute(text("SELECT pg_backend_pid()"))).scalar_one()

        async def second() -> None:
            async with factory() as session, session.begin():
                user, workspace = await _actors(session, alice, ws)
                _record(session, user, workspace, "T2")

        t2 = asyncio.create_task(second())

        async def t2_waits_on_t1() -> bool:
            async with factory() as watcher:
                blocked = await watcher.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE :pid = ANY(pg_blocking_pids(pid))"
                    ),
                    {"pid": t1_pid},
                )
            return bool(blocked)

        await eventually(t2_waits_on_t1)
        assert not t2.done()
        await stream.nothing(logged, within=0.3)  # nothing is committed yet

        await first.commit()
        await first.close()
        await asyncio.wait_for(t2, 10)
        events = [await stream.next(logged) for _ in range(2)]
        assert [(m.id, m.data["data"]["name"]) for m in events] == [
            (str(newest + 1), "T1"), (str(newest + 2), "T2"),
        ]  # fmt: skip
        await stream.nothing(logged, within=0.3)


async def test_numbers_are_claimed_in_commit_order(live: Live):
    """Recorded first, committed last: the later commit gets the later number."""
    ws = workspace_name()
    alice = await live.member("alice", ws)
    factory = create_sessionmaker(live.engine)
    early = factory()
    await early.begin()
    user, workspace = await _actors(early, alice, ws)
    newest = await audit.newest_seq(early, workspace_id=workspace.id)
    _record(early, user, workspace, "recorded first")
    await early.flush()
    # On SQLite the second writer would wait for the first's write lock: commit it elsewhere
    # only where writers run side by side.
    if live.engine.dialect.name == "postgresql":
        async with factory() as session, session.begin():
            user2, workspace2 = await _actors(session, alice, ws)
            _record(session, user2, workspace2, "committed first")
    await early.commit()
    await early.close()
    async with factory() as session:
        rows = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.workspace_id == workspace.id, AuditEvent.seq > newest)
                .order_by(AuditEvent.seq)
            )
        ).all()
    names = [r.after["name"] for r in rows if r.after]
    if live.engine.dialect.name == "postgresql":
        assert names == ["committed first", "recorded first"]
    else:
        assert names == ["recorded first"]
    assert [r.seq for r in rows] == list(range(newest + 1, newest + 1 + len(rows)))


async def test_the_event_is_the_audit_row(live: Live):
    ws = workspace_name()
    alice = await live.member("alice", ws, role="manager")
    async with sse(live.base_url, alice.token, ws) as stream:
        r = await alice.client.post("/v1/parts", json={"workspace": ws, "name": "Shim"})
        assert r.status_code == 201, r.text
        event = await stream.next(logged)
    r = await alice.client.get("/v1/audit", params={"workspace": ws, "entity": "part"})
    assert r.status_code == 200, r.text
    [row] = r.json()["items"]
    assert str(row["seq"]) == event.id
    assert row["after"] == event.data["data"]
    assert (row["entityId"], row["action"]) == (event.data["entity"]["id"], event.data["action"])


async def test_a_bom_line_edit_says_what_changed(live: Live):
    ws = workspace_name()
    alice = await live.member("alice", ws)
    c = alice.client
    assembly = (await c.post("/v1/parts", json={"workspace": ws, "name": "Kit"})).json()
    resistor = (await c.post("/v1/parts", json={"workspace": ws, "name": "R 10k"})).json()
    r = await c.post(
        "/v1/boms", json={"workspace": ws, "assemblyPartId": assembly["id"], "revision": "A"}
    )
    assert r.status_code == 201, r.text
    bom = r.json()
    r = await c.post(
        f"/v1/boms/{bom['id']}/items",
        json={"items": [{"childPartId": resistor["id"], "qty": 2, "refdes": "R1, R2"}]},
    )
    assert r.status_code == 200, r.text
    [line_id] = r.json()["ids"]
    async with sse(live.base_url, alice.token, ws) as stream:
        r = await c.patch(f"/v1/boms/{bom['id']}/items/{line_id}", json={"qty": 3})
        assert r.status_code == 200, r.text
        batch = await stream.next(logged)
        line = await stream.next(logged)
    assert (batch.data["entity"]["type"], batch.data["data"]["updated"]) == ("bom", 1)
    assert line.data["type"] == "bom"
    assert line.data["entity"] == {"type": "bom_item", "id": line_id}
    assert line.data["data"]["changes"] == {"qty": {"before": 2.0, "after": 3.0}}
