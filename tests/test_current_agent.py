"""``GET onboarding/current-agent`` as the deployment guide shows it: a compact summary per agent, an explicit end.

The guide's example reply carries ``"context_summary": {"fitness_assessment": {"pushups": 10,
"experience": "beginner"}}``: flat, named, readable values. These tests hold the summary to
that for every agent, whether an answer was saved by form or is still being collected in the
chat, and check what the reply says once onboarding is complete.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from rest_framework.test import APIClient

from agents.context_summary import context_summary_schema
from tests.conftest import valid_answers

CURRENT_AGENT = "/api/v1/onboarding/current-agent"
CHAT = "/api/v1/onboarding/chat"

# What each agent's summary says once ``valid_answers()`` is saved: steps 1-9, by form.
SUMMARY_OF_VALID_ANSWERS: dict[str, dict[str, Any]] = {
    "fitness_assessment": {
        "fitness_level": "intermediate",
        "pushups": 25,
        "workouts_per_week": 3,
        "equipment": ["dumbbells", "mat"],
        "injuries": [],
        "limitations": [],
    },
    "goal_setting": {"primary_goal": "muscle_gain", "secondary_goal": "fat_loss", "target_weight_kg": 78.5},
    "workout_planning": {
        "location": "home",
        "days_per_week": 3,
        "session_minutes": 45,
        "workout_plan": [
            "Monday: push, 45 minutes",
            "Wednesday: pull, 45 minutes",
            "Friday: legs, 45 minutes",
        ],
        "workout_plan_approved": True,
    },
    "diet_planning": {
        "diet_type": "vegetarian",
        "allergies": ["peanuts"],
        "intolerances": [],
        "dislikes": ["olives"],
        "daily_calories": 2600,
        "protein_pct": 30,
        "carbs_pct": 45,
        "fats_pct": 25,
        "meals_per_day": 3,
        "meal_plan_approved": True,
    },
    "scheduling": {
        "workout_days": ["Monday", "Wednesday", "Friday"],
        "workout_time": "18:30",
        "meal_times": ["07:30", "12:30", "19:00"],
        "daily_water_ml": 2500,
        "reminder_every_minutes": 60,
        "interested_in_supplements": False,
    },
}
# The steps each agent owns.
AGENT_STEPS = {
    "fitness_assessment": (1, 2),
    "goal_setting": (3,),
    "workout_planning": (4, 5),
    "diet_planning": (6, 7),
    "scheduling": (8, 9),
}


def _submit(client: APIClient, steps: range | tuple[int, ...]) -> None:
    answers = valid_answers()
    for step in steps:
        response = client.post("/api/v1/onboarding/step", {"step": step, "data": answers[step]}, format="json")
        assert response.status_code == 200, response.json()


def _assert_flat(summary: dict[str, dict[str, Any]]) -> None:
    """Every value is a scalar or a list of scalars: nothing nested, nothing a person cannot read at a glance."""
    for memory in summary.values():
        for key, value in memory.items():
            items = value if isinstance(value, list) else [value]
            assert all(isinstance(item, str | int | float | bool) for item in items), (key, value)


def test_the_guide_s_example_a_beginner_with_10_push_ups(started: APIClient) -> None:
    # given: a new user, who has collected nothing yet
    before = started.get(CURRENT_AGENT).json()

    # when: they tell the coach their level and push-ups
    assert started.post(CHAT, {"message": "I'm a beginner, I can do 10 push-ups"}, format="json").status_code == 200
    after = started.get(CURRENT_AGENT).json()

    # then
    assert before == {
        "agent_type": "FITNESS_ASSESSMENT",
        "current_step": 1,
        "agent_description": "I'll help assess your current fitness level",
        "state": "in_progress",
        "context_summary": {},
    }
    assert after["current_step"] == 2
    assert after["context_summary"] == {"fitness_assessment": {"fitness_level": "beginner", "pushups": 10}}


def test_values_still_being_collected_in_the_chat_are_in_the_summary(started: APIClient) -> None:
    # given: step 1 saved by form
    _submit(started, (1,))

    # when: the chat collects half of step 2 (equipment, but not yet injuries or limitations)
    reply = started.post(CHAT, {"message": "I have dumbbells and a mat"}, format="json").json()
    summary = started.get(CURRENT_AGENT).json()["context_summary"]

    # then: step 2 is not saved, but the summary already shows what was said
    assert reply["step_complete"] is False
    assert summary == {
        "fitness_assessment": {
            "fitness_level": "intermediate",
            "pushups": 25,
            "workouts_per_week": 3,
            "equipment": ["dumbbells", "mat"],
        }
    }


@pytest.mark.parametrize("agent", list(SUMMARY_OF_VALID_ANSWERS))
def test_each_agent_s_summary_is_flat_named_and_readable(started: APIClient, agent: str) -> None:
    # given: every step up to the agent's last one answered by form
    _submit(started, range(1, AGENT_STEPS[agent][-1] + 1))

    # when
    summary = started.get(CURRENT_AGENT).json()["context_summary"]

    # then: the agent's summary names each value, with weekdays by name and the plan as one line a session
    assert summary[agent] == SUMMARY_OF_VALID_ANSWERS[agent]
    _assert_flat(summary)


def test_the_summary_never_carries_the_whole_workout_plan(started: APIClient) -> None:
    # given: steps 1-5 answered, the approved plan with its exercises and fingerprint saved
    _submit(started, range(1, 6))
    plan = valid_answers()[5]["plan"]

    # when
    response = started.get(CURRENT_AGENT)

    # then: no exercise, no fingerprint, a fraction of the plan's size
    body = response.content.decode()
    assert plan["basis"] not in body
    assert plan["sessions"][0]["exercises"][0]["name"] not in body
    summarised = json.dumps(response.json()["context_summary"]["workout_planning"]["workout_plan"])
    assert len(summarised) < len(json.dumps(plan)) / 4


def test_every_step_answered_awaits_confirmation(started: APIClient) -> None:
    # given: all nine steps answered by form, onboarding not yet completed
    _submit(started, range(1, 10))

    # when
    body = started.get(CURRENT_AGENT).json()

    # then: the scheduling agent holds the summary until the user confirms it
    assert body["state"] == "awaiting_confirmation"
    assert body["agent_type"] == "SCHEDULING"
    assert body["context_summary"] == SUMMARY_OF_VALID_ANSWERS


def test_after_completion_the_reply_says_so(started: APIClient) -> None:
    # given: all nine steps answered and onboarding completed
    _submit(started, range(1, 10))
    assert started.post("/api/v1/onboarding/complete").status_code == 200

    # when
    body = started.get(CURRENT_AGENT).json()

    # then: no agent at work, an explicit state, and the summary of everything collected
    assert body == {
        "agent_type": None,
        "current_step": 9,
        "agent_description": None,
        "state": "completed",
        "context_summary": SUMMARY_OF_VALID_ANSWERS,
    }


def test_the_summary_matches_its_published_schema() -> None:
    # given: the schema the OpenAPI document publishes for context_summary
    schema = context_summary_schema()

    # then: a full summary validates, and a nested value or an unknown key does not
    jsonschema.validate(SUMMARY_OF_VALID_ANSWERS, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"workout_planning": {"plan": {"sessions": []}}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"fitness_assessment": {"experience": {"pushups": 10}}}, schema)


def test_the_openapi_schema_marks_the_fields_null_after_completion_and_the_state(api: APIClient) -> None:
    # when
    component = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["components"]["schemas"]["CurrentAgent"]

    # then
    properties = component["properties"]
    assert properties["agent_type"]["nullable"] is True
    assert properties["agent_description"]["nullable"] is True
    assert "nullable" not in properties["current_step"]
    assert properties["state"]["allOf"] == [{"$ref": "#/components/schemas/OnboardingStageEnum"}]
    assert set(properties["context_summary"]["properties"]) == set(SUMMARY_OF_VALID_ANSWERS)
    assert set(component["required"]) == {"agent_type", "current_step", "agent_description", "state", "context_summary"}
