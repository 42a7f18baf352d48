"""The file ↔ part link over HTTP: attach vault file versions to part revisions, list them on the
revision and on the part, detach; frozen with a released revision; tenancy; audit; and the
"current revision" rule shared with the BOM tree."""

from __future__ import annotations

import uuid

import pytest

from tests.boms.test_analysis import counted
from tests.conftest import Actor, MakeActor, assert_problem
from tests.vault.helpers import step_like, upload
from threadline.catalog import attachments

WORKSPACE = "acme"


@pytest.fixture
async def erin(make_actor: MakeActor) -> Actor:
    """Engineer; creates ``acme``."""
    return await make_actor("erin", workspace=WORKSPACE, role="engineer")


@pytest.fixture
async def ed(make_actor: MakeActor, erin: Actor) -> Actor:
    """Another engineer of ``acme``."""
    return await make_actor("ed", workspace=WORKSPACE, role="engineer")


@pytest.fixture
async def mia(make_actor: MakeActor, erin: Actor) -> Actor:
    """Manager of ``acme`` (approves revisions)."""
    return await make_actor("mia", workspace=WORKSPACE, role="manager")


@pytest.fixture
async def vic(make_actor: MakeActor, erin: Actor) -> Actor:
    """Viewer of ``acme``."""
    return await make_actor("vic", workspace=WORKSPACE, role="viewer")


@pytest.fixture
async def olga(make_actor: MakeActor) -> Actor:
    """Owner of another workspace, ``globex``."""
    return await make_actor("olga", workspace="globex", role="owner")


