"""Bulk line writes, structural checks (nesting, cross-BOM cycles), alternates, effectivity and
the warnings shown with a tree."""

import pytest

from tests.boms.factories import (
    get_tree,
    line,
    make_bom,
    make_part,
    make_parts,
    new_id,
    post_items,
    shape,
    walk,
    write_items,
)
from tests.conftest import assert_problem


@pytest.fixture
async def alice(make_actor):
    return await make_actor("alice", workspace="acme", role="engineer")


@pytest.fixture
async def mia(make_actor, alice):
    return await make_actor("mia", workspace="acme", role="manager")


async def _bom(client, *numbers):
    """Parts ``numbers`` and an empty BOM of a fresh TOP-1."""
    parts = await make_parts(client, "TOP-1", *numbers)
    return parts, await make_bom(client, parts["TOP-1"]["id"])


# --- create, update, delete -------------------------------------------------------------------


async def test_batch_nests_under_client_ids_even_when_parents_come_last(alice):
    c = alice.client
    parts, bom = await _bom(c, "SUB-1", "SUB-2", "BOLT-1", "NUT-1")
    sub, inner = new_id(), new_id()
    result = await write_items(
        c,
        bom["id"],
        [
            line(parts["NUT-1"], 3, parentItemId=inner, refdes=None, notes="torque 2Nm"),
            line(parts["SUB-2"], 1, id=inner, parentItemId=sub),
            line(parts["BOLT-1"], 4, parentItemId=sub, uom="pcs"),
            line(parts["SUB-1"], 2, id=sub),
        ],
    )
    assert (result["created"], result["updated"], result["deleted"]) == (4, 0, 0)
    # one id per written line, in the request's order (not the order lines were inserted)
    assert len(result["ids"]) == 4 and result["ids"][1::2] == [inner, sub]
    tree_ids = {n["id"]: n for n in walk((await get_tree(c, bom["id"]))["items"])}
    assert [tree_ids[i]["partNumber"] for i in result["ids"]] == [
        "NUT-1",
        "SUB-2",
        "BOLT-1",
        "SUB-1",
    ]
    tree = await get_tree(c, bom["id"])
    assert shape(tree["items"]) == [
        (
            "SUB-1",
            2,
            "each",
            [("BOLT-1", 4, "pcs", []), ("SUB-2", 1, "each", [("NUT-1", 3, "each", [])])],
        )
    ]
    nut = next(n for n in walk(tree["items"]) if n["partNumber"] == "NUT-1")
    assert (nut["level"], nut["parentItemId"], nut["notes"]) == (3, inner, "torque 2Nm")


async def test_update_changes_only_given_fields_and_can_move_a_line(alice):
    c = alice.client
    parts, bom = await _bom(c, "SUB-1", "SUB-2", "BOLT-1")
    sub1, sub2, bolt = new_id(), new_id(), new_id()
    await write_items(
        c,
        bom["id"],
        [
            line(parts["SUB-1"], 1, id=sub1),
            line(parts["SUB-2"], 1, id=sub2),
            line(parts["BOLT-1"], 4, id=bolt, parentItemId=sub1, refdes="B1-B4", notes="M3"),
        ],
    )
    result = await write_items(c, bom["id"], [{"id": bolt, "qty": 6, "parentItemId": sub2}])
    assert (result["created"], result["updated"]) == (0, 1)
    tree = await get_tree(c, bom["id"])
    by_id = {n["id"]: n for n in walk(tree["items"])}
    assert by_id[sub1]["children"] == []
    moved = by_id[bolt]
    assert (moved["parentItemId"], moved["level"], moved["qty"]) == (sub2, 2, 6)
    assert (moved["refdes"], moved["notes"], moved["uom"]) == ("B1-B4", "M3", "each")

    await write_items(c, bom["id"], [{"id": bolt, "parentItemId": None, "notes": None}])
    by_id = {n["id"]: n for n in walk((await get_tree(c, bom["id"]))["items"])}
    assert (by_id[bolt]["level"], by_id[bolt]["notes"], by_id[bolt]["qty"]) == (1, None, 6)


