"""Per-user rate limit on the chat endpoints (each message may cost an LLM call)."""

from rest_framework.throttling import UserRateThrottle


class ChatRateThrottle(UserRateThrottle):
    """``THROTTLE_CHAT_RATE`` messages per user, counted in the shared cache across workers."""

    scope = "chat"
