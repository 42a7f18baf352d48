"""``/custom_field/`` definitions (managers write, everyone reads) and the check of
``custom_field_values`` on the resources that carry them (here: manufacturers)."""

from __future__ import annotations

from typing import Any

from tests.conftest import assert_problem
from tests.mes.conftest import Mes

MANAGER_ONLY = "Create, edit and delete custom field can only bureau manager."


async def define(mes: Mes, field_id: str, type_: str, **extra: Any) -> str:
    body = {
        "field_id": field_id,
        "field_name": field_id.replace("_", " ").title(),
        "related_table_name": "manufacturer",
        "type": type_,
        **extra,
    }
    return await mes.create("custom_field", body)


async def maker(mes: Mes, values: list[dict[str, Any]] | None = None, name: str = "EOS") -> Any:
    body: dict[str, Any] = {"name": name}
    if values is not None:
        body["custom_field_values"] = values
    return await mes.client.post("/mes/manufacturer/", json=body)


async def test_definition_defaults_and_computed_fields(mes: Mes) -> None:
    uri = await define(mes, "erp_code", "text")
    field = await mes.get(uri)
    assert field["description"] == "No details on this custom - field"
    assert field["enabled"] is True and field["required"] is False
    assert field["is_smart"] is False and field["is_visible_for_restricted"] is True
    assert field["options"] == [] and field["meta"] == {} and field["default_value"] is None
    assert field["position"] is None and field["format"] is None
    assert field["edited_by"] == f"http://testserver/mes/users/{mes.actor.user.id}/"
    assert field["rights"] == ["read", "write"] and field["use_count"] == 0
    listed = await mes.list("custom_field", **{"filter[related_table_name]": "manufacturer"})
    assert [f["uri"] for f in listed["resources"]] == [uri]


async def test_only_managers_define_fields(make_actor, mes: Mes) -> None:
    uri = await define(mes, "erp_code", "text")
    engineer = Mes(await make_actor("eng", workspace="acme", role="engineer"))
    body = {
        "field_id": "x",
        "field_name": "X",
        "related_table_name": "order",
        "type": "text",
    }
    response = await engineer.client.post("/mes/custom_field/", json=body)
    assert assert_problem(response, 403)["detail"] == MANAGER_ONLY
    response = await engineer.client.put(uri, json={"field_name": "Mine"})
    assert assert_problem(response, 403)["detail"] == MANAGER_ONLY
    assert_problem(await engineer.client.delete(uri), 403)
    seen = await engineer.get(uri)
    assert seen["rights"] == ["read"]


async def test_bad_definitions(mes: Mes) -> None:
    post = mes.client.post
    base = {"field_id": "a", "field_name": "A", "related_table_name": "order"}
    assert_problem(
        await post("/mes/custom_field/", json={**base, "type": "blob"}), 400, "INVALID_FIELD"
    )
    wrong_table = {**base, "type": "text", "related_table_name": "printer"}
    assert_problem(await post("/mes/custom_field/", json=wrong_table), 400, "INVALID_FIELD")
    bad_default = {**base, "type": "integer", "default_value": "many"}
    body = assert_problem(await post("/mes/custom_field/", json=bad_default), 400, "INVALID_FIELD")
    assert body["field"] == "default_value"
    off_options = {**base, "type": "text", "options": ["a", "b"], "default_value": "c"}
    assert_problem(await post("/mes/custom_field/", json=off_options), 400, "INVALID_FIELD")
    bad_option = {**base, "type": "integer", "options": [{"value": "x"}]}
    body = assert_problem(await post("/mes/custom_field/", json=bad_option), 400, "INVALID_FIELD")
    assert body["field"] == "options"
    spaced = {**base, "type": "text", "field_id": "two words"}
    assert_problem(await post("/mes/custom_field/", json=spaced), 400, "INVALID_FIELD")
    assert_problem(await post("/mes/custom_field/", json={"field_id": "a"}), 400, "FIELD_REQUIRED")
    await mes.create("custom_field", {**base, "type": "text"})
    again = await post("/mes/custom_field/", json={**base, "type": "integer"})
    assert_problem(again, 400, "FIELD_ID_EXISTS")
    # the same field_id on another table is another field
    await mes.create("custom_field", {**base, "type": "text", "related_table_name": "material"})


