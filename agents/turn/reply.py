"""What a chat turn answers: ``ChatReply`` and its ``NextAction``, typed; ``as_body()`` is the JSON contract."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.errors import FieldErrors
from onboarding.steps import StepData


class NextAction(StrEnum):
    """What the client should do after a turn (the ``next_action`` of the reply); a ``str``, so JSON as its value."""

    CONTINUE = "continue"
    ADVANCE_STEP = "advance_step"
    COMPLETE_ONBOARDING = "complete_onboarding"


@dataclass(frozen=True)
class ChatReply:
    """The reply to one chat message: ``POST onboarding/chat``'s body, and the ``done`` event of the stream."""

    message: str
    agent_type: str
    current_step: int  # the step this message was handled at
    step_complete: bool
    next_action: NextAction
    next_step: int | None  # where the user is now; None when onboarding is complete
    next_agent_type: str | None
    is_complete: bool
    saved: StepData  # values validated and saved by this message
    errors: FieldErrors  # values refused, and why
    awaiting_confirmation: bool = False  # the message shows the summary of every answer and waits for a yes

    def as_body(self) -> dict[str, Any]:
        """The JSON body, key for key as the API documents it."""
        return {
            "message": self.message,
            "agent_type": self.agent_type,
            "current_step": self.current_step,
            "step_complete": self.step_complete,
            "next_action": self.next_action.value,
            "next_step": self.next_step,
            "next_agent_type": self.next_agent_type,
            "is_complete": self.is_complete,
            "awaiting_confirmation": self.awaiting_confirmation,
            "saved": self.saved,
            "errors": self.errors,
        }

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> ChatReply:
        """A reply stored as its JSON body (an idempotency record) read back."""
        return cls(**{**body, "next_action": NextAction(body["next_action"])})
