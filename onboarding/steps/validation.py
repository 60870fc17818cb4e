"""A step's answer judged against its definition: whole, field by field, or for completion.

The catalogue says what a step holds; these functions turn that into DRF serializers
and JSON Schema and apply the step's cross-step rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from rest_framework import serializers

from core.errors import FieldErrors, UnprocessableError, flatten_errors
from core.validation import serializer_validate
from onboarding.steps.catalogue import StepDefinition, step_get
from onboarding.steps.specs import (
    AllStepData,
    StepData,
    camel,
    drop_none,
    object_schema,
    serializer_class,
    specs_validate,
)


@cache
def step_serializer_class(number: int) -> type[serializers.Serializer]:
    """The DRF serializer of a step's data (also the step's OpenAPI component)."""
    step = step_get(number)
    return serializer_class(f"{camel(step.name)}StepSerializer", step.fields)


def step_json_schema(number: int, *, llm_only: bool = False) -> dict[str, Any]:
    """JSON Schema of a step's data; ``llm_only`` leaves out server-computed fields."""
    step = step_get(number)
    specs = tuple(spec for spec in step.fields if spec.llm_settable or not llm_only)
    return object_schema(specs, description=step.title)


def step_rule_errors(number: int, data: StepData, *, other_steps: AllStepData) -> FieldErrors:
    """Errors of the step's rules for the values present (a partial answer can already break one)."""
    return _rule_errors(step_get(number), data, other_steps)


def _rule_errors(step: StepDefinition, data: StepData, other: AllStepData) -> FieldErrors:
    errors: FieldErrors = {}
    for rule in step.rules:
        for name, messages in rule(data, other).items():
            errors.setdefault(name, []).extend(messages)
    return errors


def step_validate(number: int, data: Any, *, other_steps: AllStepData) -> StepData:
    """Validate a whole step's answer; returns clean data or raises ``UnprocessableError``."""
    validated, invalid = serializer_validate(step_serializer_class(number), data)
    if invalid:
        raise UnprocessableError(f"Step {number} data is invalid.", errors=flatten_errors(invalid))
    clean = drop_none(dict(validated))
    errors = _rule_errors(step_get(number), clean, other_steps)
    if errors:
        raise UnprocessableError(f"Step {number} data is invalid.", errors=errors)
    return clean


def step_fields_validate(number: int, values: Mapping[str, Any]) -> tuple[StepData, FieldErrors]:
    """``specs_validate`` over one step's fields."""
    return specs_validate(step_get(number).fields, values)


def step_missing_fields(number: int, data: Mapping[str, Any]) -> list[str]:
    """The required fields not yet answered."""
    return [name for name in step_get(number).required_names() if name not in data]


def step_is_complete(number: int, data: Mapping[str, Any] | None, *, other_steps: AllStepData) -> bool:
    """True when the step's saved answer is valid, cross-step rules included."""
    if not data:
        return False
    try:
        step_validate(number, data, other_steps=other_steps)
    except UnprocessableError:
        return False
    return True
