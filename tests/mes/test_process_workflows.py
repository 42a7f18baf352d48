"""Workflows: ordered steps, unique names, the printer-type step of additive workflows,
usage_state and archiving, the 409 while line items are processing, custom workflows hidden,
``/workflow/{uuid}/replace/`` (archive and move, or pin), computed fields set-based."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import assert_problem
from tests.mes.conftest import Mes
from tests.mes.test_demand import counted
from tests.mes.test_process_steps import Shop, make_shop

ITEM = {"quantity": 2, "no_model_upload": True, "name": "bracket"}
PROCESSING = "The requested workflow is attached to line items that are processing."


@dataclass
class Steps:
    printing: str
    sanding: str
    shipping: str


@pytest.fixture
async def shop(mes: Mes) -> Shop:
    return await make_shop(mes)


@pytest.fixture
async def steps(mes: Mes, shop: Shop) -> Steps:
    printing = await mes.create(
        "process-step",
        {"name": "Print", "workstation_type_uri": shop.printer_type, "flow_time": 14400},
    )
    sanding = await mes.create(
        "process-step",
        {"name": "Sand", "workstation_type_uri": shop.post_processor_type, "flow_time": 28800},
    )
    shipping = await mes.create(
        "process-step", {"name": "Ship", "workstation_type_uri": shop.shipping}
    )
    return Steps(printing, sanding, shipping)


async def _line_item(mes: Mes, workflow: str) -> tuple[str, str]:
    """An order with one line item on ``workflow``: (order URI, line item URI)."""
    order = await mes.get(
        await mes.create("order", {"name": "O", "line_items": [{**ITEM, "workflow": workflow}]})
    )
    return order["uri"], order["line_items"][0]


async def _prints(mes: Mes, item: str) -> list[str]:
    prints = await mes.list(
        "print", **{"filter[line_item]": item, "sort": "copy,process_step_position"}
    )
    return [p["process_step"] for p in prints["resources"]]


async def test_create_defaults_order_and_flow_time(mes: Mes, steps: Steps) -> None:
    order = [steps.printing, steps.sanding, steps.sanding, steps.shipping]
    uri = await mes.create("workflow", {"name": "SLS standard", "process_steps": order})
    workflow = await mes.get(uri)
    assert workflow["process_steps"] == order  # order kept, a step may appear twice
    assert workflow["type"] == "additive_manufacturing"
    assert workflow["usage_state"] == "inactive"
    assert workflow["integrated"] is False and workflow["labels"] == []
    assert workflow["materials"] == [] and workflow["pieces"] == []
    assert workflow["line_item"] is None and workflow["source_workflow"] is None
    assert workflow["flow_time"] == 14400 + 2 * 28800 and workflow["flow_time_queued"] is None
    assert workflow["updated_by"].startswith("http://testserver/mes/users/")
    await mes.update(uri, {"process_steps": [steps.shipping, steps.printing]})
    assert (await mes.get(uri))["process_steps"] == [steps.shipping, steps.printing]


async def test_names_unique_and_filter_name_ilike(mes: Mes, steps: Steps) -> None:
    await mes.create("workflow", {"name": "Nylon PA12", "process_steps": [steps.printing]})
    response = await mes.client.post(
        "/mes/workflow/", json={"name": "nylon pa12", "process_steps": [steps.printing]}
    )
    body = assert_problem(response, 400, "NAME_EXISTS")
    assert body["detail"] == "The requested workflow name already exists."
    other = await mes.create("workflow", {"name": "Resin", "process_steps": [steps.printing]})
    response = await mes.client.put(other, json={"name": "Nylon PA12"})
    assert_problem(response, 400, "NAME_EXISTS")
    found = await mes.list("workflow", **{"filter[name_ilike]": "PA1"})
    assert [r["name"] for r in found["resources"]] == ["Nylon PA12"]
    assert (await mes.list("workflow", **{"filter[name_ilike]": "%"}))["meta"]["count"] == 0


async def test_additive_workflow_needs_a_printer_type_step(mes: Mes, steps: Steps) -> None:
    post = mes.client.post
    response = await post("/mes/workflow/", json={"name": "W", "process_steps": [steps.sanding]})
    assert_problem(response, 400, "PRINTER_STEP_REQUIRED")
    assert_problem(await post("/mes/workflow/", json={"name": "W"}), 400, "PRINTER_STEP_REQUIRED")
    specimen = await mes.create(
        "workflow", {"name": "Tensile bars", "type": "specimen", "process_steps": [steps.sanding]}
    )
    response = await mes.client.put(specimen, json={"type": "additive_manufacturing"})
    assert_problem(response, 400, "PRINTER_STEP_REQUIRED")
    uri = await mes.create("workflow", {"name": "A", "process_steps": [steps.printing]})
    response = await mes.client.put(uri, json={"process_steps": [steps.sanding]})
    assert_problem(response, 400, "PRINTER_STEP_REQUIRED")
    # a step may not turn the only printer step of an additive workflow into something else
    response = await mes.client.put(steps.printing, json={"workstation_type_uri": "x"})
    assert_problem(response, 400, "INVALID_FIELD")
    shop_pp = (await mes.get(steps.sanding))["workstation_type_uri"]
    response = await mes.client.put(steps.printing, json={"workstation_type_uri": shop_pp})
    assert_problem(response, 400, "PRINTER_STEP_REQUIRED")
    assert_problem(
        await post("/mes/workflow/", json={"name": "T", "type": "cake"}), 400, "INVALID_FIELD"
    )


async def test_bad_input(mes: Mes, steps: Steps, shop: Shop) -> None:
    post = mes.client.post
    cases = [
        ({"name": "W", "process_steps": steps.printing}, "INVALID_FIELD"),
        ({"name": "W", "process_steps": [shop.printer_type]}, "INVALID_FIELD"),
        ({"name": "W", "process_steps": [steps.printing], "colour": 1}, "UNKNOWN_FIELD"),
        ({"process_steps": [steps.printing]}, "FIELD_REQUIRED"),
        (
            {"name": "W", "process_steps": [steps.printing], "specimens": [{"q": 1}]},
            "INVALID_FIELD",
        ),
        (
            {"name": "W", "process_steps": [steps.printing], "usage_state": "sleepy"},
            "INVALID_FIELD",
        ),
    ]
    for body, code in cases:
        assert_problem(await post("/mes/workflow/", json=body), 400, code)
    material = await mes.create("material", {"name": "PA12", "type": "base"})
    response = await post(
        "/mes/workflow/",
        json={"name": "W", "process_steps": [steps.printing], "materials": [material, material]},
    )
    assert_problem(response, 400, "INVALID_FIELD")
    assert (await mes.list("workflow"))["meta"]["count"] == 0  # nothing half-written
    uri = await mes.create(
        "workflow",
        {
            "name": "W",
            "process_steps": [steps.printing],
            "materials": [material],
            "specimens": [{"uri": "/mes/specimen/" + "1" * 32 + "/", "quantity": 2}],
        },
    )
    workflow = await mes.get(uri)
    assert workflow["materials"] == [material]
    assert workflow["specimens"][0]["quantity"] == 2
    assert_problem(await mes.client.get("/mes/workflow/?filter[usage_state]=x"), 400)
    assert_problem(await mes.client.get("/mes/workflow/?filter[colour]=x"), 400, "UNKNOWN_FILTER")


async def test_archive_hides_from_list_and_keeps_name(mes: Mes, steps: Steps) -> None:
    uri = await mes.create("workflow", {"name": "Old", "process_steps": [steps.printing]})
    body = await mes.get(uri)
    await mes.update(uri, body)  # a GET body sent back is accepted (usage_state unchanged)
    response = await mes.client.put(uri, json={"usage_state": "active"})
    assert_problem(response, 400, "INVALID_USAGE_STATE")
    await mes.update(uri, {"usage_state": "archived"})
    assert (await mes.get(uri))["usage_state"] == "archived"
    assert (await mes.list("workflow"))["meta"]["count"] == 0
    archived = await mes.list("workflow", **{"filter[usage_state]": "archived"})
    assert [r["uri"] for r in archived["resources"]] == [uri]
    both = await mes.list("workflow", **{"filter[usage_state]": "archived,inactive"})
    assert both["meta"]["count"] == 1
    assert (await mes.list("workflow", **{"filter[uuid]": uri.rsplit("/", 2)[-2]}))["meta"][
        "count"
    ] == 1
    events = (await mes.client.get("/v1/audit", params={"workspace": "acme"})).json()["items"]
    archive = next(
        e for e in events if e["entityType"] == "mes.workflow" and e["action"] == "update"
    )
    assert archive["before"]["usage_state"] == "inactive"
    assert archive["after"]["usage_state"] == "archived"


async def test_usage_state_and_409_while_processing(mes: Mes, steps: Steps) -> None:
    uri = await mes.create("workflow", {"name": "Live", "process_steps": [steps.printing]})
    _order, item = await _line_item(mes, uri)
    assert (await mes.get(uri))["usage_state"] == "can_be_safely_archived"
    # steps of a workflow whose line items are still in planning change, and re-make prints
    await mes.update(uri, {"process_steps": [steps.printing, steps.sanding]})
    assert await _prints(mes, item) == [steps.printing, steps.sanding] * 2
    await mes.update(item, {"status": "confirmed"})
    assert (await mes.get(uri))["usage_state"] == "active"
    active = await mes.list("workflow", **{"filter[usage_state]": "active"})
    assert [r["uri"] for r in active["resources"]] == [uri]
    response = await mes.client.put(uri, json={"process_steps": [steps.printing]})
    assert assert_problem(response, 409, "WORKFLOW_PROCESSING")["detail"] == PROCESSING
    body = assert_problem(
        await mes.client.put(uri, json={"usage_state": "archived"}), 409, "WORKFLOW_PROCESSING"
    )
    assert body["detail"] == PROCESSING
    await mes.update(uri, {"description": "still editable"})  # other fields are
    # a step of a processing workflow keeps its workstation type
    sanding_type = (await mes.get(steps.sanding))["workstation_type_uri"]
    response = await mes.client.put(steps.printing, json={"workstation_type_uri": sanding_type})
    assert_problem(response, 409, "WORKFLOW_PROCESSING")
    assert_problem(await mes.client.delete(uri), 409, "WORKFLOW_IN_USE")
    await mes.update(item, {"status": "pending"})
    await mes.update(uri, {"usage_state": "archived"})


async def test_replace_archives_and_moves_planning_line_items(mes: Mes, steps: Steps) -> None:
    source = await mes.create(
        "workflow", {"name": "SLS", "description": "v1", "process_steps": [steps.printing]}
    )
    _o1, planned = await _line_item(mes, source)
    _o2, running = await _line_item(mes, source)
    await mes.update(running, {"status": "confirmed"})
    response = await mes.client.post(
        source + "replace/",
        json={
            "name": "SLS",
            "description": "v2",
            "process_steps": [steps.printing, steps.sanding],
        },
    )
    assert response.status_code == 204, response.text
    copy = await mes.get(response.headers["location"])
    assert copy["name"] == "SLS" and copy["description"] == "v2"
    assert copy["source_workflow"] == source and copy["line_item"] is None
    assert copy["process_steps"] == [steps.printing, steps.sanding]
    old = await mes.get(source)
    assert old["usage_state"] == "archived" and old["name"].startswith("SLS (archived ")
    assert (await mes.get(planned))["workflow"] == copy["uri"]
    assert await _prints(mes, planned) == [steps.printing, steps.sanding] * 2
    assert (await mes.get(running))["workflow"] == source  # processing: stays
    assert [r["uri"] for r in (await mes.list("workflow"))["resources"]] == [copy["uri"]]
    response = await mes.client.post(
        source + "replace/", json={"name": "X", "process_steps": [steps.printing]}
    )
    assert_problem(response, 400, "WORKFLOW_ARCHIVED")


async def test_replace_pins_a_copy_to_one_line_item(mes: Mes, steps: Steps) -> None:
    source = await mes.create("workflow", {"name": "FDM", "process_steps": [steps.printing]})
    _o1, pinned = await _line_item(mes, source)
    _o2, other = await _line_item(mes, source)
    response = await mes.client.post(
        source + "replace/",
        json={
            "name": "FDM",
            "process_steps": [steps.printing, steps.shipping],
            "line_item": pinned,
        },
    )
    assert response.status_code == 204, response.text
    copy = await mes.get(response.headers["location"])
    assert copy["line_item"] == pinned and copy["name"].startswith("FDM (")
    assert (await mes.get(source))["usage_state"] == "can_be_safely_archived"  # source stays
    assert (await mes.get(pinned))["workflow"] == copy["uri"]
    assert (await mes.get(other))["workflow"] == source
    assert await _prints(mes, pinned) == [steps.printing, steps.shipping] * 2
    # custom workflows are hidden unless asked for
    assert [r["uri"] for r in (await mes.list("workflow"))["resources"]] == [source]
    shown = await mes.list("workflow", include_custom_workflows="true")
    assert shown["meta"]["count"] == 2
    shown = await mes.list("workflow", **{"filter[include_custom_workflows]": "true"})
    assert shown["meta"]["count"] == 2
    assert (await mes.list("workflow", **{"filter[line_item]": pinned}))["meta"]["count"] == 1
    # a line item that follows another workflow, or is processing, is refused
    response = await mes.client.post(
        source + "replace/",
        json={"name": "Y", "process_steps": [steps.printing], "line_item": pinned},
    )
    assert_problem(response, 400, "LINE_ITEM_NOT_ON_WORKFLOW")
    await mes.update(other, {"status": "confirmed"})
    response = await mes.client.post(
        source + "replace/",
        json={"name": "Z", "process_steps": [steps.printing], "line_item": other},
    )
    assert_problem(response, 409, "WORKFLOW_PROCESSING")


async def test_replace_bad_input_and_tenancy(mes: Mes, other_mes: Mes, steps: Steps) -> None:
    source = await mes.create("workflow", {"name": "S", "process_steps": [steps.printing]})
    post = mes.client.post
    assert_problem(await post(source + "replace/", json={"name": "S"}), 400, "FIELD_REQUIRED")
    response = await post(
        source + "replace/", json={"name": "S", "process_steps": [], "colour": "red"}
    )
    assert_problem(response, 400, "UNKNOWN_FIELD")
    response = await post(source + "replace/", json={"name": "S", "process_steps": [steps.sanding]})
    assert_problem(response, 400, "PRINTER_STEP_REQUIRED")
    assert (await mes.get(source))["usage_state"] == "inactive"  # the refused replace wrote nothing
    theirs = await make_shop(other_mes, "R ")
    their_step = await other_mes.create(
        "process-step", {"workstation_type_uri": theirs.printer_type}
    )
    their_flow = await other_mes.create("workflow", {"name": "S", "process_steps": [their_step]})
    response = await post(their_flow + "replace/", json={"name": "S", "process_steps": []})
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    response = await post(source + "replace/", json={"name": "S2", "process_steps": [their_step]})
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    _o, their_item = await _line_item(other_mes, their_flow)
    response = await post(
        source + "replace/",
        json={"name": "S3", "process_steps": [steps.printing], "line_item": their_item},
    )
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    assert_problem(await mes.client.get(their_flow), 404)


async def test_list_is_set_based(engine, mes: Mes, steps: Steps) -> None:
    for n in range(3):
        uri = await mes.create(
            "workflow", {"name": f"W{n}", "process_steps": [steps.printing, steps.sanding]}
        )
        await _line_item(mes, uri)
    with counted(engine) as few:
        await mes.list("workflow")
    for n in range(3, 9):
        uri = await mes.create(
            "workflow", {"name": f"W{n}", "process_steps": [steps.printing, steps.sanding]}
        )
        await _line_item(mes, uri)
    with counted(engine) as many:
        listed = await mes.list("workflow")
    assert listed["meta"]["count"] == 9
    assert len(many) == len(few)
    with counted(engine) as step_few:
        await mes.list("process-step")
    with counted(engine) as step_many:
        await mes.list("process-step", **{"page[limit]": 1})
    assert len(step_few) == len(step_many)


async def test_viewer_cannot_write(make_actor, mes: Mes, steps: Steps) -> None:
    uri = await mes.create("workflow", {"name": "W", "process_steps": [steps.printing]})
    viewer = Mes(await make_actor("vic", workspace="acme", role="viewer"))
    assert (await viewer.list("workflow"))["meta"]["count"] == 1
    assert_problem(await viewer.client.put(uri, json={"name": "V"}), 403, "INSUFFICIENT_ROLE")
    response = await viewer.client.post(
        uri + "replace/", json={"name": "V", "process_steps": [steps.printing]}
    )
    assert_problem(response, 403, "INSUFFICIENT_ROLE")


async def test_labels_are_label_uris_of_the_bureau(mes: Mes, other_mes: Mes, steps: Steps) -> None:
    label = await mes.create("label", {"name": "rush", "color": "#ff8800"})
    uri = await mes.create(
        "workflow", {"name": "L", "process_steps": [steps.printing], "labels": [label]}
    )
    assert (await mes.get(uri))["labels"] == [label]
    theirs = await other_mes.create("label", {"name": "rush", "color": "#ff8800"})
    response = await mes.client.put(uri, json={"labels": [theirs]})
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
