"""Files & Uploads, Trash, History and Revert of the native file API
(productflo-sync-api: Files & Uploads, Trash, History, Timeline & Revert, Rate limits)."""

from __future__ import annotations

import errno
import hashlib
import uuid

import httpx
import pytest

from tests.conftest import assert_problem
from tests.vault.helpers import multipart, names, step_bytes, step_like, upload
from threadline.app import create_app
from threadline.blobs import spool

# --- listing ----------------------------------------------------------------------------------


async def test_files_lists_your_own_folder_by_default(alice, bob):
    assert (await upload(alice.client, "a.step", step_like("a"))).status_code == 201
    assert (await upload(bob.client, "b.step", step_like("b"))).status_code == 201

    r = await alice.client.get("/v1/files", params={"workspace": "acme"})
    assert r.status_code == 200, r.text
    page = r.json()
    assert set(page) == {"items", "total", "page", "pageSize"}
    assert (page["total"], page["page"], page["pageSize"]) == (1, 1, 50)
    [item] = page["items"]
    assert item["name"] == "a.step" and item["username"] == "alice"
    assert item["path"] == "/v1/serve/acme/alice/a.step"
    assert item["etag"] == f"1-{item['sha256'][:16]}" and item["version"] == 1
    assert item["branch"] == "main" and item["conflictOf"] is None


async def test_files_of_another_member(alice, bob):
    await upload(bob.client, "b.step", step_like("b"))
    assert await names(alice.client, username="bob") == ["b.step"]
    assert await names(alice.client, username="BOB") == ["b.step"]
    r = await alice.client.get("/v1/files", params={"workspace": "acme", "username": "nobody"})
    assert_problem(r, 404, "MEMBER_NOT_FOUND")


async def test_files_of_a_workspace_you_are_not_in_is_404(alice, carol):
    await upload(alice.client, "a.step", step_like())
    r = await carol.client.get("/v1/files", params={"workspace": "acme"})
    assert_problem(r, 404, "WORKSPACE_NOT_FOUND")
    r = await carol.client.get("/v1/files/all", params={"workspace": "acme"})
    assert_problem(r, 404, "WORKSPACE_NOT_FOUND")
    r = await carol.client.get("/v1/files", params={"workspace": "nope"})
    assert_problem(r, 404, "WORKSPACE_NOT_FOUND")


async def test_files_need_sign_in(client):
    r = await client.get("/v1/files", params={"workspace": "acme"})
    assert_problem(r, 401)


async def test_files_pages(alice):
    for n in range(3):
        assert (await upload(alice.client, f"p{n}.step", step_like(str(n)))).status_code == 201
    r = await alice.client.get("/v1/files", params={"workspace": "acme", "pageSize": 2, "page": 2})
    page = r.json()
    assert (page["total"], page["page"], page["pageSize"]) == (3, 2, 2)
    assert [f["name"] for f in page["items"]] == ["p2.step"]


async def test_files_all_lists_every_member(alice, bob, vera):
    await upload(alice.client, "a.step", step_like("a"))
    await upload(bob.client, "b.step", step_like("b"))
    r = await vera.client.get("/v1/files/all", params={"workspace": "acme"})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 2
    assert [(f["username"], f["name"]) for f in page["items"]] == [
        ("alice", "a.step"),
        ("bob", "b.step"),
    ]


# --- preview and metadata ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "bitaxe_SW_CS1213AGF260_CRS.step",
        "bitaxe_2R5TPE220MAFB.step",
        "bitaxe_c-63862-1-r-3d.stp",
        "bitaxe_ESP32-S3-WROOM-1-N8R2--3DModel-STEP-56544.STEP",
    ],
)
async def test_preview_of_real_step_files(alice, name):
    data = step_bytes(name)
    r = await upload(alice.client, name, data)
    assert r.status_code == 201, r.text
    assert r.json()["contentType"] == "model/step"
    r = await alice.client.get("/v1/file", params={"workspace": "acme", "filename": name})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["text"].startswith("ISO-10303-21;")
    assert body["truncated"] is (len(data) > 64 * 1024) and body["size"] == len(data)
    assert data.decode("utf-8").startswith(body["text"])
    assert body["contentType"] == "model/step"