async def test_delete_removes_the_subtree(alice):
    c = alice.client
    parts, bom = await _bom(c, "SUB-1", "BOLT-1", "NUT-1")
    sub, bolt = new_id(), new_id()
    await write_items(
        c,
        bom["id"],
        [
            line(parts["SUB-1"], 1, id=sub),
            line(parts["BOLT-1"], 1, id=bolt, parentItemId=sub),
            line(parts["NUT-1"], 1, parentItemId=bolt),
            line(parts["NUT-1"], 2),
        ],
    )
    result = await write_items(c, bom["id"], [{"id": sub, "_op": "delete"}])
    assert result["deleted"] == 3
    tree = await get_tree(c, bom["id"])
    assert shape(tree["items"]) == [("NUT-1", 2, "each", [])]
    assert tree["lineCount"] == 1


async def test_unknown_or_foreign_item_ids_are_not_found(alice):
    c = alice.client
    parts, bom = await _bom(c, "BOLT-1", "OTHER-1")
    other_bom = await make_bom(c, parts["OTHER-1"]["id"])
    foreign = new_id()
    await write_items(c, other_bom["id"], [line(parts["BOLT-1"], 1, id=foreign)])

    response = await post_items(c, bom["id"], [{"id": new_id(), "_op": "delete"}])
    assert_problem(response, 404, "ITEM_NOT_FOUND")
    response = await post_items(c, bom["id"], [{"id": foreign, "_op": "delete"}])
    assert_problem(response, 404, "ITEM_NOT_FOUND")
    # a line of another BOM cannot be taken over by reusing its id
    response = await post_items(c, bom["id"], [line(parts["BOLT-1"], 5, id=foreign)])
    assert_problem(response, 404, "ITEM_NOT_FOUND")
    response = await post_items(c, bom["id"], [line(parts["BOLT-1"], 1, parentItemId=foreign)])
    assert_problem(response, 404, "PARENT_ITEM_NOT_FOUND")
    other = await get_tree(c, other_bom["id"])
    assert [(n["id"], n["qty"]) for n in other["items"]] == [(foreign, 1)]
    assert (await get_tree(c, bom["id"]))["lineCount"] == 0


async def test_a_line_cannot_be_nested_under_itself(alice):
    c = alice.client
    parts, bom = await _bom(c, "SUB-1", "SUB-2")
    a, b = new_id(), new_id()
    await write_items(
        c, bom["id"], [line(parts["SUB-1"], 1, id=a), line(parts["SUB-2"], 1, id=b, parentItemId=a)]
    )
    response = await post_items(c, bom["id"], [{"id": a, "parentItemId": b}])
    assert_problem(response, 400, "ITEM_NESTING_CYCLE")
    response = await post_items(c, bom["id"], [{"id": a, "parentItemId": a}])
    assert_problem(response, 400, "ITEM_NESTING_CYCLE")
    assert shape((await get_tree(c, bom["id"]))["items"]) == [
        ("SUB-1", 1, "each", [("SUB-2", 1, "each", [])])
    ]


async def test_part_of_another_workspace_is_not_found(alice, make_actor):
    bob = await make_actor("bob", workspace="other", role="owner")
    foreign = await make_part(bob.client, "FOREIGN-1", workspace="other")
    _parts, bom = await _bom(alice.client)
    response = await post_items(alice.client, bom["id"], [line(foreign, 1)])
    assert_problem(response, 404, "PART_NOT_FOUND")
    response = await post_items(alice.client, bom["id"], [{"childPartId": new_id(), "qty": 1}])
    assert_problem(response, 404, "PART_NOT_FOUND")


@pytest.mark.parametrize("qty", [0, -1, 1e12, "lots"])
async def test_quantity_must_be_positive_and_bounded(alice, qty):
    parts, bom = await _bom(alice.client, "BOLT-1")
    response = await post_items(alice.client, bom["id"], [line(parts["BOLT-1"], qty)])
    body = assert_problem(response, 400, "VALIDATION_ERROR")
    assert any("qty" in e["loc"] for e in body["errors"])


