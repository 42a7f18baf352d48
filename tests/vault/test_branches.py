"""Branches, merges and conflicts
(productflo-sync-api: Branches & Merges, Conflicts, Configuration)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import assert_problem
from tests.vault.helpers import names, step_bytes, step_like, upload

MAIN_BYTES = b"ISO-10303-21; main v1"
PATH = "/v1/serve/acme/alice/m.step"


@pytest.fixture
async def model(alice) -> dict:
    r = await upload(alice.client, "m.step", MAIN_BYTES)
    assert r.status_code == 201, r.text
    return r.json()


async def _create(actor, branch, base="m.step", **body):
    return await actor.client.post(
        "/v1/branches/create",
        json={"workspace": "acme", "base": base, "branch": branch, **body},
    )


async def _branches(actor, base="m.step", **params):
    r = await actor.client.get("/v1/branches", params={"workspace": "acme", "base": base, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def _merge(actor, branch, **body):
    return await actor.client.post(
        "/v1/merge",
        json={"workspace": "acme", "filename": "m.step", "fromBranch": branch, **body},
    )


async def _meta(actor, **params):
    r = await actor.client.get(
        "/v1/filemeta", params={"workspace": "acme", "filename": "m.step", **params}
    )
    assert r.status_code == 200, r.text
    return r.json()


# --- list and create --------------------------------------------------------------------------


async def test_a_file_alone_has_only_main(alice, model):
    [main] = await _branches(alice)
    assert (main["name"], main["main"], main["etag"], main["path"]) == (
        "main",
        True,
        model["etag"],
        PATH,
    )


async def test_branches_of_a_missing_file_is_404(alice):
    r = await alice.client.get("/v1/branches", params={"workspace": "acme", "base": "x.step"})
    assert_problem(r, 404, "FILE_NOT_FOUND")


async def test_create_branches_main_first(alice, model):
    for branch in ("zeta", "fix-1", "a_b"):
        r = await _create(alice, branch)
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["branch"], body["branchName"], body["name"]) == (branch, branch, "m.step")
        assert body["version"] == 1 and body["sha256"] == model["sha256"]
    items = await _branches(alice)
    assert [b["name"] for b in items] == ["main", "a_b", "fix-1", "zeta"]
    assert [b["main"] for b in items] == [True, False, False, False]
    r = await alice.client.get(PATH, params={"branch": "fix-1"})
    assert r.status_code == 200 and r.content == MAIN_BYTES


@pytest.mark.parametrize("branch", ["Fix", "fix branch", "a/b", "../x", "fix.1", "é", "main"])
async def test_branch_names_are_validated(alice, model, branch):
    assert_problem(await _create(alice, branch), 400, "INVALID_BRANCH")
    assert [b["name"] for b in await _branches(alice)] == ["main"]


async def test_duplicate_branch_is_409(alice, model):
    assert (await _create(alice, "fix")).status_code == 201
    assert_problem(await _create(alice, "fix"), 409, "BRANCH_EXISTS")


async def test_branch_of_a_missing_base_is_404(alice, model):
    assert_problem(await _create(alice, "fix", base="nope.step"), 404, "FILE_NOT_FOUND")


async def test_branching_needs_write_access(alice, bob, vera, model):
    """Viewers may not branch; any engineer may branch a colleague's file (files are the
    team's)."""
    assert_problem(await _create(vera, "fix", username="alice"), 403, "INSUFFICIENT_ROLE")
    r = await _create(bob, "fix", username="alice")
    assert r.status_code == 201, r.text
    assert [b["name"] for b in await _branches(alice)] == ["main", "fix"]


# --- writing on a branch and merging ----------------------------------------------------------


