"""Claude through the official anthropic SDK: the only module that talks to Anthropic.

One client per process (made in each gunicorn worker after the fork, by shuren.warmup). Retries are
done here rather than by the SDK (``max_retries=0``) because the SDK sleeps for
whatever ``retry-after`` the server sends, however long; here every wait is
capped so that a turn never takes longer than ``LLM_DEADLINE_SECONDS``, and
the last ``retry-after`` seen becomes the 503's ``Retry-After``.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import anthropic
import httpx2
from anthropic._data import DEPRECATED_MODELS

from agents.llm.types import (
    LLMRequest,
    LLMRequestRejectedError,
    LLMResponse,
    LLMUnavailableError,
    ToolCall,
    Usage,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

_RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}
# Claude models after the 4.6 generation reject sampling parameters (400), and SDK 1.0 dropped the
# ``temperature`` argument; it is sent through ``extra_body`` only to models that still take it.
_MODEL_VERSION = re.compile(r"^claude-(?:[a-z]+-)?(\d+)(?:-(\d))?(?:-|$)")
_LAST_TEMPERATURE_VERSION = (4, 6)


def model_accepts_temperature(model: str) -> bool:
    """Whether ``model`` still accepts a sampling temperature (Claude 4.6 and older)."""
    match = _MODEL_VERSION.match(model)
    if match is None:
        return False  # unknown model: temperature is optional, so leave it out
    version = (int(match.group(1)), int(match.group(2) or 0))
    return version <= _LAST_TEMPERATURE_VERSION


def model_deprecation(model: str) -> str | None:
    """The end-of-life date the SDK lists for ``model``, or None if it is not deprecated."""
    return DEPRECATED_MODELS.get(model)


class AnthropicProvider:
    """Sends agent requests to the Messages API with prompt caching, bounded retries and timeouts."""

    name = "anthropic"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        temperature: float,
        max_tokens: int,
        timeout: float,
        connect_timeout: float,
        max_retries: int,
        deadline: float,
        retry_after_default: int,
        base_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.max_retries = max_retries
        self.deadline = deadline
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retry_after_default = retry_after_default
        self._sleep = sleep
        self.client = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url,
            timeout=anthropic.Timeout(timeout, connect=connect_timeout),
            max_retries=0,
        )

    # --- request building -----------------------------------------------------

    @classmethod
    def from_settings(cls, settings: Any) -> AnthropicProvider:
        """The provider factory's entry point: the ``ANTHROPIC_*`` and ``LLM_*`` settings."""
        return cls(
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

    def _params(self, request: LLMRequest) -> dict[str, Any]:
        system: list[dict[str, Any]] = [
            # The static prefix (persona, rules, the step's fields and guide) is the same for every user
            # of a step, so it is cached; the user's own context follows uncached. agents/prompts.py keeps
            # that prefix above the model's minimum cacheable length. The conversation is not cached: the
            # user's context sits before it and changes on most turns, so a breakpoint on the last message
            # would pay for cache writes that are rarely read.
            {"type": "text", "text": request.system_static, "cache_control": {"type": "ephemeral"}},
        ]
        if request.system_dynamic:
            system.append({"type": "text", "text": request.system_dynamic})
        tools = [dict(tool) for tool in request.tools]
        if tools:
            tools[-1] = {**tools[-1], "cache_control": {"type": "ephemeral"}}
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": system,
            "messages": request.messages,
        }
        if model_accepts_temperature(self.model):
            params["extra_body"] = {"temperature": self.temperature}
        if tools:
            params["tools"] = tools
            params["tool_choice"] = {"type": "auto"}
        return params

    @staticmethod
    def _wire_body(params: dict[str, Any]) -> bytes:
        """``params`` as the Messages API's JSON body: what ``messages.create(**params)`` sends."""
        body = {key: value for key, value in params.items() if key != "extra_body"}
        body.update(params.get("extra_body", {}))
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()

    def _parsed(self, message: Callable[[], Any]) -> LLMResponse:
        """The reply ``message()`` returns (JSON data) as the provider's response; one that is not a Messages API
        reply (a 200 with another body) is the coach unavailable, nothing saved."""
        try:
            return _reply(message())
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            logger.error("LLM API error: a reply that is not a message (%s: %s)", type(exc).__name__, exc)
            raise LLMUnavailableError(
                "The coach's reply could not be read.", reason="malformed_reply", retry_after=self.retry_after_default
            ) from exc

    # --- retries ----------------------------------------------------------------

    def _retry_after(self, exc: Exception) -> float | None:
        response = getattr(exc, "response", None)
        header = response.headers.get("retry-after") if response is not None else None
        try:
            return float(header) if header is not None else None
        except ValueError:
            return None

    def _with_retries(self, call: Callable[[anthropic.Timeout], T]) -> T:
        """Run ``call`` with a timeout that never reaches past the deadline; retry what is retryable.

        The timeout goes with the request (the SDK's per-request option) rather than a client copied with
        ``with_options``: copying builds a whole client on every call, which was 3 % of a turn's CPU.
        """
        started = time.monotonic()
        retry_after_hint: float | None = None
        for attempt in range(self.max_retries + 1):
            remaining = self.deadline - (time.monotonic() - started)
            budget = min(self.timeout, max(remaining, 0.1))
            try:
                return call(anthropic.Timeout(budget, connect=min(self.connect_timeout, budget)))
            except anthropic.APIStatusError as exc:
                if exc.status_code in (401, 403):
                    # The key is wrong or lacks access: unavailable until an operator fixes it.
                    logger.error("LLM API error: %s (status %s)", type(exc).__name__, exc.status_code, exc_info=True)
                    raise LLMUnavailableError(
                        "The LLM rejected our credentials.", reason=f"status_{exc.status_code}", retry_after=60
                    ) from exc
                if exc.status_code not in _RETRYABLE_STATUS:
                    # 400/404/413/422: our request is wrong; resending the same message cannot help.
                    logger.error("LLM API error: %s (status %s)", type(exc).__name__, exc.status_code, exc_info=True)
                    raise LLMRequestRejectedError(f"The LLM rejected the request (status {exc.status_code}).") from exc
                retry_after_hint = self._retry_after(exc)
                failure: Exception = exc
            except (anthropic.APIConnectionError, anthropic.APITimeoutError) as exc:
                failure = exc
            if attempt == self.max_retries:
                break
            backoff = min(8.0, 0.5 * 2**attempt) * (0.75 + random.random() / 4)  # noqa: S311 (jitter)
            wait = retry_after_hint if retry_after_hint is not None else backoff
            if time.monotonic() - started + wait > self.deadline:
                break
            logger.warning("LLM call failed (%s); retry %s in %.2fs", type(failure).__name__, attempt + 1, wait)
            self._sleep(wait)
        logger.error("LLM API error: %s", type(failure).__name__, exc_info=failure)
        retry_after = max(1, int(retry_after_hint)) if retry_after_hint else self.retry_after_default
        raise LLMUnavailableError(
            "The coach is unavailable right now.", reason=type(failure).__name__, retry_after=retry_after
        ) from failure

    # --- the provider interface ---------------------------------------------------

    def complete(self, request: LLMRequest) -> LLMResponse:
        """One Messages API call with bounded retries.

        Sent through the SDK's client (its authentication, headers, timeouts, connection pool and errors), as
        the JSON body serialised here and read back as JSON rather than through ``messages.create``: the typed
        method deep-copies the whole prompt into a new tree and builds a model object for every part of the
        reply, 1.2-1.5 ms of CPU a turn (about a tenth of one), for a request this module builds itself from
        plain data and a reply it reads five fields of (``bench/RESULTS.md``, "Issue 15, third sitting"). One
        thing the typed method has that this call has not: its OpenTelemetry span name, which matters only if
        tracing is turned on (the SDK's ``post`` takes no span options); streamed turns keep theirs.
        """
        body = self._wire_body(self._params(request))
        response = self._with_retries(
            lambda timeout: self.client.post(
                "/v1/messages", content=body, cast_to=httpx2.Response, options={"timeout": timeout}
            )
        )
        return self._parsed(response.json)

    def stream(self, request: LLMRequest) -> Iterator[str | LLMResponse]:
        """Text deltas as Claude writes them, then the final response.

        Retries happen only before the first delta: after that the user has
        seen text, so a failure ends the turn (503, nothing saved).
        """
        params = self._params(request)
        started = time.monotonic()
        manager = self._with_retries(lambda timeout: _opened(self.client.messages.stream(**params, timeout=timeout)))
        try:
            with manager as stream:
                for delta in stream.text_stream:
                    if time.monotonic() - started > self.deadline:
                        raise LLMUnavailableError(
                            "The coach's reply took too long.", reason="deadline", retry_after=self.retry_after_default
                        )
                    yield delta
                final = stream.get_final_message()
        except (anthropic.APIError, httpx2.HTTPError, ValueError) as exc:
            # A cut stream surfaces as httpx2's own error: the SDK does not wrap errors raised while iterating.
            logger.error("LLM API error: %s during streaming", type(exc).__name__, exc_info=True)
            raise LLMUnavailableError(
                "The coach's reply was interrupted.", reason=type(exc).__name__, retry_after=self.retry_after_default
            ) from exc
        yield self._parsed(lambda: final.to_dict(warnings=False))

    def health(self) -> dict[str, Any]:
        """A cheap authenticated call (model lookup); raises ``LLMUnavailableError`` when it fails."""
        try:
            probe = self.client.with_options(max_retries=0, timeout=anthropic.Timeout(5.0, connect=2.0))
            info = probe.models.retrieve(self.model)
        except anthropic.AuthenticationError as exc:
            raise LLMUnavailableError("The API key was rejected.", reason="authentication", retry_after=60) from exc
        except anthropic.APIError as exc:
            raise LLMUnavailableError(
                "Anthropic is unreachable.", reason=type(exc).__name__, retry_after=self.retry_after_default
            ) from exc
        return {"model": info.id}


