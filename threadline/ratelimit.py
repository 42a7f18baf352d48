"""Rate limiting as a dependency: in-memory per process, or shared through Redis when configured.

Backed by the ``limits`` library's moving-window strategy.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from threadline.errors import RateLimited


class RateLimiter:
    """Counts hits per (limit name, key) and raises :class:`RateLimited` past the limit."""

    def __init__(self, redis_url: str | None = None, *, key_prefix: str = "threadline") -> None:
        storage: Storage
        if redis_url:
            uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            storage = RedisStorage(uri, implementation="redispy", key_prefix=key_prefix)
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.strategy = MovingWindowRateLimiter(storage)

    async def hit(self, name: str, limit: str | RateLimitItem, *keys: str) -> None:
        """Count one hit of ``name`` for ``keys``; 429 with ``Retry-After`` when over ``limit``."""
        item = parse(limit) if isinstance(limit, str) else limit
        if await self.strategy.hit(item, name, *keys):
            return
        reset_at, _remaining = await self.strategy.get_window_stats(item, name, *keys)
        retry_after = max(1, int(reset_at - time.time()) + 1)
        raise RateLimited(
            f"Too many requests to {name}: the limit is {item}. Retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


def client_ip(request: Request) -> str:
    """The peer address (uvicorn's ``--proxy-headers`` makes it the real client behind a proxy)."""
    return request.client.host if request.client else "unknown"


def rate_limit(
    name: str, limit: str, key: Callable[[Request], str] = client_ip
) -> Callable[[Request], Awaitable[None]]:
    """Dependency factory: ``Depends(rate_limit("invitations", "5/minute"))`` limits per IP."""
    item = parse(limit)

    async def dependency(request: Request) -> None:
        limiter: RateLimiter = request.app.state.runtime.rate_limiter
        await limiter.hit(name, item, key(request))

    return dependency
