"""Per-user rate limit on the chat endpoints (each message may cost an LLM call)."""

from django.conf import settings
from rest_framework.throttling import UserRateThrottle

from core.degraded_cache import FailOpenThrottleMixin
from core.throttling import RedisWindowThrottleMixin


class ChatRateThrottle(FailOpenThrottleMixin, RedisWindowThrottleMixin, UserRateThrottle):
    """``THROTTLE_CHAT_RATE`` messages per user, counted in the shared cache across workers (not while it is down)."""

    scope = "chat"

    def get_rate(self) -> str | None:
        # Read at request time (DRF reads it once at import), so a settings change takes effect.
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]
