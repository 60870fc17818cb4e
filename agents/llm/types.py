"""Provider-neutral shapes of an LLM call: what the agents send and what comes back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ToolCall:
    """The model asked to record these values with this tool (not yet validated)."""

    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Usage:
    """Token counts of one call."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        """For the conversation history and metrics."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
        }


@dataclass(frozen=True)
class LLMRequest:
    """Everything sent to the model for one turn.

    ``system_static`` is the same for every user of a step (cached by the
    provider); ``system_dynamic`` carries this user's context. ``step`` and
    ``draft`` are not sent anywhere: the offline engine reads them; ``user_id``
    lets the response cache forget a user's replies when they erase their data.
    ``lookahead_tools`` are the tools of the later steps not yet answered: an engine
    that reads ahead (the offline one) may call them when a message also answers a
    later step (``LLMResponse.lookahead_calls``), and the turn keeps those values for when
    that step comes. They are not sent to Claude: a call of a later step's tool among
    Claude's ``tool_calls`` is ignored like any tool not offered.
    """

    system_static: str
    system_dynamic: str
    tools: list[dict[str, Any]]
    messages: list[dict[str, str]]
    step: int
    draft: dict[str, Any] = field(default_factory=dict)
    user_id: int | None = None
    lookahead_tools: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class LLMResponse:
    """The model's reply text, the tool calls it made and what it cost."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    # True when the agent should compose the reply. With ``compose_reply`` the ``text`` is empty, or
    # (the offline engine) the answer to the user's question, to be said before the composed reply.
    compose_reply: bool = False
    # Calls of the request's ``lookahead_tools``: values the message stated for later steps.
    lookahead_calls: list[ToolCall] = field(default_factory=list)
    # The user's message (or part of it) asked for information instead of answering: the question,
    # and the ``agents.faq`` topic it matched ("" when none did). Nothing in it was saved.
    question: str = ""
    faq_topic: str = ""


class LLMUnavailableError(Exception):
    """The provider failed after its retries; nothing was saved, the request is safe to resend."""

    def __init__(self, message: str, *, reason: str, retry_after: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after


class LLMRequestRejectedError(Exception):
    """The provider refused the request itself (400, 404, 413): a bug or a limit on our side, not an outage."""


class LLMProvider(Protocol):
    """What an LLM backend offers the agents."""

    name: str
    model: str

    def complete(self, request: LLMRequest) -> LLMResponse:
        """One call; raises ``LLMUnavailableError`` after retries."""
        ...

    def stream(self, request: LLMRequest) -> Iterator[str | LLMResponse]:
        """Text deltas as they arrive, then the final ``LLMResponse``."""
        ...

    def health(self) -> dict[str, Any]:
        """A cheap check that the provider answers; raises ``LLMUnavailableError`` when it does not."""
        ...
