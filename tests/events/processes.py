"""Real server and CLI processes for the event tests: ``threadline serve`` subprocesses on a
shared database (a SQLite file under a temporary home, or a fresh PostgreSQL database), and
``threadline`` CLI commands run against the same database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import TEST_DATABASE_URL

VENV_BIN = Path(sys.executable).parent
ADMIN = "admin@localhost"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    """A new empty PostgreSQL database next to the test one; dropped afterwards."""
    import asyncpg

    assert TEST_DATABASE_URL
    base = TEST_DATABASE_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
    name = f"tl_ev_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(base)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        head, _, _db = base.rpartition("/")
        yield f"{head}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def environment(home: Path, database: str | None, redis: str | None = None) -> dict[str, str]:
    """The environment of every process of one deployment (no stray operator settings)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("THREADLINE_DATABASE_URL", "THREADLINE_REDIS_URL", "THREADLINE_REDIS_PREFIX")
    }
    env.update(
        THREADLINE_HOME=str(home),
        THREADLINE_SECRET_KEY="event-processes",
        THREADLINE_DEMO="0",
        THREADLINE_ADMIN_PASSWORD="correct horse battery",
        THREADLINE_ARGON2_TIME_COST="1",
        THREADLINE_ARGON2_MEMORY_KIB="1024",
    )
    if database:
        env["THREADLINE_DATABASE_URL"] = database
    if redis:
        env["THREADLINE_REDIS_URL"] = redis
        env["THREADLINE_REDIS_PREFIX"] = f"tl-test-{secrets.token_hex(8)}"
    return env


async def start_server(env: dict[str, str], log: Path) -> tuple[asyncio.subprocess.Process, str]:
    """``threadline serve`` on a free port; returns once ``/healthz`` answers."""
    port = free_port()
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            str(VENV_BIN / "threadline"), "serve", "--port", str(port),
            env=env, stdout=out, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    async def healthy() -> None:
        async with httpx.AsyncClient(timeout=1) as client:
            while True:
                if process.returncode is not None:
                    raise AssertionError((await asyncio.to_thread(log.read_text))[-3000:])
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(healthy(), 30)
    except BaseException:
        process.kill()
        await process.wait()
        raise
    return process, url


async def stop_servers(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        if process.returncode is None:
            process.terminate()
    for process in processes:
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def cli(env: dict[str, str], *args: str) -> str:
    """Run ``threadline ARGS`` to completion; its output (it must succeed)."""
    process = await asyncio.create_subprocess_exec(
        str(VENV_BIN / "threadline"), *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, out.decode()
    return out.decode()


@dataclass
class Deployment:
    """Server processes on one database, the admin's API token, and a client per server."""

    env: dict[str, str]
    urls: list[str]
    token: str
    clients: list[httpx.AsyncClient] = field(default_factory=list)


@contextlib.asynccontextmanager
async def deployment(
    home: Path, *, servers: int, postgres: bool, redis: str | None = None
) -> AsyncIterator[Deployment]:
    """``servers`` server processes on SQLite under ``home`` or on a fresh PostgreSQL database;
    the first one migrates and creates the admin."""
    async with contextlib.AsyncExitStack() as stack:
        database = await stack.enter_async_context(fresh_postgres()) if postgres else None
        env = environment(home, database, redis)
        processes: list[asyncio.subprocess.Process] = []
        stack.push_async_callback(stop_servers, processes)
        urls = []
        for n in range(servers):
            process, url = await start_server(env, home / f"server-{n}.log")
            processes.append(process)
            urls.append(url)
        token = (await cli(env, "token", "create", ADMIN)).strip()
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
                )
            )
            for url in urls
        ]
        yield Deployment(env=env, urls=urls, token=token, clients=clients)
