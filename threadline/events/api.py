"""``GET /v1/events``: a workspace's live events as Server-Sent Events (productflo-sync-api:
Workspaces & Presence). Authenticated, scoped to one workspace, with heartbeats, an ``id:`` per
logged event and ``Last-Event-ID`` replay read from the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse

from threadline.auth.deps import Ctx
from threadline.auth.models import Workspace
from threadline.db import iso, utcnow
from threadline.errors import Forbidden
from threadline.events.broker import PAGE_SIZE, Broker, Event
from threadline.events.presence import Presence

router = APIRouter(tags=["events"])

HEARTBEAT_S = 15.0


def _frame(event: Event) -> dict[str, Any]:
    # No ``event:`` field: browsers deliver unnamed events to EventSource.onmessage. A presence
    # event has no ``id:``, so a client's Last-Event-ID stays the last logged event's.
    frame = {"data": orjson.dumps(event).decode()}
    if "id" in event:
        frame["id"] = event["id"]
    return frame


async def _presence_event(
    broker: Broker, presence: Presence, workspace: Workspace, username: str, action: str
) -> None:
    online = sorted(await presence.online_usernames(workspace.id))
    await broker.publish_presence(
        workspace,
        {"type": "presence", "action": action, "workspace": workspace.name, "username": username,
         "online": online, "at": iso(utcnow())},
    )  # fmt: skip


@router.get("/v1/events", response_class=EventSourceResponse)
async def events(
    request: Request,
    ctx: Ctx,
    workspace: str = Query(..., max_length=64),
    username: str | None = Query(None, max_length=64),
    last_event_id: str | None = Header(None, alias="Last-Event-ID", max_length=64),
    since: str | None = Query(None, alias="lastEventId", max_length=64),
) -> EventSourceResponse:
    """Stream the workspace's events; reconnect with ``Last-Event-ID`` to replay missed ones."""
    access = await ctx.require_role(workspace, "viewer")
    if username and username.lower() != ctx.user.username:
        raise Forbidden("A stream is opened as yourself.", code="FORBIDDEN")
    ws, me = access.workspace, ctx.user.username
    broker, presence = ctx.runtime.broker, ctx.runtime.presence
    resume = last_event_id or since
    # An id this server never gave (not a log number) replays nothing.
    after = int(resume) if resume and resume.isascii() and resume.isdigit() else None

    async def stream() -> AsyncIterator[dict[str, Any]]:
        # Subscribed before the replay reads the log: nothing committed falls in between.
        subscription = await broker.subscribe(ws)
        connected = False
        try:
            # A client that goes away cancels this task: the presence bookkeeping is shielded
            # (and bounded) so that a connect is never half done nor its disconnect skipped.
            with anyio.move_on_after(5, shield=True):
                joined = await presence.connect(ws.id, me)
                connected = True
                if joined:
                    await _presence_event(broker, presence, ws, me, "join")
            if after is not None:
                subscription.delivered = max(subscription.delivered, after)
                cursor = after
                while True:  # the whole gap, a page at a time
                    page = await broker.replay(ws, cursor)
                    for event in page:
                        cursor = int(event["id"])
                        subscription.delivered = max(subscription.delivered, cursor)
                        if event.get("to") in (None, me):
                            yield _frame(event)
                    if len(page) < PAGE_SIZE:
                        break
            while True:
                item = await subscription.get(HEARTBEAT_S)
                if item == "timeout":
                    await presence.refresh(ws.id, me)
                    continue
                if not isinstance(item, dict):
                    break  # this client fell too far behind: it reconnects and replays
                if item.get("to") in (None, me):
                    yield _frame(item)
        finally:
            subscription.close()
            if connected:
                with anyio.move_on_after(5, shield=True):
                    if await presence.disconnect(ws.id, me):
                        await _presence_event(broker, presence, ws, me, "leave")

    return EventSourceResponse(stream(), ping=HEARTBEAT_S, send_timeout=30)
