"""Personal API tokens: ``POST/GET/DELETE /api/tokens`` (DESIGN: Fixed endpoints outside the
references) and ``Authorization: Bearer``."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text

from tests.conftest import assert_problem
from threadline.auth.models import ApiToken
from threadline.auth.security import token_hash


async def _create(actor, name: str = "ci", **extra: object) -> dict:
    response = await actor.client.post("/api/tokens", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_shows_the_secret_once(make_actor):
    alice = await make_actor("alice")

    created = await _create(alice, "laptop")

    assert created["name"] == "laptop"
    assert created["token"].startswith("tl_")
    assert created["prefix"] == created["token"][:10]
    assert created["expiresAt"] is None
    uuid.UUID(created["id"])


async def test_create_with_expiry(make_actor):
    alice = await make_actor("alice")
    created = await _create(alice, expiresInDays=30)
    assert created["expiresAt"] is not None


async def test_create_rejects_bad_input(make_actor):
    alice = await make_actor("alice")
    assert_problem(await alice.client.post("/api/tokens", json={"name": ""}), 400)
    assert_problem(
        await alice.client.post("/api/tokens", json={"name": "x", "expiresInDays": 0}),
        400,
        "VALIDATION_ERROR",
    )


async def test_list_never_shows_secrets(make_actor):
    alice = await make_actor("alice")
    created = await _create(alice, "laptop")

    response = await alice.client.get("/api/tokens")

    assert response.status_code == 200, response.text
    tokens = response.json()
    # make_actor's own token plus the new one.
    assert sorted(t["name"] for t in tokens) == ["laptop", "tests"]
    listed = next(t for t in tokens if t["id"] == created["id"])
    assert "token" not in listed
    assert listed["prefix"] == created["prefix"]
    assert created["token"] not in response.text
    assert alice.token not in response.text


async def test_list_shows_only_own_tokens(make_actor):
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    await _create(alice, "alice-only")

    names = [t["name"] for t in (await bob.client.get("/api/tokens")).json()]

    assert names == ["tests"]


async def test_new_token_authenticates(make_actor, client):
    alice = await make_actor("alice")
    created = await _create(alice)

    response = await client.get(
        "/api/session", headers={"Authorization": f"Bearer {created['token']}"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["user"]["username"] == "alice"


async def test_deleted_token_no_longer_authenticates(make_actor, client):
    alice = await make_actor("alice")
    created = await _create(alice)
    bearer = {"Authorization": f"Bearer {created['token']}"}
    assert (await client.get("/v1/workspaces", headers=bearer)).status_code == 200

    deleted = await alice.client.delete(f"/api/tokens/{created['id']}")

    assert deleted.status_code == 204, deleted.text
    assert_problem(await client.get("/v1/workspaces", headers=bearer), 401, "INVALID_TOKEN")
    assert created["id"] not in [t["id"] for t in (await alice.client.get("/api/tokens")).json()]
    # Deleting it twice: it is gone.
    assert_problem(await alice.client.delete(f"/api/tokens/{created['id']}"), 404)


async def test_a_token_can_revoke_itself(make_actor):
    alice = await make_actor("alice")
    own = next(t for t in (await alice.client.get("/api/tokens")).json() if t["name"] == "tests")

    assert (await alice.client.delete(f"/api/tokens/{own['id']}")).status_code == 204

    assert_problem(await alice.client.get("/api/tokens"), 401, "INVALID_TOKEN")


async def test_deleting_someone_elses_token_is_404(make_actor, client):
    alice = await make_actor("alice")
    mallory = await make_actor("mallory")
    created = await _create(alice)

    response = await mallory.client.delete(f"/api/tokens/{created['id']}")

    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    # Alice's token still works.
    still = await client.get(
        "/api/session", headers={"Authorization": f"Bearer {created['token']}"}
    )
    assert still.json()["user"]["username"] == "alice"


async def test_deleting_unknown_or_malformed_id(make_actor):
    alice = await make_actor("alice")
    assert_problem(await alice.client.delete(f"/api/tokens/{uuid.uuid4()}"), 404)
    assert_problem(await alice.client.delete("/api/tokens/not-a-uuid"), 400, "VALIDATION_ERROR")


async def test_unknown_bearer_token_is_401_not_anonymous(client):
    headers = {"Authorization": "Bearer tl_not-a-real-token"}
    assert_problem(await client.get("/api/tokens", headers=headers), 401, "INVALID_TOKEN")
    # Even where anonymous callers are welcome, a bad token is refused rather than ignored.
    assert_problem(await client.get("/api/session", headers=headers), 401, "INVALID_TOKEN")


async def test_anonymous_is_401(client):
    assert_problem(await client.get("/api/tokens"), 401, "UNAUTHENTICATED")
    assert_problem(await client.post("/api/tokens", json={"name": "x"}), 401, "UNAUTHENTICATED")
    assert_problem(await client.delete(f"/api/tokens/{uuid.uuid4()}"), 401, "UNAUTHENTICATED")


async def test_token_is_stored_hashed(make_actor, sessionmaker):
    alice = await make_actor("alice")
    created = await _create(alice)
    secret = created["token"]

    async with sessionmaker() as session:
        rows = (await session.execute(text("SELECT * FROM api_tokens"))).all()
        stored = await session.scalar(
            select(ApiToken).where(ApiToken.id == uuid.UUID(created["id"]))
        )

    assert rows
    dumped = repr(rows)
    assert secret not in dumped
    assert secret[10:] not in dumped  # not even the part after the shown prefix
    assert stored is not None
    assert stored.token_hash == token_hash(secret)
