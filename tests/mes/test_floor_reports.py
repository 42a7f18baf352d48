"""Traceability reports (``/traceability-report/``, ``/material-batch-traceability-report/``):
a durable job builds the document from the piece's thread and the audit log, limited to the
requested filter groups; the HTML escapes user text; downloads go through signed links;
failures end in ``error``; another bureau's rows are 404."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy import update

from tests.conftest import assert_problem
from tests.mes.conftest import Mes
from tests.mes.floor import Shop, make_shop
from tests.mes.test_crosscut_events import counted
from tests.mes.test_material import act, lot
from tests.mes.test_quality import _checklist, _report
from threadline.jobs import service as jobs
from threadline.jobs.models import Job, JobStatus
from threadline.mes.floor.reports import service as reports
from threadline.mes.floor.reports import thread
from threadline.mes.floor.reports.models import TraceabilityReport

SCRIPT = "<script>alert(1)</script>"


def _id(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[1]


async def build(app: Any) -> list[Any]:
    """Run the pending jobs as the server's worker would (the test app has no lifespan)."""
    runtime = app.state.runtime
    jobs.register(reports.JOB_KIND, reports.job_handler(runtime.blobs), replace=True)
    return await jobs.run_pending(runtime.sessionmaker)


async def _finished_piece(mes: Mes, shop: Shop) -> dict[str, Any]:
    """A piece printed (consuming a split batch of a lot), then post-processed, with a comment,
    a time entry note and a work instruction report on the way."""
    lot_uri, initial = await lot(mes, delivery_id="DL-7")
    split = await act(mes, {"action_type": "split_batch", "source_batch": initial, "quantity": 15})
    order = await shop.order(quantity=1, name=f"Gear {SCRIPT}")
    piece = order["pieces"][0]
    printing = await shop.run(order["by_step"][shop.steps[0]], printer=shop.printer, name="Build 7")
    await shop.status(printing, "in-progress")
    (actual,) = (await mes.list("run-actuals", **{"filter[run]": printing}))["resources"]
    await mes.create(
        "run-actuals-additive",
        {"run_actual": actual["uri"], "material_batch": split, "base_material_used": 6.5},
    )
    await mes.create(
        "time-entry",
        {
            "category": "attending",
            "related_table_name": "run",
            "related_uuid": _id(printing),
            "start_time": "2026-01-05T08:00:00Z",
            "end_time": "2026-01-05T08:30:00Z",
            "notes": "Recoater streak at layer 210",
        },
    )
    await shop.status(printing, "complete")
    blasting = await shop.run(
        order["by_step"][shop.steps[1]], post_processor=shop.post_processor, name="Blast 3"
    )
    await shop.status(blasting, "in-progress")
    checklist = await mes.get(
        await _checklist(mes, "Depowder", {"description": "Wall thickness", "report_type": "text"})
    )
    await _report(
        mes, checklist["work_instructions"][0]["uri"], order["by_step"][shop.steps[1]], "2.0 mm"
    )
    await shop.status(blasting, "complete")
    await mes.create(
        "comment",
        {"related_table_name": "piece", "related_uuid": _id(piece), "text": f"Looks {SCRIPT}"},
    )
    return {
        **order,
        "piece": piece,
        "printing": printing,
        "blasting": blasting,
        "lot": lot_uri,
        "initial": initial,
        "split": split,
    }


async def _download(mes: Mes, url: str) -> Any:
    response = await mes.client.get(url)
    assert response.status_code == 200, response.text
    return response


