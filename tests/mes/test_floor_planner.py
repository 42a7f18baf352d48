"""The assisted planner (``/create-runs/``) as a durable job, on real model geometry: STL cubes
uploaded and measured by the files room's job, packed onto the printer type's plate."""

from __future__ import annotations

from typing import Any

from tests.mes.conftest import Mes
from tests.mes.floor import make_shop
from tests.mes.test_files import cube_stl, put
from threadline.jobs import service as job_service
from threadline.mes.files import processing


async def _model(mes: Mes, edge: float) -> str:
    response = await mes.client.post("/mes/model/", json={"name": f"cube{edge:g}.stl"})
    assert response.status_code == 204, response.text
    assert (
        await put(mes, response.headers["x-upload-location"], cube_stl(edge))
    ).status_code == 204
    return response.headers["location"]


async def _run_jobs(app: Any) -> list[Any]:
    runtime = app.state.runtime
    job_service.register(processing.JOB_KIND, processing.job_handler(runtime.blobs), replace=True)
    return await job_service.run_pending(runtime.sessionmaker)


async def test_pieces_are_packed_into_runs_for_every_step(mes: Mes, app: Any) -> None:
    shop = await make_shop(mes)
    small, large, huge = await _model(mes, 100), await _model(mes, 300), await _model(mes, 400)
    await _run_jobs(app)
    assert (await mes.get(small))["size"] == {"x": 100.0, "y": 100.0, "z": 100.0}
    orders = [
        await shop.order(quantity=4, model=small, no_model_upload=False),
        await shop.order(quantity=1, model=large, no_model_upload=False),
        await shop.order(quantity=1, model=huge, no_model_upload=False),
    ]
    pieces = [p for o in orders for p in o["pieces"]]
    uri = await mes.create(
        "create-runs",
        {"pieces": pieces, "primary_workstation": shop.printer, "run_name": "Plate"},
    )
    assert (await mes.get(uri))["status"] == "pending"
    done = await _run_jobs(app)
    assert [j.status for j in done] == ["complete"], [j.error for j in done]

    plan = await mes.get(uri)
    assert plan["status"] == "complete" and plan["finished"]
    assert plan["unfitted_pieces"] == orders[2]["pieces"]  # 400 mm does not fit 340 mm
    printing = [r for r in plan["resulting_runs"] if (await mes.get(r))["operation"] == "printing"]
    assert plan["primary_run"] == printing[0]
    # 340 mm square with 5 mm spacing: the 300 mm cube fills a plate; four 100 mm cubes share one
    sizes = sorted([len((await mes.get(r))["prints"]) for r in printing])
    assert sizes == [1, 4]
    for run in printing:
        body = await mes.get(run)
        assert body["printer"] == shop.printer and body["status"] == "queued"
        assert body["name"] == "Plate"
    later = [await mes.get(r) for r in plan["resulting_runs"] if r not in printing]
    assert {r["operation"] for r in later} == {"post-processing", "shipping"}
    # match_previous: the post-processing runs keep the plates' grouping
    assert sorted(len(r["prints"]) for r in later if r["operation"] == "post-processing") == [1, 4]
    assert all(r["status"] == "calculated" for r in later if r["operation"] == "post-processing")
    assert await shop.piece_statuses(orders[0]["pieces"]) == {"queued-for-printing"}
    assert await shop.piece_statuses(orders[2]["pieces"]) == {"confirmed"}

    # the planned runs work like any other: print, then post-process on an assigned machine
    await shop.status(plan["primary_run"], "in-progress")
    await shop.status(plan["primary_run"], "complete")
    primary_pieces = {
        (await mes.get(p))["piece"] for p in (await mes.get(plan["primary_run"]))["prints"]
    }
    following = [
        r
        for r in later
        if r["operation"] == "post-processing"
        and {(await mes.get(p))["piece"] for p in r["prints"]} == primary_pieces
    ]
    assert len(following) == 1
    first_pp = following[0]
    await mes.update(first_pp["uri"], {"post_processor": shop.post_processor})
    await shop.status(first_pp["uri"], "in-progress")
    assert await shop.piece_statuses(sorted(primary_pieces)) == {"post-processing"}


async def test_bad_requests(mes: Mes, other_mes: Mes) -> None:
    shop = await make_shop(mes)
    order = await shop.order(quantity=1)
    response = await mes.client.post(
        "/mes/create-runs/", json={"primary_workstation": shop.printer}
    )
    assert response.status_code == 400 and response.json()["code"] == "FIELD_REQUIRED"
    response = await mes.client.post(
        "/mes/create-runs/", json={"pieces": order["pieces"], "primary_workstation": shop.shipping}
    )
    assert response.status_code == 400
    theirs = await make_shop(other_mes, prefix="r")
    response = await mes.client.post(
        "/mes/create-runs/", json={"pieces": order["pieces"], "primary_workstation": theirs.printer}
    )
    assert response.status_code == 404
    response = await other_mes.client.post(
        "/mes/create-runs/", json={"pieces": order["pieces"], "primary_workstation": theirs.printer}
    )
    assert response.status_code == 404
    assert (
        await mes.client.put(f"/mes/create-runs/{'0' * 8}-0000-0000-0000-{'0' * 12}/", json={})
    ).status_code == 405


async def test_without_models_everything_goes_on_one_plate_when_unchecked(
    mes: Mes, app: Any
) -> None:
    shop = await make_shop(mes)
    order = await shop.order(quantity=3)
    checked = await mes.create(
        "create-runs", {"pieces": order["pieces"], "primary_workstation": shop.printer}
    )
    await _run_jobs(app)
    plan = await mes.get(checked)
    assert plan["primary_run"] is None and sorted(plan["unfitted_pieces"]) == sorted(
        order["pieces"]
    )
    unchecked = await mes.create(
        "create-runs",
        {
            "pieces": order["pieces"],
            "primary_workstation": shop.printer,
            "do_build_volume_check": False,
        },
    )
    await _run_jobs(app)
    plan = await mes.get(unchecked)
    assert plan["unfitted_pieces"] == []
    assert len((await mes.get(plan["primary_run"]))["prints"]) == 3
