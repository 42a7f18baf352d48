"""The event broker of one server process: relays the audit log to this process's streams.

The audit log is the outbox (``audit/service.py``). The relay task reads committed rows numbered
after the last one it delivered, for every workspace that has a stream open here, and offers
them to those streams in order; a client's ``Last-Event-ID`` replay reads the log too. So a
change made by any process — this one, another server, the CLI — reaches every stream the same
way, with the same id.

A commit in this process is delivered at once from the rows it numbered, when they follow what
the relay delivered; otherwise the relay reads the log at once, and it polls every ``POLL_S``
for the writes of other processes. With ``THREADLINE_REDIS_URL``, one pub/sub channel carries two
small messages between processes: "wake" after a commit (so other servers need not wait for
their poll) and presence events, which are not in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from threadline.audit import service as audit
from threadline.auth.models import Workspace
from threadline.db import sqlite_write_intent
from threadline.events import typed

log = logging.getLogger(__name__)

# Rows read per query, by the relay and by a replay (a replay reads as many pages as it needs).
PAGE_SIZE = 500
# How often the relay looks for rows written by other processes when nothing woke it.
POLL_S = 0.25
# After a failed read (database restarting), wait this long before the next try.
RETRY_S = 1.0
# Events buffered per connected stream; a client that falls this far behind is disconnected
# (it reconnects and replays) rather than growing the server's memory.
QUEUE_SIZE = 1000

Event = dict[str, Any]


def seq_of(event: Event) -> int | None:
    """The log number of a logged event; None for a presence event (not in the log)."""
    event_id = event.get("id")
    return int(event_id) if event_id is not None else None


class Subscription:
    """One stream's queue: every logged event after ``delivered`` once, in order, plus presence
    events. Close it when the client goes away."""

    def __init__(self, on_close: Callable[[Subscription], None]) -> None:
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._on_close = on_close
        # The newest log number this stream has been given (by the relay or a replay).
        self.delivered = 0

    def offer(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.queue = asyncio.Queue(maxsize=1)
            self.queue.put_nowait(None)  # too slow: end the stream; the client will replay

    async def get(self, wait_s: float) -> Event | str | None:
        """The next event, None when the stream must end, or "timeout"."""
        try:
            async with asyncio.timeout(wait_s):
                while True:
                    event = await self.queue.get()
                    seq = None if event is None else seq_of(event)
                    if seq is None:
                        return event
                    if seq > self.delivered:  # a replay may already have sent it
                        self.delivered = seq
                        return event
        except TimeoutError:
            return "timeout"

    def close(self) -> None:
        self._on_close(self)


class RedisBus:
    """One Redis pub/sub channel shared by the deployment's processes: wake-ups and presence."""

    def __init__(self, url: str, *, prefix: str) -> None:
        import redis.asyncio as redis

        # redis-py's typing of replies is a union too wide to be useful here.
        self._redis: Any = redis.from_url(url)
        self._channel = f"{prefix}:events"
        self._process = uuid.uuid4().hex

    async def publish(self, message: dict[str, Any]) -> None:
        await self._redis.publish(self._channel, orjson.dumps({**message, "from": self._process}))

    async def listen(self, on_message: Callable[[dict[str, Any], bool], None]) -> None:
        """Forever: hand each message to ``on_message(message, mine)``; reconnects on errors.
        Returns once subscribed (the rest runs as a task), so no message is missed after it."""
        subscribed = asyncio.Event()

        async def run() -> None:
            while True:
                try:
                    async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                        await pubsub.subscribe(self._channel)
                        subscribed.set()
                        async for raw in pubsub.listen():
                            message = orjson.loads(raw["data"])
                            on_message(message, message.get("from") == self._process)
                except asyncio.CancelledError:
                    raise
                except Exception:  # Redis restarting: the relay's polling covers the gap
                    log.warning("event bus: Redis unavailable, retrying", exc_info=True)
                    subscribed.set()
                    await asyncio.sleep(RETRY_S)

        self.task = asyncio.create_task(run())
        await subscribed.wait()

    async def close(self) -> None:
        if hasattr(self, "task"):
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self._redis.aclose()


