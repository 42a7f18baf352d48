"""The parts catalog over HTTP: create, search, detail, update, revisions, bulk, export, audit
(productflo-sync-api: Parts & BOM, Parts Catalog — Filters, Sorting, Bulk)."""

from __future__ import annotations

import contextlib
import csv
import io
import uuid

import openpyxl
import pytest
from sqlalchemy import event, select

from tests.conftest import assert_problem
from threadline.auth.models import Membership, Role, Workspace

PARTS = "/v1/parts"


async def create_part(client, workspace: str = "acme", **fields) -> dict:
    """POST /v1/parts and insist on 201; camelCase ``fields`` go into the body as given."""
    body = {"workspace": workspace, "name": "Widget", **fields}
    response = await client.post(PARTS, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def list_parts(client, workspace: str = "acme", **params) -> dict:
    response = await client.get(PARTS, params={"workspace": workspace, **params})
    assert response.status_code == 200, response.text
    return response.json()


async def part_numbers(client, **params) -> list[str]:
    return [p["partNumber"] for p in (await list_parts(client, **params))["items"]]


async def join(sessionmaker, actor, workspace: str, role: Role) -> None:
    """Make an existing actor a member of another workspace too."""
    async with sessionmaker() as session:
        ws = await session.scalar(select(Workspace).where(Workspace.name == workspace))
        session.add(Membership(workspace_id=ws.id, user_id=actor.user.id, role=role))
        await session.commit()


@pytest.fixture
async def engineer(make_actor):
    return await make_actor("erin", workspace="acme", role="engineer")


@pytest.fixture
async def manager(make_actor, engineer):
    return await make_actor("mia", workspace="acme", role="manager")


@pytest.fixture
async def viewer(make_actor, engineer):
    return await make_actor("vic", workspace="acme", role="viewer")


@pytest.fixture
async def stranger(make_actor):
    """The owner of another workspace, globex, with a part of its own."""
    return await make_actor("sam", workspace="globex", role="owner")


# --- create -----------------------------------------------------------------------------------


async def test_engineer_creates_a_part_with_every_field(engineer):
    response = await engineer.client.post(
        PARTS,
        json={
            "workspace": "acme",
            "partNumber": " BR-100 ",
            "name": "Bracket",
            "description": "Folded steel bracket",
            "domain": "mechanical",
            "uom": "each",
            "manufacturerName": "Acme Metals",
            "manufacturerPartNumber": "AM-77",
            "tags": ["steel", "bracket", "steel"],
            "attributes": {"material": "S235"},
            "rohsCompliant": True,
            "reachCompliant": False,
            "conflictMinerals": "free",
            "unitCost": "2.5",
            "currency": "eur",
        },
    )
    assert response.status_code == 201, response.text
    part = response.json()
    assert uuid.UUID(part["id"])
    assert part["partNumber"] == "BR-100"
    assert (part["domain"], part["lifecycle"], part["uom"]) == ("mechanical", "prototype", "each")
    assert part["tags"] == ["bracket", "steel"]
    assert part["attributes"] == {"material": "S235"}
    assert (part["rohsCompliant"], part["reachCompliant"]) == (True, False)
    assert part["unitCost"] == 2.5  # a JSON number, not the string "2.500000"
    assert isinstance(part["unitCost"], float)
    assert part["currency"] == "EUR"
    assert part["createdAt"] and part["updatedAt"]


async def test_defaults_of_a_minimal_part(engineer):
    part = await create_part(engineer.client, partNumber="MIN-1", name="Minimal")
    assert (part["domain"], part["uom"], part["lifecycle"]) == ("other", "each", "prototype")
    assert part["tags"] == [] and part["attributes"] == {}
    assert part["unitCost"] is None and part["currency"] is None


async def test_viewer_cannot_create(viewer):
    response = await viewer.client.post(
        PARTS, json={"workspace": "acme", "partNumber": "V-1", "name": "Nope"}
    )
    assert_problem(response, 403, "INSUFFICIENT_ROLE")
    assert (await list_parts(viewer.client))["total"] == 0


async def test_non_member_gets_404_for_the_workspace(engineer, stranger):
    response = await stranger.client.post(
        PARTS, json={"workspace": "acme", "partNumber": "S-1", "name": "Sneaky"}
    )
    assert_problem(response, 404)
    assert (await list_parts(engineer.client))["total"] == 0


async def test_anonymous_is_401(client):
    response = await client.post(PARTS, json={"workspace": "acme", "name": "x"})
    assert_problem(response, 401)


async def test_duplicate_part_number_is_409(engineer):
    await create_part(engineer.client, partNumber="DUP-1")
    response = await engineer.client.post(
        PARTS, json={"workspace": "acme", "partNumber": "DUP-1", "name": "Again"}
    )
    body = assert_problem(response, 409, "PART_NUMBER_TAKEN")
    assert "DUP-1" in body["detail"]


async def test_same_part_number_in_another_workspace_is_fine(engineer, stranger):
    await create_part(engineer.client, partNumber="SHARED-1")
    await create_part(stranger.client, workspace="globex", partNumber="SHARED-1")


async def test_lifecycle_other_than_prototype_on_create_needs_a_manager(engineer, manager):
    body = {"workspace": "acme", "partNumber": "REL-1", "name": "Released", "lifecycle": "released"}
    assert_problem(await engineer.client.post(PARTS, json=body), 403, "INSUFFICIENT_ROLE")
    ok = await engineer.client.post(PARTS, json={**body, "lifecycle": "prototype"})
    assert ok.status_code == 201, ok.text
    made = await manager.client.post(PARTS, json={**body, "partNumber": "REL-2"})
    assert made.status_code == 201, made.text
    assert made.json()["lifecycle"] == "released"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("domain", "quantum"),
        ("lifecycle", "retired"),
        ("currency", "EURO"),
        ("currency", "E1R"),
        ("unitCost", -1),
        ("unitCost", "0.1234567"),  # more than six decimal places
        ("unitCost", "abc"),
        ("partNumber", ""),
        ("name", "   "),
        ("tags", "not-a-list"),
        ("attributes", ["not", "an", "object"]),
        ("colour", "red"),  # unknown fields are refused, not ignored
    ],
)
async def test_invalid_create_bodies_are_400(engineer, field, value):
    body = {"workspace": "acme", "partNumber": "BAD-1", "name": "Bad", field: value}
    problem = assert_problem(await engineer.client.post(PARTS, json=body), 400, "VALIDATION_ERROR")
    assert any(field in e["loc"] for e in problem["errors"]), problem
    assert (await list_parts(engineer.client))["total"] == 0


