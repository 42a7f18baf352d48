"""``GET /v1/events`` against a live server (productflo-sync-api: Workspaces & Presence, SSE
example): authentication, delivery and workspace isolation, presence, ``Last-Event-ID`` replay,
heartbeats, lock requests addressed to the holder, and two server processes sharing Redis."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.events.conftest import Live, Member, workspace_name
from tests.events.helpers import Message, eventually, sse
from tests.events.processes import deployment
from threadline.events import api as events_api


def of_type(kind: str, **fields: object) -> object:
    def match(m: Message) -> bool:
        return m.type == kind and all(m.data.get(k) == v for k, v in fields.items())  # type: ignore[union-attr]

    return match


def not_presence(m: Message) -> bool:
    return m.data is not None and m.type != "presence"


async def create_part(member: Member, workspace: str, name: str) -> dict:
    r = await member.client.post("/v1/parts", json={"workspace": workspace, "name": name})
    assert r.status_code == 201, r.text
    return r.json()


async def online(member: Member, workspace: str) -> dict[str, bool]:
    r = await member.client.get("/v1/users", params={"workspace": workspace})
    assert r.status_code == 200, r.text
    return {u["username"]: u["online"] for u in r.json()["items"]}


# --- authentication ---------------------------------------------------------------------------


async def test_anonymous_is_401(live: Live):
    ws = workspace_name()
    await live.member("alice", ws)
    async with httpx.AsyncClient(base_url=live.base_url, timeout=5) as anonymous:
        r = await anonymous.get("/v1/events", params={"workspace": ws})
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_workspace_you_are_not_in_is_404(live: Live):
    ws = workspace_name()
    await live.member("alice", ws)
    carol = await live.member("carol", workspace_name())
    r = await carol.client.get("/v1/events", params={"workspace": ws})
    assert r.status_code == 404, r.text


async def test_a_stream_as_someone_else_is_403(live: Live):
    ws = workspace_name()
    alice = await live.member("alice", ws)
    bob = await live.member("bob", ws)
    r = await bob.client.get("/v1/events", params={"workspace": ws, "username": alice.username})
    assert r.status_code == 403, r.text
    # as yourself (any case) is fine
    async with sse(live.base_url, bob.token, ws, username=bob.username.upper()) as stream:
        await stream.next(of_type("presence", username=bob.username))


# --- delivery and isolation -------------------------------------------------------------------


async def test_a_write_reaches_the_workspace_and_only_it(live: Live):
    ws, other = workspace_name(), workspace_name()
    alice = await live.member("alice", ws)
    carol = await live.member("carol", other)
    async with (
        sse(live.base_url, alice.token, ws) as mine,
        sse(live.base_url, carol.token, other) as theirs,
    ):
        await mine.next(of_type("presence", username=alice.username, action="join"))
        await theirs.next(of_type("presence", username=carol.username, action="join"))
        part = await create_part(alice, ws, "Bracket")

        event = await mine.next(of_type("part"))
        assert event.id
        assert event.data == {
            **event.data,
            "type": "part",
            "action": "create",
            "workspace": ws,
            "actor": alice.username,
            "entity": {"type": "part", "id": part["id"]},
            "id": event.id,
        }
        assert event.data["data"]["name"] == "Bracket"
        assert event.data["at"]

        # The other workspace's first write event is its own: alice's never reached it.
        await create_part(carol, other, "Washer")
        theirs_first = await theirs.next(not_presence)
        assert theirs_first.data["workspace"] == other
        assert theirs_first.data["data"]["name"] == "Washer"
        # ...and alice's stream never sees carol's.
        await mine.nothing(lambda m: m.data is not None and m.data.get("workspace") == other)


async def test_an_upload_is_a_version_event(live: Live):
    ws = workspace_name()
    alice = await live.member("alice", ws)
    async with sse(live.base_url, alice.token, ws) as stream:
        r = await alice.client.post(
            "/v1/upload",
            params={"workspace": ws},
            files={"file": ("m.step", b"ISO-10303-21;\nENDSEC;\n", "application/octet-stream")},
        )
        assert r.status_code in (200, 201), r.text
        event = await stream.next(of_type("version"))
        assert event.data["data"]["name"] == "m.step"
        assert event.data["entity"]["type"] == "file"


# --- presence ---------------------------------------------------------------------------------


async def test_presence_join_and_leave(live: Live):
    ws = workspace_name()
    alice = await live.member("alice", ws)
    bob = await live.member("bob", ws)
    async with sse(live.base_url, alice.token, ws) as watcher:
        await watcher.next(of_type("presence", username=alice.username, action="join"))
        assert (await online(alice, ws))[bob.username] is False

        async with sse(live.base_url, bob.token, ws):
            joined = await watcher.next(of_type("presence", username=bob.username))
            assert joined.data["action"] == "join"
            assert bob.username in joined.data["online"]
            # Not in the log, so no id: the client's Last-Event-ID stays the last logged one.
            assert joined.id is None
            users = await online(alice, ws)
            assert users[bob.username] is True and users[alice.username] is True

        left = await watcher.next(of_type("presence", username=bob.username))
        assert left.data["action"] == "leave"
        assert bob.username not in left.data["online"]
        users = await online(alice, ws)
        assert users[bob.username] is False and users[alice.username] is True

    # The last stream closed: alice is offline too.
    async def alice_offline() -> bool:
        return (await online(bob, ws))[alice.username] is False

    await eventually(alice_offline)


async def test_two_streams_of_one_user_are_one_presence(live: Live):
    ws = workspace_name()
    alice = await live.member("alice", ws)
    bob = await live.member("bob", ws)
    async with sse(live.base_url, alice.token, ws) as watcher:
        await watcher.next(of_type("presence", username=alice.username))
        async with sse(live.base_url, bob.token, ws) as first:
            await watcher.next(of_type("presence", username=bob.username, action="join"))
            async with sse(live.base_url, bob.token, ws):
                pass  # a second tab opened and closed: bob is still online
            await create_part(alice, ws, "Marker")
            # Nothing about bob between his join and the marker: no second join, no leave.
            marker = await watcher.next(
                lambda m: (
                    m.type == "part"
                    or (m.type == "presence" and m.data["username"] == bob.username)
                )  # type: ignore[index]
            )
            assert marker.type == "part"
            assert (await online(alice, ws))[bob.username] is True
            await first.next(of_type("part"))
        left = await watcher.next(of_type("presence", username=bob.username))
        assert left.data["action"] == "leave"


# --- replay -----------------------------------------------------------------------------------


async def test_last_event_id_replays_exactly_the_missed_events(live: Live):
    ws = workspace_name()
    alice = await live.member("alice", ws)
    async with sse(live.base_url, alice.token, ws) as stream:
        await create_part(alice, ws, "p1")
        seen = await stream.next(of_type("part"))
    last_id = seen.id
    assert last_id

    for name in ("p2", "p3", "p4"):
        await create_part(alice, ws, name)

    async with sse(live.base_url, alice.token, ws, headers={"Last-Event-ID": last_id}) as stream:
        replayed = await stream.events(3, not_presence)
        assert [m.data["data"]["name"] for m in replayed] == ["p2", "p3", "p4"]
        await create_part(alice, ws, "p5")
        live_event = await stream.next(not_presence)
        assert live_event.data["data"]["name"] == "p5"
        ids = [m.id for m in stream.seen if not_presence(m)]
        assert len(ids) == len(set(ids)), ids  # no duplicates
        assert ids == sorted(ids, key=int), ids  # in log order
        names = [m.data["data"]["name"] for m in stream.seen if not_presence(m)]
        assert names == ["p2", "p3", "p4", "p5"]
        await stream.nothing(not_presence, within=0.3)


async def test_last_event_id_query_parameter_and_unknown_ids(live: Live):
    ws = workspace_name()
    alice = await live.member("alice", ws)
    async with sse(live.base_url, alice.token, ws) as stream:
        await create_part(alice, ws, "a")
        first = await stream.next(of_type("part"))
    await create_part(alice, ws, "b")
    # EventSource polyfills send the id as ?lastEventId=
    async with sse(live.base_url, alice.token, ws, lastEventId=first.id) as stream:
        assert (await stream.next(not_presence)).data["data"]["name"] == "b"
    # A made-up id replays nothing, but the stream works.
    async with sse(live.base_url, alice.token, ws, headers={"Last-Event-ID": "bogus"}) as stream:
        await create_part(alice, ws, "c")
        assert (await stream.next(not_presence)).data["data"]["name"] == "c"


# --- heartbeat --------------------------------------------------------------------------------


async def test_heartbeat_comment(live: Live, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(events_api, "HEARTBEAT_S", 0.2)
    ws = workspace_name()
    alice = await live.member("alice", ws)
    async with sse(live.base_url, alice.token, ws) as stream:
        ping = await stream.next(lambda m: m.comment is not None, within=1.0)
        assert ping.comment.startswith(": ping")  # type: ignore[union-attr]
        await stream.next(lambda m: m.comment is not None, within=1.0)  # and again
        # Heartbeats keep presence alive, and do not disturb delivery.
        assert (await online(alice, ws))[alice.username] is True
        await create_part(alice, ws, "still here")
        assert (await stream.next(of_type("part"))).data["data"]["name"] == "still here"


# --- lock requests ----------------------------------------------------------------------------


async def test_a_lock_request_reaches_only_the_holder(live: Live):
    ws = workspace_name()
    alice = await live.member("alice", ws)
    bob = await live.member("bob", ws)
    carol = await live.member("carol", ws)
    r = await alice.client.post(
        "/v1/upload",
        params={"workspace": ws},
        files={"file": ("m.step", b"ISO-10303-21;\nENDSEC;\n", "application/octet-stream")},
    )
    assert r.status_code in (200, 201), r.text
    path = f"/v1/serve/{ws}/{alice.username}/m.step"
    r = await alice.client.post("/v1/locks/lock", json={"path": path})
    assert r.status_code == 200, r.text

    async with (
        sse(live.base_url, alice.token, ws) as holder,
        sse(live.base_url, carol.token, ws) as third,
    ):
        await holder.next(of_type("presence", username=carol.username))
        await third.next(of_type("presence", username=carol.username))
        r = await bob.client.post("/v1/locks/request", json={"path": path, "from": bob.username})
        assert r.status_code == 200, r.text

        event = await holder.next(of_type("lock"))
        assert event.data["action"] == "lock_request"
        assert event.data["to"] == alice.username
        assert event.data["actor"] == bob.username
        assert event.data["data"]["from"] == bob.username

        # carol's next write event is a later, public one: the request was never sent to her.
        await create_part(bob, ws, "after the request")
        nxt = await third.next(not_presence)
        assert nxt.type == "part", nxt
        assert not any(m.data and m.data.get("action") == "lock_request" for m in third.seen)


# --- two processes sharing Redis and PostgreSQL -----------------------------------------------

needs_both = pytest.mark.skipif(
    not (TEST_REDIS_URL and TEST_DATABASE_URL),
    reason="two server processes need THREADLINE_TEST_REDIS_URL and THREADLINE_TEST_DATABASE_URL",
)


@needs_both
async def test_two_processes_share_events_and_presence(tmp_path: Path):
    async with deployment(tmp_path, servers=2, postgres=True, redis=TEST_REDIS_URL) as live:
        a, b = live.urls
        via_a, via_b = live.clients
        token = live.token
        r = await via_a.post("/v1/workspaces", json={"name": "shared"})
        assert r.status_code == 201, r.text
        me = (await via_a.get("/v1/users", params={"workspace": "shared"})).json()
        username = me["items"][0]["username"]

        async with sse(b, token, "shared") as on_b, sse(a, token, "shared") as on_a:
            await on_b.next(of_type("presence", action="join"))
            r = await via_a.post("/v1/parts", json={"workspace": "shared", "name": "X"})
            assert r.status_code == 201, r.text
            r = await via_b.post("/v1/parts", json={"workspace": "shared", "name": "Y"})
            assert r.status_code == 201, r.text
            # Both processes deliver both writes, in one order, with the same ids.
            seen_b = [await on_b.next(of_type("part")) for _ in range(2)]
            seen_a = [await on_a.next(of_type("part")) for _ in range(2)]
            assert [m.data["data"]["name"] for m in seen_b] == ["X", "Y"]
            assert [(m.id, m.data) for m in seen_a] == [(m.id, m.data) for m in seen_b]

        # Presence across processes: a stream on A makes the user online in B's list.
        async def online_in_b() -> bool:
            r = await via_b.get("/v1/users", params={"workspace": "shared"})
            return {u["username"]: u["online"] for u in r.json()["items"]}[username]

        await eventually(lambda: _not(online_in_b))
        async with sse(a, token, "shared") as on_a:
            await on_a.next(of_type("presence", action="join"))
            assert await online_in_b() is True
        await eventually(lambda: _not(online_in_b))


async def _not(check) -> bool:
    return not await check()
