"""Request and response shapes of the chat endpoints."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from agents.context_summary import context_summary_schema
from agents.stages import ONBOARDING_STAGES
from agents.turn.reply import NextAction
from onboarding.serializers import StepNumberField
from onboarding.steps import AgentType


class MessageField(serializers.CharField):
    """Text that must arrive as a JSON string (DRF would turn ``5`` or ``true`` into text)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


# COMPONENT_SPLIT_REQUEST adds "Request" to request components: this one is published as ``ChatRequest``.
@extend_schema_serializer(component_name="Chat")
class ChatRequestSerializer(serializers.Serializer):
    """``POST onboarding/chat``: a message (1..2000 characters after trimming) and optionally the step."""

    message = MessageField(max_length=settings.CHAT_MESSAGE_MAX_CHARS, trim_whitespace=True)
    step = StepNumberField(
        required=False,
        allow_null=True,
        help_text="The current step (default) or an earlier one to correct an answer.",
    )


class ChatResponseSerializer(serializers.Serializer):
    """The agent's reply to one message."""

    message = serializers.CharField()
    agent_type = serializers.ChoiceField(choices=AgentType.ALL, help_text="The agent that handled this message.")
    current_step = serializers.IntegerField(help_text="The step this message was handled at.")
    step_complete = serializers.BooleanField()
    next_action = serializers.ChoiceField(choices=[action.value for action in NextAction])
    next_step = serializers.IntegerField(allow_null=True, help_text="Where the user is now (null when complete).")
    next_agent_type = serializers.ChoiceField(
        choices=AgentType.ALL,
        allow_null=True,
        help_text="The agent of the step the user is at now (null when complete).",
    )
    is_complete = serializers.BooleanField()
    awaiting_confirmation = serializers.BooleanField(
        help_text="Every step is answered and the message shows a summary of them: the onboarding completes when "
        "the user confirms it (a plain yes); a correction goes back to its step."
    )
    saved = serializers.DictField(help_text="Values validated and saved by this message.")
    # A field named like Serializer.errors: the reply's shape is the contract.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), help_text="Values that were rejected, and why."
    )


@extend_schema_field(context_summary_schema())
class ContextSummaryField(serializers.DictField):
    """What each agent has collected (``agents.context_summary``); its schema lists every possible key."""


class CurrentAgentSerializer(serializers.Serializer):
    """``GET onboarding/current-agent``: the agent at work, where the user stands, what the agents collected."""

    agent_type = serializers.ChoiceField(
        choices=AgentType.ALL,
        allow_null=True,
        help_text="The agent of the step the user answers next; null once onboarding is complete.",
    )
    current_step = serializers.IntegerField(
        help_text="The step the user answers next (after completion: the last step reached)."
    )
    agent_description = serializers.CharField(
        allow_null=True, help_text="What that agent does; null once onboarding is complete."
    )
    state = serializers.ChoiceField(
        choices=ONBOARDING_STAGES,
        help_text="in_progress: a step waits for an answer; awaiting_confirmation: every step is answered and the "
        "summary waits for the user's yes (or POST onboarding/complete); completed: onboarding is complete.",
    )
    context_summary = ContextSummaryField(
        help_text="What each agent has collected so far: flat, readable values, never whole plans."
    )
