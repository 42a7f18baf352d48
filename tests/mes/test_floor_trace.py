"""The digital thread of a piece, native: from the piece back to its run, machine, operator,
part revision and CAD file (``/v1/trace/pieces/{id}``); tenancy."""

from __future__ import annotations

from typing import Any

from tests.catalog.test_attachments import attach, make_file, make_part, make_revision
from tests.mes.conftest import Mes
from tests.mes.floor import make_shop
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
