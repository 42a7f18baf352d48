"""Durable jobs: claim, complete, error, retry and reclaim, run deterministically."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from threadline.db import utcnow
from threadline.jobs import service as jobs
from threadline.jobs.models import Job, JobStatus
from threadline.jobs.settings import JobSettings

SETTINGS = JobSettings(stale_s=30, max_attempts=2, retry_s=0)


@jobs.handler("tests.echo")
async def _echo(session: Any, job: Job) -> dict[str, Any]:
    if job.payload.get("fail"):
        raise jobs.JobFailed("The file cannot be read.")
    if job.payload.get("crash"):
        raise RuntimeError("boom")
    if job.payload.get("retry"):
        raise jobs.RetryLater("busy", after_s=0)
    return {"echo": job.payload["value"], "attempts": job.attempts}


async def _enqueue(sessionmaker: Any, **payload: Any) -> Job:
    async with sessionmaker() as session:
        job = jobs.enqueue(session, kind="tests.echo", workspace_id=None, payload=payload)
        await session.commit()
    return job


async def test_complete(sessionmaker) -> None:
    job = await _enqueue(sessionmaker, value=7)
    [done] = await jobs.run_pending(sessionmaker, settings=SETTINGS)
    assert (done.id, done.status, done.result) == (
        job.id,
        JobStatus.complete,
        {"echo": 7, "attempts": 1},
    )
    assert await jobs.run_pending(sessionmaker, settings=SETTINGS) == []


async def test_job_failed_and_crash_end_in_error(sessionmaker) -> None:
    await _enqueue(sessionmaker, fail=True)
    await _enqueue(sessionmaker, crash=True)
    failed, crashed = await jobs.run_pending(sessionmaker, settings=SETTINGS)
    assert (failed.status, failed.error) == (JobStatus.error, "The file cannot be read.")
    assert crashed.status is JobStatus.error and "RuntimeError" in (crashed.error or "")


async def test_retry_until_attempts_run_out(sessionmaker) -> None:
    await _enqueue(sessionmaker, retry=True)
    [first] = await jobs.run_pending(sessionmaker, settings=SETTINGS, limit=1)
    assert (first.status, first.attempts) == (JobStatus.pending, 1)
    [second] = await jobs.run_pending(sessionmaker, settings=SETTINGS)
    assert (second.status, second.attempts, second.error) == (JobStatus.error, 2, "busy")


async def test_reclaim_after_dead_process(sessionmaker) -> None:
    job = await _enqueue(sessionmaker, value=1)
    async with sessionmaker() as session:
        claimed = await jobs.claim(
            session, worker_id="dead", settings=SETTINGS, kinds=["tests.echo"]
        )
        assert claimed is not None and claimed.id == job.id
        await session.commit()
    assert await jobs.run_pending(sessionmaker, settings=SETTINGS) == []  # heartbeat is fresh
    async with sessionmaker() as session:
        await session.execute(
            update(Job).where(Job.id == job.id).values(heartbeat_at=utcnow() - timedelta(minutes=5))
        )
        await session.commit()
    [done] = await jobs.run_pending(sessionmaker, settings=SETTINGS)
    assert (done.status, done.attempts, done.claimed_by) == (JobStatus.complete, 2, "run_pending")
