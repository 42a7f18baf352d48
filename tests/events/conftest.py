"""Event-stream fixtures: a real uvicorn server in this event loop (httpx's ASGITransport buffers
whole responses, so SSE needs a socket), built on the real engine, with users, workspaces and
tokens created in committed transactions and deleted afterwards."""

from __future__ import annotations

import asyncio
import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from threadline.app import create_app
from threadline.audit.models import AuditEvent
from threadline.auth import service as auth
from threadline.auth.models import Membership, Role, User, Workspace
from threadline.boms.models import Bom
from threadline.config import Settings
from threadline.db import create_sessionmaker
from threadline.ratelimit import RateLimiter


@dataclass
class Member:
    username: str
    token: str
    client: httpx.AsyncClient


@dataclass
class Live:
    """A running server and the accounts a test made on it."""

    base_url: str
    engine: AsyncEngine
    user_ids: list[uuid.UUID] = field(default_factory=list)
    workspace_ids: list[uuid.UUID] = field(default_factory=list)
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    async def member(self, name: str, workspace: str, role: Role | str = Role.engineer) -> Member:
        """A user ``name-<random>`` with an API token and ``role`` in ``workspace`` (created,
        owned by them, when it does not exist yet)."""
        username = f"{name}-{secrets.token_hex(3)}"
        async with create_sessionmaker(self.engine)() as session, session.begin():
            user = await auth.create_user(
                session, email=f"{username}@example.com", password_hash="x", name=name,
                username=username,
            )  # fmt: skip
            ws = await session.scalar(select(Workspace).where(Workspace.name == workspace))
            if ws is None:
                ws = await auth.create_workspace(session, user=user, name=workspace)
                self.workspace_ids.append(ws.id)
                await session.flush()
                membership = await session.scalar(
                    select(Membership).where(
                        Membership.workspace_id == ws.id, Membership.user_id == user.id
                    )
                )
                assert membership is not None
                membership.role = Role(role)
            else:
                session.add(Membership(workspace_id=ws.id, user_id=user.id, role=Role(role)))
            _row, token = await auth.create_token(session, user=user, name="tests")
            self.user_ids.append(user.id)
        client = httpx.AsyncClient(
            base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        self.clients.append(client)
        return Member(username=username, token=token, client=client)

    async def cleanup(self) -> None:
        for client in self.clients:
            await client.aclose()
        async with create_sessionmaker(self.engine)() as session, session.begin():
            if self.workspace_ids:
                # BOM lines hold their parts: the BOMs go first, then the cascade does the rest.
                await session.execute(delete(Bom).where(Bom.workspace_id.in_(self.workspace_ids)))
                await session.execute(delete(Workspace).where(Workspace.id.in_(self.workspace_ids)))
            if self.user_ids:
                await session.execute(
                    delete(AuditEvent).where(AuditEvent.actor_id.in_(self.user_ids))
                )
                await session.execute(delete(User).where(User.id.in_(self.user_ids)))


def workspace_name() -> str:
    return f"ev-{secrets.token_hex(4)}"


async def serve(app, *, port: int = 0) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Start uvicorn for ``app`` on a free local port in this event loop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=3, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))

    async def started() -> None:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)

    await asyncio.wait_for(started(), 10)
    return server, task, f"http://127.0.0.1:{sock.getsockname()[1]}"


async def stop(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    await asyncio.wait_for(task, 10)


Start = Callable[[], Awaitable[Live]]


@pytest.fixture
async def live(
    settings: Settings, engine: AsyncEngine, rate_limiter: RateLimiter
) -> AsyncIterator[Live]:
    """A live server on the test database (committed data, removed after the test)."""
    app = create_app(settings, engine=engine, rate_limiter=rate_limiter)
    server, task, base_url = await serve(app)
    state = Live(base_url=base_url, engine=engine)
    try:
        yield state
    finally:
        try:
            await state.cleanup()
        finally:
            await stop(server, task)
