"""Invitations: send, list, validate, accept (productflo-sync-api: Invitations, Rate limits)."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from tests.conftest import assert_problem
from threadline.auth.models import Invitation
from threadline.auth.security import token_hash
from threadline.db import utcnow


async def _send(actor, email, workspace="acme", **extra) -> httpx.Response:
    return await actor.client.post(
        "/api/invitations/send", json={"email": email, "workspace": workspace, **extra}
    )


async def _invite(actor, email, workspace="acme", **extra) -> str:
    """Send an invitation that must succeed; returns its code."""
    response = await _send(actor, email, workspace, **extra)
    assert response.status_code == 201, response.text
    return response.json()["invitationCode"]


async def _workspaces(actor) -> dict[str, str]:
    items = (await actor.client.get("/v1/workspaces")).json()["items"]
    return {w["name"]: w["role"] for w in items}


# --- send -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "owner"])
async def test_manager_or_owner_sends_an_invitation(make_actor, role):
    sender = await make_actor("mia", workspace="acme", role=role)
    response = await _send(sender, "New.Person@Example.com", role="viewer")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["invitationCode"].startswith("inv_")
    invitation = body["invitation"]
    assert invitation["email"] == "new.person@example.com"
    assert (invitation["workspace"], invitation["role"], invitation["status"]) == (
        "acme",
        "viewer",
        "pending",
    )
    assert invitation["invitedBy"] == "Mia"
    assert invitation["acceptedAt"] is None
    assert invitation["expiresAt"] > invitation["createdAt"]


async def test_send_defaults_to_engineer_and_keeps_invited_by(make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    response = await _send(manager, "new@example.com", invitedBy="Mia from Purchasing")
    assert response.status_code == 201, response.text
    invitation = response.json()["invitation"]
    assert (invitation["role"], invitation["invitedBy"]) == ("engineer", "Mia from Purchasing")


@pytest.mark.parametrize("role", ["viewer", "engineer"])
async def test_below_manager_cannot_send(make_actor, role):
    member = await make_actor("eve", workspace="acme", role=role)
    assert_problem(await _send(member, "new@example.com", role="viewer"), 403, "INSUFFICIENT_ROLE")


async def test_non_member_cannot_send_and_learns_nothing(make_actor):
    await make_actor("olivia", workspace="acme", role="owner")
    oscar = await make_actor("oscar", workspace="other", role="owner")
    assert_problem(await _send(oscar, "new@example.com"), 404, "WORKSPACE_NOT_FOUND")
    assert_problem(await _send(oscar, "new@example.com", "nowhere"), 404, "WORKSPACE_NOT_FOUND")


async def test_cannot_invite_above_own_role(make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    assert_problem(await _send(manager, "new@example.com", role="owner"), 403, "INSUFFICIENT_ROLE")
    # Up to one's own role is fine.
    assert (await _send(manager, "new@example.com", role="manager")).status_code == 201


async def test_owner_may_invite_an_owner(make_actor):
    owner = await make_actor("olivia", workspace="acme", role="owner")
    response = await _send(owner, "new@example.com", role="owner")
    assert response.status_code == 201, response.text
    assert response.json()["invitation"]["role"] == "owner"


async def test_inviting_an_existing_member_conflicts(make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    await make_actor("eve", workspace="acme", role="viewer")
    assert_problem(await _send(manager, "EVE@example.com"), 409, "ALREADY_MEMBER")
    # A user who exists but is not a member can be invited.
    await make_actor("oscar", workspace="other")
    assert (await _send(manager, "oscar@example.com")).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "workspace": "acme"},
        {"email": "new@example.com", "workspace": "acme", "role": "admin"},
        {"email": "new@example.com"},
        {"email": "new@example.com", "workspace": "acme", "surprise": 1},
    ],
)
async def test_send_rejects_bad_bodies(make_actor, body):
    manager = await make_actor("mia", workspace="acme", role="manager")
    response = await manager.client.post("/api/invitations/send", json=body)
    assert_problem(response, 400, "VALIDATION_ERROR")


async def test_send_needs_sign_in(client):
    response = await client.post(
        "/api/invitations/send", json={"email": "new@example.com", "workspace": "acme"}
    )
    assert_problem(response, 401, "UNAUTHENTICATED")


async def test_code_is_stored_only_hashed(make_actor, sessionmaker):
    manager = await make_actor("mia", workspace="acme", role="manager")
    code = await _invite(manager, "new@example.com")
    async with sessionmaker() as session:
        rows = (await session.execute(select(Invitation.__table__))).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    assert all(code not in str(value) for value in row.values()), row
    assert row["code_hash"] == token_hash(code)


# --- list -------------------------------------------------------------------------------------


async def test_list_filters_by_status(make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    code = await _invite(manager, "ann@example.com")
    await _invite(manager, "ben@example.com")
    ann = await make_actor("ann", workspace="other")
    assert (
        await ann.client.post("/api/invitations/accept", json={"invitationCode": code})
    ).status_code == 200

    async def emails(**params) -> list[str]:
        response = await manager.client.get("/api/invitations", params=params)
        assert response.status_code == 200, response.text
        return [i["email"] for i in response.json()]

    # Newest first.
    assert await emails() == ["ben@example.com", "ann@example.com"]
    assert await emails(status="all") == ["ben@example.com", "ann@example.com"]
    assert await emails(status="pending") == ["ben@example.com"]
    assert await emails(status="accepted") == ["ann@example.com"]
    assert_problem(
        await manager.client.get("/api/invitations", params={"status": "revoked-ish"}),
        400,
        "VALIDATION_ERROR",
    )


async def test_list_limit(make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    for name in ("a", "b", "c"):
        await _invite(manager, f"{name}@example.com")
    response = await manager.client.get("/api/invitations", params={"limit": 2})
    assert [i["email"] for i in response.json()] == ["c@example.com", "b@example.com"]
    for limit in (0, 501):
        response = await manager.client.get("/api/invitations", params={"limit": limit})
        assert_problem(response, 400, "VALIDATION_ERROR")


async def test_managers_scope_the_list_to_a_workspace(make_actor):
    mia = await make_actor("mia", workspace="acme", role="manager")
    max_ = await make_actor("max", workspace="acme", role="owner")
    await make_actor("mia-elsewhere", workspace="other", role="owner")
    await _invite(mia, "one@example.com")
    await _invite(max_, "two@example.com")
    assert (await mia.client.post("/v1/workspaces", json={"name": "side"})).status_code == 201
    await _invite(mia, "three@example.com", workspace="side")

    # Without a workspace: only what mia sent or received.
    mine = (await mia.client.get("/api/invitations")).json()
    assert {i["email"] for i in mine} == {"one@example.com", "three@example.com"}
    # Scoped: all of acme's, whoever sent them, and nothing from elsewhere.
    scoped = (await mia.client.get("/api/invitations", params={"workspace": "acme"})).json()
    assert {(i["email"], i["workspace"]) for i in scoped} == {
        ("one@example.com", "acme"),
        ("two@example.com", "acme"),
    }


async def test_scoping_the_list_needs_manager(make_actor):
    await make_actor("olivia", workspace="acme", role="owner")
    eve = await make_actor("eve", workspace="acme", role="engineer")
    oscar = await make_actor("oscar", workspace="other")
    response = await eve.client.get("/api/invitations", params={"workspace": "acme"})
    assert_problem(response, 403, "INSUFFICIENT_ROLE")
    response = await oscar.client.get("/api/invitations", params={"workspace": "acme"})
    assert_problem(response, 404, "WORKSPACE_NOT_FOUND")


async def test_invitee_sees_invitations_addressed_to_them(make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    await _invite(manager, "Ann@Example.com", role="viewer")
    await _invite(manager, "ben@example.com")
    ann = await make_actor("ann", workspace="other")
    stranger = await make_actor("zed", workspace="other")

    response = await ann.client.get("/api/invitations")
    assert response.status_code == 200, response.text
    assert [(i["email"], i["workspace"], i["role"]) for i in response.json()] == [
        ("ann@example.com", "acme", "viewer")
    ]
    assert (await stranger.client.get("/api/invitations")).json() == []


# --- validate (pre-auth) ----------------------------------------------------------------------


async def test_validate_a_valid_code_anonymously(client, make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    code = await _invite(manager, "new@example.com", role="viewer")
    response = await client.post("/api/invitations/validate", json={"invitationCode": code})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["valid"], body["email"], body["workspace"], body["role"]) == (
        True,
        "new@example.com",
        "acme",
        "viewer",
    )
    assert body["expiresAt"]


async def test_validate_unknown_code(client):
    response = await client.post("/api/invitations/validate", json={"invitationCode": "inv_nope"})
    assert_problem(response, 404, "INVITATION_INVALID")
    response = await client.post("/api/invitations/validate", json={"invitationCode": ""})
    assert_problem(response, 400, "VALIDATION_ERROR")


async def test_validate_an_accepted_code(client, make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    code = await _invite(manager, "new@example.com")
    newbie = await make_actor("new", email="new@example.com")
    accepted = await newbie.client.post("/api/invitations/accept", json={"invitationCode": code})
    assert accepted.status_code == 200, accepted.text
    response = await client.post("/api/invitations/validate", json={"invitationCode": code})
    assert_problem(response, 409, "INVITATION_USED")


async def test_validate_an_expired_code(client, make_actor, sessionmaker):
    manager = await make_actor("mia", workspace="acme", role="manager")
    code = await _invite(manager, "new@example.com")
    async with sessionmaker() as session:
        await session.execute(
            update(Invitation)
            .where(Invitation.code_hash == token_hash(code))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    response = await client.post("/api/invitations/validate", json={"invitationCode": code})
    assert_problem(response, 410, "INVITATION_EXPIRED")
    newbie = await make_actor("new", email="new@example.com")
    response = await newbie.client.post("/api/invitations/accept", json={"invitationCode": code})
    assert_problem(response, 410, "INVITATION_EXPIRED")
    assert "acme" not in await _workspaces(newbie)


# --- accept -----------------------------------------------------------------------------------


async def test_accept_joins_with_the_invited_role(make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    code = await _invite(manager, "new@example.com", role="viewer")
    newbie = await make_actor("new", email="new@example.com")
    assert await _workspaces(newbie) == {}

    response = await newbie.client.post("/api/invitations/accept", json={"invitationCode": code})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["workspace"], body["role"]) == ("accepted", "acme", "viewer")
    assert body["acceptedAt"]
    assert await _workspaces(newbie) == {"acme": "viewer"}
    members = (await manager.client.get("/v1/users", params={"workspace": "acme"})).json()
    assert ("new", "viewer") in [(m["username"], m["role"]) for m in members["items"]]


async def test_accept_with_another_email_is_refused(make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    code = await _invite(manager, "new@example.com")
    intruder = await make_actor("intruder")
    response = await intruder.client.post("/api/invitations/accept", json={"invitationCode": code})
    assert_problem(response, 403, "INVITATION_EMAIL_MISMATCH")
    assert await _workspaces(intruder) == {}
    # The invitation is still usable by its addressee.
    newbie = await make_actor("new", email="new@example.com")
    response = await newbie.client.post("/api/invitations/accept", json={"invitationCode": code})
    assert response.status_code == 200, response.text


async def test_accepting_twice_conflicts(make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    code = await _invite(manager, "new@example.com")
    newbie = await make_actor("new", email="new@example.com")
    first = await newbie.client.post("/api/invitations/accept", json={"invitationCode": code})
    assert first.status_code == 200, first.text
    again = await newbie.client.post("/api/invitations/accept", json={"invitationCode": code})
    assert_problem(again, 409, "INVITATION_USED")


async def test_accept_unknown_code_and_anonymous(client, make_actor):
    newbie = await make_actor("new")
    response = await newbie.client.post("/api/invitations/accept", json={"invitationCode": "inv_x"})
    assert_problem(response, 404, "INVITATION_INVALID")
    response = await client.post("/api/invitations/accept", json={"invitationCode": "inv_x"})
    assert_problem(response, 401, "UNAUTHENTICATED")


# --- rate limit -------------------------------------------------------------------------------


async def test_sixth_send_within_a_minute_is_rate_limited(app, make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    for n in range(5):
        await _invite(manager, f"person{n}@example.com")
    response = await _send(manager, "person5@example.com")
    body = assert_problem(response, 429, "RATE_LIMITED")
    assert "5 per 1 minute" in body["detail"]
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    listed = (await manager.client.get("/api/invitations", params={"workspace": "acme"})).json()
    assert len(listed) == 5

    # The limit is per IP: another address may still send.
    transport = httpx.ASGITransport(app=app, client=("10.0.0.2", 4321))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {manager.token}"},
    ) as elsewhere:
        response = await elsewhere.post(
            "/api/invitations/send",
            json={"email": "person5@example.com", "workspace": "acme"},
        )
    assert response.status_code == 201, response.text
