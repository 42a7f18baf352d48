"""BOMs expand through their sub-assemblies: a line whose part has a BOM of its own (same type)
expands into it in the tree, the cost rollup, every export, the diff and where-used alike
(issue 9, "BOMs expand through their sub-assemblies"), with ``?expand=`` and ``?levels=``; cycles
across BOMs are refused on write; and the reads stay set-based (statement counts)."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from tests.boms.factories import (
    get_tree,
    import_file,
    line,
    make_bom,
    make_part,
    new_id,
    post_items,
    walk,
    write_items,
)
from tests.boms.test_analysis import counted
from tests.boms.test_explode import (
    assert_as_model_of_record,
    explosion,
    reference_rollup,
    rollup,
    structure_of,
)
from tests.boms.test_import_bom import real_file
from tests.conftest import Actor, MakeActor, assert_problem
from tests.vault.helpers import step_like, upload
from threadline.boms.graph import TreeOptions
from threadline.catalog.models import Part

Json = dict[str, Any]


@pytest.fixture
async def mia(make_actor: MakeActor) -> Actor:
    return await make_actor("mia", workspace="acme", role="manager")


async def approve(actor: Actor, bom: Json) -> None:
    for action in ("submit", "approve"):
        response = await actor.client.post(f"/v1/boms/{bom['id']}/{action}")
        assert response.status_code == 200, response.text


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def numbers(nodes: list[Json]) -> list[str]:
    return [node["partNumber"] for node in walk(nodes)]


@pytest.fixture
async def lab_kit(mia: Actor) -> Json:
    """The issue's example: LAB-KIT holds 2 x HACKRF-ONE (whose BOM is the real KiCad export)
    and 1 x CABLE."""
    c = mia.client
    kit, hackrf, cable = (
        await make_part(c, "LAB-KIT"),
        await make_part(c, "HACKRF-ONE", unitCost="300"),
        await make_part(c, "CABLE", unitCost="2"),
    )
    hackrf_bom = await make_bom(c, hackrf["id"])
    path = real_file("hackrf/hackrf-one.bom.csv")
    response = await import_file(c, hackrf_bom["id"], path.name, path.read_bytes())
    assert response.status_code == 200, response.text
    kit_bom = await make_bom(c, kit["id"])
    ids = await write_items(c, kit_bom["id"], [line(hackrf, 2), line(cable, 1, sortIndex=1)])
    return {
        "kit": kit,
        "hackrf": hackrf,
        "cable": cable,
        "kit_bom": kit_bom,
        "hackrf_bom": hackrf_bom,
        "hackrf_line": ids["ids"][0],
    }


async def set_all_costs(sessionmaker: Any, cost: str = "0.5") -> None:
    async with sessionmaker() as session:
        await session.execute(update(Part).values(unit_cost=Decimal(cost), currency="USD"))
        await session.commit()


# --- the tree ---------------------------------------------------------------------------------


async def test_the_tree_shows_the_sub_boms_lines_under_the_line(
    mia: Actor, lab_kit: Json, sessionmaker: Any
) -> None:
    c = mia.client
    kit = await explosion(c, lab_kit["kit_bom"]["id"])
    alone = await explosion(c, lab_kit["hackrf_bom"]["id"])
    hackrf_line, cable_line = kit["items"]
    assert hackrf_line["partNumber"] == "HACKRF-ONE" and hackrf_line["qty"] == 2
    assert hackrf_line["bomId"] == lab_kit["kit_bom"]["id"] and hackrf_line["via"] == []
    assert hackrf_line["subBom"] == {
        "id": lab_kit["hackrf_bom"]["id"],
        "revision": "A",
        "status": "draft",
    }
    assert cable_line["subBom"] is None and cable_line["children"] == []
    # The HackRF's own tree, one level down, each line saying which BOM it belongs to.
    assert numbers(hackrf_line["children"]) == numbers(alone["items"])
    for node, own in zip(walk(hackrf_line["children"]), walk(alone["items"]), strict=True):
        assert node["id"] == own["id"] and node["level"] == own["level"] + 1
        assert node["bomId"] == lab_kit["hackrf_bom"]["id"]
        assert node["via"] == [hackrf_line["id"]]
        assert {k: v for k, v in node.items() if k not in ("level", "via", "children")} == {
            k: v for k, v in own.items() if k not in ("level", "via", "children")
        }
    assert kit["lineCount"] == 2 + alone["lineCount"]
    assert kit["warnings"] == alone["warnings"]  # the KiCad file's refdes warnings, once
    await assert_as_model_of_record(sessionmaker, lab_kit["kit_bom"]["id"], kit)


async def test_a_sub_assembly_used_twice_appears_twice(
    mia: Actor, lab_kit: Json, sessionmaker: Any
) -> None:
    c = mia.client
    await write_items(c, lab_kit["kit_bom"]["id"], [line(lab_kit["hackrf"], 1, sortIndex=5)])
    kit = await explosion(c, lab_kit["kit_bom"]["id"])
    alone = await explosion(c, lab_kit["hackrf_bom"]["id"])
    first, second = (n for n in kit["items"] if n["partNumber"] == "HACKRF-ONE")
    assert numbers(first["children"]) == numbers(second["children"]) == numbers(alone["items"])
    ids = [n["id"] for n in walk(kit["items"])]
    assert len(ids) == kit["lineCount"] == 3 + 2 * alone["lineCount"]
    assert len(set(ids)) < len(ids)  # a sub-BOM's line ids repeat ...
    keys = [(*n["via"], n["id"]) for n in walk(kit["items"])]
    assert len(set(keys)) == len(keys)  # ... (via, id) is unique
    assert kit["warnings"] == alone["warnings"]
    await assert_as_model_of_record(sessionmaker, lab_kit["kit_bom"]["id"], kit)


async def test_levels_limit_the_whole_tree(mia: Actor, lab_kit: Json) -> None:
    c = mia.client
    kit_id = lab_kit["kit_bom"]["id"]
    one = await get_tree(c, kit_id, levels="1")
    assert [n["partNumber"] for n in one["items"]] == ["HACKRF-ONE", "CABLE"]
    assert one["lineCount"] == 2 and all(n["children"] == [] for n in one["items"])
    assert one["items"][0]["subBom"]["id"] == lab_kit["hackrf_bom"]["id"]  # there is more
    two = await get_tree(c, kit_id, levels="2")
    full = await get_tree(c, kit_id)
    assert max(n["level"] for n in walk(two["items"])) == 2
    assert two["lineCount"] == 2 + len(full["items"][0]["children"])
    assert (await get_tree(c, kit_id, levels="99")) == full
    for bad in ("0", "-1", "two", "1.5", ""):
        response = await c.get(f"/v1/boms/{kit_id}", params={"levels": bad})
        assert_problem(response, 400, "VALIDATION_ERROR")
    for bad in ("all", "APPROVED", ""):
        for url in (
            f"/v1/boms/{kit_id}",
            f"/v1/boms/{kit_id}/cost-rollup",
            f"/v1/boms/{kit_id}/diff",
            f"/v1/boms/{kit_id}/export.csv",
            f"/v1/parts/{lab_kit['cable']['id']}/where-used",
        ):
            assert_problem(await c.get(url, params={"expand": bad}), 400, "VALIDATION_ERROR")


async def test_expand_none_is_the_boms_own_lines(mia: Actor, lab_kit: Json) -> None:
    c = mia.client
    kit_id = lab_kit["kit_bom"]["id"]
    tree = await get_tree(c, kit_id, expand="none")
    assert tree["lineCount"] == 2
    assert [(n["partNumber"], n["subBom"], n["children"]) for n in tree["items"]] == [
        ("HACKRF-ONE", None, []),
        ("CABLE", None, []),
    ]
    body = (await c.get(f"/v1/boms/{kit_id}/cost-rollup", params={"expand": "none"})).json()
    assert body["complete"] is True and body["totalCost"] == pytest.approx(2 * 300 + 2)
    flat = csv_rows(await c.get(f"/v1/boms/{kit_id}/export.flat.csv", params={"expand": "none"}))
    assert [r["part_number"] for r in flat] == ["CABLE", "HACKRF-ONE"]


# --- which revision ---------------------------------------------------------------------------


async def test_approved_revision_else_latest_and_expand_latest(mia: Actor) -> None:
    c = mia.client
    top, sub = await make_part(c, "TOP"), await make_part(c, "SUB")
    old, new, newest = [await make_part(c, n) for n in ("OLD", "NEW", "NEWEST")]
    top_bom = await make_bom(c, top["id"])
    await write_items(c, top_bom["id"], [line(sub, 3)])

    def sub_lines(tree: Json) -> list[str]:
        return [n["partNumber"] for n in tree["items"][0]["children"]]

    rev_a = await make_bom(c, sub["id"], revision="A")
    await write_items(c, rev_a["id"], [line(old, 1)])
    rev_b = await make_bom(c, sub["id"], revision="B")
    await write_items(c, rev_b["id"], [line(new, 1)])
    # No approved revision: the latest.
    tree = await get_tree(c, top_bom["id"])
    assert sub_lines(tree) == ["NEW"] and tree["items"][0]["subBom"]["revision"] == "B"
    # An approved revision wins over a newer draft, by default only.
    await approve(mia, rev_a)
    tree = await get_tree(c, top_bom["id"])
    assert sub_lines(tree) == ["OLD"]
    assert tree["items"][0]["subBom"] == {"id": rev_a["id"], "revision": "A", "status": "approved"}
    assert sub_lines(await get_tree(c, top_bom["id"], expand="latest")) == ["NEW"]
    # Of several approved revisions, the newest; a newer draft still only with expand=latest.
    await approve(mia, rev_b)
    rev_c = await make_bom(c, sub["id"], revision="C")
    await write_items(c, rev_c["id"], [line(newest, 1)])
    assert sub_lines(await get_tree(c, top_bom["id"])) == ["NEW"]
    assert sub_lines(await get_tree(c, top_bom["id"], expand="latest")) == ["NEWEST"]

    # Where-used follows the same choice.
    async def paths(part: Json, **params: str) -> list[list[str]]:
        response = await c.get(f"/v1/parts/{part['id']}/where-used", params=params)
        assert response.status_code == 200, response.text
        return [row["path"] for row in response.json()]

    assert await paths(new) == [["TOP", "SUB", "NEW"]]
    assert await paths(newest) == [["SUB", "NEWEST"]]  # revision C is not what TOP shows
    assert await paths(newest, expand="latest") == [["TOP", "SUB", "NEWEST"]]
    assert await paths(new, expand="latest") == [["SUB", "NEW"]]
    assert await paths(old) == [["SUB", "OLD"]]
    assert await paths(new, expand="none") == [["SUB", "NEW"]]


async def test_only_boms_of_the_same_type_expand(mia: Actor) -> None:
    c = mia.client
    top, sub, bolt, jig = [await make_part(c, n) for n in ("TOP", "SUB", "BOLT", "JIG")]
    ebom = await make_bom(c, top["id"])
    await write_items(c, ebom["id"], [line(sub, 1)])
    mbom = await make_bom(c, top["id"], type="mbom")
    await write_items(c, mbom["id"], [line(sub, 1)])
    sub_ebom = await make_bom(c, sub["id"])
    await write_items(c, sub_ebom["id"], [line(bolt, 4)])
    sub_mbom = await make_bom(c, sub["id"], type="mbom")
    await write_items(c, sub_mbom["id"], [line(bolt, 4), line(jig, 1)])
    assert numbers((await get_tree(c, ebom["id"]))["items"]) == ["SUB", "BOLT"]
    assert numbers((await get_tree(c, mbom["id"]))["items"]) == ["SUB", "BOLT", "JIG"]
    used = (await c.get(f"/v1/parts/{jig['id']}/where-used")).json()
    assert [(r["path"], r["bomType"]) for r in used] == [(["TOP", "SUB", "JIG"], "mbom")]


async def test_a_line_with_lines_of_its_own_is_not_expanded(mia: Actor) -> None:
    c = mia.client
    top, sub, bolt, nut = [await make_part(c, n) for n in ("TOP", "SUB", "BOLT", "NUT")]
    sub_bom = await make_bom(c, sub["id"])
    await write_items(c, sub_bom["id"], [line(bolt, 4)])
    top_bom = await make_bom(c, top["id"])
    s = new_id()
    await write_items(c, top_bom["id"], [line(sub, 1, id=s), line(nut, 2, parentItemId=s)])
    tree = await get_tree(c, top_bom["id"])
    assert numbers(tree["items"]) == ["SUB", "NUT"] and tree["items"][0]["subBom"] is None
    used = (await c.get(f"/v1/parts/{bolt['id']}/where-used")).json()
    assert [r["path"] for r in used] == [["SUB", "BOLT"]]


# --- rollup, exports, diff, where-used agree --------------------------------------------------


async def test_rollup_multiplies_through_the_sub_bom(
    mia: Actor, lab_kit: Json, sessionmaker: Any
) -> None:
    c = mia.client
    kit_id, hackrf_id = lab_kit["kit_bom"]["id"], lab_kit["hackrf_bom"]["id"]
    before = await rollup(c, kit_id)
    assert before["totalCost"] > 0 and before["complete"] is False  # only the cable costs
    assert {m["partNumber"] for m in before["missingCost"]} >= {"GRM1555C1H330JA01D"}
    await set_all_costs(sessionmaker)
    kit, alone = await rollup(c, kit_id), await rollup(c, hackrf_id)
    assert kit["complete"] is True and alone["complete"] is True
    assert kit["missingCost"] == []
    assert kit["totalCost"] == pytest.approx(2 * alone["totalCost"] + Decimal("0.5"))
    structure = await structure_of(sessionmaker, kit_id)
    reference = reference_rollup(structure, "USD", {})
    assert kit["totalCost"] == pytest.approx(float(reference["totalCost"]))
    assert len(kit["lines"]) == len(reference["lines"])
    hackrf_line = kit["lines"][0]
    assert hackrf_line["partNumber"] == "HACKRF-ONE" and hackrf_line["extendedCost"] is None
    for row, own in zip(kit["lines"][1:-1], alone["lines"], strict=True):
        assert row["itemId"] == own["itemId"] and row["extendedQty"] == 2 * own["extendedQty"]
        assert row["bomId"] == hackrf_id and row["via"] == [lab_kit["hackrf_line"]]


async def test_exports_hold_the_sub_boms_parts(
    mia: Actor, lab_kit: Json, sessionmaker: Any
) -> None:
    c = mia.client
    await set_all_costs(sessionmaker)
    kit_id, hackrf_id = lab_kit["kit_bom"]["id"], lab_kit["hackrf_bom"]["id"]
    kit_flat = csv_rows(await c.get(f"/v1/boms/{kit_id}/export.flat.csv"))
    own_flat = {
        r["part_number"]: r for r in csv_rows(await c.get(f"/v1/boms/{hackrf_id}/export.flat.csv"))
    }
    by_number = {r["part_number"]: r for r in kit_flat}
    assert set(by_number) == {"HACKRF-ONE", "CABLE", *own_flat}
    assert by_number["HACKRF-ONE"]["kind"] == "assembly"
    for number, own in own_flat.items():
        for column in ("total_qty", "dnp_qty"):
            assert Decimal(by_number[number][column]) == 2 * Decimal(own[column]), number
    tree = await get_tree(c, kit_id)
    hierarchical = csv_rows(await c.get(f"/v1/boms/{kit_id}/export.csv"))
    assert [(int(r["level"]), r["part_number"]) for r in hierarchical] == [
        (n["level"], n["partNumber"]) for n in walk(tree["items"])
    ]
    erp = csv_rows(await c.get(f"/v1/boms/{kit_id}/export.erp.csv"))
    assert len(erp) == tree["lineCount"]
    assert {r["parent_part_number"] for r in erp if r["level"] == "2"} == {"HACKRF-ONE"}
    rollup_total = (await rollup(c, kit_id))["totalCost"]
    flat_total = sum(Decimal(r["extended_cost"]) for r in kit_flat if r["kind"] == "component")
    assert float(flat_total) == pytest.approx(rollup_total)
    xlsx = await c.get(f"/v1/boms/{kit_id}/export.xlsx")
    assert xlsx.status_code == 200
    none = csv_rows(await c.get(f"/v1/boms/{kit_id}/export.csv", params={"expand": "none"}))
    assert [r["part_number"] for r in none] == ["HACKRF-ONE", "CABLE"]
    levels = csv_rows(await c.get(f"/v1/boms/{kit_id}/export.csv", params={"levels": "1"}))
    assert levels == [r for r in none]


async def test_where_used_of_a_hackrf_capacitor_goes_through_lab_kit(
    mia: Actor, lab_kit: Json
) -> None:
    c = mia.client
    tree = await get_tree(c, lab_kit["kit_bom"]["id"])
    capacitor = next(n for n in walk(tree["items"]) if n["partNumber"] == "GRM1555C1H330JA01D")
    used = (await c.get(f"/v1/parts/{capacitor['childPartId']}/where-used")).json()
    assert [r["path"] for r in used] == [["LAB-KIT", "HACKRF-ONE", "GRM1555C1H330JA01D"]]
    (row,) = used
    assert row["bomId"] == lab_kit["hackrf_bom"]["id"] and row["itemId"] == capacitor["id"]
    assert row["topBomId"] == lab_kit["kit_bom"]["id"] and row["level"] == 2
    assert row["files"] == 0
    none = (await c.get(f"/v1/parts/{capacitor['childPartId']}/where-used?expand=none")).json()
    assert [r["path"] for r in none] == [["HACKRF-ONE", "GRM1555C1H330JA01D"]]


async def test_diff_compares_the_expanded_trees(mia: Actor) -> None:
    c = mia.client
    top, sub, x, y = [await make_part(c, n) for n in ("TOP", "SUB", "X", "Y")]
    sub_bom = await make_bom(c, sub["id"])
    await write_items(c, sub_bom["id"], [line(x, 1), line(y, 2)])
    rev_a = await make_bom(c, top["id"], revision="A")
    s = new_id()  # revision A spells SUB out itself, with 3 x Y
    await write_items(
        c, rev_a["id"], [line(sub, 1, id=s), line(x, 1, parentItemId=s), line(y, 3, parentItemId=s)]
    )
    rev_b = await make_bom(c, top["id"], revision="B")  # revision B uses SUB's BOM
    await write_items(c, rev_b["id"], [line(sub, 1)])
    url = f"/v1/boms/{rev_a['id']}/diff"
    body = (await c.get(url, params={"leftRev": "A", "rightRev": "B"})).json()
    assert body["added"] == body["removed"] == []
    assert body["changed"] == [
        {"path": ["SUB", "Y"], "partNumber": "Y", "changes": {"qty": {"from": 3, "to": 2}}}
    ]
    none = (await c.get(url, params={"leftRev": "A", "rightRev": "B", "expand": "none"})).json()
    assert sorted(r["partNumber"] for r in none["removed"]) == ["X", "Y"]
    one = (await c.get(url, params={"leftRev": "A", "rightRev": "B", "levels": "1"})).json()
    assert one["added"] == one["removed"] == one["changed"] == []


# --- line fields: dnp, version, files ---------------------------------------------------------


async def test_dnp_lines_are_shown_but_neither_costed_nor_bought(
    mia: Actor, sessionmaker: Any
) -> None:
    c = mia.client
    top, sub, fitted, spare = [await make_part(c, n) for n in ("TOP", "SUB", "FITTED", "SPARE")]
    sub_bom = await make_bom(c, sub["id"])
    await write_items(
        c,
        sub_bom["id"],
        # The fitted line leaves dnp out: a batch whose rows differ in keys still flags SPARE.
        [line(fitted, 2, refdes="R1 R2"), line(spare, 1, refdes="R3", dnp=True)],
    )
    top_bom = await make_bom(c, top["id"])
    await write_items(c, top_bom["id"], [line(sub, 3)])
    tree = await get_tree(c, top_bom["id"])
    flags = {n["partNumber"]: n["dnp"] for n in walk(tree["items"])}
    assert flags == {"SUB": False, "FITTED": False, "SPARE": True}
    body = await rollup(c, top_bom["id"])
    assert [m["partNumber"] for m in body["missingCost"]] == ["FITTED"]  # SPARE is not missing
    await set_all_costs(sessionmaker, "1")
    body = await rollup(c, top_bom["id"])
    assert body["complete"] is True and body["totalCost"] == 6
    spare_row = next(r for r in body["lines"] if r["partNumber"] == "SPARE")
    assert spare_row["dnp"] is True and spare_row["extendedCost"] is None
    assert spare_row["extendedQty"] == 3
    erp = {
        r["child_part_number"]: r
        for r in csv_rows(await c.get(f"/v1/boms/{top_bom['id']}/export.erp.csv"))
    }
    assert (erp["SPARE"]["dnp"], erp["SPARE"]["qty_per"], erp["SPARE"]["extended_qty"]) == (
        "true",
        "0",
        "0",
    )
    assert erp["SPARE"]["refdes"] == "R3" and erp["FITTED"]["extended_qty"] == "6"
    flat = {
        r["part_number"]: r
        for r in csv_rows(await c.get(f"/v1/boms/{top_bom['id']}/export.flat.csv"))
    }
    assert (flat["SPARE"]["total_qty"], flat["SPARE"]["dnp_qty"]) == ("0", "3")
    assert (flat["FITTED"]["total_qty"], flat["FITTED"]["dnp_qty"]) == ("6", "0")
    hierarchical = {
        r["part_number"]: r for r in csv_rows(await c.get(f"/v1/boms/{top_bom['id']}/export.csv"))
    }
    assert hierarchical["SPARE"]["dnp"] == "true" and hierarchical["SPARE"]["extended_cost"] == ""
    assert hierarchical["FITTED"]["dnp"] == "false"


async def test_lines_carry_their_version(mia: Actor) -> None:
    c = mia.client
    top, bolt = await make_part(c, "TOP"), await make_part(c, "BOLT")
    bom = await make_bom(c, top["id"])
    (item,) = (await write_items(c, bom["id"], [line(bolt, 1)]))["ids"]
    before = (await get_tree(c, bom["id"]))["items"][0]["version"]
    await write_items(c, bom["id"], [{"id": item, "qty": 2}])
    after = (await get_tree(c, bom["id"]))["items"][0]["version"]
    assert isinstance(before, int) and after >= before


async def test_files_count_the_line_revisions_attachments(mia: Actor) -> None:
    c = mia.client
    top, board = await make_part(c, "TOP"), await make_part(c, "BOARD")

    async def revision(part: Json, name: str) -> Json:
        response = await c.post(f"/v1/parts/{part['id']}/versions", json={"revision": name})
        assert response.status_code == 201, response.text
        return response.json()

    async def attach(part: Json, version: Json, name: str) -> None:
        uploaded = await upload(c, name, step_like(name))
        assert uploaded.status_code in (200, 201), uploaded.text
        url = f"/v1/parts/{part['id']}/versions/{version['id']}/files"
        response = await c.post(url, json={"fileId": uploaded.json()["id"]})
        assert response.status_code == 201, response.text

    rev_a = await revision(board, "A")
    await attach(board, rev_a, "board-a.step")
    rev_b = await revision(board, "B")
    for name in ("board-b.step", "board-b.pdf"):
        await attach(board, rev_b, name)
    await attach(top, await revision(top, "A"), "top.step")
    sub_bom = await make_bom(c, board["id"])
    await write_items(c, sub_bom["id"], [line(await make_part(c, "CHIP"), 1)])
    bom = await make_bom(c, top["id"])
    await write_items(
        c, bom["id"], [line(board, 1), line(board, 1, childVersionId=rev_a["id"], sortIndex=1)]
    )
    tree = await get_tree(c, bom["id"])
    current, pinned = tree["items"]
    assert current["files"] == 2  # no approved revision: the newest, B
    assert pinned["files"] == 1  # pinned to A
    assert current["children"][0]["files"] == 0
    used = (await c.get(f"/v1/parts/{board['id']}/where-used")).json()
    assert {r["assemblyPartNumber"]: r["files"] for r in used} == {"TOP": 1}


# --- cycles across BOMs -----------------------------------------------------------------------


async def test_cycles_across_boms_are_refused_in_either_direction(mia: Actor) -> None:
    c = mia.client
    top, sub, bolt = [await make_part(c, n) for n in ("TOP", "SUB", "BOLT")]
    top_bom = await make_bom(c, top["id"])
    await write_items(c, top_bom["id"], [line(sub, 1)])
    sub_bom = await make_bom(c, sub["id"])
    b = new_id()
    await write_items(c, sub_bom["id"], [line(bolt, 1, id=b)])
    # The sub-BOM gains its parent assembly: at the top, nested, in another revision.
    for bom_id, row in (
        (sub_bom["id"], line(top, 1)),
        (sub_bom["id"], line(top, 1, parentItemId=b)),
        ((await make_bom(c, sub["id"], revision="B"))["id"], line(top, 1)),
    ):
        body = assert_problem(await post_items(c, bom_id, [row]), 400, "BOM_CYCLE")
        assert body["path"][0] == body["path"][-1] and {"TOP", "SUB"} <= set(body["path"])
    # The other direction: an assembly gains a part whose BOM already holds it.
    other = await make_part(c, "OTHER")
    other_bom = await make_bom(c, other["id"])
    await write_items(c, other_bom["id"], [line(top, 1)])
    body = assert_problem(await post_items(c, top_bom["id"], [line(other, 1)]), 400, "BOM_CYCLE")
    assert body["path"] in (["TOP", "OTHER", "TOP"], ["OTHER", "TOP", "OTHER"])
    deep = assert_problem(await post_items(c, sub_bom["id"], [line(other, 1)]), 400, "BOM_CYCLE")
    assert set(deep["path"]) == {"SUB", "OTHER", "TOP"}
    # An import is checked the same way.
    content = b"part_number,qty\nTOP,1\n"
    response = await import_file(c, sub_bom["id"], "loop.csv", content)
    assert_problem(response, 400, "BOM_CYCLE")
    assert numbers((await get_tree(c, sub_bom["id"]))["items"]) == ["BOLT"]


# --- set-based: the same statements for 1 and 50 sub-BOMs -------------------------------------


async def _linked(c: Any, name: str, count: int) -> tuple[Json, Json, Json]:
    """TOP-``name`` holding ``count`` sub-assemblies, each with a BOM of two lines (one of them
    a shared leaf); returns (the top BOM, its revision B, the leaf)."""
    leaf = await make_part(c, f"{name}-LEAF", unitCost="1")
    top = await make_part(c, f"{name}-TOP")
    rows = []
    for n in range(count):
        sub = await make_part(c, f"{name}-SUB-{n}")
        sub_bom = await make_bom(c, sub["id"])
        await write_items(
            c, sub_bom["id"], [line(leaf, 2), line(await make_part(c, f"{name}-P{n}"), 1)]
        )
        rows.append(line(sub, 1))
    bom = await make_bom(c, top["id"])
    await write_items(c, bom["id"], rows)
    rev_b = await make_bom(c, top["id"], revision="B")
    await write_items(c, rev_b["id"], [{**rows[0], "qty": 2}, *rows[1:]])
    return bom, rev_b, leaf


async def test_reads_issue_the_same_statements_for_1_and_50_sub_boms(
    mia: Actor, engine: Any
) -> None:
    c = mia.client
    small, _small_b, small_leaf = await _linked(c, "S", 1)
    large, _large_b, large_leaf = await _linked(c, "L", 50)

    def urls(bom: Json, leaf: Json) -> list[str]:
        base = f"/v1/boms/{bom['id']}"
        return [
            base,
            f"{base}?expand=latest&levels=3",
            f"{base}/cost-rollup",
            f"{base}/diff?leftRev=A&rightRev=B",
            f"{base}/export.csv",
            f"{base}/export.erp.csv",
            f"{base}/export.flat.csv",
            f"/v1/parts/{leaf['id']}/where-used",
        ]

    async def count(url: str) -> int:
        with counted(engine) as statements:
            response = await c.get(url)
        assert response.status_code == 200, response.text
        return len(statements)

    for url in urls(small, small_leaf):
        await count(url)
    small_counts = [await count(u) for u in urls(small, small_leaf)]
    large_counts = [await count(u) for u in urls(large, large_leaf)]
    assert all(n > 0 for n in small_counts)
    assert large_counts == small_counts
    tree = await get_tree(c, large["id"])
    assert tree["lineCount"] == 50 * 3
    used = (await c.get(f"/v1/parts/{large_leaf['id']}/where-used")).json()
    assert Counter(len(r["path"]) for r in used) == {3: 100}  # 50 subs x revisions A and B
    assert len({r["bomId"] for r in used}) == 50
    assert (await rollup(c, large["id"]))["totalCost"] == 100


async def test_explode_matches_the_model_of_record_in_every_mode(
    mia: Actor, lab_kit: Json, sessionmaker: Any
) -> None:
    c = mia.client
    kit_id = lab_kit["kit_bom"]["id"]
    for params, options in (
        ("", TreeOptions()),
        ("?expand=latest", TreeOptions(expand="latest")),
        ("?expand=none", TreeOptions(expand="none")),
        ("?levels=2", TreeOptions(levels=2)),
        ("?expand=none&levels=1", TreeOptions(expand="none", levels=1)),
    ):
        body = await explosion(c, f"{kit_id}{params}")
        await assert_as_model_of_record(sessionmaker, kit_id, body, options=options)
    assert uuid.UUID(kit_id)
