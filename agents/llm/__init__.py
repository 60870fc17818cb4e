"""The LLM layer. ``llm_provider_get()`` returns this process's provider, chosen by ``LLM_PROVIDER``.

``anthropic_provider`` is the only module that talks to Anthropic; the offline
engine answers deterministically with no network and is the embedded default.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings

from agents.llm.types import LLMProvider, LLMRequest, LLMResponse, LLMUnavailableError, ToolCall, Usage

__all__ = [
    "LLMProvider",
    "LLMRequest",
    "LLMResponse",
    "LLMUnavailableError",
    "ToolCall",
    "Usage",
    "llm_provider_get",
    "llm_provider_reset",
    "provider_check_configuration",
]

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_provider: LLMProvider | None = None


def _build() -> LLMProvider:
    from agents.llm.observed import ObservedProvider

    if settings.LLM_PROVIDER == "anthropic":
        from agents.llm.anthropic_provider import AnthropicProvider

        anthropic_provider = AnthropicProvider(
            api_key=settings.ANTHROPIC_API_KEY,
            base_url=settings.ANTHROPIC_BASE_URL,
            model=settings.LLM_MODEL,
            temperature=settings.LLM_TEMPERATURE,
            max_tokens=settings.LLM_MAX_TOKENS,
            timeout=settings.LLM_TIMEOUT_SECONDS,
            connect_timeout=settings.LLM_CONNECT_TIMEOUT_SECONDS,
            max_retries=settings.LLM_MAX_RETRIES,
            deadline=settings.LLM_DEADLINE_SECONDS,
            retry_after_default=settings.LLM_RETRY_AFTER_SECONDS,
        )
        return ObservedProvider(anthropic_provider, cache_enabled=settings.LLM_RESPONSE_CACHE_ENABLED)
    from agents.llm.offline.engine import OfflineProvider

    # The offline engine is deterministic and free: caching its answers would only cost memory.
    return ObservedProvider(OfflineProvider(), cache_enabled=False)


def llm_provider_get() -> LLMProvider:
    """The process-wide provider (one SDK client per process, made on first use)."""
    global _provider  # noqa: PLW0603 - a per-process singleton is the point
    if _provider is None:
        with _lock:
            if _provider is None:
                _provider = _build()
    return _provider


def llm_provider_reset() -> None:
    """Forget the provider so the next call builds one from the current settings (tests, reconfiguration)."""
    global _provider  # noqa: PLW0603
    with _lock:
        _provider = None


def provider_check_configuration() -> None:
    """Start-up checks: say which provider runs and warn about a deprecated model."""
    if settings.LLM_PROVIDER == "offline":
        if not settings.LLM_PROVIDER_EXPLICIT:
            logger.warning("ANTHROPIC_API_KEY is not set: using the offline LLM engine (LLM_PROVIDER=offline)")
        return
    from agents.llm.anthropic_provider import model_deprecation

    end_of_life = model_deprecation(settings.LLM_MODEL)
    if end_of_life:
        logger.warning(
            "LLM_MODEL %s is deprecated by Anthropic and reaches end of life on %s; choose a current model",
            settings.LLM_MODEL,
            end_of_life,
        )