async def test_new_line_needs_part_and_qty(alice):
    parts, bom = await _bom(alice.client, "BOLT-1")
    response = await post_items(alice.client, bom["id"], [{"childPartId": parts["BOLT-1"]["id"]}])
    assert_problem(response, 400, "ITEM_INCOMPLETE")


async def test_one_bad_row_writes_nothing(alice):
    c = alice.client
    parts, bom = await _bom(c, "SUB-1", "BOLT-1")
    sub = new_id()
    await write_items(c, bom["id"], [line(parts["SUB-1"], 1, id=sub)])
    before = await get_tree(c, bom["id"])
    bad_batches = [
        [{"id": sub, "qty": 9}, line(parts["BOLT-1"], 1), {"id": new_id(), "_op": "delete"}],
        [{"id": sub, "_op": "delete"}, line(parts["BOLT-1"], 1, parentItemId=new_id())],
        [line(parts["BOLT-1"], 2, parentItemId=sub), {"childPartId": new_id(), "qty": 1}],
        [line(parts["BOLT-1"], 2), line(parts["TOP-1"], 1)],  # the assembly inside itself
    ]
    for batch in bad_batches:
        response = await post_items(c, bom["id"], batch)
        assert 400 <= response.status_code < 500, response.text
        assert await get_tree(c, bom["id"]) == before


# --- cycles across BOMs -----------------------------------------------------------------------


async def test_cycle_through_other_boms_is_refused_with_its_path(alice):
    c = alice.client
    parts = await make_parts(c, "A-1", "B-1", "C-1", "D-1", "E-1")
    bom_a = await make_bom(c, parts["A-1"]["id"])
    bom_b = await make_bom(c, parts["B-1"]["id"])
    bom_c = await make_bom(c, parts["C-1"]["id"])
    await write_items(c, bom_a["id"], [line(parts["B-1"], 1)])
    await write_items(c, bom_b["id"], [line(parts["C-1"], 1)])
    holder = new_id()
    await write_items(c, bom_c["id"], [line(parts["D-1"], 1, id=holder)])

    cases = [
        (line(parts["A-1"], 1), ["A-1", "B-1", "C-1"]),
        (line(parts["A-1"], 1, parentItemId=holder), ["A-1", "B-1", "C-1", "D-1"]),
    ]
    for row, expected in cases:
        body = assert_problem(await post_items(c, bom_c["id"], [row]), 400, "BOM_CYCLE")
        path = body["path"]
        assert path[0] == path[-1], path
        cycle = path[:-1]
        start = cycle.index("A-1")
        assert cycle[start:] + cycle[:start] == expected
    assert shape((await get_tree(c, bom_c["id"]))["items"]) == [("D-1", 1, "each", [])]
    # a part that is not an ancestor is fine anywhere
    await write_items(c, bom_c["id"], [line(parts["E-1"], 1, parentItemId=holder)])


async def test_assembly_cannot_contain_itself(alice):
    c = alice.client
    parts, bom = await _bom(c, "SUB-1")
    sub = new_id()
    await write_items(c, bom["id"], [line(parts["SUB-1"], 1, id=sub)])
    body = assert_problem(
        await post_items(c, bom["id"], [line(parts["TOP-1"], 1)]), 400, "BOM_CYCLE"
    )
    assert body["path"] == ["TOP-1", "TOP-1"]
    response = await post_items(c, bom["id"], [line(parts["SUB-1"], 1, parentItemId=sub)])
    assert_problem(response, 400, "BOM_CYCLE")
    response = await post_items(c, bom["id"], [line(parts["TOP-1"], 1, parentItemId=sub)])
    assert_problem(response, 400, "BOM_CYCLE")
    assert (await get_tree(c, bom["id"]))["lineCount"] == 1


# --- alternates -------------------------------------------------------------------------------