async def test_a_piece_report_is_built_by_a_job_and_downloaded(mes: Mes, app: Any) -> None:
    shop = await make_shop(mes)
    made = await _finished_piece(mes, shop)
    uri = await mes.create(
        "traceability-report", {"piece": made["piece"], "filters": list(thread.FILTERS)}
    )
    report = await mes.get(uri)
    assert report["status"] == "pending" and report["content"] is None
    assert report["piece"] == made["piece"] and report["filters"] == list(thread.FILTERS)
    assert report["user"] == f"http://testserver/mes/users/{mes.actor.user.id}/"
    assert report["bureau"] == (await mes.get(made["piece"]))["bureau"]
    assert report["uuid"] == _id(uri) and report["uri"] == uri and report["created"]

    (job,) = await build(app)
    assert job.status.value == "complete", job.error
    report = await mes.get(uri)
    assert report["status"] == "complete" and report["error"] is None
    assert report["content"].startswith(f"{uri}content/?expires=")

    page = await _download(mes, report["content"])
    assert page.headers["content-type"].startswith("text/html")
    assert "attachment" in page.headers["content-disposition"]
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none'
    text = page.text
    assert SCRIPT not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Build 7" in text and "Blast 3" in text and "Recoater streak" in text

    doc = orjson.loads((await _download(mes, report["content_json"])).content)
    assert doc["piece"] == f"/mes/piece/{_id(made['piece'])}/"
    assert doc["trace"]["lineItem"]["name"] == f"Gear {SCRIPT}"  # the data as it is, unescaped
    printing, _blasting, _shipping = doc["trace"]["steps"]
    assert printing["run"]["material"][0]["batch"] == _id(made["split"])
    assert printing["run"]["material"][0]["lots"][0]["deliveryId"] == "DL-7"
    groups = {e["group"] for e in doc["events"]}
    assert {
        "print_events",
        "post_process_events",
        "manual_notes",
        "preparation_events",
        "work_instruction_report",
        "other",
    } <= groups
    by_reference = {e["reference"]: e["group"] for e in doc["events"]}
    assert by_reference[f"/mes/run/{_id(made['printing'])}/"] == "print_events"
    assert by_reference[f"/mes/run/{_id(made['blasting'])}/"] == "post_process_events"
    assert by_reference[f"/mes/piece/{_id(made['piece'])}/"] == "other"
    assert by_reference[f"/mes/order/{_id(made['uri'])}/"] == "preparation_events"
    notes = [e for e in doc["events"] if e["group"] == "manual_notes"]
    assert {e["kind"] for e in notes} == {"comment", "time-entry"}
    reported = [e for e in doc["events"] if e["group"] == "work_instruction_report"]
    assert reported[0]["label"] == "work instruction report: Wall thickness"
    times = [e["created"] for e in doc["events"]]
    assert times == sorted(times)

    listed = await mes.list("traceability-report", **{"filter[piece]": made["piece"]})
    assert [r["uri"] for r in listed["resources"]] == [uri]
    assert listed["resources"][0]["status"] == "complete"


async def test_filters_limit_the_events(mes: Mes, app: Any) -> None:
    shop = await make_shop(mes)
    made = await _finished_piece(mes, shop)
    asked = {
        "print": ["print_events"],
        "notes": ["manual_notes", "manual_notes"],
        "checklists": ["work_checklist_changes"],
    }
    uris = {
        name: await mes.create("traceability-report", {"piece": made["piece"], "filters": f})
        for name, f in asked.items()
    }
    assert (await mes.get(uris["notes"]))["filters"] == ["manual_notes"]  # each group once
    assert [j.status.value for j in await build(app)] == ["complete"] * 3
    docs = {
        name: orjson.loads((await _download(mes, (await mes.get(uri))["content_json"])).content)
        for name, uri in uris.items()
    }
    printed = docs["print"]["events"]
    assert printed and {e["group"] for e in printed} == {"print_events"}
    references = {e["reference"] for e in printed}
    assert f"/mes/run/{_id(made['printing'])}/" in references
    assert f"/mes/run/{_id(made['blasting'])}/" not in references
    assert {e["kind"] for e in printed} >= {"run", "print", "run-actuals-additive"}
    notes = docs["notes"]["events"]
    assert notes and {e["group"] for e in notes} == {"manual_notes"}
    assert any(c["current_value"] == f"Looks {SCRIPT}" for e in notes for c in e["changes"])
    checklists = docs["checklists"]["events"]
    kinds = {e["kind"] for e in checklists}
    assert "work-checklist" in kinds
    assert kinds <= {"work-checklist", "work-instruction", "work-checklist-linking"}
    # the thread itself is in every report, whatever the filters
    assert all(d["trace"]["piece"]["id"] == _id(made["piece"]) for d in docs.values())
    page = (await _download(mes, (await mes.get(uris["print"]))["content"])).text
    assert "Recoater streak" not in page and "Build 7" in page