# --- list: search, filters, sorting, paging ---------------------------------------------------


async def test_q_matches_number_prefix_name_substring_and_mpn_prefix(engineer):
    c = engineer.client
    await create_part(c, partNumber="ABC-100", name="Hex bolt")
    await create_part(c, partNumber="QQ-ABC-1", name="Spacer")  # ABC only mid-number
    await create_part(c, partNumber="R-1", name="Cable", manufacturerPartNumber="abc-77")
    await create_part(c, partNumber="R-2", name="Fabcon gasket")
    await create_part(c, partNumber="R-3", name="Nut", manufacturerPartNumber="X-ABC")
    for q in ("abc", "ABC", "aBc"):
        assert await part_numbers(c, q=q) == ["ABC-100", "R-1", "R-2"]
    assert await part_numbers(c, q="qq-abc") == ["QQ-ABC-1"]
    assert await part_numbers(c, q="x-abc") == ["R-3"]
    assert await part_numbers(c, q="bolt") == ["ABC-100"]
    assert await part_numbers(c, q="zzz") == []


async def test_percent_and_underscore_in_q_are_literal(engineer):
    c = engineer.client
    await create_part(c, partNumber="P-1", name="100% cotton")
    await create_part(c, partNumber="P-2", name="1000 cotton")
    await create_part(c, partNumber="R_6", name="Shim")
    await create_part(c, partNumber="RX6", name="Shim two")
    assert await part_numbers(c, q="%") == ["P-1"]
    assert await part_numbers(c, q="0%") == ["P-1"]
    assert await part_numbers(c, q="R_") == ["R_6"]
    assert await part_numbers(c, q="_") == []  # as a wildcard it would match every part
    assert await part_numbers(c, q="r_6") == ["R_6"]
    assert await part_numbers(c, q="\\") == []


async def test_domain_lifecycle_and_tag_filters(engineer, manager):
    c = manager.client
    await create_part(c, partNumber="F-1", domain="mechanical", tags=["steel", "fastener"])
    await create_part(c, partNumber="F-2", domain="electronic", tags=["smd"])
    await create_part(c, partNumber="F-3", domain="mechanical", lifecycle="obsolete")
    await create_part(c, partNumber="F-4", lifecycle="released", tags=["fastener"])
    assert await part_numbers(c, domain="mechanical") == ["F-1", "F-3"]
    assert await part_numbers(c, domain="chemical") == []
    assert await part_numbers(c, lifecycle="obsolete") == ["F-3"]
    assert await part_numbers(c, lifecycle="prototype") == ["F-1", "F-2"]
    assert await part_numbers(c, tag="fastener") == ["F-1", "F-4"]
    assert await part_numbers(c, tag="fast") == []  # a tag matches whole, not by prefix
    assert await part_numbers(c, tag="fastener", domain="mechanical") == ["F-1"]
    assert await part_numbers(c, tag="fastener", domain="mechanical", q="F-4") == []
    bad = await c.get(PARTS, params={"workspace": "acme", "domain": "quantum"})
    assert_problem(bad, 400)
    bad = await c.get(PARTS, params={"workspace": "acme", "lifecycle": "retired"})
    assert_problem(bad, 400)


