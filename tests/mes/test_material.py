"""Material traceability: lots and their containers and initial batch, the lot's status machine,
read-only batches, append-only batch actions with conserved quantities, linking edges, the
genealogy in a fixed number of statements, and the service functions the floor calls."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from tests.conftest import assert_problem
from tests.mes.conftest import Mes
from tests.mes.test_crosscut_events import counted
from threadline.auth.models import Role
from threadline.mes.face import MesContext
from threadline.mes.material import service
from threadline.mes.material.models import MaterialBatch


def uid(uri: str) -> uuid.UUID:
    return uuid.UUID(uri.rstrip("/").rsplit("/", 1)[1])


async def material(mes: Mes) -> str:
    """The bureau's PA12 (created on first use)."""
    found = await mes.list("material", **{"filter[name]": "PA12"})
    if found["resources"]:
        return found["resources"][0]["uri"]
    return await mes.create("material", {"name": "PA12", "type": "base", "cost": 60.0})


async def lot(mes: Mes, **extra: Any) -> tuple[str, str]:
    """A received lot of 4 containers of 10 cm3; returns (lot uri, initial batch uri)."""
    uri = await mes.create(
        "material-lot",
        {"material": await material(mes), "name": "L-1", "number_of_containers": 4,
         "size_of_container": 10.0} | extra,
    )  # fmt: skip
    body = await mes.get(uri)
    return uri, (body["initial_batches"] or [None])[0]


async def act(mes: Mes, body: dict[str, Any], status: int = 204) -> Any:
    response = await mes.client.post("/mes/material-batch-action/", json=body)
    if status != 204:
        return assert_problem(response, status)
    assert response.status_code == 204, response.text
    return response.headers["location"]


async def test_lot_creates_containers_and_initial_batch(mes: Mes) -> None:
    uri, batch_uri = await lot(mes)
    body = await mes.get(uri)
    assert body["status"] == "received" and body["units"] == "cm3" and body["cost"] == 60.0
    assert body["full_quantity"] == 40.0 and body["quantity"] == 40.0
    assert body["material_name"] == "PA12" and body["material_type"] == "base"
    assert body["containers_available_for_initial_batches"] == []
    containers = await mes.list("material-container", **{"filter[material_lot]": uri})
    assert containers["meta"]["count"] == 4
    assert {c["status"] for c in containers["resources"]} == {"in_use"}
    assert {c["current_batch"] for c in containers["resources"]} == {batch_uri}
    batch = await mes.get(batch_uri)
    assert batch["quantity"] == 40.0 and batch["quantity_available_for_actions"] == 40.0
    assert batch["is_initial_batch"] is True and batch["material_lots"] == [uri]
    assert batch["powder_quality"] == "new" and len(batch["containers"]) == 4
    actions = await mes.list("material-batch-action")
    assert [a["action_type"] for a in actions["resources"]] == ["create_initial_batch"]
    assert actions["resources"][0]["quantity"] == 40.0


async def test_lot_status_machine(mes: Mes) -> None:
    m = await material(mes)
    response = await mes.client.post(
        "/mes/material-lot/", json={"material": m, "status": "available"}
    )
    body = assert_problem(response, 400, "STATUS_TRANSITION_NOT_ALLOWED")
    assert body["detail"] == "Provided status transformation is not allowed"
    uri = await mes.create(
        "material-lot",
        {"material": m, "status": "on_order", "number_of_containers": 2, "size_of_container": 5},
    )
    body = await mes.get(uri)
    assert (
        body["initial_batches"] == [] and len(body["containers_available_for_initial_batches"]) == 2
    )
    response = await mes.client.put(uri, json={"status": "done"})
    assert_problem(response, 400, "STATUS_TRANSITION_NOT_ALLOWED")
    await mes.update(uri, {"status": "received"})  # the delivery arrived: its batch exists
    body = await mes.get(uri)
    assert len(body["initial_batches"]) == 1 and body["quantity"] == 10.0
    for status in ("in_testing", "available", "in_use", "done"):
        await mes.update(uri, {"status": status})
    assert_problem(await mes.client.put(uri, json={"status": "in_use"}), 400)


async def test_batch_is_read_only(mes: Mes) -> None:
    _, batch_uri = await lot(mes)
    response = await mes.client.put(batch_uri, json={"quantity": 1})
    body = assert_problem(response, 403)
    assert body["detail"] == "Modification of material batch not allowed via API."
    assert (await mes.client.delete(batch_uri)).status_code == 405
    assert (await mes.client.post("/mes/material-batch/", json={})).status_code == 405


async def test_actions_are_append_only(mes: Mes) -> None:
    await lot(mes)
    action = (await mes.list("material-batch-action"))["resources"][0]["uri"]
    assert (await mes.client.put(action, json={"notes": "x"})).status_code == 405
    assert (await mes.client.delete(action)).status_code == 405


