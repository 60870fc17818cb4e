"""Request and response shapes of the onboarding API (validation only; no logic)."""

from __future__ import annotations

import copy
from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from onboarding.models import OnboardingState, agent_fields_in_use
from onboarding.steps import (
    FIRST_STEP,
    LAST_STEP,
    STEPS,
    AgentType,
    StepDefinition,
    camel,
    step_get,
    step_serializer_class,
)

# The schema-only serializers below give generated clients a type for each step's data where the API
# knows the step (a key of ``step_data``, the ``name`` of the next step). They are built from the step
# catalogue, like the request components, and only document: the endpoints still send the JSON as stored.


def _step_answers_serializer() -> type[serializers.Serializer]:
    fields = {str(step.number): step_serializer_class(step.number)(required=False) for step in STEPS}
    doc = 'The saved answers, keyed by step number ("1".."9"); a step not answered yet is absent.'
    return type("StepAnswersSerializer", (serializers.Serializer,), {**fields, "__doc__": doc})


@extend_schema_field(_step_answers_serializer())
class StepAnswersField(serializers.JSONField):
    """``step_data``: the answers as stored, published as one typed property per step."""


class StepFieldsSerializer(serializers.Serializer):
    """A step's fields as JSON Schema, for building a form; with `"additionalProperties": false` (no other keys)."""

    # ``additionalProperties`` is sent but not listed: openapi-python-client's models keep unknown keys in an
    # attribute of that name, so a property named so breaks every generated parse of the next step.
    type = serializers.CharField(help_text='Always "object".')
    properties = serializers.DictField(
        child=serializers.DictField(), help_text="The JSON Schema of each field, by field name."
    )
    # A field named like Field.required: the JSON Schema keyword is the contract.
    required = serializers.ListField(  # type: ignore[assignment]
        child=serializers.CharField(), help_text="The fields a complete answer has."
    )
    description = serializers.CharField(help_text="The step's title.")


@extend_schema_field(StepFieldsSerializer)
class StepFieldsField(serializers.JSONField):
    """``fields`` of the next step: its JSON Schema, published with the shape of a JSON Schema object."""


# A property only null satisfies: the NullEnum component drf-spectacular adds for the nullable agent types
# (the spec validator's test fails if it ever goes missing).
@extend_schema_field({"$ref": "#/components/schemas/NullEnum"})
class NoSuggestionField(serializers.JSONField):
    """``suggestion`` of a step the server proposes nothing for: always null."""


def _suggestion_serializer(step: StepDefinition) -> serializers.Serializer:
    # The step's own field objects (copied), so a nested group keeps its one component (``Plan``).
    declared = step_serializer_class(step.number)._declared_fields
    fields = {spec.name: copy.deepcopy(declared[spec.name]) for spec in step.proposal_fields()}
    doc = f"What the server proposes for step {step.number} ({step.title}), to approve or adjust."
    return type(f"{camel(step.name)}SuggestionSerializer", (serializers.Serializer,), {**fields, "__doc__": doc})(
        help_text="Values the server proposes for this step."
    )


def _next_step_serializer(step: StepDefinition) -> type[serializers.Serializer]:
    fields: dict[str, Any] = {
        "step": serializers.IntegerField(min_value=step.number, max_value=step.number),
        "name": serializers.ChoiceField(choices=[step.name]),
        "title": serializers.CharField(),
        "agent_type": serializers.ChoiceField(choices=AgentType.ALL),
        "fields": StepFieldsField(help_text="JSON Schema of the step's fields."),
        "suggestion": _suggestion_serializer(step) if step.proposal else NoSuggestionField(allow_null=True),
    }
    doc = f"The next step when it is step {step.number} ({step.title})."
    return type(f"{camel(step.name)}NextStepSerializer", (serializers.Serializer,), {**fields, "__doc__": doc})


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

    step_data = StepAnswersField(read_only=True)

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


# In the schema the next step is one of nine variants, told apart by ``name`` (an enum of one value in
# each): each types its step's ``suggestion`` (the workout plan, the meal targets, or null). No OpenAPI
# ``discriminator``: openapi-python-client ignores it, and openapi-typescript reads the ``allOf`` that makes
# ``next_step`` nullable as inheritance and drops ``name`` from the union, so TypeScript could not narrow it.
@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="NextStep",
        serializers=[_next_step_serializer(step) for step in STEPS],
        resource_type_field_name=None,
        many=False,
    )
)
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
