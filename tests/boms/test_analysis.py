"""What is computed from BOM trees: cost rollup, where-used, revision diff, MBOM derivation — and
that the hot read endpoints issue a constant number of SQL statements however big the tree."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.boms.factories import (
    get_tree,
    line,
    make_bom,
    make_part,
    make_parts,
    new_id,
    shape,
    walk,
    write_items,
)
from tests.conftest import assert_problem


@pytest.fixture
async def mia(make_actor):
    return await make_actor("mia", workspace="acme", role="manager")


# --- cost rollup ------------------------------------------------------------------------------


async def test_rollup_extends_quantities_costs_leaves_and_lists_missing(mia, make_actor):
    c = mia.client
    top = await make_part(c, "TOP-1")
    sub1 = await make_part(c, "SUB-1", unitCost="100")  # has children: must not count
    sub2 = await make_part(c, "SUB-2")
    bolt = await make_part(c, "BOLT-1", unitCost="0.10", currency="EUR")
    nut = await make_part(c, "NUT-1", unitCost="0.05", currency="USD")
    screw = await make_part(c, "SCREW-1", unitCost="0.01")
    washer = await make_part(c, "WASHER-1", unitCost="0.02", currency="USD")
    glue = await make_part(c, "GLUE-1")
    label = await make_part(c, "LABEL-1", unitCost="1.00", currency="GBP")
    bom = await make_bom(c, top["id"])
    s1, s2 = new_id(), new_id()
    await write_items(
        c,
        bom["id"],
        [
            line(sub1, 2, id=s1),
            line(bolt, 4, parentItemId=s1),
            line(nut, 3, parentItemId=s1),
            line(sub2, 2, id=s2, parentItemId=s1),
            line(screw, 5, parentItemId=s2),
            line(washer, 10),
            line(glue, 1),
            line(label, 1),
        ],
    )
    url = f"/v1/boms/{bom['id']}/cost-rollup"

    rollup = (await c.get(url)).json()
    assert rollup["currency"] == "USD"
    extended = {r["partNumber"]: r["extendedQty"] for r in rollup["lines"]}
    assert extended == {
        "SUB-1": 2,
        "BOLT-1": 8,
        "NUT-1": 6,
        "SUB-2": 4,
        "SCREW-1": 20,
        "WASHER-1": 10,
        "GLUE-1": 1,
        "LABEL-1": 1,
    }
    costs = {r["partNumber"]: r["extendedCost"] for r in rollup["lines"]}
    assert costs["SUB-1"] is None and costs["SUB-2"] is None
    assert costs["NUT-1"] == pytest.approx(0.30)
    assert rollup["complete"] is False
    assert sorted(m["partNumber"] for m in rollup["missingCost"]) == ["BOLT-1", "GLUE-1", "LABEL-1"]
    assert all(m["extendedCost"] is None for m in rollup["missingCost"])  # never a silent zero
    assert rollup["totalCost"] == pytest.approx(6 * 0.05 + 20 * 0.01 + 10 * 0.02)

    engineer = await make_actor("eve", workspace="acme", role="engineer")
    rates = {"currency": "USD", "exchange_rates": {"EUR": 1.1}}
    response = await engineer.client.post("/v1/workspaces/acme/bom-settings", json=rates)
    assert_problem(response, 403)
    response = await c.post("/v1/workspaces/acme/bom-settings", json=rates)
    assert response.status_code == 200, response.text

    rollup = (await c.get(url, params={"workspace": "acme"})).json()
    assert sorted(m["partNumber"] for m in rollup["missingCost"]) == ["GLUE-1", "LABEL-1"]
    assert rollup["complete"] is False
    bolt_row = next(r for r in rollup["lines"] if r["partNumber"] == "BOLT-1")
    assert bolt_row["extendedCost"] == pytest.approx(8 * 0.10 * 1.1)
    assert (bolt_row["unitCost"], bolt_row["currency"]) == (pytest.approx(0.10), "EUR")
    assert rollup["totalCost"] == pytest.approx(0.88 + 0.30 + 0.20 + 0.20)

    response = await c.patch(f"/v1/parts/{glue['id']}", json={"unitCost": "2"})
    assert response.status_code == 200, response.text
    rates["exchange_rates"]["GBP"] = 1.25
    await c.post("/v1/workspaces/acme/bom-settings", json=rates)
    rollup = (await c.get(url)).json()
    assert (rollup["complete"], rollup["missingCost"]) == (True, [])
    assert rollup["totalCost"] == pytest.approx(0.88 + 0.30 + 0.20 + 0.20 + 2 + 1.25)


async def test_rollup_in_another_base_currency(mia):
    c = mia.client
    parts = await make_parts(c, "TOP-1")
    usd = await make_part(c, "USD-1", unitCost="11", currency="USD")
    eur = await make_part(c, "EUR-1", unitCost="3", currency="EUR")
    bom = await make_bom(c, parts["TOP-1"]["id"])
    await write_items(c, bom["id"], [line(usd, 1), line(eur, 2)])
    settings = {"currency": "EUR", "exchange_rates": {"USD": "0.9"}}
    assert (await c.post("/v1/workspaces/acme/bom-settings", json=settings)).status_code == 200
    rollup = (await c.get(f"/v1/boms/{bom['id']}/cost-rollup")).json()
    assert (rollup["currency"], rollup["complete"]) == ("EUR", True)
    assert rollup["totalCost"] == pytest.approx(11 * 0.9 + 2 * 3)


# --- where-used -------------------------------------------------------------------------------


async def test_where_used_walks_levels_and_boms(mia, make_actor):
    c = mia.client
    parts = await make_parts(c, "TOP-A", "TOP-B", "MID-1", "SUB-1", "HOLDER-1", "LEAF-1", "IDLE-1")
    sub_bom = await make_bom(c, parts["SUB-1"]["id"])
    holder, direct, nested = new_id(), new_id(), new_id()
    await write_items(
        c,
        sub_bom["id"],
        [
            line(parts["LEAF-1"], 2, id=direct),
            line(parts["HOLDER-1"], 1, id=holder),
            line(parts["LEAF-1"], 3, id=nested, parentItemId=holder),
        ],
    )
    top_a = await make_bom(c, parts["TOP-A"]["id"])
    await write_items(c, top_a["id"], [line(parts["SUB-1"], 1)])
    top_b = await make_bom(c, parts["TOP-B"]["id"])
    mid = new_id()
    await write_items(
        c,
        top_b["id"],
        [line(parts["MID-1"], 1, id=mid), line(parts["SUB-1"], 2, parentItemId=mid)],
    )

    response = await c.get(f"/v1/parts/{parts['LEAF-1']['id']}/where-used")
    assert response.status_code == 200, response.text
    rows = response.json()
    assert [r["path"] for r in rows] == [
        ["TOP-A", "SUB-1", "HOLDER-1", "LEAF-1"],
        ["TOP-A", "SUB-1", "LEAF-1"],
        ["TOP-B", "MID-1", "SUB-1", "HOLDER-1", "LEAF-1"],
        ["TOP-B", "MID-1", "SUB-1", "LEAF-1"],
    ]
    assert [(r["itemId"], r["qty"], r["level"]) for r in rows] == [
        (nested, 3, 3),
        (direct, 2, 2),
        (nested, 3, 4),
        (direct, 2, 3),
    ]
    assert {r["bomId"] for r in rows} == {sub_bom["id"]}
    assert {r["assemblyPartNumber"] for r in rows} == {"SUB-1"}
    assert [r["topBomId"] for r in rows] == [top_a["id"]] * 2 + [top_b["id"]] * 2
    assert [r["topAssemblyPartNumber"] for r in rows] == ["TOP-A"] * 2 + ["TOP-B"] * 2

    # the sub-assembly itself is used once per top
    sub_rows = (await c.get(f"/v1/parts/{parts['SUB-1']['id']}/where-used")).json()
    assert [r["path"] for r in sub_rows] == [["TOP-A", "SUB-1"], ["TOP-B", "MID-1", "SUB-1"]]
    assert (await c.get(f"/v1/parts/{parts['IDLE-1']['id']}/where-used")).json() == []

    stranger = await make_actor("mallory", workspace="other", role="owner")
    response = await stranger.client.get(f"/v1/parts/{parts['LEAF-1']['id']}/where-used")
    assert_problem(response, 404)


# --- diff -------------------------------------------------------------------------------------


async def test_diff_between_revisions_at_every_level(mia):
    c = mia.client
    parts = await make_parts(
        c, "TOP-1", "SUB-1", "BOLT-1", "NUT-1", "WASHER-1", "ALT-1", "GLUE-1", "OLD-1", "NEW-1"
    )
    p = parts

    async def build(revision, *, bolt, washer_alternates, glue_from, extra):
        bom = await make_bom(c, p["TOP-1"]["id"], revision=revision)
        sub, washer = new_id(), new_id()
        await write_items(
            c,
            bom["id"],
            [
                line(p["SUB-1"], 2, id=sub),
                line(p["BOLT-1"], parentItemId=sub, **bolt),
                line(p["NUT-1"], 4, parentItemId=sub),
                line(p["WASHER-1"], 1, id=washer, parentItemId=sub),
                line(p["GLUE-1"], 1, effectivity={"dateFrom": glue_from}),
                *extra(sub),
            ],
        )
        alternates = [{"partId": p["ALT-1"]["id"]}] if washer_alternates else []
        url = f"/v1/boms/{bom['id']}/items/{washer}/alternates"
        assert (await c.post(url, json={"alternates": alternates})).status_code == 200
        return bom

    rev_a = await build(
        "A",
        bolt={"qty": 4, "refdes": "B1-B4", "notes": "M3"},
        washer_alternates=True,
        glue_from="2025-01-01",
        extra=lambda sub: [line(p["OLD-1"], 1)],
    )
    rev_b = await build(
        "B",
        bolt={"qty": 6, "uom": "pcs", "refdes": "B1-B6", "notes": "M4"},
        washer_alternates=False,
        glue_from="2026-01-01",
        extra=lambda sub: [line(p["NEW-1"], 3, parentItemId=sub)],
    )

    response = await c.get(f"/v1/boms/{rev_a['id']}/diff", params={"leftRev": "A", "rightRev": "B"})
    assert response.status_code == 200, response.text
    diff = response.json()
    assert (diff["left"]["id"], diff["right"]["id"]) == (rev_a["id"], rev_b["id"])
    assert [(d["path"], d["qty"]) for d in diff["added"]] == [(["SUB-1", "NEW-1"], 3)]
    assert [d["path"] for d in diff["removed"]] == [["OLD-1"]]
    changed = {tuple(d["path"]): d["changes"] for d in diff["changed"]}
    assert set(changed) == {("GLUE-1",), ("SUB-1", "BOLT-1"), ("SUB-1", "WASHER-1")}
    bolt = changed[("SUB-1", "BOLT-1")]
    assert set(bolt) == {"qty", "uom", "refdes", "notes"}
    assert bolt["qty"] == {"from": 4, "to": 6}
    assert bolt["uom"] == {"from": "each", "to": "pcs"}
    assert bolt["notes"] == {"from": "M3", "to": "M4"}
    assert set(changed[("SUB-1", "WASHER-1")]) == {"alternates"}
    assert changed[("SUB-1", "WASHER-1")]["alternates"]["to"] == []
    glue = changed[("GLUE-1",)]
    assert set(glue) == {"effectivity"}
    assert glue["effectivity"]["from"]["dateFrom"] == "2025-01-01"
    assert glue["effectivity"]["to"]["dateFrom"] == "2026-01-01"

    # the same revision on both sides: nothing differs; from B's side the roles swap
    same = (await c.get(f"/v1/boms/{rev_b['id']}/diff")).json()
    assert (same["added"], same["removed"], same["changed"]) == ([], [], [])
    back = (
        await c.get(f"/v1/boms/{rev_b['id']}/diff", params={"leftRev": "B", "rightRev": "A"})
    ).json()
    assert [d["path"] for d in back["added"]] == [["OLD-1"]]

    response = await c.get(f"/v1/boms/{rev_a['id']}/diff", params={"leftRev": "Z", "rightRev": "B"})
    assert_problem(response, 404, "BOM_NOT_FOUND")


# --- derive MBOM ------------------------------------------------------------------------------


async def test_derive_mbom_copies_lines_and_links_its_source(mia, make_actor):
    c = mia.client
    parts = await make_parts(c, "TOP-1", "SUB-1", "BOLT-1", "ALT-1")
    ebom = await make_bom(c, parts["TOP-1"]["id"])
    sub, bolt = new_id(), new_id()
    await write_items(
        c,
        ebom["id"],
        [
            line(parts["SUB-1"], 2, id=sub),
            line(
                parts["BOLT-1"],
                4,
                id=bolt,
                parentItemId=sub,
                refdes="B1-B4",
                effectivity={"serialFrom": 10},
            ),
        ],
    )
    alternate = {"partId": parts["ALT-1"]["id"], "approval": "approved", "rationale": "ok"}
    url = f"/v1/boms/{ebom['id']}/items/{bolt}/alternates"
    assert (await c.post(url, json={"alternates": [alternate]})).status_code == 200

    response = await c.post(f"/v1/boms/{ebom['id']}/derive-mbom", json={"revision": "M1"})
    assert response.status_code == 201, response.text
    mbom = response.json()
    assert (mbom["type"], mbom["revision"], mbom["status"]) == ("mbom", "M1", "draft")
    assert (mbom["sourceBomId"], mbom["assemblyPartId"]) == (ebom["id"], parts["TOP-1"]["id"])

    source, copy = await get_tree(c, ebom["id"]), await get_tree(c, mbom["id"])
    assert shape(copy["items"]) == shape(source["items"])
    assert copy["lineCount"] == source["lineCount"] == 2
    copied = {n["partNumber"]: n for n in walk(copy["items"])}
    assert copied["BOLT-1"]["refdes"] == "B1-B4"
    assert copied["BOLT-1"]["effectivity"]["serialFrom"] == 10
    assert [(a["partNumber"], a["approval"]) for a in copied["BOLT-1"]["alternates"]] == [
        ("ALT-1", "approved")
    ]
    assert {n["id"] for n in walk(copy["items"])}.isdisjoint({sub, bolt})

    response = await c.post(f"/v1/boms/{mbom['id']}/derive-mbom", json={"revision": "M2"})
    assert_problem(response, 400, "NOT_AN_EBOM")
    response = await c.post(f"/v1/boms/{ebom['id']}/derive-mbom", json={"revision": "M1"})
    assert_problem(response, 409, "BOM_REVISION_EXISTS")
    viewer = await make_actor("vera", workspace="acme", role="viewer")
    response = await viewer.client.post(
        f"/v1/boms/{ebom['id']}/derive-mbom", json={"revision": "M3"}
    )
    assert_problem(response, 403)


# --- statement counts -------------------------------------------------------------------------


@contextmanager
def counted(engine) -> Iterator[list[str]]:
    """SQL statements sent to the database while the block runs."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def _tree(c, name: str, *, depth: int, width: int) -> tuple[dict, dict]:
    """A BOM of assembly ``name`` ``depth`` levels deep with ``width`` lines per level, used
    again by a second top assembly; returns (the BOM, the part at the bottom)."""
    levels = [await make_part(c, f"{name}-L{d}", unitCost="1.5") for d in range(depth)]
    leaf = levels[-1]
    assembly = await make_part(c, name)
    bom = await make_bom(c, assembly["id"])
    rows, parent = [], None
    for part in levels:
        ids = [new_id() for _ in range(width)]
        rows += [line(part, 2, id=i, parentItemId=parent) for i in ids]
        parent = ids[0]
    await write_items(c, bom["id"], rows)
    user = await make_part(c, f"{name}-USER")
    await write_items(c, (await make_bom(c, user["id"]))["id"], [line(assembly, 1)])
    return bom, leaf


