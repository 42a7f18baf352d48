"""The server answers health checks and serves its OpenAPI documents."""

from tests.conftest import assert_problem


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_openapi_and_docs(client):
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/docs")).status_code == 200


async def test_unknown_route_is_problem_json(client):
    assert_problem(await client.get("/v1/nope"), 404, "NOT_FOUND")


async def test_actor_factory(make_actor):
    alice = await make_actor("alice", workspace="acme", role="viewer")
    response = await alice.client.get("/v1/workspaces")
    assert response.status_code == 200, response.text
    assert [(w["name"], w["role"]) for w in response.json()["items"]] == [("acme", "viewer")]
