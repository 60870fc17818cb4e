"""DRF's sliding-window rate limit in one Redis round trip: ``RedisWindowThrottleMixin``.

DRF's ``SimpleRateThrottle`` keeps the times of a client's recent requests in the cache:
it reads them (a ``GET``), drops those that left the window and, if the request is let
through, writes them back with its own (a ``SET``). That is two round trips on every
chat message, and two workers can both read before either writes, letting both through.
With django-redis underneath, one Lua script does the same steps at once on a Redis list
of the times, newest first; any other cache (the local-memory default) keeps DRF's way.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from django_redis.client import DefaultClient
from redis.commands.core import Script
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

# Typed as the throttle it is mixed into, without being one (it comes before it in the MRO).
if TYPE_CHECKING:
    _Throttle = SimpleRateThrottle
else:
    _Throttle = object

# KEYS[1]: the client's list of request times, newest first. ARGV: now, the window in seconds, the limit.
# Drops the times that left the window; then, under the limit, adds now and answers nil (let through),
# else answers the times in the window (refused), as SimpleRateThrottle.allow_request decides.
_WINDOW = """
local key, now, duration, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local oldest = redis.call('LINDEX', key, -1)
while oldest and tonumber(oldest) <= now - duration do
  redis.call('RPOP', key)
  oldest = redis.call('LINDEX', key, -1)
end
if redis.call('LLEN', key) >= limit then
  return redis.call('LRANGE', key, 0, -1)
end
redis.call('LPUSH', key, ARGV[1])
redis.call('EXPIRE', key, ARGV[2])
return false
"""


@cache
def _window_script(client: Any) -> Script:
    """The script for one Redis client; redis-py runs it by its SHA-1 and loads it first where Redis lacks it."""
    return client.register_script(_WINDOW)


def _redis_of(cache: Any) -> DefaultClient[Any] | None:
    """The django-redis client of a cache with one Redis server (the one configured); None for any other cache."""
    client = getattr(cache, "client", None)
    return client if type(client) is DefaultClient else None


class RedisWindowThrottleMixin(_Throttle):
    """For a DRF ``SimpleRateThrottle``: the same window and decisions, in one atomic Redis call.

    The times live under their own key (the throttle's cache key with ``:window``), a Redis list that
    expires with the window as DRF's entry does. ``wait()`` (``Retry-After``) is DRF's, on the times the
    script answered. Redis errors reach the caller as they would from the cache (``FailOpenThrottleMixin``).
    """

    num_requests: int
    duration: int

    def allow_request(self, request: Request, view: APIView) -> bool:
        cache = _redis_of(self.cache)
        if cache is None or self.rate is None:
            return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        client = cache.get_client(write=True)
        times = _window_script(client)(
            keys=[cache.make_key(f"{self.key}:window")], args=[repr(self.now), self.duration, self.num_requests]
        )
        if times is None:
            return True
        self.history = [float(time) for time in times]
        return self.throttle_failure()