async def test_alternates_proposed_by_engineers_decided_by_managers(alice, mia):
    c = alice.client
    parts, bom = await _bom(c, "RES-1", "RES-2", "RES-3", "RES-4")
    item = new_id()
    await write_items(c, bom["id"], [line(parts["RES-1"], 1, id=item)])
    url = f"/v1/boms/{bom['id']}/items/{item}/alternates"

    proposed = await c.post(
        url, json={"alternates": [{"partId": parts["RES-2"]["id"], "rationale": "same spec"}]}
    )
    assert proposed.status_code == 200, proposed.text
    assert [(a["partNumber"], a["approval"]) for a in proposed.json()] == [("RES-2", "pending")]

    grab = {"partId": parts["RES-2"]["id"], "approval": "approved", "rationale": "mine"}
    assert_problem(await c.post(url, json={"alternates": [grab]}), 403, "INSUFFICIENT_ROLE")

    decided = await mia.client.post(
        url,
        json={
            "alternates": [
                {"partId": parts["RES-2"]["id"], "approval": "approved", "rationale": "tested"},
                {"partId": parts["RES-3"]["id"], "approval": "conditional", "rationale": "<85C"},
                {"partId": parts["RES-4"]["id"], "approval": "rejected", "rationale": "drift"},
            ]
        },
    )
    assert decided.status_code == 200, decided.text
    tree = await get_tree(c, bom["id"])
    assert [
        (a["partNumber"], a["approval"], a["rationale"]) for a in tree["items"][0]["alternates"]
    ] == [
        ("RES-2", "approved", "tested"),
        ("RES-3", "conditional", "<85C"),
        ("RES-4", "rejected", "drift"),
    ]

    itself = {"alternates": [{"partId": parts["RES-1"]["id"]}]}
    assert_problem(await c.post(url, json=itself), 400, "INVALID_ALTERNATE")
    unknown = {"alternates": [{"partId": new_id()}]}
    assert_problem(await c.post(url, json=unknown), 404, "PART_NOT_FOUND")
    response = await c.post(f"/v1/boms/{bom['id']}/items/{new_id()}/alternates", json=itself)
    assert_problem(response, 404, "ITEM_NOT_FOUND")
    # refused requests changed nothing
    assert len((await get_tree(c, bom["id"]))["items"][0]["alternates"]) == 3


# --- effectivity ------------------------------------------------------------------------------


async def test_effectivity_round_trips_and_contradictions_are_refused(alice):
    c = alice.client
    parts, bom = await _bom(c, "BOLT-1")
    effectivity = {
        "dateFrom": "2025-01-01",
        "dateTo": "2025-06-30",
        "serialFrom": 100,
        "serialTo": 199,
        "lotFrom": "L9",
        "lotTo": "L10",
    }
    await write_items(c, bom["id"], [line(parts["BOLT-1"], 1, effectivity=effectivity)])
    assert (await get_tree(c, bom["id"]))["items"][0]["effectivity"] == effectivity

    for bad in (
        {"date_from": "2025-07-01", "date_to": "2025-01-01"},
        {"serialFrom": 10, "serialTo": 9},
        {"lotFrom": "L10", "lotTo": "L9"},
    ):
        response = await post_items(c, bom["id"], [line(parts["BOLT-1"], 1, effectivity=bad)])
        assert_problem(response, 400, "EFFECTIVITY_INVALID")
    assert (await get_tree(c, bom["id"]))["lineCount"] == 1


