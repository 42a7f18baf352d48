"""LIST ``/piece/`` is rendered by the database (threadline/mes/pagesql.py), GET by Python
(threadline/mes/resources.render): the two must write every field of every piece the same, on
SQLite and PostgreSQL, whatever the piece's line item, order and prints hold."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import update

from tests.catalog.test_attachments import make_part, make_revision
from tests.mes.conftest import Mes
from tests.mes.test_crosscut_events import counted
from tests.mes.test_demand_prints import _workflow
from threadline.mes import resources
from threadline.mes.demand.models import Piece

ITEM = {"quantity": 2, "no_model_upload": True, "name": "gear"}


@pytest.fixture
def python_renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kinds :func:`resources.render` rendered (a LIST the database renders is not one)."""
    seen: list[str] = []
    real = resources.render

    async def spy(ctx: Any, resource: Any, rows: Any) -> Any:
        seen.append(resource.kind)
        return await real(ctx, resource, rows)

    monkeypatch.setattr(resources, "render", spy)
    return seen


async def _varied_pieces(mes: Mes, connection: Any) -> str:
    """An order whose pieces cover what a piece shows: a workflow or none, a model or none, a
    material, a part revision, an order with location, owner and a due date with and without
    microseconds, a JSON analysis, a layer thickness, a piece off its line item's workflow."""
    flow, _ = await _workflow(mes, "P", 2)
    material = await mes.create("material", {"name": "PA12", "type": "base", "color": "#ffffff"})
    model = await mes.create("model", {"name": "bracket.stl"})
    site = await mes.create("location", {"name": "Lyon", "address": "x"})
    part = await make_part(mes.actor, "BRK-1", workspace="acme")
    version = await make_revision(mes.actor, part, "X1")
    revision = f"http://testserver/v1/parts/{part['id']}/versions/{version['id']}"
    owner = f"http://testserver/mes/users/{mes.actor.user.id}/"
    items = [
        {**ITEM, "workflow": flow, "additive": {"materials": {"base": material}}},
        {"quantity": 1, "name": "modelled", "model": model, "part_version": revision},
        {**ITEM, "name": "bare"},
    ]
    body = {
        "name": 'Mixed <b>&"quotes"</b> ü',
        "line_items": items,
        "location": site,
        "order_owner": owner,
        "due_date": "2027-01-31T12:00:00.123456Z",
    }
    order = await mes.create("order", body)
    pieces = (await mes.list("piece", **{"filter[order]": order}))["resources"]
    await mes.update(
        pieces[0]["uri"],
        {"layer_thickness": 0.12, "external_print_analysis": {"ok": True, "n": [1, 2.5]}},
    )
    piece_id = uuid.UUID(pieces[1]["uri"].rstrip("/").rsplit("/", 1)[1])
    async with connection.begin_nested():  # a piece on a workflow of its own: reworked
        table = Piece.__table__
        await connection.execute(
            update(table).where(table.c.id == piece_id).values(workflow_id=None)
        )
    return order


async def test_database_and_python_render_pieces_alike(
    mes: Mes, connection: Any, python_renders: list[str]
) -> None:
    order = await _varied_pieces(mes, connection)
    second = await mes.create(
        "order", {"name": "Second", "due_date": "2027-02-01T00:00:00Z", "line_items": [ITEM]}
    )
    for params in (
        {},
        {"filter[order]": order},
        {"sort": "-name"},
        {"sort": "status,-copy", "page[limit]": "3", "page[offset]": "1"},
    ):
        python_renders.clear()
        listed = (await mes.list("piece", **params))["resources"]
        assert "piece" not in python_renders, "the LIST was not rendered by the database"
        assert listed, params
        for piece in listed:
            assert piece == await mes.get(piece["uri"]), piece["name"]
    everything = (await mes.list("piece"))["resources"]
    assert {p["reworked"] for p in everything} == {True, False}
    assert {p["order_due_date"] for p in everything} == {
        "2027-01-31T12:00:00.123456+00:00",
        "2027-02-01T00:00:00+00:00",
    }
    assert any(p["part_version"] for p in everything) and any(
        p["current_print"] for p in everything
    )
    names = [p["name"] for p in (await mes.list("piece", sort="-name"))["resources"]]
    assert names == sorted(names, reverse=True)
    assert second


async def test_a_page_of_pieces_is_two_statements(mes: Mes, engine: Any) -> None:
    """The count and the rendered page, for any page size (the caller's sign-in aside)."""

    async def statements(limit: int) -> int:
        with counted(engine) as sent:
            await mes.list("piece", **{"page[limit]": str(limit)})
        return len(sent)

    await mes.create("order", {"name": "O", "line_items": [{**ITEM, "quantity": 30}]})
    assert await statements(1) == await statements(30)
