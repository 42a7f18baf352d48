"""Cascadia Files API (cascadia-files-api.md): item uploads, listing, download, metadata,
versions and delete."""

from __future__ import annotations

import pytest

from tests.conftest import assert_problem
from tests.faces.factories import (
    CAD,
    make_branch,
    make_item,
    sha256,
    step,
    upload,
    upload_one,
    vault_files,
)

FILE_KEYS = {
    "id",
    "originalFileName",
    "mimeType",
    "fileSize",
    "version",
    "itemId",
    "checkedOutBy",
    "createdAt",
}


# --- upload -------------------------------------------------------------------------------------


async def test_upload_two_files_with_descriptions(alice, sessionmaker):
    item = await make_item(alice.client, "MH-100")
    model, drawing = step("model"), b"%PDF-1.4\n% drawing of the housing\n"
    response = await upload(
        alice.client,
        item,
        {"file1": ("motor_housing.step", model), "file2": ("motor_housing.pdf", drawing)},
        descriptions={"file1": "STEP model of motor housing", "file2": "Drawing of motor housing"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["success"] is True and body["count"] == 2
    first, second = body["files"]
    assert set(first) == {"id", "originalFileName", "mimeType", "fileSize", "version"}
    assert first["originalFileName"] == "motor_housing.step"
    assert (first["mimeType"], first["fileSize"], first["version"]) == ("model/step", len(model), 1)
    assert (second["originalFileName"], second["mimeType"]) == (
        "motor_housing.pdf",
        "application/pdf",
    )
    described = {f.name: f.description for f in await vault_files(sessionmaker, item)}
    assert described == {
        "motor_housing.step": "STEP model of motor housing",
        "motor_housing.pdf": "Drawing of motor housing",
    }


async def test_uploading_the_same_name_again_adds_a_version(alice):
    item = await make_item(alice.client, "MH-101")
    first = await upload_one(alice.client, item, "bracket.step")
    again = await upload_one(alice.client, item, "bracket.step", step("v2"))
    assert again["id"] == first["id"]
    assert (first["version"], again["version"]) == (1, 2)


async def test_another_engineers_upload_of_the_same_name_is_a_version_of_the_items_file(alice, bob):
    item = await make_item(alice.client, "MH-102")
    first = await upload_one(alice.client, item, "bracket.step")
    again = await upload_one(bob.client, item, "bracket.step")
    assert (again["id"], again["version"]) == (first["id"], 2)
    listed = (await alice.client.get(f"/api/items/{item}/files")).json()["data"]
    assert listed["count"] == 1


async def test_upload_to_an_unknown_item_is_404(alice):
    response = await upload(
        alice.client,
        "00000000-0000-4000-8000-000000000000",
        {"file1": ("a.step", step())},
    )
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")


async def test_upload_to_another_workspaces_item_is_404_and_stores_nothing(
    alice, mallory, sessionmaker
):
    item = await make_item(mallory.client, "GX-1", workspace="globex")
    response = await upload(alice.client, item, {"file1": ("a.step", step())})
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    assert await vault_files(sessionmaker, item) == []


async def test_a_viewer_cannot_upload(alice, vic, sessionmaker):
    item = await make_item(alice.client, "MH-103")
    response = await upload(vic.client, item, {"file1": ("a.step", step())})
    assert_problem(response, 403, "INSUFFICIENT_ROLE")
    assert await vault_files(sessionmaker, item) == []


async def test_a_refused_extension_is_415_and_nothing_is_stored(alice, app, sessionmaker):
    item = await make_item(alice.client, "MH-104")
    payload = step("not really an exe")
    response = await upload(alice.client, item, {"file1": ("setup.exe", payload)})
    assert_problem(response, 415)
    assert await vault_files(sessionmaker, item) == []
    assert not await app.state.runtime.blobs.exists(sha256(payload))


async def test_one_refused_file_refuses_the_whole_upload(alice, sessionmaker):
    item = await make_item(alice.client, "MH-105")
    response = await upload(
        alice.client, item, {"file1": ("ok.step", step()), "file2": ("bad.exe", b"MZ")}
    )
    assert_problem(response, 415)
    assert await vault_files(sessionmaker, item) == []


async def test_upload_without_a_file_or_with_a_bad_branch_is_refused(alice, sessionmaker):
    item = await make_item(alice.client, "MH-106")
    response = await alice.client.post(
        f"/api/items/{item}/files/upload", files={"note": (None, "no file here")}
    )
    assert_problem(response, 400, "NO_FILES")
    response = await upload(alice.client, item, {"file1": ("a.step", step())}, branch_id="fix")
    assert_problem(response, 400, "INVALID_BRANCH")
    unknown = "00000000-0000-4000-8000-000000000001"
    response = await upload(alice.client, item, {"file1": ("a.step", step())}, branch_id=unknown)
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    assert await vault_files(sessionmaker, item) == []


async def test_a_real_step_file_round_trips(alice):
    if not CAD.is_dir():
        pytest.skip(f"{CAD} is absent")
    source = CAD / "bitaxe_ESP32-S3-WROOM-1-N8R2--3DModel-STEP-56544.STEP"
    content = source.read_bytes()
    item = await make_item(alice.client, "ESP32-S3")
    uploaded = await upload_one(alice.client, item, source.name, content)
    assert (uploaded["mimeType"], uploaded["fileSize"]) == ("model/step", len(content))
    response = await alice.client.get(f"/api/files/{uploaded['id']}/download")
    assert response.status_code == 200
    assert response.content == content
    meta = (await alice.client.get(f"/api/files/{uploaded['id']}/metadata")).json()["data"]
    assert meta["file"]["checksum"] == f"sha256:{sha256(content)}"


async def test_a_name_already_attached_to_another_item_is_refused(alice):
    first_item, second_item = (
        await make_item(alice.client, "MH-107"),
        await make_item(alice.client, "MH-108"),
    )
    attached = await upload_one(alice.client, first_item, "bracket.step")
    response = await upload(alice.client, second_item, {"file1": ("bracket.step", step())})
    body = assert_problem(response, 409, "FILE_EXISTS")
    assert "another item" in body["detail"]
    versions = (await alice.client.get(f"/api/files/{attached['id']}/versions")).json()["data"]
    assert versions["totalVersions"] == 1
    listed = (await alice.client.get(f"/api/items/{second_item}/files")).json()["data"]
    assert listed == {"files": [], "count": 0}


# --- listing --------------------------------------------------------------------------------------


async def test_list_files_shows_only_my_workspaces_and_respects_limit(alice, mallory):
    item = await make_item(alice.client, "MH-110")
    mine = {(await upload_one(alice.client, item, f"part{n}.step"))["id"] for n in range(3)}
    theirs = await make_item(mallory.client, "GX-2", workspace="globex")
    await upload_one(mallory.client, theirs, "secret.step")

    response = await alice.client.get("/api/files")
    assert response.status_code == 200
    listed = response.json()["data"]
    assert listed["count"] == 3
    assert {f["id"] for f in listed["files"]} == mine
    assert all(set(f) == FILE_KEYS for f in listed["files"])
    assert {f["itemId"] for f in listed["files"]} == {item}

    limited = (await alice.client.get("/api/files", params={"limit": 2})).json()["data"]
    assert len(limited["files"]) == 2 and limited["count"] == 3
    assert_problem(await alice.client.get("/api/files", params={"limit": 0}), 400)


async def test_item_files_on_a_branch_with_the_main_baseline(alice, sessionmaker):
    item = await make_item(alice.client, "MH-111")
    main = await make_branch(sessionmaker, alice, "main")
    fix = await make_branch(sessionmaker, alice, "fix")
    shared_main = await upload_one(alice.client, item, "housing.step")
    only_main = await upload_one(alice.client, item, "cover.step")
    on_fix = await upload_one(alice.client, item, "housing.step", branch_id=fix)
    assert on_fix["id"] != shared_main["id"] and on_fix["version"] == 1

    def ids(response):
        assert response.status_code == 200, response.text
        listed = response.json()["data"]
        assert listed["count"] == len(listed["files"])
        return {f["originalFileName"]: f["id"] for f in listed["files"]}

    url = f"/api/items/{item}/files"
    assert ids(await alice.client.get(url)) == {
        "housing.step": shared_main["id"],
        "cover.step": only_main["id"],
    }
    assert ids(await alice.client.get(url, params={"branchId": fix})) == {
        "housing.step": on_fix["id"]
    }
    assert ids(await alice.client.get(url, params={"branchId": fix, "mainBranchId": main})) == {
        "housing.step": on_fix["id"],
        "cover.step": only_main["id"],
    }


async def test_item_files_with_an_unknown_branch_is_404(alice):
    item = await make_item(alice.client, "MH-112")
    response = await alice.client.get(
        f"/api/items/{item}/files", params={"branchId": "00000000-0000-4000-8000-000000000002"}
    )
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")


# --- download, metadata, versions, delete ----------------------------------------------------


async def test_download_sends_the_bytes_as_an_attachment(alice, vic):
    item = await make_item(alice.client, "MH-120")
    content = step("download")
    uploaded = await upload_one(alice.client, item, "motor_housing.step", content)
    response = await vic.client.get(f"/api/files/{uploaded['id']}/download")
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-type"].startswith("model/step")
    assert response.headers["content-disposition"] == 'attachment; filename="motor_housing.step"'
    assert response.headers["content-length"] == str(len(content))
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_metadata(alice):
    item = await make_item(alice.client, "MH-121")
    content = step("meta")
    uploaded = await upload_one(alice.client, item, "motor_housing.step", content)
    response = await alice.client.get(f"/api/files/{uploaded['id']}/metadata")
    assert response.status_code == 200
    meta = response.json()["data"]["file"]
    assert set(meta) == FILE_KEYS | {"checkedOutAt", "storagePath", "checksum", "modifiedAt"}
    digest = sha256(content)
    assert meta["checksum"] == f"sha256:{digest}"
    assert meta["storagePath"] == f"vault/{digest[:2]}/{digest[2:4]}/{digest}"
    assert (meta["id"], meta["itemId"], meta["version"]) == (uploaded["id"], item, 1)
    assert (meta["fileSize"], meta["mimeType"]) == (len(content), "model/step")
    assert meta["checkedOutBy"] is None and meta["checkedOutAt"] is None
    assert meta["createdAt"] and meta["modifiedAt"]

    assert (await alice.client.post(f"/api/files/{uploaded['id']}/checkout")).status_code == 200
    meta = (await alice.client.get(f"/api/files/{uploaded['id']}/metadata")).json()["data"]
    assert meta["file"]["checkedOutBy"] == str(alice.user.id)
    assert meta["file"]["checkedOutAt"]


async def test_versions_newest_first(alice, bob):
    item = await make_item(alice.client, "MH-122")
    first = await upload_one(alice.client, item, "motor_housing.step", step("a"))
    bigger = step("b") + b"/* more */\n"
    await upload_one(bob.client, item, "motor_housing.step", bigger)
    response = await alice.client.get(f"/api/files/{first['id']}/versions")
    assert response.status_code == 200
    listed = response.json()["data"]
    assert listed["totalVersions"] == 2
    newest, oldest = listed["versions"]
    assert (newest["version"], oldest["version"]) == (2, 1)
    assert newest["fileSize"] == len(bigger)
    assert (newest["createdBy"], oldest["createdBy"]) == (str(bob.user.id), str(alice.user.id))
    assert newest["originalFileName"] == "motor_housing.step"
    assert set(newest) == {
        "id",
        "version",
        "originalFileName",
        "fileSize",
        "createdAt",
        "createdBy",
    }
    assert newest["id"] != oldest["id"]


async def test_delete_then_the_file_is_gone(alice):
    item = await make_item(alice.client, "MH-123")
    uploaded = await upload_one(alice.client, item)
    response = await alice.client.delete(f"/api/files/{uploaded['id']}")
    assert response.status_code == 200
    assert response.json() == {"data": {"success": True, "message": "File deleted successfully"}}
    for suffix in ("/metadata", "/download", "/versions", "/lock-status", ""):
        method = "DELETE" if suffix == "" else "GET"
        response = await alice.client.request(method, f"/api/files/{uploaded['id']}{suffix}")
        assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    assert (await alice.client.get("/api/files")).json()["data"]["count"] == 0


async def test_a_viewer_cannot_delete_and_a_checked_out_file_is_protected(alice, bob, vic):
    item = await make_item(alice.client, "MH-124")
    uploaded = await upload_one(alice.client, item)
    assert_problem(
        await vic.client.delete(f"/api/files/{uploaded['id']}"), 403, "INSUFFICIENT_ROLE"
    )
    assert (await alice.client.post(f"/api/files/{uploaded['id']}/checkout")).status_code == 200
    assert_problem(await bob.client.delete(f"/api/files/{uploaded['id']}"), 423, "FILE_LOCKED")
    assert (await alice.client.get(f"/api/files/{uploaded['id']}/metadata")).status_code == 200


async def test_unknown_file_is_404(alice):
    missing = "00000000-0000-4000-8000-000000000003"
    assert_problem(
        await alice.client.get(f"/api/files/{missing}/metadata"), 404, "RESOURCE_NOT_FOUND"
    )
    assert_problem(
        await alice.client.post(f"/api/files/{missing}/checkout"), 404, "RESOURCE_NOT_FOUND"
    )


async def test_bad_input_is_a_400_naming_the_field(alice):
    """DESIGN's status list: bad input is 400 problem+json on this face too, never 422; the
    ``errors`` list keeps the field-level detail."""
    item = await make_item(alice.client, "MH-400")
    cases = [
        (alice.client.get("/api/files/not-a-uuid/metadata"), ["path", "file_id"]),
        (alice.client.get("/api/files", params={"limit": 0}), ["query", "limit"]),
        (alice.client.post(f"/api/items/{item}/lock", json={"force": "maybe"}), ["body", "force"]),
        (
            alice.client.post("/api/items/batch-checkout", json={"itemIds": [item]}),
            ["body", "branchId"],
        ),
        (
            alice.client.post("/api/files/batch-checkout", json={"fileIds": [1]}),
            ["body", "fileIds", "0"],
        ),
    ]
    for call, loc in cases:
        problem = assert_problem(await call, 400, "VALIDATION_ERROR")
        assert loc in [e["loc"] for e in problem["errors"]], problem
    problem = assert_problem(
        await alice.client.post(f"/api/items/{item}/checkout", json={}), 400, "BRANCH_REQUIRED"
    )
    assert "branchId" in problem["detail"]
