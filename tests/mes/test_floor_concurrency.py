"""Two operators complete the same run at once: exactly one succeeds, the other gets 409 and
changes nothing. Real commits on separate connections (the race fixture of
tests/test_concurrency.py); on PostgreSQL a blocker holds the run's row until both writes wait
on it, on SQLite the writers queue on its write lock."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import delete

from tests.mes.conftest import Mes
from tests.mes.floor import make_shop
from tests.test_concurrency import Race, _all_at_once, race  # noqa: F401 - the fixture
from threadline.auth.models import Workspace
from threadline.mes.floor.models import Run


async def test_two_operators_complete_one_run(race: Race) -> None:  # noqa: F811
    owner = Mes(cast(Any, SimpleNamespace(client=race.owner)))
    shop = await make_shop(owner)
    order = await shop.order(quantity=2)
    run = await shop.run(order["by_step"][shop.steps[0]], printer=shop.printer)
    await shop.status(run, "in-progress")
    run_id = run.rstrip("/").rsplit("/", 1)[1]
    first, second = race.writers[:2]
    answers = await _all_at_once(
        race.engine,
        cast(Any, Run),
        run_id,
        [c.put(run, json={"status": "complete"}) for c in (first, second)],
    )
    assert sorted(a.status_code for a in answers) == [204, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json()["detail"] == "The requested status transformation is not allowed."
    assert await shop.piece_statuses(order["pieces"]) == {"queued-for-post-processing"}
    actuals = await owner.list("run-actuals", **{"filter[run]": run})
    assert actuals["meta"]["count"] == 1
    # the race fixture removes the workspace; PostgreSQL cascades it at the statement's end,
    # SQLite checks RESTRICT row by row inside the cascade: defer them and delete here
    async with race.engine.begin() as connection:
        if connection.dialect.name != "sqlite":
            return
        await connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        await connection.execute(delete(Workspace).where(Workspace.id == race.workspace_id))
