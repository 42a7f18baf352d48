"""Review templates: engineer+ reads, manager+ writes, names unique per workspace."""

from __future__ import annotations

from tests.conftest import assert_problem


async def test_create_list_delete(alice, mike, vera):
    r = await mike.client.post(
        "/v1/review-templates",
        params={"workspace": "acme"},
        json={"name": "Safety", "checklist": ["Pinch points", "Sharp edges"]},
    )
    assert r.status_code == 201, r.text
    template = r.json()
    assert template["workspace"] == "acme"
    assert template["createdBy"] == "mike"
    assert template["message"] is None

    await mike.client.post(
        "/v1/review-templates", json={"workspace": "acme", "name": "DFM", "message": "m"}
    )
    r = await alice.client.get("/v1/review-templates", params={"workspace": "acme"})
    assert r.status_code == 200
    assert [t["name"] for t in r.json()["items"]] == ["DFM", "Safety"]
    assert_problem(
        await vera.client.get("/v1/review-templates", params={"workspace": "acme"}),
        403,
        "INSUFFICIENT_ROLE",
    )

    url = f"/v1/review-templates/{template['id']}"
    assert_problem(await alice.client.delete(url, params={"workspace": "acme"}), 403)
    r = await mike.client.delete(url, params={"workspace": "acme"})
    assert r.status_code == 200
    assert_problem(
        await mike.client.delete(url, params={"workspace": "acme"}), 404, "TEMPLATE_NOT_FOUND"
    )
    r = await mike.client.get(
        "/v1/audit", params={"workspace": "acme", "entity": "review_template"}
    )
    assert [e["action"] for e in r.json()["items"]] == ["delete", "create", "create"]


async def test_create_rules(alice, mike):
    body = {"workspace": "acme", "name": "Safety", "checklist": []}
    assert_problem(await alice.client.post("/v1/review-templates", json=body), 403)
    assert (await mike.client.post("/v1/review-templates", json=body)).status_code == 201
    assert_problem(
        await mike.client.post("/v1/review-templates", json=body), 409, "TEMPLATE_EXISTS"
    )
    r = await mike.client.post("/v1/review-templates", json={"name": "x"})
    assert_problem(r, 400, "WORKSPACE_REQUIRED")
    r = await mike.client.post(
        "/v1/review-templates",
        params={"workspace": "other"},
        json={"workspace": "acme", "name": "y"},
    )
    assert_problem(r, 400, "WORKSPACE_MISMATCH")
    for bad in (
        {"workspace": "acme", "name": ""},
        {"workspace": "acme", "name": "z", "checklist": "not a list"},
        {"workspace": "acme", "name": "z", "checklist": [""]},
        {"workspace": "acme", "name": "z", "checklist": ["a"] * 101},
    ):
        assert_problem(await mike.client.post("/v1/review-templates", json=bad), 400)


async def test_other_workspaces(mike, carol, make_actor):
    r = await mike.client.post("/v1/review-templates", json={"workspace": "acme", "name": "A"})
    template_id = r.json()["id"]
    boss = await make_actor("boss", workspace="other", role="manager")
    # same name in another workspace is fine
    r = await boss.client.post("/v1/review-templates", json={"workspace": "other", "name": "A"})
    assert r.status_code == 201
    r = await boss.client.delete(
        f"/v1/review-templates/{template_id}", params={"workspace": "other"}
    )
    assert_problem(r, 404, "TEMPLATE_NOT_FOUND")
    r = await boss.client.delete(
        f"/v1/review-templates/{template_id}", params={"workspace": "acme"}
    )
    assert_problem(r, 404, "WORKSPACE_NOT_FOUND")
    assert_problem(
        await carol.client.get("/v1/review-templates", params={"workspace": "acme"}), 404
    )
    assert_problem(await carol.client.get("/v1/review-templates"), 400)
