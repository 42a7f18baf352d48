"""The digital thread of a piece, native: from the piece back to its run, machine, operator,
part revision, the BOM revision it was built to, its CAD file and the work instruction reports
on its steps (``/v1/trace/pieces/{id}``); tenancy."""

from __future__ import annotations

from typing import Any

from tests.boms.factories import make_bom, write_items
from tests.catalog.test_attachments import attach, make_file, make_part, make_revision
from tests.mes.conftest import Mes
from tests.mes.floor import Shop, make_shop
from tests.mes.test_crosscut_events import counted
from tests.mes.test_material import act, lot


def _id(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[1]


async def test_a_piece_traces_back_to_its_machine_and_cad_revision(
    mes: Mes, other_mes: Mes
) -> None:
    part = await make_part(mes.actor, "BRKT-100")
    revision = await make_revision(mes.actor, part, "A")
    cad = await make_file(mes.actor, "bracket.step")
    await attach(mes.actor, part, revision, cad["id"])
    shop = await make_shop(mes)
    order = await shop.order(
        quantity=1, part_version=f"/v1/parts/{part['id']}/versions/{revision['id']}"
    )
    run = await shop.run(order["by_step"][shop.steps[0]], printer=shop.printer, name="Build 7")
    await shop.status(run, "in-progress")
    await shop.status(run, "complete")

    piece = _id(order["pieces"][0])
    response = await mes.client.get(f"/v1/trace/pieces/{piece}")
    assert response.status_code == 200, response.text
    trace = response.json()
    assert (
        trace["piece"]["id"] == piece and trace["piece"]["status"] == "queued-for-post-processing"
    )
    assert trace["order"]["id"] == _id(order["uri"])
    assert trace["part"]["partNumber"] == "BRKT-100" and trace["part"]["revision"] == "A"
    assert [f["name"] for f in trace["cadFiles"]] == ["bracket.step"]
    assert trace["cadFiles"][0]["sha256"] == cad["sha256"]
    printing, blasting, shipping = trace["steps"]
    assert printing["processStep"] == "Print" and printing["status"] == "complete"
    assert printing["run"]["name"] == "Build 7"
    assert printing["run"]["workstation"] == {
        "kind": "printer",
        "id": _id(shop.printer),
        "name": "P1",
    }
    assert printing["run"]["started"] and printing["run"]["ended"]
    assert printing["run"]["operators"] == [mes.actor.user.email]
    assert blasting["run"] is None and shipping["run"] is None

    assert (await other_mes.client.get(f"/v1/trace/pieces/{piece}")).status_code == 404
    missing = "00000000-0000-0000-0000-000000000000"
    assert (await mes.client.get(f"/v1/trace/pieces/{missing}")).status_code == 404
    assert (await mes.client.get("/v1/trace/pieces/not-a-uuid")).status_code in (400, 422)


async def test_material_lot_to_piece_and_back(mes: Mes) -> None:
    """lot → initial batch → split batch → consumed by a printing run → its pieces; and the
    piece's trace names the lot through the split."""
    shop = await make_shop(mes)
    lot_uri, initial = await lot(mes, delivery_id="DL-42")
    split = await act(mes, {"action_type": "split_batch", "source_batch": initial, "quantity": 15})
    order = await shop.order(quantity=2)
    untouched = await shop.order(quantity=1)
    run = await shop.run(order["by_step"][shop.steps[0]], printer=shop.printer)
    await shop.status(run, "in-progress")
    (actual,) = (await mes.list("run-actuals", **{"filter[run]": run}))["resources"]
    await mes.create(
        "run-actuals-additive",
        {"run_actual": actual["uri"], "material_batch": split, "base_material_used": 6.5},
    )
    assert (await mes.get(split))["quantity"] == 8.5
    response = await mes.client.post(
        "/mes/run-actuals-additive/",
        json={"run_actual": actual["uri"], "material_batch": split, "base_material_used": 100},
    )
    assert response.status_code == 400 and response.json()["code"] == "MATERIAL_BATCH_INSUFFICIENT"
    await shop.status(run, "complete")
    material = (await mes.client.get(f"/mes/run-material/{_id(run)}/")).json()
    assert material["actual_base_material_used"] == 6.5

    trace = (await mes.client.get(f"/v1/trace/pieces/{_id(order['pieces'][0])}")).json()
    (used,) = trace["steps"][0]["run"]["material"]
    assert used["batch"] == _id(split) and used["baseMaterialUsed"] == 6.5
    assert [lot_["id"] for lot_ in used["lots"]] == [_id(lot_uri)]
    assert trace["materialLots"][0]["deliveryId"] == "DL-42"

    forward = (await mes.client.get(f"/v1/trace/material-lots/{_id(lot_uri)}")).json()
    assert set(forward["batches"]) == {_id(initial), _id(split)}
    assert [r["id"] for r in forward["runs"]] == [_id(run)]
    assert forward["runs"][0]["printer"]["name"] == "P1"
    assert sorted(p["id"] for p in forward["pieces"]) == sorted(_id(p) for p in order["pieces"])
    assert _id(untouched["pieces"][0]) not in {p["id"] for p in forward["pieces"]}


async def test_trace_is_a_constant_number_of_statements(mes: Mes, engine: Any) -> None:
    shop = await make_shop(mes)
    short, long = await shop.order(quantity=1), await shop.order(quantity=3)
    for order, steps in ((short, shop.steps[:1]), (long, shop.steps)):
        for step in steps:
            machine = (
                {"printer": shop.printer}
                if step == shop.steps[0]
                else {"post_processor": shop.post_processor}
                if step == shop.steps[1]
                else {}
            )
            run = await shop.run(order["by_step"][step], **machine)
            await shop.status(run, "in-progress")
            await shop.status(run, "complete")
    counts = []
    for order in (short, long):
        with counted(engine) as statements:
            response = await mes.client.get(f"/v1/trace/pieces/{_id(order['pieces'][0])}")
        assert response.status_code == 200
        counts.append(len(statements))
    assert response.json()["piece"]["status"] == "complete"
    assert counts[0] == counts[1], counts


# --- the BOM revision built to, and the work instruction reports ---------------------------------


async def _approve_bom(mes: Mes, bom: dict[str, Any]) -> None:
    for action in ("submit", "approve"):
        response = await mes.client.post(f"/v1/boms/{bom['id']}/{action}")
        assert response.status_code == 200, response.text


async def _assembly(mes: Mes, number: str, children: int) -> dict[str, Any]:
    """An assembly part with revision A and an EBOM for that revision: ``children`` plain
    lines, the first a sub-assembly with an approved BOM of two lines of its own."""
    part = await make_part(mes.actor, number)
    revision = await make_revision(mes.actor, part, "A")
    bom = await make_bom(mes.client, part["id"], revision="A", assemblyVersionId=revision["id"])
    sub = await make_part(mes.actor, f"{number}-SUB")
    sub_bom = await make_bom(mes.client, sub["id"], revision="1")
    leaves = [await make_part(mes.actor, f"{number}-L{i}") for i in range(max(children, 2))]
    await write_items(
        mes.client, sub_bom["id"], [{"childPartId": leaf["id"], "qty": 2} for leaf in leaves[:2]]
    )
    await _approve_bom(mes, sub_bom)
    lines = [{"childPartId": sub["id"], "qty": 1, "refdes": "U1"}]
    lines += [{"childPartId": leaf["id"], "qty": 3} for leaf in leaves[: children - 1]]
    await write_items(mes.client, bom["id"], lines)
    return {
        "part": part,
        "revision": revision,
        "bom": bom,
        "sub": sub,
        "sub_bom": sub_bom,
        "leaves": leaves,
    }


async def _checklist(mes: Mes) -> list[str]:
    """A checklist of a measured diameter (warning outside 10 ± 0.2) and a free note."""
    uri = await mes.create(
        "work-checklist",
        {
            "name": "QC",
            "work_instructions": [
                {"description": "Diameter", "report_type": "number", "report_units": "mm",
                 "threshold_type": "tolerance", "threshold": {"value": 10, "tolerance": 0.2},
                 "threshold_action": "warning"},
                {"description": "Notes"},
            ],
        },
    )  # fmt: skip
    return [i["uri"] for i in (await mes.get(uri))["work_instructions"]]


async def _report(mes: Mes, instruction: str, print_uri: str, value: str) -> str:
    return await mes.create(
        "work-instruction-report",
        {"work_instruction": instruction, "prints": [print_uri], "report": value},
    )


async def _built_and_reported(
    mes: Mes, shop: Shop, assembly: dict[str, Any], instructions: list[str], reports: int
) -> dict[str, Any]:
    """An order of one piece of the assembly's revision A, printed and blasted, with
    ``reports`` diameter reports and one note on each of those two steps."""
    part, revision = assembly["part"], assembly["revision"]
    order = await shop.order(
        quantity=1, part_version=f"/v1/parts/{part['id']}/versions/{revision['id']}"
    )
    for step, machine in zip(
        shop.steps[:2],
        ({"printer": shop.printer}, {"post_processor": shop.post_processor}),
        strict=True,
    ):
        (print_uri,) = order["by_step"][step]
        for i in range(reports):
            await _report(mes, instructions[0], print_uri, f"{10.1 + i / 10:.1f}")
        await _report(mes, instructions[1], print_uri, f"step {step[-8:]}")
        run = await shop.run([print_uri], **machine)
        await shop.status(run, "in-progress")
        await shop.status(run, "complete")
    return order


async def test_a_piece_traces_to_its_bom_revision_and_its_reports(mes: Mes) -> None:
    shop = await make_shop(mes)
    instructions = await _checklist(mes)
    assembly = await _assembly(mes, "GEARBOX", children=3)
    part = assembly["part"]
    # Other BOMs of the part: an approved one for no revision and a newer draft. The piece
    # builds revision A, so the BOM for revision A wins.
    approved = await make_bom(mes.client, part["id"], revision="B")
    await _approve_bom(mes, approved)
    await make_bom(mes.client, part["id"], revision="C")
    order = await _built_and_reported(mes, shop, assembly, instructions, reports=2)

    trace = (await mes.client.get(f"/v1/trace/pieces/{_id(order['pieces'][0])}")).json()
    bom = trace["bom"]
    assert bom["id"] == assembly["bom"]["id"] and bom["revision"] == "A"
    assert bom["status"] == "draft" and bom["type"] == "ebom" and bom["forThisRevision"] is True
    assert bom["assemblyVersionId"] == assembly["revision"]["id"]
    sub, leaves = assembly["sub"], assembly["leaves"]
    assert [(line["partNumber"], line["level"], line["qty"]) for line in bom["lines"]] == [
        ("GEARBOX-L0", 1, 3.0),
        ("GEARBOX-L1", 1, 3.0),
        ("GEARBOX-SUB", 1, 1.0),  # depth first, siblings by part number
        ("GEARBOX-L0", 2, 2.0),
        ("GEARBOX-L1", 2, 2.0),
    ]
    expanded = bom["lines"][2]
    assert expanded["partId"] == sub["id"] and expanded["refdes"] == "U1"
    assert expanded["bomId"] == assembly["bom"]["id"]
    assert {line["bomId"] for line in bom["lines"][3:]} == {assembly["sub_bom"]["id"]}
    assert [line["partId"] for line in bom["lines"][3:]] == [leaf["id"] for leaf in leaves[:2]]

    printing, blasting, shipping = trace["steps"]
    assert shipping["reports"] == []
    for step in (printing, blasting):
        older, newer, note = step["reports"]
        assert [r["value"] for r in (older, newer)] == ["10.1", "10.2"]
        assert older["instruction"]["description"] == "Diameter"
        assert older["instruction"]["reportUnits"] == "mm"
        assert older["instruction"]["thresholdAction"] == "warning"
        assert older["instruction"]["checklist"]["name"] == "QC"
        assert older["outsideThreshold"] is False and newer["outsideThreshold"] is False
        assert older["superseded"] is True and newer["superseded"] is False
        assert note["instruction"]["description"] == "Notes" and note["superseded"] is False
        assert note["user"] == mes.actor.user.email and note["recorded"]
    outside = await _report(mes, instructions[0], order["by_step"][shop.steps[0]][0], "10.5")
    trace = (await mes.client.get(f"/v1/trace/pieces/{_id(order['pieces'][0])}")).json()
    latest = trace["steps"][0]["reports"][-1]
    assert latest["id"] == _id(outside) and latest["outsideThreshold"] is True


async def test_the_bom_built_to_is_the_approved_else_the_newest_and_null_without_one(
    mes: Mes,
) -> None:
    shop = await make_shop(mes)
    part = await make_part(mes.actor, "HOUSING")
    a, b = await make_revision(mes.actor, part, "A"), await make_revision(mes.actor, part, "B")

    async def built_to(revision: dict[str, Any]) -> dict[str, Any] | None:
        order = await shop.order(
            quantity=1, part_version=f"/v1/parts/{part['id']}/versions/{revision['id']}"
        )
        response = await mes.client.get(f"/v1/trace/pieces/{_id(order['pieces'][0])}")
        assert response.status_code == 200, response.text
        bom: dict[str, Any] | None = response.json()["bom"]
        return bom

    assert await built_to(b) is None
    first = await make_bom(mes.client, part["id"], revision="1", assemblyVersionId=a["id"])
    newest = await make_bom(mes.client, part["id"], revision="2")
    chosen = await built_to(b)
    assert chosen is not None and chosen["id"] == newest["id"] and chosen["lines"] == []
    assert chosen["forThisRevision"] is False
    await _approve_bom(mes, first)
    chosen = await built_to(b)
    assert chosen is not None and chosen["id"] == first["id"]


async def test_bom_lines_and_reports_do_not_add_statements(mes: Mes, engine: Any) -> None:
    shop = await make_shop(mes)
    instructions = await _checklist(mes)
    small = await _built_and_reported(
        mes, shop, await _assembly(mes, "SMALL", children=1), instructions, reports=1
    )
    large = await _built_and_reported(
        mes, shop, await _assembly(mes, "LARGE", children=8), instructions, reports=4
    )
    counts, traces = [], []
    for order in (small, large):
        with counted(engine) as statements:
            response = await mes.client.get(f"/v1/trace/pieces/{_id(order['pieces'][0])}")
        assert response.status_code == 200
        counts.append(len(statements))
        traces.append(response.json())
    assert [len(t["bom"]["lines"]) for t in traces] == [3, 10]
    assert [len(t["steps"][0]["reports"]) for t in traces] == [2, 5]
    assert counts[0] == counts[1], counts
