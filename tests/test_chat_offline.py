"""The chat with the offline engine: five differently-worded users finish onboarding over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from devtools.sample_answers import REVIEW_CONFIRMATION, TERSE_CHAT
from onboarding.models import OnboardingState
from tests.conftest import client_for, parse_sse

CHAT = "/api/v1/onboarding/chat"
CONFIRM = REVIEW_CONFIRMATION

# Each user: the messages they send, and the step data that must be saved.
USERS: dict[str, dict[str, Any]] = {
    "terse": {
        "messages": TERSE_CHAT,
        "expected": {
            1: {"fitness_level": "beginner"},
            2: {"equipment": [], "injuries": [], "limitations": []},
            3: {"primary_goal": "fat_loss"},
            4: {"location": "home", "days_per_week": 3, "session_minutes": 30},
            6: {"diet_type": "omnivore", "allergies": [], "intolerances": [], "dislikes": []},
            8: {"workout_days": [0, 2, 4], "workout_time": "07:00", "meal_times": ["08:00", "13:00", "19:00"]},
            9: {"daily_water_ml": 2000, "interested_in_supplements": False},
        },
    },
    "chatty": {
        "messages": [
            "Hi! I'd say I'm moderately active - I can do about twenty five push-ups and I work out twice a week",
            "I've got a pair of dumbbells and resistance bands. I have a bad knee but no other limitations",
            "Mainly I want to build muscle, and maybe lose a bit of fat too. Target weight 82 kg",
            "I'll train at the gym, four days a week, an hour each time",
            "Looks good to me!",
            "I'm vegetarian, lactose intolerant, no allergies, and I really don't like mushrooms",
            "Sounds great",
            "Monday, Tuesday, Thursday and Friday at 6:30 pm. Breakfast at 7, lunch at 12:30, a snack at 4pm "
            "and dinner at 7pm",
            "Three liters a day, remind me every 2 hours, and yes I'm interested in supplements",
        ],
        "expected": {
            1: {"fitness_level": "intermediate", "experience": {"pushups": 25, "workouts_per_week": 2}},
            3: {"primary_goal": "muscle_gain", "secondary_goal": "fat_loss", "target_weight_kg": 82.0},
            4: {"location": "gym", "days_per_week": 4, "session_minutes": 60},
            8: {
                "workout_days": [0, 1, 3, 4],
                "workout_time": "18:30",
                "meal_times": ["07:00", "12:30", "16:00", "19:00"],
            },
            9: {"daily_water_ml": 3000, "reminder_every_minutes": 120, "interested_in_supplements": True},
        },
    },
    "plant_based": {
        "messages": [
            "I'm an athlete, I train hard",
            "full gym access, no injuries, no limitations",
            "general fitness",
            "outdoors, five days a week, 45 min",
            "approve",
            "plant-based, allergic to peanuts and shellfish, no intolerances, I hate olives",
            "perfect",
            "weekdays at 6am, meals at 7:00, 13:00 and 19:00",
            "2.5 l of water",
            "not interested in supplements",
        ],
        "expected": {
            1: {"fitness_level": "advanced"},
            3: {"primary_goal": "general_fitness"},
            4: {"location": "outdoor", "days_per_week": 5, "session_minutes": 45},
            6: {
                "diet_type": "vegan",
                "allergies": ["peanuts", "shellfish"],
                "intolerances": [],
                "dislikes": ["olives"],
            },
            8: {
                "workout_days": [0, 1, 2, 3, 4],
                "workout_time": "06:00",
                "meal_times": ["07:00", "13:00", "19:00"],
            },
            9: {"daily_water_ml": 2500, "interested_in_supplements": False},
        },
    },
    "corrector": {
        "messages": [
            "I'm a total newbie",
            "no equipment, no injuries and no limitations",
            "I want to bulk",
            "at home, 2 days a week, 90 minutes",
            "make it 3 days",
            "looks good",
            "pescatarian, no allergies, no intolerances, no dislikes",
            "2500 calories, 30% protein, 45% carbs, 25% fat, 3 meals",
            "looks good",
            "Tuesday, Thursday and Saturday at 18:00; breakfast at 8, lunch at 13:00, dinner at 19:30",
            "3000 ml, remind me every 45 minutes, no supplements",
        ],
        "expected": {
            1: {"fitness_level": "beginner"},
            3: {"primary_goal": "muscle_gain"},
            4: {"location": "home", "days_per_week": 3, "session_minutes": 90},
            7: {
                "daily_calories": 2500,
                "protein_pct": 30,
                "carbs_pct": 45,
                "fats_pct": 25,
                "meals_per_day": 3,
                "approved": True,
            },
            8: {"workout_days": [1, 3, 5], "workout_time": "18:00", "meal_times": ["08:00", "13:00", "19:30"]},
            9: {"daily_water_ml": 3000, "reminder_every_minutes": 45, "interested_in_supplements": False},
        },
    },
    "keto_weekender": {
        "messages": [
            "advanced",
            "I have a barbell and a bench. no injuries. no limitations",
            "burn fat, get down to 15% body fat",
            "gym, 2 days a week, 75 minutes",
            "swap Monday for upper body",
            "sounds good",
            "keto, no allergies, no intolerances, I dislike broccoli",
            "sure",
            "weekends at 10am, meals at 9:00 and 15:00 and 20:00",
            "drink 3.5 liters, remind me every hour, I already take creatine and I'm not interested in more",
        ],
        "expected": {
            1: {"fitness_level": "advanced"},
            3: {"primary_goal": "fat_loss", "target_body_fat_percentage": 15.0},
            4: {"location": "gym", "days_per_week": 2, "session_minutes": 75},
            6: {"diet_type": "keto", "allergies": [], "intolerances": [], "dislikes": ["broccoli"]},
            8: {"workout_days": [5, 6], "workout_time": "10:00", "meal_times": ["09:00", "15:00", "20:00"]},
        },
    },
}


def walk(client: APIClient, messages: list[str]) -> list[dict[str, Any]]:
    replies = []
    for message in messages:
        response = client.post(CHAT, {"message": message}, format="json")
        assert response.status_code == 200, (message, response.json())
        replies.append(response.json())
    return replies


@pytest.mark.parametrize("name", list(USERS))
def test_a_user_finishes_onboarding_by_chatting(name: str, make_user: Any) -> None:
    # Given a user who has started onboarding
    client = client_for(make_user(f"{name}@example.com"))
    client.post("/api/v1/onboarding/start")

    # When they chat through every step in their own words, and confirm the summary
    replies = walk(client, [*USERS[name]["messages"], CONFIRM])

    # Then every answer is saved as they meant it, and onboarding is complete
    state = OnboardingState.objects.get()
    review = replies[-2]
    assert review["awaiting_confirmation"] is True, [r["message"] for r in replies]
    assert review["next_action"] == "continue"
    assert "Here is everything you told me" in review["message"]
    assert replies[-1]["next_action"] == "complete_onboarding", [r["message"] for r in replies]
    assert state.is_complete is True
    for step, expected in USERS[name]["expected"].items():
        assert state.step_data[str(step)] == expected, (step, state.step_data[str(step)])
    assert state.step_data["5"]["approved"] is True
    assert len(state.step_data["5"]["plan"]["sessions"]) == state.step_data["4"]["days_per_week"]
    assert state.step_data["7"]["approved"] is True
    pct = state.step_data["7"]
    assert pct["protein_pct"] + pct["carbs_pct"] + pct["fats_pct"] == 100
    assert len(state.conversation_history) == 2 * (len(USERS[name]["messages"]) + 1)


def test_plan_adjustments_are_applied_before_approval(make_user: Any) -> None:
    client = client_for(make_user())
    client.post("/api/v1/onboarding/start")
    walk(client, USERS["keto_weekender"]["messages"][:4])

    reply = walk(client, ["swap Monday for upper body"])[0]
    unknown_day = walk(client, ["make Wednesday cardio"])[0]

    assert reply["step_complete"] is False
    sessions = OnboardingState.objects.get().agent_context["workout_planning"]["plan"]["sessions"]
    assert sessions[0]["weekday"] == 0
    assert sessions[0]["focus"] == "upper_body"
    assert "Monday: upper body" in reply["message"]
    assert "no session on Wednesday" in unknown_day["message"]


def test_make_it_n_days_changes_the_preferences_too(make_user: Any) -> None:
    client = client_for(make_user())
    client.post("/api/v1/onboarding/start")
    walk(client, USERS["corrector"]["messages"][:5])

    state = OnboardingState.objects.get()
    assert state.step_data["4"]["days_per_week"] == 3
    assert len(state.agent_context["workout_planning"]["plan"]["sessions"]) == 3


def test_changing_one_macro_rebalances_the_others(make_user: Any) -> None:
    client = client_for(make_user())
    client.post("/api/v1/onboarding/start")
    walk(client, USERS["terse"]["messages"][:6])

    reply = walk(client, ["40% protein please"])[0]

    memory = OnboardingState.objects.get().agent_context["diet_planning"]
    assert memory["protein_pct"] == 40
    assert memory["protein_pct"] + memory["carbs_pct"] + memory["fats_pct"] == 100
    assert reply["step_complete"] is False
    assert "40% protein" in reply["message"]


def test_out_of_range_values_are_refused_by_name(started: APIClient) -> None:
    walk(started, USERS["terse"]["messages"][:3])

    reply = walk(started, ["at home, 12 days a week, 45 minutes"])[0]

    state = OnboardingState.objects.get()
    assert reply["errors"] == {"days_per_week": ["Ensure this value is less than or equal to 7."]}
    assert "days per week has to be between 2 and 7" in reply["message"]
    assert reply["saved"] == {"location": "home", "session_minutes": 45}
    assert "4" not in state.step_data
    assert "how many days a week" in reply["message"]


def test_the_agent_asks_for_what_is_missing(started: APIClient) -> None:
    reply = walk(started, ["hello there"])[0]

    assert reply["next_action"] == "continue"
    assert "fitness level" in reply["message"]


def test_an_off_topic_question_gets_a_short_answer_and_the_pending_question(started: APIClient) -> None:
    reply = walk(started, ["What's the best protein powder?"])[0]

    assert reply["saved"] == {}
    assert "fitness level" in reply["message"]


def test_correcting_an_earlier_step_by_naming_it(started: APIClient) -> None:
    walk(started, USERS["terse"]["messages"][:3])

    response = started.post(CHAT, {"message": "actually I'm intermediate", "step": 1}, format="json").json()

    state = OnboardingState.objects.get()
    assert response["current_step"] == 1
    assert response["step_complete"] is True
    assert response["next_step"] == 4
    assert state.step_data["1"] == {"fitness_level": "intermediate"}
    assert state.current_step == 4


def test_a_later_step_is_409(started: APIClient) -> None:
    response = started.post(CHAT, {"message": "gym", "step": 4}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "step_not_reachable"


def test_chat_after_completion_is_409(make_user: Any) -> None:
    client = client_for(make_user())
    client.post("/api/v1/onboarding/start")
    walk(client, [*USERS["terse"]["messages"], CONFIRM])

    response = client.post(CHAT, {"message": "hi again"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "onboarding_complete"


def test_chat_before_start_is_404(api: APIClient) -> None:
    response = api.post(CHAT, {"message": "hi"}, format="json")

    assert response.status_code == 404
    assert response.json()["detail"] == "Onboarding state not found"


@pytest.mark.parametrize(
    "body",
    [{}, {"message": ""}, {"message": "   "}, {"message": "x" * 2001}, {"message": "hi", "step": 10}, {"message": 5}],
)
def test_bad_bodies_are_422(started: APIClient, body: dict) -> None:
    response = started.post(CHAT, body, format="json")

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_a_2000_character_message_is_accepted_after_trimming(started: APIClient) -> None:
    response = started.post(CHAT, {"message": "  " + "a" * 2000 + "  "}, format="json")

    assert response.status_code == 200


def test_current_agent_follows_the_user(started: APIClient) -> None:
    before = started.get("/api/v1/onboarding/current-agent").json()
    walk(started, USERS["terse"]["messages"][:2])
    after = started.get("/api/v1/onboarding/current-agent").json()

    assert before == {
        "agent_type": "FITNESS_ASSESSMENT",
        "current_step": 1,
        "agent_description": "I'll help assess your current fitness level",
        "state": "in_progress",
        "context_summary": {},
    }
    assert after["agent_type"] == "GOAL_SETTING"
    assert after["agent_description"] == "Let's define your fitness goals"
    assert after["context_summary"]["fitness_assessment"]["fitness_level"] == "beginner"


def test_current_agent_needs_a_started_onboarding_and_a_token(api: APIClient, anon: APIClient) -> None:
    assert api.get("/api/v1/onboarding/current-agent").status_code == 404
    assert anon.get("/api/v1/onboarding/current-agent").status_code == 401


def test_streaming_offline_gives_the_same_result_as_chat(started: APIClient) -> None:
    response = started.post(f"{CHAT}/stream", {"message": "I'm a beginner"}, format="json")
    events = parse_sse(response)

    (done,) = [data for name, data in events if name == "done"]
    assert "".join(data["text"] for name, data in events if name == "delta") == done["message"]
    assert done["step_complete"] is True
    assert OnboardingState.objects.get().step_data["1"] == {"fitness_level": "beginner"}


def test_streaming_errors_before_the_stream_are_plain_errors(api: APIClient) -> None:
    response = api.post(f"{CHAT}/stream", {"message": "hi"}, format="json", HTTP_ACCEPT="text/event-stream")

    assert response.status_code == 404
    assert b"event: error" in response.content


def test_the_terminal_chat_walks_a_user_through(db: None, monkeypatch: Any, capsys: Any) -> None:
    import io
    import sys

    from django.core.management import call_command

    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join([*USERS["terse"]["messages"], CONFIRM]) + "\n"))

    call_command("onboarding_chat", "--email", "term@example.com", "--create")

    out = capsys.readouterr().out
    assert "Created user term@example.com" in out
    assert "Onboarding complete." in out
    assert OnboardingState.objects.get(user__email="term@example.com").is_complete


def test_the_terminal_chat_needs_an_existing_user_without_create(db: None) -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--create"):
        call_command("onboarding_chat", "--email", "nobody@example.com")