@pytest.fixture
async def three_sortable_parts(manager) -> dict[str, dict]:
    """Three parts whose every sortable column orders them differently."""
    c = manager.client
    parts = {
        "S-1": await create_part(
            c, partNumber="S-1", name="Washer", domain="other", lifecycle="released",
            manufacturerPartNumber="M3",
        ),
        "S-2": await create_part(
            c, partNumber="S-2", name="Bracket", domain="mechanical", lifecycle="obsolete",
            manufacturerPartNumber="M1",
        ),
        "S-3": await create_part(
            c, partNumber="S-3", name="Cable", domain="electrical", lifecycle="on_hold",
            manufacturerPartNumber="M2",
        ),
    }  # fmt: skip
    touched = await c.patch(f"{PARTS}/{parts['S-1']['id']}", json={"description": "touched"})
    assert touched.status_code == 200, touched.text
    return parts


@pytest.mark.parametrize(
    ("sort", "ascending"),
    [
        ("part_number", ["S-1", "S-2", "S-3"]),
        ("name", ["S-2", "S-3", "S-1"]),
        ("domain", ["S-3", "S-2", "S-1"]),
        ("lifecycle", ["S-2", "S-3", "S-1"]),
        ("manufacturer_part_number", ["S-2", "S-3", "S-1"]),
        ("updated_at", ["S-2", "S-3", "S-1"]),  # S-1 was edited last
    ],
)
async def test_sort_whitelist_both_directions(manager, three_sortable_parts, sort, ascending):
    assert await part_numbers(manager.client, sort=sort, dir="asc") == ascending
    assert await part_numbers(manager.client, sort=sort, dir="desc") == ascending[::-1]


async def test_default_sort_is_part_number_ascending(manager, three_sortable_parts):
    assert await part_numbers(manager.client) == ["S-1", "S-2", "S-3"]


@pytest.mark.parametrize("sort", ["created_at", "workspace_id", "unit_cost", "name;drop"])
async def test_unknown_sort_is_400(manager, sort):
    response = await manager.client.get(PARTS, params={"workspace": "acme", "sort": sort})
    body = assert_problem(response, 400, "INVALID_SORT")
    assert "part_number" in body["detail"]


async def test_bad_dir_is_400(manager):
    response = await manager.client.get(PARTS, params={"workspace": "acme", "dir": "sideways"})
    assert_problem(response, 400)


async def test_paging_shape(engineer):
    for n in range(5):
        await create_part(engineer.client, partNumber=f"PG-{n}")
    page = await list_parts(engineer.client, page=2, pageSize=2)
    assert set(page) == {"items", "total", "page", "pageSize"}
    assert (page["total"], page["page"], page["pageSize"]) == (5, 2, 2)
    assert [p["partNumber"] for p in page["items"]] == ["PG-2", "PG-3"]
    last = await list_parts(engineer.client, page=3, pageSize=2)
    assert [p["partNumber"] for p in last["items"]] == ["PG-4"]
    beyond = await list_parts(engineer.client, page=9, pageSize=2)
    assert (beyond["items"], beyond["total"]) == ([], 5)
    default = await list_parts(engineer.client)
    assert (default["page"], default["pageSize"], len(default["items"])) == (1, 50, 5)
    too_big = await engineer.client.get(PARTS, params={"workspace": "acme", "pageSize": 501})
    assert_problem(too_big, 400)


async def test_another_workspaces_parts_are_never_listed(engineer, stranger):
    await create_part(engineer.client, partNumber="MINE-1")
    await create_part(stranger.client, workspace="globex", partNumber="THEIRS-1", name="Widget")
    assert await part_numbers(engineer.client) == ["MINE-1"]
    assert await part_numbers(engineer.client, q="THEIRS") == []
    assert await part_numbers(engineer.client, q="Widget") == ["MINE-1"]
    response = await engineer.client.get(PARTS, params={"workspace": "globex"})
    assert_problem(response, 404)


# --- detail -----------------------------------------------------------------------------------


async def test_detail_has_versions_and_compliance_warnings(engineer):
    part = await create_part(
        engineer.client, partNumber="D-1", rohsCompliant=False, conflictMinerals="tantalum (DRC)"
    )
    await engineer.client.post(f"{PARTS}/{part['id']}/versions", json={"revision": "A"})
    response = await engineer.client.get(f"{PARTS}/{part['id']}", params={"workspace": "acme"})
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["partNumber"] == "D-1"
    assert [v["revision"] for v in detail["versions"]] == ["A"]
    assert detail["warnings"] == ["not RoHS compliant", "conflict minerals: tantalum (DRC)"]


async def test_detail_of_a_clean_part_has_no_warnings(engineer):
    part = await create_part(engineer.client, partNumber="D-2", rohsCompliant=True)
    detail = (await engineer.client.get(f"{PARTS}/{part['id']}")).json()
    assert (detail["versions"], detail["warnings"]) == ([], [])


async def test_detail_with_a_different_workspace_is_404(engineer, stranger, sessionmaker):
    part = await create_part(engineer.client, partNumber="D-3")
    await join(sessionmaker, engineer, "globex", Role.viewer)
    response = await engineer.client.get(f"{PARTS}/{part['id']}", params={"workspace": "globex"})
    assert_problem(response, 404, "PART_NOT_FOUND")
    response = await engineer.client.get(f"{PARTS}/{part['id']}", params={"workspace": "acme"})
    assert response.status_code == 200, response.text


