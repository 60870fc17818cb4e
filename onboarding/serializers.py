"""Request and response shapes of the onboarding API (validation only; no logic)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from onboarding.models import OnboardingState, agent_fields_in_use
from onboarding.steps import FIRST_STEP, LAST_STEP, STEPS, AgentType, step_get, step_serializer_class


class CurrentAgentField(serializers.ChoiceField):
    """``current_agent``: the stored one. With ``AGENTS_ENABLED`` off the column is not read (it may be rolled
    back), and a row that has none stored (written while it was rolled back) has the current step's agent, as
    the form flow stores it; null once complete."""

    def get_attribute(self, instance: OnboardingState) -> str | None:
        if instance.is_complete:
            return None
        stored = instance.current_agent if agent_fields_in_use() else None
        return stored or step_get(instance.current_step).agent_type


class OnboardingStateSerializer(serializers.ModelSerializer):
    """The user's onboarding state as the form flow sees it."""

    current_agent = CurrentAgentField(
        choices=AgentType.ALL, allow_null=True, read_only=True, help_text="The agent of the current step."
    )

    class Meta:
        model = OnboardingState
        fields = ("current_step", "is_complete", "step_data", "current_agent", "created_at", "updated_at")
        read_only_fields = fields


def _step_data_schema() -> PolymorphicProxySerializer:
    return PolymorphicProxySerializer(
        component_name="StepData",
        serializers=[step_serializer_class(step.number) for step in STEPS],
        resource_type_field_name=None,
        many=False,
    )


class StepNumberField(serializers.IntegerField):
    """A step number (1-9) in a request's envelope: a JSON integer only, never ``"1"``, ``1.0`` or ``true``.

    Stricter than a step's own integer fields, which take ``1.0`` because the JSON Schema the
    LLM is given counts it as an integer; the envelope is the client's, and the README types it
    (values have their JSON types).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=FIRST_STEP, max_value=LAST_STEP, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class StepSubmitSerializer(serializers.Serializer):
    """``POST onboarding/step``: a step number and that step's fields (validated by the step definition)."""

    step = StepNumberField()
    # A field named like Serializer.data: the request's shape is the contract.
    data = serializers.JSONField(help_text="The step's fields; see the StepData variants.")  # type: ignore[assignment]

    def validate_data(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object with the step's fields.")
        return value


class NextStepSerializer(serializers.Serializer):
    """What the next unanswered step asks for."""

    step = serializers.IntegerField()
    name = serializers.CharField()
    title = serializers.CharField()
    agent_type = serializers.ChoiceField(choices=AgentType.ALL)
    # A field named like Serializer.fields: the response's shape is the contract.
    fields = serializers.JSONField(help_text="JSON Schema of the step's fields.")  # type: ignore[assignment]
    suggestion = serializers.JSONField(
        allow_null=True, help_text="Values the server proposes (step 5: the workout plan; step 7: meal targets)."
    )


class ProgressSerializer(serializers.Serializer):
    """``GET onboarding/progress``."""

    current_step = serializers.IntegerField()
    is_complete = serializers.BooleanField()
    completed_steps = serializers.ListField(child=serializers.IntegerField())
    total_steps = serializers.IntegerField()
    percentage = serializers.IntegerField()
    next_step = NextStepSerializer(allow_null=True)


class ExportSerializer(serializers.Serializer):
    """``GET onboarding/export``: everything stored about the user's onboarding."""

    exported_at = serializers.DateTimeField()
    user = serializers.JSONField()
    onboarding = serializers.JSONField()
    idempotency_records = serializers.JSONField()


STEP_DATA_SCHEMA = _step_data_schema()
