"""End-to-end: upload, versions, optimistic concurrency, locks, serve with ranges, signed URLs,
trash, branches, merge, conflicts."""

from pathlib import Path

from tests.conftest import assert_problem

STEP = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "real-boms"
    / "cad"
    / "bitaxe_SW_CS1213AGF260_CRS.step"
)


async def _upload(client, name, data, **form):
    return await client.post(
        "/v1/upload",
        params={"workspace": "acme"},
        files={"file": (name, data, "application/octet-stream")},
        data=form,
    )


async def test_vault_flow(make_actor):
    alice = await make_actor("alice", workspace="acme", role="manager")
    bob = await make_actor("bob", workspace="acme", role="engineer")
    data = STEP.read_bytes() if STEP.exists() else b"ISO-10303-21;\nHEADER;\nENDSEC;\n" * 100
    r = await _upload(alice.client, "bracket.step", data, message="first")
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert v1["version"] == 1 and v1["path"] == "/v1/serve/acme/alice/bracket.step"

    r = await _upload(alice.client, "bracket.step", data + b"x", baseVersion=v1["etag"])
    assert r.status_code == 200, r.text
    v2 = r.json()
    assert v2["version"] == 2

    # stale base → conflict copy, 409
    r = await _upload(alice.client, "bracket.step", data + b"y", baseVersion=v1["etag"])
    body = assert_problem(r, 409, "VERSION_CONFLICT")
    assert "_conflict_alice_" in body["conflictPath"]
    conflicts = (await alice.client.get("/v1/conflicts", params={"workspace": "acme"})).json()
    assert conflicts["total"] == 1

    meta = (
        await alice.client.get(
            "/v1/filemeta", params={"workspace": "acme", "filename": "bracket.step"}
        )
    ).json()
    assert meta["sha256"] == v2["sha256"] and meta["lock"] is None

    # range serving
    r = await bob.client.get(v2["path"], headers={"Range": "bytes=0-9"})
    assert r.status_code == 206 and r.content == data[:10]
    assert r.headers["content-range"] == f"bytes 0-9/{len(data) + 1}"
    r = await bob.client.get(v2["path"], headers={"Range": f"bytes={len(data) + 5}-"})
    assert r.status_code == 416

    # preview
    r = await alice.client.get("/v1/file", params={"workspace": "acme", "filename": "bracket.step"})
    assert r.status_code == 200, r.text
    assert r.json()["text"].startswith("ISO-10303-21")

    # locks: alice locks, bob's lock 409; bob cannot write alice's file anyway; alice's own write ok
    r = await alice.client.post("/v1/locks/lock", json={"path": v2["path"]})
    assert r.status_code == 200, r.text
    lock_id = r.json()["lockId"]
    r = await bob.client.post("/v1/locks/lock", json={"path": v2["path"]})
    assert_problem(r, 409, "LOCK_HELD")
    r = await bob.client.post("/v1/locks/request", json={"path": v2["path"]})
    assert r.status_code == 200, r.text
    r = await alice.client.post("/v1/locks/unlock", json={"path": v2["path"], "lockId": lock_id})
    assert r.status_code == 200, r.text

    # signed url
    r = await bob.client.get("/signed-url", params={"path": v2["path"], "ttlMs": 60000})
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    from httpx import AsyncClient

    async with AsyncClient(transport=alice.client._transport, base_url="http://testserver") as anon:
        r = await anon.get(url)
        assert r.status_code == 200 and len(r.content) == len(data) + 1
        r = await anon.get(url.replace("sig=", "sig=0"))
        assert r.status_code == 403

    # versions + revert
    versions = (await alice.client.get("/v1/versions", params={"path": v2["path"]})).json()
    assert [v["version"] for v in versions["items"]] == [2, 1]
    r = await alice.client.post(
        "/v1/revert", json={"path": v2["path"], "versionId": versions["items"][1]["id"]}
    )
    assert r.status_code == 200, r.text
    r = await alice.client.get(v2["path"])
    assert r.content == data

    # branches and merge
    r = await alice.client.post(
        "/v1/branches/create", json={"workspace": "acme", "base": "bracket.step", "branch": "fix-1"}
    )
    assert r.status_code == 201, r.text
    r = await alice.client.post(
        "/v1/upload",
        params={"workspace": "acme"},
        files={"file": ("bracket.step", b"ISO branch", "x")},
        data={"branch": "fix-1", "replace": "true"},
    )
    assert r.status_code == 200, r.text
    names = (
        await alice.client.get("/v1/branches", params={"workspace": "acme", "base": "bracket.step"})
    ).json()
    assert [b["name"] for b in names["items"]] == ["main", "fix-1"]
    r = await alice.client.post(
        "/v1/merge", json={"workspace": "acme", "filename": "bracket.step", "fromBranch": "fix-1"}
    )
    assert r.status_code == 200, r.text
    assert (await alice.client.get(v2["path"])).content == b"ISO branch"

    # conflicts resolve: accept the conflict copy
    r = await alice.client.post(
        "/v1/conflicts/resolve",
        json={"baseName": "bracket.step", "acceptedPath": body["conflictPath"]},
    )
    assert r.status_code == 200, r.text
    assert (await alice.client.get(v2["path"])).content == data + b"y"
    assert (await alice.client.get("/v1/conflicts", params={"workspace": "acme"})).json()[
        "total"
    ] == 0

    # trash and restore
    r = await alice.client.delete(
        "/v1/file", params={"workspace": "acme", "filename": "bracket.step"}
    )
    assert r.status_code == 200, r.text
    key = r.json()["key"]
    assert (await alice.client.get(v2["path"])).status_code == 404
    trash = (await alice.client.get("/v1/trash", params={"workspace": "acme"})).json()
    assert key in [t["key"] for t in trash["items"]]
    r = await alice.client.post("/v1/trash/restore", json={"workspace": "acme", "key": key})
    assert r.status_code == 200, r.text
    assert (await alice.client.get(v2["path"])).status_code == 200

    # bad names and types
    r = await _upload(alice.client, "../../etc/passwd", b"x")
    assert_problem(r, 415, "UNSUPPORTED_FILE_TYPE")
    r = await _upload(alice.client, "../evil.step", b"x")
    assert r.status_code == 201 and r.json()["name"] == "evil.step"
