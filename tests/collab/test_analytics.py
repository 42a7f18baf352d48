"""Workspace analytics: counts by status and workspace-wide lists with status and limit."""

from __future__ import annotations

from tests.collab.conftest import upload
from tests.conftest import assert_problem


async def _seed(alice, bob, part) -> None:
    other = await upload(alice.client, "bracket.step")
    reviews = []
    for path in (part.path, part.path, other["path"]):
        r = await alice.client.post(
            "/v1/reviews", json={"path": path, "reviewerEmail": "bob@example.com"}
        )
        reviews.append(r.json())
    await bob.client.patch(f"/v1/reviews/{reviews[0]['id']}", json={"status": "in_review"})
    await bob.client.patch(f"/v1/reviews/{reviews[1]['id']}", json={"status": "canceled"})
    await bob.client.post(f"/v1/reviews/{reviews[0]['id']}/tasks", json={"title": "rt"})
    for status in ("open", "open", "done"):
        await alice.client.post(
            "/v1/tasks", json={"path": other["path"], "title": status, "status": status}
        )
    r = await alice.client.post("/v1/tasks", json={"path": part.path, "title": "gone"})
    await alice.client.delete(f"/v1/tasks/{r.json()['id']}")


async def test_stats(alice, bob, vera, part):
    await _seed(alice, bob, part)
    r = await vera.client.get("/v1/workspace/stats", params={"workspace": "acme"})
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["workspace"] == "acme"
    assert stats["reviews"] == {
        "open": 1, "in_review": 1, "completed": 0, "canceled": 1, "total": 3
    }  # fmt: skip
    assert stats["tasks"] == {"open": 2, "in_progress": 0, "done": 1, "canceled": 0, "total": 3}
    assert stats["reviewTasks"]["open"] == 1


async def test_empty_stats(alice):
    r = await alice.client.get("/v1/workspace/stats", params={"workspace": "acme"})
    assert r.json()["reviews"]["total"] == 0
    assert r.json()["tasks"]["total"] == 0


async def test_workspace_reviews(alice, bob, part):
    await _seed(alice, bob, part)
    r = await alice.client.get("/v1/workspace/reviews", params={"workspace": "acme"})
    body = r.json()
    assert body["total"] == 3
    assert [i["path"].rsplit("/", 1)[1] for i in body["items"]] == [
        "bracket.step",
        "part.step",
        "part.step",
    ]
    r = await alice.client.get(
        "/v1/workspace/reviews", params={"workspace": "acme", "status": "in_review"}
    )
    body = r.json()
    assert body["total"] == 1
    assert body["items"][0]["status"] == "in_review"
    assert [t["title"] for t in body["items"][0]["tasks"]] == ["rt"]
    r = await alice.client.get("/v1/workspace/reviews", params={"workspace": "acme", "limit": 1})
    assert (r.json()["total"], len(r.json()["items"]), r.json()["limit"]) == (3, 1, 1)


async def test_workspace_tasks(alice, bob, part):
    await _seed(alice, bob, part)
    r = await alice.client.get("/v1/workspace/tasks", params={"workspace": "acme"})
    assert r.json()["total"] == 3  # the deleted one is left out
    r = await alice.client.get(
        "/v1/workspace/tasks", params={"workspace": "acme", "status": "done", "limit": 10}
    )
    assert [t["title"] for t in r.json()["items"]] == ["done"]
    assert r.json()["items"][0]["path"].endswith("/bracket.step")


async def test_bad_queries(alice, carol):
    for url in ("/v1/workspace/reviews", "/v1/workspace/tasks"):
        assert_problem(
            await alice.client.get(url, params={"workspace": "acme", "status": "weird"}), 400
        )
        assert_problem(await alice.client.get(url, params={"workspace": "acme", "limit": 0}), 400)
        assert_problem(await alice.client.get(url, params={"workspace": "acme", "limit": 501}), 400)
        assert_problem(await alice.client.get(url), 400)
        assert_problem(await carol.client.get(url, params={"workspace": "acme"}), 404)
    r = await carol.client.get("/v1/workspace/stats", params={"workspace": "acme"})
    assert_problem(r, 404, "WORKSPACE_NOT_FOUND")
    # in_progress is a task status, not a review status
    r = await alice.client.get(
        "/v1/workspace/reviews", params={"workspace": "acme", "status": "in_progress"}
    )
    assert_problem(r, 400)
