"""A real ``threadline serve`` in a subprocess, on a throw-away home, for tests that need a server
the way a user runs one (curl lines of the docs, schemathesis over HTTP).

SQLite in the home by default; a fresh PostgreSQL database (created and dropped here) when
``THREADLINE_TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import make_url, text

from tests.conftest import TEST_DATABASE_URL
from threadline.config import normalise_database_url
from threadline.db import create_engine

ADMIN_EMAIL = "admin@localhost"
ADMIN_PASSWORD = "correct horse battery"
CLI = [sys.executable, "-c", "from threadline.cli import main; main()"]


@dataclass
class LiveServer:
    url: str
    home: Path
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        """Run ``threadline ARGS`` against the server's database; its output."""
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [*CLI, *args], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    def token(self) -> str:
        """A fresh personal token of the owner account."""
        return self.cli("token", "create", ADMIN_EMAIL, "--name", "tests").strip()

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def admin_execute(sql: str) -> None:
    """One statement on the test PostgreSQL server, outside a transaction (CREATE DATABASE)."""
    assert TEST_DATABASE_URL is not None
    engine = create_engine(normalise_database_url(TEST_DATABASE_URL))
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


@contextlib.contextmanager
def fresh_database(home: Path) -> Iterator[str | None]:
    """THREADLINE_DATABASE_URL for the server: None (SQLite in home) or a new PostgreSQL one."""
    if not TEST_DATABASE_URL:
        yield None
        return
    name = f"tl_live_{secrets.token_hex(4)}"
    asyncio.run(admin_execute(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(normalise_database_url(TEST_DATABASE_URL)).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        asyncio.run(admin_execute(f'DROP DATABASE "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def live_server(
    home: Path,
    *,
    demo: bool = False,
    env: dict[str, str] | None = None,
    database: str | bool | None = True,
) -> Iterator[LiveServer]:
    """``threadline serve`` on a free port of 127.0.0.1 until the block ends.

    ``database=True`` makes a fresh database (see :func:`fresh_database`); a URL or None (SQLite
    in ``home``) from :func:`fresh_database` lets two servers share one. ``env`` is added to the
    server's environment (a shared ``THREADLINE_SECRET_KEY``, job settings)."""
    home.mkdir(parents=True, exist_ok=True)
    if database is True:
        with (
            fresh_database(home) as url,
            live_server(home, demo=demo, env=env, database=url) as server,
        ):
            yield server
        return
    server_env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    server_env |= {
        "THREADLINE_HOME": str(home),
        "THREADLINE_ADMIN_EMAIL": ADMIN_EMAIL,
        "THREADLINE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "THREADLINE_DEMO": "1" if demo else "0",
        "THREADLINE_ARGON2_TIME_COST": "1",
        "THREADLINE_ARGON2_MEMORY_KIB": "1024",
        "THREADLINE_SECRET_KEY": secrets.token_hex(16),
    }
    if isinstance(database, str):
        server_env["THREADLINE_DATABASE_URL"] = database
    server_env |= env or {}
    port = _free_port()
    log = home.parent / f"{home.name}-server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=server_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(
        url=f"http://127.0.0.1:{port}", home=home, env=server_env, log=log, process=process
    )
    try:
        _wait_until_healthy(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(server: LiveServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90  # migrating and seeding the demo on a slow machine
    while time.monotonic() < deadline:
        if process.poll() is not None:
            code = process.returncode
            raise AssertionError(f"the server exited with {code}:\n{server.log_tail()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"the server did not answer /healthz:\n{server.log_tail()}")