async def test_bad_requests_and_other_bureaus(mes: Mes, other_mes: Mes, app: Any) -> None:
    shop = await make_shop(mes)
    order = await shop.order(quantity=1)
    piece = order["pieces"][0]
    unknown = await mes.client.post(
        "/mes/traceability-report/", json={"piece": piece, "filters": ["print_events", "gossip"]}
    )
    body = assert_problem(unknown, 400, "INVALID_FIELD")
    assert body["field"] == "filters" and body["unknown"] == ["gossip"]
    assert "cad_model_changes" in body["detail"] and "preparation_events" in body["detail"]
    for bad in ({"piece": piece}, {"piece": piece, "filters": []}, {"filters": ["other"]}):
        response = await mes.client.post("/mes/traceability-report/", json=bad)
        assert response.status_code == 400, (bad, response.text)
    not_a_list = await mes.client.post(
        "/mes/traceability-report/", json={"piece": piece, "filters": "other"}
    )
    assert_problem(not_a_list, 400, "INVALID_FIELD")
    wrong_kind = await mes.client.post(
        "/mes/traceability-report/", json={"piece": order["uri"], "filters": ["other"]}
    )
    assert_problem(wrong_kind, 400, "INVALID_FIELD")

    theirs = await other_mes.client.post(
        "/mes/traceability-report/", json={"piece": piece, "filters": ["other"]}
    )
    assert_problem(theirs, 404, "RESOURCE_NOT_FOUND")
    _, batch = await lot(mes)
    theirs = await other_mes.client.post(
        "/mes/material-batch-traceability-report/", json={"material_batch": batch}
    )
    assert_problem(theirs, 404, "RESOURCE_NOT_FOUND")

    uri = await mes.create("traceability-report", {"piece": piece, "filters": ["other"]})
    hidden = await other_mes.client.get(uri)
    assert assert_problem(hidden, 404)["detail"] == "The requested report cannot be found."
    assert (await other_mes.list("traceability-report"))["meta"]["count"] == 0
    assert (await mes.client.put(uri, json={"filters": ["manual_notes"]})).status_code == 405
    assert (await mes.client.delete(uri)).status_code == 405
    missing = "/mes/material-batch-traceability-report/00000000-0000-0000-0000-000000000000/"
    assert (
        assert_problem(await mes.client.get(missing), 404)["detail"]
        == "The requested material batch report cannot be found."
    )

    await build(app)
    link = (await mes.get(uri))["content"]
    tampered = link.replace("sig=", "sig=0")
    assert_problem(await mes.client.get(tampered), 403, "SIGNATURE_INVALID")
    assert (await mes.client.get(link.split("?")[0])).status_code in (400, 422)


