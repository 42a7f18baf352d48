"""Demand: orders with inline line items, pieces, state machines, tenancy and bad input."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.exc import IntegrityError

from tests.mes.test_crosscut_events import counted
from threadline.mes.demand import states
from threadline.mes.shop.models import Material

ITEM = {"quantity": 3, "no_model_upload": True, "name": "bracket"}


async def _order(mes, items, **extra):
    return await mes.create("order", {"name": "O-1", "line_items": items, **extra})


async def test_order_with_inline_line_items_makes_pieces(mes):
    uri = await _order(mes, [ITEM, {**ITEM, "quantity": 2, "name": "hinge"}])
    order = await mes.get(uri)
    assert order["status"] == "new"
    assert order["priority"] == 65
    assert order["customer_id"] == order["uuid"][:8]
    assert order["piece_count"] == 5 and len(order["line_items"]) == 2
    pieces = await mes.list("piece", **{"filter[order]": uri, "sort": "name"})
    assert [p["name"] for p in pieces["resources"]] == [
        "bracket 1",
        "bracket 2",
        "bracket 3",
        "hinge 1",
        "hinge 2",
    ]
    assert pieces["resources"][0]["status"] == "new"
    item = await mes.get(order["line_items"][0])
    assert item["type"] == "product" and item["product"] and item["piece_count"] == 3


async def test_one_bad_line_item_writes_nothing(mes):
    bad = [ITEM] * 5 + [{**ITEM, "quantity": -1}]
    response = await mes.client.post("/mes/order/", json={"name": "x", "line_items": bad})
    assert response.status_code == 400
    assert "line_items[5]" in response.json()["detail"]
    assert (await mes.list("order"))["meta"]["count"] == 0
    assert (await mes.list("piece"))["meta"]["count"] == 0


async def test_model_or_no_model_upload(mes):
    response = await mes.client.post(
        "/mes/order/", json={"name": "x", "line_items": [{"quantity": 1}]}
    )
    assert response.status_code == 400
    assert "Either supply a model uri, or set no_model_upload to True" in response.json()["detail"]


async def test_quantity_change_adds_and_removes_pieces(mes):
    order = await mes.get(await _order(mes, [ITEM]))
    item = order["line_items"][0]
    await mes.update(item, {"quantity": 5})
    assert (await mes.get(item))["piece_count"] == 5
    await mes.update(item, {"quantity": 2})
    pieces = await mes.list("piece", **{"filter[line_item]": item})
    assert sorted(p["copy"] for p in pieces["resources"]) == [1, 2]


async def test_cancelling_an_order_cancels_line_items_and_pieces(mes):
    uri = await _order(mes, [ITEM, ITEM])
    await mes.update(uri, {"status": "cancelled"})
    order = await mes.get(uri)
    assert order["status"] == "cancelled"
    for item in order["line_items"]:
        assert (await mes.get(item))["status"] == "cancelled"
    pieces = await mes.list("piece", **{"filter[order]": uri})
    assert {p["status"] for p in pieces["resources"]} == {"cancelled"}


async def test_line_item_without_workflow_cannot_be_confirmed(mes):
    order = await mes.get(await _order(mes, [ITEM]))
    response = await mes.client.put(order["line_items"][0], json={"status": "confirmed"})
    assert response.status_code == 400
    assert response.json()["code"] == "WORKFLOW_REQUIRED"


async def test_refused_edge_from_every_line_item_state(mes):
    """Every state refuses at least one change a user asks for, with the reference text."""
    order = await mes.get(await _order(mes, [ITEM]))
    item = order["line_items"][0]
    response = await mes.client.put(item, json={"status": "complete"})
    assert response.status_code == 400
    assert response.json()["detail"] == "Provided status transformation is not allowed"
    for machine, table in states.MACHINES.items():
        sources = {e.source for e in table}
        for source in sources:
            refused = [
                s
                for s in {e.target for e in table} | sources
                if s != source and s not in states.targets(machine, source, "user")
            ]
            assert refused, (machine, source)


async def test_user_edges_of_line_items(mes):
    order = await mes.get(await _order(mes, [ITEM]))
    item = order["line_items"][0]
    await mes.update(item, {"status": "pending"})
    assert (await mes.get(item))["status"] == "pending"
    assert (await mes.get(order["uri"]))["status"] == "pending"
    await mes.update(item, {"status": "cancelled"})
    assert (await mes.get(order["uri"]))["status"] == "cancelled"
    response = await mes.client.put(item, json={"status": "pending"})
    assert response.status_code == 400


async def test_piece_name_cannot_be_renamed(mes):
    uri = await _order(mes, [ITEM])
    piece = (await mes.list("piece", **{"filter[order]": uri}))["resources"][0]
    response = await mes.client.put(piece["uri"], json={"name": "other"})
    assert response.status_code == 400
    assert response.json()["detail"] == "Auto-generated piece names cannot be renamed."
    await mes.update(piece["uri"], {"priority": 90, "status": "cancelled"})
    assert (await mes.get(piece["uri"]))["status"] == "cancelled"
    assert (await mes.client.post("/mes/piece/", json={})).status_code == 405


async def test_another_bureau_sees_nothing(mes, other_mes):
    uri = await _order(mes, [ITEM])
    assert (await other_mes.client.get(uri)).status_code == 404
    assert (await other_mes.list("piece"))["meta"]["count"] == 0
    item = (await mes.get(uri))["line_items"][0]
    response = await other_mes.client.post(
        "/mes/order/", json={"name": "steal", "line_items": [item]}
    )
    assert response.status_code == 404


async def test_delete_refused_once_confirmed_and_allowed_before(mes):
    uri = await _order(mes, [ITEM])
    await mes.delete(uri)
    assert (await mes.client.get(uri)).status_code == 404
    assert (await mes.list("piece"))["meta"]["count"] == 0


async def test_clone_order_and_line_item(mes):
    uri = await _order(mes, [ITEM])
    response = await mes.client.post(f"{uri}clone/", json={})
    assert response.status_code == 204
    copy = await mes.get(response.headers["location"])
    assert copy["piece_count"] == 3 and copy["uuid"] != uri
    item = copy["line_items"][0]
    response = await mes.client.post(f"{item}clone/", json={"quantity": 4})
    assert response.status_code == 204
    assert (await mes.get(response.headers["location"]))["piece_count"] == 4
    assert (await mes.get(copy["uri"]))["piece_count"] == 7


async def test_line_item_list_defaults_to_products(mes):
    await _order(mes, [ITEM])
    assert (await mes.list("line-item"))["meta"]["count"] == 1
    assert (await mes.list("line-item", **{"filter[type]": "specimen"}))["meta"]["count"] == 0


async def test_order_statements_do_not_grow_with_pieces(mes, engine):
    async def count(n: int, quantity: int) -> int:
        items = [{**ITEM, "quantity": quantity} for _ in range(n)]
        with counted(engine) as statements:
            await _order(mes, items)
        return len(statements)

    await count(1, 1)  # warm up
    assert await count(2, 1) == await count(50, 20)


async def test_what_a_line_item_uses_cannot_vanish_under_it(mes, connection):
    """The rooms refuse to delete a material, model or workflow in use; the foreign keys hold
    that even for a write that skips them (a delete racing the line item's insert)."""
    material = await mes.create("material", {"name": "PA12", "type": "base", "color": "#ffffff"})
    order = await mes.get(
        await _order(mes, [{**ITEM, "additive": {"materials": {"base": material}}}])
    )
    line = await mes.get(order["line_items"][0])
    assert line["additive"]["materials"]["base"] == material
    refused = await mes.client.delete(material)
    assert refused.status_code == 400 and refused.json()["code"] == "MATERIAL_IN_USE"
    table = Material.__table__
    material_id = uuid.UUID(material.rstrip("/").rsplit("/", 1)[1])
    with pytest.raises(IntegrityError):
        async with connection.begin_nested():
            await connection.execute(table.delete().where(table.c.id == material_id))