async def test_validate_reports_overlaps_with_same_part_under_same_parent(alice):
    c = alice.client
    parts, bom = await _bom(c, "SUB-1", "BOLT-1")
    sub, dated, serial, lots = new_id(), new_id(), new_id(), new_id()
    await write_items(
        c,
        bom["id"],
        [
            line(parts["SUB-1"], 1, id=sub),
            line(
                parts["BOLT-1"],
                1,
                id=dated,
                parentItemId=sub,
                effectivity={"dateFrom": "2025-01-01", "dateTo": "2025-06-30"},
            ),
            line(
                parts["BOLT-1"],
                1,
                id=serial,
                parentItemId=sub,
                effectivity={
                    "dateFrom": "2026-01-01",
                    "dateTo": "2026-12-31",
                    "serialFrom": 1,
                    "serialTo": 100,
                },
            ),
            line(
                parts["BOLT-1"],
                1,
                id=lots,
                parentItemId=sub,
                effectivity={"dateFrom": "2027-01-01", "lotFrom": "L2", "lotTo": "L10"},
            ),
            line(parts["BOLT-1"], 1),  # top level: another parent, never compared
        ],
    )
    url = f"/v1/boms/{bom['id']}/effectivity/validate"

    async def conflicts(**body):
        response = await c.post(url, json=body)
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["valid"] is (not report["conflicts"])
        return report["conflicts"]

    found = await conflicts(
        effectivity={"date_from": "2025-06-01", "date_to": "2025-12-31"},
        partId=parts["BOLT-1"]["id"],
        parentItemId=sub,
    )
    assert [x["itemId"] for x in found] == [dated]
    assert found[0]["partNumber"] == "BOLT-1" and "overlap" in found[0]["reason"]
    found = await conflicts(
        effectivity={"dateFrom": "2025-07-01", "dateTo": "2025-12-31"},
        partId=parts["BOLT-1"]["id"],
        parentItemId=sub,
    )
    assert found == []

    found = await conflicts(
        effectivity={"dateFrom": "2026-02-01", "dateTo": "2026-02-28", "serialFrom": 100},
        partId=parts["BOLT-1"]["id"],
        parentItemId=sub,
    )
    assert [x["itemId"] for x in found] == [serial]
    found = await conflicts(
        effectivity={"dateFrom": "2026-02-01", "dateTo": "2026-02-28", "serial_from": 101},
        partId=parts["BOLT-1"]["id"],
        parentItemId=sub,
    )
    assert found == []

    # lots compare naturally: L9 lies within L2..L10, L11 does not
    found = await conflicts(
        effectivity={"dateFrom": "2027-03-01", "lotFrom": "L9", "lotTo": "L9"},
        partId=parts["BOLT-1"]["id"],
        parentItemId=sub,
    )
    assert [x["itemId"] for x in found] == [lots]
    found = await conflicts(
        effectivity={"dateFrom": "2027-03-01", "lotFrom": "L11", "lot_to": "L20"},
        partId=parts["BOLT-1"]["id"],
        parentItemId=sub,
    )
    assert found == []

    # an existing line is compared with its siblings, not with itself
    found = await conflicts(
        effectivity={"dateFrom": "2025-02-01", "dateTo": "2025-03-01"}, itemId=dated
    )
    assert found == []
    found = await conflicts(effectivity={"dateFrom": "2026-06-01"}, itemId=dated)
    assert {x["itemId"] for x in found} == {serial, lots}

    found = await conflicts(
        effectivity={
            "dateFrom": "2030-02-01",
            "dateTo": "2030-01-01",
            "lotFrom": "L10",
            "lotTo": "L9",
        },
        itemId=dated,
    )
    reasons = [x["reason"] for x in found]
    assert any(r.startswith("date range") for r in reasons)
    assert any(r.startswith("lot range") for r in reasons)

    response = await c.post(url, json={"effectivity": {}, "itemId": new_id()})
    assert_problem(response, 404, "ITEM_NOT_FOUND")


# --- warnings ---------------------------------------------------------------------------------


