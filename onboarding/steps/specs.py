"""The field-spec framework: one spec per field, from which validation and JSON Schema both come.

A spec says what a field holds (its name, meaning, range or choices, whether it is
required and whether the LLM may set it). ``serializer_field`` gives the strict DRF field
that validates it and ``json_schema`` the schema the LLM tools and the OpenAPI docs
publish; ``tests/test_step_properties.py`` holds the two to the same judgement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from rest_framework import serializers

from core.errors import FieldErrors, flatten_errors
from onboarding.steps.strict import (
    NOT_BLANK_PATTERN,
    PLAN_BASIS_PATTERN,
    TIME_PATTERN,
    StrictBooleanField,
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
    StrictSerializer,
    clock_time,
    distinct,
    must_be_true,
    not_blank,
    plan_basis,
)

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

StepData = dict[str, Any]
AllStepData = Mapping[int, StepData]


@dataclass(frozen=True)
class FieldSpec:
    """One field of a step: its name, meaning, whether it is required and who may set it."""

    name: str
    description: str
    required: bool = True
    # False for values the server computes (the workout plan): not offered to the LLM tool.
    llm_settable: bool = True
    # How the field is named to a person ("" = the name with spaces), and the unit of its value.
    title: str = ""
    unit: str = ""

    def serializer_field(self) -> serializers.Field:
        """The DRF field that validates this spec."""
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of this spec's value."""
        raise NotImplementedError

    def label(self) -> str:
        """How the field is named to a person."""
        return self.title or self.name.replace("_", " ")

    def display(self, value: Any) -> str:
        """A value of this field as a person would read it."""
        text = plain_text(value)
        return f"{text}{'' if self.unit == '%' else ' '}{self.unit}" if self.unit else text

    def _common(self) -> dict[str, Any]:
        return {"required": self.required, "help_text": self.description}


@dataclass(frozen=True)
class Choice(FieldSpec):
    """One of a fixed set of strings."""

    choices: tuple[str, ...] = ()

    def serializer_field(self) -> serializers.Field:
        return serializers.ChoiceField(choices=list(self.choices), **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices), "description": self.description}


@dataclass(frozen=True)
class Integer(FieldSpec):
    """A whole number within an inclusive range."""

    minimum: int = 0
    maximum: int = 0

    def serializer_field(self) -> serializers.Field:
        return StrictIntegerField(min_value=self.minimum, max_value=self.maximum, **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum, "description": self.description}


@dataclass(frozen=True)
class Number(FieldSpec):
    """A number (integer or decimal) within an inclusive range."""

    minimum: float = 0
    maximum: float = 0

    def serializer_field(self) -> serializers.Field:
        return StrictFloatField(min_value=self.minimum, max_value=self.maximum, **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {"type": "number", "minimum": self.minimum, "maximum": self.maximum, "description": self.description}


@dataclass(frozen=True)
class TextList(FieldSpec):
    """A list of short strings; may be empty (the user said "none")."""

    max_items: int = 20
    max_length: int = 100

    def serializer_field(self) -> serializers.Field:
        child = StrictCharField(max_length=self.max_length, min_length=1, validators=[not_blank])
        return serializers.ListField(child=child, max_length=self.max_items, allow_empty=True, **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": self.max_length, "pattern": NOT_BLANK_PATTERN},
            "maxItems": self.max_items,
            "description": self.description,
        }


@dataclass(frozen=True)
class Boolean(FieldSpec):
    """True or false; ``must_be_true`` for approvals."""

    must_be_true: bool = False

    def serializer_field(self) -> serializers.Field:
        validators = [must_be_true] if self.must_be_true else []
        return StrictBooleanField(validators=validators, **self._common())

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "boolean", "description": self.description}
        if self.must_be_true:
            schema["enum"] = [True]
        return schema


@dataclass(frozen=True)
class ClockTime(FieldSpec):
    """A 24-hour time of day as ``HH:MM``."""

    def serializer_field(self) -> serializers.Field:
        return StrictCharField(validators=[clock_time], **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": TIME_PATTERN, "description": self.description}


@dataclass(frozen=True)
class ClockTimeList(FieldSpec):
    """Several ``HH:MM`` times."""

    min_items: int = 1
    max_items: int = 10

    def serializer_field(self) -> serializers.Field:
        child = StrictCharField(validators=[clock_time])
        return serializers.ListField(
            child=child, min_length=self.min_items, max_length=self.max_items, **self._common()
        )

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "items": {"type": "string", "pattern": TIME_PATTERN},
            "minItems": self.min_items,
            "maxItems": self.max_items,
            "description": self.description,
        }


