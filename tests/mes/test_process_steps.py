"""Process steps: one workstation type of three, an exact machine of it, the operator-input
requirements, unique names, workflows + step_positions, and deletion refused inside a workflow."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import assert_problem
from tests.mes.conftest import Mes


@dataclass
class Shop:
    printer_type: str
    other_printer_type: str
    post_processor_type: str
    shipping: str
    printer: str
    post_processor: str


async def make_shop(mes: Mes, prefix: str = "") -> Shop:
    """A printer type with a printer, a post-processor type with a station, and a shipping."""
    location = await mes.create("location", {"name": f"{prefix}Plant", "address": "1 Main St"})
    sls = await mes.create("printer-type", {"name": f"{prefix}EOS P 396"})
    fdm = await mes.create("printer-type", {"name": f"{prefix}Ultimaker S5"})
    tumble = await mes.create("post-processor-type", {"name": f"{prefix}Tumbler"})
    ups = await mes.create("shipping", {"name": f"{prefix}UPS", "region": "europe"})
    printer = await mes.create(
        "printer", {"name": f"{prefix}P396 #1", "printer_type": sls, "location": location}
    )
    station = await mes.create(
        "post-processor",
        {"name": f"{prefix}Tumbler #1", "post_processor_type": tumble, "location": location},
    )
    return Shop(sls, fdm, tumble, ups, printer, station)


@pytest.fixture
async def shop(mes: Mes) -> Shop:
    return await make_shop(mes)


async def test_step_defaults_and_rendering(mes: Mes, shop: Shop) -> None:
    uri = await mes.create(
        "process-step", {"name": "Print", "workstation_type_uri": shop.printer_type}
    )
    step = await mes.get(uri)
    assert step["workstation_type_uri"] == shop.printer_type
    assert step["workstation"] is None
    assert (step["notes"], step["success"], step["upload"]) == ("optional",) * 3
    assert step["tracking_id"] == "hidden"  # a parcel's number: asked for on shipping steps
    assert step["is_service"] is False and step["shipping_direction"] is None
    assert step["workflows"] == [] and step["step_positions"] == []
    assert step["additive"] == {} and step["flow_time"] is None
    ship = await mes.get(
        await mes.create(
            "process-step",
            {"workstation_type_uri": shop.shipping, "shipping_direction": "bureau_to_customer"},
        )
    )
    assert ship["tracking_id"] == "optional" and ship["name"] is None
    assert ship["shipping_direction"] == "bureau_to_customer"


async def test_exactly_one_workstation_type(mes: Mes, shop: Shop) -> None:
    post = mes.client.post
    response = await post("/mes/process-step/", json={"name": "x"})
    assert_problem(response, 400, "FIELD_REQUIRED")
    response = await post("/mes/process-step/", json={"workstation_type_uri": shop.printer})
    body = assert_problem(response, 400, "INVALID_FIELD")
    assert body["field"] == "workstation_type_uri"
    response = await post("/mes/process-step/", json={"workstation_type_uri": None})
    assert_problem(response, 400, "INVALID_FIELD")
    missing = "/mes/printer-type/" + "0" * 32 + "/"
    response = await post("/mes/process-step/", json={"workstation_type_uri": missing})
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    uri = await mes.create("process-step", {"workstation_type_uri": shop.post_processor_type})
    await mes.update(uri, {"workstation_type_uri": shop.shipping})
    step = await mes.get(uri)
    assert step["workstation_type_uri"] == shop.shipping


async def test_workstation_must_be_a_machine_of_the_type(mes: Mes, shop: Shop) -> None:
    post = mes.client.post
    uri = await mes.create(
        "process-step", {"workstation_type_uri": shop.printer_type, "workstation": shop.printer}
    )
    assert (await mes.get(uri))["workstation"] == shop.printer
    for type_uri, machine in (
        (shop.other_printer_type, shop.printer),
        (shop.printer_type, shop.post_processor),
        (shop.post_processor_type, shop.printer),
    ):
        response = await post(
            "/mes/process-step/", json={"workstation_type_uri": type_uri, "workstation": machine}
        )
        assert_problem(response, 400, "WORKSTATION_TYPE_MISMATCH")
    # changing the type without a new machine is refused; with workstation null it is not
    response = await mes.client.put(uri, json={"workstation_type_uri": shop.other_printer_type})
    assert_problem(response, 400, "WORKSTATION_TYPE_MISMATCH")
    await mes.update(uri, {"workstation_type_uri": shop.other_printer_type, "workstation": None})
    assert (await mes.get(uri))["workstation"] is None
    tied = await mes.create(
        "process-step",
        {"workstation_type_uri": shop.post_processor_type, "workstation": shop.post_processor},
    )
    assert (await mes.get(tied))["workstation"] == shop.post_processor


async def test_service_and_shipping_direction_fit_the_type(mes: Mes, shop: Shop) -> None:
    post = mes.client.post
    response = await post(
        "/mes/process-step/", json={"workstation_type_uri": shop.printer_type, "is_service": True}
    )
    assert_problem(response, 400, "SERVICE_NEEDS_POST_PROCESSOR")
    response = await post(
        "/mes/process-step/",
        json={
            "workstation_type_uri": shop.printer_type,
            "shipping_direction": "bureau_to_customer",
        },
    )
    assert_problem(response, 400, "SHIPPING_DIRECTION_NEEDS_SHIPPING")
    response = await post(
        "/mes/process-step/",
        json={"workstation_type_uri": shop.shipping, "shipping_direction": "sideways"},
    )
    assert_problem(response, 400, "INVALID_FIELD")
    outsourced = await mes.create(
        "process-step", {"workstation_type_uri": shop.post_processor_type, "is_service": True}
    )
    assert (await mes.get(outsourced))["is_service"] is True
    response = await mes.client.put(outsourced, json={"workstation_type_uri": shop.printer_type})
    assert_problem(response, 400, "SERVICE_NEEDS_POST_PROCESSOR")


async def test_requirements_enums_and_flow_time_blocks(mes: Mes, shop: Shop) -> None:
    uri = await mes.create(
        "process-step",
        {
            "workstation_type_uri": shop.post_processor_type,
            "notes": "required",
            "upload": "hidden",
            "flow_time": 3600,
            "flow_time_queued": 4 * 3600 + 1,
        },
    )
    step = await mes.get(uri)
    assert step["notes"] == "required" and step["upload"] == "hidden"
    assert step["flow_time"] == 4 * 3600 and step["flow_time_queued"] == 8 * 3600
    response = await mes.client.put(uri, json={"success": "sometimes"})
    assert_problem(response, 400, "INVALID_FIELD")
    response = await mes.client.put(uri, json={"flow_time": -1})
    assert_problem(response, 400, "INVALID_FIELD")
    response = await mes.client.put(uri, json={"notes": None})
    assert_problem(response, 400, "INVALID_FIELD")


async def test_names_unique_when_given(mes: Mes, shop: Shop) -> None:
    await mes.create("process-step", {"name": "Sand", "workstation_type_uri": shop.shipping})
    response = await mes.client.post(
        "/mes/process-step/", json={"name": "sand", "workstation_type_uri": shop.shipping}
    )
    body = assert_problem(response, 400, "NAME_EXISTS")
    assert body["detail"] == "The requested process_step name already exists."
    # unnamed steps do not collide
    await mes.create("process-step", {"workstation_type_uri": shop.shipping})
    await mes.create("process-step", {"workstation_type_uri": shop.shipping})


async def test_workflows_and_positions_index_matched(mes: Mes, shop: Shop) -> None:
    printing = await mes.create("process-step", {"workstation_type_uri": shop.printer_type})
    inspect = await mes.create("process-step", {"workstation_type_uri": shop.post_processor_type})
    first = await mes.create(
        "workflow", {"name": "A", "process_steps": [printing, inspect, inspect]}
    )
    second = await mes.create("workflow", {"name": "B", "process_steps": [printing, inspect]})
    step = await mes.get(inspect)
    pairs = sorted(zip(step["workflows"], step["step_positions"], strict=True))
    assert pairs == sorted([(first, 2), (first, 3), (second, 2)])
    listed = await mes.list("process-step", **{"filter[workflows]": second})
    assert {r["uri"] for r in listed["resources"]} == {printing, inspect}
    by_type = await mes.list("process-step", **{"filter[workstation_type_uri]": shop.printer_type})
    assert [r["uri"] for r in by_type["resources"]] == [printing]


async def test_cannot_delete_a_step_in_a_workflow(mes: Mes, shop: Shop) -> None:
    step = await mes.create("process-step", {"workstation_type_uri": shop.printer_type})
    workflow = await mes.create("workflow", {"name": "W", "process_steps": [step]})
    body = assert_problem(await mes.client.delete(step), 400, "PROCESS_STEP_IN_WORKFLOW")
    assert body["detail"] == "Cannot delete process-step that belongs to a workflow."
    await mes.delete(workflow)
    await mes.delete(step)
    assert (await mes.client.get(step)).status_code == 404


async def test_another_bureau_is_404(mes: Mes, other_mes: Mes, shop: Shop) -> None:
    theirs = await make_shop(other_mes, "R ")
    response = await mes.client.post(
        "/mes/process-step/", json={"workstation_type_uri": theirs.printer_type}
    )
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    response = await mes.client.post(
        "/mes/process-step/",
        json={"workstation_type_uri": shop.printer_type, "workstation": theirs.printer},
    )
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    their_step = await other_mes.create(
        "process-step", {"workstation_type_uri": theirs.printer_type}
    )
    assert_problem(await mes.client.get(their_step), 404, "RESOURCE_NOT_FOUND")
    assert_problem(await mes.client.delete(their_step), 404)
    response = await mes.client.post(
        "/mes/workflow/", json={"name": "Mine", "process_steps": [their_step]}
    )
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    assert (await mes.list("process-step"))["meta"]["count"] == 0


async def test_viewer_reads_engineer_writes(make_actor, mes: Mes, shop: Shop) -> None:
    await mes.create("process-step", {"workstation_type_uri": shop.shipping})
    viewer = Mes(await make_actor("vera", workspace="acme", role="viewer"))
    assert (await viewer.list("process-step"))["meta"]["count"] == 1
    response = await viewer.client.post(
        "/mes/process-step/", json={"workstation_type_uri": shop.shipping}
    )
    assert_problem(response, 403, "INSUFFICIENT_ROLE")
    engineer = Mes(await make_actor("eng", workspace="acme", role="engineer"))
    await engineer.create("process-step", {"workstation_type_uri": shop.shipping})
