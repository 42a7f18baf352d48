"""BOM headers: create, list, the tree endpoint, and the submit / approve / reject flow."""

from tests.boms.factories import (
    create_bom,
    get_tree,
    line,
    make_bom,
    make_part,
    make_parts,
    new_id,
    post_items,
    write_items,
)
from tests.conftest import assert_problem

# --- create -----------------------------------------------------------------------------------


async def test_engineer_creates_a_draft_bom(make_actor):
    alice = await make_actor("alice", workspace="acme", role="engineer")
    top = await make_part(alice.client, "TOP-1")
    response = await create_bom(alice.client, top["id"], revision="A", changeNote="first cut")
    assert response.status_code == 201, response.text
    bom = response.json()
    assert bom["assemblyPartId"] == top["id"]
    assert bom["assemblyPartNumber"] == "TOP-1"
    assert (bom["type"], bom["revision"], bom["status"]) == ("ebom", "A", "draft")
    assert bom["changeNote"] == "first cut"
    assert bom["sourceBomId"] is None


async def test_viewer_cannot_create_and_stranger_sees_nothing(make_actor):
    alice = await make_actor("alice", workspace="acme", role="engineer")
    vera = await make_actor("vera", workspace="acme", role="viewer")
    mallory = await make_actor("mallory", workspace="other", role="owner")
    top = await make_part(alice.client, "TOP-1")
    assert_problem(await create_bom(vera.client, top["id"]), 403)
    assert_problem(await create_bom(mallory.client, top["id"]), 404)


async def test_assembly_of_another_workspace_is_not_found(make_actor):
    alice = await make_actor("alice", workspace="acme", role="engineer")
    bob = await make_actor("bob", workspace="other", role="owner")
    foreign = await make_part(bob.client, "FOREIGN-1", workspace="other")
    response = await create_bom(alice.client, foreign["id"])
    assert_problem(response, 404)


async def test_duplicate_revision_conflicts_but_other_type_or_revision_does_not(make_actor):
    alice = await make_actor("alice", workspace="acme", role="engineer")
    top = await make_part(alice.client, "TOP-1")
    await make_bom(alice.client, top["id"], revision="A")
    body = assert_problem(await create_bom(alice.client, top["id"], revision="A"), 409)
    assert body["code"] == "BOM_REVISION_EXISTS"
    assert "TOP-1" in body["detail"]
    await make_bom(alice.client, top["id"], revision="A", type="mbom")
    await make_bom(alice.client, top["id"], revision="B")


async def test_assembly_version_must_belong_to_the_assembly(make_actor):
    alice = await make_actor("alice", workspace="acme", role="engineer")
    top, other = await make_part(alice.client, "TOP-1"), await make_part(alice.client, "OTHER-1")
    versions = {}
    for part in (top, other):
        r = await alice.client.post(f"/v1/parts/{part['id']}/versions", json={"revision": "1"})
        assert r.status_code == 201, r.text
        versions[part["partNumber"]] = r.json()["id"]
    response = await create_bom(alice.client, top["id"], assemblyVersionId=versions["OTHER-1"])
    assert_problem(response, 404, "VERSION_NOT_FOUND")
    bom = await make_bom(alice.client, top["id"], assemblyVersionId=versions["TOP-1"])
    assert bom["assemblyVersionId"] == versions["TOP-1"]


# --- list -------------------------------------------------------------------------------------