async def test_another_workspaces_part_is_404_never_403(engineer, stranger):
    theirs = await create_part(stranger.client, workspace="globex", partNumber="G-1")
    url = f"{PARTS}/{theirs['id']}"
    assert_problem(await engineer.client.get(url), 404, "PART_NOT_FOUND")
    assert_problem(await engineer.client.patch(url, json={"name": "Mine"}), 404, "PART_NOT_FOUND")
    assert_problem(await engineer.client.get(f"{url}/versions"), 404, "PART_NOT_FOUND")
    created = await engineer.client.post(f"{url}/versions", json={"revision": "A"})
    assert_problem(created, 404, "PART_NOT_FOUND")
    assert_problem(await engineer.client.get(f"{url}/where-used"), 404, "PART_NOT_FOUND")
    still = (await stranger.client.get(url)).json()
    assert still["name"] == "Widget" and still["versions"] == []


async def test_unknown_part_is_404_and_a_malformed_id_400(engineer):
    assert_problem(await engineer.client.get(f"{PARTS}/{uuid.uuid4()}"), 404, "PART_NOT_FOUND")
    assert_problem(await engineer.client.get(f"{PARTS}/not-a-uuid"), 400)


# --- update -----------------------------------------------------------------------------------


async def test_engineer_updates_fields_and_tags_are_replaced(engineer):
    part = await create_part(
        engineer.client, partNumber="U-1", tags=["a", "b"], description="old", unitCost=1
    )
    response = await engineer.client.patch(
        f"{PARTS}/{part['id']}",
        json={"name": "Renamed", "description": None, "tags": ["c", "a"], "unitCost": "3.25"},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["name"], updated["description"]) == ("Renamed", None)
    assert updated["tags"] == ["a", "c"]
    assert updated["unitCost"] == 3.25
    assert updated["updatedAt"] > part["updatedAt"]
    assert await part_numbers(engineer.client, tag="b") == []
    assert await part_numbers(engineer.client, tag="c") == ["U-1"]
    cleared = await engineer.client.patch(f"{PARTS}/{part['id']}", json={"tags": []})
    assert cleared.json()["tags"] == []


async def test_patch_leaves_unmentioned_fields_alone(engineer):
    part = await create_part(
        engineer.client, partNumber="U-2", domain="electronic", tags=["x"], attributes={"k": 1}
    )
    response = await engineer.client.patch(f"{PARTS}/{part['id']}", json={"uom": "m"})
    updated = response.json()
    assert updated["uom"] == "m"
    assert (updated["domain"], updated["tags"], updated["attributes"]) == (
        "electronic",
        ["x"],
        {"k": 1},
    )


async def test_lifecycle_change_needs_a_manager(engineer, manager):
    part = await create_part(engineer.client, partNumber="U-3")
    url = f"{PARTS}/{part['id']}"
    refused = await engineer.client.patch(url, json={"lifecycle": "released", "name": "Sneak"})
    assert_problem(refused, 403, "INSUFFICIENT_ROLE")
    after = (await engineer.client.get(url)).json()
    assert (after["lifecycle"], after["name"]) == ("prototype", "Widget")
    # Sending the current lifecycle back is no change, so an engineer may.
    same = await engineer.client.patch(url, json={"lifecycle": "prototype", "name": "Same"})
    assert same.status_code == 200, same.text
    released = await manager.client.patch(url, json={"lifecycle": "released"})
    assert released.status_code == 200, released.text
    assert released.json()["lifecycle"] == "released"


async def test_viewer_cannot_update(engineer, viewer):
    part = await create_part(engineer.client, partNumber="U-4")
    response = await viewer.client.patch(f"{PARTS}/{part['id']}", json={"name": "x"})
    assert_problem(response, 403, "INSUFFICIENT_ROLE")


@pytest.mark.parametrize(
    "body",
    [{"partNumber": "NEW"}, {"colour": "red"}, {"unitCost": -0.01}, {"domain": "quantum"}],
)
async def test_invalid_patch_bodies_are_400(engineer, body):
    part = await create_part(engineer.client, partNumber="U-5")
    response = await engineer.client.patch(f"{PARTS}/{part['id']}", json=body)
    assert_problem(response, 400, "VALIDATION_ERROR")
    assert (await engineer.client.get(f"{PARTS}/{part['id']}")).json()["partNumber"] == "U-5"


# --- versions ---------------------------------------------------------------------------------


