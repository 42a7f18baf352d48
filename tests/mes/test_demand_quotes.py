"""``/order-quote/``: revisions of an order's price rendered to a PDF by a durable job; approving
one (with a customer PO) lets the order's line items be confirmed (mes-api-reference.txt)."""

from __future__ import annotations

from typing import Any

from tests.conftest import assert_problem
from tests.mes.conftest import Mes
from tests.mes.test_demand_prints import _workflow
from threadline.jobs import service as jobs
from threadline.mes.demand import quotes

ITEM = {"quantity": 2, "no_model_upload": True, "name": "gear"}


async def render(app: Any) -> list[Any]:
    """Run the pending jobs as the server's worker would (the test app has no lifespan)."""
    runtime = app.state.runtime
    jobs.register(quotes.JOB_KIND, quotes.job_handler(runtime.blobs), replace=True)
    return await jobs.run_pending(runtime.sessionmaker)


async def _order(mes: Mes, flow_name: str = "Q", **extra: Any) -> dict[str, Any]:
    flow, _ = await _workflow(mes, flow_name, 1)
    items = [
        {**ITEM, "workflow": flow, "estimates": {"total_price": 100}},
        {**ITEM, "workflow": flow, "name": "unpriced"},
    ]
    body = {"name": "Gearbox", "quote_required": True, "line_items": items, **extra}
    return await mes.get(await mes.create("order", body))


async def test_quote_is_rendered_approved_and_lets_the_order_confirm(mes: Mes, app: Any) -> None:
    order = await _order(mes)
    body = {
        "order": order["uri"],
        "markup_value": 10,
        "discount_type": "percentage",
        "discount_value": 5,
        "notes": "Valid 30 days — 2 % early payment",
    }
    uri = await mes.create("order-quote", body)
    quote = await mes.get(uri)
    assert quote["status"] == "pending" and quote["content"] is None
    assert quote["number"] == f"{order['customer_id']}-Q1" and quote["approved"] is False
    assert quote["bureau"] == order["bureau"] and quote["order"] == order["uri"]
    not_ready = await mes.client.put(uri, json={"approved": True, "customer_po": "PO-1"})
    assert_problem(not_ready, 400, "QUOTE_NOT_READY")

    (job,) = await render(app)
    assert job.status.value == "complete", job.error
    quote = await mes.get(uri)
    assert quote["status"] == "complete"
    assert quote["total"] == 104.5  # (100 + 10 %) - 5 %; the unpriced line is left out
    document = await mes.client.get(quote["content"])
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/pdf"
    assert document.content.startswith(b"%PDF")

    # confirming needs the approved quote, and approving needs a customer PO
    refused = await mes.client.put(order["uri"], json={"status": "confirmed"})
    assert_problem(refused, 400, "QUOTE_NOT_APPROVED")
    no_po = await mes.client.put(uri, json={"approved": True})
    body = assert_problem(no_po, 400, "QUOTE_NO_CUSTOMER_PO")
    assert body["detail"] == quotes.NO_CUSTOMER_PO
    await mes.update(uri, {"approved": True, "customer_po": "PO-1"})
    approved = await mes.get(order["uri"])
    assert approved["quote_approved"] is True and approved["customer_po"] == "PO-1"
    events = await mes.list("event", **{"filter[reference]": order["uri"]})
    assert "quote_approved" in {e["key"] for e in events["resources"]}
    changed = await mes.client.put(uri, json={"markup_value": 20})
    assert_problem(changed, 400, "QUOTE_APPROVED")
    await mes.update(order["uri"], {"status": "confirmed"})

    # a confirmed order is not quoted again
    again = await mes.client.post("/mes/order-quote/", json={"order": order["uri"]})
    assert assert_problem(again, 400, "ORDER_CONFIRMED")["detail"] == quotes.CONFIRMED


async def test_revisions_and_repricing(mes: Mes, app: Any) -> None:
    order = await _order(mes, customer_po="PO-7")
    first = await mes.create("order-quote", {"order": order["uri"]})
    second = await mes.create("order-quote", {"order": order["uri"], "discount_value": 30})
    await render(app)
    listed = await mes.list("order-quote", **{"filter[order]": order["uri"]})
    assert [q["number"] for q in listed["resources"]] == [
        f"{order['customer_id']}-Q1",
        f"{order['customer_id']}-Q2",
    ]
    assert [q["total"] for q in listed["resources"]] == [100, 70]
    assert (await mes.get(first))["customer_po"] == "PO-7"  # the order's PO by default
    # a new price renders the document again
    await mes.update(second, {"discount_type": "amount", "discount_value": 250})
    assert (await mes.get(second))["status"] == "pending"
    await render(app)
    repriced = await mes.get(second)
    assert repriced["status"] == "complete" and repriced["total"] == 0  # never below zero
    # approving one, then withdrawing it, moves the order's flag both ways
    await mes.update(first, {"approved": True})
    assert (await mes.get(order["uri"]))["quote_approved"] is True
    await mes.update(first, {"approved": False})
    assert (await mes.get(order["uri"]))["quote_approved"] is False


async def test_bad_input_tenancy_and_methods(mes: Mes, other_mes: Mes, app: Any) -> None:
    order = await _order(mes)
    post = mes.client.post
    assert_problem(await post("/mes/order-quote/", json={}), 400, "FIELD_REQUIRED")
    for bad in ({"discount_type": "half"}, {"markup_value": -1}, {"approved": "yes"}):
        response = await post("/mes/order-quote/", json={"order": order["uri"], **bad})
        assert_problem(response, 400, "INVALID_FIELD")
    approved_at_once = await post(
        "/mes/order-quote/", json={"order": order["uri"], "approved": True}
    )
    assert_problem(approved_at_once, 400, "QUOTE_NOT_READY")
    uri = await mes.create("order-quote", {"order": order["uri"]})
    # another bureau sees no quote and cannot quote this bureau's order
    hidden = await other_mes.client.get(uri)
    assert assert_problem(hidden, 404)["detail"] == "The requested report cannot be found."
    foreign = await other_mes.client.post("/mes/order-quote/", json={"order": order["uri"]})
    assert_problem(foreign, 404)
    assert (await other_mes.list("order-quote"))["meta"]["count"] == 0
    assert (await mes.client.delete(uri)).status_code == 405
    # the order is set once (a GET body sent back is accepted; its order is ignored)
    other = await _order(mes, "R")
    await mes.update(uri, {"order": other["uri"]})
    assert (await mes.get(uri))["order"] == order["uri"]
    # deleting the order takes its quotes with it
    await mes.delete(order["uri"])
    assert_problem(await mes.client.get(uri), 404)