async def test_split_blend_and_conservation(mes: Mes) -> None:
    _, a = await lot(mes)
    b = await act(mes, {"action_type": "split_batch", "source_batch": a, "quantity": 15})
    assert (await mes.get(a))["quantity"] == 25.0
    new = await mes.get(b)
    assert new["quantity"] == 15.0 and new["source_material_batches"] == [a]
    # a split cannot create material
    body = await act(mes, {"action_type": "split_batch", "source_batch": a, "quantity": 26}, 400)
    assert body["code"] == "MATERIAL_BATCH_INSUFFICIENT"
    assert (await mes.get(a))["quantity"] == 25.0
    body = await act(mes, {"action_type": "split_batch", "source_batch": a, "quantity": -1}, 400)
    # a blend's result is the sum of its parts
    blend = {"action_type": "blend_batches", "source_batch": a, "metadata": {"batches": [b]}}
    body = await act(mes, blend | {"quantity": 41}, 400)
    assert body["code"] == "MATERIAL_QUANTITY_MISMATCH"
    c = await act(mes, blend | {"quantity": 40})
    blended = await mes.get(c)
    assert blended["quantity"] == 40.0 and sorted(blended["source_material_batches"]) == sorted(
        [a, b]
    )
    assert (await mes.get(a))["status"] == "done" and (await mes.get(b))["quantity"] == 0.0
    edges = await mes.list("material-batch-linking")
    assert sorted(
        (e["source_batch"], e["destination_batch"], e["quantity"]) for e in edges["resources"]
    ) == sorted([(a, b, 15.0), (a, c, 25.0), (b, c, 15.0)])
    body = await act(mes, {"action_type": "split_batch", "source_batch": a, "quantity": 1}, 400)
    assert body["code"] == "MATERIAL_BATCH_DONE"


async def test_machine_load_top_off_unload_and_others(mes: Mes) -> None:
    _, a = await lot(mes)
    printer_free = {"action_type": "machine_load", "source_batch": a, "quantity": 30}
    await act(mes, printer_free)
    batch = await mes.get(a)
    assert batch["reserved_quantity"] == 30.0 and batch["quantity_available_for_actions"] == 10.0
    body = await act(mes, {"action_type": "machine_load", "source_batch": a, "quantity": 11}, 400)
    assert body["code"] == "MATERIAL_BATCH_INSUFFICIENT"
    _, other = await lot(mes, name="L-2")
    await act(mes, {"action_type": "machine_top_off", "source_batch": a, "quantity": 5,
                    "metadata": {"batch_to_load": other}})  # fmt: skip
    assert (await mes.get(a))["quantity"] == 45.0 and (await mes.get(other))["quantity"] == 35.0
    chamber = await act(
        mes, {"action_type": "machine_unload_chamber", "source_batch": a, "quantity": 20}
    )
    unloaded = await mes.get(chamber)
    assert unloaded["powder_quality"] == "unsieved" and unloaded["usage_cycles"] == 1
    await act(mes, {"action_type": "machine_unload_hopper", "source_batch": a, "quantity": 15})
    batch = await mes.get(a)
    assert batch["quantity"] == 25.0 and batch["reserved_quantity"] == 0.0
    await act(mes, {"action_type": "sieve", "source_batch": chamber, "quantity": 18})
    sieved = await mes.get(chamber)
    assert sieved["quantity"] == 18.0 and sieved["powder_quality"] == "sieved"
    await act(mes, {"action_type": "test", "source_batch": chamber, "quantity": 3})
    await act(mes, {"action_type": "edit_batch_quantity", "source_batch": chamber, "quantity": 14})
    assert (await mes.get(chamber))["quantity"] == 14.0
    await act(mes, {"action_type": "containerize_batch", "source_batch": chamber,
                    "metadata": {"containers": [7, 7]}})  # fmt: skip
    assert len((await mes.get(chamber))["containers"]) == 2
    location = await mes.create("location", {"name": "Plant", "address": "1 Road"})
    await act(mes, {"action_type": "relocate", "source_batch": chamber,
                    "metadata": {"location": location}})  # fmt: skip
    assert (await mes.get(chamber))["location"] == location
    await act(mes, {"action_type": "scrap_batch", "source_batch": chamber})
    scrapped = await mes.get(chamber)
    assert scrapped["quantity"] == 0.0 and scrapped["status"] == "done"
    actions = await mes.list("material-batch-action", **{"filter[source_batch]": chamber})
    assert [x["action_type"] for x in actions["resources"]] == [
        "sieve", "test", "edit_batch_quantity", "containerize_batch", "relocate", "scrap_batch",
    ]  # fmt: skip
    assert actions["resources"][1]["previous_action"] == actions["resources"][0]["uri"]


async def test_another_bureaus_batch_is_404(mes: Mes, other_mes: Mes) -> None:
    _, theirs = await lot(other_mes)
    assert (await mes.client.get(theirs)).status_code == 404
    body = await act(
        mes, {"action_type": "split_batch", "source_batch": theirs, "quantity": 1}, 404
    )
    assert body["code"] == "RESOURCE_NOT_FOUND"
    _, mine = await lot(mes)
    blend = {
        "action_type": "blend_batches",
        "source_batch": mine,
        "metadata": {"batches": [theirs]},
    }
    await act(mes, blend, 404)
    response = await mes.client.get("/mes/material-genealogy/", params={"target_batch": theirs})
    assert_problem(response, 404)
    assert (await other_mes.get(theirs))["quantity"] == 40.0