async def _version(client, part_id: str, revision: str, **extra) -> dict:
    response = await client.post(
        f"{PARTS}/{part_id}/versions", json={"revision": revision, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_and_list_versions(engineer, viewer):
    part = await create_part(engineer.client, partNumber="V-1")
    a = await _version(engineer.client, part["id"], "A", changeNote="first", data={"cad": "v1"})
    assert (a["revision"], a["status"], a["partId"]) == ("A", "draft", part["id"])
    assert (a["changeNote"], a["data"], a["rejectReason"], a["decidedAt"]) == (
        "first",
        {"cad": "v1"},
        None,
        None,
    )
    await _version(engineer.client, part["id"], "B")
    listed = await viewer.client.get(f"{PARTS}/{part['id']}/versions")
    assert listed.status_code == 200, listed.text
    assert [v["revision"] for v in listed.json()] == ["A", "B"]
    duplicate = await engineer.client.post(f"{PARTS}/{part['id']}/versions", json={"revision": "A"})
    assert_problem(duplicate, 409, "REVISION_EXISTS")
    by_viewer = await viewer.client.post(f"{PARTS}/{part['id']}/versions", json={"revision": "C"})
    assert_problem(by_viewer, 403, "INSUFFICIENT_ROLE")
    empty = await engineer.client.post(f"{PARTS}/{part['id']}/versions", json={"revision": " "})
    assert_problem(empty, 400)


async def test_submit_then_approve(engineer, manager):
    part = await create_part(engineer.client, partNumber="V-2")
    version = await _version(engineer.client, part["id"], "A")
    url = f"{PARTS}/{part['id']}/versions/{version['id']}"
    submitted = await engineer.client.post(f"{url}/submit")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    assert_problem(await engineer.client.post(f"{url}/approve"), 403, "INSUFFICIENT_ROLE")
    approved = await manager.client.post(f"{url}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["decidedAt"]
    # Approved is final: no second approval, no rejection, no resubmission.
    for action in ("approve", "reject", "submit"):
        again = await manager.client.post(f"{url}/{action}")
        body = assert_problem(again, 409, "INVALID_STATUS_TRANSITION")
        assert "approved" in body["detail"]
    [listed] = (await engineer.client.get(f"{PARTS}/{part['id']}/versions")).json()
    assert listed["status"] == "approved"


async def test_a_draft_cannot_be_approved_or_rejected(engineer, manager):
    part = await create_part(engineer.client, partNumber="V-3")
    version = await _version(engineer.client, part["id"], "A")
    url = f"{PARTS}/{part['id']}/versions/{version['id']}"
    assert_problem(await manager.client.post(f"{url}/approve"), 409, "INVALID_STATUS_TRANSITION")
    assert_problem(await manager.client.post(f"{url}/reject"), 409, "INVALID_STATUS_TRANSITION")
    submitted = await engineer.client.post(f"{url}/submit")
    assert submitted.json()["status"] == "submitted"
    twice = await engineer.client.post(f"{url}/submit")
    assert_problem(twice, 409, "INVALID_STATUS_TRANSITION")


async def test_reject_with_reason_then_resubmit(engineer, manager):
    part = await create_part(engineer.client, partNumber="V-4")
    version = await _version(engineer.client, part["id"], "A")
    url = f"{PARTS}/{part['id']}/versions/{version['id']}"
    await engineer.client.post(f"{url}/submit")
    by_engineer = await engineer.client.post(f"{url}/reject", json={"reason": "mine"})
    assert_problem(by_engineer, 403, "INSUFFICIENT_ROLE")
    rejected = await manager.client.post(f"{url}/reject", json={"reason": "Tolerance too tight"})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["rejectReason"]) == (
        "rejected",
        "Tolerance too tight",
    )
    assert_problem(await manager.client.post(f"{url}/approve"), 409, "INVALID_STATUS_TRANSITION")
    resubmitted = await engineer.client.post(f"{url}/submit")
    assert (resubmitted.json()["status"], resubmitted.json()["rejectReason"]) == (
        "submitted",
        None,
    )
    no_reason = await manager.client.post(f"{url}/reject")
    assert no_reason.status_code == 200, no_reason.text
    assert no_reason.json()["rejectReason"] is None


async def test_viewer_cannot_submit(engineer, viewer):
    part = await create_part(engineer.client, partNumber="V-5")
    version = await _version(engineer.client, part["id"], "A")
    url = f"{PARTS}/{part['id']}/versions/{version['id']}/submit"
    assert_problem(await viewer.client.post(url), 403, "INSUFFICIENT_ROLE")


async def test_a_version_of_another_part_is_404(engineer, manager):
    one = await create_part(engineer.client, partNumber="V-6")
    two = await create_part(engineer.client, partNumber="V-7")
    version = await _version(engineer.client, one["id"], "A")
    response = await engineer.client.post(f"{PARTS}/{two['id']}/versions/{version['id']}/submit")
    assert_problem(response, 404, "VERSION_NOT_FOUND")
    missing = await manager.client.post(f"{PARTS}/{one['id']}/versions/{uuid.uuid4()}/approve")
    assert_problem(missing, 404, "VERSION_NOT_FOUND")


# --- bulk -------------------------------------------------------------------------------------


async def _bulk(client, **body):
    return await client.post(f"{PARTS}/bulk", json={"workspace": "acme", **body})


async def test_engineer_applies_tags_to_selected_parts(engineer):
    a = await create_part(engineer.client, partNumber="B-1", tags=["old"])
    b = await create_part(engineer.client, partNumber="B-2")
    c = await create_part(engineer.client, partNumber="B-3")
    response = await _bulk(
        engineer.client, partIds=[a["id"], b["id"]], action="apply_tags", tags=["new", "old"]
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"updated": 2, "versions": {a["id"]: 2, b["id"]: 2}}
    assert await part_numbers(engineer.client, tag="new") == ["B-1", "B-2"]
    detail = (await engineer.client.get(f"{PARTS}/{a['id']}")).json()
    assert detail["tags"] == ["new", "old"]  # added to, not replaced
    assert (await engineer.client.get(f"{PARTS}/{c['id']}")).json()["tags"] == []


async def test_set_lifecycle_in_bulk_needs_a_manager(engineer, manager):
    a = await create_part(engineer.client, partNumber="B-4")
    b = await create_part(engineer.client, partNumber="B-5")
    ids = [a["id"], b["id"]]
    refused = await _bulk(
        engineer.client, partIds=ids, action="set_lifecycle", lifecycle="obsolete"
    )
    assert_problem(refused, 403, "INSUFFICIENT_ROLE")
    assert await part_numbers(engineer.client, lifecycle="obsolete") == []
    done = await _bulk(manager.client, partIds=ids, action="set_lifecycle", lifecycle="obsolete")
    assert done.status_code == 200, done.text
    assert await part_numbers(engineer.client, lifecycle="obsolete") == ["B-4", "B-5"]


async def test_bulk_with_a_foreign_or_unknown_id_changes_nothing(engineer, manager, stranger):
    mine = await create_part(engineer.client, partNumber="B-6")
    theirs = await create_part(stranger.client, workspace="globex", partNumber="G-6")
    for stray in (theirs["id"], str(uuid.uuid4())):
        ids = [mine["id"], stray]
        tagged = await _bulk(engineer.client, partIds=ids, action="apply_tags", tags=["x"])
        assert_problem(tagged, 404, "PART_NOT_FOUND")
        life = await _bulk(manager.client, partIds=ids, action="set_lifecycle", lifecycle="on_hold")
        assert_problem(life, 404, "PART_NOT_FOUND")
    after = (await engineer.client.get(f"{PARTS}/{mine['id']}")).json()
    assert (after["tags"], after["lifecycle"]) == ([], "prototype")
    assert (await stranger.client.get(f"{PARTS}/{theirs['id']}")).json()["tags"] == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"action": "apply_tags"}, 400, "INVALID_BULK_ACTION"),
        ({"action": "apply_tags", "tags": []}, 400, "INVALID_BULK_ACTION"),
        ({"action": "set_lifecycle"}, 400, "INVALID_BULK_ACTION"),
        ({"action": "delete"}, 400, "VALIDATION_ERROR"),
        ({"action": "set_lifecycle", "lifecycle": "retired"}, 400, "VALIDATION_ERROR"),
    ],
)
async def test_malformed_bulk_actions(manager, body, status, code):
    part = await create_part(manager.client, partNumber="B-7")
    assert_problem(await _bulk(manager.client, partIds=[part["id"]], **body), status, code)


