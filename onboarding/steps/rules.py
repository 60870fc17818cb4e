"""Cross-step rules: checks a step's answer must pass that a per-field spec cannot say.

A rule lives with the step whose data it constrains (``StepDefinition.rules`` in the
catalogue) and gets ``(this step's data, every step's data)``. It returns errors by field
for the values present, so a partial answer can already break one. Rules name the other
steps' fields, never their numbers: the catalogue says which step owns a field.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable
from typing import Any

from core.errors import FieldErrors
from onboarding.steps.specs import AllStepData, StepData
from onboarding.steps.strict import TIME_PATTERN

CrossStepRule = Callable[[StepData, AllStepData], FieldErrors]

MEAL_GAP_MINUTES = 120
MACRO_FIELDS = ("protein_pct", "carbs_pct", "fats_pct")
# The answers a workout plan is built from: level, equipment, injuries, limitations, goal,
# location, days and minutes.
PLAN_INPUTS = (
    "fitness_level",
    "equipment",
    "injuries",
    "limitations",
    "primary_goal",
    "location",
    "days_per_week",
    "session_minutes",
)


def _step_of_field(name: str) -> int:
    # The catalogue imports these rules to attach them to its steps, so the owner of a field
    # is looked up when a rule runs, not when this module loads.
    from onboarding.steps.catalogue import step_of_field

    return step_of_field(name)


def secondary_goal_differs(data: StepData, _: AllStepData) -> FieldErrors:
    """The secondary goal, when given, is not the primary one again."""
    secondary = data.get("secondary_goal")
    if secondary is not None and secondary == data.get("primary_goal"):
        return {"secondary_goal": ["Must differ from the primary goal."]}
    return {}


def macros_sum_to_100(data: StepData, _: AllStepData) -> FieldErrors:
    """Protein, carbs and fat shares add up to 100 % once all three are given."""
    parts = [data.get(name) for name in MACRO_FIELDS]
    if all(isinstance(part, int) for part in parts) and sum(parts) != 100:  # type: ignore[arg-type]
        return {"non_field_errors": [f"protein_pct + carbs_pct + fats_pct must be 100 (it is {sum(parts)})."]}  # type: ignore[arg-type]
    return {}


def workout_days_match_days_per_week(data: StepData, other: AllStepData) -> FieldErrors:
    """One training weekday per training day the user asked for."""
    days = data.get("workout_days")
    owner = _step_of_field("days_per_week")
    wanted = other.get(owner, {}).get("days_per_week")
    if isinstance(days, list) and isinstance(wanted, int) and len(days) != wanted:
        message = f"Choose exactly {wanted} days, as many as your training days per week, not {len(days)}."
        return {"workout_days": [message]}
    return {}


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def meal_times_fit(data: StepData, other: AllStepData) -> FieldErrors:
    """One meal time per meal, ascending and at least two hours apart."""
    times = data.get("meal_times")
    if not isinstance(times, list) or not all(isinstance(t, str) and re.match(TIME_PATTERN, t) for t in times):
        return {}
    errors: list[str] = []
    owner = _step_of_field("meals_per_day")
    meals = other.get(owner, {}).get("meals_per_day")
    if isinstance(meals, int) and len(times) != meals:
        errors.append(f"Give one time per meal: {meals} meals a day, not {len(times)} times.")
    minutes = [_minutes(t) for t in times]
    if any(later - earlier < MEAL_GAP_MINUTES for earlier, later in itertools.pairwise(minutes)):
        errors.append("Meal times must be in ascending order and at least 2 hours apart.")
    return {"meal_times": errors} if errors else {}


def workout_plan_basis(steps: AllStepData) -> str:
    """A fingerprint of the answers a workout plan is built from (``PLAN_INPUTS``).

    The plan carries it, so a plan made before the user changed one of those
    answers (a new injury, fewer days) is seen as out of date, not as approved.
    Plans already saved carry it too: the JSON hashed here must not change shape.
    """
    inputs: dict[str, list[Any]] = {}
    for name in PLAN_INPUTS:
        owner = _step_of_field(name)
        inputs.setdefault(str(owner), []).append(steps.get(owner, {}).get(name))
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def plan_fits_answers(data: StepData, other: AllStepData) -> FieldErrors:
    """The plan was built from today's answers, with at most one session a weekday."""
    plan = data.get("plan")
    if not isinstance(plan, dict):
        return {}
    if plan.get("basis") != workout_plan_basis(other):
        owners = sorted({_step_of_field(name) for name in PLAN_INPUTS})
        answers = f"steps {owners[0]}-{owners[-1]}"
        return {"plan": [f"The plan was made for different answers in {answers}; review the updated plan."]}
    weekdays = [session.get("weekday") for session in plan.get("sessions", [])]
    if len(set(weekdays)) != len(weekdays):
        return {"plan": ["Each weekday may hold only one session."]}
    return {}
