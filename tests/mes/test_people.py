"""Users, roles and bureaus of the MES face: who belongs where, and what their role lets them do."""

from __future__ import annotations

import contextlib
import uuid

import httpx
from sqlalchemy import event, select

from tests.conftest import MakeActor, assert_problem
from tests.mes.conftest import Mes
from threadline.auth.models import Membership, Role


async def _membership_role(sessionmaker, user_id) -> Role:
    async with sessionmaker() as session:
        return await session.scalar(select(Membership.role).where(Membership.user_id == user_id))


def _id(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


# --- /users/ ----------------------------------------------------------------------------------


async def test_manager_creates_a_user_who_can_log_in(mes: Mes, client: httpx.AsyncClient) -> None:
    uri = await mes.create(
        "users",
        {
            "email": "Nina@Example.com",
            "name": "Nina Operator",
            "password": "s3cret-pass",
            "company": "Acme",
        },
    )
    assert uri.startswith("http://testserver/mes/users/")
    user = await mes.get(uri)
    assert user["email"] == "nina@example.com" and user["name"] == "Nina Operator"
    assert user["company"] == "Acme" and user["archived"] is False
    assert user["bureau"].startswith("http://testserver/mes/bureau/")
    assert "password" not in user
    listed = await mes.list("users")
    assert {u["email"] for u in listed["resources"]} == {"mgr@example.com", "nina@example.com"}
    response = await client.post(
        "/mes/sessions/", json={"username": "nina@example.com", "password": "s3cret-pass"}
    )
    assert response.status_code == 200, response.text
    # a new user is a standard-user: an engineer of the bureau
    roles = await mes.list("role", **{"filter[user]": uri})
    assert [r["role"] for r in roles["resources"]] == ["standard-user"]


async def test_existing_account_is_added_by_email(
    make_actor: MakeActor, mes: Mes, other_mes: Mes
) -> None:
    uri = await mes.create("users", {"email": other_mes.actor.user.email})
    assert _id(uri) == str(other_mes.actor.user.id)
    response = await mes.client.post("/mes/users/", json={"email": other_mes.actor.user.email})
    assert_problem(response, 400, "ALREADY_MEMBER")
    # the added user now sees both bureaus
    bureaus = await other_mes.list("bureau")
    assert bureaus["meta"]["count"] == 2


async def test_users_bad_input_and_roles(make_actor: MakeActor, mes: Mes) -> None:
    post = mes.client.post
    assert_problem(await post("/mes/users/", json={"name": "x"}), 400, "FIELD_REQUIRED")
    assert_problem(
        await post("/mes/users/", json={"email": "a@b.c", "colour": 1}), 400, "UNKNOWN_FIELD"
    )
    assert_problem(
        await post("/mes/users/", json={"email": "a@b.c", "password": "short"}),
        400,
        "INVALID_FIELD",
    )
    response = await post("/mes/users/", json={"email": "a@b.c", "get_contactless_logon": True})
    assert_problem(response, 400, "CONTACTLESS_UNSUPPORTED")
    engineer = Mes(await make_actor("eve", workspace="acme", role="engineer"))
    response = await engineer.client.post("/mes/users/", json={"email": "z@example.com"})
    assert_problem(response, 403, "INSUFFICIENT_ROLE")
    assert_problem(await mes.client.get("/mes/users/not-a-uuid/"), 404)


async def test_another_bureaus_user_is_404(mes: Mes, other_mes: Mes) -> None:
    theirs = f"/mes/users/{other_mes.actor.user.id}/"
    assert_problem(await mes.client.get(theirs), 404, "RESOURCE_NOT_FOUND")
    assert_problem(await mes.client.put(theirs, json={"name": "x"}), 404)
    assert (await mes.list("users", **{"filter[email]": other_mes.actor.user.email}))["meta"][
        "count"
    ] == 0
    # a role for them is refused as if they did not exist
    response = await mes.client.post("/mes/role/", json={"user": theirs, "role": "restricted"})
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")


async def test_put_user_self_and_manager(make_actor: MakeActor, mes: Mes, client) -> None:
    worker = Mes(await make_actor("walt", workspace="acme", role="engineer"))
    uri = f"/mes/users/{worker.actor.user.id}/"
    await worker.update(uri, {"name": "Walter", "address": "1 Road"})
    await mes.update(uri, {"company": "Acme"})
    got = await mes.get(uri)
    assert (got["name"], got["address"], got["company"]) == ("Walter", "1 Road", "Acme")
    assert_problem(
        await worker.client.put(f"/mes/users/{mes.actor.user.id}/", json={"name": "x"}), 403
    )
    assert_problem(await mes.client.put(uri, json={"password": "new-password-1"}), 403, "SELF_ONLY")
    assert_problem(await mes.client.put(uri, json={"email": "w@x.y"}), 400, "READ_ONLY_FIELD")
    await worker.update(uri, {"password": "new-password-1"})
    response = await client.post(
        "/mes/sessions/", json={"username": worker.actor.user.email, "password": "new-password-1"}
    )
    assert response.status_code == 200
    # GET's body sent back as it was is accepted
    await mes.update(uri, await mes.get(uri))


async def test_archived_user_loses_the_bureau(make_actor: MakeActor, mes: Mes) -> None:
    worker = Mes(await make_actor("arch", workspace="acme", role="engineer"))
    uri = f"/mes/users/{worker.actor.user.id}/"
    assert (await worker.list("location"))["meta"]["count"] == 0
    assert_problem(await worker.client.put(uri, json={"archived": True}), 403)
    await mes.update(uri, {"archived": True})
    assert (await worker.list("bureau"))["meta"]["count"] == 0
    response = await worker.client.post("/mes/location/", json={"name": "x", "address": "y"})
    assert_problem(response, 400, "NO_BUREAU")
    archived = await mes.list("users", **{"filter[archived]": "true"})
    assert [u["uri"] for u in archived["resources"]] == [f"http://testserver{uri}"]
    await mes.update(uri, {"archived": False})
    assert (await worker.list("bureau"))["meta"]["count"] == 1
    assert_problem(
        await mes.client.put(f"/mes/users/{mes.actor.user.id}/", json={"archived": True}),
        400,
        "SELF_SUSPEND",
    )


# --- /role/ -----------------------------------------------------------------------------------


async def test_role_maps_onto_the_membership(make_actor: MakeActor, mes: Mes, sessionmaker) -> None:
    worker = await make_actor("rob", workspace="acme", role="engineer")
    user = f"/mes/users/{worker.user.id}/"
    listed = await mes.list("role", **{"filter[user]": user})
    (implied,) = listed["resources"]  # a member without MES roles reads as their workspace role
    assert implied["role"] == "standard-user" and implied["username"] == "rob"
    manager = await mes.create("role", {"user": user, "role": "manager"})
    assert await _membership_role(sessionmaker, worker.user.id) == Role.manager
    await mes.delete(manager)
    assert await _membership_role(sessionmaker, worker.user.id) == Role.engineer
    await mes.update(implied["uri"], {"role": "restricted"})
    assert await _membership_role(sessionmaker, worker.user.id) == Role.viewer
    guest = await mes.create("role", {"user": user, "role": "self-registered-guest"})
    highest = await mes.list("role", **{"filter[user]": user, "filter[highest_only]": "true"})
    assert [r["role"] for r in highest["resources"]] == ["restricted"]
    await mes.delete(implied["uri"])
    await mes.delete(guest)
    assert await _membership_role(sessionmaker, worker.user.id) == Role.viewer


async def test_owner_stays_owner(make_actor: MakeActor, sessionmaker) -> None:
    owner = Mes(await make_actor("olga", workspace="shop", role="owner"))
    me = f"/mes/users/{owner.actor.user.id}/"
    (mine,) = (await owner.list("role", **{"filter[user]": me}))["resources"]
    assert mine["role"] == "manager"
    await owner.update(mine["uri"], {"role": "restricted"})
    assert await _membership_role(sessionmaker, owner.actor.user.id) == Role.owner


async def test_location_roles_and_bad_role_input(mes: Mes, make_actor: MakeActor) -> None:
    worker = await make_actor("lou", workspace="acme", role="engineer")
    user = f"/mes/users/{worker.user.id}/"
    post = mes.client.post
    assert_problem(
        await post("/mes/role/", json={"user": user, "role": "location-user"}),
        400,
        "LOCATION_REQUIRED",
    )
    location = await mes.create("location", {"name": "Plant", "address": "x"})
    uri = await mes.create("role", {"user": user, "role": "location-user", "location": location})
    assert (await mes.get(uri))["location"] == location
    response = await post(
        "/mes/role/", json={"user": user, "role": "global-user", "location": location}
    )
    assert_problem(response, 400, "LOCATION_NOT_ALLOWED")
    assert_problem(
        await post("/mes/role/", json={"user": user, "role": "boss"}), 400, "INVALID_FIELD"
    )
    response = await post(
        "/mes/role/", json={"user": user, "role": "location-user", "location": location}
    )
    assert_problem(response, 400, "ROLE_EXISTS")
    assert_problem(await post("/mes/role/", json={"role": "manager"}), 400, "FIELD_REQUIRED")


async def test_role_visibility_and_writes(make_actor: MakeActor, mes: Mes, other_mes: Mes) -> None:
    worker = Mes(await make_actor("vera", workspace="acme", role="engineer"))
    await mes.list("role")  # materialises the members' roles
    own = await worker.list("role")
    assert {r["username"] for r in own["resources"]} == {"vera"}
    everyone = await mes.list("role")
    assert {r["username"] for r in everyone["resources"]} == {"mgr", "vera"}
    mgr_role = next(r["uri"] for r in everyone["resources"] if r["username"] == "mgr")
    assert_problem(await worker.client.get(mgr_role), 404, "RESOURCE_NOT_FOUND")
    assert_problem(
        await worker.client.put(own["resources"][0]["uri"], json={"role": "manager"}),
        403,
        "INSUFFICIENT_ROLE",
    )
    body = {"user": f"/mes/users/{worker.actor.user.id}/", "role": "manager"}
    assert_problem(await worker.client.post("/mes/role/", json=body), 403, "INSUFFICIENT_ROLE")
    assert_problem(await other_mes.client.get(mgr_role), 404, "RESOURCE_NOT_FOUND")
    assert_problem(await other_mes.client.delete(mgr_role), 404)


# --- /bureau/ ---------------------------------------------------------------------------------


async def test_bureau_list_get_put(make_actor: MakeActor, mes: Mes, other_mes: Mes) -> None:
    listed = await mes.list("bureau")
    (bureau,) = listed["resources"]
    assert bureau["name"] == "acme" and bureau["user"].endswith(f"/mes/users/{mes.actor.user.id}/")
    # the bureau URI other resources render
    location = await mes.create("location", {"name": "Here", "address": "x"})
    assert (await mes.get(location))["bureau"] == bureau["uri"]
    await mes.update(
        bureau["uri"],
        {
            "name": "Acme Print Bureau",
            "description": "SLS and FDM",
            "notifications": {"order_shipped": True},
        },
    )
    got = await mes.get(bureau["uri"])
    assert got["name"] == "Acme Print Bureau" and got["notifications"] == {"order_shipped": True}
    viewer = Mes(await make_actor("vic", workspace="acme", role="viewer"))
    assert (await viewer.get(bureau["uri"]))["name"] == "Acme Print Bureau"
    assert_problem(
        await viewer.client.put(bureau["uri"], json={"name": "x"}), 403, "INSUFFICIENT_ROLE"
    )
    assert_problem(await other_mes.client.get(bureau["uri"]), 404, "RESOURCE_NOT_FOUND")
    assert_problem(await other_mes.client.put(bureau["uri"], json={"name": "x"}), 404)
    response = await mes.client.put(bureau["uri"], json={"notifications": {"order_lost": True}})
    assert_problem(response, 400, "INVALID_FIELD")


async def test_bureau_post_makes_the_caller_owner(mes: Mes, sessionmaker) -> None:
    uri = await mes.create("bureau", {"name": "Second Shop", "group": "/mes/groups/x/"})
    assert (await mes.get(uri))["name"] == "Second Shop"
    assert (await mes.list("bureau"))["meta"]["count"] == 2
    async with sessionmaker() as session:
        role = await session.scalar(
            select(Membership.role).where(
                Membership.workspace_id == uuid.UUID(_id(uri)),
                Membership.user_id == mes.actor.user.id,
            )
        )
    assert role == Role.owner
    roles = await mes.list("role", **{"filter[bureau]": uri})
    assert [r["role"] for r in roles["resources"]] == ["manager"]
    response = await mes.client.post("/mes/bureau/", json={"name": "second shop"})
    body = assert_problem(response, 400, "NAME_EXISTS")
    assert body["detail"] == "The requested bureau name already exists."
    assert_problem(await mes.client.post("/mes/bureau/", json={}), 400, "FIELD_REQUIRED")
    # with two bureaus, a write must name one
    response = await mes.client.post("/mes/location/", json={"name": "x", "address": "y"})
    assert_problem(response, 400, "BUREAU_REQUIRED")


async def test_unauthenticated_is_401_everywhere(client: httpx.AsyncClient) -> None:
    for path in ("/mes/users/", "/mes/role/", "/mes/bureau/", "/mes/api_tokens/"):
        assert_problem(await client.get(path), 401, "UNAUTHENTICATED")


@contextlib.contextmanager
def _counted(engine):
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_lists_are_set_based(make_actor: MakeActor, mes: Mes, engine) -> None:
    """LIST /users/ and /role/ send as many statements for 3 users as for 13."""
    counts = []
    for size in (2, 10):  # users added this round: 3, then 13 in the bureau
        for i in range(size):
            await mes.create("users", {"email": f"u{size}-{i}@example.com"})
        await mes.list("role")  # roles exist from here on (the first LIST materialises them)
        with _counted(engine) as statements:
            await mes.list("users")
            await mes.list("role")
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


async def test_user_put_naming_a_bureau_they_are_not_in_is_404(mes: Mes) -> None:
    second = await mes.create("bureau", {"name": "Annex"})
    worker = await mes.create("users", {"email": "annie@example.com", "bureau": second})
    first = next(b["uri"] for b in (await mes.list("bureau"))["resources"] if b["uri"] != second)
    response = await mes.client.put(worker, json={"bureau": first, "company": "x"})
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    await mes.update(worker, {"bureau": second, "company": "Annex Ltd"})
    got = await mes.get(worker)
    assert got["company"] == "Annex Ltd" and got["bureau"] == second


async def test_role_of_a_deleted_location_reads_null(make_actor: MakeActor, mes: Mes) -> None:
    worker = await make_actor("dora", workspace="acme", role="engineer")
    location = await mes.create("location", {"name": "Gone", "address": "x"})
    uri = await mes.create(
        "role",
        {"user": f"/mes/users/{worker.user.id}/", "role": "location-user", "location": location},
    )
    await mes.delete(location)
    assert (await mes.get(uri))["location"] is None


async def test_blocked_until_suspends_until_then(make_actor: MakeActor, mes: Mes) -> None:
    worker = Mes(await make_actor("bob", workspace="acme", role="engineer"))
    uri = f"/mes/users/{worker.actor.user.id}/"
    await mes.update(uri, {"blocked_until": "2999-01-01T00:00:00Z"})
    assert (await worker.list("bureau"))["meta"]["count"] == 0
    assert (await mes.get(uri))["blocked_until"] == "2999-01-01T00:00:00Z"
    await mes.update(uri, {"blocked_until": "2000-01-01T00:00:00Z"})
    assert (await worker.list("bureau"))["meta"]["count"] == 1
    await mes.update(uri, {"blocked_until": None})
    assert (await mes.get(uri))["blocked_until"] is None
    response = await mes.client.put(uri, json={"blocked_until": "soon"})
    assert_problem(response, 400, "INVALID_FIELD")
