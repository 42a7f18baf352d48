"""The audit log: every write leaves one row, in the same transaction as the write itself."""

import uuid

import pytest
from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import assert_problem
from threadline.audit import service as audit
from threadline.audit.models import AuditEvent
from threadline.db import SessionDep
from threadline.errors import Conflict


async def _events(actor, workspace="acme", **params) -> dict:
    response = await actor.client.get("/v1/audit", params={"workspace": workspace, **params})
    assert response.status_code == 200, response.text
    return response.json()


async def _audit_row_count(sessionmaker) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


# --- every write is recorded ------------------------------------------------------------------


async def test_creating_a_workspace_is_recorded(make_actor):
    alice = await make_actor("alice")
    created = await alice.client.post("/v1/workspaces", json={"name": "acme"})
    assert created.status_code == 201, created.text

    body = await _events(alice)
    assert (body["total"], body["page"], body["pageSize"]) == (1, 1, 50)
    [event] = body["items"]
    assert event["actor"] == "alice@example.com"
    assert event["actorId"] == str(alice.user.id)
    assert (event["entityType"], event["entityId"], event["action"]) == (
        "workspace",
        created.json()["id"],
        "create",
    )
    assert event["before"] is None
    assert event["after"] == {"name": "acme", "owner": "alice"}
    assert uuid.UUID(event["id"]) and event["createdAt"]


