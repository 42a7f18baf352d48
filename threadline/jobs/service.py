"""Durable jobs (DESIGN.md "MES face": long actions): enqueue, handlers, claim, run, finish.

A job is a row added to the caller's transaction by :func:`enqueue`: it exists exactly when the
change that asked for it committed, and this process's worker is woken right after that commit
(other processes find it at their next poll). A worker *claims* a row with one conditional
UPDATE, ``status`` pending → processing, ``attempts`` + 1. On PostgreSQL the row is picked with
``FOR UPDATE SKIP LOCKED``, so workers of N processes never claim one row together and never wait
on each other; SQLite serialises writers, so the same UPDATE is atomic there as it stands.

The handler runs in its own transaction, and the job is marked complete by the last statement of
that same transaction, on the condition that the claim is still this worker's (``attempts`` is the
claim's token). So the handler's writes and ``complete`` commit together or not at all: a process
that dies mid-job leaves nothing half-done, its claim's heartbeat goes quiet, and after
``stale_s`` another worker claims the row again. A worker that only looked dead (a long pause)
finds its claim gone at the end and rolls its work back. A job claimed ``max_attempts`` times
without finishing ends in ``error``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from threadline.db import new_id, table, utcnow
from threadline.jobs.models import Job, JobStatus
from threadline.jobs.settings import JobSettings

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Job], Awaitable[dict[str, Any] | None]]

# Error text of a job whose process kept dying under it.
ABANDONED = "The job was interrupted {attempts} times (the server running it stopped); not retried."
# Error text of a handler that raised something it did not mean to show (the log has the rest).
UNEXPECTED = "The job failed unexpectedly ({name}); the server log has the details."

_handlers: dict[str, Handler] = {}
# Called after each commit in this process that enqueued jobs: the running workers' wake().
_wake_listeners: list[Callable[[], None]] = []
_ENQUEUED = "jobs_enqueued"  # session.info key: this transaction added jobs


class JobFailed(Exception):
    """Raised by a handler: the job ends in ``error`` with this user-facing message, no retry."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RetryLater(Exception):
    """Raised by a handler: try again after ``after_s`` (back-off when None), while attempts
    remain; then the job ends in ``error`` with ``message``."""

    def __init__(self, message: str, *, after_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.after_s = after_s


# --- handlers -----------------------------------------------------------------------------------


def register(kind: str, fn: Handler, *, replace: bool = False) -> Handler:
    """Make ``fn`` the handler of jobs of ``kind`` in this process (at import time, or in the
    app's lifespan with ``replace=True`` for handlers bound to the running server's objects)."""
    existing = _handlers.get(kind)
    if existing is not None and existing is not fn and not replace:
        raise ValueError(f"job kind {kind!r} already has a handler ({existing.__qualname__})")
    _handlers[kind] = fn
    return fn


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Decorator form of :func:`register`: ``@handler("model.geometry")``."""
    return lambda fn: register(kind, fn)


def handler_of(kind: str) -> Handler | None:
    """The handler of ``kind`` in this process, if any (a module of ``THREADLINE_JOB_MODULES``
    may wrap it: it is imported after the app registered its own)."""
    return _handlers.get(kind)


def registered_kinds() -> list[str]:
    """The job kinds this process can run (a worker claims only these)."""
    return sorted(_handlers)


# --- enqueue and read ---------------------------------------------------------------------------


def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    workspace_id: uuid.UUID | None,
    payload: dict[str, Any],
    actor_id: uuid.UUID | None = None,
    delay_s: float = 0,
) -> Job:
    """Add a pending job to the caller's transaction (never commits); it runs once that commits.

    ``job.id`` is set at once, so the caller can answer with it before any flush.
    """
    if not kind or len(kind) > 100:
        raise ValueError(f"a job kind is 1 to 100 characters, not {kind!r}")
    now = utcnow()
    job = Job(
        id=new_id(),
        kind=kind,
        workspace_id=workspace_id,
        actor_id=actor_id,
        payload=payload,
        status=JobStatus.pending,
        attempts=0,
        run_after=now + timedelta(seconds=delay_s),
    )
    session.add(job)
    session.info[_ENQUEUED] = True
    return job


async def get(
    session: AsyncSession, job_id: uuid.UUID, *, workspace_id: uuid.UUID | None = None
) -> Job | None:
    """The job, or None; with ``workspace_id`` only when it belongs to that workspace."""
    job = await session.get(Job, job_id, populate_existing=True)
    if job is None or (workspace_id is not None and job.workspace_id != workspace_id):
        return None
    return job


async def get_many(session: AsyncSession, job_ids: Iterable[uuid.UUID]) -> list[Job]:
    """The jobs of ``job_ids`` that exist, in one statement, oldest first."""
    ids = list(job_ids)
    if not ids:
        return []
    rows = await session.scalars(
        select(Job).where(Job.id.in_(ids)).order_by(Job.created_at, Job.id),
        execution_options={"populate_existing": True},
    )
    return list(rows)


def on_enqueued(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener()`` after every commit in this process that enqueued jobs; returns the
    function that stops it."""
    _wake_listeners.append(listener)
    return lambda: _wake_listeners.remove(listener)


@sa_event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(_ENQUEUED, False):
        for listener in list(_wake_listeners):
            listener()


@sa_event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)


