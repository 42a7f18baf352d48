"""Workspaces, members and user folders (productflo-sync-api: Workspaces & Presence)."""

import uuid

import pytest

from tests.conftest import assert_problem

# --- GET /v1/workspaces -----------------------------------------------------------------------


async def test_list_shows_only_my_workspaces_with_my_role(make_actor):
    alice = await make_actor("alice", workspace="acme", role="engineer")
    await make_actor("bob", workspace="bobs-shop", role="owner")
    response = await alice.client.post("/v1/workspaces", json={"name": "zeta"})
    assert response.status_code == 201, response.text

    response = await alice.client.get("/v1/workspaces")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "total", "page", "pageSize"}
    assert [(w["name"], w["role"]) for w in body["items"]] == [
        ("acme", "engineer"),
        ("zeta", "owner"),
    ]
    assert (body["total"], body["page"], body["pageSize"]) == (2, 1, 50)
    assert all(uuid.UUID(w["id"]) and w["createdAt"] for w in body["items"])


async def test_list_for_my_own_username_is_allowed(make_actor):
    alice = await make_actor("alice", workspace="acme")
    response = await alice.client.get("/v1/workspaces", params={"username": "Alice"})
    assert response.status_code == 200, response.text
    assert [w["name"] for w in response.json()["items"]] == ["acme"]


async def test_list_for_someone_else_is_forbidden(make_actor):
    alice = await make_actor("alice", workspace="acme")
    await make_actor("bob", workspace="acme")
    response = await alice.client.get("/v1/workspaces", params={"username": "bob"})
    assert_problem(response, 403, "FORBIDDEN")


async def test_list_needs_sign_in(client):
    assert_problem(await client.get("/v1/workspaces"), 401, "UNAUTHENTICATED")


# --- POST /v1/workspaces ----------------------------------------------------------------------


async def test_create_makes_the_creator_owner(make_actor):
    alice = await make_actor("alice")
    response = await alice.client.post("/v1/workspaces", json={"name": "new-shop"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["name"], body["role"]) == ("new-shop", "owner")

    listed = (await alice.client.get("/v1/workspaces")).json()["items"]
    assert [(w["id"], w["role"]) for w in listed] == [(body["id"], "owner")]
    members = (await alice.client.get("/v1/users", params={"workspace": "new-shop"})).json()
    assert [(m["username"], m["role"]) for m in members["items"]] == [("alice", "owner")]


async def test_create_duplicate_name_conflicts(make_actor):
    await make_actor("bob", workspace="acme", role="owner")
    alice = await make_actor("alice")
    assert_problem(
        await alice.client.post("/v1/workspaces", json={"name": "acme"}), 409, "WORKSPACE_EXISTS"
    )
    # Names are trimmed and lower-cased, so " ACME " is the same workspace.
    assert_problem(
        await alice.client.post("/v1/workspaces", json={"name": " ACME "}), 409, "WORKSPACE_EXISTS"
    )
    # Surrounding blanks are stripped, so " acme " is the same name.
    assert_problem(
        await alice.client.post("/v1/workspaces", json={"name": " acme "}), 409, "WORKSPACE_EXISTS"
    )
    assert (await alice.client.get("/v1/workspaces")).json()["total"] == 0


@pytest.mark.parametrize(
    "name",
    ["", "   ", "-leading-dash", "has space", "semi;colon", "a/b", "ü-nicode", "x" * 64, 42, None],
)
async def test_create_rejects_invalid_names(make_actor, name):
    alice = await make_actor("alice")
    response = await alice.client.post("/v1/workspaces", json={"name": name})
    body = assert_problem(response, 400, "VALIDATION_ERROR")
    assert any(e["loc"][-1] == "name" for e in body["errors"]), body
    assert (await alice.client.get("/v1/workspaces")).json()["total"] == 0


async def test_create_lower_cases_the_name(make_actor):
    alice = await make_actor("alice")
    response = await alice.client.post("/v1/workspaces", json={"name": "New_Shop"})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "new_shop"
    assert (await alice.client.get("/v1/workspaces/new_shop")).status_code == 200


async def test_create_accepts_the_longest_valid_name(make_actor):
    alice = await make_actor("alice")
    response = await alice.client.post("/v1/workspaces", json={"name": "x" * 63})
    assert response.status_code == 201, response.text


# --- GET /v1/workspaces/{name} ----------------------------------------------------------------


async def test_get_workspace_as_member(make_actor):
    alice = await make_actor("alice", workspace="acme", role="viewer")
    response = await alice.client.get("/v1/workspaces/acme")
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["role"]) == ("acme", "viewer")


