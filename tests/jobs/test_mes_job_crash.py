"""A server killed (SIGKILL) in the middle of an MES floor job loses nothing and doubles nothing.

For ``/create-runs/`` and ``/run-transformation/`` (``remanufacture``), a real ``threadline
serve`` runs the job's handler to the end of its work (runs, pieces, prints and audit rows
written into the job's transaction) and hangs before the commit (tests/jobs/crash_mes_jobs.py).
The test kills it there, restarts the server on the same database, and checks that the job
completes exactly once: on its second claim, with one result, and with exactly the rows of one
plan or one transformation, none left over from the killed attempt.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from tests.jobs.test_two_servers import JOBS, _wait
from tests.live import fresh_database, live_server
from tests.mes.conftest import Mes
from tests.mes.floor import Shop, make_shop
from threadline.audit.models import AuditEvent
from threadline.config import Settings
from threadline.db import create_engine, sqlite_write_intent
from threadline.jobs.models import Job, JobStatus
from threadline.mes.demand.models import Piece, Print
from threadline.mes.floor.models import Run


class RemoteMes(Mes):
    """The MES test client over HTTP to a live server (the helpers of tests/mes/floor.py)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client


def _id(uri: str) -> uuid.UUID:
    return uuid.UUID(uri.rstrip("/").rsplit("/", 1)[1])


async def _post_create_runs(shop: Shop) -> dict[str, Any]:
    """Three pieces planned onto the printer: one plate, then the blasting and shipping runs."""
    order = await shop.order(quantity=3)
    request = await shop.mes.create(
        "create-runs",
        {
            "pieces": order["pieces"],
            "primary_workstation": shop.printer,
            "do_build_volume_check": False,  # the pieces have no model to measure
        },
    )
    return {"request": request, **order}


async def _post_remanufacture(shop: Shop) -> dict[str, Any]:
    """A printing run of three pieces failed; two of them are remanufactured."""
    order = await shop.order(quantity=3)
    run = await shop.run(order["by_step"][shop.steps[0]], printer=shop.printer)
    await shop.status(run, "in-progress")
    await shop.status(run, "error")
    failed = order["by_step"][shop.steps[0]][:2]
    request = await shop.mes.create(
        "run-transformation", {"type": "remanufacture", "source_run": run, "prints": failed}
    )
    return {"request": request, "run": run, "failed": failed, **order}


