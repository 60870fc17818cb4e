"""Strict DRF fields and the validators the field specs attach to them.

DRF would accept "5" for an integer and "true" for a boolean; the JSON Schema the
LLM sees does not, and the two must agree, so these fields reject other JSON types.
Each pattern here has an ECMA-262 twin for the JSON Schema and an anchored Python
regex for validation: the two must judge a value the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

# JSON Schema patterns are ECMA-262. Python's ``$`` also matches before a final newline and its
# ``\d`` any Unicode digit, so validation uses the anchored, ASCII twins below.
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_TIME_RE = re.compile(r"\A([01][0-9]|2[0-3]):[0-5][0-9]\Z")
PLAN_BASIS_PATTERN = r"^[0-9a-f]{16}$"
_PLAN_BASIS_RE = re.compile(r"\A[0-9a-f]{16}\Z")
# Not blank, and no NUL characters (which PostgreSQL text cannot hold and DRF refuses).
NOT_BLANK_PATTERN = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


class StrictIntegerField(serializers.IntegerField):
    """An integer that must arrive as a JSON integer (not a string, float or bool)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            if isinstance(data, float) and data.is_integer():
                data = int(data)
            else:
                self.fail("invalid")
        return int(super().to_internal_value(data))


class StrictFloatField(serializers.FloatField):
    """A number that must arrive as a JSON number."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return float(super().to_internal_value(data))


class StrictBooleanField(serializers.BooleanField):
    """A boolean that must arrive as JSON true/false."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictCharField(serializers.CharField):
    """Text that must arrive as a JSON string, judged as sent (as the JSON Schema judges it), stored trimmed.

    DRF's CharField would turn ``5`` into "5" and check lengths and patterns after trimming
    whitespace; the JSON Schema does neither, and the two must agree.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))

    def run_validation(self, data: Any = serializers.empty) -> Any:
        value = super().run_validation(data)
        return value.strip() if isinstance(value, str) else value


class StrictSerializer(serializers.Serializer):
    """Rejects keys that are not fields, so nothing unknown is ever stored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


def not_blank(value: str) -> None:
    """Refuse text that is only whitespace (or holds a NUL)."""
    if not re.search(NOT_BLANK_PATTERN, value):
        raise serializers.ValidationError("This field may not be blank.")


def clock_time(value: str) -> None:
    """Refuse anything but a 24-hour ``HH:MM``."""
    if not _TIME_RE.match(value):
        raise serializers.ValidationError("Use HH:MM (24-hour).")


def plan_basis(value: str) -> None:
    """Refuse anything but a plan fingerprint (16 lower-case hex digits)."""
    if not _PLAN_BASIS_RE.match(value):
        raise serializers.ValidationError("Must be 16 lower-case hexadecimal digits.")


def must_be_true(value: bool) -> None:
    """Refuse an approval that is not ``true``."""
    if value is not True:
        raise serializers.ValidationError("Must be true: the user has to approve.")


def distinct(values: list[Any]) -> None:
    """Refuse a weekday list that names a day twice."""
    if len(set(values)) != len(values):
        raise serializers.ValidationError("Each weekday may appear only once.")
