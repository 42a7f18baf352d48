"""A ``THREADLINE_JOB_MODULES`` module for tests/jobs/test_two_servers.py: the server that
imports it starts MES file jobs as usual, writes ``THREADLINE_TEST_JOB_MARKER`` and then hangs
inside the job (its claim and heartbeat alive) until the test kills the process."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from threadline.jobs import service
from threadline.mes.files import processing

_real = service.handler_of(processing.JOB_KIND)
assert _real is not None, "imported after the app registered the MES file handler"


async def _hang(session: Any, job: Any) -> dict[str, Any] | None:
    Path(os.environ["THREADLINE_TEST_JOB_MARKER"]).write_text(str(job.id))  # noqa: ASYNC240
    await asyncio.sleep(3600)  # the test SIGKILLs this process meanwhile
    return await _real(session, job)  # type: ignore[misc]


service.register(processing.JOB_KIND, _hang, replace=True)