async def _in_shop(
    url: str, token: str, then: Callable[[Shop], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    """Make a bureau and its floor (tests/mes/floor.py) on the live server, then ``then``."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        bureau = await client.post("/mes/bureau/", json={"name": "shop"})
        assert bureau.status_code == 204, bureau.text
        shop = await make_shop(RemoteMes(client))
        posted = await then(shop)
        return {"steps": shop.steps, **posted}


async def _rows(database_url: str, job_id: uuid.UUID) -> dict[str, Any]:
    """The job and every run, piece, print and run/piece audit row, read straight from the
    database (what no HTTP response would show: rows the killed attempt might have left)."""
    # Read-only: on SQLite, BEGIN DEFERRED reads beside the hung writer instead of queueing
    sqlite_write_intent.set(False)  # this coroutine's own context (asyncio.run copies it)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            job = (await connection.execute(Job.__table__.select().where(Job.id == job_id))).one()
            runs = (await connection.execute(select(Run.__table__))).all()
            pieces = (await connection.execute(select(Piece.__table__))).all()
            prints = (await connection.execute(select(Print.__table__))).all()
            audit = (
                await connection.execute(
                    select(AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.action).where(
                        AuditEvent.entity_type.in_(["mes.run", "mes.piece", "mes.print"])
                    )
                )
            ).all()
            jobs = (await connection.execute(select(Job.kind))).scalars().all()
    finally:
        await engine.dispose()
    return {
        "job": job,
        "runs": runs,
        "pieces": pieces,
        "prints": prints,
        "audit": audit,
        "jobs": jobs,
    }


def _no_orphans(rows: dict[str, Any]) -> None:
    """Every run/piece/print the audit log names exists, and none was created twice."""
    existing = {
        "mes.run": {str(r.id) for r in rows["runs"]},
        "mes.piece": {str(p.id) for p in rows["pieces"]},
        "mes.print": {str(p.id) for p in rows["prints"]},
    }
    for entity_type, entity_id, _action in rows["audit"]:
        assert entity_id in existing[entity_type], (entity_type, entity_id)
    created = Counter((t, i) for t, i, action in rows["audit"] if action == "create")
    assert not [key for key, n in created.items() if n > 1], created


def _crash_and_restart(
    tmp_path: Path, post: Callable[[Shop], Awaitable[dict[str, Any]]]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any], int, int]:
    """Server A posts through ``post`` and is killed inside the job; server B, restarted on the
    same database without the hang, finishes it. What was posted, what A's transaction held when
    it was killed, the request as B shows it once it ended, the database rows, A's and B's pids."""
    home, marker = tmp_path / "home", tmp_path / "mid-job"
    shared = {"THREADLINE_SECRET_KEY": secrets.token_hex(16), **JOBS}
    hanging = shared | {
        "THREADLINE_JOB_MODULES": "tests.jobs.crash_mes_jobs",
        "THREADLINE_TEST_JOB_MARKER": str(marker),
    }
    with fresh_database(home) as database:
        url = Settings(home=home, database_url=database).effective_database_url
        with live_server(home, env=hanging, database=database) as first:
            token = first.token()
            posted = asyncio.run(_in_shop(first.url, token, post))
            _wait("server A to hang inside the job", marker.exists)
            mid = json.loads(marker.read_text())
            job_id = uuid.UUID(mid["job"])
            job = asyncio.run(_rows(url, job_id))["job"]
            assert job.status == JobStatus.processing and job.attempts == 1
            assert first.process is not None
            first.process.kill()  # SIGKILL: no shutdown, no hand-back, no commit
            first.process.wait()
            killed = first.process.pid

        with live_server(home, env=shared, database=database) as second:
            assert second.process is not None
            headers = {"Authorization": f"Bearer {token}"}
            request = posted["request"].replace(first.url, second.url)

            def finished() -> dict[str, Any] | None:
                shown: dict[str, Any] = httpx.get(request, headers=headers).json()
                return shown if shown["status"] in ("complete", "error") else None

            shown = _wait("server B to finish the job", finished, timeout=60)
            assert isinstance(shown, dict)
            rows = asyncio.run(_rows(url, job_id))
            return posted, mid, shown, rows, killed, second.process.pid


def _once(job: Any, killed: int, survivor: int) -> None:
    """Completed on its second claim, by the restarted server, the killed claim left behind."""
    assert job.status == JobStatus.complete, job.error
    assert job.attempts == 2 and job.error is None and job.finished_at is not None
    assert job.claimed_by is not None
    assert job.claimed_by.split(":")[1] == str(survivor) != str(killed)


def test_create_runs_killed_mid_plan_is_planned_once(tmp_path: Path) -> None:
    posted, mid, plan, rows, killed, survivor = _crash_and_restart(tmp_path, _post_create_runs)
    assert plan["status"] == "complete", plan["notes"]
    job = rows["job"]
    _once(job, killed, survivor)
    assert rows["jobs"].count("mes.create-runs") == 1
    assert job.result == {"primary_run": str(_id(plan["primary_run"]))}

    # exactly one plan's runs: the killed attempt had made as many, none of them survived
    planned = {_id(r) for r in plan["resulting_runs"]}
    assert {r.id for r in rows["runs"]} == planned
    assert {r.planned_by_id for r in rows["runs"]} == {_id(posted["request"])}
    assert len(planned) == mid["runs"] >= len(posted["steps"])
    assert uuid.UUID(mid["result"]["primary_run"]) not in planned  # the killed attempt's own
    assert plan["unfitted_pieces"] == []

    # every print of every piece in exactly one run of its step, every run holding some
    pieces, steps = {_id(p) for p in posted["pieces"]}, [_id(s) for s in posted["steps"]]
    prints = [p for p in rows["prints"] if p.piece_id in pieces]
    assert Counter((p.piece_id, p.process_step_id) for p in prints) == {
        (piece, step): 1 for piece in pieces for step in steps
    }
    assert all(p.run_id in planned for p in prints)
    by_run = {r.id: {p.process_step_id for p in prints if p.run_id == r.id} for r in rows["runs"]}
    assert all(len(held) == 1 for held in by_run.values()), by_run
    primary = _id(plan["primary_run"])
    assert {p.run_id for p in prints if p.process_step_id == steps[0]} == {primary}
    _no_orphans(rows)


def test_remanufacture_killed_mid_way_replaces_each_piece_once(tmp_path: Path) -> None:
    posted, mid, done, rows, killed, survivor = _crash_and_restart(tmp_path, _post_remanufacture)
    assert done["status"] == "complete", done["notes"]
    job = rows["job"]
    _once(job, killed, survivor)
    assert rows["jobs"].count("mes.run-transformation") == 1
    assert job.result == mid["result"]

    # one replacement per failed piece: the killed attempt had made them too, none survived
    failed_prints = {_id(p) for p in posted["failed"]}
    by_id = {p.id: p for p in rows["pieces"]}
    prints = {p.id: p for p in rows["prints"]}
    failed = {prints[p].piece_id for p in failed_prints}
    kept = {_id(p) for p in posted["pieces"]} - failed
    assert len(rows["pieces"]) == len(posted["pieces"]) + len(failed) == mid["pieces"]
    replacements = {by_id[p].remanufactured_to_id for p in failed}
    assert None not in replacements and len(replacements) == len(failed)
    assert set(by_id) == {_id(p) for p in posted["pieces"]} | replacements
    assert sorted(by_id[p].copy for p in replacements) == [4, 5]
    assert {by_id[p].status for p in failed} == {"incomplete"}
    assert {by_id[p].status for p in replacements} == {"confirmed"}
    assert all(by_id[p].remanufactured_to_id is None for p in kept | replacements)

    # each replacement has its workflow's prints once; each failed print points at one of them
    steps = [_id(s) for s in posted["steps"]]
    fresh = [p for p in rows["prints"] if p.piece_id in replacements]
    assert Counter((p.piece_id, p.process_step_id) for p in fresh) == {
        (piece, step): 1 for piece in replacements for step in steps
    }
    firsts = {p.id for p in fresh if p.process_step_id == steps[0]}
    assert {prints[p].remanufactured_to_id for p in failed_prints} == firsts
    assert {p.status for p in rows["prints"] if p.piece_id in failed} == {"cancelled"}
    assert {r.id for r in rows["runs"]} == {_id(posted["run"])}  # no run made or lost
    _no_orphans(rows)
