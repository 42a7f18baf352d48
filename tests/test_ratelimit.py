"""threadline.ratelimit.RateLimiter: per-key moving-window limits, shared through Redis."""

import uuid

import pytest

from tests.conftest import TEST_REDIS_URL, requires_redis
from threadline.errors import RateLimited
from threadline.ratelimit import RateLimiter


async def _hit_until_refused(limiter: RateLimiter, name: str, limit: str, *keys: str) -> int:
    """How many hits ``limiter`` allows before refusing (at most 100)."""
    for allowed in range(100):
        try:
            await limiter.hit(name, limit, *keys)
        except RateLimited:
            return allowed
    return 100


async def test_memory_limit_refuses_past_the_limit_with_retry_after():
    limiter = RateLimiter(None)
    for _ in range(3):
        await limiter.hit("invitations", "3/minute", "10.0.0.1")
    with pytest.raises(RateLimited) as raised:
        await limiter.hit("invitations", "3/minute", "10.0.0.1")
    error = raised.value
    assert (error.status, error.code) == (429, "RATE_LIMITED")
    assert 1 <= int(error.headers["Retry-After"]) <= 61
    assert "invitations" in error.detail
    assert "3 per 1 minute" in error.detail
    # Still refused: a refused hit does not open the window again.
    with pytest.raises(RateLimited):
        await limiter.hit("invitations", "3/minute", "10.0.0.1")


async def test_memory_limit_counts_per_key_and_per_name():
    limiter = RateLimiter(None)
    assert await _hit_until_refused(limiter, "invitations", "2/minute", "10.0.0.1") == 2
    # Another IP, or another limit for the same IP, has its own count.
    assert await _hit_until_refused(limiter, "invitations", "2/minute", "10.0.0.2") == 2
    assert await _hit_until_refused(limiter, "login", "2/minute", "10.0.0.1") == 2
    # Multi-part keys (workspace + IP) are distinct from each other.
    assert await _hit_until_refused(limiter, "uploads", "1/minute", "acme", "10.0.0.1") == 1
    assert await _hit_until_refused(limiter, "uploads", "1/minute", "other", "10.0.0.1") == 1


async def test_retry_after_reflects_the_window():
    limiter = RateLimiter(None)
    await limiter.hit("slow", "1/hour", "k")
    with pytest.raises(RateLimited) as raised:
        await limiter.hit("slow", "1/hour", "k")
    assert 3000 < int(raised.value.headers["Retry-After"]) <= 3601


async def test_in_memory_limiters_do_not_share_counts():
    """Why Redis exists: two processes with memory storage each count on their own."""
    one, two = RateLimiter(None), RateLimiter(None)
    await one.hit("invitations", "1/minute", "10.0.0.1")
    await two.hit("invitations", "1/minute", "10.0.0.1")
    with pytest.raises(RateLimited):
        await one.hit("invitations", "1/minute", "10.0.0.1")


@requires_redis
async def test_redis_limiters_share_one_count_across_instances():
    """Two server processes (two limiters) behind a load balancer enforce one limit together."""
    prefix = f"tl-test-{uuid.uuid4().hex}"
    first = RateLimiter(TEST_REDIS_URL, key_prefix=prefix)
    second = RateLimiter(TEST_REDIS_URL, key_prefix=prefix)
    await first.hit("invitations", "3/minute", "10.0.0.1")
    await second.hit("invitations", "3/minute", "10.0.0.1")
    await first.hit("invitations", "3/minute", "10.0.0.1")
    with pytest.raises(RateLimited) as raised:
        await second.hit("invitations", "3/minute", "10.0.0.1")
    assert 1 <= int(raised.value.headers["Retry-After"]) <= 61
    with pytest.raises(RateLimited):
        await first.hit("invitations", "3/minute", "10.0.0.1")
    # Keys are still separate in Redis.
    await second.hit("invitations", "3/minute", "10.0.0.2")


@requires_redis
async def test_redis_key_prefixes_isolate_counts():
    first = RateLimiter(TEST_REDIS_URL, key_prefix=f"tl-test-{uuid.uuid4().hex}")
    second = RateLimiter(TEST_REDIS_URL, key_prefix=f"tl-test-{uuid.uuid4().hex}")
    await first.hit("invitations", "1/minute", "10.0.0.1")
    await second.hit("invitations", "1/minute", "10.0.0.1")
    with pytest.raises(RateLimited):
        await first.hit("invitations", "1/minute", "10.0.0.1")
