"""Metrics and the response cache around whichever provider runs.

The cache key is a hash of everything sent to the model (model, system prompt
with the user's context, tools, the message history), so a cached reply is only
ever reused for a byte-identical prompt: no user can receive a reply built from
another user's data. Each user's keys are remembered so erasing their
onboarding also drops their cached replies.

A call may still be in flight when the user's data is erased: the erase first
leaves a mark (``llm-reply-erased:<user id>``), and a reply stored after it
was set is deleted again by the call that stored it. Either the store comes
before the mark, and the erase that follows finds the reply in the user's
index, or the store sees the mark.

The cache only saves calls: when it is down or hangs, the reply comes from the
provider and is not stored (``core/degraded_cache.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.core.cache import cache

from agents.llm.types import (
    LLMProvider,
    LLMRequest,
    LLMRequestRejectedError,
    LLMResponse,
    LLMUnavailableError,
    ToolCall,
    Usage,
)
from core.degraded_cache import CACHE_ERRORS, cache_degraded
from core.metrics import LLM_LATENCY, RESPONSE_CACHE, tokens_count

logger = logging.getLogger(__name__)
_KEY_PREFIX = "llm-reply:"
_USER_KEYS = "llm-reply-keys:{user_id}"
_ERASED = "llm-reply-erased:{user_id}"
_MAX_KEYS_PER_USER = 500
# Providers whose usage is Anthropic's own count, what is billed; any other (the offline engine) estimates.
_BILLED_PROVIDERS = frozenset({"anthropic"})


def _cache_key(model: str, request: LLMRequest) -> str:
    sent = {
        "model": model,
        "system": [request.system_static, request.system_dynamic],
        "tools": request.tools,
        "messages": request.messages,
    }
    return _KEY_PREFIX + hashlib.sha256(json.dumps(sent, sort_keys=True).encode()).hexdigest()


def _decode(data: dict[str, Any]) -> LLMResponse:
    return LLMResponse(
        text=data["text"],
        tool_calls=[ToolCall(call["name"], call["input"]) for call in data["tool_calls"]],
        usage=Usage(),  # a cached reply costs no tokens
        model=data["model"],
        compose_reply=data["compose_reply"],
    )


def response_cache_forget_user(user_id: int) -> int:
    """Drop every cached reply this user's prompts produced; returns how many keys were dropped.

    With the cache unreachable nothing can be dropped: that is counted and logged
    (``llm_reply_forget``), and the replies expire after ``LLM_RESPONSE_CACHE_SECONDS``.
    """
    index = _USER_KEYS.format(user_id=user_id)
    # The mark outlives any LLM call in flight now (each ends by LLM_DEADLINE_SECONDS).
    mark_seconds = int(settings.LLM_DEADLINE_SECONDS) + 60
    try:
        cache.set(_ERASED.format(user_id=user_id), True, timeout=mark_seconds)
        keys = cache.get(index) or []
        cache.delete_many([*keys, index])
    except CACHE_ERRORS as exc:
        cache_degraded("llm_reply_forget", exc)
        return 0
    return len(keys)


class ObservedProvider:
    """Wraps a provider with latency and token metrics and, when enabled, the response cache."""

    def __init__(self, inner: LLMProvider, *, cache_enabled: bool) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self.cache_enabled = cache_enabled

    def health(self) -> dict[str, Any]:
        """The inner provider's health check (never cached here: health.checks caches it)."""
        return self.inner.health()

    def _cached(self, request: LLMRequest) -> tuple[str | None, LLMResponse | None]:
        if not self.cache_enabled:
            return None, None
        key = _cache_key(self.model, request)
        try:
            data = cache.get(key)
        except CACHE_ERRORS as exc:
            cache_degraded("llm_reply_get", exc)
            return None, None  # bypassed: no lookup, and no store that would wait on the cache again
        RESPONSE_CACHE.labels("hit" if data else "miss").inc()
        return key, _decode(data) if data else None

    def _remember(self, key: str | None, request: LLMRequest, response: LLMResponse) -> None:
        if key is None:
            return
        data = asdict(response)
        data["tool_calls"] = [asdict(call) for call in response.tool_calls]
        timeout = settings.LLM_RESPONSE_CACHE_SECONDS
        try:
            # The user's index first: a reply is never stored where erasure could not find it.
            if request.user_id is not None:
                index = _USER_KEYS.format(user_id=request.user_id)
                keys = [*(cache.get(index) or [])[-_MAX_KEYS_PER_USER:], key]
                cache.set(index, keys, timeout=timeout)
            cache.set(key, data, timeout=timeout)
            if request.user_id is not None and cache.get(_ERASED.format(user_id=request.user_id)):
                # The user's data was erased while this reply was written: it goes too (and the index,
                # which during the mark holds nothing else that survives).
                cache.delete_many([key, _USER_KEYS.format(user_id=request.user_id)])
        except CACHE_ERRORS as exc:
            cache_degraded("llm_reply_set", exc)

    def _observe(self, started: float, outcome: str, response: LLMResponse | None = None) -> None:
        LLM_LATENCY.labels(self.name, outcome).observe(time.perf_counter() - started)
        if response is not None:
            tokens_count(self.name, response.usage.as_dict(), billed=self.name in _BILLED_PROVIDERS)

    def complete(self, request: LLMRequest) -> LLMResponse:
        """The inner provider's answer, from the cache when the same prompt was answered before."""
        key, hit = self._cached(request)
        if hit is not None:
            return hit
        started = time.perf_counter()
        try:
            response = self.inner.complete(request)
        except (LLMUnavailableError, LLMRequestRejectedError):
            self._observe(started, "error")
            raise
        self._observe(started, "ok", response)
        self._remember(key, request, response)
        return response

    def stream(self, request: LLMRequest) -> Iterator[str | LLMResponse]:
        """The inner provider's stream; a cached reply arrives as one delta."""
        key, hit = self._cached(request)
        if hit is not None:
            if hit.text:
                yield hit.text
            yield hit
            return
        started = time.perf_counter()
        try:
            for item in self.inner.stream(request):
                if isinstance(item, LLMResponse):
                    self._observe(started, "ok", item)
                    self._remember(key, request, item)
                yield item
        except (LLMUnavailableError, LLMRequestRejectedError):
            self._observe(started, "error")
            raise
