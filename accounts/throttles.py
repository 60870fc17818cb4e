"""Rate limits for the unauthenticated auth endpoints, per client IP."""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from core.degraded_cache import FailOpenThrottleMixin
from core.throttling import RedisWindowThrottleMixin


class AuthRateThrottle(FailOpenThrottleMixin, RedisWindowThrottleMixin, SimpleRateThrottle):
    """``THROTTLE_AUTH_RATE`` requests per client IP on the auth endpoints; not enforced while the cache is down."""

    scope = "auth"

    def get_rate(self) -> str | None:
        # Read at request time (DRF reads it once at import), so a settings change takes effect.
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