async def test_compliance_and_refdes_warnings_appear_in_the_tree(alice):
    c = alice.client
    parts, bom = await _bom(c, "CLEAN-1", "RES-1")
    rohs = await make_part(c, "ROHS-1", rohsCompliant=False, reachCompliant=True)
    reach = await make_part(c, "REACH-1", reachCompliant=False)
    tin = await make_part(c, "TIN-1", conflictMinerals="contains tin from DRC smelters")
    free = await make_part(c, "FREE-1", conflictMinerals="conflict-free", rohsCompliant=True)
    await write_items(
        c,
        bom["id"],
        [
            line(rohs, 1),
            line(reach, 1),
            line(tin, 1),
            line(free, 1),
            line(parts["RES-1"], 3, refdes="R1-R4"),
            line(parts["CLEAN-1"], 4, refdes="C1-C3, C7"),
        ],
    )
    tree = await get_tree(c, bom["id"])
    warnings = sorted((w["partNumber"], w["code"]) for w in tree["warnings"])
    assert warnings == [
        ("REACH-1", "REACH_NONCOMPLIANT"),
        ("RES-1", "REFDES_QTY_MISMATCH"),
        ("ROHS-1", "ROHS_NONCOMPLIANT"),
        ("TIN-1", "CONFLICT_MINERALS"),
    ]
    by_number = {n["partNumber"]: n["id"] for n in walk(tree["items"])}
    assert all(w["itemId"] == by_number[w["partNumber"]] and w["message"] for w in tree["warnings"])
    mismatch = next(w for w in tree["warnings"] if w["code"] == "REFDES_QTY_MISMATCH")
    assert "4" in mismatch["message"] and "3" in mismatch["message"]


async def test_child_version_must_belong_to_the_line_part(alice):
    c = alice.client
    parts, bom = await _bom(c, "BOLT-1", "NUT-1")
    versions = {}
    for number in ("BOLT-1", "NUT-1"):
        r = await c.post(f"/v1/parts/{parts[number]['id']}/versions", json={"revision": "2"})
        assert r.status_code == 201, r.text
        versions[number] = r.json()["id"]
    bolt = new_id()
    await write_items(
        c, bom["id"], [line(parts["BOLT-1"], 1, id=bolt, childVersionId=versions["BOLT-1"])]
    )
    assert (await get_tree(c, bom["id"]))["items"][0]["childVersionId"] == versions["BOLT-1"]
    wrong = line(parts["BOLT-1"], 1, childVersionId=versions["NUT-1"])
    assert_problem(await post_items(c, bom["id"], [wrong]), 404, "VERSION_NOT_FOUND")
    # an update that names only the version is checked against the line's part too
    response = await post_items(c, bom["id"], [{"id": bolt, "childVersionId": versions["NUT-1"]}])
    assert_problem(response, 404, "VERSION_NOT_FOUND")
    assert (await get_tree(c, bom["id"]))["items"][0]["childVersionId"] == versions["BOLT-1"]


# --- one line: GET / PATCH with versions (no lost update) -------------------------------------


async def _one_line(client, qty=2, **fields):
    """A BOM of TOP-1 with one line of BOLT-1 (plus spare parts NUT-1, SUB-1); its line id."""
    parts, bom = await _bom(client, "BOLT-1", "NUT-1", "SUB-1")
    result = await write_items(client, bom["id"], [line(parts["BOLT-1"], qty, **fields)])
    assert result["versions"] == [1]
    return parts, bom, result["ids"][0]


def _url(bom, item_id):
    return f"/v1/boms/{bom['id']}/items/{item_id}"


async def test_get_a_line_with_its_version_as_etag(alice, make_actor):
    parts, bom, item = await _one_line(alice.client, 2, refdes="R1", notes="n")
    response = await alice.client.get(_url(bom, item))
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"1"'
    body = response.json()
    assert (body["id"], body["bomId"], body["childPartNumber"], body["qty"]) == (
        item,
        bom["id"],
        "BOLT-1",
        2,
    )
    assert (body["refdes"], body["notes"], body["dnp"], body["version"]) == ("R1", "n", False, 1)
    assert body["alternates"] == [] and body["effectivity"]["dateFrom"] is None
    stranger = await make_actor("mallory", workspace="globex", role="owner")
    assert_problem(await stranger.client.get(_url(bom, item)), 404, "BOM_NOT_FOUND")
    other = await make_bom(alice.client, parts["SUB-1"]["id"])
    assert_problem(await alice.client.get(_url(other, item)), 404, "ITEM_NOT_FOUND")


