"""Several workers claiming at once never claim one job twice (committed rows, real connections)."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import delete

from threadline.db import create_sessionmaker
from threadline.jobs import service as jobs
from threadline.jobs.models import Job
from threadline.jobs.settings import JobSettings


async def test_concurrent_claims_are_disjoint(engine) -> None:
    kind = f"tests.race.{uuid.uuid4().hex[:8]}"
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        for n in range(30):
            jobs.enqueue(session, kind=kind, workspace_id=None, payload={"n": n})
        await session.commit()
    settings = JobSettings()
    try:

        async def worker(name: str) -> list[uuid.UUID]:
            claimed = []
            while True:
                async with sessionmaker() as session:
                    job = await jobs.claim(session, worker_id=name, settings=settings, kinds=[kind])
                    await session.commit()
                if job is None:
                    return claimed
                claimed.append(job.id)

        results = await asyncio.gather(*(worker(f"w{i}") for i in range(4)))
        every = [job_id for claimed in results for job_id in claimed]
        assert len(every) == 30 and len(set(every)) == 30
    finally:
        async with sessionmaker() as session:
            await session.execute(delete(Job).where(Job.kind == kind))
            await session.commit()
