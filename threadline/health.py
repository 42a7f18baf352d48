"""``GET /healthz``: 200 once the database answers, 503 otherwise."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import text

from threadline.db import sqlite_write_intent
from threadline.errors import Unavailable
from threadline.runtime import Runtime, get_runtime

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz(runtime: Runtime = Depends(get_runtime)) -> dict[str, str]:
    """Liveness and database readiness for load balancers."""
    token = sqlite_write_intent.set(False)  # a probe must never queue behind writers
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means "not ready"
        raise Unavailable("The database is not answering.", headers={"Retry-After": "5"}) from exc
    finally:
        sqlite_write_intent.reset(token)
    return {"status": "ok"}