async def test_a_material_batch_report_follows_the_batch_both_ways(mes: Mes, app: Any) -> None:
    shop = await make_shop(mes)
    made = await _finished_piece(mes, shop)
    uri = await mes.create(
        "material-batch-traceability-report",
        # what the reference marks required but the server sets is ignored
        {"material_batch": made["initial"], "status": "complete", "content": "x"},
    )
    report = await mes.get(uri)
    assert report["status"] == "pending" and report["material_batch"] == made["initial"]
    assert report["content"] is None and report["user"].endswith(f"/users/{mes.actor.user.id}/")
    (job,) = await build(app)
    assert job.status.value == "complete", job.error
    report = await mes.get(uri)
    assert report["status"] == "complete"
    doc = orjson.loads((await _download(mes, report["content_json"])).content)
    assert doc["material_batch"]["uri"] == f"/mes/material-batch/{_id(made['initial'])}/"
    (child,) = doc["genealogy"]["children_tree"]
    assert child["batch"] == f"/mes/material-batch/{_id(made['split'])}/"
    assert child["action_type"] == "split_batch"
    assert [lot_["delivery_id"] for lot_ in doc["material_lots"]] == ["DL-7"]
    (used,) = doc["consumption"]  # the split batch it went into fed the printing run
    assert used["run"] == f"/mes/run/{_id(made['printing'])}/" and used["run_name"] == "Build 7"
    assert used["base_material_used"] == 6.5
    assert [p["piece"] for p in used["pieces"]] == [f"/mes/piece/{_id(made['piece'])}/"]
    assert {e["kind"] for e in doc["events"]} >= {"material-batch-action"}
    page = (await _download(mes, report["content"])).text
    assert "Build 7" in page and "DL-7" in page and SCRIPT not in page


async def test_a_failed_build_ends_in_error_never_pending(
    mes: Mes, app: Any, monkeypatch: Any
) -> None:
    shop = await make_shop(mes)
    order = await shop.order(quantity=1)
    piece = order["pieces"][0]

    async def broken(*_args: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(thread, "piece_report", broken)
    uri = await mes.create("traceability-report", {"piece": piece, "filters": ["other"]})
    (job,) = await build(app)
    assert job.status.value == "complete"  # the job did its work: recording the failure
    report = await mes.get(uri)
    assert report["status"] == "error" and report["content"] is None
    assert report["error"] == reports.FAILED.format(name="RuntimeError")

    # a job that ended without finishing its report (its server kept dying) shows the report
    # as failed too, and one a worker holds as processing
    monkeypatch.undo()
    stuck = await mes.create("traceability-report", {"piece": piece, "filters": ["other"]})
    job_id = await _job_of(app, stuck)
    await _set_job(app, job_id, JobStatus.processing, None)
    assert (await mes.get(stuck))["status"] == "processing"
    await _set_job(app, job_id, JobStatus.error, jobs.ABANDONED.format(attempts=5))
    shown = await mes.get(stuck)
    assert shown["status"] == "error" and shown["error"] == jobs.ABANDONED.format(attempts=5)
    assert shown["content"] is None


async def _job_of(app: Any, uri: str) -> Any:
    async with app.state.runtime.sessionmaker() as session:
        row = await session.get(TraceabilityReport, uuid.UUID(_id(uri)))
        assert row is not None and row.job_id is not None
        return row.job_id


async def _set_job(app: Any, job_id: Any, status: JobStatus, error: str | None) -> None:
    async with app.state.runtime.sessionmaker() as session:
        await session.execute(
            update(Job).where(Job.id == job_id).values(status=status, error=error)
        )
        await session.commit()


async def test_a_report_is_a_fixed_number_of_statements(mes: Mes, app: Any, engine: Any) -> None:
    """Whatever the piece's history: one printing run, or every step with comments."""
    shop = await make_shop(mes)
    short, long = await shop.order(quantity=1), await shop.order(quantity=3)
    run = await shop.run(short["by_step"][shop.steps[0]], printer=shop.printer)
    await shop.status(run, "in-progress")
    await shop.status(run, "complete")
    machines = ({"printer": shop.printer}, {"post_processor": shop.post_processor}, {})
    for step, machine in zip(shop.steps, machines, strict=True):
        run = await shop.run(long["by_step"][step], **machine)
        await shop.status(run, "in-progress")
        await shop.status(run, "complete")
        for text in ("first", "second"):
            await mes.create(
                "comment", {"related_table_name": "run", "related_uuid": _id(run), "text": text}
            )
    counts = []
    for order in (short, long):
        await mes.create(
            "traceability-report", {"piece": order["pieces"][0], "filters": list(thread.FILTERS)}
        )
        with counted(engine) as statements:
            (job,) = await build(app)
        assert job.status.value == "complete", job.error
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