async def test_upload_to_a_branch_leaves_main_alone(alice, model):
    assert (await _create(alice, "fix")).status_code == 201
    branch_meta = await _meta(alice, branch="fix")
    fixed = step_like("fixed")
    r = await upload(alice.client, "m.step", fixed, branch="fix", baseVersion=branch_meta["etag"])
    assert r.status_code == 200, r.text
    assert (r.json()["branch"], r.json()["version"]) == ("fix", 2)
    assert (await alice.client.get(PATH)).content == MAIN_BYTES
    assert (await alice.client.get(PATH, params={"branch": "fix"})).content == fixed
    main = await _meta(alice)
    assert (main["version"], main["etag"]) == (1, model["etag"])
    # main's etag is no base for the branch: a conflict copy on the branch
    r = await upload(alice.client, "m.step", b"ISO x", branch="fix", baseVersion=model["etag"])
    copy = assert_problem(r, 409, "VERSION_CONFLICT")["file"]
    assert copy["branch"] == "fix"
    assert (await alice.client.get(PATH)).content == MAIN_BYTES


async def test_upload_with_a_bad_branch_name_is_400(alice, model):
    r = await upload(alice.client, "m.step", b"ISO x", branch="Not A Branch", replace="true")
    assert_problem(r, 400, "INVALID_BRANCH")
    assert [b["name"] for b in await _branches(alice)] == ["main"]


async def test_merge_makes_a_new_main_version(alice, bob, model):
    assert (await _create(alice, "fix")).status_code == 201
    fixed = step_bytes()
    r = await upload(alice.client, "m.step", fixed, branch="fix", replace="true")
    assert r.status_code == 200, r.text

    r = await _merge(alice, "fix", message="ship the fix")
    assert r.status_code == 200, r.text
    merged = r.json()
    assert (merged["branch"], merged["version"], merged["size"]) == ("main", 2, len(fixed))
    assert (await bob.client.get(PATH)).content == fixed
    versions = (await alice.client.get("/v1/versions", params={"path": PATH})).json()["items"]
    assert [(v["version"], v["source"], v["message"]) for v in versions] == [
        (2, "merge", "ship the fix"),
        (1, "upload", None),
    ]
    # the branch lives on after a merge
    assert [b["name"] for b in await _branches(alice)] == ["main", "fix"]
    r = await _merge(alice, "fix")
    assert r.json()["version"] == 3
    versions = (await alice.client.get("/v1/versions", params={"path": PATH})).json()["items"]
    assert versions[0]["message"] == "Merge branch fix"


async def test_merge_errors(alice, bob, vera, model):
    assert_problem(await _merge(alice, "main"), 400, "INVALID_BRANCH")
    assert_problem(await _merge(alice, "ghost"), 404, "BRANCH_NOT_FOUND")
    assert (await _create(alice, "fix")).status_code == 201
    r = await _merge(vera, "fix", username="alice")
    assert_problem(r, 403, "INSUFFICIENT_ROLE")
    assert (await _meta(alice))["version"] == 1
    r = await _merge(bob, "fix", username="alice")  # a colleague may merge it
    assert r.status_code == 200, r.text
    assert (await _meta(alice))["version"] == 2


async def test_merge_respects_locks(alice, mike, model):
    assert (await _create(alice, "fix")).status_code == 201
    await upload(alice.client, "m.step", b"ISO fix", branch="fix", replace="true")
    assert (await alice.client.post("/v1/locks/lock", json={"path": PATH})).status_code == 200
    assert_problem(await _merge(mike, "fix", username="alice"), 423, "FILE_LOCKED")
    assert (await alice.client.get(PATH)).content == MAIN_BYTES
    r = await _merge(alice, "fix")
    assert r.status_code == 200, r.text
    assert (await alice.client.get(PATH)).content == b"ISO fix"


# --- delete -----------------------------------------------------------------------------------


