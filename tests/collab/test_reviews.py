"""Design reviews: creation, the status flow, who may change what, review tasks, tenancy."""

from __future__ import annotations

import pytest

from tests.collab.conftest import upload
from tests.conftest import assert_problem


async def _review(actor, part, reviewer="bob@example.com", **extra) -> dict:
    r = await actor.client.post(
        "/v1/reviews", json={"path": part.path, "reviewerEmail": reviewer, **extra}
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_and_list_reviews_with_tasks(alice, bob, part):
    review = await _review(
        alice,
        part,
        message="Check the bolt pattern",
        dueAt="2026-12-01T10:00:00+01:00",
        versionId=part.version_id,
    )
    assert review["reviewer"] == "bob"
    assert review["reviewerEmail"] == "bob@example.com"
    assert review["createdBy"] == "alice"
    assert review["status"] == "open"
    assert review["dueAt"] == "2026-12-01T09:00:00Z"
    assert review["versionId"] == part.version_id
    assert review["tasks"] == []

    r = await bob.client.post(
        f"/v1/reviews/{review['id']}/tasks", json={"title": "Torque spec", "description": "M6"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["reviewId"] == review["id"]

    r = await bob.client.get("/v1/reviews", params={"path": part.path})
    assert r.status_code == 200
    page = r.json()
    assert page["total"] == 1
    assert [t["title"] for t in page["items"][0]["tasks"]] == ["Torque spec"]


async def test_reviewer_must_be_a_member(alice, carol, part):
    r = await alice.client.post(
        "/v1/reviews", json={"path": part.path, "reviewerEmail": "carol@example.com"}
    )
    assert_problem(r, 404, "MEMBER_NOT_FOUND")
    r = await alice.client.post(
        "/v1/reviews", json={"path": part.path, "reviewerEmail": "ghost@example.com"}
    )
    assert_problem(r, 404, "MEMBER_NOT_FOUND")
    r = await alice.client.post(
        "/v1/reviews", json={"path": part.path, "reviewerEmail": "not-an-email"}
    )
    assert_problem(r, 400, "VALIDATION_ERROR")


async def test_create_needs_engineer(alice, vera, bob, part):
    r = await vera.client.post(
        "/v1/reviews", json={"path": part.path, "reviewerEmail": "bob@example.com"}
    )
    assert_problem(r, 403, "INSUFFICIENT_ROLE")


async def test_version_must_belong_to_the_file(alice, bob, part):
    other = await upload(alice.client, "other.step")
    r = await alice.client.post(
        "/v1/reviews",
        json={
            "path": part.path,
            "reviewerEmail": "bob@example.com",
            "versionId": other["versionId"],
        },
    )
    assert_problem(r, 404, "VERSION_NOT_FOUND")


async def test_reviewer_is_notified(alice, bob, mike, part):
    review = await _review(alice, part)
    r = await mike.client.get("/v1/audit", params={"workspace": "acme", "entity": "review"})
    actions = {e["action"]: e for e in r.json()["items"]}
    assert set(actions) == {"create", "assign"}
    assert actions["assign"]["entityId"] == review["id"]
    assert actions["assign"]["after"]["reviewer"] == "bob"


@pytest.mark.parametrize(
    ("steps", "final"),
    [
        (["in_review", "completed"], "completed"),
        (["in_review", "canceled"], "canceled"),
        (["canceled"], "canceled"),
        (["open"], "open"),  # asking for the current status changes nothing
    ],
)
async def test_status_flow(alice, bob, part, steps, final):
    review = await _review(alice, part)
    for status in steps:
        r = await bob.client.patch(f"/v1/reviews/{review['id']}", json={"status": status})
        assert r.status_code == 200, r.text
    assert r.json()["status"] == final


@pytest.mark.parametrize(
    ("steps", "bad"),
    [
        ([], "completed"),
        (["in_review"], "open"),
        (["in_review", "completed"], "in_review"),
        (["in_review", "completed"], "canceled"),
        (["canceled"], "open"),
        (["canceled"], "in_review"),
    ],
)
async def test_invalid_transitions_are_409(alice, bob, part, steps, bad):
    review = await _review(alice, part)
    for status in steps:
        r = await bob.client.patch(f"/v1/reviews/{review['id']}", json={"status": status})
        assert r.status_code == 200, r.text
    r = await bob.client.patch(f"/v1/reviews/{review['id']}", json={"status": bad})
    body = assert_problem(r, 409, "INVALID_STATUS_TRANSITION")
    assert "allowed" in body


async def test_unknown_status_is_400(alice, bob, part):
    review = await _review(alice, part)
    r = await bob.client.patch(f"/v1/reviews/{review['id']}", json={"status": "approved"})
    assert_problem(r, 400, "VALIDATION_ERROR")


async def test_who_may_update_a_review(alice, bob, mike, vera, make_actor, part):
    eve = await make_actor("eve", workspace="acme", role="engineer")
    review = await _review(alice, part)
    url = f"/v1/reviews/{review['id']}"
    assert_problem(await eve.client.patch(url, json={"status": "in_review"}), 403)
    assert_problem(await vera.client.patch(url, json={"status": "in_review"}), 403)
    # creator, reviewer and manager may
    r = await alice.client.patch(url, json={"dueAt": "2027-01-01T00:00:00Z"})
    assert r.status_code == 200
    assert r.json()["dueAt"] == "2027-01-01T00:00:00Z"
    r = await bob.client.patch(url, json={"status": "in_review"})
    assert r.status_code == 200
    r = await mike.client.patch(url, json={"status": "completed", "dueAt": None})
    assert r.status_code == 200
    assert r.json()["status"] == "completed"
    assert r.json()["dueAt"] is None


async def test_a_viewer_reviewer_may_work_the_review(alice, vera, part):
    review = await _review(alice, part, reviewer="vera@example.com")
    url = f"/v1/reviews/{review['id']}"
    r = await vera.client.patch(url, json={"status": "in_review"})
    assert r.status_code == 200
    r = await vera.client.post(f"{url}/tasks", json={"title": "Check"})
    assert r.status_code == 201


async def test_reassigning_notifies_the_new_reviewer(alice, bob, mike, part):
    review = await _review(alice, part)
    r = await alice.client.patch(
        f"/v1/reviews/{review['id']}", json={"reviewerEmail": "mike@example.com"}
    )
    assert r.status_code == 200
    assert r.json()["reviewer"] == "mike"
    # Now bob is neither reviewer nor creator.
    r = await bob.client.patch(f"/v1/reviews/{review['id']}", json={"status": "in_review"})
    assert_problem(r, 403)
    r = await alice.client.patch(
        f"/v1/reviews/{review['id']}", json={"reviewerEmail": "nobody@example.com"}
    )
    assert_problem(r, 404, "MEMBER_NOT_FOUND")


async def test_review_tasks_rules(alice, bob, mike, make_actor, part):
    eve = await make_actor("eve", workspace="acme", role="engineer")
    review = await _review(alice, part)
    url = f"/v1/reviews/{review['id']}/tasks"
    # the creator is not the reviewer: only reviewer or manager+ add tasks
    assert_problem(await alice.client.post(url, json={"title": "x"}), 403)
    assert_problem(await eve.client.post(url, json={"title": "x"}), 403)
    r = await mike.client.post(url, json={"title": "From manager", "dueAt": "2027-01-01"})
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["status"] == "open"
    assert task["createdBy"] == "mike"

    r = await bob.client.patch(f"{url}/{task['id']}", json={"status": "in_progress"})
    assert r.status_code == 200
    assert r.json()["status"] == "in_progress"
    r = await alice.client.patch(f"{url}/{task['id']}", json={"status": "done"})
    assert r.status_code == 200
    assert_problem(await eve.client.patch(f"{url}/{task['id']}", json={"status": "open"}), 403)
    assert_problem(await bob.client.patch(f"{url}/{task['id']}", json={"status": "nope"}), 400)
    assert_problem(await bob.client.patch(f"{url}/{task['id']}", json={}), 400)
    assert_problem(await bob.client.post(url, json={"title": ""}), 400)

    r = await mike.client.get("/v1/audit", params={"workspace": "acme", "entity": "review_task"})
    assert [e["action"] for e in r.json()["items"]] == ["update", "update", "create"]


async def test_review_task_ids_are_scoped_to_their_review(alice, bob, part):
    first = await _review(alice, part)
    second = await _review(alice, part)
    r = await bob.client.post(f"/v1/reviews/{first['id']}/tasks", json={"title": "t"})
    task_id = r.json()["id"]
    r = await bob.client.patch(
        f"/v1/reviews/{second['id']}/tasks/{task_id}", json={"status": "done"}
    )
    assert_problem(r, 404, "TASK_NOT_FOUND")


async def test_closed_reviews_take_no_new_tasks(alice, bob, part):
    review = await _review(alice, part)
    await bob.client.patch(f"/v1/reviews/{review['id']}", json={"status": "canceled"})
    r = await bob.client.post(f"/v1/reviews/{review['id']}/tasks", json={"title": "late"})
    assert_problem(r, 409, "REVIEW_CLOSED")


async def test_other_workspaces_ids_are_404(alice, bob, carol, part):
    review = await _review(alice, part)
    r = await bob.client.post(f"/v1/reviews/{review['id']}/tasks", json={"title": "t"})
    task_id = r.json()["id"]
    url = f"/v1/reviews/{review['id']}"
    assert_problem(
        await carol.client.patch(url, json={"status": "canceled"}), 404, "REVIEW_NOT_FOUND"
    )
    assert_problem(await carol.client.post(f"{url}/tasks", json={"title": "t"}), 404)
    r = await carol.client.patch(f"{url}/tasks/{task_id}", json={"status": "done"})
    assert_problem(r, 404, "REVIEW_NOT_FOUND")
    assert_problem(await carol.client.get("/v1/reviews", params={"path": part.path}), 404)
    r = await carol.client.post(
        "/v1/reviews", json={"path": part.path, "reviewerEmail": "carol@example.com"}
    )
    assert_problem(r, 404)


async def test_unknown_and_malformed_ids(bob):
    r = await bob.client.patch(
        "/v1/reviews/01a213b5-6641-7060-9caa-a05d7e5eb9bc", json={"status": "canceled"}
    )
    assert_problem(r, 404, "REVIEW_NOT_FOUND")
    assert_problem(await bob.client.patch("/v1/reviews/nope", json={}), 400)


async def test_template_seeds_review(alice, bob, mike, part):
    r = await mike.client.post(
        "/v1/review-templates",
        json={
            "workspace": "acme",
            "name": "DFM",
            "message": "Design for manufacture",
            "checklist": ["Wall thickness", "Draft angles"],
        },
    )
    assert r.status_code == 201, r.text
    template = r.json()
    review = await _review(alice, part, templateId=template["id"])
    assert review["message"] == "Design for manufacture"
    assert [t["title"] for t in review["tasks"]] == ["Wall thickness", "Draft angles"]
    assert {t["status"] for t in review["tasks"]} == {"open"}
    # an explicit message wins over the template's
    review = await _review(alice, part, templateId=template["id"], message="Mine")
    assert review["message"] == "Mine"


async def test_template_of_another_workspace_is_404(alice, bob, make_actor, part):
    boss = await make_actor("boss", workspace="other", role="manager")
    r = await boss.client.post(
        "/v1/review-templates", json={"workspace": "other", "name": "X", "checklist": ["a"]}
    )
    assert r.status_code == 201, r.text
    r = await alice.client.post(
        "/v1/reviews",
        json={"path": part.path, "reviewerEmail": "bob@example.com", "templateId": r.json()["id"]},
    )
    assert_problem(r, 404, "TEMPLATE_NOT_FOUND")
