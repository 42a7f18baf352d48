"""The quality room: work checklists with versioned work instructions, linkings and their
inheritance (``/work-checklist-for/``), reports with a server-side ``outside_threshold``, and
the completion check the floor calls before a run completes."""

from __future__ import annotations

import uuid

from tests.conftest import assert_problem
from tests.mes.conftest import Mes
from tests.mes.floor import Shop, make_shop
from tests.mes.test_crosscut_events import counted
from threadline.mes.quality.service import completion_blockers


def _id(uri: str) -> uuid.UUID:
    return uuid.UUID(uri.rstrip("/").rsplit("/", 1)[-1])


async def _checklist(mes: Mes, name: str, *instructions: dict) -> str:
    return await mes.create(
        "work-checklist", {"name": name, "work_instructions": list(instructions)}
    )


async def _for(mes: Mes, related: str) -> list[dict]:
    response = await mes.client.get(
        "/mes/work-checklist-for/", params={"filter[related_uri]": related}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["related_uri"] == related
    return body["work_checklist_linkings"]


async def _link(mes: Mes, checklist: str, related: str, step: str | None = None) -> str:
    body = {"work_checklist": checklist, "related_uri": related}
    if step:
        body["process_step"] = step
    return await mes.create("work-checklist-linking", body)


async def _report(mes: Mes, instruction: str, prints: list[str], report: str | None) -> str:
    return await mes.create(
        "work-instruction-report",
        {"work_instruction": instruction, "prints": prints, "report": report},
    )


# --- checklists and instructions ----------------------------------------------------------------


async def test_a_checklist_keeps_its_instructions_in_order_and_counts_versions(mes: Mes) -> None:
    uri = await _checklist(
        mes,
        "Depowder",
        {"description": "Wall thickness", "report_type": "number", "report_units": "mm",
         "required": True, "threshold_type": "between", "threshold": {"min": 1.9, "max": 2.1},
         "threshold_action": "error"},
        {"description": "Photo of the part", "report_type": "picture"},
        {"description": "Notes"},
    )  # fmt: skip
    body = await mes.get(uri)
    assert body["version"] == 1 and body["name"] == "Depowder"
    first, second, third = body["work_instructions"]
    assert [i["position"] for i in body["work_instructions"]] == [1, 2, 3]
    assert first["threshold"] == {"min": 1.9, "max": 2.1} and first["required"] is True
    assert first["work_checklist"] == uri and first["report_units"] == "mm"
    assert second["report_type"] == "picture"
    assert third["report_type"] == "text" and third["required"] is False
    assert third["threshold_type"] is None and third["threshold_action"] is None

    await mes.update(uri, {"work_instructions": [{"description": "Only step", "required": True}]})
    body = await mes.get(uri)
    assert body["version"] == 2
    assert [i["description"] for i in body["work_instructions"]] == ["Only step"]
    # The instruction of version 1 stays readable: reports on it still point somewhere.
    assert (await mes.get(first["uri"]))["description"] == "Wall thickness"

    await mes.update(uri, {"description": "after blasting"})
    body = await mes.get(uri)
    assert body["version"] == 3 and body["description"] == "after blasting"
    assert [i["description"] for i in body["work_instructions"]] == ["Only step"]

    listed = await mes.list("work-checklist")
    assert [c["uri"] for c in listed["resources"]] == [uri]
    assert listed["resources"][0]["work_instructions"][0]["description"] == "Only step"


async def test_bad_instructions_are_refused_with_a_code(mes: Mes) -> None:
    cases = [
        ({"threshold_type": "between", "threshold": {"min": 3, "max": 1}}, "INVALID_THRESHOLD"),
        ({"threshold_type": "tolerance", "threshold": {"value": 1}}, "INVALID_THRESHOLD"),
        ({"threshold": {"value": 1}}, "INVALID_THRESHOLD"),
        ({"threshold_type": "between", "threshold": {"min": 1}}, "INVALID_THRESHOLD"),
        ({"threshold_type": "less-than", "threshold": {"value": "x"}}, "INVALID_THRESHOLD"),
        ({"threshold_type": "contains"}, "INVALID_THRESHOLD"),
        ({"report_type": "essay"}, "INVALID_FIELD"),
        ({"report_type": "single-selection-dropdown"}, "CHOICES_REQUIRED"),
        ({"colour": "red"}, "UNKNOWN_FIELD"),
    ]
    for instruction, code in cases:
        response = await mes.client.post(
            "/mes/work-checklist/", json={"name": "x", "work_instructions": [instruction]}
        )
        assert_problem(response, 400, code)
    response = await mes.client.post(
        "/mes/work-checklist/", json={"name": "x", "work_instructions": {}}
    )
    assert_problem(response, 400)
    assert (await mes.list("work-checklist"))["meta"]["count"] == 0


async def test_floating_instructions_are_served_apart_from_checklists(mes: Mes) -> None:
    floating = await mes.create(
        "work-instruction", {"description": "Template", "report_type": "checkbox"}
    )
    checklist = await _checklist(mes, "C", {"description": "Owned"})
    owned = (await mes.get(checklist))["work_instructions"][0]["uri"]
    listed = await mes.list("work-instruction")
    assert [i["uri"] for i in listed["resources"]] == [floating]
    assert (await mes.get(floating))["work_checklist"] is None
    assert_problem(
        await mes.client.put(owned, json={"description": "x"}), 400, "WORK_INSTRUCTION_OF_CHECKLIST"
    )
    assert_problem(await mes.client.delete(owned), 400, "WORK_INSTRUCTION_OF_CHECKLIST")
    await mes.update(floating, {"threshold_type": "equals-to", "threshold": {"value": "yes"}})
    assert_problem(
        await mes.client.put(floating, json={"threshold": {"value": 1, "x": 2}}),
        400,
        "INVALID_THRESHOLD",
    )
    await mes.delete(floating)


async def test_another_bureau_sees_nothing(mes: Mes, other_mes: Mes) -> None:
    checklist = await _checklist(mes, "C", {"description": "a"})
    assert_problem(await other_mes.client.get(checklist), 404)
    assert (await other_mes.list("work-checklist"))["meta"]["count"] == 0
    rival_type = await other_mes.create("printer-type", {"name": "R"})
    response = await mes.client.post(
        "/mes/work-checklist-linking/",
        json={"work_checklist": checklist, "related_uri": rival_type},
    )
    assert_problem(response, 404)


# --- linkings and inheritance -------------------------------------------------------------------


async def test_checklists_are_inherited_print_step_item_workflow_workstation_type(mes: Mes) -> None:
    shop = await make_shop(mes)
    order = await shop.order(quantity=1)
    print_uri = order["by_step"][shop.steps[0]][0]
    blast_print = order["by_step"][shop.steps[1]][0]
    line_item = order["line_item"]

    async def resolved(uri: str = print_uri) -> list[str]:
        return [link["work_checklist"]["name"] for link in await _for(mes, uri)]

    assert await resolved() == []
    chain = [
        ("type", shop.printer_type, None),
        ("workflow", shop.workflow, None),
        ("line item", line_item, None),
        ("step", shop.steps[0], None),
        ("workflow step", shop.workflow, shop.steps[0]),
        ("line item step", line_item, shop.steps[0]),
        ("print", print_uri, None),
    ]
    for name, related, step in chain:
        checklist = await _checklist(mes, name, {"description": f"{name} check"})
        await _link(mes, checklist, related, step)
        assert await resolved() == [name]
    # The blasting print shares the line item and workflow, not the print's own linkings.
    assert await resolved(blast_print) == ["line item"]
    # A piece answers for each of its prints.
    assert sorted(await resolved(order["pieces"][0])) == ["line item", "print"]
    # Other kinds answer their direct linkings.
    assert await resolved(shop.printer_type) == ["type"]
    direct = await _for(mes, shop.workflow)
    assert {(d["work_checklist"]["name"], d["process_step"]) for d in direct} == {
        ("workflow", None),
        ("workflow step", shop.steps[0]),
    }
    body = direct[0]
    assert body["related_uri"] == shop.workflow and body["work_checklist"]["work_instructions"]


async def test_linking_validation_and_work_checklist_for_put(mes: Mes) -> None:
    shop = await make_shop(mes)
    checklist = await _checklist(mes, "C", {"description": "a"})
    bad = [
        ({"work_checklist": checklist, "related_uri": shop.location}, 400, "INVALID_FIELD"),
        (
            {"work_checklist": checklist, "related_uri": shop.printer_type,
             "process_step": shop.steps[0]},
            400, "PROCESS_STEP_NOT_ALLOWED",
        ),
        ({"work_checklist": checklist, "related_uri": f"/mes/print/{uuid.uuid4()}/"}, 404, None),
        ({"related_uri": shop.printer_type}, 400, "FIELD_REQUIRED"),
    ]  # fmt: skip
    for body, status, code in bad:
        assert_problem(
            await mes.client.post("/mes/work-checklist-linking/", json=body), status, code
        )
    assert_problem(await mes.client.get("/mes/work-checklist-for/"), 400, "FILTER_REQUIRED")

    other = await _checklist(mes, "D", {"description": "b"})
    for target in (checklist, other):
        response = await mes.client.put(
            "/mes/work-checklist-for/",
            json={"related_uri": shop.printer_type, "work_checklist": target},
        )
        assert response.status_code == 204, response.text
    assert [x["work_checklist"]["name"] for x in await _for(mes, shop.printer_type)] == ["D"]
    filtered = await mes.list(
        "work-checklist-linking", **{"filter[related_uri]": shop.printer_type}
    )
    assert filtered["meta"]["count"] == 1
    response = await mes.client.put(
        "/mes/work-checklist-for/", json={"related_uri": shop.printer_type, "work_checklist": None}
    )
    assert response.status_code == 204
    assert await _for(mes, shop.printer_type) == []


async def test_a_checklist_created_with_initial_related_uri_is_linked_to_it(mes: Mes) -> None:
    shop = await make_shop(mes)
    checklist = await mes.create(
        "work-checklist", {"name": "Root", "initial_related_uri": shop.pp_type}
    )
    assert [x["work_checklist"]["uri"] for x in await _for(mes, shop.pp_type)] == [checklist]
    response = await mes.client.post(
        "/mes/work-checklist/", json={"name": "x", "initial_related_uri": shop.location}
    )
    assert_problem(response, 400, "INVALID_FIELD")


# --- reports ------------------------------------------------------------------------------------


async def test_reports_compute_outside_threshold_and_check_the_report_type(
    mes: Mes, other_mes: Mes
) -> None:
    shop = await make_shop(mes)
    order = await shop.order(quantity=2)
    prints = order["by_step"][shop.steps[0]]
    checklist = await _checklist(
        mes,
        "QC",
        {"description": "Diameter", "report_type": "number", "threshold_type": "tolerance",
         "threshold": {"value": 10, "tolerance": 0.2}, "threshold_action": "warning"},
        {"description": "Result", "report_type": "single-selection-dropdown",
         "choices": ["pass", "fail"]},
    )  # fmt: skip
    diameter, result = (i["uri"] for i in (await mes.get(checklist))["work_instructions"])

    uri = await _report(mes, diameter, prints, "10.5")
    reports = await mes.list("work-instruction-report", **{"filter[work_instruction]": diameter})
    assert reports["meta"]["count"] == 2
    assert {r["print"] for r in reports["resources"]} == set(prints)
    body = await mes.get(uri)
    assert body["outside_threshold"] is True and body["report"] == "10.5"
    assert body["user"] and body["prints"] == [body["print"]]

    await mes.update(uri, {"report": "10.1", "outside_threshold": True})
    assert (await mes.get(uri))["outside_threshold"] is False

    for report, instruction in (("ten", diameter), ("maybe", result)):
        response = await mes.client.post(
            "/mes/work-instruction-report/",
            json={"work_instruction": instruction, "prints": prints, "report": report},
        )
        assert_problem(response, 400, "INVALID_REPORT")
    assert_problem(await mes.client.put(uri, json={"report": "wide"}), 400, "INVALID_REPORT")
    response = await mes.client.post(
        "/mes/work-instruction-report/", json={"work_instruction": diameter, "report": "1"}
    )
    assert_problem(response, 400, "FIELD_REQUIRED")
    response = await mes.client.post(
        "/mes/work-instruction-report/",
        json={
            "work_instruction": diameter,
            "prints": [f"/mes/print/{uuid.uuid4()}/"],
            "report": "1",
        },
    )
    assert_problem(response, 404)
    response = await other_mes.client.post(
        "/mes/work-instruction-report/",
        json={"work_instruction": diameter, "prints": prints, "report": "1"},
    )
    assert_problem(response, 404)
    assert (await mes.list("work-instruction-report"))["meta"]["count"] == 2


# --- completing runs ----------------------------------------------------------------------------


async def _printing_run(mes: Mes, shop: Shop, quantity: int = 2) -> tuple[str, list[str]]:
    order = await shop.order(quantity=quantity)
    prints = order["by_step"][shop.steps[0]]
    run = await shop.run(prints, printer=shop.printer)
    await shop.status(run, "in-progress")
    return run, prints


async def test_a_missing_required_report_blocks_completion_until_reported(mes: Mes) -> None:
    shop = await make_shop(mes)
    checklist = await _checklist(
        mes,
        "Print QC",
        {"description": "Inspect plate", "report_type": "checkbox", "required": True},
        {"description": "Optional note"},
    )
    await _link(mes, checklist, shop.printer_type)
    run, prints = await _printing_run(mes, shop)
    step = (await mes.get(checklist))["work_instructions"][0]["uri"]

    body = assert_problem(
        await mes.client.put(run, json={"status": "complete"}), 400, "RUN_COMPLETION_BLOCKED"
    )
    assert "Inspect plate" in body["detail"] and "not reported" in body["detail"]
    assert (await mes.get(run))["status"] == "in-progress"

    await _report(mes, step, prints[:1], "true")
    assert_problem(
        await mes.client.put(run, json={"status": "complete"}), 400, "RUN_COMPLETION_BLOCKED"
    )
    await _report(mes, step, prints[1:], "true")
    await shop.status(run, "complete")
    assert (await mes.get(run))["status"] == "complete"


async def test_an_error_threshold_blocks_a_warning_does_not(mes: Mes) -> None:
    shop = await make_shop(mes)
    checklist = await _checklist(
        mes,
        "Dims",
        {"description": "Height", "report_type": "number", "threshold_type": "less-than",
         "threshold": {"value": 50}, "threshold_action": "error"},
        {"description": "Width", "report_type": "number", "threshold_type": "less-than",
         "threshold": {"value": 50}, "threshold_action": "warning"},
    )  # fmt: skip
    await _link(mes, checklist, shop.workflow, shop.steps[0])
    height, width = (i["uri"] for i in (await mes.get(checklist))["work_instructions"])
    run, prints = await _printing_run(mes, shop)
    await _report(mes, width, prints, "70")  # outside, but only a warning
    await _report(mes, height, prints, "51")
    body = assert_problem(
        await mes.client.put(run, json={"status": "complete"}), 400, "RUN_COMPLETION_BLOCKED"
    )
    assert "outside its threshold" in body["detail"]
    await _report(mes, height, prints, "49")  # measured again: the latest report counts
    await shop.status(run, "complete")


async def test_force_completes_a_blocked_run(mes: Mes) -> None:
    shop = await make_shop(mes)
    checklist = await _checklist(mes, "Must", {"description": "Sign off", "required": True})
    await _link(mes, checklist, shop.steps[0])
    run, _ = await _printing_run(mes, shop)
    assert_problem(
        await mes.client.put(run, json={"status": "complete"}), 400, "RUN_COMPLETION_BLOCKED"
    )
    await shop.status(run, "complete", force=True)
    assert (await mes.get(run))["status"] == "complete"


async def test_completion_blockers_is_a_fixed_number_of_statements(
    mes: Mes, engine, sessionmaker
) -> None:
    shop = await make_shop(mes)
    checklist = await _checklist(
        mes, "Req", {"description": "a", "required": True}, {"description": "b", "required": True}
    )
    await _link(mes, checklist, shop.printer_type)
    small = (await shop.order(quantity=2))["by_step"][shop.steps[0]]
    large = (await shop.order(quantity=12))["by_step"][shop.steps[0]]
    first = (await mes.get(checklist))["work_instructions"][0]["uri"]
    await _report(mes, first, large[:5], "done")
    workspace_id = _id((await mes.get(checklist))["bureau"])
    counts = []
    async with sessionmaker() as session:
        for prints in (small, large):
            with counted(engine) as statements:
                blocked = await completion_blockers(session, workspace_id, [_id(p) for p in prints])
            counts.append(len([s for s in statements if s.lstrip().upper().startswith("SELECT")]))
            assert set(blocked) == {_id(p) for p in prints}
        assert counts[0] == counts[1] == 4
        # Another bureau's id never resolves.
        assert await completion_blockers(session, uuid.uuid4(), [_id(p) for p in small]) == {}


async def test_deleting_the_related_resource_removes_its_linkings(mes: Mes) -> None:
    shop = await make_shop(mes)
    checklist = await _checklist(mes, "C", {"description": "a"})
    extra_type = await mes.create("post-processor-type", {"name": "Cure", "duration": 60})
    await _link(mes, checklist, extra_type)
    await _link(mes, checklist, shop.printer_type)
    await mes.delete(extra_type)
    remaining = await mes.list("work-checklist-linking")
    assert [r["related_uri"] for r in remaining["resources"]] == [shop.printer_type]
    await mes.delete(checklist)
    assert (await mes.list("work-checklist-linking"))["meta"]["count"] == 0
