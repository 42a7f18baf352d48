"""Sign-up, sign-in, sign-out, the session probe and the config endpoints (DESIGN: Fixed endpoints
outside the references; productflo-sync-api: Authentication, Configuration)."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from tests.conftest import PASSWORD, assert_problem
from threadline.auth.deps import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from threadline.auth.models import Membership, Role, User, Workspace


def _register_body(email: str = "ada@example.com", **extra: object) -> dict[str, object]:
    return {"email": email, "password": PASSWORD, "name": "Ada Lovelace", **extra}


def _set_cookie(response: httpx.Response, name: str) -> str:
    """The raw ``Set-Cookie`` header that sets ``name``."""
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers.get_list("set-cookie")
    return headers[0]


# --- register -------------------------------------------------------------------------------


async def test_register_creates_user_and_signs_in(client):
    response = await client.post("/api/auth/register", json=_register_body())

    assert response.status_code == 201, response.text
    body = response.json()
    user = body["user"]
    assert user["email"] == "ada@example.com"
    assert user["name"] == "Ada Lovelace"
    assert user["username"] == "ada"
    assert user["isAdmin"] is False
    assert set(user) == {"id", "email", "username", "name", "isAdmin", "createdAt"}
    assert body["csrfToken"] == client.cookies[CSRF_COOKIE]

    session_cookie = _set_cookie(response, SESSION_COOKIE).lower()
    assert "httponly" in session_cookie
    assert "samesite=lax" in session_cookie
    csrf_cookie = _set_cookie(response, CSRF_COOKIE).lower()
    assert "httponly" not in csrf_cookie  # the page's script must be able to read it
    assert "samesite=lax" in csrf_cookie
    assert client.cookies[SESSION_COOKIE].startswith("ts_")


async def test_register_stores_email_lowercased_and_password_hashed(client, sessionmaker):
    response = await client.post("/api/auth/register", json=_register_body("Grace@Example.COM"))
    assert response.status_code == 201, response.text
    assert response.json()["user"]["email"] == "grace@example.com"

    async with sessionmaker() as session:
        user = await session.scalar(select(User).where(User.email == "grace@example.com"))
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


async def test_register_with_username(client):
    response = await client.post("/api/auth/register", json=_register_body(username="countess"))
    assert response.status_code == 201, response.text
    assert response.json()["user"]["username"] == "countess"


async def test_register_duplicate_email_is_409_case_insensitively(client):
    first = await client.post("/api/auth/register", json=_register_body("ada@example.com"))
    assert first.status_code == 201, first.text

    again = await client.post("/api/auth/register", json=_register_body("ADA@Example.com"))
    assert_problem(again, 409, "EMAIL_TAKEN")


async def test_register_rejects_short_password(client):
    body = _register_body()
    body["password"] = "short"
    problem = assert_problem(await client.post("/api/auth/register", json=body), 400)
    assert problem["code"] == "VALIDATION_ERROR"
    assert ["body", "password"] in [e["loc"] for e in problem["errors"]]
    assert SESSION_COOKIE not in client.cookies


async def test_register_rejects_bad_email(client):
    response = await client.post("/api/auth/register", json=_register_body("not-an-email"))
    problem = assert_problem(response, 400, "VALIDATION_ERROR")
    assert ["body", "email"] in [e["loc"] for e in problem["errors"]]


async def test_register_rejects_missing_name(client):
    body = _register_body()
    del body["name"]
    problem = assert_problem(await client.post("/api/auth/register", json=body), 400)
    assert ["body", "name"] in [e["loc"] for e in problem["errors"]]


async def test_register_rejects_unknown_field(client):
    response = await client.post("/api/auth/register", json=_register_body(isAdmin=True))
    problem = assert_problem(response, 400, "VALIDATION_ERROR")
    assert ["body", "isAdmin"] in [e["loc"] for e in problem["errors"]]


# --- login ----------------------------------------------------------------------------------


async def test_login_sets_cookies(client, make_actor):
    alice = await make_actor("alice")

    response = await client.post(
        "/api/auth/login", json={"email": "ALICE@example.com", "password": PASSWORD}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["id"] == str(alice.user.id)
    assert body["user"]["username"] == "alice"
    assert "httponly" in _set_cookie(response, SESSION_COOKIE).lower()
    assert body["csrfToken"] == client.cookies[CSRF_COOKIE]
    session = await client.get("/api/session")
    assert session.json()["user"]["id"] == str(alice.user.id)


async def test_login_wrong_password_is_401(client, make_actor):
    await make_actor("alice")
    response = await client.post(
        "/api/auth/login", json={"email": "alice@example.com", "password": "wrong password"}
    )
    assert_problem(response, 401, "INVALID_CREDENTIALS")
    assert SESSION_COOKIE not in client.cookies


async def test_login_unknown_email_is_the_same_401(client):
    response = await client.post(
        "/api/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    problem = assert_problem(response, 401, "INVALID_CREDENTIALS")
    # The same words as a wrong password: nothing reveals which accounts exist.
    assert problem["detail"] == "E-mail or password is wrong."


async def test_login_empty_password_is_400(client):
    response = await client.post(
        "/api/auth/login", json={"email": "alice@example.com", "password": ""}
    )
    assert_problem(response, 400, "VALIDATION_ERROR")


# --- logout ---------------------------------------------------------------------------------


async def test_logout_ends_the_session(client):
    registered = await client.post("/api/auth/register", json=_register_body())
    assert registered.status_code == 201, registered.text
    old_cookie = client.cookies[SESSION_COOKIE]
    csrf = registered.json()["csrfToken"]

    response = await client.post("/api/auth/logout", headers={CSRF_HEADER: csrf})

    assert response.status_code == 204, response.text
    assert SESSION_COOKIE not in client.cookies
    assert (await client.get("/api/session")).json()["user"] is None
    # The old cookie, replayed, no longer signs anyone in.
    replayed = await client.get("/api/tokens", headers={"Cookie": f"{SESSION_COOKIE}={old_cookie}"})
    assert_problem(replayed, 401, "UNAUTHENTICATED")


async def test_logout_with_cookie_needs_csrf_header(client):
    registered = await client.post("/api/auth/register", json=_register_body())
    assert registered.status_code == 201, registered.text

    assert_problem(await client.post("/api/auth/logout"), 403, "CSRF_FAILED")
    # The refused logout changed nothing.
    assert (await client.get("/api/session")).json()["user"]["email"] == "ada@example.com"


async def test_logout_anonymous_is_401(client):
    assert_problem(await client.post("/api/auth/logout"), 401, "UNAUTHENTICATED")


# --- session --------------------------------------------------------------------------------


async def test_session_anonymous(client):
    response = await client.get("/api/session")
    assert response.status_code == 200
    assert response.json() == {"user": None, "csrfToken": None}


async def test_session_signed_in_with_cookie(client):
    registered = await client.post("/api/auth/register", json=_register_body())
    assert registered.status_code == 201, registered.text

    body = (await client.get("/api/session")).json()

    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["id"] == registered.json()["user"]["id"]
    assert body["csrfToken"] == client.cookies[CSRF_COOKIE]


async def test_session_with_bearer_token_has_no_csrf_token(make_actor):
    alice = await make_actor("alice")
    body = (await alice.client.get("/api/session")).json()
    assert body["user"]["username"] == "alice"
    assert body["csrfToken"] is None


async def test_session_with_unknown_cookie_is_anonymous(client):
    response = await client.get("/api/session", headers={"Cookie": f"{SESSION_COOKIE}=ts_forged"})
    assert response.status_code == 200
    assert response.json()["user"] is None


# --- config and invitations -----------------------------------------------------------------


async def test_auth_config_default(client):
    response = await client.get("/api/auth/config")
    assert response.status_code == 200
    assert response.json() == {"requiresInvitation": False}


async def test_auth_config_reflects_setting(client, settings):
    settings.require_invitation = True
    assert (await client.get("/api/auth/config")).json() == {"requiresInvitation": True}


async def test_registration_without_invitation_when_required_is_403(client, settings):
    settings.require_invitation = True
    response = await client.post("/api/auth/register", json=_register_body())
    assert_problem(response, 403, "INVITATION_REQUIRED")
    assert SESSION_COOKIE not in client.cookies


async def _invite(manager, email: str, workspace: str, role: str = "engineer") -> str:
    response = await manager.client.post(
        "/api/invitations/send", json={"email": email, "workspace": workspace, "role": role}
    )
    assert response.status_code == 201, response.text
    code = response.json()["invitationCode"]
    assert code
    return code


async def test_registration_with_invitation_joins_workspace(
    client, settings, make_actor, sessionmaker
):
    settings.require_invitation = True
    boss = await make_actor("boss", workspace="acme", role="manager")
    code = await _invite(boss, "newbie@example.com", "acme", role="viewer")

    response = await client.post(
        "/api/auth/register", json=_register_body("NewBie@example.com", invitationCode=code)
    )

    assert response.status_code == 201, response.text
    user_id = response.json()["user"]["id"]
    workspaces = (await client.get("/v1/workspaces")).json()["items"]
    assert [(w["name"], w["role"]) for w in workspaces] == [("acme", "viewer")]
    async with sessionmaker() as session:
        role = await session.scalar(
            select(Membership.role)
            .join(Workspace, Workspace.id == Membership.workspace_id)
            .where(Workspace.name == "acme", Membership.user_id == uuid.UUID(user_id))
        )
    assert role == Role.viewer
    # The code is spent.
    reused = await client.post(
        "/api/auth/register", json=_register_body("newbie@example.com", invitationCode=code)
    )
    assert_problem(reused, 409, "INVITATION_USED")


async def test_registration_with_invitation_for_another_email_is_403(client, settings, make_actor):
    settings.require_invitation = True
    boss = await make_actor("boss", workspace="acme", role="manager")
    code = await _invite(boss, "invited@example.com", "acme")

    response = await client.post(
        "/api/auth/register", json=_register_body("someone-else@example.com", invitationCode=code)
    )
    assert_problem(response, 403, "INVITATION_EMAIL_MISMATCH")


async def test_registration_with_unknown_invitation_code_is_404(client):
    response = await client.post(
        "/api/auth/register", json=_register_body(invitationCode="inv_made-up")
    )
    assert_problem(response, 404, "INVITATION_INVALID")


async def test_server_config(client):
    response = await client.get("/v1/config")
    assert response.status_code == 200
    assert response.json() == {"branchSuffixWrites": False}


async def test_server_config_reflects_setting(client, settings):
    settings.branch_suffix_writes = True
    assert (await client.get("/v1/config")).json() == {"branchSuffixWrites": True}


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
