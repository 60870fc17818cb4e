"""Validating with one serializer instance per class judges every body as a fresh serializer does."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from rest_framework import serializers

from agents.serializers import ChatRequestSerializer
from core.validation import serializer_validate
from devtools.sample_answers import valid_answers
from onboarding.steps import step_serializer_class

PLAN = valid_answers()[5]
SESSION = PLAN["plan"]["sessions"][0]
BAD_SESSION = {**SESSION, "weekday": 9, "exercises": [{**SESSION["exercises"][0], "sets": "3", "name": " "}]}
BODIES: list[tuple[type[serializers.Serializer], Any]] = [
    (ChatRequestSerializer, {"message": "  I'm a beginner  ", "step": 1}),
    (ChatRequestSerializer, {"message": "hi", "step": None}),
    (ChatRequestSerializer, {"message": "   "}),
    (ChatRequestSerializer, {"message": 5, "step": 10}),
    (ChatRequestSerializer, {"message": "x" * 2001}),
    (ChatRequestSerializer, {"step": "two"}),
    (ChatRequestSerializer, None),
    (ChatRequestSerializer, ["hi"]),
    (ChatRequestSerializer, "hi"),
    (step_serializer_class(1), {"fitness_level": "beginner", "experience": {"pushups": 10}}),
    (step_serializer_class(1), {"fitness_level": "expert", "experience": {"pushups": -1, "other": 1}}),
    (step_serializer_class(2), {"equipment": [], "injuries": [" ", "knee"], "limitations": ["x" * 101]}),
    (step_serializer_class(5), PLAN),
    (step_serializer_class(5), {**PLAN, "approved": False, "plan": [{"day": 9}]}),
    (step_serializer_class(5), {**PLAN, "plan": {**PLAN["plan"], "sessions": [SESSION, BAD_SESSION]}}),
    (step_serializer_class(8), {"workout_days": [0, 0], "workout_time": "25:00", "meal_times": "08:00"}),
    (step_serializer_class(9), {"daily_water_ml": True, "unknown": 1}),
    (step_serializer_class(9), None),
]


def _fresh(serializer_class: type[serializers.Serializer], data: Any) -> tuple[Any, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid()
    return serializer.validated_data, serializer.errors


@pytest.mark.parametrize(("serializer_class", "data"), BODIES)
def test_a_shared_serializer_judges_a_body_as_a_fresh_one(
    serializer_class: type[serializers.Serializer], data: Any
) -> None:
    # Given the shared instance used before, on another body
    serializer_validate(serializer_class, {"message": "first", "fitness_level": "advanced"})

    # When a body is validated
    validated, errors = serializer_validate(serializer_class, data)

    # Then the values and errors (messages and codes) are those of a fresh serializer
    fresh_validated, fresh_errors = _fresh(serializer_class, data)
    assert validated == fresh_validated
    assert errors == fresh_errors
    assert serializers.ValidationError(errors).get_codes() == serializers.ValidationError(fresh_errors).get_codes()


def test_threads_validating_at_once_each_get_their_own_answer() -> None:
    # Given bodies valid and not, for one serializer class
    bodies = [{"message": f"message {n}"} if n % 2 else {"message": ""} for n in range(200)]
    results: dict[int, tuple[Any, Any]] = {}

    # When eight threads validate them at once
    def validate(indexes: range) -> None:
        for index in indexes:
            results[index] = serializer_validate(ChatRequestSerializer, bodies[index])

    threads = [threading.Thread(target=validate, args=(range(start, 200, 8),)) for start in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then each answer is the one for its own body
    for index, body in enumerate(bodies):
        assert results[index] == _fresh(ChatRequestSerializer, body)
