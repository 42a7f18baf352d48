"""The job worker of one server process, started and stopped by the app's lifespan.

It claims jobs while it has free slots (``concurrency``), runs each as a task with a heartbeat,
and sleeps until a local commit enqueues a job, a running job ends, or ``poll_s`` passes (jobs
enqueued by other processes). Errors of the database or of a handler are logged; the worker
keeps going. On shutdown, running jobs get ``shutdown_grace_s`` to finish, the rest are handed
back so another process takes them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from threadline.jobs import service
from threadline.jobs.models import JobStatus
from threadline.jobs.settings import JobSettings

log = logging.getLogger(__name__)

# After a failed poll (database restarting), wait this long before the next.
RETRY_S = 1.0


def process_id() -> str:
    """Who holds a claim: host, process id and a random tail (a pid is reused after restarts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Claims and runs this process's share of the jobs."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        settings: JobSettings | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings or JobSettings()
        self.worker_id = worker_id or process_id()
        self._woken = asyncio.Event()
        self._running: set[asyncio.Task[JobStatus | None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._stop_listening: Callable[[], None] | None = None
        self._closing = False

    async def start(self) -> None:
        """Import the extra handler modules and start polling."""
        for name in self.settings.module_list:
            importlib.import_module(name)
        self._stop_listening = service.on_enqueued(self.wake)
        self._loop = asyncio.create_task(self._run())

    def wake(self) -> None:
        """Look for jobs now rather than at the next poll."""
        self._woken.set()

    async def close(self) -> None:
        """Stop claiming; let running jobs finish within the grace period, hand back the rest."""
        self._closing = True
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        if self._running:
            _done, pending = await asyncio.wait(
                set(self._running), timeout=self.settings.shutdown_grace_s
            )
            for task in pending:
                task.cancel()  # execute() hands the job back as it is cancelled
            await asyncio.gather(*pending, return_exceptions=True)

    async def _run(self) -> None:
        next_sweep = 0.0
        while not self._closing:
            self._woken.clear()
            try:
                if time.monotonic() >= next_sweep:
                    await self._fail_abandoned()
                    next_sweep = time.monotonic() + self.settings.stale_s / 2
                await self._fill()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("job worker: poll failed, retrying", exc_info=True)
                await asyncio.sleep(RETRY_S)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll_s):
                    await self._woken.wait()

    async def _fail_abandoned(self) -> None:
        async with self.sessionmaker() as session:
            failed = await service.fail_abandoned(session, settings=self.settings)
            await session.commit()
        if failed:
            log.warning("job worker: %d job(s) interrupted too often, marked error", failed)

    async def _fill(self) -> None:
        """Claim jobs while there are free slots and claimable jobs."""
        while len(self._running) < self.settings.concurrency and not self._closing:
            job = await service.claim_next(
                self.sessionmaker, worker_id=self.worker_id, settings=self.settings
            )
            if job is None:
                return
            log.info("job %s (%s): claimed, attempt %d", job.id, job.kind, job.attempts)
            task = asyncio.create_task(
                service.execute(
                    self.sessionmaker,
                    job,
                    worker_id=self.worker_id,
                    settings=self.settings,
                    heartbeat_s=self.settings.heartbeat_s,
                )
            )
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[JobStatus | None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("job worker: a job's outcome was not recorded", exc_info=task.exception())
        self.wake()  # a slot is free
