"""A small Server-Sent Events client for the tests: one background reader per stream parses the
``id:``/``data:``/comment lines into a queue, so a test can wait (bounded) for the next event or
assert that none matching arrives."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

WAIT_S = 5.0


@dataclass
class Message:
    """One dispatched SSE message: an event (``id`` + JSON ``data``) or a comment (ping)."""

    id: str | None = None
    data: dict[str, Any] | None = None
    comment: str | None = None

    @property
    def type(self) -> str | None:
        return self.data.get("type") if self.data else None


Match = Callable[[Message], bool]


@dataclass
class Stream:
    response: httpx.Response
    queue: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    seen: list[Message] = field(default_factory=list)

    async def _read(self) -> None:
        current: dict[str, Any] = {}
        data: list[str] = []
        async for line in self.response.aiter_lines():
            if line.startswith(":"):
                await self.queue.put(Message(comment=line))
            elif line.startswith("id:"):
                current["id"] = line[3:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif line == "" and (data or current):
                body = orjson.loads("\n".join(data)) if data else None
                await self.queue.put(Message(id=current.get("id"), data=body))
                current, data = {}, []

    async def next(self, match: Match | None = None, *, within: float = WAIT_S) -> Message:
        """The next event (comments skipped unless ``match`` wants them) that ``match`` accepts."""
        match = match or (lambda m: m.data is not None)

        async def wait() -> Message:
            while True:
                message = await self.queue.get()
                self.seen.append(message)
                if match(message):
                    return message

        return await asyncio.wait_for(wait(), within)

    async def events(self, count: int, match: Match | None = None) -> list[Message]:
        return [await self.next(match) for _ in range(count)]

    async def nothing(self, match: Match, *, within: float = 0.5) -> None:
        """Assert that no message accepted by ``match`` arrives within ``within`` seconds."""
        with contextlib.suppress(TimeoutError):
            got = await self.next(match, within=within)
            raise AssertionError(f"unexpected event {got}")


@asynccontextmanager
async def sse(
    base_url: str,
    token: str | None,
    workspace: str,
    *,
    headers: dict[str, str] | None = None,
    **params: str,
) -> AsyncIterator[Stream]:
    """Open ``GET /v1/events`` against a live server; yields once the response headers are in."""
    all_headers = {"Accept": "text/event-stream", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(WAIT_S, read=None)) as client,
        client.stream(
            "GET", "/v1/events", params={"workspace": workspace, **params}, headers=all_headers
        ) as response,
    ):
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        reader = asyncio.create_task(stream._read())
        try:
            yield stream
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await reader


async def eventually(check: Callable[[], Any], *, within: float = WAIT_S) -> Any:
    """Poll the async ``check`` until it returns something truthy (bounded)."""

    async def poll() -> Any:
        # Polling an HTTP endpoint: there is no event to wait on.
        while not (result := await check()):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        return result

    return await asyncio.wait_for(poll(), within)
