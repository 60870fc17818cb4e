"""The shared cache (Redis) is an accelerator: when it is down or hangs, requests go on without it.

Its users (throttles, the LLM response cache, the health-check cache, erasure of cached
replies) catch ``CACHE_ERRORS`` and call ``cache_degraded``, which counts the failure in
``onboarding_cache_degraded_total{operation=...}`` and logs one WARNING per operation and
error kind per ``_WARNING_INTERVAL_SECONDS``, without a traceback: an outage must not turn
into a traceback per request. The socket timeouts that bound each Redis call are set in
``shuren/settings.py`` (``CACHE_SOCKET_CONNECT_TIMEOUT``, ``CACHE_SOCKET_TIMEOUT``).
"""

from __future__ import annotations

import logging
import threading
import time

from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.views import APIView

from core.metrics import CACHE_DEGRADED

logger = logging.getLogger(__name__)

# django-redis wraps redis-py's connection errors and timeouts in ConnectionInterrupted;
# Django's own Redis backend lets redis-py's errors through.
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, ConnectionInterrupted)

_WARNING_INTERVAL_SECONDS = 60.0
_last_warned: dict[tuple[str, str], float] = {}
_last_warned_lock = threading.Lock()


def _error_kind(exc: BaseException) -> str:
    cause = exc.__cause__ if isinstance(exc, ConnectionInterrupted) and exc.__cause__ else exc
    return type(cause).__name__


def cache_degraded(operation: str, exc: BaseException) -> None:
    """Record that ``operation`` went on without the cache: a metric always, a WARNING now and then."""
    CACHE_DEGRADED.labels(operation).inc()
    kind = _error_kind(exc)
    now = time.monotonic()
    with _last_warned_lock:
        last = _last_warned.get((operation, kind))
        if last is not None and now - last < _WARNING_INTERVAL_SECONDS:
            return
        _last_warned[(operation, kind)] = now
    logger.warning(
        "Cache unavailable (%s) during %s; continuing without it. Further failures are counted in "
        "onboarding_cache_degraded_total and logged at most once a minute.",
        kind,
        operation,
    )


def cache_warnings_reset() -> None:
    """Forget which failures were logged, so the next one logs again (tests, after reconfiguration)."""
    with _last_warned_lock:
        _last_warned.clear()


class FailOpenThrottleMixin:
    """For a DRF throttle counted in the cache: with the cache down, the request is let through.

    A cache outage must not lock every user out of chat and login; the cost is that the
    rate limits do not hold while it lasts (``docs/security.md``, T2 and T9).
    """

    scope: str | None

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            allowed: bool = super().allow_request(request, view)  # type: ignore[misc]
        except CACHE_ERRORS as exc:
            cache_degraded(f"throttle_{self.scope}", exc)
            return True
        return allowed
