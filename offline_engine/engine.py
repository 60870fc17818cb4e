"""The offline engine: a deterministic stand-in for Claude, with no network and no key.

It reads the user's latest message in its conversation (``conversation.understand``: the coach's
last message and the step's draft come from the request) and answers with tool calls:

* one call of the request's tool with what the message states for the request's step;
* one call per later step whose fields the message states clearly, of that step's tool among
  the request's ``lookahead_tools``, in ``lookahead_calls``: the chat turn keeps those values
  and confirms them when that step comes.

It writes no prose of its own (``compose_reply``): the agent phrases the reply (acknowledge what
was saved, explain what was rejected, ask for what is missing), so the offline flow speaks with
the same words as the agents' server-side corrections. The one exception is a question: then
``question`` and ``faq_topic`` say what was asked, and ``text`` is the FAQ's answer, to be said
before the composed reply (nothing of the question is saved).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from agents.llm.types import LLMRequest, LLMResponse, ToolCall, Usage
from offline_engine.conversation import understand
from offline_engine.memo import turn_memo
from onboarding.steps import step_get


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
        asked = next(
            (entry["content"] for entry in reversed(request.messages[:-1]) if entry.get("role") == "assistant"), ""
        )
        with turn_memo():
            understood = understand(request.step, message, asked=asked, draft=request.draft)
        values = understood.values
        calls = [ToolCall(request.tools[0]["name"], values)] if values and request.tools else []
        offered = {tool["name"] for tool in request.lookahead_tools}
        later_calls = [
            ToolCall(name, later)
            for step, later in understood.later.items()
            if (name := f"record_{step_get(step).name}") in offered
        ]
        sent = len(request.system_static) + len(request.system_dynamic) + len(json.dumps(request.messages))
        return LLMResponse(
            text=understood.faq_answer,
            tool_calls=calls,
            usage=Usage(input_tokens=sent // 4, output_tokens=len(json.dumps(values)) // 4),
            model=self.model,
            compose_reply=True,
            question=understood.question,
            faq_topic=understood.faq_topic,
            lookahead_calls=later_calls,
        )

    def stream(self, request: LLMRequest) -> Iterator[str | LLMResponse]:
        """No text of its own to stream: the agent's composed reply is streamed by the service."""
        yield self.complete(request)

    def health(self) -> dict[str, str]:
        """Always available."""
        return {"model": self.model}