async def test_delete_branch(alice, model):
    assert (await _create(alice, "fix")).status_code == 201
    body = {"workspace": "acme", "base": "m.step"}
    r = await alice.client.post("/v1/branches/delete", json={**body, "branch": "main"})
    assert_problem(r, 400, "CANNOT_DELETE_MAIN")
    r = await alice.client.post("/v1/branches/delete", json={**body, "branch": "fix"})
    assert r.status_code == 200, r.text
    key = r.json()["key"]
    assert [b["name"] for b in await _branches(alice)] == ["main"]
    assert (await alice.client.get(PATH)).content == MAIN_BYTES
    trash = (await alice.client.get("/v1/trash", params={"workspace": "acme"})).json()["items"]
    assert [(t["key"], t["name"], t["branch"]) for t in trash] == [(key, "m.step", "fix")]
    r = await alice.client.post("/v1/branches/delete", json={**body, "branch": "fix"})
    assert_problem(r, 404, "BRANCH_NOT_FOUND")
    # a deleted branch can be created again, and the old copy restored only once it is gone
    assert (await _create(alice, "fix")).status_code == 201
    r = await alice.client.post("/v1/trash/restore", json={"workspace": "acme", "key": key})
    assert_problem(r, 409, "FILE_EXISTS")


# --- phase 1: branch suffix writes ------------------------------------------------------------


