"""Test fixtures: a real database built by running the migrations, one rolled-back transaction per
test, and small factories for signed-in actors.

SQLite by default; PostgreSQL when ``THREADLINE_TEST_DATABASE_URL`` is set (each run migrates its
own schema, so concurrent runs on one server do not collide); Redis-backed rate limits when
``THREADLINE_TEST_REDIS_URL`` is set.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from threadline.app import create_app
from threadline.auth import service as auth
from threadline.auth.models import Membership, Role, User, Workspace
from threadline.auth.security import Passwords
from threadline.config import Settings, normalise_database_url
from threadline.db import create_engine, create_sessionmaker
from threadline.migrate import upgrade_engine
from threadline.ratelimit import RateLimiter

PASSWORD = "correct horse battery"
TEST_DATABASE_URL = os.environ.get("THREADLINE_TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("THREADLINE_TEST_REDIS_URL")

requires_redis = pytest.mark.skipif(not TEST_REDIS_URL, reason="THREADLINE_TEST_REDIS_URL not set")
requires_postgres = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="THREADLINE_TEST_DATABASE_URL not set"
)


def pytest_report_header() -> list[str]:
    return [
        f"threadline database: {'postgresql' if TEST_DATABASE_URL else 'sqlite'}",
        f"threadline redis: {'yes' if TEST_REDIS_URL else 'no (in-memory rate limits)'}",
    ]


@pytest.fixture(scope="session")
def test_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def database_url(test_home: Path) -> str:
    if TEST_DATABASE_URL:
        return normalise_database_url(TEST_DATABASE_URL)
    return f"sqlite+aiosqlite:///{test_home / 'test.db'}"


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The test database, migrated from empty by Alembic, exactly as production is."""
    if database_url.startswith("postgresql"):
        schema = f"tl_test_{secrets.token_hex(4)}"
        admin = create_engine(database_url)
        async with admin.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = create_engine(
            database_url, connect_args={"server_settings": {"search_path": schema}}
        )
        await upgrade_engine(engine)
        yield engine
        await engine.dispose()
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
    else:
        engine = create_engine(database_url)
        await upgrade_engine(engine)
        yield engine
        await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection in an outer transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions whose commit only releases a savepoint inside the test's transaction."""
    return create_sessionmaker(connection, join_transaction_mode="create_savepoint")


@pytest.fixture
def settings(test_home: Path) -> Settings:
    return Settings(
        home=test_home,
        secret_key="test-secret",
        # argon2id still, with a cost that keeps hundreds of sign-ups fast.
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        demo=False,
        # Events and presence go through Redis when a test Redis is configured; a fresh key
        # prefix per test keeps tests from seeing each other's events.
        redis_url=TEST_REDIS_URL,
        redis_prefix=f"tl-test-{uuid.uuid4().hex}",
    )


@pytest.fixture
def rate_limiter() -> RateLimiter:
    """Redis-backed when a test Redis is configured (a fresh key prefix per test)."""
    return RateLimiter(TEST_REDIS_URL, key_prefix=f"tl-test-{uuid.uuid4().hex}")


@pytest.fixture
async def app(
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    rate_limiter: RateLimiter,
):
    application = create_app(
        settings, engine=engine, sessionmaker=sessionmaker, rate_limiter=rate_limiter
    )
    yield application
    await application.state.runtime.broker.close()


def _client(app, **kwargs) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", **kwargs
    )


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client."""
    async with _client(app) as c:
        yield c


@dataclass
class Actor:
    """A signed-in user with an API-token client (no CSRF needed for bearer tokens)."""

    user: User
    token: str
    client: httpx.AsyncClient

    @property
    def username(self) -> str:
        return self.user.username


MakeActor = Callable[..., Awaitable[Actor]]


@pytest.fixture
async def make_actor(app, sessionmaker) -> AsyncIterator[MakeActor]:
    """``await make_actor("alice", workspace="acme", role="engineer")``.

    Creates the account (and the workspace if missing), grants the role, and returns an
    :class:`Actor` whose client sends the user's API token.
    """
    passwords = Passwords(time_cost=1, memory_kib=1024)
    clients: list[httpx.AsyncClient] = []

    async def make(
        username: str | None = None,
        *,
        workspace: str | None = None,
        role: Role | str = Role.engineer,
        email: str | None = None,
        is_admin: bool = False,
    ) -> Actor:
        username = username or f"user{secrets.token_hex(3)}"
        async with sessionmaker() as session:
            user = await auth.create_user(
                session,
                email=email or f"{username}@example.com",
                password_hash=await passwords.hash(PASSWORD),
                name=username.title(),
                username=username,
                is_admin=is_admin,
            )
            if workspace is not None:
                ws = await session.scalar(select(Workspace).where(Workspace.name == workspace))
                if ws is None:
                    ws = await auth.create_workspace(session, user=user, name=workspace)
                    await session.execute(
                        update(Membership)
                        .where(Membership.workspace_id == ws.id, Membership.user_id == user.id)
                        .values(role=Role(role))
                    )
                else:
                    session.add(Membership(workspace_id=ws.id, user_id=user.id, role=Role(role)))
            _row, token = await auth.create_token(session, user=user, name="tests")
            await session.commit()
        c = _client(app, headers={"Authorization": f"Bearer {token}"})
        clients.append(c)
        return Actor(user=user, token=token, client=c)

    yield make
    for c in clients:
        await c.aclose()


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The response is problem+json with ``status`` (and ``code`` when given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status
    assert body["detail"]
    if code is not None:
        assert body["code"] == code, body
    return body