async def test_bulk_needs_a_selection_and_engineer_role(engineer, viewer):
    part = await create_part(engineer.client, partNumber="B-8")
    empty = await _bulk(engineer.client, partIds=[], action="apply_tags", tags=["x"])
    assert_problem(empty, 400)
    by_viewer = await _bulk(viewer.client, partIds=[part["id"]], action="apply_tags", tags=["x"])
    assert_problem(by_viewer, 403, "INSUFFICIENT_ROLE")


# --- export selected --------------------------------------------------------------------------


async def _export(client, **body):
    response = await client.post(f"{PARTS}/export", json={"workspace": "acme", **body})
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment;")
    return response


async def test_export_selected_as_csv(engineer, viewer):
    a = await create_part(
        engineer.client, partNumber="E-1", name="Bolt, M3", tags=["x", "y"],
        attributes={"len": 10}, unitCost="0.25", currency="USD", rohsCompliant=True,
    )  # fmt: skip
    await create_part(engineer.client, partNumber="E-2")
    c = await create_part(engineer.client, partNumber="E-3", name="Ω resistor")
    response = await _export(viewer.client, partIds=[c["id"], a["id"]], format="csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert ".csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["part_number"] for r in rows] == ["E-1", "E-3"]
    first = rows[0]
    assert first["name"] == "Bolt, M3"
    assert first["tags"] == "x|y"
    assert first["attributes"] == '{"len":10}'
    assert float(first["unit_cost"]) == 0.25
    assert (first["currency"], first["lifecycle"], first["domain"]) == ("USD", "prototype", "other")
    assert rows[1]["name"] == "Ω resistor"


async def test_export_selected_as_xlsx(engineer):
    a = await create_part(engineer.client, partNumber="X-1", unitCost=4)
    await create_part(engineer.client, partNumber="X-2")
    response = await _export(engineer.client, partIds=[a["id"]], format="xlsx")
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header[:2] == ("part_number", "name")
    assert [r[0] for r in rows] == ["X-1"]
    assert float(rows[0][header.index("unit_cost")]) == 4


