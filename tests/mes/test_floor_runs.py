"""Runs on the floor: an order taken from confirmed to complete through printing,
post-processing and shipping runs; the reference's validations and messages; queues."""

from __future__ import annotations

from typing import Any

from tests.conftest import assert_problem
from tests.mes.conftest import Mes
from tests.mes.floor import make_shop


def refused(response: Any, status: int, message: str) -> None:
    """A problem+json answer carrying the reference's message verbatim."""
    assert message in assert_problem(response, status)["detail"]


async def test_an_order_goes_through_the_floor(mes: Mes) -> None:
    shop = await make_shop(mes)
    order = await shop.order(quantity=2)
    printing = order["by_step"][shop.steps[0]]

    run = await shop.run(printing, printer=shop.printer, name="Build 1")
    body = await mes.get(run)
    assert body["status"] == "queued" and body["operation"] == "printing"
    assert body["printer_type"] == shop.printer_type and body["location"] == shop.location
    assert sorted(body["prints"]) == sorted(printing) and body["orders"] == [order["uri"]]
    assert body["workstation_uri"] == shop.printer and body["workstation_name"] == "P1"
    assert body["workstation_queue_position"] == 1
    assert await shop.piece_statuses(order["pieces"]) == {"queued-for-printing"}
    assert (await mes.get(shop.printer))["queue"] == [run]

    await shop.status(run, "in-progress")
    assert (await mes.get(shop.printer))["in_progress"] == [run]
    assert await shop.piece_statuses(order["pieces"]) == {"printing"}
    assert (await mes.get(order["line_item"]))["status"] == "printing"
    assert (await mes.get(order["uri"]))["status"] == "printing"
    actuals = await mes.list("run-actuals", **{"filter[run]": run})
    assert actuals["meta"]["count"] == 1
    assert actuals["resources"][0]["start_in_progress_time"]
    assert actuals["resources"][0]["end_in_progress_time"] is None
    piece_actuals = await mes.list("piece-actuals")
    assert piece_actuals["meta"]["count"] == 2

    await shop.status(run, "complete")
    assert await shop.piece_statuses(order["pieces"]) == {"queued-for-post-processing"}
    assert (await mes.get(order["line_item"]))["status"] == "post-processing"
    actual = (await mes.list("run-actuals", **{"filter[run]": run}))["resources"][0]
    assert actual["end_in_progress_time"] is not None
    assert {(await mes.get(p))["status"] for p in printing} == {"complete"}
    assert (await mes.get(shop.printer))["queue"] == []

    blasting = await shop.run(order["by_step"][shop.steps[1]], post_processor=shop.post_processor)
    assert (await mes.get(blasting))["estimated_duration"] == 1800
    await shop.status(blasting, "in-progress")
    assert await shop.piece_statuses(order["pieces"]) == {"post-processing"}
    await shop.status(blasting, "complete")
    assert await shop.piece_statuses(order["pieces"]) == {"queued-for-shipping"}
    assert (await mes.get(order["line_item"]))["status"] == "shipping"

    shipping = await shop.run(order["by_step"][shop.steps[2]])
    ship_body = await mes.get(shipping)
    assert ship_body["operation"] == "shipping" and ship_body["status"] == "queued"
    assert ship_body["shipping"] == shop.shipping
    shipment = (await mes.list("shipment", **{"filter[run]": shipping}))["resources"][0]
    assert shipment["order"] == order["uri"] and shipment["status"] == "new"
    await shop.status(shipping, "in-progress")
    await shop.status(shipping, "complete")
    assert await shop.piece_statuses(order["pieces"]) == {"complete"}
    assert (await mes.get(order["line_item"]))["status"] == "complete"
    assert (await mes.get(order["uri"]))["status"] == "complete"
    shipment = await mes.get(shipment["uri"])
    assert shipment["status"] == "in_transit" and shipment["actual_shipment_date"]
    details = (await mes.list("piece-actuals"))["resources"][0]
    assert [s["operation"] for s in details["per_step_details"]] == [
        "printing",
        "post-processing",
        "shipping",
    ]
    assert details["end_in_progress_time"] is not None

    piece_id = order["pieces"][0].rstrip("/").rsplit("/", 1)[1]
    events = await mes.client.get(
        "/v1/audit", params={"workspace": "acme", "entity": f"mes.piece:{piece_id}"}
    )
    assert events.status_code == 200, events.text
    statuses = [
        (e["before"]["status"], e["after"]["status"])
        for e in reversed(events.json()["items"])
        if e["before"] and "status" in e["before"]
    ]
    assert statuses == [
        ("confirmed", "queued-for-printing"),
        ("queued-for-printing", "printing"),
        ("printing", "queued-for-post-processing"),
        ("queued-for-post-processing", "post-processing"),
        ("post-processing", "queued-for-shipping"),
        ("queued-for-shipping", "shipping"),
        ("shipping", "complete"),
    ]


