"""Run transformations as durable jobs: remanufacture, redo, scrap, change_workflow and
flag_non_conformance on a failed printing run; the replacement is scheduled like any piece."""

from __future__ import annotations

from typing import Any

from tests.mes.conftest import Mes
from tests.mes.floor import Shop, make_shop
from threadline.jobs import service as job_service


async def _failed(shop: Shop, quantity: int = 2) -> tuple[dict[str, Any], str]:
    order = await shop.order(quantity=quantity)
    run = await shop.run(order["by_step"][shop.steps[0]], printer=shop.printer)
    await shop.status(run, "in-progress")
    await shop.status(run, "error")
    return order, run


async def _transform(mes: Mes, app: Any, body: dict[str, Any]) -> dict[str, Any]:
    uri = await mes.create("run-transformation", body)
    assert (await mes.get(uri))["status"] == "pending"
    (job,) = await job_service.run_pending(app.state.runtime.sessionmaker)
    assert job.status == "complete", job.error
    return await mes.get(uri)


async def test_remanufacture_makes_a_new_piece(mes: Mes, app: Any) -> None:
    shop = await make_shop(mes)
    order, run = await _failed(shop)
    first = order["by_step"][shop.steps[0]][0]
    done = await _transform(
        mes, app, {"type": "remanufacture", "source_run": run, "prints": [first]}
    )
    assert done["status"] == "complete", done["notes"]
    old = await mes.get((await mes.get(first))["piece"])
    assert old["status"] == "incomplete" and old["remanufactured_to"]
    new = await mes.get(old["remanufactured_to"])
    assert new["status"] == "confirmed" and new["copy"] == 3
    new_prints = (await shop.prints(order["line_item"]))["by_step"][shop.steps[0]]
    replacement = [p for p in new_prints if (await mes.get(p))["piece"] == new["uri"]]
    # the replacement is scheduled like any other piece
    again = await shop.run(replacement, printer=shop.printer)
    await shop.status(again, "in-progress")
    await shop.status(again, "complete")
    assert (await mes.get(new["uri"]))["status"] == "queued-for-post-processing"


async def test_redo_and_scrap(mes: Mes, app: Any) -> None:
    shop = await make_shop(mes)
    order, run = await _failed(shop)
    redo, scrap = order["by_step"][shop.steps[0]]
    await _transform(mes, app, {"type": "redo", "source_run": run, "prints": [redo]})
    body = await mes.get(redo)
    assert body["run"] is None
    assert (await mes.get(body["piece"]))["status"] == "queued-for-printing"
    await _transform(mes, app, {"type": "scrap", "source_run": run, "prints": [scrap]})
    piece = (await mes.get(scrap))["piece"]
    assert (await mes.get(piece))["status"] == "incomplete"
    prints = await mes.list("print", **{"filter[piece]": piece})
    assert {p["status"] for p in prints["resources"]} == {"cancelled"}
    again = await shop.run([redo], printer=shop.printer)
    await shop.status(again, "in-progress")
    await shop.status(again, "complete")


async def test_change_workflow_and_non_conformance(mes: Mes, app: Any) -> None:
    shop = await make_shop(mes)
    order, run = await _failed(shop)
    one, two = order["by_step"][shop.steps[0]]
    # printed again, then shipped without blasting
    done = await _transform(
        mes,
        app,
        {
            "type": "change_workflow",
            "source_run": run,
            "prints": [one],
            "process_steps": [shop.steps[0], shop.steps[0], shop.steps[2]],
        },
    )
    assert done["custom_workflow"]
    piece = await mes.get((await mes.get(one))["piece"])
    assert piece["workflow"] == done["custom_workflow"]
    assert piece["status"] == "queued-for-printing"
    by_run = await mes.list("pieces-by-run", **{"filter[run]": run})
    reworked = {r["piece"]: r["reworked"] for r in by_run["resources"]}
    assert reworked[piece["uri"]] is True

    response = await mes.client.post(
        "/mes/run-transformation/",
        json={"type": "flag_non_conformance", "source_run": run, "prints": [two]},
    )
    assert response.status_code == 204
    (_job,) = await job_service.run_pending(app.state.runtime.sessionmaker)
    failed = await mes.get(response.headers["location"])
    assert failed["status"] == "error" and "non_conformance_review" in failed["notes"]

    await mes.create(
        "post-processor-type", {"name": "MRB", "special_type": "non_conformance_review"}
    )
    done = await _transform(
        mes, app, {"type": "flag_non_conformance", "source_run": run, "prints": [two]}
    )
    assert done["status"] == "complete", done["notes"]
    piece = await mes.get((await mes.get(two))["piece"])
    assert piece["status"] == "queued-for-post-processing"


async def test_bad_requests(mes: Mes, other_mes: Mes) -> None:
    shop = await make_shop(mes)
    order, run = await _failed(shop)
    other = await shop.order(quantity=1)
    response = await mes.client.post(
        "/mes/run-transformation/",
        json={"type": "scrap", "source_run": run, "prints": other["by_step"][shop.steps[0]]},
    )
    assert response.status_code == 404
    response = await mes.client.post(
        "/mes/run-transformation/",
        json={"type": "melt", "source_run": run, "prints": order["by_step"][shop.steps[0]]},
    )
    assert response.status_code == 400
    response = await mes.client.post(
        "/mes/run-transformation/",
        json={
            "type": "change_workflow",
            "source_run": run,
            "prints": order["by_step"][shop.steps[0]],
        },
    )
    assert response.status_code == 400
    response = await other_mes.client.post(
        "/mes/run-transformation/",
        json={"type": "scrap", "source_run": run, "prints": order["by_step"][shop.steps[0]]},
    )
    assert response.status_code == 404