async def test_preview_of_a_large_text_file_is_truncated(alice):
    data = step_bytes("bitaxe_Bitaxe_Heatsink.step")
    assert len(data) > 64 * 1024
    await upload(alice.client, "sink.step", data)
    r = await alice.client.get("/v1/file", params={"workspace": "acme", "filename": "sink.step"})
    assert r.status_code == 200, r.text
    assert r.json()["truncated"] is True
    assert data.decode().startswith(r.json()["text"]) and len(r.json()["text"]) >= 60_000


@pytest.mark.parametrize(
    ("name", "data"),
    [("mesh.stl", b"\x00\x01binary stl\x00" * 10), ("scene.glb", b"glTF plain ascii")],
)
async def test_preview_of_binary_is_415(alice, name, data):
    await upload(alice.client, name, data)
    r = await alice.client.get("/v1/file", params={"workspace": "acme", "filename": name})
    assert_problem(r, 415, "NOT_TEXT")


async def test_preview_of_missing_file_is_404(alice):
    r = await alice.client.get("/v1/file", params={"workspace": "acme", "filename": "x.step"})
    assert_problem(r, 404, "FILE_NOT_FOUND")


async def test_filemeta(alice, bob):
    data = step_bytes()
    await upload(alice.client, "bracket.step", data)
    r = await bob.client.get(
        "/v1/filemeta",
        params={"workspace": "acme", "username": "alice", "filename": "bracket.step"},
    )
    assert r.status_code == 200, r.text
    meta = r.json()
    sha = hashlib.sha256(data).hexdigest()
    assert meta["sha256"] == sha
    assert meta["size"] == len(data)
    assert meta["contentType"] == "model/step"
    assert meta["etag"] == f"1-{sha[:16]}"
    assert meta["lock"] is None


# --- upload: optimistic concurrency -----------------------------------------------------------


async def _versions(client, path):
    r = await client.get("/v1/versions", params={"path": path})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_upload_first_version_is_201(alice):
    data = step_bytes()
    r = await upload(alice.client, "bracket.step", data, message="first cut")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["version"] == 1 and body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert uuid.UUID(body["versionId"])
    assert (await alice.client.get(body["path"])).content == data
    [v] = await _versions(alice.client, body["path"])
    assert (v["message"], v["author"], v["version"]) == ("first cut", "alice", 1)


@pytest.mark.parametrize("base", ["etag", "number"])
async def test_upload_with_current_base_is_200(alice, base):
    first = (await upload(alice.client, "m.step", step_like("1"))).json()
    new = step_like("2")
    given = first["etag"] if base == "etag" else "1"
    r = await upload(alice.client, "m.step", new, baseVersion=given, message="second")
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert (await alice.client.get(first["path"])).content == new
    versions = await _versions(alice.client, first["path"])
    assert [(v["version"], v["message"]) for v in versions] == [(2, "second"), (1, None)]


async def test_upload_replace_skips_the_check(alice):
    first = (await upload(alice.client, "m.step", step_like("1"))).json()
    new = step_like("2")
    r = await upload(alice.client, "m.step", new, replace="true", baseVersion="0-stale")
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert (await alice.client.get(first["path"])).content == new


async def test_upload_replace_must_be_a_boolean(alice):
    await upload(alice.client, "m.step", step_like("1"))
    r = await upload(alice.client, "m.step", step_like("2"), replace="maybe")
    assert_problem(r, 400, "INVALID_FIELD")
    assert (await alice.client.get("/v1/serve/acme/alice/m.step")).status_code == 200


