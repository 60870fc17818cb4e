"""The LLM layer. ``llm_provider_get()`` returns this process's provider, chosen by ``LLM_PROVIDER``.

``anthropic_provider`` is the only module that talks to Anthropic; the offline
engine (the top-level ``offline_engine`` package) answers deterministically with
no network and is the embedded default. Providers are loaded by dotted path from
``PROVIDER_CLASSES`` (or ``settings.LLM_PROVIDER_CLASSES``), so nothing in
``agents`` imports the offline engine: each class offers ``from_settings(settings)``
and may say ``response_cache = False`` when caching its answers is pointless.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.utils.module_loading import import_string

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
# LLM_PROVIDER -> the provider class's dotted path.
PROVIDER_CLASSES = {
    "offline": "offline_engine.OfflineProvider",
    "anthropic": "agents.llm.anthropic_provider.AnthropicProvider",
}
_lock = threading.Lock()
_provider: LLMProvider | None = None


def _build() -> LLMProvider:
    from agents.llm.observed import ObservedProvider

    table = getattr(settings, "LLM_PROVIDER_CLASSES", None) or PROVIDER_CLASSES
    provider_class = import_string(table[settings.LLM_PROVIDER])
    provider = provider_class.from_settings(settings)
    cache_enabled = settings.LLM_RESPONSE_CACHE_ENABLED and getattr(provider, "response_cache", True)
    return ObservedProvider(provider, cache_enabled=cache_enabled)


def llm_provider_get() -> LLMProvider:
    """The process-wide provider: one SDK client per process, made on first use (by ``shuren.warmup`` in a worker)."""
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
            logger.warning(
                "ANTHROPIC_API_KEY is not set: using the offline LLM engine because DEBUG is on"
                " (with DEBUG off this start is refused; set LLM_PROVIDER=offline to choose it on purpose)"
            )
        return
    from agents.llm.anthropic_provider import model_deprecation

    end_of_life = model_deprecation(settings.LLM_MODEL)
    if end_of_life:
        logger.warning(
            "LLM_MODEL %s is deprecated by Anthropic and reaches end of life on %s; choose a current model",
            settings.LLM_MODEL,
            end_of_life,
        )