async def test_hot_reads_issue_a_constant_number_of_statements(mia, engine):
    c = mia.client
    small, small_leaf = await _tree(c, "SMALL", depth=2, width=2)
    large, large_leaf = await _tree(c, "LARGE", depth=12, width=5)

    def urls(bom, leaf):
        return [
            f"/v1/boms/{bom['id']}",
            f"/v1/boms/{bom['id']}/cost-rollup",
            f"/v1/parts/{leaf['id']}/where-used",
        ]

    async def count(url: str) -> int:
        with counted(engine) as statements:
            response = await c.get(url)
        assert response.status_code == 200, response.text
        assert response.json()
        return len(statements)

    for url in urls(small, small_leaf):  # warm up anything done once per token or process
        await count(url)
    small_counts = [await count(u) for u in urls(small, small_leaf)]
    large_counts = [await count(u) for u in urls(large, large_leaf)]
    assert all(n > 0 for n in small_counts)
    assert large_counts == small_counts

    big = await get_tree(c, large["id"])
    assert big["lineCount"] == 60 and max(n["level"] for n in walk(big["items"])) == 12
    assert (await get_tree(c, small["id"]))["lineCount"] == 4
    used = (await c.get(f"/v1/parts/{large_leaf['id']}/where-used")).json()
    assert len(used) == 5 and all(len(r["path"]) == 14 for r in used)
