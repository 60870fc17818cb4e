"""A user who completes onboarding, by form and by chat: what the tests and the migration check fill it with."""

from __future__ import annotations

from typing import Any

# The nine messages of a terse user, one a step, that the offline engine understands as they are.
TERSE_CHAT = [
    "beginner",
    "none",
    "lose weight",
    "home, 3 days, 30 minutes",
    "yes",
    "I eat everything, no allergies, no intolerances, no dislikes",
    "ok",
    "Mon, Wed, Fri at 7am; meals at 8:00, 13:00 and 19:00",
    "2 liters, no supplements",
]
# What a user says to the summary of every answer that the coach shows before completing.
REVIEW_CONFIRMATION = "yes, that's all correct"


def valid_answers() -> dict[int, dict[str, Any]]:
    """A complete, mutually consistent set of form answers for steps 1-9."""
    from onboarding.plans import workout_plan_generate  # needs the apps loaded: imported when called

    answers: dict[int, dict[str, Any]] = {
        1: {"fitness_level": "intermediate", "experience": {"pushups": 25, "workouts_per_week": 3}},
        2: {"equipment": ["dumbbells", "mat"], "injuries": [], "limitations": []},
        3: {"primary_goal": "muscle_gain", "secondary_goal": "fat_loss", "target_weight_kg": 78.5},
        4: {"location": "home", "days_per_week": 3, "session_minutes": 45},
        6: {"diet_type": "vegetarian", "allergies": ["peanuts"], "intolerances": [], "dislikes": ["olives"]},
        7: {
            "daily_calories": 2600,
            "protein_pct": 30,
            "carbs_pct": 45,
            "fats_pct": 25,
            "meals_per_day": 3,
            "approved": True,
        },
        8: {"workout_days": [0, 2, 4], "workout_time": "18:30", "meal_times": ["07:30", "12:30", "19:00"]},
        9: {"daily_water_ml": 2500, "reminder_every_minutes": 60, "interested_in_supplements": False},
    }
    answers[5] = {"plan": workout_plan_generate(answers), "approved": True}
    return dict(sorted(answers.items()))
