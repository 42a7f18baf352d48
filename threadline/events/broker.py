"""The event broker: publish a workspace's events, replay them, and fan them out to streams.

In-process by default; with ``THREADLINE_REDIS_URL`` a Redis stream per workspace, so every
server process sees every event, in the same order, with the same ids (``Last-Event-ID`` replay
works whichever process a client reconnects to).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import defaultdict, deque
from typing import Any, Protocol

import orjson

# Events kept per workspace for Last-Event-ID replay.
LOG_SIZE = 2000
# Events buffered per connected stream; a client that falls this far behind is disconnected
# (it reconnects and replays) rather than growing the server's memory.
QUEUE_SIZE = 1000

Event = dict[str, Any]


class Broker(Protocol):
    async def publish(self, workspace: str, event: Event) -> str:
        """Append ``event`` to the workspace's log; returns its id."""
        ...

    async def replay(self, workspace: str, after: str) -> list[Event]:
        """Events after ``after`` still in the log (oldest first)."""
        ...

    def subscribe(self, workspace: str) -> Subscription:
        """A live feed of the workspace's events from now on."""
        ...

    async def close(self) -> None: ...


class Subscription:
    """One stream's queue; iterate it, and close it when the client goes away."""

    def __init__(self, on_close: Any) -> None:
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._on_close = on_close
        # Set once every event published from now on will reach this subscription.
        self.ready = asyncio.Event()

    def offer(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.queue = asyncio.Queue(maxsize=1)
            self.queue.put_nowait(None)  # too slow: end the stream; the client will replay

    async def get(self, wait_s: float) -> Event | str | None:
        """The next event, None when the stream must end, or "timeout"."""
        try:
            return await asyncio.wait_for(self.queue.get(), wait_s)
        except TimeoutError:
            return "timeout"

    def close(self) -> None:
        self._on_close(self)


class MemoryBroker:
    """Single-process broker: a bounded log and a set of subscribers per workspace."""

    def __init__(self) -> None:
        self._logs: defaultdict[str, deque[Event]] = defaultdict(lambda: deque(maxlen=LOG_SIZE))
        self._subscribers: defaultdict[str, set[Subscription]] = defaultdict(set)
        self._ids = itertools.count(1)

    async def publish(self, workspace: str, event: Event) -> str:
        event = {**event, "id": str(next(self._ids))}
        self._logs[workspace].append(event)
        for subscription in list(self._subscribers[workspace]):
            subscription.offer(event)
        return str(event["id"])

    async def replay(self, workspace: str, after: str) -> list[Event]:
        if not after.isdigit():
            return []
        return [e for e in self._logs.get(workspace, ()) if int(e["id"]) > int(after)]

    def subscribe(self, workspace: str) -> Subscription:
        subscription = Subscription(lambda s: self._subscribers[workspace].discard(s))
        self._subscribers[workspace].add(subscription)
        subscription.ready.set()
        return subscription

    async def close(self) -> None:
        return None


class RedisBroker:
    """Redis streams: XADD publishes, XRANGE replays, one XREAD loop per workspace per process
    fans events out to that process's streams."""

    def __init__(self, url: str, *, prefix: str = "threadline") -> None:
        import redis.asyncio as redis

        # redis-py's typing of stream replies is a union too wide to be useful here.
        self._redis: Any = redis.from_url(url)
        self._prefix = prefix
        self._subscribers: defaultdict[str, set[Subscription]] = defaultdict(set)
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._positioned: set[str] = set()  # workspaces whose reader knows where it starts

    def _key(self, workspace: str) -> str:
        return f"{self._prefix}:events:{workspace}"

    async def publish(self, workspace: str, event: Event) -> str:
        event_id = await self._redis.xadd(
            self._key(workspace), {"e": orjson.dumps(event)}, maxlen=LOG_SIZE, approximate=True
        )
        return event_id.decode() if isinstance(event_id, bytes) else str(event_id)

    @staticmethod
    def _decode(event_id: bytes | str, fields: dict[bytes, bytes]) -> Event:
        event: Event = orjson.loads(fields[b"e"])
        event["id"] = event_id.decode() if isinstance(event_id, bytes) else event_id
        return event

    async def replay(self, workspace: str, after: str) -> list[Event]:
        try:
            rows = await self._redis.xrange(self._key(workspace), min=f"({after}", max="+")
        except Exception:  # an id from another broker or a made-up one: nothing to replay
            return []
        return [self._decode(event_id, fields) for event_id, fields in rows]

    def subscribe(self, workspace: str) -> Subscription:
        subscription = Subscription(lambda s: self._unsubscribe(workspace, s))
        self._subscribers[workspace].add(subscription)
        if workspace not in self._readers or self._readers[workspace].done():
            self._positioned.discard(workspace)
            self._readers[workspace] = asyncio.create_task(self._read(workspace))
        elif workspace in self._positioned:
            subscription.ready.set()
        return subscription

    def _unsubscribe(self, workspace: str, subscription: Subscription) -> None:
        self._subscribers[workspace].discard(subscription)
        if not self._subscribers[workspace] and workspace in self._readers:
            self._positioned.discard(workspace)
            self._readers.pop(workspace).cancel()

    async def _read(self, workspace: str) -> None:
        # Start after the newest entry rather than at "$": XREAD ... $ only counts from when the
        # command reaches Redis, so an event published just after subscribe() could be missed.
        key, last = self._key(workspace), None
        while self._subscribers[workspace]:
            try:
                if last is None:
                    newest = await self._redis.xrevrange(key, count=1)
                    last = newest[0][0] if newest else "0-0"
                    self._positioned.add(workspace)
                    for subscription in self._subscribers[workspace]:
                        subscription.ready.set()
                batches = await self._redis.xread({key: last}, block=5000, count=500)
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(1)  # Redis restarting: retry; streams replay on reconnect
                continue
            for _key, rows in batches or []:
                for event_id, fields in rows:
                    last = event_id
                    event = self._decode(event_id, fields)
                    for subscription in list(self._subscribers[workspace]):
                        subscription.offer(event)

    async def close(self) -> None:
        for task in self._readers.values():
            task.cancel()
        for task in self._readers.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._redis.aclose()


def create_broker(redis_url: str | None, *, prefix: str = "threadline") -> Broker:
    return RedisBroker(redis_url, prefix=prefix) if redis_url else MemoryBroker()
