"""``/label/`` and ``/label-relationship/``: labels of a bureau applied to its resources."""

from __future__ import annotations

from tests.conftest import assert_problem
from tests.mes.conftest import Mes
from tests.mes.test_crosscut_events import counted


async def label(mes: Mes, name: str = "Rush", **extra: object) -> str:
    return await mes.create("label", {"name": name, "color": "#ff8800", **extra})


async def test_label_applied_to_a_location(mes: Mes) -> None:
    rush = await label(mes, description="Ship this week")
    site = await mes.create("location", {"name": "Lyon", "address": "x"})
    applied = await mes.create("label-relationship", {"label": rush, "target_uri": site})
    relationship = await mes.get(applied)
    assert relationship["label"] == rush and relationship["target_uri"] == site
    assert relationship["bureau"].startswith("http://testserver/mes/bureau/")
    shown = await mes.get(rush)
    assert shown["items"] == [applied] and shown["editable"] is True
    assert shown["description"] == "Ship this week" and shown["color"] == "#ff8800"
    by_target = await mes.list("label-relationship", **{"filter[target_uri]": site})
    assert [r["uri"] for r in by_target["resources"]] == [applied]
    by_label = await mes.list("label-relationship", **{"filter[label]": rush})
    assert by_label["meta"]["count"] == 1
    # relative URIs are accepted, and a label goes once on a resource
    relative = "/mes/location/" + site.rsplit("/", 2)[-2] + "/"
    again = await mes.client.post(
        "/mes/label-relationship/", json={"label": rush, "target_uri": relative}
    )
    assert_problem(again, 400, "LABEL_APPLIED")
    # a relationship is removed, not changed
    assert (await mes.client.put(applied, json={"target_uri": site})).status_code == 405
    await mes.delete(applied)
    assert (await mes.get(rush))["items"] == []


async def test_deleting_a_label_removes_its_relationships(mes: Mes) -> None:
    rush = await label(mes)
    site = await mes.create("location", {"name": "Graz", "address": "x"})
    applied = await mes.create("label-relationship", {"label": rush, "target_uri": site})
    await mes.delete(rush)
    assert_problem(await mes.client.get(applied), 404, "RESOURCE_NOT_FOUND")


async def test_bad_labels(mes: Mes) -> None:
    post = mes.client.post
    long = await post("/mes/label/", json={"name": "x" * 21, "color": "#000000"})
    assert_problem(long, 400, "INVALID_FIELD")
    assert_problem(
        await post("/mes/label/", json={"name": "A", "color": "red"}), 400, "INVALID_FIELD"
    )
    assert_problem(await post("/mes/label/", json={"name": "A"}), 400, "FIELD_REQUIRED")
    await label(mes, "Rush")
    same = await post("/mes/label/", json={"name": "rush", "color": "#000"})
    assert (
        assert_problem(same, 400, "NAME_EXISTS")["detail"]
        == "The requested label name already exists."
    )


async def test_bad_relationships(mes: Mes) -> None:
    rush = await label(mes)
    site = await mes.create("location", {"name": "Linz", "address": "x"})
    post = mes.client.post
    for target in (
        site.rsplit("/", 2)[-2],  # a bare uuid says nothing of the kind
        "/mes/nonsense/" + "0" * 32 + "/",
        "/mes/label/" + rush.rsplit("/", 2)[-2] + "/",  # labels are not labelled
        42,
    ):
        response = await post(
            "/mes/label-relationship/", json={"label": rush, "target_uri": target}
        )
        assert_problem(response, 400, "INVALID_FIELD")
    missing = "/mes/location/" + "0" * 32 + "/"
    response = await post("/mes/label-relationship/", json={"label": rush, "target_uri": missing})
    assert assert_problem(response, 404, "RESOURCE_NOT_FOUND")["detail"] == (
        "The requested location cannot be found."
    )
    not_a_label = await post("/mes/label-relationship/", json={"label": site, "target_uri": site})
    assert_problem(not_a_label, 400, "INVALID_FIELD")
    assert_problem(
        await mes.client.get("/mes/label-relationship/?filter[target_uri]=nope"),
        400,
        "INVALID_FIELD",
    )


async def test_another_bureau_is_404_inside_bodies(mes: Mes, other_mes: Mes) -> None:
    mine = await label(mes)
    site = await mes.create("location", {"name": "Gent", "address": "x"})
    their_site = await other_mes.create("location", {"name": "Rival HQ", "address": "x"})
    their_label = await label(other_mes)
    post = mes.client.post
    response = await post(
        "/mes/label-relationship/", json={"label": mine, "target_uri": their_site}
    )
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    response = await post(
        "/mes/label-relationship/", json={"label": their_label, "target_uri": site}
    )
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    assert_problem(await mes.client.get(their_label), 404)
    assert_problem(await mes.client.put(their_label, json={"name": "mine"}), 404)
    assert (await mes.list("label"))["meta"]["count"] == 1