async def chain(mes: Mes, start: str, generations: int) -> list[str]:
    """Split then blend back, ``generations`` times: a diamond per generation."""
    batches = [start]
    current = start
    for _ in range(generations):
        part = await act(
            mes, {"action_type": "split_batch", "source_batch": current, "quantity": 1}
        )
        current = await act(mes, {"action_type": "blend_batches", "source_batch": current,
                                  "metadata": {"batches": [part]}})  # fmt: skip
        batches.append(current)
    return batches


async def test_genealogy_trees_in_a_fixed_number_of_statements(mes: Mes, engine) -> None:
    _, root = await lot(mes)
    counts = []
    for generations in (2, 6):
        batches = await chain(mes, root if generations == 2 else last, generations)  # noqa: F821
        last = batches[-1]
        with counted(engine) as statements:
            response = await mes.client.get(
                "/mes/material-genealogy/", params={"target_batch": last}
            )
        assert response.status_code == 200, response.text
        counts.append(len(statements))
    tree = response.json()
    assert tree["target_batch"] == last and tree["children_tree"] == []

    def walk(nodes: list[dict[str, Any]]) -> list[str]:
        return [x for n in nodes for x in (n["batch"], *walk(n["parents"]))]

    reached = walk(tree["parents_tree"])
    assert set(reached) == {b["uri"] for b in tree["batches"]} - {last}
    assert root in reached and len(set(reached)) == 2 * 8  # every ancestor, expanded once
    uris = {b["uri"] for b in tree["batches"]}
    assert root in uris and last in uris and len(uris) == 1 + 2 * 8
    assert {a["action_type"] for a in tree["actions"]} == {"split_batch", "blend_batches"}
    assert counts[0] == counts[1], counts
    down = (await mes.client.get("/mes/material-genealogy/", params={"target_batch": root})).json()
    assert down["parents_tree"] == [] and len(down["batches"]) == 1 + 2 * 8
    assert_problem(await mes.client.get("/mes/material-genealogy/"), 400, "FIELD_REQUIRED")


async def test_services_for_the_floor(mes: Mes, app, engine) -> None:
    lot_uri, batch_uri = await lot(mes)
    batches = await chain(mes, batch_uri, 3)
    async with app.state.runtime.sessionmaker() as session:
        row = await session.get(MaterialBatch, uid(batch_uri))
        assert row is not None
        workspace_id = row.workspace_id
        ctx = MesContext(
            session=session,
            user=mes.actor.user,
            runtime=app.state.runtime,
            base_url="http://test",
            roles={workspace_id: Role.manager},
        )
        target = uid(batches[-1])
        action_id = await service.consume_for_run(
            ctx, target, 12.5, run_uri="http://test/mes/run/x/", printer_id=None
        )
        refreshed = await session.get(MaterialBatch, target, populate_existing=True)
        assert refreshed is not None and refreshed.quantity == 27.5
        assert isinstance(action_id, uuid.UUID)
        from threadline.errors import Invalid, NotFound

        try:
            await service.consume_for_run(ctx, target, 1000, run_uri="r", printer_id=None)
        except Invalid as error:
            assert error.code == "MATERIAL_BATCH_INSUFFICIENT"
        else:
            raise AssertionError("no error")
        other = MesContext(session=session, user=mes.actor.user, runtime=app.state.runtime,
                           base_url="http://test", roles={uuid.uuid4(): Role.manager})  # fmt: skip
        try:
            await service.consume_for_run(other, target, 1, run_uri="r", printer_id=None)
        except NotFound:
            pass
        else:
            raise AssertionError("no error")
        with counted(engine) as statements:
            found = await service.ancestry(session, workspace_id, [target, uid(batch_uri)])
        assert len(statements) == 1
        ancestors = found[target]
        assert ancestors[0]["batch_id"] == target and ancestors[0]["depth"] == 0
        assert uid(batch_uri) in {a["batch_id"] for a in ancestors}
        assert {a["lot_id"] for a in ancestors} == {uid(lot_uri)}
        assert max(a["depth"] for a in ancestors) == 3 and len(ancestors) == 1 + 2 * 3
        assert [a["batch_id"] for a in found[uid(batch_uri)]] == [uid(batch_uri)]
        with counted(engine) as statements:
            descendants = await service.descendants_of_lot(session, workspace_id, uid(lot_uri))
        assert len(statements) == 1
        assert set(descendants) == set(
            await session.scalars(
                select(MaterialBatch.id).where(MaterialBatch.workspace_id == workspace_id)
            )
        )
        assert await service.descendants_of_lot(session, uuid.uuid4(), uid(lot_uri)) == []
        await session.rollback()
