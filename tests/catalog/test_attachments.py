"""The file ↔ part link over HTTP: attach vault file versions to part revisions, list them on the
revision and on the part, detach; frozen with a released revision; tenancy; audit; and the
"current revision" rule shared with the BOM tree."""

from __future__ import annotations

import uuid

import pytest

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