async def test_export_without_selection_is_the_whole_catalog_of_this_workspace(engineer, stranger):
    await create_part(engineer.client, partNumber="W-2")
    await create_part(engineer.client, partNumber="W-1")
    theirs = await create_part(stranger.client, workspace="globex", partNumber="G-1")
    response = await _export(engineer.client)
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["part_number"] for r in rows] == ["W-1", "W-2"]
    # Selecting another workspace's part does not leak it.
    leaked = await _export(engineer.client, partIds=[theirs["id"]])
    assert list(csv.DictReader(io.StringIO(leaked.content.decode("utf-8-sig")))) == []


async def test_export_refuses_unknown_formats_and_strangers(engineer, stranger):
    bad = await engineer.client.post(f"{PARTS}/export", json={"workspace": "acme", "format": "pdf"})
    assert_problem(bad, 400)
    foreign = await stranger.client.post(f"{PARTS}/export", json={"workspace": "acme"})
    assert_problem(foreign, 404)


# --- where-used and audit ---------------------------------------------------------------------


async def test_where_used_of_an_unused_part_is_empty(engineer, viewer):
    part = await create_part(engineer.client, partNumber="WU-1")
    response = await viewer.client.get(f"{PARTS}/{part['id']}/where-used")
    assert response.status_code == 200, response.text
    assert response.json() == []


async def test_create_and_update_are_audited(engineer, manager):
    part = await create_part(engineer.client, partNumber="AU-1", name="Before")
    patched = await engineer.client.patch(f"{PARTS}/{part['id']}", json={"name": "After"})
    assert patched.status_code == 200, patched.text
    response = await manager.client.get("/v1/audit", params={"workspace": "acme", "entity": "part"})
    assert response.status_code == 200, response.text
    events = response.json()["items"]
    assert [(e["action"], e["entityId"]) for e in events] == [
        ("update", part["id"]),
        ("create", part["id"]),
    ]
    update, create = events
    assert update["actor"] == "erin@example.com"
    assert (update["before"]["name"], update["after"]["name"]) == ("Before", "After")
    assert create["before"] is None
    assert create["after"]["partNumber"] == "AU-1"
    assert_problem(
        await engineer.client.get("/v1/audit", params={"workspace": "acme"}),
        403,
        "INSUFFICIENT_ROLE",
    )


async def test_refused_writes_leave_no_audit_rows(engineer, manager, viewer):
    await viewer.client.post(PARTS, json={"workspace": "acme", "partNumber": "N-1", "name": "x"})
    await create_part(engineer.client, partNumber="N-2")
    await engineer.client.post(PARTS, json={"workspace": "acme", "partNumber": "N-2", "name": "x"})
    response = await manager.client.get("/v1/audit", params={"workspace": "acme", "entity": "part"})
    assert [e["after"]["partNumber"] for e in response.json()["items"]] == ["N-2"]


# --- versions: ETag, If-Match, version (no lost update) ---------------------------------------


async def _audited_updates(manager, part_id: str) -> int:
    response = await manager.client.get("/v1/audit", params={"workspace": "acme", "entity": "part"})
    assert response.status_code == 200, response.text
    return sum(1 for e in response.json()["items"] if e["entityId"] == part_id)


async def test_get_answers_the_version_as_a_strong_etag_and_every_write_bumps_it(engineer):
    part = await create_part(engineer.client, partNumber="V-1")
    assert part["version"] == 1
    got = await engineer.client.get(f"{PARTS}/{part['id']}")
    assert (got.headers["etag"], got.json()["version"]) == ('"1"', 1)
    patched = await engineer.client.patch(f"{PARTS}/{part['id']}", json={"name": "Renamed"})
    assert patched.status_code == 200, patched.text
    assert (patched.headers["etag"], patched.json()["version"]) == ('"2"', 2)
    tagged = await _bulk(engineer.client, partIds=[part["id"]], action="apply_tags", tags=["t"])
    assert tagged.json()["versions"] == {part["id"]: 3}
    got = await engineer.client.get(f"{PARTS}/{part['id']}")
    assert (got.headers["etag"], got.json()["version"], got.json()["tags"]) == ('"3"', 3, ["t"])


async def test_a_stale_if_match_is_412_and_writes_nothing(engineer, manager):
    part = await create_part(engineer.client, partNumber="V-2", name="Original")
    first = await engineer.client.patch(
        f"{PARTS}/{part['id']}", json={"name": "Alice's"}, headers={"If-Match": '"1"'}
    )
    assert first.status_code == 200, first.text
    stale = await engineer.client.patch(
        f"{PARTS}/{part['id']}", json={"name": "Bob's"}, headers={"If-Match": '"1"'}
    )
    body = assert_problem(stale, 412, "VERSION_CONFLICT")
    assert (body["currentVersion"], body["currentEtag"]) == (2, '"2"')
    assert stale.headers["etag"] == '"2"'
    after = (await engineer.client.get(f"{PARTS}/{part['id']}")).json()
    assert (after["name"], after["version"]) == ("Alice's", 2)
    assert await _audited_updates(manager, part["id"]) == 2  # create + Alice's update