class _OpenedStream:
    """A stream whose HTTP request was already sent, so connection errors surface inside the retry loop."""

    def __init__(self, manager: Any) -> None:
        self._manager = manager
        self._stream = manager.__enter__()

    def __enter__(self) -> Any:
        return self._stream

    def __exit__(self, *exc: Any) -> None:
        self._manager.__exit__(*exc)


def _opened(manager: Any) -> _OpenedStream:
    return _OpenedStream(manager)


def _reply(message: Any) -> LLMResponse:
    """A Messages API reply, as JSON data, as the provider's response: its text and tool calls (other block
    types are ignored), usage and model. Raises ``KeyError``/``TypeError``/``ValueError`` for what is not one."""
    if not isinstance(message, dict) or not isinstance(message["content"], list):
        raise TypeError("not a message with a list of content blocks")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in message["content"]:
        if not isinstance(block, dict):
            raise TypeError("a content block that is not an object")
        if block.get("type") == "text":
            if not isinstance(block["text"], str):
                raise TypeError("a text block whose text is not a string")
            texts.append(block["text"])
        elif block.get("type") == "tool_use":
            # A model can send a non-object input; treat it as no values rather than fail the turn.
            values = block.get("input")
            calls.append(ToolCall(str(block["name"]), values if isinstance(values, dict) else {}))
    usage = message.get("usage") or {}
    if not isinstance(usage, dict):
        raise TypeError("usage is not an object")
    return LLMResponse(
        text="".join(texts),
        tool_calls=calls,
        usage=Usage(
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            cache_read_input_tokens=int(usage.get("cache_read_input_tokens") or 0),
            cache_creation_input_tokens=int(usage.get("cache_creation_input_tokens") or 0),
        ),
        model=str(message["model"]),
    )
