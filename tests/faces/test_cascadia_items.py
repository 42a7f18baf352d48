"""Cascadia items (catalog parts): item locks, branch checkouts, their batches, and the lock
hierarchy over the item's files (cascadia-files-api: Lock Hierarchy)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.conftest import assert_problem
from tests.faces.factories import make_branch, make_item, step, upload, upload_one
from threadline.db import utcnow
from threadline.vault.models import ItemLock

# --- item lock ------------------------------------------------------------------------------------


async def test_lock_and_lock_status(alice, vic):
    item = await make_item(alice.client, "IT-1")
    status = await vic.client.get(f"/api/items/{item}/lock-status")
    assert status.status_code == 200
    assert status.json() == {"data": {"lockStatus": {"isLocked": False}}}

    response = await alice.client.post(f"/api/items/{item}/lock", json={"force": False})
    assert response.status_code == 200, response.text
    body = response.json()["data"]
    assert body["success"] is True and body["lockStatus"]["isLocked"] is True

    status = (await vic.client.get(f"/api/items/{item}/lock-status")).json()["data"]["lockStatus"]
    assert set(status) == {"isLocked", "lockType", "lockedBy", "lockedAt", "lockedFor", "scope"}
    assert (status["isLocked"], status["lockType"], status["scope"]) == (True, "lock", "item")
    assert status["lockedBy"] == {
        "id": str(alice.user.id),
        "name": "Alice",
        "email": "alice@example.com",
    }
    assert status["lockedFor"] == 0 and status["lockedAt"]


async def test_locked_for_counts_whole_minutes(alice, sessionmaker):
    item = await make_item(alice.client, "IT-2")
    assert (await alice.client.post(f"/api/items/{item}/lock")).status_code == 200
    async with sessionmaker() as session:
        await session.execute(
            update(ItemLock)
            .where(ItemLock.item_id == uuid.UUID(item))
            .values(created_at=utcnow() - timedelta(minutes=45, seconds=20))
        )
        await session.commit()
    status = (await alice.client.get(f"/api/items/{item}/lock-status")).json()["data"]
    assert status["lockStatus"]["lockedFor"] == 45
    assert isinstance(status["lockStatus"]["lockedFor"], int)


async def test_a_second_users_lock_is_refused_and_only_a_manager_can_force(alice, bob, mia):
    item = await make_item(alice.client, "IT-3")
    assert (await alice.client.post(f"/api/items/{item}/lock", json={"force": False})).is_success
    body = assert_problem(
        await bob.client.post(f"/api/items/{item}/lock", json={"force": False}), 423, "ITEM_LOCKED"
    )
    assert "Alice" in body["detail"]
    assert_problem(
        await bob.client.post(f"/api/items/{item}/lock", json={"force": True}),
        403,
        "INSUFFICIENT_ROLE",
    )
    status = (await bob.client.get(f"/api/items/{item}/lock-status")).json()["data"]
    assert status["lockStatus"]["lockedBy"]["id"] == str(alice.user.id)

    forced = await mia.client.post(f"/api/items/{item}/lock", json={"force": True})
    assert forced.status_code == 200, forced.text
    status = (await bob.client.get(f"/api/items/{item}/lock-status")).json()["data"]
    assert status["lockStatus"]["lockedBy"]["id"] == str(mia.user.id)


async def test_unlock(alice, bob, mia, vic):
    item = await make_item(alice.client, "IT-4")
    assert_problem(await alice.client.post(f"/api/items/{item}/unlock"), 409, "NOT_LOCKED")
    assert (await alice.client.post(f"/api/items/{item}/lock")).status_code == 200
    assert (await alice.client.post(f"/api/items/{item}/lock")).status_code == 200  # own: again
    assert_problem(await vic.client.post(f"/api/items/{item}/lock"), 403, "INSUFFICIENT_ROLE")
    assert_problem(await bob.client.post(f"/api/items/{item}/unlock"), 423, "ITEM_LOCKED")
    assert_problem(
        await bob.client.post(f"/api/items/{item}/unlock", json={"force": True}), 423, "ITEM_LOCKED"
    )
    response = await alice.client.post(f"/api/items/{item}/unlock")
    assert response.status_code == 200
    assert response.json() == {"data": {"success": True, "message": "Item unlocked successfully"}}
    assert (await bob.client.get(f"/api/items/{item}/lock-status")).json() == {
        "data": {"lockStatus": {"isLocked": False}}
    }

    assert (await bob.client.post(f"/api/items/{item}/lock")).status_code == 200
    assert (await mia.client.post(f"/api/items/{item}/unlock", json={"force": True})).is_success
    assert (await alice.client.get(f"/api/items/{item}/lock-status")).json() == {
        "data": {"lockStatus": {"isLocked": False}}
    }


async def test_an_item_lock_blocks_everything_else_on_the_item(alice, bob, sessionmaker):
    item = await make_item(alice.client, "IT-5")
    fix = await make_branch(sessionmaker, alice, "fix")
    file_id = (await upload_one(alice.client, item, "housing.step"))["id"]
    assert (await alice.client.post(f"/api/items/{item}/lock")).status_code == 200

    checkout = await bob.client.post(f"/api/items/{item}/checkout", json={"branchId": fix})
    assert_problem(checkout, 423, "ITEM_LOCKED")
    assert_problem(await bob.client.post(f"/api/files/{file_id}/checkout"), 423, "ITEM_LOCKED")
    existing = await upload(bob.client, item, {"file1": ("housing.step", step())})
    assert_problem(existing, 423, "ITEM_LOCKED")
    new = await upload(bob.client, item, {"file1": ("cover.step", step())})
    assert_problem(new, 423, "ITEM_LOCKED")
    on_branch = await upload(bob.client, item, {"file1": ("cover.step", step())}, branch_id=fix)
    assert_problem(on_branch, 423, "ITEM_LOCKED")
    assert_problem(await bob.client.delete(f"/api/files/{file_id}"), 423, "ITEM_LOCKED")
    listed = (await bob.client.get(f"/api/items/{item}/files")).json()["data"]
    assert [f["originalFileName"] for f in listed["files"]] == ["housing.step"]
    assert listed["files"][0]["version"] == 1

    status = (await bob.client.get(f"/api/files/{file_id}/lock-status")).json()["data"]
    assert (status["isLocked"], status["lockType"], status["scope"]) == (True, "lock", "item")

    # the holder still works on the item
    assert (
        await alice.client.post(f"/api/items/{item}/checkout", json={"branchId": fix})
    ).is_success
    assert (await upload_one(alice.client, item, "housing.step"))["version"] == 2
    assert (await alice.client.post(f"/api/files/{file_id}/checkout")).status_code == 200


# --- checkout on a branch ---------------------------------------------------------------------


async def test_checkout_status_and_rules(alice, bob, sessionmaker):
    item = await make_item(alice.client, "IT-10")
    fix = await make_branch(sessionmaker, alice, "fix")
    other = await make_branch(sessionmaker, alice, "other")
    url = f"/api/items/{item}/checkout"

    status = await bob.client.get(url, params={"branchId": fix})
    assert status.status_code == 200
    assert status.json() == {"data": {"isCheckedOut": False, "branchId": fix}}

    response = await alice.client.post(url, json={"branchId": fix})
    assert response.status_code == 200, response.text
    first = response.json()["data"]
    assert (first["success"], first["itemId"], first["branchId"]) == (True, item, fix)
    again = (await alice.client.post(url, json={"branchId": fix})).json()["data"]
    assert again["checkedOutAt"] == first["checkedOutAt"]

    body = assert_problem(
        await bob.client.post(url, json={"branchId": fix}), 409, "CHECKOUT_CONFLICT"
    )
    assert "Alice" in body["detail"]
    assert (await bob.client.post(url, json={"branchId": other})).status_code == 200  # rule 2

    status = (await bob.client.get(url, params={"branchId": fix})).json()["data"]
    assert status == {
        "isCheckedOut": True,
        "branchId": fix,
        "branchName": "fix",
        "checkedOutBy": {"id": str(alice.user.id), "name": "Alice", "email": "alice@example.com"},
        "checkedOutAt": first["checkedOutAt"],
    }
    on_other = (await alice.client.get(url, params={"branchId": other})).json()["data"]
    assert on_other["checkedOutBy"]["id"] == str(bob.user.id)


async def test_cancel_checkout(alice, bob, sessionmaker):
    item = await make_item(alice.client, "IT-11")
    fix = await make_branch(sessionmaker, alice, "fix")
    url = f"/api/items/{item}/checkout"
    assert_problem(await alice.client.delete(url, params={"branchId": fix}), 409, "NOT_CHECKED_OUT")
    assert (await alice.client.post(url, json={"branchId": fix})).status_code == 200
    assert_problem(await bob.client.delete(url, params={"branchId": fix}), 403, "NOT_YOUR_CHECKOUT")
    response = await alice.client.delete(url, params={"branchId": fix})
    assert response.status_code == 200
    assert response.json() == {"data": {"success": True, "message": "Checkout cancelled"}}
    status = (await alice.client.get(url, params={"branchId": fix})).json()["data"]
    assert status["isCheckedOut"] is False

    assert (await bob.client.post(url, json={"branchId": fix})).status_code == 200
    cancelled = await bob.client.request("DELETE", url, json={"branchId": fix})  # body, no query
    assert cancelled.status_code == 200, cancelled.text


async def test_checkin_item(alice, bob, sessionmaker):
    item = await make_item(alice.client, "IT-12")
    fix = await make_branch(sessionmaker, alice, "fix")
    url = f"/api/items/{item}/checkin"
    assert_problem(await alice.client.post(url, json={"branchId": fix}), 409, "NOT_CHECKED_OUT")
    checkout = await alice.client.post(f"/api/items/{item}/checkout", json={"branchId": fix})
    assert checkout.status_code == 200
    assert_problem(await bob.client.post(url, json={"branchId": fix}), 403, "NOT_YOUR_CHECKOUT")
    response = await alice.client.post(url, json={"branchId": fix})
    assert response.status_code == 200
    assert response.json() == {"data": {"success": True, "message": "Item checked in successfully"}}
    assert (await bob.client.post(f"/api/items/{item}/checkout", json={"branchId": fix})).is_success


async def test_every_checkout_operation_needs_a_known_branch(alice, mallory, sessionmaker):
    item = await make_item(alice.client, "IT-13")
    foreign = await make_branch(sessionmaker, mallory, "fix", workspace="globex")
    unknown = str(uuid.uuid4())
    url = f"/api/items/{item}/checkout"
    calls = [
        lambda body: alice.client.post(url, json=body),
        lambda body: alice.client.get(url, params=body),
        lambda body: alice.client.delete(url, params=body),
        lambda body: alice.client.post(f"/api/items/{item}/checkin", json=body),
    ]
    for call in calls:
        assert_problem(await call({}), 400, "BRANCH_REQUIRED")
        assert_problem(await call({"branchId": unknown}), 404, "RESOURCE_NOT_FOUND")
        assert_problem(await call({"branchId": foreign}), 404, "RESOURCE_NOT_FOUND")
        assert_problem(await call({"branchId": "fix"}), 400)


async def test_a_viewer_reads_checkouts_but_cannot_check_out(alice, vic, sessionmaker):
    item = await make_item(alice.client, "IT-14")
    fix = await make_branch(sessionmaker, alice, "fix")
    url = f"/api/items/{item}/checkout"
    assert_problem(await vic.client.post(url, json={"branchId": fix}), 403, "INSUFFICIENT_ROLE")
    assert (await vic.client.get(url, params={"branchId": fix})).status_code == 200
    assert_problem(
        await vic.client.post(f"/api/items/{item}/checkin", json={"branchId": fix}),
        403,
        "INSUFFICIENT_ROLE",
    )


async def test_a_checkout_blocks_other_users_file_changes_on_that_branch_only(
    alice, bob, sessionmaker
):
    item = await make_item(alice.client, "IT-15")
    fix = await make_branch(sessionmaker, alice, "fix")
    on_main = await upload_one(alice.client, item, "housing.step")
    on_fix = await upload_one(alice.client, item, "housing.step", branch_id=fix)
    assert (
        await alice.client.post(f"/api/items/{item}/checkout", json={"branchId": fix})
    ).is_success

    existing = await upload(bob.client, item, {"file1": ("housing.step", step())}, branch_id=fix)
    assert_problem(existing, 423, "CHECKOUT_CONFLICT")
    new = await upload(bob.client, item, {"file1": ("cover.step", step())}, branch_id=fix)
    assert_problem(new, 423, "CHECKOUT_CONFLICT")
    assert_problem(await bob.client.delete(f"/api/files/{on_fix['id']}"), 423, "CHECKOUT_CONFLICT")
    listed = (await bob.client.get(f"/api/items/{item}/files", params={"branchId": fix})).json()
    assert listed["data"]["count"] == 1

    assert (await upload_one(bob.client, item, "housing.step"))["version"] == 2  # main: free
    assert (await upload_one(alice.client, item, "housing.step", branch_id=fix))["version"] == 2
    assert on_main["id"] != on_fix["id"]


# --- batches --------------------------------------------------------------------------------------


async def test_batch_checkout_items_201_207_400(alice, bob, sessionmaker):
    fix = await make_branch(sessionmaker, alice, "fix")
    a, b, c = [await make_item(alice.client, f"BT-{n}") for n in range(3)]
    url = "/api/items/batch-checkout"

    response = await alice.client.post(url, json={"itemIds": [a, b], "branchId": fix})
    assert response.status_code == 201, response.text
    body = response.json()["data"]
    assert body["errors"] == []
    assert [(x["itemId"], x["branchId"]) for x in body["checkedOut"]] == [(a, fix), (b, fix)]
    assert all(x["checkedOutAt"] for x in body["checkedOut"])

    response = await bob.client.post(url, json={"itemIds": [c, a], "branchId": fix})
    assert response.status_code == 207, response.text
    body = response.json()["data"]
    assert [x["itemId"] for x in body["checkedOut"]] == [c]
    (error,) = body["errors"]
    assert (error["itemId"], error["error"]) == (a, "Failed to checkout item")
    assert "Alice" in error["details"]
    status = (await alice.client.get(f"/api/items/{c}/checkout", params={"branchId": fix})).json()
    assert status["data"]["checkedOutBy"]["id"] == str(bob.user.id)

    response = await bob.client.post(url, json={"itemIds": [a, b], "branchId": fix})
    assert response.status_code == 400, response.text
    body = response.json()["data"]
    assert body["checkedOut"] == [] and [e["itemId"] for e in body["errors"]] == [a, b]


async def test_batch_checkin_items_200_207_400(alice, bob, sessionmaker):
    fix = await make_branch(sessionmaker, alice, "fix")
    a, b, c = [await make_item(alice.client, f"BC-{n}") for n in range(3)]
    checkout = await alice.client.post(
        "/api/items/batch-checkout", json={"itemIds": [a, b], "branchId": fix}
    )
    assert checkout.status_code == 201
    url = "/api/items/batch-checkin"

    response = await alice.client.post(url, json={"itemIds": [a], "branchId": fix})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {"checkedIn": [{"itemId": a, "branchId": fix}], "errors": []}
    }

    response = await alice.client.post(url, json={"itemIds": [b, c], "branchId": fix})
    assert response.status_code == 207, response.text
    body = response.json()["data"]
    assert body["checkedIn"] == [{"itemId": b, "branchId": fix}]
    (error,) = body["errors"]
    assert (error["itemId"], error["error"], error["details"]) == (
        c,
        "Failed to checkin item",
        "Item is not checked out.",
    )

    assert (await bob.client.post(f"/api/items/{c}/checkout", json={"branchId": fix})).is_success
    response = await alice.client.post(url, json={"itemIds": [a, c], "branchId": fix})
    assert response.status_code == 400, response.text
    assert [e["itemId"] for e in response.json()["data"]["errors"]] == [a, c]
    status = (await bob.client.get(f"/api/items/{c}/checkout", params={"branchId": fix})).json()
    assert status["data"]["isCheckedOut"] is True


@pytest.mark.parametrize("path", ["/api/items/batch-checkout", "/api/items/batch-checkin"])
async def test_item_batches_validate_their_body(alice, sessionmaker, path):
    fix = await make_branch(sessionmaker, alice, "fix")
    item = await make_item(alice.client, "BV-1")
    too_many = [str(uuid.uuid4()) for _ in range(101)]
    response = await alice.client.post(path, json={"itemIds": too_many, "branchId": fix})
    problem = assert_problem(response, 400, "BATCH_TOO_LARGE")
    assert "Limited to 100 items per batch" in problem["detail"]
    assert [e["itemId"] for e in problem["data"]["errors"]] == too_many
    assert_problem(await alice.client.post(path, json={"itemIds": [], "branchId": fix}), 400)
    assert_problem(await alice.client.post(path, json={"itemIds": [item]}), 400)
    unknown = await alice.client.post(path, json={"itemIds": [item], "branchId": str(uuid.uuid4())})
    assert unknown.status_code == 400, unknown.text
    (error,) = unknown.json()["data"]["errors"]
    assert error["code"] == "RESOURCE_NOT_FOUND"
