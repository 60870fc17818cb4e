"""Valid answers to build unit-test data from: what a user who finished onboarding said."""

from __future__ import annotations

from typing import Any

from onboarding.plans import meal_plan_suggest, workout_plan_generate
from onboarding.steps import AllStepData, ProposalKind, step_with_proposal


def answers_before_proposals() -> dict[int, dict[str, Any]]:
    """The answers a user gives before any proposal: level, limits, goal, training and diet preferences."""
    return {
        1: {"fitness_level": "intermediate", "experience": {"pushups": 25}},
        2: {"equipment": ["dumbbells", "mat"], "injuries": [], "limitations": []},
        3: {"primary_goal": "muscle_gain", "target_weight_kg": 80},
        4: {"location": "home", "days_per_week": 3, "session_minutes": 45},
        6: {"diet_type": "vegetarian", "allergies": [], "intolerances": [], "dislikes": []},
    }


def answers_complete() -> dict[int, dict[str, Any]]:
    """All nine steps answered, consistent with each other, both proposals approved."""
    answers: dict[int, dict[str, Any]] = answers_before_proposals()
    answers[step_with_proposal(ProposalKind.WORKOUT_PLAN)] = {"plan": workout_plan_generate(answers), "approved": True}
    answers[step_with_proposal(ProposalKind.MEAL_TARGETS)] = {**meal_plan_suggest(answers), "approved": True}
    answers[8] = {
        "workout_days": [0, 2, 4],
        "workout_time": "18:30",
        "meal_times": ["08:00", "12:00", "16:00", "20:00"],
    }
    answers[9] = {"daily_water_ml": 2500, "interested_in_supplements": False}
    return dict(sorted(answers.items()))


def with_answer(answers: AllStepData, number: int, **values: Any) -> dict[int, dict[str, Any]]:
    """``answers`` with some fields of step ``number`` replaced."""
    return {**answers, number: {**answers.get(number, {}), **values}}