async def test_upload_with_stale_base_makes_a_conflict_copy(alice):
    v1 = (await upload(alice.client, "m.step", step_like("1"))).json()
    v2 = step_like("2")
    assert (await upload(alice.client, "m.step", v2, baseVersion=v1["etag"])).status_code == 200
    mine = step_like("mine")
    r = await upload(alice.client, "m.step", mine, baseVersion=v1["etag"], message="my edit")
    problem = assert_problem(r, 409, "VERSION_CONFLICT")
    assert problem["currentEtag"] != v1["etag"] and problem["currentEtag"].startswith("2-")
    copy = problem["conflictPath"]
    assert copy.startswith("/v1/serve/acme/alice/m_conflict_alice_") and copy.endswith(".step")
    assert problem["file"]["conflictOf"] == v1["id"]
    # the original is untouched, the upload's bytes are kept in the copy
    assert (await alice.client.get(v1["path"])).content == v2
    assert (await alice.client.get(copy)).content == mine
    listed = await names(alice.client)
    assert "m.step" in listed and copy.rsplit("/", 1)[1] in listed
    conflicts = (await alice.client.get("/v1/conflicts", params={"workspace": "acme"})).json()
    assert conflicts["total"] == 1
    [c] = conflicts["items"]
    assert (c["baseName"], c["path"], c["conflictPath"], c["author"]) == (
        "m.step",
        v1["path"],
        copy,
        "alice",
    )
    [cv] = await _versions(alice.client, copy)
    assert cv["message"] == "my edit"


async def test_upload_without_base_over_an_existing_file_conflicts(alice):
    original = step_like("1")
    v1 = (await upload(alice.client, "m.step", original)).json()
    again = step_like("again")
    r = await upload(alice.client, "m.step", again)
    problem = assert_problem(r, 409, "VERSION_CONFLICT")
    assert "_conflict_alice_" in problem["conflictPath"]
    assert (await alice.client.get(problem["conflictPath"])).content == again
    assert (await alice.client.get(v1["path"])).content == original
    meta = await alice.client.get(
        "/v1/filemeta", params={"workspace": "acme", "filename": "m.step"}
    )
    assert meta.json()["version"] == 1


async def test_two_conflicts_in_one_second_get_distinct_copies(alice):
    await upload(alice.client, "m.step", step_like("1"))
    first = assert_problem(await upload(alice.client, "m.step", step_like("a")), 409)
    second = assert_problem(await upload(alice.client, "m.step", step_like("b")), 409)
    assert first["conflictPath"] != second["conflictPath"]
    assert len(await names(alice.client)) == 3


async def test_upload_conflict_reject_keeps_no_copy(alice):
    v1 = (await upload(alice.client, "m.step", step_like("1"))).json()
    r = await upload(alice.client, "m.step", step_like("x"), baseVersion="9-x", conflict="reject")
    problem = assert_problem(r, 409, "VERSION_CONFLICT")
    assert problem["currentEtag"] == v1["etag"]
    assert "conflictPath" not in problem
    assert await names(alice.client) == ["m.step"]
    total = (await alice.client.get("/v1/conflicts", params={"workspace": "acme"})).json()["total"]
    assert total == 0
    r = await upload(alice.client, "m.step", step_like("x"), conflict="merge")
    assert_problem(r, 400, "INVALID_FIELD")


async def test_viewer_cannot_upload(vera):
    r = await upload(vera.client, "m.step", step_like())
    assert_problem(r, 403)
    assert await names(vera.client) == []


async def test_any_engineer_writes_any_members_folder(alice, bob, vera):
    """Files are the team's: an engineer may add to and version a colleague's folder."""
    r = await upload(alice.client, "m.step", step_like(), username="bob")
    assert r.status_code == 201, r.text
    assert r.json()["path"] == "/v1/serve/acme/bob/m.step"
    assert await names(bob.client) == ["m.step"]
    assert await names(alice.client) == []
    r = await upload(vera.client, "v.step", step_like(), username="bob")
    assert_problem(r, 403, "INSUFFICIENT_ROLE")
    assert await names(bob.client) == ["m.step"]


async def test_upload_to_a_stranger_workspace_is_404(carol):
    assert_problem(await upload(carol.client, "m.step", step_like()), 404, "WORKSPACE_NOT_FOUND")