async def test_invitation_send_and_accept_are_recorded_newest_first(make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    sent = await manager.client.post(
        "/api/invitations/send",
        json={"email": "new@example.com", "workspace": "acme", "role": "viewer"},
    )
    assert sent.status_code == 201, sent.text
    invitation_id = sent.json()["invitation"]["id"]
    newbie = await make_actor("new", email="new@example.com")
    accepted = await newbie.client.post(
        "/api/invitations/accept", json={"invitationCode": sent.json()["invitationCode"]}
    )
    assert accepted.status_code == 200, accepted.text

    items = (await _events(manager))["items"]
    assert [(e["entityType"], e["action"]) for e in items] == [
        ("invitation", "accept"),
        ("invitation", "create"),
        ("workspace", "create"),
    ]
    accept, create = items[0], items[1]
    assert accept["entityId"] == create["entityId"] == invitation_id
    assert (create["actor"], create["before"], create["after"]) == (
        "mia@example.com",
        None,
        {"email": "new@example.com", "role": "viewer"},
    )
    assert (accept["actor"], accept["actorId"]) == ("new@example.com", str(newbie.user.id))
    assert accept["before"] == {"status": "pending"}
    assert accept["after"] == {"status": "accepted", "role": "viewer"}


async def test_role_change_is_recorded_with_before_and_after(make_actor):
    owner = await make_actor("olivia", workspace="acme", role="owner")
    eve = await make_actor("eve", workspace="acme", role="engineer")
    response = await owner.client.patch(
        f"/v1/workspaces/acme/members/{eve.user.id}", json={"role": "manager"}
    )
    assert response.status_code == 200, response.text

    [event] = (await _events(owner, entity="membership"))["items"]
    assert (event["action"], event["actor"]) == ("update", "olivia@example.com")
    assert event["before"] == {"userId": str(eve.user.id), "role": "engineer"}
    assert event["after"] == {"userId": str(eve.user.id), "role": "manager"}


async def test_events_of_other_workspaces_are_not_listed(make_actor):
    owner = await make_actor("olivia", workspace="acme", role="owner")
    other = await make_actor("oscar", workspace="other", role="owner")
    await other.client.post(
        "/api/invitations/send", json={"email": "x@example.com", "workspace": "other"}
    )
    items = (await _events(owner))["items"]
    assert [(e["entityType"], e["action"]) for e in items] == [("workspace", "create")]


# --- filters and paging -----------------------------------------------------------------------


@pytest.fixture
async def busy_workspace(make_actor):
    """acme with: workspace create, two invitations sent, one accepted, one role change."""
    manager = await make_actor("mia", workspace="acme", role="owner")
    codes, ids = [], []
    for email in ("ann@example.com", "ben@example.com"):
        response = await manager.client.post(
            "/api/invitations/send", json={"email": email, "workspace": "acme"}
        )
        assert response.status_code == 201, response.text
        codes.append(response.json()["invitationCode"])
        ids.append(response.json()["invitation"]["id"])
    ann = await make_actor("ann", email="ann@example.com")
    response = await ann.client.post("/api/invitations/accept", json={"invitationCode": codes[0]})
    assert response.status_code == 200, response.text
    response = await manager.client.patch(
        f"/v1/workspaces/acme/members/{ann.user.id}", json={"role": "viewer"}
    )
    assert response.status_code == 200, response.text
    return manager, ids


async def test_filter_by_entity_type(busy_workspace):
    manager, ids = busy_workspace
    body = await _events(manager, entity="invitation")
    assert body["total"] == 3
    assert [(e["entityId"], e["action"]) for e in body["items"]] == [
        (ids[0], "accept"),
        (ids[1], "create"),
        (ids[0], "create"),
    ]
    assert (await _events(manager, entity="nothing-like-this"))["total"] == 0


async def test_filter_by_one_entity(busy_workspace):
    manager, ids = busy_workspace
    for params in (
        {"entity": f"invitation:{ids[0]}"},
        {"entity": "invitation", "entityId": ids[0]},
    ):
        body = await _events(manager, **params)
        assert [(e["entityId"], e["action"]) for e in body["items"]] == [
            (ids[0], "accept"),
            (ids[0], "create"),
        ], params
    # The type must match too: the same id under another type is nothing.
    assert (await _events(manager, entity=f"workspace:{ids[0]}"))["total"] == 0


async def test_filter_by_action(busy_workspace):
    manager, _ids = busy_workspace
    body = await _events(manager, action="create")
    assert [e["entityType"] for e in body["items"]] == ["invitation", "invitation", "workspace"]
    body = await _events(manager, action="update")
    assert [e["entityType"] for e in body["items"]] == ["membership"]


async def test_paging(busy_workspace):
    manager, _ids = busy_workspace
    everything = (await _events(manager))["items"]
    assert len(everything) == 5
    pages = [await _events(manager, page=p, pageSize=2) for p in (1, 2, 3, 4)]
    assert [p["total"] for p in pages] == [5, 5, 5, 5]
    assert [len(p["items"]) for p in pages] == [2, 2, 1, 0]
    assert [e["id"] for p in pages for e in p["items"]] == [e["id"] for e in everything]
    assert [(p["page"], p["pageSize"]) for p in pages] == [(1, 2), (2, 2), (3, 2), (4, 2)]
    # Newest first throughout.
    stamps = [e["createdAt"] for e in everything]
    assert stamps == sorted(stamps, reverse=True)


# --- who may read it --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "engineer"])
async def test_below_manager_cannot_read_the_log(make_actor, role):
    await make_actor("olivia", workspace="acme", role="owner")
    member = await make_actor("eve", workspace="acme", role=role)
    response = await member.client.get("/v1/audit", params={"workspace": "acme"})
    assert_problem(response, 403, "INSUFFICIENT_ROLE")


async def test_non_member_gets_404(make_actor):
    await make_actor("olivia", workspace="acme", role="owner")
    oscar = await make_actor("oscar", workspace="other", role="owner")
    response = await oscar.client.get("/v1/audit", params={"workspace": "acme"})
    assert_problem(response, 404, "WORKSPACE_NOT_FOUND")


async def test_anonymous_gets_401(client):
    response = await client.get("/v1/audit", params={"workspace": "acme"})
    assert_problem(response, 401, "UNAUTHENTICATED")


# --- failure atomicity ------------------------------------------------------------------------


async def test_invitation_to_an_existing_member_leaves_no_audit_row(make_actor, sessionmaker):
    manager = await make_actor("mia", workspace="acme", role="manager")
    await make_actor("eve", workspace="acme", role="engineer")
    before = await _audit_row_count(sessionmaker)
    response = await manager.client.post(
        "/api/invitations/send", json={"email": "eve@example.com", "workspace": "acme"}
    )
    assert_problem(response, 409, "ALREADY_MEMBER")
    assert await _audit_row_count(sessionmaker) == before
    assert (await _events(manager, entity="invitation"))["total"] == 0


async def test_demoting_the_last_owner_leaves_no_audit_row(make_actor, sessionmaker):
    owner = await make_actor("olivia", workspace="acme", role="owner")
    before = await _audit_row_count(sessionmaker)
    response = await owner.client.patch(
        f"/v1/workspaces/acme/members/{owner.user.id}", json={"role": "viewer"}
    )
    assert_problem(response, 409, "LAST_OWNER")
    assert await _audit_row_count(sessionmaker) == before
    assert (await _events(owner, entity="membership"))["total"] == 0


@pytest.fixture
def audited_route(app):
    """``POST /test-only/audited/{marker}?fail=``: writes an audit row, then fails if asked."""
    router = APIRouter()

    @router.post("/test-only/audited/{marker}")
    async def audited(marker: str, fail: bool = False, session: AsyncSession = SessionDep) -> dict:
        audit.record(
            session,
            actor=None,
            workspace=None,
            entity_type="test",
            entity_id=marker,
            action="create",
        )
        await session.flush()  # the row is really in the database's transaction now
        if fail:
            raise Conflict("Refused after the audit row was written.", code="TEST_CONFLICT")
        return {"ok": True}

    app.include_router(router)
    return "/test-only/audited"


async def _rows_for(sessionmaker, marker: str) -> list[AuditEvent]:
    async with sessionmaker() as session:
        return list(
            (
                await session.scalars(
                    select(AuditEvent).where(
                        AuditEvent.entity_type == "test", AuditEvent.entity_id == marker
                    )
                )
            ).all()
        )


async def test_audit_row_rolls_back_with_a_failed_request(client, audited_route, sessionmaker):
    marker = uuid.uuid4().hex
    response = await client.post(f"{audited_route}/{marker}", params={"fail": "true"})
    assert_problem(response, 409, "TEST_CONFLICT")
    assert await _rows_for(sessionmaker, marker) == []


async def test_audit_row_commits_with_a_successful_request(client, audited_route, sessionmaker):
    marker = uuid.uuid4().hex
    response = await client.post(f"{audited_route}/{marker}")
    assert response.status_code == 200, response.text
    [row] = await _rows_for(sessionmaker, marker)
    assert (row.actor_label, row.action, row.workspace_id) == ("system", "create", None)