@pytest.fixture
async def suffix_client(settings, engine, sessionmaker, rate_limiter, alice):
    """Alice against an app with ``PF_BRANCH_SUFFIX_WRITES`` on."""
    from threadline.app import create_app

    app = create_app(
        settings.model_copy(update={"branch_suffix_writes": True}),
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


async def test_config_reports_branch_suffix_writes(client, suffix_client):
    assert (await client.get("/v1/config")).json() == {"branchSuffixWrites": False}
    assert (await suffix_client.get("/v1/config")).json() == {"branchSuffixWrites": True}


async def test_suffix_branches(suffix_client, model):
    c = suffix_client
    body = {"workspace": "acme", "base": "m.step"}
    r = await c.post("/v1/branches/create", json={**body, "branch": "fix"})
    assert r.status_code == 201, r.text
    assert (r.json()["name"], r.json()["branch"]) == ("m@fix.step", "main")
    assert await names(c) == ["m.step", "m@fix.step"]
    r = await c.post("/v1/branches/create", json={**body, "branch": "fix"})
    assert_problem(r, 409, "BRANCH_EXISTS")

    items = (await c.get("/v1/branches", params=body)).json()["items"]
    assert [(b["name"], b["path"]) for b in items] == [
        ("main", PATH),
        ("fix", "/v1/serve/acme/alice/m@fix.step"),
    ]
    # the client writes the suffixed name directly
    fixed = step_like("fixed")
    r = await upload(c, "m@fix.step", fixed, replace="true")
    assert r.status_code == 200, r.text
    assert (await c.get(PATH)).content == MAIN_BYTES

    r = await c.post(
        "/v1/merge", json={"workspace": "acme", "filename": "m.step", "fromBranch": "fix"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert (await c.get(PATH)).content == fixed

    r = await c.post("/v1/branches/delete", json={**body, "branch": "fix"})
    assert r.status_code == 200, r.text
    assert await names(c) == ["m.step"]
    assert [b["name"] for b in (await c.get("/v1/branches", params=body)).json()["items"]] == [
        "main"
    ]


async def test_suffix_copies_are_seen_without_the_setting(alice, suffix_client, model):
    r = await suffix_client.post(
        "/v1/branches/create", json={"workspace": "acme", "base": "m.step", "branch": "old"}
    )
    assert r.status_code == 201, r.text
    # a server switched back to first-class branches still lists and merges phase-1 copies
    assert [b["name"] for b in await _branches(alice)] == ["main", "old"]
    assert_problem(await _create(alice, "old"), 409, "BRANCH_EXISTS")
    await upload(alice.client, "m@old.step", b"ISO old", replace="true")
    assert (await _merge(alice, "old")).status_code == 200
    assert (await alice.client.get(PATH)).content == b"ISO old"


# --- conflicts --------------------------------------------------------------------------------


@pytest.fixture
async def conflicted(alice, bob, model) -> dict[str, str]:
    """``m.step`` in alice's and bob's folders, each with a conflict copy of their own."""
    r = await bob.client.post("/v1/users/init", json={"workspace": "acme"})
    assert r.json()["backfilled"] == 1
    a = await upload(alice.client, "m.step", b"ISO alice's edit")
    b = await upload(bob.client, "m.step", b"ISO bob's edit", baseVersion="0-stale")
    return {
        "alice": assert_problem(a, 409, "VERSION_CONFLICT")["conflictPath"],
        "bob": assert_problem(b, 409, "VERSION_CONFLICT")["conflictPath"],
    }


async def test_list_conflicts(alice, bob, vera, carol, conflicted):
    everyone = (await vera.client.get("/v1/conflicts", params={"workspace": "acme"})).json()
    assert everyone["total"] == 2
    assert {(c["author"], c["conflictPath"]) for c in everyone["items"]} == {
        ("alice", conflicted["alice"]),
        ("bob", conflicted["bob"]),
    }
    r = await alice.client.get("/v1/conflicts", params={"workspace": "acme", "username": "bob"})
    [only] = r.json()["items"]
    assert (only["baseName"], only["path"], only["conflictPath"]) == (
        "m.step",
        "/v1/serve/acme/bob/m.step",
        conflicted["bob"],
    )
    r = await alice.client.get("/v1/conflicts", params={"workspace": "acme", "username": "nobody"})
    assert_problem(r, 404, "MEMBER_NOT_FOUND")
    r = await carol.client.get("/v1/conflicts", params={"workspace": "acme"})
    assert_problem(r, 404, "WORKSPACE_NOT_FOUND")


async def _resolve(actor, accepted, base="m.step", **body):
    return await actor.client.post(
        "/v1/conflicts/resolve", json={"baseName": base, "acceptedPath": accepted, **body}
    )


async def _serve_all(actor) -> dict[str, bytes]:
    return {
        who: (await actor.client.get(f"/v1/serve/acme/{who}/m.step")).content
        for who in ("alice", "bob")
    }


async def test_resolve_by_accepting_a_conflict_copy(alice, bob, conflicted):
    r = await _resolve(alice, conflicted["bob"], message="bob was right")
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == 2
    assert await _serve_all(alice) == {"alice": b"ISO bob's edit", "bob": b"ISO bob's edit"}
    assert (await alice.client.get("/v1/conflicts", params={"workspace": "acme"})).json()[
        "total"
    ] == 0
    for who in ("alice", "bob"):
        trash = (
            await alice.client.get("/v1/trash", params={"workspace": "acme", "username": who})
        ).json()["items"]
        assert [t["path"] for t in trash] == [conflicted[who]]
        assert await names(alice.client, username=who) == ["m.step"]
    versions = (await bob.client.get("/v1/versions", params={"path": PATH})).json()["items"]
    assert (versions[0]["source"], versions[0]["message"]) == ("resolve", "bob was right")


async def test_resolve_by_accepting_the_original(alice, bob, conflicted):
    r = await _resolve(bob, PATH)
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == 2
    assert await _serve_all(bob) == {"alice": MAIN_BYTES, "bob": MAIN_BYTES}
    assert (await bob.client.get("/v1/conflicts", params={"workspace": "acme"})).json()[
        "total"
    ] == 0


async def test_resolve_with_an_unrelated_path_is_400(alice, conflicted):
    await upload(alice.client, "other.step", b"ISO other")
    r = await _resolve(alice, "/v1/serve/acme/alice/other.step")
    assert_problem(r, 400, "NOT_A_CONFLICT_VERSION")
    r = await _resolve(alice, conflicted["bob"], base="other.step")
    assert_problem(r, 400, "NOT_A_CONFLICT_VERSION")
    assert (await alice.client.get("/v1/conflicts", params={"workspace": "acme"})).json()[
        "total"
    ] == 2
    assert await _serve_all(alice) == {"alice": MAIN_BYTES, "bob": MAIN_BYTES}


async def test_resolve_needs_engineer_and_membership(vera, carol, conflicted):
    assert_problem(await _resolve(vera, conflicted["bob"]), 403)
    assert_problem(await _resolve(carol, conflicted["bob"]), 404)
    r = await _resolve(vera, "/v1/serve/acme/alice/missing.step")
    assert_problem(r, 403)