async def test_list_filters_and_pages(make_actor):
    mia = await make_actor("mia", workspace="acme", role="manager")
    c = mia.client
    parts = await make_parts(c, "ASM-1", "ASM-2")
    a1 = await make_bom(c, parts["ASM-1"]["id"], revision="A")
    await make_bom(c, parts["ASM-1"]["id"], revision="A", type="mbom")
    a2 = await make_bom(c, parts["ASM-2"]["id"], revision="A")
    b2 = await make_bom(c, parts["ASM-2"]["id"], revision="B")
    await c.post(f"/v1/boms/{a2['id']}/submit")

    async def ids(**params):
        response = await c.get("/v1/boms", params={"workspace": "acme", **params})
        assert response.status_code == 200, response.text
        return response.json()

    everything = await ids()
    assert everything["total"] == 4
    assert {b["assemblyPartNumber"] for b in everything["items"]} == {"ASM-1", "ASM-2"}
    assert {b["id"] for b in (await ids(type="ebom"))["items"]} == {a1["id"], a2["id"], b2["id"]}
    assert [b["id"] for b in (await ids(status="submitted"))["items"]] == [a2["id"]]
    by_part = await ids(assemblyPartId=parts["ASM-2"]["id"])
    assert {b["id"] for b in by_part["items"]} == {a2["id"], b2["id"]}
    assert {b["id"] for b in (await ids(assemblyPn="ASM-1", type="ebom"))["items"]} == {a1["id"]}
    assert (await ids(assemblyPn="NOPE"))["items"] == []

    first, second = await ids(pageSize=3), await ids(pageSize=3, page=2)
    assert (len(first["items"]), len(second["items"])) == (3, 1)
    assert first["total"] == second["total"] == 4
    assert {b["id"] for b in first["items"]}.isdisjoint({b["id"] for b in second["items"]})

    response = await c.get("/v1/boms", params={"workspace": "acme", "type": "pbom"})
    assert_problem(response, 400)


async def test_list_is_scoped_to_members(make_actor):
    alice = await make_actor("alice", workspace="acme", role="engineer")
    mallory = await make_actor("mallory", workspace="other", role="owner")
    top = await make_part(alice.client, "TOP-1")
    await make_bom(alice.client, top["id"])
    assert_problem(await mallory.client.get("/v1/boms", params={"workspace": "acme"}), 404)
    own = await mallory.client.get("/v1/boms", params={"workspace": "other"})
    assert own.status_code == 200 and own.json()["total"] == 0


# --- tree -------------------------------------------------------------------------------------


async def test_tree_has_header_nested_items_levels_and_warnings(make_actor):
    alice = await make_actor("alice", workspace="acme", role="engineer")
    c = alice.client
    parts = await make_parts(c, "TOP-1", "SUB-1", "BOLT-1")
    resistor = await make_part(c, "RES-1", rohsCompliant=False)
    bom = await make_bom(c, parts["TOP-1"]["id"])
    sub = new_id()
    await write_items(
        c,
        bom["id"],
        [
            line(parts["SUB-1"], 2, id=sub),
            line(parts["BOLT-1"], 4, parentItemId=sub),
            line(resistor, 1, parentItemId=sub),
        ],
    )
    tree = await get_tree(c, bom["id"])
    assert tree["id"] == bom["id"]
    assert tree["assemblyPartNumber"] == "TOP-1"
    assert tree["status"] == "draft"
    assert tree["lineCount"] == 3
    [top_line] = tree["items"]
    assert (top_line["id"], top_line["partNumber"], top_line["level"]) == (sub, "SUB-1", 1)
    assert top_line["qty"] == 2
    children = top_line["children"]
    assert [(n["partNumber"], n["level"], n["qty"]) for n in children] == [
        ("BOLT-1", 2, 4),
        ("RES-1", 2, 1),
    ]
    assert all(n["parentItemId"] == sub and n["children"] == [] for n in children)
    assert [(w["partNumber"], w["code"]) for w in tree["warnings"]] == [
        ("RES-1", "ROHS_NONCOMPLIANT")
    ]
    assert (await get_tree(c, bom["id"], workspace="acme"))["lineCount"] == 3