@pytest.mark.parametrize("name", ["notes.exe", "model", "archive.tar.gz", "x.step.sh"])
async def test_unsupported_extension_is_415(alice, name):
    r = await upload(alice.client, name, b"ISO")
    body = assert_problem(r, 415, "UNSUPPORTED_FILE_TYPE")
    assert ".step" in body["detail"]
    assert await names(alice.client) == []


async def test_uppercase_extension_is_allowed(alice):
    r = await upload(alice.client, "WROOM.STEP", b"ISO-10303-21;")
    assert r.status_code == 201, r.text
    assert r.json()["contentType"] == "model/step"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("../../x.step", "x.step"),
        ("..\\..\\win.step", "win.step"),
        ("/etc/abs.step", "abs.step"),
        ("mo\x01d\x7fel\x1f.step", "model.step"),
        ("  spaced.step ", "spaced.step"),
    ],
)
async def test_path_tricks_in_names_are_cleaned(alice, sent, stored):
    body, kind = multipart([("file", sent, b"ISO-10303-21;")])
    r = await alice.client.post(
        "/v1/upload", params={"workspace": "acme"}, content=body, headers={"content-type": kind}
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == stored
    assert r.json()["path"] == f"/v1/serve/acme/alice/{stored}"
    assert await names(alice.client) == [stored]


@pytest.mark.parametrize("sent", ["..", "", ".", "../..", "a/", "\x01\x02", "x" * 252 + ".step"])
async def test_unusable_names_are_400(alice, sent):
    body, kind = multipart([("file", sent, b"ISO-10303-21;")])
    r = await alice.client.post(
        "/v1/upload", params={"workspace": "acme"}, content=body, headers={"content-type": kind}
    )
    assert_problem(r, 400, "INVALID_FILENAME")
    assert await names(alice.client) == []


async def test_upload_needs_a_file_field(alice):
    r = await alice.client.post("/v1/upload", params={"workspace": "acme"}, data={"x": "1"})
    assert_problem(r, 415, "NOT_MULTIPART")
    body, kind = multipart([("other", "m.step", b"ISO")])
    r = await alice.client.post(
        "/v1/upload", params={"workspace": "acme"}, content=body, headers={"content-type": kind}
    )
    assert_problem(r, 400, "FILE_REQUIRED")
    assert await names(alice.client) == []


# --- size and rate limits -----------------------------------------------------------------------


@pytest.fixture
async def small_upload_client(settings, engine, sessionmaker, rate_limiter, alice):
    """Alice against an app whose MAX_UPLOAD_MB is 1."""
    app = create_app(
        settings.model_copy(update={"max_upload_mb": 1}),
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


async def test_upload_above_max_upload_mb_is_413(small_upload_client):
    mib = 1024 * 1024
    r = await upload(small_upload_client, "big.stl", b"\x00" * (mib + 1))
    assert_problem(r, 413, "PAYLOAD_TOO_LARGE")
    assert await names(small_upload_client) == []
    r = await upload(small_upload_client, "fits.stl", b"\x00" * mib)
    assert r.status_code == 201, r.text
    assert r.json()["size"] == mib


async def test_batch_above_max_upload_mb_is_413(small_upload_client):
    files = [
        ("files[]", ("ok.stl", b"1" * 10, "x")),
        ("files[]", ("big.stl", b"2" * (1024 * 1024 + 1), "x")),
    ]
    r = await small_upload_client.post("/v1/uploads", params={"workspace": "acme"}, files=files)
    assert_problem(r, 413, "PAYLOAD_TOO_LARGE")
    assert await names(small_upload_client) == []


async def test_upload_rate_limit_is_30_per_minute_per_workspace(alice):
    for n in range(30):
        r = await upload(alice.client, f"f{n}.step", step_like(str(n)))
        assert r.status_code == 201, (n, r.text)
    r = await upload(alice.client, "f30.step", step_like())
    assert_problem(r, 429, "RATE_LIMITED")
    assert int(r.headers["retry-after"]) >= 1
    r = await alice.client.post(
        "/v1/uploads", params={"workspace": "acme"}, files=[("files[]", ("g.step", b"ISO", "x"))]
    )
    assert_problem(r, 429, "RATE_LIMITED")
    assert "f30.step" not in await names(alice.client)
    # another workspace from the same address has its own budget
    r = await alice.client.post("/v1/workspaces", json={"name": "gamma"})
    assert r.status_code == 201, r.text
    r = await upload(alice.client, "f30.step", step_like(), workspace="gamma")
    assert r.status_code == 201, r.text


# --- batch uploads ------------------------------------------------------------------------------


def _batch(*named: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files[]", (name, data, "application/octet-stream")) for name, data in named]


async def test_batch_upload(alice):
    a, b = step_like("a"), step_like("b")
    r = await alice.client.post(
        "/v1/uploads", params={"workspace": "acme"}, files=_batch(("a.step", a), ("b.stl", b))
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 2
    assert [(i["name"], i["status"], i["version"]) for i in body["items"]] == [
        ("a.step", "created", 1),
        ("b.stl", "created", 1),
    ]
    assert (await alice.client.get(body["items"][1]["path"])).content == b
    # again without replace: conflict copies; with replace: new versions
    r = await alice.client.post(
        "/v1/uploads", params={"workspace": "acme"}, files=_batch(("a.step", b"ISO new"))
    )
    assert r.json()["items"][0]["status"] == "conflict"
    r = await alice.client.post(
        "/v1/uploads",
        params={"workspace": "acme"},
        files=_batch(("a.step", b"ISO newer")),
        data={"replace": "true"},
    )
    assert [(i["status"], i["version"]) for i in r.json()["items"]] == [("updated", 2)]
    assert (await alice.client.get("/v1/serve/acme/alice/a.step")).content == b"ISO newer"


async def test_batch_of_21_files_is_400(alice):
    files = _batch(*[(f"f{n}.step", step_like(str(n))) for n in range(21)])
    r = await alice.client.post("/v1/uploads", params={"workspace": "acme"}, files=files)
    assert_problem(r, 400, "TOO_MANY_FILES")
    assert await names(alice.client) == []
    files = _batch(*[(f"f{n}.step", step_like(str(n))) for n in range(20)])
    r = await alice.client.post("/v1/uploads", params={"workspace": "acme"}, files=files)
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 20


async def test_batch_with_duplicate_names_is_400(alice):
    files = _batch(("a.step", b"ISO 1"), ("b.step", b"ISO 2"), ("../a.step", b"ISO 3"))
    r = await alice.client.post("/v1/uploads", params={"workspace": "acme"}, files=files)
    assert_problem(r, 400, "DUPLICATE_FILENAME")
    assert await names(alice.client) == []


async def test_batch_with_one_bad_extension_stores_nothing(alice):
    files = _batch(("a.step", b"ISO 1"), ("b.step", b"ISO 2"), ("evil.exe", b"MZ"))
    r = await alice.client.post("/v1/uploads", params={"workspace": "acme"}, files=files)
    assert_problem(r, 415, "UNSUPPORTED_FILE_TYPE")
    assert await names(alice.client) == []
    all_files = await alice.client.get("/v1/files/all", params={"workspace": "acme"})
    assert all_files.json()["total"] == 0


async def test_batch_needs_files(alice):
    body, kind = multipart([], {"replace": "true"})
    r = await alice.client.post(
        "/v1/uploads", params={"workspace": "acme"}, content=body, headers={"content-type": kind}
    )
    assert_problem(r, 400, "FILE_REQUIRED")


async def test_viewer_cannot_batch_upload(vera):
    r = await vera.client.post(
        "/v1/uploads", params={"workspace": "acme"}, files=_batch(("a.step", b"ISO"))
    )
    assert_problem(r, 403)


# --- trash ------------------------------------------------------------------------------------


async def _delete(client, filename, **params):
    return await client.delete(
        "/v1/file", params={"workspace": "acme", "filename": filename, **params}
    )


async def test_delete_moves_to_trash_and_restore_brings_back(alice):
    data = step_bytes()
    v = (await upload(alice.client, "m.step", data)).json()
    r = await _delete(alice.client, "m.step")
    assert r.status_code == 200, r.text
    key = r.json()["key"]
    assert key == v["id"]
    assert (await alice.client.get(v["path"])).status_code == 404
    assert await names(alice.client) == []
    trash = (await alice.client.get("/v1/trash", params={"workspace": "acme"})).json()
    assert trash["total"] == 1
    [item] = trash["items"]
    assert (item["key"], item["name"]) == (key, "m.step") and item["deletedAt"]
    assert_problem(await _delete(alice.client, "m.step"), 404, "FILE_NOT_FOUND")

    r = await alice.client.post("/v1/trash/restore", json={"workspace": "acme", "key": key})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    assert (await alice.client.get(v["path"])).content == data
    assert (await alice.client.get("/v1/trash", params={"workspace": "acme"})).json()["total"] == 0


async def test_restore_over_a_recreated_file_is_409(alice):
    await upload(alice.client, "m.step", step_like("old"))
    key = (await _delete(alice.client, "m.step")).json()["key"]
    new = step_like("new")
    assert (await upload(alice.client, "m.step", new)).status_code == 201
    r = await alice.client.post("/v1/trash/restore", json={"workspace": "acme", "key": key})
    assert_problem(r, 409, "FILE_EXISTS")
    assert (await alice.client.get("/v1/serve/acme/alice/m.step")).content == new


async def test_restore_unknown_key(alice, bob):
    r = await alice.client.post(
        "/v1/trash/restore", json={"workspace": "acme", "key": str(uuid.uuid4())}
    )
    assert_problem(r, 404, "TRASH_ITEM_NOT_FOUND")
    r = await alice.client.post("/v1/trash/restore", json={"workspace": "acme", "key": "nope"})
    assert_problem(r, 400, "INVALID_KEY")
    # a key from someone else's trash is not yours to restore
    await upload(bob.client, "b.step", step_like())
    key = (await _delete(bob.client, "b.step")).json()["key"]
    r = await alice.client.post("/v1/trash/restore", json={"workspace": "acme", "key": key})
    assert_problem(r, 404, "TRASH_ITEM_NOT_FOUND")


async def test_delete_needs_write_access(alice, bob, vera):
    await upload(alice.client, "m.step", step_like())
    assert_problem(await _delete(vera.client, "m.step", username="alice"), 403)
    assert await names(alice.client) == ["m.step"]
    r = await _delete(bob.client, "m.step", username="alice")  # a colleague may trash it
    assert r.status_code == 200, r.text
    assert await names(alice.client) == []


# --- versions, timeline, revert ---------------------------------------------------------------


async def test_versions_and_timeline(alice):
    v1 = (await upload(alice.client, "m.step", step_like("1"), message="one")).json()
    await upload(alice.client, "m.step", step_like("2"), baseVersion=v1["etag"], message="two")
    versions = await _versions(alice.client, v1["path"])
    assert [(v["version"], v["message"], v["source"]) for v in versions] == [
        (2, "two", "upload"),
        (1, "one", "upload"),
    ]
    r = await alice.client.get("/v1/timeline", params={"path": v1["path"], "types": "version"})
    assert r.status_code == 200, r.text
    events = r.json()["items"]
    assert [(e["type"], e["version"]) for e in events] == [("version", 2), ("version", 1)]
    assert all(e["at"] == e["createdAt"] for e in events)
    r = await alice.client.get("/v1/timeline", params={"path": v1["path"], "types": "comment"})
    assert r.json()["items"] == []


async def test_timeline_unknown_type_is_400(alice):
    v = (await upload(alice.client, "m.step", step_like())).json()
    r = await alice.client.get(
        "/v1/timeline", params={"path": v["path"], "types": "version,gossip"}
    )
    body = assert_problem(r, 400, "INVALID_TYPES")
    assert "gossip" in body["detail"]


@pytest.mark.parametrize("path", ["/v1/files/x", "/v1/serve/acme/alice", "/v1/serve/acme//m.step"])
async def test_versions_of_a_bad_path_is_400(alice, path):
    assert_problem(await alice.client.get("/v1/versions", params={"path": path}), 400)


async def test_versions_of_a_stranger_file_is_404(alice, carol):
    v = (await upload(alice.client, "m.step", step_like())).json()
    assert_problem(await carol.client.get("/v1/versions", params={"path": v["path"]}), 404)


async def test_revert_propagates_to_every_members_copy(alice, bob):
    one, two = step_like("one"), step_like("two")
    v1 = (await upload(alice.client, "m.step", one)).json()
    await upload(alice.client, "m.step", two, baseVersion=v1["etag"])
    r = await bob.client.post("/v1/users/init", json={"workspace": "acme"})
    assert r.status_code == 200, r.text
    assert r.json()["backfilled"] == 1
    bob_path = "/v1/serve/acme/bob/m.step"
    assert (await bob.client.get(bob_path)).content == two

    first = (await _versions(alice.client, v1["path"]))[-1]
    r = await bob.client.post(
        "/v1/revert", json={"path": v1["path"], "versionId": first["id"], "message": "back"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == 2
    assert (await alice.client.get(v1["path"])).content == one
    assert (await alice.client.get(bob_path)).content == one
    newest = (await _versions(alice.client, v1["path"]))[0]
    assert (newest["version"], newest["source"], newest["message"]) == (3, "revert", "back")
    assert (await _versions(bob.client, bob_path))[0]["source"] == "revert"


async def test_revert_reaches_a_copy_uploaded_separately(alice, bob):
    v1 = (await upload(alice.client, "m.step", step_like("a1"))).json()
    await upload(alice.client, "m.step", step_like("a2"), replace="true")
    await upload(bob.client, "m.step", step_like("bob's own"))
    r = await alice.client.post(
        "/v1/revert", json={"path": v1["path"], "versionId": v1["versionId"]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == 2
    original = (await alice.client.get(v1["path"])).content
    assert (await bob.client.get("/v1/serve/acme/bob/m.step")).content == original
    versions = await _versions(alice.client, v1["path"])
    assert versions[0]["message"] == "Revert to version 1"


async def test_revert_respects_locks(alice, bob):
    one, two = step_like("one"), step_like("two")
    v1 = (await upload(alice.client, "m.step", one)).json()
    await upload(alice.client, "m.step", two, replace="true")
    await bob.client.post("/v1/users/init", json={"workspace": "acme"})
    bob_path = "/v1/serve/acme/bob/m.step"
    assert (await bob.client.post("/v1/locks/lock", json={"path": bob_path})).status_code == 200
    r = await alice.client.post(
        "/v1/revert", json={"path": v1["path"], "versionId": v1["versionId"]}
    )
    assert_problem(r, 423, "FILE_LOCKED")
    # nothing half-propagated: alice's own (unlocked) copy did not move either
    assert (await alice.client.get(v1["path"])).content == two
    assert len(await _versions(alice.client, v1["path"])) == 2


async def test_revert_errors(alice, bob, vera):
    v1 = (await upload(alice.client, "m.step", step_like("1"))).json()
    other = (await upload(alice.client, "o.step", step_like("o"))).json()
    r = await alice.client.post(
        "/v1/revert", json={"path": v1["path"], "versionId": other["versionId"]}
    )
    assert_problem(r, 404, "VERSION_NOT_FOUND")
    r = await vera.client.post(
        "/v1/revert", json={"path": v1["path"], "versionId": v1["versionId"]}
    )
    assert_problem(r, 403)
    r = await alice.client.post(
        "/v1/revert", json={"path": "/v1/serve/acme/alice/x.step", "versionId": v1["versionId"]}
    )
    assert_problem(r, 404, "FILE_NOT_FOUND")


@pytest.mark.parametrize("size", [1_000, 3 << 20], ids=["one write", "threaded"])
async def test_a_full_disk_answers_507_and_stores_nothing(alice, settings, monkeypatch, size):
    def full(fd: int, chunk: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spool, "_write_all", full)
    r = await upload(alice.client, "full.step", step_like("x") + b"0" * size)
    assert_problem(r, 507, "STORAGE_FULL")
    assert "full.step" not in await names(alice.client)
    assert not list((settings.home / "blobs").rglob("*.part"))
