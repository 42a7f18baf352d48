"""The process-wide objects a request may need, kept on ``app.state.runtime``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from threadline.auth.security import Passwords
from threadline.blobs import BlobStore
from threadline.config import Settings
from threadline.events.broker import Broker
from threadline.events.presence import Presence
from threadline.ratelimit import RateLimiter


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    rate_limiter: RateLimiter
    passwords: Passwords
    secret_key: bytes
    presence: Presence
    broker: Broker
    blobs: BlobStore


def get_runtime(request: Request) -> Runtime:
    """Dependency: the running app's :class:`Runtime`."""
    runtime: Runtime = request.app.state.runtime
    return runtime
