"""End-to-end: parts → BOM → nested lines → tree, rollup, where-used, diff, approve, exports."""

from tests.conftest import assert_problem


async def _part(client, pn, **extra):
    body = {"workspace": "acme", "partNumber": pn, "name": pn.title(), **extra}
    response = await client.post("/v1/parts", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_multi_level_flow(make_actor):
    alice = await make_actor("alice", workspace="acme", role="manager")
    c = alice.client
    top = await _part(c, "TOP-1")
    sub = await _part(c, "SUB-1", unitCost="2.5")
    bolt = await _part(c, "BOLT-1", unitCost="0.10", currency="EUR")
    res = await c.post(
        "/v1/parts",
        json={
            "workspace": "acme",
            "name": "Resistor",
            "domain": "electronic",
            "unitCost": 0.01,
            "rohsCompliant": False,
        },
    )
    assert res.status_code == 201, res.text
    resistor = res.json()
    assert resistor["partNumber"].startswith("PN-")

    bom = await c.post(
        "/v1/boms",
        json={"workspace": "acme", "assemblyPartId": top["id"], "type": "ebom", "revision": "A"},
    )
    assert bom.status_code == 201, bom.text
    bom_id = bom.json()["id"]
    sub_line = "018f0000-0000-7000-8000-000000000001"
    r = await c.post(
        f"/v1/boms/{bom_id}/items",
        json={
            "items": [
                {"id": sub_line, "childPartId": sub["id"], "qty": 2},
                {"parentItemId": sub_line, "childPartId": bolt["id"], "qty": 4, "refdes": "B1-B4"},
                {
                    "parentItemId": sub_line,
                    "childPartId": resistor["id"],
                    "qty": 3,
                    "refdes": "R1, R2",
                },
            ]
        },
    )
    assert r.status_code == 200, r.text
    tree = (await c.get(f"/v1/boms/{bom_id}")).json()
    assert tree["lineCount"] == 3
    assert [n["partNumber"] for n in tree["items"]] == ["SUB-1"]
    assert {n["partNumber"] for n in tree["items"][0]["children"]} == {
        "BOLT-1",
        resistor["partNumber"],
    }
    codes = {w["code"] for w in tree["warnings"]}
    assert {"ROHS_NONCOMPLIANT", "REFDES_QTY_MISMATCH"} <= codes

    rollup = (await c.get(f"/v1/boms/{bom_id}/cost-rollup")).json()
    assert rollup["complete"] is False  # EUR has no rate yet
    assert [m["partNumber"] for m in rollup["missingCost"]] == ["BOLT-1"]
    await c.post(
        "/v1/workspaces/acme/bom-settings", json={"currency": "USD", "exchange_rates": {"EUR": 1.1}}
    )
    rollup = (await c.get(f"/v1/boms/{bom_id}/cost-rollup")).json()
    assert rollup["complete"] is True
    assert abs(rollup["totalCost"] - (2 * 4 * 0.10 * 1.1 + 2 * 3 * 0.01)) < 1e-9

    used = (await c.get(f"/v1/parts/{bolt['id']}/where-used")).json()
    assert [u["path"] for u in used] == [["TOP-1", "SUB-1", "BOLT-1"]]

    # cycle: TOP-1 under SUB-1
    r = await c.post(
        f"/v1/boms/{bom_id}/items",
        json={"items": [{"parentItemId": sub_line, "childPartId": top["id"], "qty": 1}]},
    )
    body = assert_problem(r, 400, "BOM_CYCLE")
    assert body["path"][0] == body["path"][-1]

    # submit, approve, freeze
    assert (await c.post(f"/v1/boms/{bom_id}/submit")).json()["status"] == "submitted"
    assert (await c.post(f"/v1/boms/{bom_id}/approve")).json()["status"] == "approved"
    r = await c.post(
        f"/v1/boms/{bom_id}/items", json={"items": [{"childPartId": bolt["id"], "qty": 1}]}
    )
    assert_problem(r, 409, "BOM_FROZEN")

    mbom = await c.post(f"/v1/boms/{bom_id}/derive-mbom", json={"revision": "A"})
    assert mbom.status_code == 201, mbom.text
    assert mbom.json()["sourceBomId"] == bom_id
    m_tree = (await c.get(f"/v1/boms/{mbom.json()['id']}")).json()
    assert m_tree["lineCount"] == 3

    rev_b = await c.post(
        "/v1/boms",
        json={"workspace": "acme", "assemblyPartId": top["id"], "type": "ebom", "revision": "B"},
    )
    b_id = rev_b.json()["id"]
    csv = (await c.get(f"/v1/boms/{bom_id}/export.csv")).content
    files = {"file": ("bom.csv", csv, "text/csv")}
    imp = await c.post("/v1/boms/import", data={"bomId": b_id, "dryRun": "true"}, files=files)
    assert imp.status_code == 200, imp.text
    assert imp.json()["errors"] == []
    imp = await c.post("/v1/boms/import", data={"bomId": b_id}, files=files)
    assert imp.status_code == 200, imp.text
    await c.post(f"/v1/boms/{b_id}/items", json={"items": [{"childPartId": bolt["id"], "qty": 1}]})
    diff = (await c.get(f"/v1/boms/{bom_id}/diff", params={"leftRev": "A", "rightRev": "B"})).json()
    assert [d["path"] for d in diff["added"]] == [["BOLT-1"]]
    assert diff["removed"] == []
    for kind in ("export.xlsx", "export.erp.csv", "export.flat.csv"):
        assert (await c.get(f"/v1/boms/{bom_id}/{kind}")).status_code == 200


async def test_line_attributes_round_trip_in_the_tree(make_actor):
    alice = await make_actor("alice", workspace="acme", role="engineer")
    c = alice.client
    top = await _part(c, "TOP-2")
    screw = await _part(c, "SCREW-2")
    bom = (
        await c.post(
            "/v1/boms",
            json={"workspace": "acme", "assemblyPartId": top["id"], "revision": "A"},
        )
    ).json()
    attributes = {"torque": "5 Nm", "loctite": 243, "nested": {"ok": True}}
    r = await c.post(
        f"/v1/boms/{bom['id']}/items",
        json={"items": [{"childPartId": screw["id"], "qty": 4, "attributes": attributes}]},
    )
    assert r.status_code == 200, r.text
    tree = (await c.get(f"/v1/boms/{bom['id']}")).json()
    assert tree["items"][0]["attributes"] == attributes
    assert tree["items"][0]["effectivity"]["dateFrom"] is None