async def make_part(actor: Actor, number: str, *, workspace: str = WORKSPACE) -> dict:
    body = {"workspace": workspace, "partNumber": number, "name": number}
    response = await actor.client.post("/v1/parts", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def make_revision(actor: Actor, part: dict, revision: str) -> dict:
    response = await actor.client.post(
        f"/v1/parts/{part['id']}/versions", json={"revision": revision}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def release(manager: Actor, part: dict, version: dict) -> None:
    """Submit and approve a revision."""
    base = f"/v1/parts/{part['id']}/versions/{version['id']}"
    for action in ("submit", "approve"):
        response = await manager.client.post(f"{base}/{action}")
        assert response.status_code == 200, response.text


async def make_file(actor: Actor, name: str = "housing.step", **form) -> dict:
    response = await upload(actor.client, name, step_like(name), **form)
    assert response.status_code in (200, 201), response.text
    return response.json()


# --- the current-revision rule ------------------------------------------------------------------


async def test_current_revision_is_newest_approved_else_newest(erin, mia, sessionmaker):
    none = await make_part(erin, "P-NONE")
    drafts = await make_part(erin, "P-DRAFTS")
    await make_revision(erin, drafts, "A")
    newest_draft = await make_revision(erin, drafts, "B")
    mixed = await make_part(erin, "P-MIXED")
    approved = await make_revision(erin, mixed, "A")
    await release(mia, mixed, approved)
    await make_revision(erin, mixed, "B")
    both = await make_part(erin, "P-BOTH")
    first = await make_revision(erin, both, "A")
    second = await make_revision(erin, both, "B")
    await release(mia, both, first)
    await release(mia, both, second)

    ids = [uuid.UUID(p["id"]) for p in (none, drafts, mixed, both)]
    async with sessionmaker() as session:
        current = await attachments.current_revisions(session, part_ids=ids)
    assert {str(k): str(v) for k, v in current.items()} == {
        drafts["id"]: newest_draft["id"],
        mixed["id"]: approved["id"],
        both["id"]: second["id"],
    }
    assert attachments.line_revision(None, ids[1]) == ids[1]
    assert attachments.line_revision(ids[0], ids[1]) == ids[0]


# --- attach, list, detail, detach -------------------------------------------------------------


def files_url(part: dict, version: dict, attachment: str | None = None) -> str:
    url = f"/v1/parts/{part['id']}/versions/{version['id']}/files"
    return f"{url}/{attachment}" if attachment else url


async def attach(actor: Actor, part: dict, version: dict, file_id: str, **body) -> dict:
    response = await actor.client.post(files_url(part, version), json={"fileId": file_id, **body})
    assert response.status_code == 201, response.text
    return response.json()


async def test_attach_pins_the_current_version_and_lists_it(erin, ed):
    part = await make_part(erin, "ASM-1")
    rev = await make_revision(erin, part, "A")
    v1 = await make_file(ed, "housing.step")
    v2 = await make_file(ed, "housing.step", replace="true")

    attached = await attach(erin, part, rev, v1["id"])
    assert attached["fileId"] == v1["id"]
    assert attached["versionId"] == v2["versionId"]  # default: the file's current version
    assert (attached["version"], attached["latestVersion"]) == (2, 2)
    assert attached["name"] == "housing.step"
    assert attached["path"] == "/v1/serve/acme/ed/housing.step"
    assert attached["username"] == "ed"
    assert attached["attachedBy"] == "erin"
    assert attached["sha256"] == v2["sha256"] and attached["size"] == v2["size"]
    assert attached["contentType"] and attached["attachedAt"]
    assert (attached["partId"], attached["partVersionId"]) == (part["id"], rev["id"])
    assert attached["revision"] == "A" and attached["trashed"] is False

    listed = (await ed.client.get(files_url(part, rev))).json()
    assert listed["total"] == 1 and listed["items"] == [attached]
    assert set(listed) == {"items", "total", "page", "pageSize"}

    # the file moves on; the attachment stays on the pinned version
    await make_file(ed, "housing.step", replace="true")
    (row,) = (await erin.client.get(files_url(part, rev))).json()["items"]
    assert (row["version"], row["latestVersion"]) == (2, 3)


async def test_attach_an_explicit_version_and_repin(erin):
    part = await make_part(erin, "ASM-2")
    rev = await make_revision(erin, part, "A")
    v1 = await make_file(erin, "bracket.step")
    v2 = await make_file(erin, "bracket.step", replace="true")
    first = await attach(erin, part, rev, v1["id"], versionId=v1["versionId"])
    assert first["version"] == 1

    again = await erin.client.post(
        files_url(part, rev), json={"fileId": v1["id"], "versionId": v1["versionId"]}
    )
    assert again.status_code == 200, again.text  # idempotent: same attachment, nothing new
    assert again.json()["id"] == first["id"]

    repinned = await erin.client.post(files_url(part, rev), json={"fileId": v1["id"]})
    assert repinned.status_code == 200, repinned.text  # another version of the same file
    assert repinned.json()["id"] == first["id"]
    assert repinned.json()["versionId"] == v2["versionId"]
    assert (await erin.client.get(files_url(part, rev))).json()["total"] == 1


async def test_part_detail_lists_every_revisions_files_and_the_current_revision(erin, mia):
    part = await make_part(erin, "ASM-3")
    rev_a = await make_revision(erin, part, "A")
    rev_b = await make_revision(erin, part, "B")
    model = await make_file(erin, "model.step")
    drawing = await make_file(erin, "drawing.pdf")
    await attach(erin, part, rev_a, model["id"])
    await attach(erin, part, rev_b, model["id"])
    await attach(erin, part, rev_b, drawing["id"])

    detail = (await erin.client.get(f"/v1/parts/{part['id']}")).json()
    assert detail["currentVersionId"] == rev_b["id"]  # no approved revision: the newest
    assert [(f["revision"], f["name"]) for f in detail["files"]] == [
        ("B", "drawing.pdf"),
        ("B", "model.step"),
        ("A", "model.step"),
    ]
    await release(mia, part, rev_a)
    detail = (await erin.client.get(f"/v1/parts/{part['id']}")).json()
    assert detail["currentVersionId"] == rev_a["id"]  # the approved one wins

    bare = await make_part(erin, "ASM-EMPTY")
    detail = (await erin.client.get(f"/v1/parts/{bare['id']}")).json()
    assert detail["currentVersionId"] is None and detail["files"] == []


async def test_detach(erin, ed):
    part = await make_part(erin, "ASM-4")
    rev = await make_revision(erin, part, "A")
    file = await make_file(erin, "cover.step")
    attached = await attach(erin, part, rev, file["id"])
    response = await ed.client.delete(files_url(part, rev, attached["id"]))
    assert response.status_code == 204, response.text
    assert (await erin.client.get(files_url(part, rev))).json()["total"] == 0
    assert_problem(
        await ed.client.delete(files_url(part, rev, attached["id"])), 404, "ATTACHMENT_NOT_FOUND"
    )
    # an attachment of another revision is not found on this one
    other = await make_revision(erin, part, "B")
    on_other = await attach(erin, part, other, file["id"])
    assert_problem(
        await ed.client.delete(files_url(part, rev, on_other["id"])), 404, "ATTACHMENT_NOT_FOUND"
    )


async def test_a_released_revisions_files_are_frozen(erin, mia):
    part = await make_part(erin, "ASM-5")
    rev = await make_revision(erin, part, "A")
    model = await make_file(erin, "frozen.step")
    other = await make_file(erin, "late.step")
    attached = await attach(erin, part, rev, model["id"])

    await erin.client.post(f"/v1/parts/{part['id']}/versions/{rev['id']}/submit")
    response = await erin.client.post(files_url(part, rev), json={"fileId": other["id"]})
    assert_problem(response, 409, "REVISION_NOT_EDITABLE")
    await mia.client.post(f"/v1/parts/{part['id']}/versions/{rev['id']}/approve")

    response = await mia.client.post(files_url(part, rev), json={"fileId": other["id"]})
    assert_problem(response, 409, "REVISION_FROZEN")
    response = await mia.client.post(files_url(part, rev), json={"fileId": model["id"]})
    assert_problem(response, 409, "REVISION_FROZEN")
    assert_problem(
        await mia.client.delete(files_url(part, rev, attached["id"])), 409, "REVISION_FROZEN"
    )
    (row,) = (await erin.client.get(files_url(part, rev))).json()["items"]
    assert row["id"] == attached["id"]

    # trashing the file keeps the released revision's pin
    r = await erin.client.delete(
        "/v1/file", params={"workspace": WORKSPACE, "filename": "frozen.step"}
    )
    assert r.status_code == 200, r.text
    (row,) = (await erin.client.get(files_url(part, rev))).json()["items"]
    assert row["trashed"] is True and row["versionId"] == attached["versionId"]


async def test_roles_and_bad_input(erin, vic):
    part = await make_part(erin, "ASM-6")
    rev = await make_revision(erin, part, "A")
    file = await make_file(erin, "roles.step")
    response = await vic.client.post(files_url(part, rev), json={"fileId": file["id"]})
    assert_problem(response, 403)
    attached = await attach(erin, part, rev, file["id"])
    assert_problem(await vic.client.delete(files_url(part, rev, attached["id"])), 403)
    assert (await vic.client.get(files_url(part, rev))).json()["total"] == 1

    assert_problem(await erin.client.post(files_url(part, rev), json={}), 400)
    assert_problem(await erin.client.post(files_url(part, rev), json={"fileId": "x"}), 400)
    missing = str(uuid.uuid4())
    assert_problem(
        await erin.client.post(files_url(part, rev), json={"fileId": missing}),
        404,
        "FILE_NOT_FOUND",
    )
    response = await erin.client.post(
        files_url(part, rev), json={"fileId": file["id"], "versionId": missing}
    )
    assert_problem(response, 404, "FILE_VERSION_NOT_FOUND")
    ghost = {"id": missing}
    assert_problem(
        await erin.client.post(files_url(part, ghost), json={"fileId": file["id"]}),
        404,
        "VERSION_NOT_FOUND",
    )
    assert_problem(await erin.client.get(files_url(part, ghost)), 404, "VERSION_NOT_FOUND")
    # a revision of another part of the same workspace is not this part's
    sibling = await make_part(erin, "ASM-6B")
    assert_problem(await erin.client.get(files_url(sibling, rev)), 404, "VERSION_NOT_FOUND")


async def test_another_workspaces_file_or_part_is_404(erin, olga):
    part = await make_part(erin, "ASM-7")
    rev = await make_revision(erin, part, "A")
    mine = await make_file(erin, "mine.step")
    theirs = await make_file(olga, "theirs.step", workspace="globex")
    assert_problem(
        await erin.client.post(files_url(part, rev), json={"fileId": theirs["id"]}),
        404,
        "FILE_NOT_FOUND",
    )
    # a stranger sees neither the part nor its files, nor can attach her own
    assert_problem(await olga.client.get(files_url(part, rev)), 404, "PART_NOT_FOUND")
    response = await olga.client.post(files_url(part, rev), json={"fileId": theirs["id"]})
    assert_problem(response, 404, "PART_NOT_FOUND")
    attached = await attach(erin, part, rev, mine["id"])
    assert_problem(await olga.client.delete(files_url(part, rev, attached["id"])), 404)


async def test_attach_and_detach_are_audited(erin, mia):
    part = await make_part(erin, "ASM-8")
    rev = await make_revision(erin, part, "A")
    v1 = await make_file(erin, "audited.step")
    attached = await attach(erin, part, rev, v1["id"], versionId=v1["versionId"])
    v2 = await make_file(erin, "audited.step", replace="true")
    await erin.client.post(files_url(part, rev), json={"fileId": v1["id"]})
    await erin.client.delete(files_url(part, rev, attached["id"]))
    response = await mia.client.get(
        "/v1/audit", params={"workspace": WORKSPACE, "entity": "part_version_file"}
    )
    assert response.status_code == 200, response.text
    events = response.json()["items"]
    assert [(e["action"], e["entityId"]) for e in events] == [
        ("delete", attached["id"]),
        ("update", attached["id"]),
        ("create", attached["id"]),
    ]
    deleted, updated, created = events
    assert created["before"] is None and created["after"]["versionId"] == v1["versionId"]
    assert created["after"]["fileName"] == "audited.step"
    assert updated["before"]["version"] == 1 and updated["after"]["version"] == 2
    assert updated["after"]["versionId"] == v2["versionId"]
    assert deleted["before"]["versionId"] == v2["versionId"] and deleted["after"] is None
    assert created["actor"] == "erin@example.com"


# --- uploads that name their part -----------------------------------------------------------


async def test_upload_with_item_id_answers_it_and_the_cascadia_face_lists_the_file(erin, ed):
    part = await make_part(erin, "ASM-9")
    first = await make_file(erin, "linked.step", itemId=part["id"])
    assert first["itemId"] == part["id"]
    meta = await erin.client.get(
        "/v1/filemeta", params={"workspace": WORKSPACE, "filename": "linked.step"}
    )
    assert meta.json()["itemId"] == part["id"]
    listed = (await ed.client.get(f"/api/items/{part['id']}/files")).json()["data"]
    assert [f["id"] for f in listed["files"]] == [first["id"]]

    # a later version keeps the link; a file without one gains it
    again = await make_file(ed, "linked.step", username="erin", replace="true")
    assert again["itemId"] == part["id"]
    loose = await make_file(erin, "loose.step")
    assert loose["itemId"] is None
    linked = await make_file(erin, "loose.step", replace="true", itemId=part["id"])
    assert linked["itemId"] == part["id"]

    # another part's file is not silently moved
    other = await make_part(erin, "ASM-9B")
    r = await upload(erin.client, "linked.step", step_like("x"), replace="true", itemId=other["id"])
    assert_problem(r, 409, "FILE_EXISTS")


async def test_upload_with_a_bad_or_foreign_item_is_refused(erin, olga):
    r = await upload(erin.client, "bad.step", step_like(), itemId="nope")
    assert_problem(r, 400, "INVALID_FIELD")
    foreign = await make_part(olga, "G-1", workspace="globex")
    r = await upload(erin.client, "bad.step", step_like(), itemId=foreign["id"])
    assert_problem(r, 404, "PART_NOT_FOUND")
    r = await upload(erin.client, "bad.step", step_like(), itemId=str(uuid.uuid4()))
    assert_problem(r, 404, "PART_NOT_FOUND")
    listed = await erin.client.get("/v1/files", params={"workspace": WORKSPACE})
    assert listed.json()["total"] == 0


async def test_upload_with_a_revision_attaches_the_new_version(erin, ed, mia):
    part = await make_part(erin, "ASM-10")
    rev = await make_revision(erin, part, "A")
    v1 = await make_file(erin, "rev.step", itemId=part["id"], partVersionId=rev["id"])
    assert v1["attachmentId"] and v1["itemId"] == part["id"]
    (row,) = (await erin.client.get(files_url(part, rev))).json()["items"]
    assert (row["id"], row["versionId"]) == (v1["attachmentId"], v1["versionId"])

    # the revision alone names its part; a new version re-pins the same attachment
    v2 = await make_file(ed, "rev.step", username="erin", replace="true", partVersionId=rev["id"])
    assert v2["attachmentId"] == v1["attachmentId"]
    (row,) = (await erin.client.get(files_url(part, rev))).json()["items"]
    assert row["versionId"] == v2["versionId"] and row["version"] == 2

    # a stale base keeps the bytes as a conflict copy, which is not attached
    r = await upload(
        erin.client, "rev.step", step_like("c"), baseVersion="1-x", partVersionId=rev["id"]
    )
    conflict = assert_problem(r, 409, "VERSION_CONFLICT")
    assert "attachmentId" not in conflict["file"]
    (row,) = (await erin.client.get(files_url(part, rev))).json()["items"]
    assert row["versionId"] == v2["versionId"]

    # a released revision refuses the upload as a whole
    await release(mia, part, rev)
    r = await upload(
        erin.client, "rev.step", step_like("r"), replace="true", partVersionId=rev["id"]
    )
    assert_problem(r, 409, "REVISION_FROZEN")
    meta = await erin.client.get(
        "/v1/filemeta", params={"workspace": WORKSPACE, "filename": "rev.step"}
    )
    assert meta.json()["version"] == 2
    # a revision of another part, or of no part, is not found
    other = await make_part(erin, "ASM-10B")
    r = await upload(
        erin.client, "x.step", step_like(), itemId=other["id"], partVersionId=rev["id"]
    )
    assert_problem(r, 404, "VERSION_NOT_FOUND")
    r = await upload(erin.client, "x.step", step_like(), partVersionId=str(uuid.uuid4()))
    assert_problem(r, 404, "VERSION_NOT_FOUND")


async def test_batch_upload_with_a_revision_attaches_every_file(erin):
    part = await make_part(erin, "ASM-11")
    rev = await make_revision(erin, part, "A")
    files = [
        ("files[]", (n, step_like(n), "application/octet-stream")) for n in ("a.step", "b.pdf")
    ]
    r = await erin.client.post(
        "/v1/uploads",
        params={"workspace": WORKSPACE},
        files=files,
        data={"itemId": part["id"], "partVersionId": rev["id"]},
    )
    assert r.status_code == 200, r.text
    assert all(i["itemId"] == part["id"] and i["attachmentId"] for i in r.json()["items"])
    listed = (await erin.client.get(files_url(part, rev))).json()
    assert [f["name"] for f in listed["items"]] == ["a.step", "b.pdf"]


async def test_an_item_lock_refuses_an_upload_naming_the_item(erin, ed):
    part = await make_part(erin, "ASM-12")
    assert (await erin.client.post(f"/api/items/{part['id']}/lock")).status_code == 200
    r = await upload(ed.client, "locked.step", step_like(), itemId=part["id"])
    assert_problem(r, 423, "ITEM_LOCKED")
    assert (await make_file(erin, "locked.step", itemId=part["id"]))["itemId"] == part["id"]


# --- statement counts ---------------------------------------------------------------------------


async def test_listing_files_costs_the_same_however_many_are_attached(erin, engine):
    async def build(number: str, revisions: int, files: int) -> tuple[dict, dict]:
        part = await make_part(erin, number)
        revs = [await make_revision(erin, part, f"R{n}") for n in range(revisions)]
        for n in range(files):
            file = await make_file(erin, f"{number}-{n}.step")
            for rev in revs:
                await attach(erin, part, rev, file["id"])
        return part, revs[-1]

    async def count(url: str) -> int:
        with counted(engine) as statements:
            response = await erin.client.get(url)
        assert response.status_code == 200, response.text
        return len(statements)

    small, small_rev = await build("CNT-S", 1, 1)
    large, large_rev = await build("CNT-L", 4, 6)

    def urls(part: dict, rev: dict) -> list[str]:
        return [f"/v1/parts/{part['id']}", files_url(part, rev)]

    for url in urls(small, small_rev):
        await count(url)  # warm up anything done once per token
    small_counts = [await count(u) for u in urls(small, small_rev)]
    assert small_counts == [await count(u) for u in urls(large, large_rev)]
    detail = (await erin.client.get(f"/v1/parts/{large['id']}")).json()
    assert len(detail["files"]) == 24