@dataclass(frozen=True)
class WeekdayList(FieldSpec):
    """Distinct weekdays, 0 = Monday .. 6 = Sunday."""

    def display(self, value: Any) -> str:
        return ", ".join(WEEKDAY_NAMES[day] for day in value if isinstance(day, int) and 0 <= day <= 6)

    def serializer_field(self) -> serializers.Field:
        child = StrictIntegerField(min_value=0, max_value=6)
        return serializers.ListField(child=child, min_length=1, max_length=7, validators=[distinct], **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": 6},
            "minItems": 1,
            "maxItems": 7,
            "uniqueItems": True,
            "description": self.description,
        }


@dataclass(frozen=True)
class Group(FieldSpec):
    """A nested object of optional or required sub-fields (no other keys)."""

    fields: tuple[FieldSpec, ...] = ()

    def display(self, value: Any) -> str:
        specs = {spec.name: spec for spec in self.fields}
        return ", ".join(
            f"{specs[key].label()} {specs[key].display(item)}" if key in specs else f"{key} {plain_text(item)}"
            for key, item in value.items()
        )

    def serializer_field(self) -> serializers.Field:
        return serializer_class(f"{camel(self.name)}Serializer", self.fields)(**self._common())

    def json_schema(self) -> dict[str, Any]:
        return object_schema(self.fields, description=self.description)


@dataclass(frozen=True)
class Records(FieldSpec):
    """A list of objects, each with the given sub-fields."""

    fields: tuple[FieldSpec, ...] = ()
    min_items: int = 1
    max_items: int = 7

    def serializer_field(self) -> serializers.Field:
        child = serializer_class(f"{camel(self.name)}ItemSerializer", self.fields)()
        return serializers.ListField(
            child=child, min_length=self.min_items, max_length=self.max_items, **self._common()
        )

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "items": object_schema(self.fields),
            "minItems": self.min_items,
            "maxItems": self.max_items,
            "description": self.description,
        }


@dataclass(frozen=True)
class ExerciseName(FieldSpec):
    """An exercise name (free text, short)."""

    def serializer_field(self) -> serializers.Field:
        return StrictCharField(max_length=80, min_length=1, validators=[not_blank], **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": 80,
            "pattern": NOT_BLANK_PATTERN,
            "description": self.description,
        }


@dataclass(frozen=True)
class PlanBasis(FieldSpec):
    """The fingerprint a generated plan carries (see ``workout_plan_basis``)."""

    def serializer_field(self) -> serializers.Field:
        return StrictCharField(validators=[plan_basis], **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": PLAN_BASIS_PATTERN, "description": self.description}


def plain_text(value: Any) -> str:
    """A stored value as a person would read it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(plain_text(item) for item in value) if value else "none"
    if isinstance(value, dict):
        return ", ".join(f"{key.replace('_', ' ')} {plain_text(item)}" for key, item in value.items())
    if isinstance(value, str):
        return value.replace("_", " ")
    return f"{value:g}" if isinstance(value, float) else str(value)


def camel(name: str) -> str:
    """``workout_plan`` -> ``WorkoutPlan``, for generated serializer names (the OpenAPI components)."""
    return "".join(part.capitalize() for part in name.split("_"))


def serializer_class(name: str, specs: tuple[FieldSpec, ...]) -> type[serializers.Serializer]:
    """A strict DRF serializer class named ``name`` with one field per spec."""
    attrs: dict[str, Any] = {spec.name: spec.serializer_field() for spec in specs}
    attrs["__doc__"] = f"Fields of {name.removesuffix('Serializer')}."
    return type(name, (StrictSerializer,), attrs)


def object_schema(specs: tuple[FieldSpec, ...], description: str = "") -> dict[str, Any]:
    """The JSON Schema of an object with one property per spec and no other keys."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {spec.name: spec.json_schema() for spec in specs},
        "required": [spec.name for spec in specs if spec.required],
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def drop_none(data: dict[str, Any]) -> dict[str, Any]:
    """The data without keys whose value is None (an optional field left out)."""
    return {key: value for key, value in data.items() if value is not None}


@cache
def _fields_of(specs: tuple[FieldSpec, ...]) -> dict[str, serializers.Field]:
    return dict(serializer_class("Partial", specs)().fields)


def specs_validate(specs: tuple[FieldSpec, ...], values: Mapping[str, Any]) -> tuple[StepData, FieldErrors]:
    """Validate some of ``specs``' fields one by one: ``(valid values, errors of the rest)``.

    Used for extracted answers, where a message may carry one good and one bad
    value: the good one is kept, the bad one reported. Unknown keys are errors.
    """
    fields = _fields_of(specs)
    valid: StepData = {}
    errors: FieldErrors = {}
    for name, value in values.items():
        if name not in fields:
            errors[name] = ["Unknown field."]
            continue
        try:
            valid[name] = fields[name].run_validation(value)
        except serializers.ValidationError as exc:
            errors.update(flatten_errors(exc.detail, name))
    return drop_none(valid), errors
