"""A ``THREADLINE_JOB_MODULES`` module for tests/jobs/test_mes_job_crash.py: the server that
imports it runs the MES ``/create-runs/`` and ``/run-transformation/`` jobs as usual, but once
the handler has done all its work (runs, pieces and prints written into the job's transaction,
flushed, not committed) it writes ``THREADLINE_TEST_JOB_MARKER`` and hangs there, its claim and
transaction open, until the test kills the process."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.jobs import service
from threadline.mes.demand.models import Piece
from threadline.mes.floor import planner, transformations
from threadline.mes.floor.models import Run


def _hanging(kind: str) -> service.Handler:
    real = service.handler_of(kind)
    assert real is not None, "imported after the app registered the MES floor handlers"

    async def hang(session: AsyncSession, job: Any) -> dict[str, Any] | None:
        result = await real(session, job)
        await session.flush()  # the work is in the database's transaction, not only in memory
        written = {
            "job": str(job.id),
            "result": result,
            # as this transaction sees them: what the kill is about to throw away
            "runs": await session.scalar(
                select(func.count(Run.id)).where(Run.workspace_id == job.workspace_id)
            ),
            "pieces": await session.scalar(
                select(func.count(Piece.id)).where(Piece.workspace_id == job.workspace_id)
            ),
        }
        marker = Path(os.environ["THREADLINE_TEST_JOB_MARKER"])
        partial = marker.with_suffix(".partial")
        partial.write_text(json.dumps(written))
        partial.replace(marker)  # the test never reads half a file
        await asyncio.sleep(3600)  # the test SIGKILLs this process meanwhile
        return result

    return hang


for _kind in (planner.JOB_KIND, transformations.JOB_KIND):
    service.register(_kind, _hanging(_kind), replace=True)