async def test_tree_of_another_workspace_or_wrong_workspace_param_is_not_found(make_actor):
    alice = await make_actor("alice", workspace="acme", role="engineer")
    mallory = await make_actor("mallory", workspace="other", role="owner")
    top = await make_part(alice.client, "TOP-1")
    bom = await make_bom(alice.client, top["id"])
    response = await alice.client.get(f"/v1/boms/{bom['id']}", params={"workspace": "other"})
    assert_problem(response, 404, "BOM_NOT_FOUND")
    assert_problem(await mallory.client.get(f"/v1/boms/{bom['id']}"), 404, "BOM_NOT_FOUND")
    assert_problem(await alice.client.get(f"/v1/boms/{new_id()}"), 404, "BOM_NOT_FOUND")
    response = await post_items(mallory.client, bom["id"], [line(top, 1)])
    assert_problem(response, 404, "BOM_NOT_FOUND")


# --- approval flow ----------------------------------------------------------------------------


async def test_submit_approve_freezes_the_bom(make_actor):
    eve = await make_actor("eve", workspace="acme", role="engineer")
    mia = await make_actor("mia", workspace="acme", role="manager")
    top, bolt = await make_part(eve.client, "TOP-1"), await make_part(eve.client, "BOLT-1")
    bom = await make_bom(eve.client, top["id"])
    bom_id = bom["id"]
    await write_items(eve.client, bom_id, [line(bolt, 1)])

    assert_problem(
        await mia.client.post(f"/v1/boms/{bom_id}/approve"), 409, "INVALID_STATUS_TRANSITION"
    )
    submitted = await eve.client.post(f"/v1/boms/{bom_id}/submit")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert_problem(
        await eve.client.post(f"/v1/boms/{bom_id}/submit"), 409, "INVALID_STATUS_TRANSITION"
    )
    response = await post_items(eve.client, bom_id, [line(bolt, 2)])
    assert_problem(response, 409, "BOM_NOT_EDITABLE")
    assert_problem(await eve.client.post(f"/v1/boms/{bom_id}/approve"), 403, "INSUFFICIENT_ROLE")

    approved = await mia.client.post(f"/v1/boms/{bom_id}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    response = await post_items(mia.client, bom_id, [line(bolt, 2)])
    assert_problem(response, 409, "BOM_FROZEN")
    assert_problem(
        await mia.client.post(f"/v1/boms/{bom_id}/reject"), 409, "INVALID_STATUS_TRANSITION"
    )
    assert_problem(
        await eve.client.post(f"/v1/boms/{bom_id}/submit"), 409, "INVALID_STATUS_TRANSITION"
    )
    assert (await get_tree(eve.client, bom_id))["lineCount"] == 1


async def test_rejected_bom_is_editable_and_can_be_resubmitted(make_actor):
    eve = await make_actor("eve", workspace="acme", role="engineer")
    mia = await make_actor("mia", workspace="acme", role="manager")
    vera = await make_actor("vera", workspace="acme", role="viewer")
    top, bolt = await make_part(eve.client, "TOP-1"), await make_part(eve.client, "BOLT-1")
    bom_id = (await make_bom(eve.client, top["id"]))["id"]
    assert_problem(await vera.client.post(f"/v1/boms/{bom_id}/submit"), 403)
    await eve.client.post(f"/v1/boms/{bom_id}/submit")
    assert_problem(await eve.client.post(f"/v1/boms/{bom_id}/reject", json={"reason": "no"}), 403)
    rejected = await mia.client.post(f"/v1/boms/{bom_id}/reject", json={"reason": "add a bolt"})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["rejectReason"]) == (
        "rejected",
        "add a bolt",
    )

    await write_items(eve.client, bom_id, [line(bolt, 1)])
    resubmitted = await eve.client.post(f"/v1/boms/{bom_id}/submit")
    assert resubmitted.status_code == 200, resubmitted.text
    assert resubmitted.json()["status"] == "submitted"
    assert resubmitted.json()["rejectReason"] is None
    approved = await mia.client.post(f"/v1/boms/{bom_id}/approve")
    assert approved.json()["status"] == "approved"
    assert (await get_tree(vera.client, bom_id))["lineCount"] == 1