async def test_reference_validations(mes: Mes) -> None:
    shop = await make_shop(mes)
    order = await shop.order(quantity=1)
    printing, blasting = order["by_step"][shop.steps[0]], order["by_step"][shop.steps[1]]

    response = await mes.client.post("/mes/run/", json={"prints": blasting})
    refused(
        response,
        400,
        "All the previous steps for the order should be completed before we can process "
        "these prints.",
    )
    response = await mes.client.post("/mes/run/", json={"prints": printing + blasting})
    refused(
        response,
        400,
        "The requested prints do not have same process types belonging to process steps.",
    )
    pending = await shop.order(quantity=1, confirm=False)
    response = await mes.client.post(
        "/mes/run/", json={"prints": pending["by_step"][shop.steps[0]]}
    )
    refused(
        response,
        400,
        "The requested prints do not have their associated line_items in either confirmed or "
        "printing state.",
    )
    response = await mes.client.post(
        "/mes/run/", json={"prints": printing, "printer": shop.post_processor}
    )
    assert response.status_code == 400
    response = await mes.client.post("/mes/run/", json={})
    assert response.status_code == 400 and response.json()["code"] == "FIELD_REQUIRED"
    response = await mes.client.post("/mes/run/", json={"prints": ["/mes/print/not-a-uuid/"]})
    assert response.status_code == 400

    run = await shop.run(printing)  # no printer yet: calculated, waiting for one
    assert (await mes.get(run))["status"] == "calculated"
    response = await mes.client.post("/mes/run/", json={"prints": printing})
    assert response.status_code == 400 and response.json()["code"] == "PRINT_IN_RUN"
    response = await mes.client.put(run, json={"status": "complete"})
    refused(response, 409, "The requested status transformation is not allowed.")
    await mes.update(run, {"printer": shop.printer})
    assert (await mes.get(run))["status"] == "queued"
    response = await mes.client.put(run, json={"status": "paused"})
    refused(response, 409, "The requested status transformation is not allowed.")
    await mes.update(run, {"status": "complete", "force": True})
    assert (await mes.get(run))["status"] == "complete"
    assert await shop.piece_statuses(order["pieces"]) == {"queued-for-post-processing"}


async def test_busy_printer_and_queue(mes: Mes) -> None:
    shop = await make_shop(mes)
    orders = [await shop.order(quantity=1) for _ in range(3)]
    runs = [await shop.run(o["by_step"][shop.steps[0]], printer=shop.printer) for o in orders]
    assert (await mes.get(shop.printer))["queue"] == runs

    await mes.client.post("/mes/run-queue/", json={"run": runs[2]})
    assert (await mes.get(shop.printer))["queue"] == [runs[2], runs[0], runs[1]]
    await mes.client.post(
        "/mes/run-queue/", json={"run": runs[2], "relative_to": runs[1], "position": "after"}
    )
    assert (await mes.get(shop.printer))["queue"] == runs
    response = await mes.client.post(
        "/mes/run-queue/", json={"run": runs[0], "relative_to": runs[1], "position": "beside"}
    )
    refused(response, 400, "Invalid position specified for queue modification.")

    await shop.status(runs[0], "in-progress")
    response = await mes.client.put(runs[1], json={"status": "in-progress"})
    refused(response, 400, "The system is busy printing. Please end the current process first.")
    response = await mes.client.post("/mes/run-queue/", json={"run": runs[0]})
    refused(response, 400, "The queue modification is not allowed at this time.")
    response = await mes.client.delete(shop.printer)
    assert response.status_code == 400
    assert "Cannot delete printer that has runs in queue." in response.json()["detail"]
    await shop.status(runs[0], "complete")
    await shop.status(runs[1], "in-progress")


async def test_cancel_error_and_retry(mes: Mes) -> None:
    shop = await make_shop(mes)
    order = await shop.order(quantity=2)
    printing = order["by_step"][shop.steps[0]]
    run = await shop.run(printing, printer=shop.printer)
    await shop.status(run, "cancelled")
    assert await shop.piece_statuses(order["pieces"]) == {"confirmed"}
    assert {(await mes.get(p))["run"] for p in printing} == {None}

    run = await shop.run(printing, printer=shop.printer)
    await shop.status(run, "in-progress")
    await shop.status(run, "error")
    assert await shop.piece_statuses(order["pieces"]) == {"error"}
    await shop.status(run, "queued")
    assert await shop.piece_statuses(order["pieces"]) == {"queued-for-printing"}
    await shop.status(run, "in-progress")
    await shop.status(run, "complete")
    assert len((await mes.list("run-actuals", **{"filter[run]": run}))["resources"]) == 2


async def test_another_bureau_sees_no_run(mes: Mes, other_mes: Mes) -> None:
    shop = await make_shop(mes)
    order = await shop.order(quantity=1)
    run = await shop.run(order["by_step"][shop.steps[0]], printer=shop.printer)
    assert (await other_mes.client.get(run)).status_code == 404
    assert (await other_mes.client.put(run, json={"status": "in-progress"})).status_code == 404
    response = await other_mes.client.post(
        "/mes/run/", json={"prints": order["by_step"][shop.steps[0]]}
    )
    assert response.status_code == 404
    assert (await other_mes.list("run"))["meta"]["count"] == 0
