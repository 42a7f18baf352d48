"""Standalone tasks: create, list in order, patch and soft delete with their role rules."""

from __future__ import annotations

import pytest

from tests.conftest import assert_problem


async def _task(actor, part, **extra) -> dict:
    r = await actor.client.post("/v1/tasks", json={"path": part.path, "title": "Task", **extra})
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_and_list(alice, bob, vera, part):
    first = await _task(alice, part, title="Mesh", description="fine", dueAt="2027-02-03")
    assert first["sortIndex"] == 0
    assert first["status"] == "open"
    assert first["owner"] is None
    assert first["dueAt"] == "2027-02-03T00:00:00Z"
    second = await _task(
        bob, part, title="Drawing", ownerEmail="ALICE@example.com", status="in_progress"
    )
    assert second["sortIndex"] == 1
    assert second["owner"] == "alice"
    assert second["ownerEmail"] == "alice@example.com"
    assert second["status"] == "in_progress"

    r = await vera.client.get("/v1/tasks", params={"path": part.path})
    assert r.status_code == 200
    assert [t["title"] for t in r.json()["items"]] == ["Mesh", "Drawing"]

    r = await alice.client.patch(f"/v1/tasks/{first['id']}", json={"sortIndex": 5})
    assert r.status_code == 200
    r = await vera.client.get("/v1/tasks", params={"path": part.path})
    assert [t["title"] for t in r.json()["items"]] == ["Drawing", "Mesh"]


async def test_create_rules(alice, vera, carol, part):
    assert_problem(
        await vera.client.post("/v1/tasks", json={"path": part.path, "title": "x"}),
        403,
        "INSUFFICIENT_ROLE",
    )
    assert_problem(
        await carol.client.post("/v1/tasks", json={"path": part.path, "title": "x"}), 404
    )
    r = await alice.client.post(
        "/v1/tasks", json={"path": part.path, "title": "x", "ownerEmail": "carol@example.com"}
    )
    assert_problem(r, 404, "MEMBER_NOT_FOUND")
    for bad in (
        {"path": part.path},
        {"path": part.path, "title": ""},
        {"path": part.path, "title": "x", "status": "blocked"},
        {"path": part.path, "title": "x", "dueAt": "tomorrow"},
        {"path": part.path, "title": "x" * 501},
    ):
        assert_problem(await alice.client.post("/v1/tasks", json=bad), 400, "VALIDATION_ERROR")
    r = await alice.client.post("/v1/tasks", json={"path": "nope/nope/nope", "title": "x"})
    assert_problem(r, 400, "INVALID_PATH")


async def test_assignment_notifies_the_owner(alice, bob, mike, part):
    task = await _task(alice, part, ownerEmail="bob@example.com")
    r = await alice.client.patch(f"/v1/tasks/{task['id']}", json={"ownerEmail": "mike@example.com"})
    assert r.status_code == 200
    r = await mike.client.get(
        "/v1/audit", params={"workspace": "acme", "entity": "task", "action": "assign"}
    )
    assert sorted(e["after"]["owner"] for e in r.json()["items"]) == ["bob", "mike"]


async def test_patch_fields(alice, part):
    task = await _task(alice, part, description="d", ownerEmail="alice@example.com")
    r = await alice.client.patch(
        f"/v1/tasks/{task['id']}",
        json={"status": "done", "title": "Renamed", "description": None, "ownerEmail": None},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["title"], body["description"], body["owner"]) == (
        "done",
        "Renamed",
        None,
        None,
    )
    # null on a required field leaves it alone; an empty patch changes nothing
    r = await alice.client.patch(f"/v1/tasks/{task['id']}", json={"title": None, "status": None})
    assert r.json()["title"] == "Renamed"
    r = await alice.client.patch(f"/v1/tasks/{task['id']}", json={})
    assert r.status_code == 200
    assert_problem(
        await alice.client.patch(f"/v1/tasks/{task['id']}", json={"sortIndex": 2**40}), 400
    )
    assert_problem(await alice.client.patch(f"/v1/tasks/{task['id']}", json={"owner": "x"}), 400)


@pytest.mark.parametrize("who", ["alice", "bob", "mike"])
async def test_creator_owner_and_manager_may_patch(alice, bob, mike, part, who):
    task = await _task(alice, part, ownerEmail="bob@example.com")
    actor = {"alice": alice, "bob": bob, "mike": mike}[who]
    r = await actor.client.patch(f"/v1/tasks/{task['id']}", json={"status": "in_progress"})
    assert r.status_code == 200, r.text


async def test_others_may_not_patch(alice, vera, make_actor, part):
    eve = await make_actor("eve", workspace="acme", role="engineer")
    task = await _task(alice, part)
    for actor in (eve, vera):
        r = await actor.client.patch(f"/v1/tasks/{task['id']}", json={"status": "done"})
        assert_problem(r, 403, "NOT_TASK_PARTICIPANT")


async def test_delete_rules(alice, bob, mike, vera, part):
    task = await _task(alice, part, ownerEmail="bob@example.com")
    # the owner may edit but not delete
    assert_problem(await bob.client.delete(f"/v1/tasks/{task['id']}"), 403)
    assert_problem(await vera.client.delete(f"/v1/tasks/{task['id']}"), 403)
    r = await alice.client.delete(f"/v1/tasks/{task['id']}")
    assert r.status_code == 200
    assert r.json() == {"ok": True, "id": task["id"]}
    assert_problem(await alice.client.delete(f"/v1/tasks/{task['id']}"), 404, "TASK_NOT_FOUND")
    assert_problem(
        await alice.client.patch(f"/v1/tasks/{task['id']}", json={"status": "done"}), 404
    )
    r = await alice.client.get("/v1/tasks", params={"path": part.path})
    assert r.json()["total"] == 0

    other = await _task(alice, part)
    assert (await mike.client.delete(f"/v1/tasks/{other['id']}")).status_code == 200
    r = await mike.client.get("/v1/audit", params={"workspace": "acme", "entity": "task"})
    assert [e["action"] for e in r.json()["items"]][:2] == ["delete", "create"]


async def test_other_workspaces_ids_are_404(alice, carol, part):
    task = await _task(alice, part)
    r = await carol.client.patch(f"/v1/tasks/{task['id']}", json={"status": "done"})
    assert_problem(r, 404, "TASK_NOT_FOUND")
    assert_problem(await carol.client.delete(f"/v1/tasks/{task['id']}"), 404, "TASK_NOT_FOUND")
    assert_problem(await carol.client.get("/v1/tasks", params={"path": part.path}), 404)
    assert_problem(await alice.client.delete("/v1/tasks/not-a-uuid"), 400)