# --- claim --------------------------------------------------------------------------------------


def _claimable(settings: JobSettings, kinds: Sequence[str]) -> Any:
    """Due pending jobs, and processing jobs whose worker stopped beating (with attempts left)."""
    now = utcnow()
    stale_before = now - timedelta(seconds=settings.stale_s)
    return and_(
        Job.kind.in_(kinds),
        or_(
            and_(Job.status == JobStatus.pending, Job.run_after <= now),
            and_(
                Job.status == JobStatus.processing,
                Job.heartbeat_at < stale_before,
                Job.attempts < settings.max_attempts,
            ),
        ),
    )


async def claim(
    session: AsyncSession, *, worker_id: str, settings: JobSettings, kinds: Sequence[str]
) -> Job | None:
    """Claim the oldest claimable job of ``kinds`` for ``worker_id``, or None. One statement; the
    caller commits. The condition is repeated on the UPDATE so a row another worker claimed in
    the meantime is never taken (PostgreSQL re-checks it on the locked row)."""
    if not kinds:
        return None
    condition = _claimable(settings, kinds)
    candidate = (
        select(Job.id)
        .where(condition)
        .order_by(Job.run_after, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer at a time
        .scalar_subquery()
    )
    now = utcnow()
    statement = (
        update(Job)
        .where(Job.id == candidate, condition)
        .values(
            status=JobStatus.processing,
            attempts=Job.attempts + 1,
            claimed_by=worker_id,
            claimed_at=now,
            heartbeat_at=now,
            updated_at=now,
        )
        .returning(Job)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.scalars(statement)).one_or_none()


async def fail_abandoned(session: AsyncSession, *, settings: JobSettings) -> int:
    """End in ``error`` the jobs whose processes died under them ``max_attempts`` times; how
    many. The caller commits."""
    now = utcnow()
    stale_before = now - timedelta(seconds=settings.stale_s)
    result = await session.execute(
        update(table(Job))
        .where(
            table(Job).c.status == JobStatus.processing,
            table(Job).c.heartbeat_at < stale_before,
            table(Job).c.attempts >= settings.max_attempts,
        )
        .values(
            status=JobStatus.error,
            error=ABANDONED.format(attempts=settings.max_attempts),
            finished_at=now,
            updated_at=now,
        )
    )
    return int(cast("CursorResult[Any]", result).rowcount or 0)


# --- run ----------------------------------------------------------------------------------------


def _mine(job: Job, worker_id: str) -> Any:
    """The row is still claimed by this worker under this claim."""
    jobs = table(Job).c
    return and_(
        jobs.id == job.id,
        jobs.status == JobStatus.processing,
        jobs.claimed_by == worker_id,
        jobs.attempts == job.attempts,
    )


async def _settle(session: AsyncSession, job: Job, worker_id: str, **values: Any) -> bool:
    """Write the claim's outcome if the claim is still ours; whether it was."""
    now = utcnow()
    result = await session.execute(
        update(table(Job)).where(_mine(job, worker_id)).values(updated_at=now, **values)
    )
    return bool(cast("CursorResult[Any]", result).rowcount)


async def heartbeat(
    sessionmaker: async_sessionmaker[AsyncSession], job: Job, *, worker_id: str
) -> bool:
    """Tell other workers this claim is alive; False when it is no longer ours."""
    async with sessionmaker() as session:
        alive = await _settle(session, job, worker_id, heartbeat_at=utcnow())
        await session.commit()
    return alive


async def _beat_forever(
    sessionmaker: async_sessionmaker[AsyncSession], job: Job, worker_id: str, every_s: float
) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            if not await heartbeat(sessionmaker, job, worker_id=worker_id):
                log.warning("job %s (%s): claim taken over by another worker", job.id, job.kind)
                return
        except Exception:  # the database is away: the finish decides, the next beat may work
            log.warning("job %s: heartbeat failed", job.id, exc_info=True)


def _backoff(job: Job, settings: JobSettings) -> float:
    delay: float = settings.retry_s * 2.0 ** max(job.attempts - 1, 0)
    return min(delay, 3600.0)


async def execute(
    sessionmaker: async_sessionmaker[AsyncSession],
    job: Job,
    *,
    worker_id: str,
    settings: JobSettings,
    heartbeat_s: float | None = None,
) -> JobStatus | None:
    """Run a claimed job's handler and record the outcome; the status it ended in, or None when
    the claim was lost (another worker took it over). Never raises for the handler's errors."""
    fn = _handlers[job.kind]
    beating = (
        asyncio.create_task(_beat_forever(sessionmaker, job, worker_id, heartbeat_s))
        if heartbeat_s
        else None
    )
    try:
        async with sessionmaker() as session:
            outcome: dict[str, Any]
            try:
                result = await fn(session, job)
                done = {"status": JobStatus.complete, "result": result, "error": None}
                if await _settle(session, job, worker_id, finished_at=utcnow(), **done):
                    await session.commit()  # the handler's writes and "complete", together
                    return JobStatus.complete
                await session.rollback()
                log.warning("job %s (%s): claim lost, work rolled back", job.id, job.kind)
                return None
            except asyncio.CancelledError:
                await session.rollback()
                raise
            except JobFailed as failure:
                outcome = {"status": JobStatus.error, "error": failure.message}
            except RetryLater as retry:
                outcome = _retry_or_fail(job, settings, retry.message, retry.after_s)
            except (OperationalError, InterfaceError) as exc:  # the database went away: transient
                log.warning(
                    "job %s (%s): database error, retrying", job.id, job.kind, exc_info=True
                )
                outcome = _retry_or_fail(job, settings, UNEXPECTED.format(name=type(exc).__name__))
            except Exception as exc:
                log.exception("job %s (%s) failed", job.id, job.kind)
                outcome = {
                    "status": JobStatus.error,
                    "error": UNEXPECTED.format(name=type(exc).__name__),
                }
            await session.rollback()  # nothing of a failed handler stays
            if outcome["status"] is JobStatus.error:
                outcome["finished_at"] = utcnow()
            owned = await _settle(session, job, worker_id, **outcome)
            await session.commit()
            return outcome["status"] if owned else None
    except asyncio.CancelledError:
        await asyncio.shield(release(sessionmaker, job, worker_id=worker_id))
        raise
    finally:
        if beating is not None:
            beating.cancel()


def _retry_or_fail(
    job: Job, settings: JobSettings, message: str, after_s: float | None = None
) -> dict[str, Any]:
    if job.attempts >= settings.max_attempts:
        return {"status": JobStatus.error, "error": message}
    delay = _backoff(job, settings) if after_s is None else after_s
    return {
        "status": JobStatus.pending,
        "error": message,
        "claimed_by": None,
        "run_after": utcnow() + timedelta(seconds=delay),
    }


async def release(
    sessionmaker: async_sessionmaker[AsyncSession], job: Job, *, worker_id: str
) -> None:
    """Hand a claimed job back (this process is shutting down): pending again, at once, and the
    interrupted attempt does not count."""
    try:
        async with sessionmaker() as session:
            await _settle(
                session,
                job,
                worker_id,
                status=JobStatus.pending,
                claimed_by=None,
                attempts=table(Job).c.attempts - 1,
                run_after=utcnow(),
            )
            await session.commit()
    except Exception:  # the heartbeat timeout hands it over anyway
        log.warning("job %s: could not hand it back", job.id, exc_info=True)


async def claim_next(
    sessionmaker: async_sessionmaker[AsyncSession], *, worker_id: str, settings: JobSettings
) -> Job | None:
    """Claim one job in a transaction of its own (committed), or None."""
    async with sessionmaker() as session:
        job = await claim(session, worker_id=worker_id, settings=settings, kinds=registered_kinds())
        await session.commit()
    return job


async def run_pending(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    worker_id: str = "run_pending",
    settings: JobSettings | None = None,
    limit: int | None = None,
) -> list[Job]:
    """Run claimable jobs one after the other in this task until none is left (or ``limit``
    ran); the jobs as they ended. For tests and the CLI: deterministic, no heartbeat, no sleep."""
    settings = settings or JobSettings()
    ran: list[uuid.UUID] = []
    async with sessionmaker() as session:
        await fail_abandoned(session, settings=settings)
        await session.commit()
    while limit is None or len(ran) < limit:
        job = await claim_next(sessionmaker, worker_id=worker_id, settings=settings)
        if job is None:
            break
        await execute(sessionmaker, job, worker_id=worker_id, settings=settings)
        ran.append(job.id)
    async with sessionmaker() as session:
        jobs = {job.id: job for job in await get_many(session, ran)}
    return [jobs[job_id] for job_id in ran if job_id in jobs]
