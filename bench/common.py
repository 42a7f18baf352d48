"""What the benchmarks share: a throw-away database with an owner and a workspace, an in-process
HTTP client against the real app, timing helpers and a description of the machine."""

from __future__ import annotations

import os
import platform
import secrets
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from threadline.app import create_app
from threadline.auth import service as auth
from threadline.config import Settings, normalise_database_url
from threadline.db import create_engine, create_sessionmaker
from threadline.migrate import upgrade_engine

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()}


@dataclass
class Bench:
    engine: AsyncEngine
    client: httpx.AsyncClient
    workspace: str
    database: str


@asynccontextmanager
async def bench_app(database: str) -> AsyncIterator[Bench]:
    """A fresh migrated database (SQLite file or a PostgreSQL schema), the app and a signed-in
    client owning workspace ``bench``. Everything is dropped afterwards."""
    with tempfile.TemporaryDirectory() as home:
        schema = None
        if database == "postgresql":
            url = normalise_database_url(
                os.environ.get("THREADLINE_TEST_DATABASE_URL", DEFAULT_POSTGRES)
            )
            schema = f"tl_bench_{secrets.token_hex(4)}"
            admin = create_engine(url)
            async with admin.begin() as connection:
                await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            engine = create_engine(url, connect_args={"server_settings": {"search_path": schema}})
        else:
            url = f"sqlite+aiosqlite:///{home}/bench.db"
            engine = create_engine(url)
        try:
            await upgrade_engine(engine)
            settings = Settings(home=Path(home), secret_key="bench", demo=False, max_upload_mb=2048)
            app = create_app(settings, engine=engine)
            sessionmaker = create_sessionmaker(engine)
            async with sessionmaker() as session, session.begin():
                user = await auth.create_user(
                    session, email="bench@example.com", password_hash="x", name="Bench"
                )
                await auth.create_workspace(session, user=user, name="bench")
                _row, token = await auth.create_token(session, user=user, name="bench")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://bench",
                headers={"Authorization": f"Bearer {token}"},
                timeout=600,
            ) as client:
                yield Bench(engine=engine, client=client, workspace="bench", database=database)
        finally:
            await engine.dispose()
            if schema:
                async with admin.begin() as connection:
                    await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                await admin.dispose()


async def timed(work: Callable[[], Awaitable[Any]], *, repeat: int = 1) -> tuple[float, Any]:
    """Median wall time in seconds of ``repeat`` runs, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = await work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result