async def test_values_are_checked_and_normalized(mes: Mes) -> None:
    await define(mes, "batch_size", "integer")
    await define(mes, "rate", "float", format="currency")
    await define(mes, "audited", "checkbox")
    await define(mes, "since", "date")
    await define(mes, "site", "url")
    await define(mes, "grade", "text", options=[{"value": "A", "meta": None}, "B"])
    await define(mes, "tags", "array", options=["x", "y"])
    values = [
        {"custom_field_id": "batch_size", "value": "12"},
        {"custom_field_id": "rate", "value": 9.5},
        {"custom_field_id": "audited", "value": True},
        {"custom_field_id": "since", "value": "2026-01-31"},
        {"custom_field_id": "site", "value": "https://eos.info"},
        {"custom_field_id": "grade", "value": "B"},
        {"custom_field_id": "tags", "value": ["y"]},
    ]
    response = await maker(mes, values)
    assert response.status_code == 204, response.text
    stored = (await mes.get(response.headers["location"]))["custom_field_values"]
    assert stored[0] == {"custom_field_id": "batch_size", "value": 12}
    assert [v["value"] for v in stored[1:]] == [
        9.5,
        True,
        "2026-01-31",
        "https://eos.info",
        "B",
        ["y"],
    ]
    for wrong in (
        {"custom_field_id": "batch_size", "value": 1.5},
        {"custom_field_id": "batch_size", "value": True},
        {"custom_field_id": "rate", "value": "cheap"},
        {"custom_field_id": "audited", "value": "yes"},
        {"custom_field_id": "since", "value": "31/01/2026"},
        {"custom_field_id": "site", "value": "ftp://x"},
        {"custom_field_id": "grade", "value": "C"},
        {"custom_field_id": "tags", "value": ["z"]},
    ):
        response = await maker(mes, [wrong], name=f"Bad {wrong['custom_field_id']}")
        assert_problem(response, 400, "INVALID_CUSTOM_FIELD_VALUE")
    assert_problem(
        await maker(mes, [{"custom_field_id": "nope", "value": 1}]), 400, "UNKNOWN_CUSTOM_FIELD"
    )
    twice = [{"custom_field_id": "rate", "value": 1}, {"custom_field_id": "rate", "value": 2}]
    assert_problem(await maker(mes, twice), 400, "DUPLICATE_CUSTOM_FIELD")
    assert_problem(await maker(mes, [{"value": 1}]), 400, "INVALID_CUSTOM_FIELD_VALUE")
    assert_problem(await maker(mes, ["rate"]), 400, "INVALID_CUSTOM_FIELD_VALUE")
    extra = [{"custom_field_id": "rate", "value": 1, "colour": "red"}]
    assert_problem(await maker(mes, extra), 400, "INVALID_CUSTOM_FIELD_VALUE")
    # nothing of the refused writes was stored
    assert (await mes.list("manufacturer"))["meta"]["count"] == 1


async def test_required_fields_defaults_and_updates(mes: Mes) -> None:
    await define(mes, "erp_code", "text", required=True)
    await define(mes, "tier", "integer", default_value="2", position=1)
    response = await maker(mes)
    body = assert_problem(response, 400, "CUSTOM_FIELD_REQUIRED")
    assert body["detail"] == "The custom field Erp Code (erp_code) is required."
    empty = await maker(mes, [{"custom_field_id": "erp_code", "value": ""}])
    assert_problem(empty, 400, "CUSTOM_FIELD_REQUIRED")
    response = await maker(mes, [{"custom_field_id": "erp_code", "value": "E-1"}])
    assert response.status_code == 204, response.text
    uri = response.headers["location"]
    assert (await mes.get(uri))["custom_field_values"] == [
        {"custom_field_id": "erp_code", "value": "E-1"},
        {"custom_field_id": "tier", "value": 2},  # the default, on create
    ]
    # an update that does not send the values leaves them alone; one that does is checked
    await mes.update(uri, {"notes": "ok"})
    response = await mes.client.put(uri, json={"custom_field_values": []})
    assert_problem(response, 400, "CUSTOM_FIELD_REQUIRED")
    await mes.update(
        uri, {"custom_field_values": [{"custom_field_id": "erp_code", "value": "E-2"}]}
    )
    assert (await mes.get(uri))["custom_field_values"] == [
        {"custom_field_id": "erp_code", "value": "E-2"}
    ]


