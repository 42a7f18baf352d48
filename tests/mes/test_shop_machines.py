"""Printers, post-processors, shippings, the workstation union, downtimes, schedules, labor."""

from __future__ import annotations

from tests.conftest import assert_problem
from tests.mes.conftest import Mes


async def _shop(mes: Mes) -> tuple[str, str, str]:
    location = await mes.create("location", {"name": "HQ", "address": "x"})
    printer_type = await mes.create("printer-type", {"name": "Fortus 450"})
    pp_type = await mes.create("post-processor-type", {"name": "Sand", "duration": 600})
    return location, printer_type, pp_type


async def test_machines_workstations_and_downtime(mes: Mes, other_mes: Mes) -> None:
    location, printer_type, pp_type = await _shop(mes)
    printer = await mes.create(
        "printer", {"name": "F1", "printer_type": printer_type, "location": location}
    )
    body = await mes.get(printer)
    assert body["sub_location"] is not None and body["queue"] == [] and body["in_progress"] == []
    assert body["in_progress_max"] == 1 and body["available_at"] is not None
    response = await mes.client.post(
        "/mes/printer/", json={"name": "f1", "printer_type": printer_type, "location": location}
    )
    assert assert_problem(response, 400, "NAME_EXISTS")["detail"] == (
        "The requested printer name already exists."
    )
    response = await mes.client.post("/mes/post-processor/", json={"post_processor_type": pp_type})
    assert_problem(response, 400, "FIELD_REQUIRED")
    service = await mes.create(
        "post-processor", {"post_processor_type": pp_type, "is_service": True}
    )
    service_body = await mes.get(service)
    assert service_body["name"] == "Sand" and service_body["duration"] == 600
    assert service_body["in_progress_max"] == 10 and service_body["location"] is None
    shipping = await mes.create("shipping", {"name": "UPS", "region": "europe"})
    assert (await mes.get(shipping))["batching_strategy"] == "single"
    response = await mes.client.post("/mes/shipping/", json={"name": "UPS", "region": "europe"})
    assert assert_problem(response, 400, "NAME_EXISTS")["detail"] == (
        "The requested shipping name for the region already exists."
    )
    assert_problem(
        await mes.client.post("/mes/shipping/", json={"name": "X", "region": "mars"}),
        400,
        "INVALID_FIELD",
    )
    stations = await mes.list("workstation", sort="name")
    assert {r["workstation_type"] for r in stations["resources"]} == {
        "printer",
        "post-processor",
        "shipping",
    }
    assert {r["uri"] for r in stations["resources"]} == {printer, service, shipping}
    assert (await mes.client.post("/mes/workstation/", json={})).status_code == 405
    assert (await other_mes.list("workstation"))["meta"]["count"] == 0

    response = await mes.client.post(
        "/mes/downtime/",
        json={
            "description": "x",
            "start": "2030-01-02T00:00:00Z",
            "finish": "2030-01-01T00:00:00Z",
            "printer": printer,
        },
    )
    assert_problem(response, 400, "INVALID_PERIOD")
    response = await mes.client.post(
        "/mes/downtime/",
        json={
            "description": "x",
            "start": "2030-01-01T00:00:00Z",
            "finish": "2030-01-02T00:00:00Z",
            "printer": printer,
            "shipping": shipping,
        },
    )
    assert_problem(response, 400, "ONE_MACHINE_REQUIRED")
    downtime = await mes.create(
        "downtime",
        {
            "description": "maintenance",
            "start": "2020-01-01T00:00:00Z",
            "finish": "2099-01-01T00:00:00Z",
            "printer": printer,
        },
    )
    assert (await mes.get(downtime))["status"] == "in_progress"
    assert (await mes.get(printer))["available_at"].startswith("2099-01-01")


async def test_work_schedule_and_labor_one_per_type(mes: Mes) -> None:
    _location, printer_type, pp_type = await _shop(mes)
    week = {"monday": {"start": "08:00", "finish": "17:00"}}
    await mes.create(
        "work-schedule", {"printer_type": printer_type, "type": "calendar", "week": week}
    )
    response = await mes.client.post(
        "/mes/work-schedule/", json={"printer_type": printer_type, "type": "non_stop"}
    )
    assert assert_problem(response, 400, "ALREADY_ATTACHED")["detail"] == (
        "The requested printer_type is already attached to a work-schedule."
    )
    bad_week = {"monday": {"start": "18:00", "finish": "17:00"}}
    response = await mes.client.post(
        "/mes/work-schedule/",
        json={"post_processor_type": pp_type, "type": "calendar", "week": bad_week},
    )
    assert_problem(response, 400, "INVALID_FIELD")
    await mes.create(
        "labor", {"post_processor_type": pp_type, "type": "labor_to_run", "duration": 60}
    )
    response = await mes.client.post(
        "/mes/labor/",
        json={"post_processor_type": pp_type, "type": "labor_to_start", "duration": 5},
    )
    assert assert_problem(response, 400, "ALREADY_ATTACHED")["detail"] == (
        "The requested post_processor_type is already attached to a labor resource."
    )