async def test_locked_labels_and_roles(make_actor, mes: Mes) -> None:
    engineer = Mes(await make_actor("eng", workspace="acme", role="engineer"))
    viewer = Mes(await make_actor("vic", workspace="acme", role="viewer"))
    await label(engineer, "Open")
    refused = await engineer.client.post(
        "/mes/label/", json={"name": "Locked", "color": "#000000", "editable": False}
    )
    assert_problem(refused, 403, "INSUFFICIENT_ROLE")
    locked = await label(mes, "Locked", editable=False)
    assert_problem(
        await mes.client.put(locked, json={"color": "#ffffff"}), 403, "LABEL_NOT_EDITABLE"
    )
    assert_problem(await mes.client.delete(locked), 403, "LABEL_NOT_EDITABLE")
    # a locked label can still be applied: it is used, not changed
    site = await mes.create("location", {"name": "Brno", "address": "x"})
    await engineer.create("label-relationship", {"label": locked, "target_uri": site})
    assert (await viewer.list("label"))["meta"]["count"] == 2
    response = await viewer.client.post("/mes/label/", json={"name": "V", "color": "#000000"})
    assert_problem(response, 403, "INSUFFICIENT_ROLE")


async def test_label_writes_show_in_events(mes: Mes) -> None:
    rush = await label(mes)
    await mes.update(rush, {"color": "#00ff00"})
    events = await mes.list("event", **{"filter[reference]": rush, "filter[key]": "color"})
    changes = [(e["previous_value"], e["current_value"]) for e in events["resources"]]
    assert changes == [(None, "#ff8800"), ("#ff8800", "#00ff00")]


async def test_a_page_of_labels_is_a_fixed_number_of_statements(mes: Mes, engine) -> None:
    site = await mes.create("location", {"name": "Pula", "address": "x"})
    counts = []
    for size in (2, 10):
        for i in range(size):
            applied = await label(mes, f"L{size}-{i}")
            await mes.create("label-relationship", {"label": applied, "target_uri": site})
        with counted(engine) as statements:
            page = await mes.list("label")
        assert all(len(item["items"]) == 1 for item in page["resources"])
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


async def test_what_points_at_a_deleted_row_goes_with_it(mes: Mes) -> None:
    """Comments and labels point at their subject by uuid alone (no foreign key): a deleted
    location, line item or order takes its own and its pieces' with it, each delete on /event/."""
    rush = await label(mes)
    site = await mes.create("location", {"name": "Turin", "address": "x"})
    on_site = await mes.create("label-relationship", {"label": rush, "target_uri": site})
    body = {"quantity": 2, "no_model_upload": True, "name": "bracket"}
    order = await mes.get(await mes.create("order", {"name": "O", "line_items": [body, body]}))
    kept, dropped = order["line_items"]
    attached = []
    for uri, table in (
        (order["uri"], "order"),
        (dropped, "line_item"),
        (
            (await mes.list("piece", **{"filter[line_item]": dropped}))["resources"][0]["uri"],
            "piece",
        ),
    ):
        attached.append(await mes.create("label-relationship", {"label": rush, "target_uri": uri}))
        related = {"related_table_name": table, "related_uuid": uri.rsplit("/", 2)[-2]}
        attached.append(await mes.create("comment", {**related, "text": "check the wall"}))
    kept_comment = await mes.create(
        "comment",
        {"related_table_name": "line_item", "related_uuid": kept.rsplit("/", 2)[-2], "text": "ok"},
    )

    await mes.delete(site)
    assert_problem(await mes.client.get(on_site), 404, "RESOURCE_NOT_FOUND")
    await mes.delete(dropped)
    for uri in attached[2:]:
        assert_problem(await mes.client.get(uri), 404, "RESOURCE_NOT_FOUND")
    assert (await mes.get(attached[1]))["text"] == "check the wall"  # the order's, still there
    await mes.delete(order["uri"])
    for uri in (*attached, kept_comment):
        assert_problem(await mes.client.get(uri), 404, "RESOURCE_NOT_FOUND")
    assert (await mes.get(rush))["items"] == []
    deleted = await mes.list("event", **{"filter[reference]": kept_comment})
    assert any(e["current_value"] is None for e in deleted["resources"])