async def test_a_stale_body_version_is_409_like_the_vault(engineer, manager):
    part = await create_part(engineer.client, partNumber="V-3", unitCost=1)
    ok = await engineer.client.patch(f"{PARTS}/{part['id']}", json={"unitCost": 2, "version": 1})
    assert (ok.status_code, ok.json()["version"]) == (200, 2), ok.text
    stale = await engineer.client.patch(f"{PARTS}/{part['id']}", json={"unitCost": 3, "version": 1})
    body = assert_problem(stale, 409, "VERSION_CONFLICT")
    assert (body["currentVersion"], body["currentEtag"]) == (2, '"2"')
    after = (await engineer.client.get(f"{PARTS}/{part['id']}")).json()
    assert (after["unitCost"], after["version"]) == (2, 2)
    assert await _audited_updates(manager, part["id"]) == 2


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        ('"1"', 200),
        ("1", 200),  # a bare number, as a shell that ate the quotes sends it
        ("*", 200),  # any version of an existing part
        ('"7", "1"', 200),  # a list matches when any of its tags does
        ('W/"1"', 412),  # If-Match compares strongly (RFC 9110 13.1.1): weak tags never match
        ('"2"', 412),
        ('"abc"', 412),
        ("version one", 400),
    ],
)
async def test_if_match_forms(engineer, if_match, status):
    part = await create_part(engineer.client, partNumber="V-4")
    response = await engineer.client.patch(
        f"{PARTS}/{part['id']}", json={"name": "x"}, headers={"If-Match": if_match}
    )
    assert response.status_code == status, response.text
    if status == 400:
        assert_problem(response, 400, "INVALID_IF_MATCH")


async def test_if_match_and_version_must_both_hold(engineer):
    part = await create_part(engineer.client, partNumber="V-5")
    url = f"{PARTS}/{part['id']}"
    both = await engineer.client.patch(url, json={"version": 2}, headers={"If-Match": '"1"'})
    assert_problem(both, 409, "VERSION_CONFLICT")
    assert (await engineer.client.get(url)).json()["version"] == 1


async def test_a_missing_part_is_404_before_any_precondition(engineer):
    response = await engineer.client.patch(
        f"{PARTS}/{uuid.uuid4()}", json={"name": "x"}, headers={"If-Match": '"1"'}
    )
    assert_problem(response, 404, "PART_NOT_FOUND")


@pytest.mark.parametrize("version", [0, -1, "one", 2**40])
async def test_a_malformed_version_is_400(engineer, version):
    part = await create_part(engineer.client, partNumber=f"V-6{version}")
    response = await engineer.client.patch(f"{PARTS}/{part['id']}", json={"version": version})
    assert_problem(response, 400, "VALIDATION_ERROR")


async def test_bulk_with_a_stale_version_refuses_every_part(engineer, manager):
    a = await create_part(engineer.client, partNumber="VB-1")
    b = await create_part(engineer.client, partNumber="VB-2")
    await engineer.client.patch(f"{PARTS}/{b['id']}", json={"name": "moved on"})
    ids = [a["id"], b["id"]]
    refused = await _bulk(
        engineer.client,
        partIds=ids,
        action="apply_tags",
        tags=["x"],
        versions={a["id"]: 1, b["id"]: 1},
    )
    body = assert_problem(refused, 409, "VERSION_CONFLICT")
    assert body["parts"] == [{"id": b["id"], "version": 2}]
    assert await part_numbers(engineer.client, tag="x") == []
    done = await _bulk(
        engineer.client, partIds=ids, action="apply_tags", tags=["x"], versions={b["id"]: 2}
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"updated": 2, "versions": {a["id"]: 2, b["id"]: 3}}


async def test_bulk_versions_of_unselected_parts_are_400(engineer):
    a = await create_part(engineer.client, partNumber="VB-3")
    response = await _bulk(
        engineer.client,
        partIds=[a["id"]],
        action="apply_tags",
        tags=["x"],
        versions={str(uuid.uuid4()): 1},
    )
    assert_problem(response, 400, "INVALID_BULK_ACTION")


async def test_a_parts_import_bumps_the_version_of_the_parts_it_updates(engineer):
    part = await create_part(engineer.client, partNumber="VI-1", name="Before")
    response = await engineer.client.post(
        f"{PARTS}/import",
        data={"workspace": "acme"},
        files={"file": ("parts.csv", b"part_number,name\nVI-1,After\n", "text/csv")},
    )
    assert response.status_code == 200, response.text
    after = (await engineer.client.get(f"{PARTS}/{part['id']}")).json()
    assert (after["name"], after["version"]) == ("After", 2)


@contextlib.contextmanager
def _counted(engine):
    """SQL statements sent to the database while the block runs."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_bulk_versions_are_bumped_set_based(engineer, engine):
    """Not one UPDATE per part: the statement count does not grow with the selection."""
    counts = []
    for size in (3, 30):
        ids = [
            (await create_part(engineer.client, partNumber=f"VS-{size}-{i}"))["id"]
            for i in range(size)
        ]
        versions = dict.fromkeys(ids, 1)
        with _counted(engine) as statements:
            response = await _bulk(
                engineer.client, partIds=ids, action="apply_tags", tags=["s"], versions=versions
            )
        assert response.json()["versions"] == dict.fromkeys(ids, 2), response.text
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