async def test_disabled_fields_use_count_and_delete(mes: Mes) -> None:
    field = await define(mes, "legacy", "text")
    response = await maker(mes, [{"custom_field_id": "legacy", "value": "old"}])
    uri = response.headers["location"]
    assert (await mes.get(field))["use_count"] == 1
    assert_problem(await mes.client.delete(field), 400, "CUSTOM_FIELD_IN_USE")
    await mes.update(field, {"enabled": False})
    # a GET body sent back keeps the disabled field's value; a new value is refused
    await mes.update(uri, await mes.get(uri))
    response = await mes.client.put(
        uri, json={"custom_field_values": [{"custom_field_id": "legacy", "value": "new"}]}
    )
    assert_problem(response, 400, "CUSTOM_FIELD_DISABLED")
    await mes.update(uri, {"custom_field_values": []})
    assert (await mes.get(field))["use_count"] == 0
    await mes.delete(field)


async def test_values_may_name_a_field_by_uri_but_not_another_bureaus(
    mes: Mes, other_mes: Mes
) -> None:
    mine = await define(mes, "erp_code", "text")
    theirs = await define(other_mes, "erp_code", "text")
    response = await maker(mes, [{"custom_field_id": mine, "value": "E-9"}])
    assert response.status_code == 204, response.text
    stored = (await mes.get(response.headers["location"]))["custom_field_values"]
    assert stored == [{"custom_field_id": "erp_code", "value": "E-9"}]
    response = await maker(mes, [{"custom_field_id": theirs, "value": "x"}], name="Other")
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    assert_problem(await mes.client.get(theirs), 404, "RESOURCE_NOT_FOUND")
    assert_problem(await mes.client.put(theirs, json={"enabled": False}), 404)
    assert (await mes.list("custom_field"))["meta"]["count"] == 1


async def test_values_of_another_bureau_do_not_apply(mes: Mes, other_mes: Mes) -> None:
    await define(other_mes, "erp_code", "text", required=True)
    response = await maker(mes)
    assert response.status_code == 204, response.text


async def test_definitions_take_their_get_body_and_values_show_in_events(mes: Mes) -> None:
    field = await define(mes, "erp_code", "text")
    body = await mes.get(field)
    await mes.update(field, {**body, "field_name": "ERP"})
    assert (await mes.get(field))["field_name"] == "ERP"
    response = await maker(mes, [{"custom_field_id": "erp_code", "value": "E-1"}])
    uri = response.headers["location"]
    await mes.update(
        uri, {"custom_field_values": [{"custom_field_id": "erp_code", "value": "E-2"}]}
    )
    page = await mes.list(
        "event", **{"filter[reference]": uri, "filter[key]": "custom_field_values"}
    )
    changes = [(e["previous_value"], e["current_value"]) for e in page["resources"]]
    assert changes == [
        (None, [{"custom_field_id": "erp_code", "value": "E-1"}]),
        (
            [{"custom_field_id": "erp_code", "value": "E-1"}],
            [{"custom_field_id": "erp_code", "value": "E-2"}],
        ),
    ]


async def test_orders_and_their_inline_line_items_are_checked(mes: Mes) -> None:
    """An order's and its inline line items' values are checked as any other POST: a bad one
    names its line item and nothing is written; defaults fill in."""
    await define(mes, "po_line", "integer", related_table_name="line_item")
    await define(mes, "region", "text", related_table_name="order", default_value="EU")
    item = {"quantity": 1, "no_model_upload": True, "name": "bracket"}
    good = [{"custom_field_id": "po_line", "value": "3"}]
    bad = [{"custom_field_id": "po_line", "value": "three"}]
    body = {"name": "O", "line_items": [{**item, "custom_field_values": good}]}
    order = await mes.get(await mes.create("order", body))
    assert order["custom_field_values"] == [{"custom_field_id": "region", "value": "EU"}]
    (line,) = order["line_items"]
    assert (await mes.get(line))["custom_field_values"] == [
        {"custom_field_id": "po_line", "value": 3}
    ]
    before = (await mes.list("line-item"))["meta"]["count"]
    refused = await mes.client.post(
        "/mes/order/",
        json={"name": "P", "line_items": [item, {**item, "custom_field_values": bad}]},
    )
    assert assert_problem(refused, 400)["line_item"] == 1
    unknown = [{"custom_field_id": "nope", "value": 1}]
    response = await mes.client.post(
        "/mes/line-item/", json={**item, "custom_field_values": unknown}
    )
    assert_problem(response, 400, "UNKNOWN_CUSTOM_FIELD")
    assert (await mes.list("line-item"))["meta"]["count"] == before
    assert (await mes.list("order"))["meta"]["count"] == 1
