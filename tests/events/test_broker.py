"""One stream's queue (``events/broker.py``): each logged event once and in order, presence
events as they come, and a client too far behind told to go (it reconnects and replays)."""

from __future__ import annotations

from threadline.events import broker
from threadline.events.broker import Subscription


def _subscription() -> Subscription:
    return Subscription(lambda _s: None)


async def test_logged_events_come_once_presence_always():
    subscription = _subscription()
    subscription.delivered = 2  # a replay sent up to 2
    for event in ({"id": "2"}, {"type": "presence"}, {"id": "3"}, {"id": "3"}, {"id": "4"}):
        subscription.offer(event)
    got = [await subscription.get(1) for _ in range(3)]
    assert got == [{"type": "presence"}, {"id": "3"}, {"id": "4"}]
    assert await subscription.get(0.05) == "timeout"


async def test_a_client_too_far_behind_is_ended(monkeypatch):
    monkeypatch.setattr(broker, "QUEUE_SIZE", 3)
    subscription = _subscription()
    for n in range(1, 5):
        subscription.offer({"id": str(n)})
    assert await subscription.get(1) is None
