"""The agents app's unit tests: the suite's shared fixtures, and a scripted LLM provider handed to the turn."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from accounts.models import User
from agents.llm import LLMRequest, LLMResponse, ToolCall
from onboarding.models import OnboardingState
from onboarding.services import onboarding_start
from tests.conftest import _block_network, _fresh_cache, answers, make_user, user  # noqa: F401


@dataclass
class ScriptedProvider:
    """An LLM provider that answers from a script: each call takes the next response (or raises it).

    ``during_call`` runs inside the call, for what happens while the LLM answers.
    """

    script: list[LLMResponse | Exception] = field(default_factory=list)
    requests: list[LLMRequest] = field(default_factory=list)
    during_call: Callable[[], None] | None = None
    name: str = "scripted"
    model: str = "scripted-1"

    def says(self, text: str = "", *, tool: str | None = None, values: dict[str, Any] | None = None) -> None:
        """Add a reply to the script: text, and optionally one tool call with ``values``."""
        calls = [ToolCall(name=tool, input=values or {})] if tool else []
        self.script.append(LLMResponse(text=text, tool_calls=calls, model=self.model))

    def fails(self, error: Exception) -> None:
        """Add a failure to the script."""
        self.script.append(error)

    def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        if self.during_call is not None:
            self.during_call()
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def stream(self, request: LLMRequest) -> Iterator[str | LLMResponse]:
        response = self.complete(request)
        words = response.text.split(" ")
        for index, word in enumerate(words):
            yield word if index == 0 else f" {word}"
        yield response

    def health(self) -> dict[str, Any]:
        return {"provider": self.name}


@pytest.fixture
def provider() -> ScriptedProvider:
    """A scripted provider with an empty script."""
    return ScriptedProvider()


@pytest.fixture
def state(user: User) -> OnboardingState:  # noqa: F811 - the shared fixture, requested by name
    """``user``'s onboarding, started."""
    return onboarding_start(user=user)[0]
