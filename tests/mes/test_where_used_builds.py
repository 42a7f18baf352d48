"""Where-used meets the MES: ``GET /v1/parts/{id}/where-used?include=builds`` adds the open line
items that build the part or any assembly on its paths up, with their pieces counted; without
``include`` the answer stays the list of lines. A fixed number of statements for any depth."""

from __future__ import annotations

from typing import Any

from tests.boms.factories import make_bom, write_items
from tests.catalog.test_attachments import make_part, make_revision
from tests.conftest import assert_problem
from tests.mes.conftest import Mes
from tests.mes.floor import Shop, make_shop
from tests.mes.test_crosscut_events import counted


def _id(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[1]


async def _where_used(mes: Mes, part: dict[str, Any], **params: str) -> Any:
    response = await mes.client.get(f"/v1/parts/{part['id']}/where-used", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def _approve(mes: Mes, bom: dict[str, Any]) -> None:
    for action in ("submit", "approve"):
        response = await mes.client.post(f"/v1/boms/{bom['id']}/{action}")
        assert response.status_code == 200, response.text


async def _build(
    shop: Shop, part: dict[str, Any], revision: dict[str, Any], quantity: int = 1, **item: Any
) -> dict[str, Any]:
    """A confirmed order of ``quantity`` pieces of the part's revision."""
    return await shop.order(
        quantity=quantity,
        part_version=f"/v1/parts/{part['id']}/versions/{revision['id']}",
        **item,
    )


async def _chain(mes: Mes, prefix: str, depth: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``depth + 1`` parts, each (but the last) one line of the BOM of the next, each with a
    revision A; (part, revision) from the leaf up."""
    chain = []
    for level in range(depth + 1):
        part = await make_part(mes.actor, f"{prefix}-{level}")
        chain.append((part, await make_revision(mes.actor, part, "A")))
        if level:
            bom = await make_bom(mes.client, part["id"])
            await write_items(
                mes.client, bom["id"], [{"childPartId": chain[-2][0]["id"], "qty": 2}]
            )
            await _approve(mes, bom)
    return chain


async def test_where_used_lists_the_open_builds_of_the_part_and_its_assemblies(
    mes: Mes, other_mes: Mes
) -> None:
    shop = await make_shop(mes)
    (cap, cap_a), (board, board_a), (radio, radio_a) = await _chain(mes, "CAP", 2)
    # An assembly spelling a sub-assembly out inline: HARNESS's line has CAP under it.
    kit = await make_part(mes.actor, "KIT")
    harness = await make_part(mes.actor, "HARNESS")
    harness_a = await make_revision(mes.actor, harness, "A")
    kit_bom = await make_bom(mes.client, kit["id"])
    outer = "11111111-1111-4111-8111-111111111111"
    await write_items(
        mes.client,
        kit_bom["id"],
        [
            {"id": outer, "childPartId": harness["id"], "qty": 1},
            {"parentItemId": outer, "childPartId": cap["id"], "qty": 4},
        ],
    )
    idle = await make_part(mes.actor, "IDLE")
    idle_a = await make_revision(mes.actor, idle, "A")

    direct = await _build(shop, cap, cap_a, quantity=2)
    boards = await _build(shop, board, board_a, quantity=3)
    await mes.update(boards["pieces"][0], {"status": "cancelled"})
    inline = await _build(shop, harness, harness_a, confirm=False)
    done = await _build(shop, radio, radio_a)
    for step in shop.steps:
        machine = {"printer": shop.printer} if step == shop.steps[0] else {}
        if step == shop.steps[1]:
            machine = {"post_processor": shop.post_processor}
        run = await shop.run(done["by_step"][step], **machine)
        await shop.status(run, "in-progress")
        await shop.status(run, "complete")
    assert (await mes.get(done["line_item"]))["status"] == "complete"
    cancelled = await _build(shop, radio, radio_a)
    await mes.update(cancelled["uri"], {"status": "cancelled"})
    open_radio = await _build(shop, radio, radio_a, confirm=False)
    await _build(shop, idle, idle_a)

    lines = await _where_used(mes, cap)
    assert isinstance(lines, list)  # without include, the answer is unchanged
    answer = await _where_used(mes, cap, include="builds")
    assert answer["lines"] == lines
    assert sorted(line["path"][0] for line in lines) == ["CAP-2", "KIT"]
    builds = answer["builds"]
    assert [(b["partNumber"], b["direct"]) for b in builds] == [
        ("CAP-0", True),
        ("CAP-1", False),
        ("CAP-2", False),  # once: its complete and its cancelled line items are not open
        ("HARNESS", False),
    ]
    by_number = {b["partNumber"]: b for b in builds}
    cap_build = by_number["CAP-0"]
    assert cap_build["lineItemId"] == _id(direct["line_item"])
    assert cap_build["orderId"] == _id(direct["uri"]) and cap_build["orderName"] == "O"
    assert cap_build["orderStatus"] == "confirmed" and cap_build["status"] == "confirmed"
    assert cap_build["quantity"] == 2 and cap_build["revision"] == "A"
    assert cap_build["versionId"] == cap_a["id"] and cap_build["partId"] == cap["id"]
    assert cap_build["openPieces"] == 2 and cap_build["pieces"] == {"confirmed": 2}
    assert by_number["CAP-1"]["openPieces"] == 2
    assert by_number["CAP-1"]["pieces"] == {"cancelled": 1, "confirmed": 2}
    assert by_number["HARNESS"]["status"] == "new"
    assert by_number["HARNESS"]["lineItemId"] == _id(inline["line_item"])
    assert by_number["HARNESS"]["pieces"] == {"new": 1}
    assert by_number["CAP-2"]["lineItemId"] == _id(open_radio["line_item"])

    # With expand=none the paths stay inside each BOM: CAP-2 is no longer reached, but CAP-1
    # (the BOM holding CAP's line) still is.
    flat = await _where_used(mes, cap, include="builds", expand="none")
    assert {b["partNumber"] for b in flat["builds"]} == {"CAP-0", "CAP-1", "HARNESS"}
    # A part nothing uses still lists its own builds; a part without builds lists none.
    assert (await _where_used(mes, idle, include="builds"))["lines"] == []
    assert [
        b["partNumber"] for b in (await _where_used(mes, idle, include="builds"))["builds"]
    ] == ["IDLE"]
    board_builds = (await _where_used(mes, board, include="builds"))["builds"]
    assert [(b["partNumber"], b["direct"]) for b in board_builds] == [
        ("CAP-1", True),
        ("CAP-2", False),
    ]
    assert await _where_used(mes, kit, include="builds") == {"lines": [], "builds": []}
    radio_builds = (await _where_used(mes, radio, include="builds"))["builds"]
    assert [(b["partNumber"], b["direct"]) for b in radio_builds] == [("CAP-2", True)]

    response = await mes.client.get(
        f"/v1/parts/{cap['id']}/where-used", params={"include": "pieces"}
    )
    assert_problem(response, 400, "VALIDATION_ERROR")
    stranger = await other_mes.client.get(
        f"/v1/parts/{cap['id']}/where-used", params={"include": "builds"}
    )
    assert stranger.status_code == 404


async def test_where_used_with_builds_is_a_fixed_number_of_statements(
    mes: Mes, engine: Any
) -> None:
    shop = await make_shop(mes)
    shallow = await _chain(mes, "S", 1)
    deep = await _chain(mes, "D", 5)
    await _build(shop, *shallow[1])
    for part, revision in deep:
        await _build(shop, part, revision, quantity=3)
    counts, answers = [], []
    for chain in (shallow, deep):
        with counted(engine) as statements:
            answers.append(await _where_used(mes, chain[0][0], include="builds"))
        counts.append(len(statements))
    assert [len(a["builds"]) for a in answers] == [1, 6]
    assert [len(a["lines"]) for a in answers] == [1, 1]
    assert answers[1]["lines"][0]["level"] == 5
    assert counts[0] == counts[1], counts
