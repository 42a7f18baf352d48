"""Jobs, serials and the audit log of the production-BOM face: a job is an MES line item, a
serial an MES piece with a serial number, its status moved through the piece state machine."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from tests.boms.factories import make_part
from tests.conftest import assert_problem
from tests.faces.production_factories import make_job, serials_of, set_status
from threadline.db import utcnow
from threadline.mes.demand.models import LineItem, Order, Piece


async def _count(sessionmaker, model) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- jobs -------------------------------------------------------------------------------------


async def test_a_job_is_an_mes_line_item_with_numbered_serials(alice, sessionmaker):
    job = await make_job(alice.client, "Frame weld", quantity=3, partType="Steel Plate")
    assert job["name"] == "Frame weld" and job["quantity"] == 3
    assert job["partType"] == "Steel Plate" and job["status"] == "new"
    assert job["serials"] == {
        "total": 3,
        "pending": 3,
        "inProgress": 0,
        "completed": 0,
        "scrapped": 0,
    }
    async with sessionmaker() as session:
        item = await session.get(LineItem, uuid.UUID(job["id"]))
        assert item is not None and item.quantity == 3 and item.order_id is not None
        order = await session.get(Order, item.order_id)
        assert order is not None and order.name == "Frame weld"
    # the same line item on the MES face
    mes = await alice.client.get(f"/mes/line-item/{job['id']}/")
    assert mes.status_code == 200, mes.text
    assert mes.json()["quantity"] == 3

    serials = await serials_of(alice.client, job["id"])
    numbers = [s["serialNumber"] for s in serials]
    assert len(set(numbers)) == 3 and all(n.startswith("SN-") for n in numbers)
    assert numbers == sorted(numbers)  # in copy order
    assert {s["status"] for s in serials} == {"pending"}
    assert {s["pieceStatus"] for s in serials} == {"new"}
    assert all(s["jobId"] == job["id"] for s in serials)


async def test_list_get_and_update_jobs(alice, vic):
    first = await make_job(alice.client, "First", quantity=1)
    second = await make_job(alice.client, "Second", quantity=2)
    listed = (await vic.client.get("/api/jobs")).json()
    assert listed["total"] == 2 and [j["id"] for j in listed["items"]] == [
        second["id"],
        first["id"],
    ]
    paged = (await vic.client.get("/api/jobs", params={"pageSize": 1, "page": 2})).json()
    assert [j["id"] for j in paged["items"]] == [first["id"]] and paged["pageSize"] == 1
    assert (await vic.client.get(f"/api/jobs/{first['id']}")).json()["name"] == "First"

    response = await alice.client.put(
        f"/api/jobs/{second['id']}", json={"name": "Second run", "quantity": 4, "partType": "Bolt"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["quantity"], body["partType"]) == ("Second run", 4, "Bolt")
    assert body["serials"]["total"] == 4  # the new pieces are numbered too
    numbers = [s["serialNumber"] for s in await serials_of(alice.client, second["id"])]
    assert len(set(numbers)) == 4
    assert_problem(await vic.client.put(f"/api/jobs/{first['id']}", json={"name": "x"}), 403)


async def test_job_changes_are_audited(alice, mia):
    job = await make_job(alice.client, quantity=1)
    await alice.client.put(f"/api/jobs/{job['id']}", json={"name": "Renamed", "partType": "Bolt"})
    await alice.client.put(f"/api/jobs/{job['id']}", json={"partType": "Bolt"})  # no change
    log = (await mia.client.get("/api/audit", params={"entityId": job["id"]})).json()["items"]
    assert [(e["entityType"], e["action"]) for e in log] == [
        ("production_job", "update"),
        ("mes.line-item", "update"),
        ("mes.line-item", "create"),
    ]
    assert log[0]["after"] == {"partType": "Bolt"} and log[1]["after"]["name"] == "Renamed"


async def test_quantity_follows_the_mes_rule_once_work_started(alice, sessionmaker):
    job = await make_job(alice.client, quantity=2)
    async with sessionmaker() as session:
        item = await session.get(LineItem, uuid.UUID(job["id"]))
        assert item is not None
        item.status = "confirmed"  # type: ignore[assignment]
        await session.commit()
    response = await alice.client.put(f"/api/jobs/{job['id']}", json={"quantity": 5})
    assert_problem(response, 400, "LINE_ITEM_IN_PRODUCTION")
    assert (await alice.client.get(f"/api/jobs/{job['id']}")).json()["quantity"] == 2


async def test_given_serial_numbers(alice, sessionmaker):
    job = await make_job(alice.client, quantity=2, serialNumbers=["CH-0001", "CH-0002"])
    assert [s["serialNumber"] for s in await serials_of(alice.client, job["id"])] == [
        "CH-0001",
        "CH-0002",
    ]
    before = (await _count(sessionmaker, LineItem), await _count(sessionmaker, Piece))
    bad = [
        ({"serialNumbers": ["A"]}, 400, "SERIAL_NUMBERS_MISMATCH"),
        ({"serialNumbers": ["A", "A"]}, 400, "DUPLICATE_SERIAL_NUMBER"),
        ({"serialNumbers": ["A", " "]}, 400, "INVALID_SERIAL_NUMBER"),
        ({"serialNumbers": ["CH-0002", "CH-0003"]}, 409, "SERIAL_NUMBER_TAKEN"),
    ]
    for extra, status, code in bad:
        response = await alice.client.post(
            "/api/jobs", json={"name": "Again", "quantity": 2, **extra}
        )
        assert_problem(response, status, code)
    assert (await _count(sessionmaker, LineItem), await _count(sessionmaker, Piece)) == before


async def test_serial_numbers_are_unique_per_workspace_only(alice, mallory):
    await make_job(alice.client, quantity=1, serialNumbers=["X-1"])
    theirs = await make_job(mallory.client, quantity=1, serialNumbers=["X-1"])
    assert (await serials_of(mallory.client, theirs["id"]))[0]["serialNumber"] == "X-1"


async def test_a_job_of_a_part_builds_its_newest_revision(alice, sessionmaker, mallory):
    part = await make_part(alice.client, "PLATE-7")
    unrevised = await make_job(alice.client, quantity=1, partId=part["id"])
    assert unrevised["partId"] == part["id"]
    versions = []
    for revision in ("1", "2"):
        made = await alice.client.post(
            f"/v1/parts/{part['id']}/versions", json={"revision": revision}
        )
        assert made.status_code == 201, made.text
        versions.append(made.json()["id"])
    job = await make_job(alice.client, quantity=1, partId=part["id"])
    async with sessionmaker() as session:
        first = await session.get(LineItem, uuid.UUID(unrevised["id"]))
        item = await session.get(LineItem, uuid.UUID(job["id"]))
        assert first is not None and first.part_version_id is None
        assert item is not None and str(item.part_version_id) == versions[-1]
    foreign = await mallory.client.post(
        "/api/jobs", json={"name": "x", "quantity": 1, "partId": part["id"]}
    )
    assert_problem(foreign, 404, "PART_NOT_FOUND")


async def test_bad_job_input_writes_nothing(alice, sessionmaker):
    before = (await _count(sessionmaker, Order), await _count(sessionmaker, LineItem))
    for body in (
        {"name": "x", "quantity": 0},
        {"name": "x", "quantity": 10_001},
        {"name": "", "quantity": 1},
        {"quantity": 1},
        {"name": "x", "quantity": "many"},
        {"name": "x", "quantity": 1, "partId": "nope"},
        {"name": "x", "quantity": 1, "colour": "red"},
    ):
        assert_problem(await alice.client.post("/api/jobs", json=body), 400, "VALIDATION_ERROR")
    assert_problem(
        await alice.client.post(
            "/api/jobs", json={"name": "x", "quantity": 1, "workspaceId": "globex"}
        ),
        404,
        "WORKSPACE_NOT_FOUND",
    )
    assert (await _count(sessionmaker, Order), await _count(sessionmaker, LineItem)) == before


async def test_another_workspaces_job_and_serial_are_404(alice, mallory):
    job = await make_job(alice.client, quantity=1)
    serial = (await serials_of(alice.client, job["id"]))[0]
    assert_problem(await mallory.client.get(f"/api/jobs/{job['id']}"), 404, "JOB_NOT_FOUND")
    assert_problem(
        await mallory.client.put(f"/api/jobs/{job['id']}", json={"name": "x"}), 404, "JOB_NOT_FOUND"
    )
    assert_problem(
        await mallory.client.get("/api/serials", params={"jobId": job["id"]}), 404, "JOB_NOT_FOUND"
    )
    assert_problem(
        await mallory.client.get(f"/api/serials/{serial['id']}"), 404, "SERIAL_NOT_FOUND"
    )
    patch = await mallory.client.patch(f"/api/serials/{serial['id']}", json={"status": "completed"})
    assert_problem(patch, 404, "SERIAL_NOT_FOUND")
    assert (await mallory.client.get("/api/jobs")).json()["total"] == 0


# --- serials ----------------------------------------------------------------------------------


async def test_serial_status_moves_through_the_piece_state_machine(alice):
    job = await make_job(alice.client, quantity=4)
    a, b, c, d = await serials_of(alice.client, job["id"])
    moved = await set_status(alice.client, a["id"], "in_progress")
    assert (moved["status"], moved["pieceStatus"]) == ("in_progress", "printing")
    done = await set_status(alice.client, a["id"], "completed")
    assert (done["status"], done["pieceStatus"]) == ("completed", "complete")
    # new → complete walks the edges a run would take
    assert (await set_status(alice.client, b["id"], "completed"))["pieceStatus"] == "complete"
    # scrapping: a piece not started is cancelled, one in progress is incomplete
    assert (await set_status(alice.client, c["id"], "scrapped"))["pieceStatus"] == "cancelled"
    await set_status(alice.client, d["id"], "in_progress")
    assert (await set_status(alice.client, d["id"], "scrapped"))["pieceStatus"] == "incomplete"
    # the MES face shows the same piece status
    piece = (await alice.client.get(f"/mes/piece/{a['id']}/")).json()
    assert piece["status"] == "complete"
    # the same status again is no change
    assert (await set_status(alice.client, a["id"], "completed"))["status"] == "completed"
    # no edge leads back from complete, or from in progress to pending
    for serial, target in ((a, "pending"), (a, "in_progress"), (c, "completed")):
        response = await alice.client.patch(f"/api/serials/{serial['id']}", json={"status": target})
        assert_problem(response, 400, "STATUS_TRANSITION_NOT_ALLOWED")
    busy = await make_job(alice.client, quantity=1)
    [e] = await serials_of(alice.client, busy["id"])
    await set_status(alice.client, e["id"], "in_progress")
    back = await alice.client.patch(f"/api/serials/{e['id']}", json={"status": "pending"})
    assert_problem(back, 400, "STATUS_TRANSITION_NOT_ALLOWED")
    assert (await alice.client.get(f"/api/serials/{e['id']}")).json()["status"] == "in_progress"
    for bad in ({"status": "done"}, {"status": None}, {}, {"status": "completed", "x": 1}):
        response = await alice.client.patch(f"/api/serials/{e['id']}", json=bad)
        assert_problem(response, 400, "VALIDATION_ERROR")


async def test_serials_filter_and_page(alice, vic):
    first = await make_job(alice.client, quantity=3)
    second = await make_job(alice.client, quantity=2)
    [s1, *_rest] = await serials_of(alice.client, first["id"])
    await set_status(alice.client, s1["id"], "completed")
    every = (await vic.client.get("/api/serials")).json()
    assert every["total"] == 5 and set(every) == {"items", "total", "page", "pageSize"}
    done = (await vic.client.get("/api/serials", params={"status": "completed"})).json()
    assert [s["id"] for s in done["items"]] == [s1["id"]]
    pending = await serials_of(vic.client, first["id"], status="pending")
    assert len(pending) == 2
    page = (
        await vic.client.get(
            "/api/serials", params={"jobId": second["id"], "pageSize": 1, "page": 2}
        )
    ).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    assert_problem(await vic.client.get("/api/serials", params={"status": "done"}), 400)
    assert_problem(await vic.client.get("/api/serials", params={"pageSize": 501}), 400)
    one = (await vic.client.get(f"/api/serials/{s1['id']}")).json()
    assert one["serialNumber"] == s1["serialNumber"] and one["status"] == "completed"
    assert_problem(
        await vic.client.patch(f"/api/serials/{s1['id']}", json={"status": "scrapped"}), 403
    )


# --- audit ------------------------------------------------------------------------------------


async def test_audit_is_filtered_and_paged(alice, mia, vic):
    job = await make_job(alice.client, quantity=1)
    [serial] = await serials_of(alice.client, job["id"])
    await set_status(alice.client, serial["id"], "completed")
    bom = await alice.client.post("/api/bom", json={"name": "Audited"})
    bom_id = bom.json()["id"]
    await alice.client.post(
        f"/api/bom/{bom_id}/edit", json={"entries": [], "changeDescription": "why"}
    )

    everything = (await mia.client.get("/api/audit")).json()
    assert set(everything) == {"items", "total", "page", "pageSize"} and everything["total"] >= 5
    entry = everything["items"][0]
    assert set(entry) == {
        "id",
        "action",
        "entityType",
        "entityId",
        "userId",
        "user",
        "workspaceId",
        "before",
        "after",
        "createdAt",
    }
    edited = (await mia.client.get("/api/audit", params={"action": "bom_edited"})).json()
    assert [e["entityId"] for e in edited["items"]] == [bom_id]
    piece = (
        await mia.client.get(
            "/api/audit", params={"entityType": "mes.piece", "entityId": serial["id"]}
        )
    ).json()
    assert piece["items"][0]["after"]["status"] == "complete"
    assert piece["items"][0]["after"]["serial_status"] == "completed"
    mine = (await mia.client.get("/api/audit", params={"userId": str(alice.user.id)})).json()
    assert mine["total"] == everything["total"]
    assert (await mia.client.get("/api/audit", params={"userId": str(mia.user.id)})).json()[
        "total"
    ] == 0
    future = (utcnow() + timedelta(hours=1)).isoformat()
    past = (utcnow() - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    assert (await mia.client.get("/api/audit", params={"since": future})).json()["total"] == 0
    assert (await mia.client.get("/api/audit", params={"until": past})).json()["total"] == 0
    recent = await mia.client.get("/api/audit", params={"since": past, "until": future})
    assert recent.json()["total"] == everything["total"]
    paged = (await mia.client.get("/api/audit", params={"pageSize": 2, "page": 2})).json()
    assert [e["id"] for e in paged["items"]] == [e["id"] for e in everything["items"][2:4]]
    assert_problem(await mia.client.get("/api/audit", params={"since": "yesterday"}), 400)
    assert_problem(await vic.client.get("/api/audit"), 403)
