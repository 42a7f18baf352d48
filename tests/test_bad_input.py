"""Bad input is a 4xx problem+json a person can act on, never a 500 (DESIGN: Errors)."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.conftest import assert_problem
from threadline.app import create_app

JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
async def alice(make_actor):
    return await make_actor("alice")


def _error_locations(problem: dict) -> list[list[str]]:
    return [e["loc"] for e in problem["errors"]]


# --- malformed bodies -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{bad", b'{"name": "acme"', b"{'name': 'acme'}", b'{"name": "acme"}}', b"nul"],
)
async def test_malformed_json_is_400(alice, body):
    response = await alice.client.post("/v1/workspaces", content=body, headers=JSON_HEADERS)
    problem = assert_problem(response, 400, "MALFORMED_JSON")
    assert problem["title"] == "Bad Request"


async def test_malformed_json_is_400_before_sign_in_too(client):
    response = await client.post("/api/auth/login", content=b"{", headers=JSON_HEADERS)
    assert_problem(response, 400, "MALFORMED_JSON")


@pytest.mark.parametrize(
    "body",
    [b'{"name": "\xff\xfe"}', b"[" * 100_000],
    ids=["invalid-utf8", "nested-too-deep"],
)
async def test_undecodable_body_is_400(alice, body):
    response = await alice.client.post("/v1/workspaces", content=body, headers=JSON_HEADERS)
    assert_problem(response, 400, "BAD_REQUEST")


async def test_empty_body_is_400(alice):
    response = await alice.client.post("/v1/workspaces", content=b"", headers=JSON_HEADERS)
    problem = assert_problem(response, 400, "VALIDATION_ERROR")
    assert ["body"] in _error_locations(problem)


# --- wrong types ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [42, ["acme"], {"name": "acme"}, None, True])
async def test_wrong_type_names_the_field(alice, name):
    response = await alice.client.post("/v1/workspaces", json={"name": name})
    problem = assert_problem(response, 400, "VALIDATION_ERROR")
    assert _error_locations(problem) == [["body", "name"]]
    assert "name" in problem["detail"]


@pytest.mark.parametrize("body", [["acme"], "acme", 7, None])
async def test_body_that_is_not_an_object_is_400(alice, body):
    response = await alice.client.post(
        "/v1/workspaces", content=json.dumps(body), headers=JSON_HEADERS
    )
    assert_problem(response, 400, "VALIDATION_ERROR")


async def test_token_expiry_as_string_is_400(alice):
    response = await alice.client.post("/api/tokens", json={"name": "x", "expiresInDays": "soon"})
    problem = assert_problem(response, 400, "VALIDATION_ERROR")
    assert _error_locations(problem) == [["body", "expiresInDays"]]


# --- body size ------------------------------------------------------------------------------


@pytest.fixture
async def small_app_client(settings, engine, sessionmaker, rate_limiter, alice):
    """Alice's client against an app that accepts JSON bodies of at most 1000 bytes."""
    app = create_app(
        settings.model_copy(update={"max_json_bytes": 1000}),
        engine=engine,
        sessionmaker=sessionmaker,
        rate_limiter=rate_limiter,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {alice.token}"},
    ) as client:
        yield client


async def test_body_within_limit_is_accepted(small_app_client):
    response = await small_app_client.post("/v1/workspaces", json={"name": "acme"})
    assert response.status_code == 201, response.text


async def test_streamed_body_above_limit_is_413(small_app_client):
    async def chunks():
        yield b'{"name": "'
        yield b"x" * 2000
        yield b'"}'

    response = await small_app_client.post("/v1/workspaces", content=chunks(), headers=JSON_HEADERS)
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


async def test_body_above_limit_is_413_problem_json(small_app_client):
    response = await small_app_client.post("/v1/workspaces", json={"name": "x" * 2000})
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


async def test_body_above_limit_is_refused(small_app_client):
    """Whatever its body looks like, the oversized request is a 413 and creates nothing."""
    response = await small_app_client.post("/v1/workspaces", json={"name": "a" + " " * 2000})
    assert response.status_code == 413, response.text
    listed = (await small_app_client.get("/v1/workspaces")).json()
    assert listed["items"] == []


async def test_default_limit_refuses_more_than_a_mebibyte(alice, settings):
    assert settings.max_json_bytes == 1_048_576

    async def chunks():
        yield b'{"name": "'
        for _ in range(17):
            yield b"x" * 65_536
        yield b'"}'

    response = await alice.client.post("/v1/workspaces", content=chunks(), headers=JSON_HEADERS)
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


# --- query parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (f"pageSize={10**30}", "pageSize"),
        ("pageSize=0", "pageSize"),
        ("pageSize=501", "pageSize"),
        ("pageSize=abc", "pageSize"),
        ("page=-1", "page"),
        ("page=0", "page"),
        (f"page={10**30}", "page"),
        ("page=1.5", "page"),
    ],
)
async def test_bad_paging_is_400(alice, query, field):
    response = await alice.client.get(f"/v1/workspaces?{query}")
    problem = assert_problem(response, 400, "VALIDATION_ERROR")
    assert _error_locations(problem) == [["query", field]]


async def test_paging_at_the_limits_is_fine(alice):
    response = await alice.client.get("/v1/workspaces?page=1000000&pageSize=500")
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "total": 0, "page": 1_000_000, "pageSize": 500}


# --- workspace names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["../x", "a/b", "..", "", "   ", "a" * 70, "-dash", "_under", "a b", "a\\b", "a\x00b", "ü"],
)
async def test_workspace_name_tricks_are_400(alice, name):
    response = await alice.client.post("/v1/workspaces", json={"name": name})
    problem = assert_problem(response, 400, "VALIDATION_ERROR")
    assert _error_locations(problem) == [["body", "name"]]
    assert (await alice.client.get("/v1/workspaces")).json()["total"] == 0


async def test_workspace_name_is_normalised(alice):
    response = await alice.client.post("/v1/workspaces", json={"name": "  Acme-Parts_2 "})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "acme-parts_2"
    longest = await alice.client.post("/v1/workspaces", json={"name": "a" * 63})
    assert longest.status_code == 201, longest.text


# --- routing --------------------------------------------------------------------------------


async def test_unknown_route_is_404(client, alice):
    assert_problem(await client.get("/v1/nope"), 404, "NOT_FOUND")
    assert_problem(await alice.client.post("/api/nope", json={}), 404, "NOT_FOUND")


async def test_wrong_method_is_405(client, alice):
    problem = assert_problem(await alice.client.put("/v1/workspaces", json={}), 405)
    assert problem["code"] == "METHOD_NOT_ALLOWED"
    response = await client.delete("/api/auth/config")
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "GET"


# --- property: nothing a client can send makes a 500 ----------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
bodies = json_values | st.dictionaries(
    st.sampled_from(["name", "Name", "workspace", "role", "email"]),
    json_values | st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_./\\ ", max_size=80),
    max_size=3,
)


@hypothesis_settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
async def test_arbitrary_json_never_500(alice, body):
    response = await alice.client.post(
        "/v1/workspaces", content=json.dumps(body), headers=JSON_HEADERS
    )
    assert response.status_code in {201, 409, 400}, response.text
    if response.status_code != 201:
        assert response.headers["content-type"].startswith("application/problem+json")