class Broker:
    """This process's streams per workspace, the relay that feeds them from the audit log, and
    presence events (through the Redis bus when there is one)."""

    def __init__(self, *, bus: RedisBus | None = None) -> None:
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._bus = bus
        self._subscribers: defaultdict[uuid.UUID, set[Subscription]] = defaultdict(set)
        # Per workspace with streams here: the last log number the relay delivered, and name.
        self._cursors: dict[uuid.UUID, int] = {}
        self._names: dict[uuid.UUID, str] = {}
        self._woken = asyncio.Event()
        self._relay: asyncio.Task[None] | None = None
        self._stop_listening: Callable[[], None] | None = None

    # --- lifecycle (the app's lifespan) ---

    async def start(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Start the relay reading through ``sessionmaker`` (and the bus listener); wake the
        relay after each local commit."""
        self._sessionmaker = sessionmaker
        self._relay = asyncio.create_task(self._run())
        self._stop_listening = audit.on_commit(self._committed)
        if self._bus is not None:
            await self._bus.listen(self._on_bus)

    async def close(self) -> None:
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        if self._relay is not None:
            self._relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay
            self._relay = None
        if self._bus is not None:
            await self._bus.close()

    # --- streams ---

    async def subscribe(self, workspace: Workspace) -> Subscription:
        """A feed of the workspace's events committed from now on (and presence events)."""
        subscription = Subscription(lambda s: self._unsubscribe(workspace.id, s))
        if workspace.id not in self._cursors:
            async with self._reading() as session:
                newest = await audit.newest_seq(session, workspace_id=workspace.id)
            self._cursors.setdefault(workspace.id, newest)
            self._names[workspace.id] = workspace.name
        subscription.delivered = self._cursors[workspace.id]
        self._subscribers[workspace.id].add(subscription)
        return subscription

    def _unsubscribe(self, workspace_id: uuid.UUID, subscription: Subscription) -> None:
        subscribers = self._subscribers[workspace_id]
        subscribers.discard(subscription)
        if not subscribers:  # nobody here watches it any more: stop reading it
            del self._subscribers[workspace_id]
            self._cursors.pop(workspace_id, None)
            self._names.pop(workspace_id, None)

    async def replay(self, workspace: Workspace, after: int) -> list[Event]:
        """Up to ``PAGE_SIZE`` logged events of the workspace numbered after ``after``."""
        async with self._reading() as session:
            rows = await audit.read_after(session, cursors={workspace.id: after}, limit=PAGE_SIZE)
        return [typed.from_audit(row, workspace=workspace.name, actor=a) for row, a in rows]

    async def publish_presence(self, workspace: Workspace, event: Event) -> None:
        """Send a presence event (not logged, no id) to the workspace's streams, in every
        process when there is a bus."""
        if self._bus is None:
            self._deliver(workspace.id, event)
            return
        try:
            await self._bus.publish(
                {"kind": "presence", "workspace": str(workspace.id), "event": event}
            )
        except Exception:  # presence is best effort; the user list stays right
            log.warning("could not publish a presence event", exc_info=True)

    def _deliver(self, workspace_id: uuid.UUID, event: Event) -> None:
        for subscription in list(self._subscribers.get(workspace_id, ())):
            subscription.offer(event)

    # --- the relay ---

    def wake(self) -> None:
        """Read the log now rather than at the next poll."""
        self._woken.set()

    def _committed(self, rows: list[audit.LoggedRow]) -> None:
        """A local commit: deliver its rows at once when they follow what the relay delivered
        (numbers are in commit order, so nothing can come between); else let the relay read
        the log, which holds what came in between."""
        gap = False
        for row, actor in rows:
            workspace_id, seq = row.workspace_id, row.seq
            assert workspace_id is not None and seq is not None  # numbered rows
            current = self._cursors.get(workspace_id)
            if current is None or seq <= current:
                continue  # nobody watches it here, or the relay was quicker
            if seq != current + 1:
                gap = True
                continue
            self._cursors[workspace_id] = seq
            name = self._names[workspace_id]
            self._deliver(workspace_id, typed.from_audit(row, workspace=name, actor=actor))
        if gap:
            self.wake()
        if self._bus is not None:
            task = asyncio.create_task(self._bus.publish({"kind": "wake"}))
            task.add_done_callback(_log_failure)

    def _on_bus(self, message: dict[str, Any], mine: bool) -> None:
        if message.get("kind") == "wake":
            if not mine:
                self.wake()
        elif message.get("kind") == "presence":
            self._deliver(uuid.UUID(message["workspace"]), message["event"])

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_S):
                    await self._woken.wait()
            self._woken.clear()
            try:
                await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is restarting: streams simply wait
                log.warning("event relay: could not read the audit log", exc_info=True)
                await asyncio.sleep(RETRY_S)

    async def relay_once(self) -> None:
        """Deliver every committed row after each watched workspace's cursor, page by page."""
        while self._cursors:
            cursors = dict(self._cursors)
            async with self._reading() as session:
                rows = await audit.read_after(session, cursors=cursors, limit=PAGE_SIZE)
            for row, actor in rows:
                workspace_id, seq = row.workspace_id, row.seq
                assert workspace_id is not None and seq is not None  # read_after's condition
                current = self._cursors.get(workspace_id)
                if current is None or seq <= current:
                    continue  # its last stream closed meanwhile, or delivered already
                self._cursors[workspace_id] = seq
                name = self._names[workspace_id]
                self._deliver(workspace_id, typed.from_audit(row, workspace=name, actor=actor))
            if len(rows) < PAGE_SIZE:
                return

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncSession]:
        # A read: on SQLite, BEGIN DEFERRED, so the relay never takes the write lock.
        if self._sessionmaker is None:
            raise RuntimeError("the broker reads the log once started (the app's lifespan)")
        token = sqlite_write_intent.set(False)
        try:
            async with self._sessionmaker() as session:
                yield session
        finally:
            sqlite_write_intent.reset(token)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not publish a wake-up", exc_info=task.exception())


def create_broker(redis_url: str | None, *, prefix: str = "threadline") -> Broker:
    return Broker(bus=RedisBus(redis_url, prefix=prefix) if redis_url else None)