async def test_get_workspace_as_non_member_is_404_like_a_missing_one(make_actor):
    await make_actor("bob", workspace="acme", role="owner")
    alice = await make_actor("alice", workspace="other")
    hidden = assert_problem(
        await alice.client.get("/v1/workspaces/acme"), 404, "WORKSPACE_NOT_FOUND"
    )
    missing = assert_problem(
        await alice.client.get("/v1/workspaces/nowhere"), 404, "WORKSPACE_NOT_FOUND"
    )
    assert hidden["detail"].replace("acme", "X") == missing["detail"].replace("nowhere", "X")


# --- PATCH /v1/workspaces/{name}/members/{userId} ---------------------------------------------


async def _role_in(actor, workspace: str) -> str | None:
    response = await actor.client.get("/v1/workspaces")
    roles = {w["name"]: w["role"] for w in response.json()["items"]}
    return roles.get(workspace)


async def test_manager_changes_a_role(make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    eve = await make_actor("eve", workspace="acme", role="engineer")
    response = await manager.client.patch(
        f"/v1/workspaces/acme/members/{eve.user.id}", json={"role": "manager"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["username"], body["role"], body["online"]) == (
        str(eve.user.id),
        "eve",
        "manager",
        False,
    )
    assert await _role_in(eve, "acme") == "manager"

    response = await manager.client.patch(
        f"/v1/workspaces/acme/members/{eve.user.id}", json={"role": "viewer"}
    )
    assert response.status_code == 200, response.text
    assert await _role_in(eve, "acme") == "viewer"


@pytest.mark.parametrize("role", ["admin", "", "OWNER", None])
async def test_patch_rejects_unknown_roles(make_actor, role):
    owner = await make_actor("olivia", workspace="acme", role="owner")
    eve = await make_actor("eve", workspace="acme", role="engineer")
    response = await owner.client.patch(
        f"/v1/workspaces/acme/members/{eve.user.id}", json={"role": role}
    )
    assert_problem(response, 400, "VALIDATION_ERROR")
    assert await _role_in(eve, "acme") == "engineer"


async def test_patch_unknown_member_is_404(make_actor):
    owner = await make_actor("olivia", workspace="acme", role="owner")
    outsider = await make_actor("oscar", workspace="other")
    for user_id in (uuid.uuid4(), outsider.user.id):
        response = await owner.client.patch(
            f"/v1/workspaces/acme/members/{user_id}", json={"role": "viewer"}
        )
        assert_problem(response, 404, "MEMBER_NOT_FOUND")
    assert await _role_in(outsider, "acme") is None


async def test_manager_cannot_grant_owner(make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    eve = await make_actor("eve", workspace="acme", role="engineer")
    response = await manager.client.patch(
        f"/v1/workspaces/acme/members/{eve.user.id}", json={"role": "owner"}
    )
    assert_problem(response, 403, "OWNER_REQUIRED")
    response = await manager.client.patch(
        f"/v1/workspaces/acme/members/{manager.user.id}", json={"role": "owner"}
    )
    assert_problem(response, 403, "OWNER_REQUIRED")
    assert await _role_in(eve, "acme") == "engineer"
    assert await _role_in(manager, "acme") == "manager"


async def test_manager_cannot_demote_or_remove_an_owner(make_actor):
    owner = await make_actor("olivia", workspace="acme", role="owner")
    await make_actor("otto", workspace="acme", role="owner")
    manager = await make_actor("mia", workspace="acme", role="manager")
    url = f"/v1/workspaces/acme/members/{owner.user.id}"
    assert_problem(await manager.client.patch(url, json={"role": "viewer"}), 403, "OWNER_REQUIRED")
    assert_problem(await manager.client.delete(url), 403, "OWNER_REQUIRED")
    assert await _role_in(owner, "acme") == "owner"


async def test_owner_grants_and_removes_ownership(make_actor):
    owner = await make_actor("olivia", workspace="acme", role="owner")
    eve = await make_actor("eve", workspace="acme", role="manager")
    url = f"/v1/workspaces/acme/members/{eve.user.id}"
    response = await owner.client.patch(url, json={"role": "owner"})
    assert response.status_code == 200, response.text
    assert await _role_in(eve, "acme") == "owner"
    # With two owners either may step down.
    response = await eve.client.patch(
        f"/v1/workspaces/acme/members/{owner.user.id}", json={"role": "manager"}
    )
    assert response.status_code == 200, response.text
    assert await _role_in(owner, "acme") == "manager"


async def test_last_owner_cannot_be_demoted(make_actor):
    owner = await make_actor("olivia", workspace="acme", role="owner")
    response = await owner.client.patch(
        f"/v1/workspaces/acme/members/{owner.user.id}", json={"role": "manager"}
    )
    assert_problem(response, 409, "LAST_OWNER")
    assert await _role_in(owner, "acme") == "owner"


async def test_keeping_the_last_owner_an_owner_is_fine(make_actor):
    owner = await make_actor("olivia", workspace="acme", role="owner")
    response = await owner.client.patch(
        f"/v1/workspaces/acme/members/{owner.user.id}", json={"role": "owner"}
    )
    assert response.status_code == 200, response.text


# --- DELETE /v1/workspaces/{name}/members/{userId} --------------------------------------------


async def test_last_owner_cannot_leave(make_actor):
    owner = await make_actor("olivia", workspace="acme", role="owner")
    await make_actor("eve", workspace="acme", role="manager")
    response = await owner.client.delete(f"/v1/workspaces/acme/members/{owner.user.id}")
    assert_problem(response, 409, "LAST_OWNER")
    assert await _role_in(owner, "acme") == "owner"


async def test_one_of_two_owners_may_leave(make_actor):
    owner = await make_actor("olivia", workspace="acme", role="owner")
    await make_actor("otto", workspace="acme", role="owner")
    response = await owner.client.delete(f"/v1/workspaces/acme/members/{owner.user.id}")
    assert response.status_code == 204, response.text
    assert await _role_in(owner, "acme") is None


@pytest.mark.parametrize("role", ["viewer", "engineer", "manager"])
async def test_a_member_may_leave(make_actor, role):
    await make_actor("olivia", workspace="acme", role="owner")
    eve = await make_actor("eve", workspace="acme", role=role)
    response = await eve.client.delete(f"/v1/workspaces/acme/members/{eve.user.id}")
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert await _role_in(eve, "acme") is None
    assert_problem(await eve.client.get("/v1/workspaces/acme"), 404, "WORKSPACE_NOT_FOUND")


async def test_manager_removes_a_member(make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    eve = await make_actor("eve", workspace="acme", role="engineer")
    response = await manager.client.delete(f"/v1/workspaces/acme/members/{eve.user.id}")
    assert response.status_code == 204, response.text
    assert await _role_in(eve, "acme") is None
    # Removing again: no such member any more.
    response = await manager.client.delete(f"/v1/workspaces/acme/members/{eve.user.id}")
    assert_problem(response, 404, "MEMBER_NOT_FOUND")


async def test_engineer_cannot_remove_someone_else(make_actor):
    eve = await make_actor("eve", workspace="acme", role="engineer")
    vic = await make_actor("vic", workspace="acme", role="viewer")
    response = await eve.client.delete(f"/v1/workspaces/acme/members/{vic.user.id}")
    assert_problem(response, 403, "INSUFFICIENT_ROLE")
    assert await _role_in(vic, "acme") == "viewer"


# --- GET /v1/users?workspace= -----------------------------------------------------------------


async def test_users_lists_members_with_role_and_presence(app, make_actor):
    owner = await make_actor("olivia", workspace="acme", role="owner")
    await make_actor("eve", workspace="acme", role="engineer")
    await make_actor("vic", workspace="acme", role="viewer")
    await make_actor("oscar", workspace="other", role="owner")

    response = await owner.client.get("/v1/users", params={"workspace": "acme"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(m["username"], m["role"], m["online"]) for m in body["items"]] == [
        ("eve", "engineer", False),
        ("olivia", "owner", False),
        ("vic", "viewer", False),
    ]
    assert (body["total"], body["page"], body["pageSize"]) == (3, 1, 50)
    assert set(body["items"][0]) == {"id", "username", "name", "email", "role", "online"}

    # A member with an open event stream is online.
    workspace_id = uuid.UUID((await owner.client.get("/v1/workspaces/acme")).json()["id"])
    await app.state.runtime.presence.connect(workspace_id, "eve")
    items = (await owner.client.get("/v1/users", params={"workspace": "acme"})).json()["items"]
    assert {m["username"]: m["online"] for m in items} == {
        "eve": True,
        "olivia": False,
        "vic": False,
    }


async def test_users_of_a_foreign_workspace_is_404(make_actor):
    await make_actor("olivia", workspace="acme", role="owner")
    oscar = await make_actor("oscar", workspace="other")
    response = await oscar.client.get("/v1/users", params={"workspace": "acme"})
    assert_problem(response, 404, "WORKSPACE_NOT_FOUND")


async def test_users_needs_a_workspace(make_actor):
    alice = await make_actor("alice", workspace="acme")
    assert_problem(await alice.client.get("/v1/users"), 400, "VALIDATION_ERROR")


# --- POST /v1/users/init ----------------------------------------------------------------------


async def test_init_is_idempotent_and_defaults_to_the_first_workspace(make_actor):
    alice = await make_actor("alice", workspace="zeta", role="engineer")
    # Joined later, and alphabetically first: the default must still be zeta.
    assert (await alice.client.post("/v1/workspaces", json={"name": "acme"})).status_code == 201

    first = await alice.client.post("/v1/users/init", json={})
    assert first.status_code == 200, first.text
    assert first.json() == {
        "workspace": "zeta",
        "username": "alice",
        "created": True,
        "path": "/v1/serve/zeta/alice/",
        "backfilled": 0,
    }
    second = await alice.client.post("/v1/users/init", json={"workspace": "zeta"})
    assert second.status_code == 200, second.text
    assert second.json()["created"] is False

    other = await alice.client.post("/v1/users/init", json={"workspace": "acme"})
    assert (other.json()["workspace"], other.json()["created"]) == ("acme", True)


async def test_init_backfills_the_workspace_files_into_the_new_folder(make_actor):
    alice = await make_actor("alice", workspace="acme", role="engineer")
    bob = await make_actor("bob", workspace="acme", role="engineer")
    step = b"ISO-10303-21;\nHEADER;\nENDSEC;\n"
    uploaded = await alice.client.post(
        "/v1/upload", params={"workspace": "acme"}, files={"file": ("gear.step", step, "x")}
    )
    assert uploaded.status_code == 201, uploaded.text
    response = await bob.client.post("/v1/users/init", json={"workspace": "acme"})
    assert response.status_code == 200, response.text
    assert response.json()["backfilled"] == 1
    copy = await bob.client.get("/v1/serve/acme/bob/gear.step")
    assert copy.status_code == 200 and copy.content == step
    again = await bob.client.post("/v1/users/init", json={"workspace": "acme"})
    assert again.json()["backfilled"] == 0


async def test_init_of_my_own_username_needs_no_manager(make_actor):
    vic = await make_actor("vic", workspace="acme", role="viewer")
    response = await vic.client.post(
        "/v1/users/init", json={"workspace": "acme", "username": "Vic"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["username"], response.json()["created"]) == ("vic", True)


async def test_manager_inits_another_members_folder(make_actor):
    manager = await make_actor("mia", workspace="acme", role="manager")
    eve = await make_actor("eve", workspace="acme", role="engineer")
    response = await manager.client.post(
        "/v1/users/init", json={"workspace": "acme", "username": "eve"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "workspace": "acme",
        "username": "eve",
        "created": True,
        "path": "/v1/serve/acme/eve/",
        "backfilled": 0,
    }
    # The folder is eve's: her own init now finds it.
    mine = await eve.client.post("/v1/users/init", json={"workspace": "acme"})
    assert mine.json()["created"] is False


async def test_engineer_cannot_init_another_members_folder(make_actor):
    eve = await make_actor("eve", workspace="acme", role="engineer")
    await make_actor("vic", workspace="acme", role="viewer")
    response = await eve.client.post(
        "/v1/users/init", json={"workspace": "acme", "username": "vic"}
    )
    assert_problem(response, 403, "INSUFFICIENT_ROLE")


@pytest.mark.parametrize("username", ["oscar", "nobody"])
async def test_init_for_a_non_member_username_is_404(make_actor, username):
    manager = await make_actor("mia", workspace="acme", role="manager")
    await make_actor("oscar", workspace="other")
    response = await manager.client.post(
        "/v1/users/init", json={"workspace": "acme", "username": username}
    )
    assert_problem(response, 404, "MEMBER_NOT_FOUND")


async def test_init_in_a_foreign_workspace_is_404(make_actor):
    await make_actor("olivia", workspace="acme", role="owner")
    oscar = await make_actor("oscar", workspace="other")
    response = await oscar.client.post("/v1/users/init", json={"workspace": "acme"})
    assert_problem(response, 404, "WORKSPACE_NOT_FOUND")


async def test_init_without_any_workspace_is_400(make_actor):
    loner = await make_actor("loner")
    assert_problem(await loner.client.post("/v1/users/init", json={}), 400, "NO_WORKSPACE")
