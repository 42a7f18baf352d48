"""Soft locks with a TTL (productflo-sync-api: Locks; 423 for every mutating operation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from tests.conftest import assert_problem
from tests.vault.helpers import names, step_like, upload
from threadline.db import utcnow
from threadline.vault.models import FileLock

PATH = "/v1/serve/acme/alice/m.step"
ORIGINAL = b"ISO-10303-21; original"


@pytest.fixture
async def model(alice) -> dict:
    """``m.step`` in alice's folder (the upload's response)."""
    r = await upload(alice.client, "m.step", ORIGINAL)
    assert r.status_code == 201, r.text
    return r.json()


async def _lock(actor, path=PATH, **body):
    return await actor.client.post("/v1/locks/lock", json={"path": path, **body})


async def _info(actor, path=PATH):
    r = await actor.client.get("/v1/locks", params={"path": path})
    assert r.status_code == 200, r.text
    return r.json()


async def test_unlocked_file_has_no_lock(bob, model):
    assert await _info(bob) is None


async def test_lock_defaults_to_ten_minutes(alice, bob, model):
    before = datetime.now(UTC)
    r = await _lock(alice)
    assert r.status_code == 200, r.text
    lock = r.json()
    assert lock["owner"] == "alice" and lock["kind"] == "lock" and lock["path"] == PATH
    expires = datetime.fromisoformat(lock["expiresAt"])
    assert before + timedelta(seconds=595) <= expires <= datetime.now(UTC) + timedelta(seconds=605)
    assert await _info(bob) == lock
    meta = await bob.client.get(
        "/v1/filemeta", params={"workspace": "acme", "username": "alice", "filename": "m.step"}
    )
    assert meta.json()["lock"]["lockId"] == lock["lockId"]


async def test_lock_with_a_ttl(alice, model):
    r = await _lock(alice, ttlMs=60_000)
    assert r.status_code == 200, r.text
    expires = datetime.fromisoformat(r.json()["expiresAt"])
    assert expires <= datetime.now(UTC) + timedelta(seconds=61)


@pytest.mark.parametrize("ttl", [1, 59_999, 7 * 24 * 3600 * 1000 + 1])
async def test_lock_ttl_out_of_range_is_400(alice, model, ttl):
    assert_problem(await _lock(alice, ttlMs=ttl), 400, "INVALID_TTL")
    assert await _info(alice) is None


async def test_renewing_your_own_lock_keeps_it_yours(alice, model):
    first = (await _lock(alice, ttlMs=60_000)).json()
    second = (await _lock(alice)).json()
    assert second["owner"] == "alice"
    assert second["expiresAt"] > first["expiresAt"]


async def test_someone_elses_lock_is_409(alice, bob, model):
    assert (await _lock(alice)).status_code == 200
    body = assert_problem(await _lock(bob), 409, "LOCK_HELD")
    assert body["lockedBy"] == "Alice"
    assert (await _info(bob))["owner"] == "alice"


async def test_viewer_cannot_lock(vera, model):
    assert_problem(await _lock(vera), 403)


async def test_locking_for_someone_else_needs_manager(alice, bob, mike, model):
    assert_problem(await _lock(alice, owner="bob"), 403)
    r = await _lock(mike, owner="bob")
    assert r.status_code == 200, r.text
    assert r.json()["owner"] == "bob"


async def test_lock_of_a_missing_file_is_404(alice):
    assert_problem(await _lock(alice, path="/v1/serve/acme/alice/x.step"), 404, "FILE_NOT_FOUND")


# --- 423 for everyone but the holder ----------------------------------------------------------


@pytest.fixture
async def locked(alice, model) -> dict:
    """alice's ``m.step`` with a ``fix`` branch, locked by alice; bob (an engineer, who may
    write alice's folder: files are the team's) is "another user"."""
    r = await alice.client.post(
        "/v1/branches/create", json={"workspace": "acme", "base": "m.step", "branch": "fix"}
    )
    assert r.status_code == 201, r.text
    r = await upload(alice.client, "m.step", b"ISO-10303-21; v2", replace="true")
    assert r.status_code == 200, r.text
    lock = await _lock(alice)
    assert lock.status_code == 200, lock.text
    return lock.json()


async def _unchanged(alice):
    meta = await alice.client.get(
        "/v1/filemeta", params={"workspace": "acme", "filename": "m.step"}
    )
    assert meta.json()["version"] == 2
    assert (await alice.client.get(PATH)).content == b"ISO-10303-21; v2"


async def test_upload_with_replace_by_another_user_is_423(alice, bob, locked):
    r = await upload(bob.client, "m.step", b"ISO bob", username="alice", replace="true")
    assert_problem(r, 423, "FILE_LOCKED")
    meta = await alice.client.get(
        "/v1/filemeta", params={"workspace": "acme", "filename": "m.step"}
    )
    etag = meta.json()["etag"]
    r = await upload(bob.client, "m.step", b"ISO bob", username="alice", baseVersion=etag)
    assert_problem(r, 423, "FILE_LOCKED")
    await _unchanged(alice)
    assert set(await names(alice.client)) == {"m.step"}  # main and fix; no conflict copy


async def test_delete_by_another_user_is_423(alice, bob, locked):
    r = await bob.client.delete(
        "/v1/file", params={"workspace": "acme", "username": "alice", "filename": "m.step"}
    )
    assert_problem(r, 423, "FILE_LOCKED")
    await _unchanged(alice)


async def test_revert_by_another_user_is_423(alice, bob, model, locked):
    r = await bob.client.post("/v1/revert", json={"path": PATH, "versionId": model["versionId"]})
    assert_problem(r, 423, "FILE_LOCKED")
    await _unchanged(alice)


async def test_merge_by_another_user_is_423(alice, bob, locked):
    r = await bob.client.post(
        "/v1/merge",
        json={"workspace": "acme", "username": "alice", "filename": "m.step", "fromBranch": "fix"},
    )
    assert_problem(r, 423, "FILE_LOCKED")
    await _unchanged(alice)


async def test_conflict_resolution_by_another_user_is_423(alice, bob, locked):
    r = await upload(alice.client, "m.step", b"ISO stale", baseVersion="1-stale")
    copy = assert_problem(r, 409, "VERSION_CONFLICT")["conflictPath"]
    r = await bob.client.post(
        "/v1/conflicts/resolve", json={"baseName": "m.step", "acceptedPath": copy}
    )
    assert_problem(r, 423, "FILE_LOCKED")
    await _unchanged(alice)


async def test_the_holder_can_still_write(alice, model, locked):
    r = await upload(alice.client, "m.step", b"ISO v3", replace="true")
    assert r.status_code == 200, r.text
    r = await alice.client.post("/v1/revert", json={"path": PATH, "versionId": model["versionId"]})
    assert r.status_code == 200, r.text
    assert (await alice.client.get(PATH)).content == ORIGINAL
    r = await alice.client.post(
        "/v1/merge", json={"workspace": "acme", "filename": "m.step", "fromBranch": "fix"}
    )
    assert r.status_code == 200, r.text
    r = await alice.client.delete("/v1/file", params={"workspace": "acme", "filename": "m.step"})
    assert r.status_code == 200, r.text


async def test_deleting_drops_the_lock(alice, model, locked):
    key = (
        await alice.client.delete("/v1/file", params={"workspace": "acme", "filename": "m.step"})
    ).json()["key"]
    r = await alice.client.post("/v1/trash/restore", json={"workspace": "acme", "key": key})
    assert r.status_code == 200, r.text
    assert await _info(alice) is None


# --- files are the team's: a lock, not the folder, stops a colleague -----------------------------


async def _version(actor, username="alice") -> int:
    meta = await actor.client.get(
        "/v1/filemeta", params={"workspace": "acme", "username": username, "filename": "m.step"}
    )
    assert meta.status_code == 200, meta.text
    return meta.json()["version"]


async def test_a_colleague_saves_a_new_version_of_your_file(alice, bob, model):
    r = await upload(
        bob.client, "m.step", b"ISO bob v2", username="alice", baseVersion=model["etag"]
    )
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["path"]) == (2, PATH)
    r = await upload(bob.client, "m.step", b"ISO bob v3", username="alice", replace="true")
    assert r.status_code == 200, r.text
    r = await bob.client.post("/v1/revert", json={"path": PATH, "versionId": model["versionId"]})
    assert r.status_code == 200, r.text
    assert await _version(alice) == 4
    assert (await alice.client.get(PATH)).content == ORIGINAL
    versions = (await alice.client.get("/v1/versions", params={"path": PATH})).json()["items"]
    assert [v["author"] for v in versions] == ["bob", "bob", "bob", "alice"]


async def test_your_lock_blocks_a_colleague_until_you_unlock(alice, bob, model):
    lock = await _lock(alice)
    assert lock.status_code == 200, lock.text
    r = await upload(bob.client, "m.step", b"ISO bob", username="alice", baseVersion=model["etag"])
    problem = assert_problem(r, 423, "FILE_LOCKED")
    assert problem["lockedBy"] == "alice" and "Alice" in problem["detail"]
    assert await _version(alice) == 1  # nothing written: no version, no conflict copy
    assert await names(alice.client) == ["m.step"] and await names(bob.client) == []
    assert (await alice.client.get(PATH)).content == ORIGINAL

    r = await alice.client.post(
        "/v1/locks/unlock", json={"path": PATH, "lockId": lock.json()["lockId"]}
    )
    assert r.status_code == 200, r.text
    r = await upload(bob.client, "m.step", b"ISO bob", username="alice", baseVersion=model["etag"])
    assert r.status_code == 200, r.text
    assert await _version(alice) == 2


async def test_a_colleagues_lock_on_your_file_blocks_you_too(alice, bob, model):
    """A lock covers the file, whoever's folder it sits in: bob locks alice's m.step."""
    lock = await _lock(bob)
    assert lock.status_code == 200, lock.text
    assert (await _info(alice))["owner"] == "bob"
    r = await upload(alice.client, "m.step", b"ISO alice", replace="true")
    assert_problem(r, 423, "FILE_LOCKED")
    r = await alice.client.delete("/v1/file", params={"workspace": "acme", "filename": "m.step"})
    assert_problem(r, 423, "FILE_LOCKED")
    r = await alice.client.post("/v1/revert", json={"path": PATH, "versionId": model["versionId"]})
    assert_problem(r, 423, "FILE_LOCKED")
    assert await _version(alice) == 1
    # the holder writes; the folder's owner may not release someone else's lock
    r = await upload(bob.client, "m.step", b"ISO bob", username="alice", replace="true")
    assert r.status_code == 200, r.text
    r = await alice.client.post("/v1/locks/unlock", json={"path": PATH})
    assert_problem(r, 403, "NOT_LOCK_OWNER")
    r = await bob.client.post("/v1/locks/unlock", json={"path": PATH})
    assert r.status_code == 200, r.text
    r = await upload(alice.client, "m.step", b"ISO alice", replace="true")
    assert r.status_code == 200, r.text
    assert await _version(alice) == 3


async def test_a_lock_blocks_managers_too_until_they_force_unlock(alice, bob, mike, model):
    assert (await _lock(bob)).status_code == 200
    r = await upload(mike.client, "m.step", b"ISO mike", username="alice", replace="true")
    assert_problem(r, 423, "FILE_LOCKED")
    r = await mike.client.post("/v1/locks/force-unlock", json={"path": PATH, "message": "needed"})
    assert r.status_code == 200, r.text
    r = await upload(mike.client, "m.step", b"ISO mike", username="alice", replace="true")
    assert r.status_code == 200, r.text


async def test_viewers_cannot_write_a_colleagues_file(alice, vera, model):
    r = await upload(vera.client, "m.step", b"ISO vera", username="alice", replace="true")
    assert_problem(r, 403, "INSUFFICIENT_ROLE")
    r = await vera.client.post("/v1/revert", json={"path": PATH, "versionId": model["versionId"]})
    assert_problem(r, 403, "INSUFFICIENT_ROLE")
    assert await _version(alice) == 1


# --- unlock -----------------------------------------------------------------------------------


async def test_unlock(alice, model, locked):
    r = await alice.client.post("/v1/locks/unlock", json={"path": PATH, "lockId": locked["lockId"]})
    assert r.status_code == 200, r.text
    assert await _info(alice) is None
    r = await alice.client.post("/v1/locks/unlock", json={"path": PATH, "lockId": locked["lockId"]})
    assert_problem(r, 409, "NOT_LOCKED")


async def test_unlock_with_the_wrong_lock_id_is_409(alice, bob, locked):
    wrong = "0190a0a0-0000-7000-8000-000000000000"
    r = await alice.client.post("/v1/locks/unlock", json={"path": PATH, "lockId": wrong})
    assert_problem(r, 409, "LOCK_MISMATCH")
    assert (await _info(alice))["lockId"] == locked["lockId"]


async def test_unlock_by_someone_else_is_403(alice, bob, mike, locked):
    for other in (bob, mike):
        r = await other.client.post(
            "/v1/locks/unlock", json={"path": PATH, "lockId": locked["lockId"]}
        )
        assert_problem(r, 403, "NOT_LOCK_OWNER")
    assert (await _info(alice))["owner"] == "alice"


async def test_force_unlock_is_for_managers(alice, bob, mike, model, locked):
    r = await bob.client.post("/v1/locks/force-unlock", json={"path": PATH, "message": "mine"})
    assert_problem(r, 403)
    assert (await _info(alice))["owner"] == "alice"

    r = await mike.client.post(
        "/v1/locks/force-unlock", json={"path": PATH, "author": "mike", "message": "release day"}
    )
    assert r.status_code == 200, r.text
    assert await _info(alice) is None
    r = await mike.client.get("/v1/audit", params={"workspace": "acme", "action": "force_unlock"})
    assert r.status_code == 200, r.text
    [event] = r.json()["items"]
    assert event["entityId"] == model["id"]
    assert event["after"]["message"] == "release day"
    assert event["after"]["formerOwner"] == str(alice.user.id)
    assert event["actorId"] == str(mike.user.id)
    # now someone else may lock and write
    assert (await _lock(bob)).status_code == 200
    r = await mike.client.post("/v1/locks/force-unlock", json={"path": PATH})
    assert r.status_code == 200, r.text
    r = await mike.client.post("/v1/locks/force-unlock", json={"path": PATH})
    assert_problem(r, 409, "NOT_LOCKED")


# --- requests ---------------------------------------------------------------------------------


async def test_request_is_recorded(alice, bob, mike, model, locked):
    r = await bob.client.post("/v1/locks/request", json={"path": PATH, "from": "bob"})
    assert r.status_code == 200, r.text
    assert r.json()["lockId"] == locked["lockId"]
    events = (
        await mike.client.get("/v1/audit", params={"workspace": "acme", "action": "lock_request"})
    ).json()["items"]
    assert len(events) == 1
    assert events[0]["entityId"] == model["id"]
    assert events[0]["after"]["from"] == "bob"
    assert events[0]["after"]["holder"] == str(alice.user.id)


async def test_request_of_an_unlocked_file_is_409(bob, model):
    r = await bob.client.post("/v1/locks/request", json={"path": PATH})
    assert_problem(r, 409, "NOT_LOCKED")


async def test_request_rate_limit_is_60_per_minute(bob, locked):
    for n in range(60):
        r = await bob.client.post("/v1/locks/request", json={"path": PATH})
        assert r.status_code == 200, (n, r.text)
    r = await bob.client.post("/v1/locks/request", json={"path": PATH})
    assert_problem(r, 429, "RATE_LIMITED")
    assert int(r.headers["retry-after"]) >= 1


# --- lock-all / unlock-all --------------------------------------------------------------------


async def test_lock_all_and_unlock_all(alice, bob, mike, model):
    await upload(alice.client, "n.step", step_like("n"))
    await upload(bob.client, "b.step", step_like("b"))
    assert (await _lock(bob)).status_code == 200  # bob holds alice's m.step

    assert_problem(await alice.client.post("/v1/locks/lock-all", json={"workspace": "acme"}), 403)
    r = await mike.client.post("/v1/locks/lock-all", json={"workspace": "acme"})
    assert r.status_code == 200, r.text
    assert r.json() == {"locked": 2, "skipped": ["m.step"]}
    assert (await _info(alice, "/v1/serve/acme/alice/n.step"))["owner"] == "mike"
    assert (await _info(alice, "/v1/serve/acme/bob/b.step"))["owner"] == "mike"
    assert (await _info(alice))["owner"] == "bob"
    r = await upload(bob.client, "b.step", b"ISO bob", replace="true")
    assert_problem(r, 423, "FILE_LOCKED")

    assert_problem(await bob.client.post("/v1/locks/unlock-all", json={"workspace": "acme"}), 403)
    r = await mike.client.post("/v1/locks/unlock-all", json={"workspace": "acme"})
    assert r.status_code == 200, r.text
    assert r.json() == {"unlocked": 3}
    for path in (PATH, "/v1/serve/acme/alice/n.step", "/v1/serve/acme/bob/b.step"):
        assert await _info(alice, path) is None
    assert (await upload(bob.client, "b.step", b"ISO bob", replace="true")).status_code == 200


async def test_lock_all_checks_ttl_and_membership(mike, carol, model):
    r = await mike.client.post("/v1/locks/lock-all", json={"workspace": "acme", "ttlMs": 1000})
    assert_problem(r, 400, "INVALID_TTL")
    r = await carol.client.post("/v1/locks/lock-all", json={"workspace": "acme"})
    assert_problem(r, 404, "WORKSPACE_NOT_FOUND")
    assert await _info(mike) is None


async def test_lock_all_for_another_owner(mike, bob, model):
    r = await mike.client.post("/v1/locks/lock-all", json={"workspace": "acme", "owner": "bob"})
    assert r.status_code == 200, r.text
    assert (await _info(bob))["owner"] == "bob"


# --- expiry -----------------------------------------------------------------------------------


async def test_an_expired_lock_no_longer_blocks(alice, bob, mike, sessionmaker, locked):
    async with sessionmaker() as session:
        await session.execute(update(FileLock).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    assert await _info(bob) is None
    r = await upload(mike.client, "m.step", b"ISO mike", username="alice", replace="true")
    assert r.status_code == 200, r.text
    r = await _lock(bob)
    assert r.status_code == 200, r.text
    assert r.json()["owner"] == "bob"
    r = await alice.client.post("/v1/locks/unlock", json={"path": PATH, "lockId": locked["lockId"]})
    assert_problem(r, 403, "NOT_LOCK_OWNER")
