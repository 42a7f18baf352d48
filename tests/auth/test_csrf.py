"""CSRF protection of cookie sessions (DESIGN: Auth): unsafe methods need the ``X-CSRF-Token``
header matching the session; safe methods and bearer tokens do not."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import PASSWORD, assert_problem
from threadline.auth.deps import CSRF_COOKIE, CSRF_HEADER


@pytest.fixture
async def browser(client):
    """The ``client`` signed in through the API, so it carries the session and CSRF cookies."""
    response = await client.post(
        "/api/auth/register",
        json={"email": "ada@example.com", "password": PASSWORD, "name": "Ada"},
    )
    assert response.status_code == 201, response.text
    return client


async def test_unsafe_request_without_header_is_403(browser):
    response = await browser.post("/v1/workspaces", json={"name": "acme"})
    problem = assert_problem(response, 403, "CSRF_FAILED")
    assert CSRF_HEADER in problem["detail"]
    # Nothing was created.
    assert (await browser.get("/v1/workspaces")).json()["items"] == []


async def test_unsafe_request_with_wrong_header_is_403(browser):
    wrong = "0" * 64
    response = await browser.post(
        "/v1/workspaces", json={"name": "acme"}, headers={CSRF_HEADER: wrong}
    )
    assert_problem(response, 403, "CSRF_FAILED")
    assert_problem(
        await browser.post("/api/tokens", json={"name": "x"}, headers={CSRF_HEADER: ""}),
        403,
        "CSRF_FAILED",
    )


async def test_csrf_token_of_another_session_is_refused(browser, app):

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as other:
        registered = await other.post(
            "/api/auth/register",
            json={"email": "bob@example.com", "password": PASSWORD, "name": "Bob"},
        )
        assert registered.status_code == 201, registered.text
        bobs_csrf = registered.json()["csrfToken"]

    response = await browser.post(
        "/api/tokens", json={"name": "x"}, headers={CSRF_HEADER: bobs_csrf}
    )
    assert_problem(response, 403, "CSRF_FAILED")


async def test_unsafe_request_with_cookie_value_succeeds(browser):
    response = await browser.post(
        "/v1/workspaces",
        json={"name": "acme"},
        headers={CSRF_HEADER: browser.cookies[CSRF_COOKIE]},
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "acme"


async def test_unsafe_request_with_session_csrf_token_succeeds(browser):
    csrf = (await browser.get("/api/session")).json()["csrfToken"]
    assert csrf

    created = await browser.post("/api/tokens", json={"name": "cli"}, headers={CSRF_HEADER: csrf})
    assert created.status_code == 201, created.text

    deleted = await browser.delete(
        f"/api/tokens/{created.json()['id']}", headers={CSRF_HEADER: csrf}
    )
    assert deleted.status_code == 204, deleted.text


async def test_delete_without_header_is_403(browser):
    csrf = browser.cookies[CSRF_COOKIE]
    created = await browser.post("/api/tokens", json={"name": "cli"}, headers={CSRF_HEADER: csrf})
    assert created.status_code == 201, created.text

    assert_problem(await browser.delete(f"/api/tokens/{created.json()['id']}"), 403, "CSRF_FAILED")
    assert [t["name"] for t in (await browser.get("/api/tokens")).json()] == ["cli"]


async def test_safe_requests_need_no_header(browser):
    for path in ("/v1/workspaces", "/api/tokens", "/api/session"):
        response = await browser.get(path)
        assert response.status_code == 200, (path, response.text)


async def test_bearer_requests_need_no_header(make_actor):
    alice = await make_actor("alice")
    response = await alice.client.post("/v1/workspaces", json={"name": "acme"})
    assert response.status_code == 201, response.text
    assert (await alice.client.post("/api/tokens", json={"name": "x"})).status_code == 201


async def test_bearer_token_wins_over_a_stale_cookie(make_actor):
    """A script holding both a token and a cookie is judged by its token, without CSRF."""
    alice = await make_actor("alice")
    alice.client.cookies.set("tl_session", "ts_stale")
    response = await alice.client.post("/v1/workspaces", json={"name": "acme"})
    assert response.status_code == 201, response.text


# --- login CSRF: sign-in and sign-up from another site's page ---------------------------------


async def test_sign_in_from_another_sites_page_is_refused(client, make_actor):
    await make_actor("olga")
    body = {"email": "olga@example.com", "password": "correct horse battery"}
    refused = await client.post(
        "/api/auth/login", json=body, headers={"Origin": "https://evil.example"}
    )
    assert_problem(refused, 403, "ORIGIN_REJECTED")
    assert "tl_session" not in refused.cookies
    signup = await client.post(
        "/api/auth/register",
        json={"email": "x@example.com", "password": "long enough", "name": "X"},
        headers={"Origin": "null"},
    )
    assert_problem(signup, 403, "ORIGIN_REJECTED")


async def test_sign_in_from_this_server_or_without_origin_is_allowed(client, make_actor):
    await make_actor("olga")
    body = {"email": "olga@example.com", "password": "correct horse battery"}
    same = await client.post("/api/auth/login", json=body, headers={"Origin": "http://testserver"})
    assert same.status_code == 200, same.text
    scripted = await client.post("/api/auth/login", json=body)
    assert scripted.status_code == 200, scripted.text
