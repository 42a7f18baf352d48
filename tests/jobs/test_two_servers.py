"""Two real servers on one database: the one running an MES geometry job is killed (SIGKILL)
in the middle of it, and the other takes the job over once the claim's heartbeat goes quiet and
finishes it: the model ends ``processed`` with its geometry, the job complete on its second
claim, by the second server (threadline/jobs: claims, heartbeats, takeover)."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.live import fresh_database, live_server
from tests.mes.test_files import cube_stl
from threadline.config import Settings
from threadline.db import create_engine
from threadline.jobs.models import Job, JobStatus

# Heartbeats every 0.5 s; a claim 2 s quiet is taken over; other processes' jobs looked for
# every 0.2 s (docs/jobs.md, THREADLINE_JOB_*).
JOBS = {"THREADLINE_JOB_STALE_S": "2", "THREADLINE_JOB_POLL_S": "0.2"}


def _wait(what: str, check, timeout: float = 60) -> object:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _job(database_url: str, job_id: uuid.UUID) -> Job:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            row = (await connection.execute(Job.__table__.select().where(Job.id == job_id))).one()
    finally:
        await engine.dispose()
    return row  # type: ignore[no-any-return]


def test_a_killed_servers_job_is_finished_by_the_other(tmp_path: Path) -> None:
    home = tmp_path / "home"
    marker = tmp_path / "mid-job"
    shared = {"THREADLINE_SECRET_KEY": secrets.token_hex(16), **JOBS}
    with fresh_database(home) as database:
        slow = shared | {
            "THREADLINE_JOB_MODULES": "tests.jobs.slow_mes_files",
            "THREADLINE_TEST_JOB_MARKER": str(marker),
        }
        with live_server(home, env=slow, database=database) as first:
            auth = {"Authorization": f"Bearer {first.token()}"}
            bureau = httpx.post(f"{first.url}/mes/bureau/", json={"name": "shop"}, headers=auth)
            assert bureau.status_code == 204, bureau.text
            created = httpx.post(
                f"{first.url}/mes/model/",
                json={"name": "cube.stl"},
                headers=auth,
            )
            assert created.status_code == 204, created.text
            model, upload = created.headers["location"], created.headers["x-upload-location"]
            data = cube_stl(20.0)
            stored = httpx.put(
                upload, content=data, headers={"content-type": "application/octet-stream"}
            )
            assert stored.status_code == 204, stored.text
            _wait("the first server to be inside the job", marker.exists)
            job_id = uuid.UUID(marker.read_text())

            with live_server(home, env=shared, database=database) as second:
                assert first.process is not None
                first.process.kill()  # SIGKILL: no shutdown, no hand-back of the claim
                first.process.wait()

                def processed() -> dict | None:  # type: ignore[type-arg]
                    shown = httpx.get(model.replace(first.url, second.url), headers=auth).json()
                    return shown if shown["status"] == "processed" else None

                shown = _wait("the second server to finish the job", processed)
                url = Settings(home=home, database_url=database).effective_database_url
                job = asyncio.run(_job(url, job_id))
    assert isinstance(shown, dict)
    assert shown["polygons"] == 12 and shown["file_size"] == len(data)
    assert shown["volume_mm"] == pytest.approx(8000, rel=1e-3)
    assert job.status == JobStatus.complete and job.attempts == 2
    assert job.claimed_by is not None and job.claimed_by.split(":")[1] != str(first.process.pid)


def test_a_running_server_renders_order_quotes(tmp_path: Path) -> None:
    """The server's worker has the quote handler (registered in the app's lifespan)."""
    with live_server(tmp_path / "home", env=JOBS) as server:
        auth = {"Authorization": f"Bearer {server.token()}"}

        def post(kind: str, body: dict) -> str:  # type: ignore[type-arg]
            response = httpx.post(f"{server.url}/mes/{kind}/", json=body, headers=auth)
            assert response.status_code == 204, response.text
            return response.headers["location"]

        post("bureau", {"name": "shop"})
        item = {"name": "gear", "quantity": 2, "no_model_upload": True}
        order = post("order", {"name": "O", "line_items": [item]})
        quote = post("order-quote", {"order": order})

        def complete() -> dict | None:  # type: ignore[type-arg]
            shown = httpx.get(quote, headers=auth).json()
            return shown if shown["status"] == "complete" else None

        shown = _wait("the quote's document", complete)
        assert isinstance(shown, dict)
        document = httpx.get(shown["content"])
        assert document.status_code == 200 and document.content.startswith(b"%PDF")
