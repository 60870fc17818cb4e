"""The offline engine: a deterministic stand-in for Claude, with no network and no key.

It reads the user's latest message with the parsers in ``extraction`` and
answers with a tool call carrying what it understood. It writes no prose of its
own: ``compose_reply`` tells the agent to phrase the reply (acknowledge what was
saved, explain what was rejected, ask for what is missing), so the offline
flow speaks with the same words as the agents' server-side corrections.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from agents.llm.types import LLMRequest, LLMResponse, ToolCall, Usage
from offline_engine.extraction import extract


class OfflineProvider:
    """Answers every request at once, deterministically."""

    name = "offline"
    model = "offline-engine"
    # Deterministic and free: caching its answers would only cost memory.
    response_cache = False

    @classmethod
    def from_settings(cls, settings: Any) -> OfflineProvider:
        """The provider factory's entry point; the engine has nothing to configure."""
        return cls()

    def complete(self, request: LLMRequest) -> LLMResponse:
        """Extract the latest message's answers for the request's step."""
        message = request.messages[-1]["content"] if request.messages else ""
        values = extract(request.step, message)
        calls = [ToolCall(request.tools[0]["name"], values)] if values and request.tools else []
        sent = len(request.system_static) + len(request.system_dynamic) + len(json.dumps(request.messages))
        return LLMResponse(
            text="",
            tool_calls=calls,
            usage=Usage(input_tokens=sent // 4, output_tokens=len(json.dumps(values)) // 4),
            model=self.model,
            compose_reply=True,
        )

    def stream(self, request: LLMRequest) -> Iterator[str | LLMResponse]:
        """No text of its own to stream: the agent's composed reply is streamed by the service."""
        yield self.complete(request)

    def health(self) -> dict[str, str]:
        """Always available."""
        return {"model": self.model}
