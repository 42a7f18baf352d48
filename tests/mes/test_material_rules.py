"""Material room rules at the edges: lot input, initial batch preconditions, nothing written by
a refused action, unsupported actions, and the docs printing the lot's status table."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import assert_problem
from tests.mes.conftest import Mes
from tests.mes.test_material import act, lot, material
from threadline.mes.material.actions import ACTIONS
from threadline.mes.material.states import LOT_EDGES


async def test_lot_input(mes: Mes, other_mes: Mes) -> None:
    theirs = await other_mes.create("material", {"name": "PA11", "type": "base"})
    response = await mes.client.post("/mes/material-lot/", json={"material": theirs})
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    mine = await material(mes)
    response = await mes.client.post(
        "/mes/material-lot/", json={"material": mine, "number_of_containers": 2}
    )
    assert_problem(response, 400, "INVALID_FIELD")
    for bad in ({"status": "lost"}, {"number_of_containers": -1}, {"units": "litre"}):
        response = await mes.client.post("/mes/material-lot/", json={"material": mine} | bad)
        assert_problem(response, 400, "INVALID_FIELD")
    assert_problem(await mes.client.post("/mes/material-lot/", json={}), 400, "FIELD_REQUIRED")
    uri = await mes.create("material-lot", {"material": mine})  # no containers: no batch
    body = await mes.get(uri)
    assert body["initial_batches"] == [] and body["full_quantity"] == 0.0
    await mes.delete(uri)
    used, _ = await lot(mes)
    assert_problem(await mes.client.delete(used), 409, "MATERIAL_LOT_IN_USE")


async def test_initial_batch_preconditions(mes: Mes) -> None:
    on_order = await mes.create(
        "material-lot",
        {"material": await material(mes), "status": "on_order", "number_of_containers": 1,
         "size_of_container": 3},
    )  # fmt: skip
    initial = {"action_type": "create_initial_batch", "metadata": {"material_lot": on_order}}
    assert (await act(mes, initial, 400))["code"] == "MATERIAL_LOT_NOT_RECEIVED"
    await mes.update(on_order, {"status": "received"})
    assert (await act(mes, initial, 400))["code"] == "NO_CONTAINERS_AVAILABLE"
    batch = (await mes.get(on_order))["initial_batches"][0]
    body = await act(mes, initial | {"source_batch": batch}, 400)
    assert body["code"] == "INVALID_FIELD"
    body = await act(mes, {"action_type": "split_batch", "quantity": 1}, 400)
    assert body["code"] == "FIELD_REQUIRED"


async def test_a_refused_action_writes_nothing(mes: Mes) -> None:
    _, batch = await lot(mes)
    before = (await mes.list("material-batch-action"))["meta"]["count"]
    body = await act(
        mes,
        {"action_type": "containerize_batch", "source_batch": batch,
         "metadata": {"containers": [30, 30]}},
        400,
    )  # fmt: skip
    assert body["code"] == "MATERIAL_BATCH_INSUFFICIENT"
    assert (await mes.list("material-batch-action"))["meta"]["count"] == before
    assert (await mes.list("material-container"))["meta"]["count"] == 4
    body = await act(mes, {"action_type": "dock_dose_module", "source_batch": batch}, 400)
    assert body["code"] == "ACTION_NOT_SUPPORTED"
    assert (await act(mes, {"action_type": "fly", "source_batch": batch}, 400))["code"]
    assert (await mes.get(batch))["quantity"] == 40.0


def test_docs_print_the_tables() -> None:
    doc = (Path(__file__).parents[2] / "docs/mes/material.md").read_text()
    for source, target, _ in LOT_EDGES:
        assert f"| `{source.value}` | `{target.value}` |" in doc
    for action_type in ACTIONS:
        assert f"| `{action_type}` |" in doc
