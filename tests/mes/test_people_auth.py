"""How MES clients sign in: sessions (cookie and bearer), API tokens (HTTP Basic), CSRF."""

from __future__ import annotations

import httpx

from tests.conftest import PASSWORD, Actor, MakeActor, assert_problem
from tests.mes.conftest import Mes


async def _log_in(client: httpx.AsyncClient, actor: Actor) -> dict:
    response = await client.post(
        "/mes/sessions/", json={"username": actor.user.email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_about_answers_without_credentials(client: httpx.AsyncClient) -> None:
    response = await client.get("/mes/about/")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] and body["version"] and body["deployment_date"]
    assert (await client.get("/mes/about")).status_code == 200


async def test_login_gives_cookie_and_bearer_token(client: httpx.AsyncClient, mes: Mes) -> None:
    session = await _log_in(client, mes.actor)
    assert session["username"] == mes.actor.user.email
    assert session["uri"] == f"http://testserver/mes/users/{mes.actor.user.id}/"
    assert session["token"].startswith("ts_")
    assert client.cookies.get("tl_session") == session["token"]
    # the cookie alone reads every route
    assert (await client.get("/mes/location/")).status_code == 200
    who = await client.get("/mes/sessions/")
    assert who.status_code == 200 and "token" not in who.json()
    # the token as a bearer, without the cookie
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as bare:
        headers = {"Authorization": f"Bearer {session['token']}"}
        assert (await bare.get("/mes/location/", headers=headers)).status_code == 200
        response = await bare.post(
            "/mes/location/", headers=headers, json={"name": "Bearer HQ", "address": "x"}
        )
        assert response.status_code == 204, response.text
        # logging out ends the session: the bearer token stops working
        assert (await bare.delete("/mes/sessions/", headers=headers)).status_code == 204
        response = await bare.get("/mes/location/", headers=headers)
        assert_problem(response, 401, "INVALID_TOKEN")


async def test_cookie_logout_needs_no_csrf(client: httpx.AsyncClient, mes: Mes) -> None:
    await _log_in(client, mes.actor)
    assert (await client.delete("/mes/sessions/")).status_code == 204
    client.cookies.clear()
    assert_problem(await client.get("/mes/sessions/"), 401, "UNAUTHENTICATED")


async def test_wrong_credentials_and_bad_login_bodies(client: httpx.AsyncClient, mes: Mes) -> None:
    email = mes.actor.user.email
    response = await client.post("/mes/sessions/", json={"username": email, "password": "nope"})
    body = assert_problem(response, 401, "INVALID_CREDENTIALS")
    assert body["detail"] == "E-mail or password is wrong."
    response = await client.post(
        "/mes/sessions/", json={"username": "nobody@example.com", "password": "x"}
    )
    assert_problem(response, 401, "INVALID_CREDENTIALS")
    response = await client.post("/mes/sessions/", json={"password": PASSWORD})
    assert_problem(response, 400, "FIELD_REQUIRED")
    response = await client.post(
        "/mes/sessions/", json={"username": email, "password": PASSWORD, "logon_type": "qr"}
    )
    assert_problem(response, 400, "LOGON_TYPE_UNSUPPORTED")
    response = await client.post(
        "/mes/sessions/", json={"username": email, "password": PASSWORD, "logon_type": "fax"}
    )
    assert_problem(response, 400, "INVALID_FIELD")
    response = await client.post(
        "/mes/sessions/", json={"username": email, "password": PASSWORD, "colour": 1}
    )
    assert_problem(response, 400, "UNKNOWN_FIELD")
    assert_problem(await client.get("/mes/sessions/"), 401, "UNAUTHENTICATED")


async def test_login_is_rate_limited(client: httpx.AsyncClient, mes: Mes) -> None:
    body = {"username": mes.actor.user.email, "password": "wrong"}
    statuses = [(await client.post("/mes/sessions/", json=body)).status_code for _ in range(21)]
    assert statuses[:20] == [401] * 20 and statuses[20] == 429


async def test_api_token_from_a_cookie_session_then_basic_auth(
    client: httpx.AsyncClient, mes: Mes
) -> None:
    await _log_in(client, mes.actor)
    # what real MES clients do: the cookie alone, a JSON body, no CSRF header
    response = await client.post("/mes/api_tokens/", json={"name": "robot"})
    assert response.status_code == 201, response.text
    token = response.json()
    assert token["name"] == "robot" and token["secret"]
    assert token["user_uuid"] == str(mes.actor.user.id)
    assert response.headers["location"] == token["uri"]
    basic = httpx.BasicAuth(token["uuid"], token["secret"])
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as bare:
        assert (await bare.get("/mes/location/", auth=basic)).status_code == 200
        response = await bare.post(
            "/mes/location/", auth=basic, json={"name": "Basic HQ", "address": "x"}
        )
        assert response.status_code == 204, response.text
        wrong = httpx.BasicAuth(token["uuid"], token["secret"] + "x")
        assert_problem(await bare.get("/mes/location/", auth=wrong), 401, "INVALID_TOKEN")
        bad = {"Authorization": "Basic !!!"}
        assert_problem(await bare.get("/mes/location/", headers=bad), 401, "INVALID_TOKEN")
        # the secret is never shown again
        listed = (await bare.get("/mes/api_tokens/", auth=basic)).json()
        mine = next(t for t in listed["resources"] if t["uuid"] == token["uuid"])
        assert mine["secret"] is None
        assert (await bare.get(token["uri"], auth=basic)).json()["secret"] is None
        # revoking ends it
        assert (await bare.delete(token["uri"], auth=basic)).status_code == 204
        assert_problem(await bare.get("/mes/location/", auth=basic), 401, "INVALID_TOKEN")
    # the personal bearer token keeps working
    assert (await mes.client.get("/mes/location/")).status_code == 200


async def test_api_tokens_are_private_and_validated(mes: Mes, other_mes: Mes) -> None:
    response = await mes.client.post("/mes/api_tokens/", json={"name": "mine"})
    uri = response.json()["uri"]
    assert_problem(await other_mes.client.get(uri), 404, "RESOURCE_NOT_FOUND")
    assert_problem(await other_mes.client.delete(uri), 404, "RESOURCE_NOT_FOUND")
    assert_problem(await mes.client.post("/mes/api_tokens/", json={}), 400, "FIELD_REQUIRED")
    response = await mes.client.post("/mes/api_tokens/", json={"name": "x", "secret": "abc"})
    assert_problem(response, 400, "READ_ONLY_FIELD")
    assert_problem(
        await mes.client.post("/mes/api_tokens/", json={"name": 3}), 400, "INVALID_FIELD"
    )
    assert (await mes.client.put(uri, json={"name": "y"})).status_code == 405


async def test_cookie_writes_need_csrf_unless_json(client: httpx.AsyncClient, mes: Mes) -> None:
    await _log_in(client, mes.actor)
    response = await client.post("/mes/location/", data={"name": "Form", "address": "x"})
    assert_problem(response, 403, "CSRF_FAILED")
    token = (await client.get("/mes/csrf-token/")).json()["token"]
    response = await client.post(
        "/mes/location/",
        content=b'{"name": "Form", "address": "x"}',
        headers={"content-type": "text/plain", "X-CSRF-Token": token},
    )
    assert response.status_code == 204, response.text
    response = await client.post("/mes/location/", json={"name": "Json", "address": "x"})
    assert response.status_code == 204, response.text


async def test_role_writes_need_csrf_token_in_the_payload(
    client: httpx.AsyncClient, make_actor: MakeActor, mes: Mes
) -> None:
    worker = await make_actor("wendy", workspace="acme", role="engineer")
    await _log_in(client, mes.actor)
    body = {"user": f"/mes/users/{worker.user.id}/", "role": "global-user"}
    assert_problem(await client.post("/mes/role/", json=body), 403, "CSRF_FAILED")
    response = await client.post("/mes/role/", json={**body, "csrf_token": "forged"})
    assert_problem(response, 403, "CSRF_FAILED")
    token = (await client.get("/mes/csrf-token/")).json()["token"]
    response = await client.post("/mes/role/", json={**body, "csrf_token": token})
    assert response.status_code == 204, response.text
    uri = response.headers["location"]
    assert_problem(await client.put(uri, json={"role": "restricted"}), 403, "CSRF_FAILED")
    assert_problem(await client.delete(uri), 403, "CSRF_FAILED")
    response = await client.delete(uri, headers={"X-CSRF-Token": token})
    assert response.status_code == 204, response.text
    # header credentials need no csrf_token
    response = await mes.client.post("/mes/role/", json=body)
    assert response.status_code == 204, response.text


async def test_csrf_token_needs_a_caller(client: httpx.AsyncClient, mes: Mes) -> None:
    assert_problem(await client.get("/mes/csrf-token/"), 401)
    response = await mes.client.get("/mes/csrf-token/")
    assert response.status_code == 200 and response.json()["token"]
