"""The throttles on Redis: DRF's sliding window, decided by one atomic call (``core.throttling``)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.throttling import SimpleRateThrottle

from core.throttling import RedisWindowThrottleMixin

pytestmark = pytest.mark.skipif(
    not hasattr(cache, "client"), reason="needs the Redis cache (CACHE_URL=redis://...), as CI's PostgreSQL pass has"
)


class Clock:
    """The throttles' timer, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _throttles(rate: str, clock: Clock) -> tuple[SimpleRateThrottle, SimpleRateThrottle]:
    """DRF's own throttle on a local-memory cache, and the same window on Redis."""

    class Drf(SimpleRateThrottle):
        cache: BaseCache = LocMemCache(f"drf-reference-{uuid.uuid4()}", {})  # a cache of its own, empty
        timer = staticmethod(clock)

        def get_rate(self) -> str:
            return rate

        def get_cache_key(self, request: Any, view: Any) -> str:
            return f"throttle_test_{request}"

    class OnRedis(RedisWindowThrottleMixin, Drf):
        cache = cache

    return Drf(), OnRedis()


@pytest.mark.parametrize("rate", ["3/minute", "1/second", "0/hour"])
def test_on_redis_each_request_is_let_through_or_refused_as_drf_decides(rate: str) -> None:
    # Given DRF's throttle and the Redis one, on the same clock
    clock = Clock()
    drf, on_redis = _throttles(rate, clock)
    # When requests of two clients come at these times (seconds; some at the same instant, some at a window's edge)
    times = [0, 0, 1, 2, 3, 30, 59.9, 60, 60, 60.5, 61, 62, 119.9, 120, 3600, 3600.5, 3601, 7200.5]
    decisions = []
    for offset in times:
        clock.now = 1_000_000.0 + offset
        for client in ("a", "b"):
            expected = drf.allow_request(client, None)  # type: ignore[arg-type]
            got = on_redis.allow_request(client, None)  # type: ignore[arg-type]
            # Then each decision is DRF's, and so is the Retry-After of each refusal
            decisions.append(got)
            assert got == expected, (rate, offset, client)
            if not got:
                assert on_redis.wait() == pytest.approx(drf.wait()), (rate, offset, client)
    assert True in decisions or rate == "0/hour"
    assert False in decisions


def test_on_redis_requests_at_once_are_let_through_up_to_the_limit_and_no_more() -> None:
    # Given a limit of 5 a minute, and 40 requests of one client at once from 8 threads
    _, on_redis = _throttles("5/minute", Clock())
    allowed: list[bool] = []
    start = threading.Barrier(8)

    def send() -> None:
        start.wait()
        for _ in range(5):
            allowed.append(type(on_redis)().allow_request("same", None))  # type: ignore[arg-type]

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly 5 are let through (DRF's read-then-write can let two through on one free place)
    assert allowed.count(True) == 5
    assert len(allowed) == 40


def test_on_redis_the_window_expires_with_its_duration() -> None:
    # Given a request let through under a limit of 2 an hour
    _, on_redis = _throttles("2/hour", Clock())
    assert on_redis.allow_request("ttl", None)  # type: ignore[arg-type]

    # Then its window's key expires within the hour, as DRF's cache entry does
    client = cache.client.get_client(write=True)  # type: ignore[attr-defined]  # django-redis
    ttl = client.ttl(cache.make_key("throttle_test_ttl:window"))
    assert 3590 <= ttl <= 3600


def test_a_redis_that_lost_the_script_is_given_it_again() -> None:
    # Given a throttle that has run its script once, and a Redis that has since forgotten it (a restart, a flush)
    clock = Clock()
    _, on_redis = _throttles("2/minute", clock)
    assert on_redis.allow_request("client-a", None)  # type: ignore[arg-type]
    cache.client.get_client(write=True).script_flush()  # type: ignore[attr-defined]

    # When the same client sends two more requests
    decisions = [on_redis.allow_request("client-a", None) for _ in range(2)]  # type: ignore[arg-type]

    # Then the script was loaded again and the window kept counting: the second of three passes, the third does not
    assert decisions == [True, False]
