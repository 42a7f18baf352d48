"""Schedules (``/schedule_runs/``): queue order, durations, downtimes and work calendars; the
floor helpers (pieces-by-run, line-items-by-run, the ADD RUN list, time entries, shipment
split); the number of statements of a run's completion does not grow with its prints."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.mes.conftest import Mes
from tests.mes.floor import make_shop
from tests.mes.test_crosscut_events import counted
from threadline.mes.floor.schedule import Week, plan

MONDAY = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


def test_plan_runs_back_to_back_around_downtimes_and_within_hours() -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    slots = plan(MONDAY, [(a, 3600), (b, 7200)], [], None)
    assert [(s.start, s.end) for s in slots] == [
        (MONDAY, MONDAY + timedelta(hours=1)),
        (MONDAY + timedelta(hours=1), MONDAY + timedelta(hours=3)),
    ]
    down = (MONDAY + timedelta(minutes=30), MONDAY + timedelta(hours=2))
    slots = plan(MONDAY, [(a, 3600), (b, 600)], [down], None)
    assert slots[0].start == down[1] and slots[1].start == down[1] + timedelta(hours=1)
    # worked 08:00-16:00 on weekdays: a run starts inside hours, and may run past them
    week = Week({d: (8 * 3600, 16 * 3600) for d in range(5)})
    slots = plan(MONDAY, [(a, 6 * 3600), (b, 6 * 3600), (c, 3600)], [], week)
    assert slots[0].start == MONDAY + timedelta(hours=8)
    assert slots[1].start == MONDAY + timedelta(hours=14)  # starts at 14:00, ends 20:00
    assert slots[2].start == MONDAY + timedelta(days=1, hours=8)
    friday_evening = MONDAY + timedelta(days=4, hours=17)
    assert plan(friday_evening, [(a, 60)], [], week)[0].start == MONDAY + timedelta(days=7, hours=8)
    assert plan(MONDAY, [(a, 60)], [], Week({}))[0].start is None


async def test_schedule_runs_estimates_a_queue(mes: Mes) -> None:
    shop = await make_shop(mes)
    runs = []
    for _ in range(2):
        order = await shop.order(quantity=1)
        runs.append(await shop.run(order["by_step"][shop.steps[0]], printer=shop.printer))
    now = datetime.now(UTC)
    await mes.create(
        "downtime",
        {
            "printer": shop.printer,
            "description": "Filter change",
            "start": (now + timedelta(minutes=30)).isoformat(),
            "finish": (now + timedelta(hours=3)).isoformat(),
        },
    )
    response = await mes.client.post(
        "/mes/schedule_runs/", json={"run": runs[0], "estimates": {"time": {"duration": 3600}}}
    )
    assert response.status_code == 204, response.text
    first = (await mes.client.get(response.headers["location"])).json()
    assert first["run"] == runs[0] and first["edited_by"]
    assert first["estimates"]["run_type"] == "printing"
    assert first["estimates"]["time"]["duration"] == 3600

    def at(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    start = at(first["estimates"]["time"]["start"])
    assert start >= now + timedelta(hours=3) - timedelta(seconds=1)  # the downtime blocks
    second = (
        await mes.client.get(f"/mes/schedule_runs/{runs[1].rstrip('/').rsplit('/', 1)[1]}/")
    ).json()
    assert at(second["estimates"]["time"]["start"]) == at(first["estimates"]["time"]["end"])
    listed = await mes.list("schedule_runs")
    assert [e["run"] for e in listed["resources"]] == runs
    assert (await mes.get(runs[0]))["estimated_start"] == first["estimates"]["time"]["start"]
    bad = await mes.client.post(
        "/mes/schedule_runs/", json={"run": runs[0], "estimates": {"time": {"duration": -5}}}
    )
    assert bad.status_code == 400


async def test_floor_helpers(mes: Mes) -> None:
    shop = await make_shop(mes)
    order = await shop.order(quantity=3)
    waiting = await mes.list("line-item-with-available-for-run-prints")
    assert [(i["uri"], i["available_quantity"]) for i in waiting["resources"]] == [
        (order["line_item"], 3)
    ]
    run = await shop.run(order["by_step"][shop.steps[0]][:2], printer=shop.printer)
    waiting = await mes.list("line-item-with-available-for-run-prints")
    assert waiting["resources"][0]["available_quantity"] == 1
    by_run = await mes.list("pieces-by-run", **{"filter[run]": run})
    assert by_run["meta"]["count"] == 2
    row = by_run["resources"][0]
    assert row["line_item"] == order["line_item"] and row["order_name"] == "O"
    assert row["piece_status"] == "queued-for-printing" and row["reworked"] is False
    assert row["workflow_name"] == "SLS part"
    summary = await mes.list("line-items-by-run", **{"filter[run]": run})
    assert summary["resources"] == [
        {
            "run": run,
            "line_item": order["line_item"],
            "original_piece_quantity": 3,
            "total_piece_quantity": 2,
        }
    ]
    response = await mes.client.get("/mes/pieces-by-run/")
    assert response.status_code == 400  # filter[run] is required

    entry = await mes.create(
        "time-entry",
        {
            "category": "attending",
            "related_table_name": "run",
            "related_uuid": run.rstrip("/").rsplit("/", 1)[1],
            "start_time": "2026-12-04T08:00:00Z",
        },
    )
    await mes.update(entry, {"end_time": "2026-12-04T08:30:00Z"})
    body = await mes.get(entry)
    assert body["completed_by"] and body["created_by"]
    response = await mes.client.put(entry, json={"end_time": "2026-12-04T07:00:00Z"})
    assert response.status_code == 400
    response = await mes.client.post(
        "/mes/time-entry/",
        json={
            "category": "attending",
            "related_table_name": "run",
            "related_uuid": str(uuid.uuid4()),
            "start_time": "2026-12-04T08:00:00Z",
        },
    )
    assert response.status_code == 404


async def test_split_shipment(mes: Mes) -> None:
    shop = await make_shop(mes)
    order = await shop.order(quantity=3)
    for step in shop.steps[:2]:
        run = await shop.run(
            order["by_step"][step],
            **(
                {"printer": shop.printer}
                if step == shop.steps[0]
                else {"post_processor": shop.post_processor}
            ),
        )
        await shop.status(run, "in-progress")
        await shop.status(run, "complete")
    shipping = await shop.run(order["by_step"][shop.steps[2]])
    ready = order["pieces"][:2]
    response = await mes.client.post("/mes/shipment/split/", json={"pieces": ready})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["message"] == (
        "Split shipping completed successfully. 2 pieces moved to fast-track shipping."
    )
    assert len((await mes.get(body["run"]))["prints"]) == 2
    assert len((await mes.get(shipping))["prints"]) == 1
    assert (await mes.get(body["shipment"]))["order"] == order["uri"]
    response = await mes.client.post("/mes/shipment/split/", json={"pieces": [order["uri"]]})
    assert response.status_code == 400
    assert (await mes.client.post("/mes/shipment/", json={})).status_code == 405


async def test_completing_a_run_is_a_constant_number_of_statements(mes: Mes, engine: Any) -> None:
    shop = await make_shop(mes)
    counts = []
    for quantity in (3, 30):
        order = await shop.order(quantity=quantity)
        run = await shop.run(order["by_step"][shop.steps[0]], printer=shop.printer)
        await shop.status(run, "in-progress")
        with counted(engine) as statements:
            await shop.status(run, "complete")
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