async def test_patch_a_line_bumps_its_version_and_shows_in_the_tree(alice):
    _parts, bom, item = await _one_line(alice.client)
    response = await alice.client.patch(
        _url(bom, item),
        json={"qty": 5, "refdes": "R1-R5", "sortIndex": 3, "dnp": True, "attributes": {"a": 1}},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    body = response.json()
    assert (body["qty"], body["refdes"], body["sortIndex"], body["dnp"], body["version"]) == (
        5,
        "R1-R5",
        3,
        True,
        2,
    )
    assert body["attributes"] == {"a": 1} and body["uom"] == "each"
    [node] = (await get_tree(alice.client, bom["id"]))["items"]
    assert (node["qty"], node["refdes"]) == (5, "R1-R5")
    again = await alice.client.patch(_url(bom, item), json={"notes": "checked"})
    assert (again.status_code, again.json()["version"], again.json()["qty"]) == (200, 3, 5)


async def test_a_stale_line_write_is_412_or_409_and_writes_nothing(alice, mia):
    _parts, bom, item = await _one_line(alice.client)
    assert (await alice.client.patch(_url(bom, item), json={"qty": 3})).status_code == 200
    audit_before = (
        await mia.client.get("/v1/audit", params={"workspace": "acme", "entity": "bom"})
    ).json()["total"]
    stale = await alice.client.patch(_url(bom, item), json={"qty": 9}, headers={"If-Match": '"1"'})
    body = assert_problem(stale, 412, "VERSION_CONFLICT")
    assert (body["currentVersion"], stale.headers["etag"]) == (2, '"2"')
    stale = await alice.client.patch(_url(bom, item), json={"qty": 9, "version": 1})
    assert assert_problem(stale, 409, "VERSION_CONFLICT")["currentVersion"] == 2
    after = (await alice.client.get(_url(bom, item))).json()
    assert (after["qty"], after["version"]) == (3, 2)
    audit_after = (
        await mia.client.get("/v1/audit", params={"workspace": "acme", "entity": "bom"})
    ).json()["total"]
    assert audit_after == audit_before


async def test_patch_uses_the_batch_rules(alice):
    parts, bom, item = await _one_line(alice.client)
    url = _url(bom, item)
    assert_problem(await alice.client.patch(url, json={"qty": 0}), 400, "VALIDATION_ERROR")
    assert_problem(
        await alice.client.patch(
            url, json={"effectivity": {"dateFrom": "2027-01-01", "dateTo": "2026-01-01"}}
        ),
        400,
        "EFFECTIVITY_INVALID",
    )
    assert_problem(
        await alice.client.patch(url, json={"parentItemId": item}), 400, "ITEM_NESTING_CYCLE"
    )
    assert_problem(
        await alice.client.patch(url, json={"childPartId": parts["TOP-1"]["id"]}), 400, "BOM_CYCLE"
    )
    assert_problem(
        await alice.client.patch(url, json={"childPartId": new_id()}), 404, "PART_NOT_FOUND"
    )
    assert_problem(await alice.client.patch(url, json={"id": new_id()}), 400, "VALIDATION_ERROR")
    moved = await alice.client.patch(url, json={"childPartId": parts["NUT-1"]["id"]})
    assert (moved.json()["childPartNumber"], moved.json()["version"]) == ("NUT-1", 2)
    assert_problem(
        await alice.client.patch(_url(bom, new_id()), json={"qty": 1}), 404, "ITEM_NOT_FOUND"
    )


async def test_patch_of_a_frozen_bom_is_409_and_a_viewer_403(alice, mia, make_actor):
    _parts, bom, item = await _one_line(alice.client)
    vera = await make_actor("vera", workspace="acme", role="viewer")
    assert_problem(await vera.client.patch(_url(bom, item), json={"qty": 1}), 403)
    assert (await alice.client.post(f"/v1/boms/{bom['id']}/submit")).status_code == 200
    assert (await mia.client.post(f"/v1/boms/{bom['id']}/approve")).status_code == 200
    response = await mia.client.patch(_url(bom, item), json={"qty": 1}, headers={"If-Match": "1"})
    assert_problem(response, 409, "BOM_FROZEN")


async def test_batch_rows_with_a_stale_version_refuse_the_whole_batch(alice):
    parts, bom = await _bom(alice.client, "A-1", "B-1", "C-1")
    first = await write_items(
        alice.client, bom["id"], [line(parts["A-1"], 1), line(parts["B-1"], 1)]
    )
    a, b = first["ids"]
    await write_items(alice.client, bom["id"], [{"id": b, "qty": 2}])  # b moves on to 2
    response = await post_items(
        alice.client,
        bom["id"],
        [
            {"id": a, "qty": 7, "version": 1},
            {"id": b, "qty": 7, "version": 1},
            line(parts["C-1"], 1),
        ],
    )
    body = assert_problem(response, 409, "VERSION_CONFLICT")
    assert body["items"] == [{"id": b, "version": 2}]
    tree = await get_tree(alice.client, bom["id"])
    assert sorted((n["partNumber"], n["qty"]) for n in tree["items"]) == [("A-1", 1), ("B-1", 2)]
    done = await write_items(
        alice.client,
        bom["id"],
        [{"id": b, "qty": 7, "version": 2}, {"id": a, "notes": "blind"}, line(parts["C-1"], 1)],
    )
    assert (done["ids"][:2], done["versions"]) == ([b, a], [3, 2, 1])


async def test_a_versioned_delete_or_a_gone_line_is_a_conflict(alice):
    parts, bom = await _bom(alice.client, "A-1", "B-1")
    a, b = (
        await write_items(alice.client, bom["id"], [line(parts["A-1"], 1), line(parts["B-1"], 1)])
    )["ids"]
    await write_items(alice.client, bom["id"], [{"id": a, "qty": 3}])
    stale_delete = await post_items(
        alice.client, bom["id"], [{"id": a, "_op": "delete", "version": 1}]
    )
    assert assert_problem(stale_delete, 409, "VERSION_CONFLICT")["items"] == [
        {"id": a, "version": 2}
    ]
    await write_items(alice.client, bom["id"], [{"id": b, "_op": "delete", "version": 1}])
    gone = await post_items(alice.client, bom["id"], [{"id": b, "qty": 2, "version": 1}])
    assert assert_problem(gone, 409, "VERSION_CONFLICT")["items"] == [{"id": b, "version": None}]
    headless = await post_items(alice.client, bom["id"], [line(parts["B-1"], 1, version=1)])
    assert_problem(headless, 400, "ITEM_INCOMPLETE")


async def test_alternates_are_part_of_the_line_and_bump_its_version(alice):
    parts, bom, item = await _one_line(alice.client)
    alt = {"alternates": [{"partId": parts["NUT-1"]["id"]}]}
    url = f"{_url(bom, item)}/alternates"
    response = await alice.client.post(url, json=alt, headers={"If-Match": '"1"'})
    assert (response.status_code, response.headers["etag"]) == (200, '"2"'), response.text
    line_now = (await alice.client.get(_url(bom, item))).json()
    assert (line_now["version"], [a["partNumber"] for a in line_now["alternates"]]) == (
        2,
        ["NUT-1"],
    )
    assert_problem(
        await alice.client.post(url, json={**alt, "version": 1}), 409, "VERSION_CONFLICT"
    )
    assert_problem(
        await alice.client.post(url, json={"alternates": []}, headers={"If-Match": '"1"'}),
        412,
        "VERSION_CONFLICT",
    )


async def test_derived_mbom_lines_start_at_version_1(alice):
    _parts, bom, item = await _one_line(alice.client)
    await alice.client.patch(_url(bom, item), json={"qty": 4})
    derived = await alice.client.post(f"/v1/boms/{bom['id']}/derive-mbom", json={"revision": "M1"})
    assert derived.status_code == 201, derived.text
    [node] = (await get_tree(alice.client, derived.json()["id"]))["items"]
    copy = (await alice.client.get(f"/v1/boms/{derived.json()['id']}/items/{node['id']}")).json()
    assert (copy["qty"], copy["version"]) == (4, 1)
