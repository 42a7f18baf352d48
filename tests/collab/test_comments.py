"""Comments: listing, posting, @mentions that notify, the 120/min limit, tenancy."""

from __future__ import annotations

from sqlalchemy import select

from tests.collab.conftest import upload
from tests.conftest import assert_problem
from threadline.audit.models import AuditEvent
from threadline.events import typed


async def _audit(manager, **params) -> list[dict]:
    r = await manager.client.get("/v1/audit", params={"workspace": "acme", **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_post_and_list_comments(alice, bob, part):
    r = await alice.client.post(
        "/v1/comments", json={"path": part.path, "author": "alice", "body": "Fillet looks thin"}
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["author"] == "alice"
    assert created["path"] == part.path
    assert created["mentions"] == []
    assert created["createdAt"].endswith("Z")
    await bob.client.post("/v1/comments", json={"path": part.path, "body": "Agreed"})

    r = await bob.client.get("/v1/comments", params={"path": part.path})
    assert r.status_code == 200
    page = r.json()
    assert page["total"] == 2
    assert [c["body"] for c in page["items"]] == ["Fillet looks thin", "Agreed"]
    assert [c["author"] for c in page["items"]] == ["alice", "bob"]

    r = await bob.client.get("/v1/comments", params={"path": part.path, "pageSize": 1, "page": 2})
    assert [c["body"] for c in r.json()["items"]] == ["Agreed"]


async def test_comment_pinned_to_a_version(alice, part):
    r = await alice.client.post(
        "/v1/comments",
        json={"path": part.path, "body": "on v1", "versionId": part.version_id},
    )
    assert r.status_code == 201
    assert r.json()["versionId"] == part.version_id


async def test_comment_on_a_version_of_another_file_is_404(alice, part):
    other = await upload(alice.client, "other.step")
    r = await alice.client.post(
        "/v1/comments",
        json={"path": part.path, "body": "x", "versionId": other["versionId"]},
    )
    assert_problem(r, 404, "VERSION_NOT_FOUND")


async def test_mentions_notify_members_only(alice, bob, mike, make_actor, part):
    await make_actor("dave", workspace="other", role="engineer")  # not in acme
    r = await alice.client.post(
        "/v1/comments",
        json={
            "path": part.path,
            "body": "@Bob please check; cc @mike. Not @dave, @alice, me@bob.com, @bob again",
        },
    )
    assert r.status_code == 201, r.text
    comment = r.json()
    assert comment["mentions"] == ["bob", "mike", "alice"]

    events = await _audit(mike, entity="comment")
    mentions = [e for e in events if e["action"] == "mention"]
    assert sorted(e["after"]["mentioned"] for e in mentions) == ["bob", "mike"]
    assert all(e["entityId"] == comment["id"] for e in mentions)
    assert all(e["after"]["path"] == part.path for e in mentions)
    creates = [e for e in events if e["action"] == "create"]
    assert len(creates) == 1
    assert creates[0]["actor"] == "alice@example.com"


async def test_mention_events_go_to_the_mentioned_user_only(alice, bob, part, sessionmaker):
    r = await alice.client.post("/v1/comments", json={"path": part.path, "body": "hey @bob"})
    assert r.status_code == 201
    # The live events are the audit rows as the relay reads them (docs/events.md).
    async with sessionmaker() as session:
        rows = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.entity_type == "comment")
                .order_by(AuditEvent.seq)
            )
        ).all()
    comment_events = [typed.from_audit(row, workspace="acme", actor="alice") for row in rows]
    assert [e["action"] for e in comment_events] == ["create", "mention"]
    assert "to" not in comment_events[0]
    assert comment_events[1]["to"] == "bob"


async def test_viewer_reads_but_cannot_comment(alice, vera, part):
    await alice.client.post("/v1/comments", json={"path": part.path, "body": "hi"})
    r = await vera.client.get("/v1/comments", params={"path": part.path})
    assert r.status_code == 200
    assert r.json()["total"] == 1
    r = await vera.client.post("/v1/comments", json={"path": part.path, "body": "hi"})
    assert_problem(r, 403, "INSUFFICIENT_ROLE")


async def test_strangers_get_404(carol, part):
    r = await carol.client.get("/v1/comments", params={"path": part.path})
    assert_problem(r, 404)
    r = await carol.client.post("/v1/comments", json={"path": part.path, "body": "hi"})
    assert_problem(r, 404)


async def test_anonymous_is_401(client, part):
    r = await client.get("/v1/comments", params={"path": part.path})
    assert_problem(r, 401)


async def test_missing_file_is_404(alice, part):
    r = await alice.client.get("/v1/comments", params={"path": "/v1/serve/acme/alice/none.step"})
    assert_problem(r, 404, "FILE_NOT_FOUND")


async def test_malformed_input(alice, part):
    r = await alice.client.get("/v1/comments", params={"path": "/etc/passwd/xxxx"})
    assert_problem(r, 400, "INVALID_PATH")
    r = await alice.client.get("/v1/comments")
    assert_problem(r, 400, "VALIDATION_ERROR")
    r = await alice.client.post("/v1/comments", json={"path": part.path, "body": "   "})
    assert_problem(r, 400, "VALIDATION_ERROR")
    r = await alice.client.post("/v1/comments", json={"path": part.path, "body": "x" * 10_001})
    assert_problem(r, 400, "VALIDATION_ERROR")
    r = await alice.client.post("/v1/comments", json={"path": part.path, "body": "x", "bogus": 1})
    assert_problem(r, 400, "VALIDATION_ERROR")
    r = await alice.client.post(
        "/v1/comments", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(r, 400, "MALFORMED_JSON")
    r = await alice.client.post(
        "/v1/comments", json={"path": part.path, "body": "x", "versionId": "nope"}
    )
    assert_problem(r, 400, "VALIDATION_ERROR")


async def test_a_10k_comment_is_accepted(alice, part):
    r = await alice.client.post("/v1/comments", json={"path": part.path, "body": "y" * 10_000})
    assert r.status_code == 201


async def test_rate_limit_is_per_workspace_and_ip(alice, make_actor, part):
    for _ in range(120):
        r = await alice.client.get("/v1/comments", params={"path": part.path})
        assert r.status_code == 200, r.text
    r = await alice.client.post("/v1/comments", json={"path": part.path, "body": "one more"})
    assert_problem(r, 429, "RATE_LIMITED")
    assert int(r.headers["Retry-After"]) >= 1

    # Another workspace from the same address has its own budget.
    zed = await make_actor("zed", workspace="zulu", role="engineer")
    r = await zed.client.get("/v1/comments", params={"path": "/v1/serve/zulu/zed/none.step"})
    assert_problem(r, 404, "FILE_NOT_FOUND")
