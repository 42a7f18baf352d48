"""Demand with workflows: one print per piece per step in step order, a workflow change at
status <= pending re-makes them, the statement count of an order does not grow with pieces."""

from __future__ import annotations

from tests.mes.test_demand import counted

ITEM = {"quantity": 2, "no_model_upload": True, "name": "gear"}


async def _workflow(mes, name: str, steps: int) -> tuple[str, list[str]]:
    printer_type = await mes.create(
        "printer-type", {"name": f"{name} SLS", "build_volume": {"x": 300, "y": 300, "z": 300}}
    )
    uris = [
        await mes.create(
            "process-step", {"name": f"{name} print", "workstation_type_uri": printer_type}
        )
    ]
    for n in range(steps - 1):
        pp = await mes.create("post-processor-type", {"name": f"{name} PP {n}", "duration": 60})
        uris.append(
            await mes.create("process-step", {"name": f"{name} {n}", "workstation_type_uri": pp})
        )
    return await mes.create("workflow", {"name": name, "process_steps": uris}), uris


async def test_prints_follow_the_workflow_steps(mes):
    flow, steps = await _workflow(mes, "A", 3)
    order = await mes.get(
        await mes.create("order", {"name": "O", "line_items": [{**ITEM, "workflow": flow}]})
    )
    item = order["line_items"][0]
    prints = await mes.list(
        "print", **{"filter[line_item]": item, "sort": "copy,process_step_position"}
    )
    assert [(p["copy"], p["process_step"]) for p in prints["resources"]] == [
        (c, s) for c in (1, 2) for s in steps
    ]
    assert {p["order_step_status"] for p in prints["resources"]} == {"new"}
    piece = (await mes.list("piece", **{"filter[line_item]": item}))["resources"][0]
    assert piece["current_print"] and piece["workflow"] == flow

    other, other_steps = await _workflow(mes, "B", 2)
    await mes.update(item, {"workflow": other})
    prints = await mes.list("print", **{"filter[line_item]": item})
    assert prints["meta"]["count"] == 4
    assert {p["process_step"] for p in prints["resources"]} == set(other_steps)

    await mes.update(item, {"status": "confirmed"})
    assert (await mes.get(order["uri"]))["status"] == "confirmed"
    pieces = await mes.list("piece", **{"filter[line_item]": item})
    assert {p["status"] for p in pieces["resources"]} == {"confirmed"}
    response = await mes.client.put(item, json={"workflow": flow})
    assert response.status_code == 400
    await mes.update(item, {"status": "pending"})
    assert {
        p["status"] for p in (await mes.list("piece", **{"filter[line_item]": item}))["resources"]
    } == {"new"}


async def test_quote_required_blocks_confirmation(mes):
    flow, _ = await _workflow(mes, "Q", 1)
    uri = await mes.create(
        "order", {"name": "Q", "quote_required": True, "line_items": [{**ITEM, "workflow": flow}]}
    )
    response = await mes.client.put(uri, json={"status": "confirmed"})
    assert response.status_code == 400
    assert response.json()["code"] == "QUOTE_NOT_APPROVED"


async def test_order_statements_with_prints_do_not_grow(mes, engine):
    flow, _ = await _workflow(mes, "S", 5)

    async def count(n: int, quantity: int) -> int:
        items = [{**ITEM, "quantity": quantity, "workflow": flow} for _ in range(n)]
        with counted(engine) as statements:
            response = await mes.client.post("/mes/order/", json={"name": "S", "line_items": items})
        assert response.status_code == 204, response.text
        return len(statements)

    await count(1, 1)
    assert await count(2, 1) == await count(100, 10)  # 1,000 pieces, 5,000 prints
