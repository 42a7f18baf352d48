"""Who is connected to a workspace right now.

A user is online while at least one of their live event streams is open, in any server process.
In-process counting by default; with Redis, each process keeps one sorted-set member per
(user, process) whose score is an expiry time refreshed by the stream's heartbeat, so a process
that dies simply stops refreshing and its users drop out.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from typing import Any, Protocol

from fastapi import Request

# A stream refreshes its presence with every heartbeat; twice that and more means gone.
PRESENCE_TTL_S = 45.0


class Presence(Protocol):
    async def connect(self, workspace_id: uuid.UUID, username: str) -> bool:
        """Count one more stream; True when the user just came online."""
        ...

    async def refresh(self, workspace_id: uuid.UUID, username: str) -> None: ...

    async def disconnect(self, workspace_id: uuid.UUID, username: str) -> bool:
        """Count one stream fewer; True when the user just went offline everywhere."""
        ...

    async def online_usernames(self, workspace_id: uuid.UUID) -> set[str]: ...


class MemoryPresence:
    """Single-process presence: stream counts per (workspace, username)."""

    def __init__(self) -> None:
        self._streams: defaultdict[uuid.UUID, Counter[str]] = defaultdict(Counter)

    async def connect(self, workspace_id: uuid.UUID, username: str) -> bool:
        streams = self._streams[workspace_id]
        streams[username] += 1
        return streams[username] == 1

    async def refresh(self, workspace_id: uuid.UUID, username: str) -> None:
        return None

    async def disconnect(self, workspace_id: uuid.UUID, username: str) -> bool:
        streams = self._streams[workspace_id]
        streams[username] -= 1
        if streams[username] > 0:
            return False
        del streams[username]
        return True

    async def online_usernames(self, workspace_id: uuid.UUID) -> set[str]:
        return set(self._streams.get(workspace_id, ()))


class RedisPresence:
    """Presence shared by every process through one Redis sorted set per workspace."""

    def __init__(self, url: str, *, prefix: str = "threadline") -> None:
        import redis.asyncio as redis

        # redis-py's typing of stream replies is a union too wide to be useful here.
        self._redis: Any = redis.from_url(url)
        self._prefix = prefix
        self._process = uuid.uuid4().hex[:12]
        self._local = MemoryPresence()

    def _key(self, workspace_id: uuid.UUID) -> str:
        return f"{self._prefix}:presence:{workspace_id}"

    def _member(self, username: str) -> str:
        return f"{username}\x1f{self._process}"

    async def _alive(self, workspace_id: uuid.UUID) -> list[str]:
        key = self._key(workspace_id)
        now = time.time()
        await self._redis.zremrangebyscore(key, "-inf", now)
        members = await self._redis.zrangebyscore(key, now, "+inf")
        return [m.decode() if isinstance(m, bytes) else m for m in members]

    async def connect(self, workspace_id: uuid.UUID, username: str) -> bool:
        already = any(m.split("\x1f", 1)[0] == username for m in await self._alive(workspace_id))
        await self._local.connect(workspace_id, username)
        await self.refresh(workspace_id, username)
        return not already

    async def refresh(self, workspace_id: uuid.UUID, username: str) -> None:
        await self._redis.zadd(
            self._key(workspace_id), {self._member(username): time.time() + PRESENCE_TTL_S}
        )

    async def disconnect(self, workspace_id: uuid.UUID, username: str) -> bool:
        if not await self._local.disconnect(workspace_id, username):
            return False  # another stream of this user in this process is still open
        await self._redis.zrem(self._key(workspace_id), self._member(username))
        return not any(m.split("\x1f", 1)[0] == username for m in await self._alive(workspace_id))

    async def online_usernames(self, workspace_id: uuid.UUID) -> set[str]:
        return {m.split("\x1f", 1)[0] for m in await self._alive(workspace_id)}


def create_presence(redis_url: str | None, *, prefix: str = "threadline") -> Presence:
    return RedisPresence(redis_url, prefix=prefix) if redis_url else MemoryPresence()


def get_presence(request: Request) -> Presence:
    """Dependency: the process's presence registry."""
    presence: Presence = request.app.state.runtime.presence
    return presence
