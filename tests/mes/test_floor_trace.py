"""The digital thread of a piece, native: from the piece back to its run, machine, operator,
part revision and CAD file (``/v1/trace/pieces/{id}``); tenancy."""

from __future__ import annotations

from tests.catalog.test_attachments import attach, make_file, make_part, make_revision
from tests.mes.conftest import Mes
from tests.mes.floor import make_shop


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
