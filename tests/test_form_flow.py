"""The form flow: start, state, step, progress, complete, export, erase."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from accounts.models import User
from onboarding.models import OnboardingState
from shuren.warmup import serving_warm_up
from tests.conftest import client_for, containers_holding

BASE = "/api/v1/onboarding"


def submit(client: APIClient, step: int, data: Any) -> Any:
    return client.post(f"{BASE}/step", {"step": step, "data": data}, format="json")


def test_start_creates_state_at_step_one_then_returns_it(api: APIClient) -> None:
    first = api.post(f"{BASE}/start")
    again = api.post(f"{BASE}/start")

    assert first.status_code == 201
    assert first.json()["current_step"] == 1
    assert first.json()["is_complete"] is False
    assert first.json()["current_agent"] == "FITNESS_ASSESSMENT"
    assert again.status_code == 200
    assert OnboardingState.objects.count() == 1


def test_state_before_start_is_404_with_the_documented_message(api: APIClient) -> None:
    response = api.get(f"{BASE}/state")

    assert response.status_code == 404
    assert response.json() == {"detail": "Onboarding state not found", "code": "onboarding_not_started"}


def test_submitting_every_step_in_order_completes_onboarding(started: APIClient, answers: dict) -> None:
    for step, data in answers.items():
        response = submit(started, step, data)
        assert response.status_code == 200, response.json()
        assert response.json()["current_step"] == min(step + 1, 9)

    progress = started.get(f"{BASE}/progress").json()
    done = started.post(f"{BASE}/complete")

    assert progress["completed_steps"] == list(range(1, 10))
    assert progress["percentage"] == 100
    assert progress["next_step"] is None
    assert done.status_code == 200
    assert done.json()["is_complete"] is True
    state = started.get(f"{BASE}/state").json()
    assert state["step_data"]["8"] == answers[8]
    assert state["step_data"]["3"]["target_weight_kg"] == 78.5


def test_invalid_values_give_422_with_per_field_errors_and_save_nothing(started: APIClient) -> None:
    response = submit(started, 1, {"fitness_level": "superhuman", "experience": {"pushups": 9000}})

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["errors"]) == {"fitness_level", "experience.pushups"}
    assert started.get(f"{BASE}/state").json()["step_data"] == {}


def test_unknown_fields_are_rejected(started: APIClient) -> None:
    response = submit(started, 1, {"fitness_level": "beginner", "is_admin": True})

    assert response.status_code == 422
    assert "is_admin" in response.json()["errors"]


@pytest.mark.parametrize("step", [0, 10, -1, "two"])
def test_step_number_outside_one_to_nine_is_422(started: APIClient, step: Any) -> None:
    response = submit(started, step, {})

    assert response.status_code == 422
    assert "step" in response.json()["errors"]


def test_a_step_beyond_the_next_one_is_409(started: APIClient, answers: dict) -> None:
    response = submit(started, 3, answers[3])

    assert response.status_code == 409
    assert response.json()["code"] == "step_not_reachable"


def test_correcting_an_earlier_step_keeps_current_step(started: APIClient, answers: dict) -> None:
    for step in (1, 2, 3):
        submit(started, step, answers[step])

    response = submit(started, 1, {"fitness_level": "advanced"})

    assert response.status_code == 200
    assert response.json()["current_step"] == 4
    assert response.json()["step_data"]["1"] == {"fitness_level": "advanced"}


def test_cross_step_rule_workout_days_must_match_days_per_week(started: APIClient, answers: dict) -> None:
    for step in range(1, 8):
        submit(started, step, answers[step])

    response = submit(started, 8, {**answers[8], "workout_days": [0, 1]})

    assert response.status_code == 422
    assert "workout_days" in response.json()["errors"]


def test_meal_times_must_be_ascending_and_two_hours_apart(started: APIClient, answers: dict) -> None:
    for step in range(1, 8):
        submit(started, step, answers[step])

    response = submit(started, 8, {**answers[8], "meal_times": ["07:00", "08:30", "19:00"]})

    assert response.status_code == 422
    assert "2 hours apart" in response.json()["errors"]["meal_times"][0]


def test_macros_must_sum_to_100(started: APIClient, answers: dict) -> None:
    for step in range(1, 7):
        submit(started, step, answers[step])

    response = submit(started, 7, {**answers[7], "fats_pct": 30})

    assert response.status_code == 422
    assert "must be 100" in response.json()["errors"]["non_field_errors"][0]


def test_complete_with_missing_steps_is_409_naming_them(started: APIClient, answers: dict) -> None:
    submit(started, 1, answers[1])

    response = started.post(f"{BASE}/complete")

    assert response.status_code == 409
    assert response.json()["code"] == "steps_incomplete"
    assert set(response.json()["errors"]) == {f"step_{n}" for n in range(2, 10)}


def test_complete_twice_is_409(started: APIClient, answers: dict) -> None:
    for step, data in answers.items():
        submit(started, step, data)
    started.post(f"{BASE}/complete")

    again = started.post(f"{BASE}/complete")
    late_edit = submit(started, 1, answers[1])

    assert again.status_code == 409
    assert again.json()["code"] == "onboarding_complete"
    assert late_edit.status_code == 409


def test_progress_names_the_next_step_and_its_fields(started: APIClient, answers: dict) -> None:
    for step in range(1, 5):
        submit(started, step, answers[step])

    progress = started.get(f"{BASE}/progress").json()

    assert progress["completed_steps"] == [1, 2, 3, 4]
    assert progress["percentage"] == 44
    assert progress["next_step"]["name"] == "workout_plan"
    assert progress["next_step"]["fields"]["required"] == ["plan", "approved"]
    assert progress["next_step"]["suggestion"]["plan"] == answers[5]["plan"]


def test_changing_days_per_week_makes_the_schedule_incomplete_again(started: APIClient, answers: dict) -> None:
    for step, data in answers.items():
        submit(started, step, data)

    submit(started, 4, {**answers[4], "days_per_week": 4})
    progress = started.get(f"{BASE}/progress").json()

    assert 5 not in progress["completed_steps"]
    assert 8 not in progress["completed_steps"]
    assert started.post(f"{BASE}/complete").status_code == 409


def test_export_returns_everything_stored(started: APIClient, answers: dict, user: User) -> None:
    submit(started, 1, answers[1])

    export = started.get(f"{BASE}/export").json()

    assert export["user"] == {"id": user.pk, "email": "alice@example.com"}
    assert export["onboarding"]["step_data"] == {"1": answers[1]}
    assert export["onboarding"]["conversation_history"] == []
    assert export["onboarding"]["agent_context"] == {}


def test_delete_erases_the_state(started: APIClient, answers: dict) -> None:
    submit(started, 1, answers[1])

    response = started.delete(BASE)

    assert response.status_code == 204
    assert OnboardingState.objects.count() == 0
    assert started.get(f"{BASE}/state").status_code == 404
    assert started.delete(BASE).status_code == 404


def test_deleting_the_user_cascades(started: APIClient, user: User) -> None:
    user.delete()

    assert OnboardingState.objects.count() == 0


ENDPOINTS = [
    ("post", f"{BASE}/start"),
    ("get", f"{BASE}/state"),
    ("post", f"{BASE}/step"),
    ("get", f"{BASE}/progress"),
    ("post", f"{BASE}/complete"),
    ("get", f"{BASE}/export"),
    ("delete", BASE),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_every_endpoint_needs_a_token(anon: APIClient, method: str, url: str, db: None) -> None:
    response = getattr(anon, method)(url, {}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_user_b_never_sees_or_changes_user_a(started: APIClient, make_user: Any, answers: dict) -> None:
    submit(started, 1, answers[1])
    bob = client_for(make_user("bob@example.com"))

    assert bob.get(f"{BASE}/state").status_code == 404
    assert bob.get(f"{BASE}/export").status_code == 404
    assert bob.get(f"{BASE}/progress").status_code == 404
    assert submit(bob, 1, {"fitness_level": "beginner"}).status_code == 404
    assert bob.delete(BASE).status_code == 404
    bob.post(f"{BASE}/start")
    submit(bob, 1, {"fitness_level": "beginner"})

    alice_state = started.get(f"{BASE}/state").json()
    assert alice_state["step_data"] == {"1": answers[1]}
    assert OnboardingState.objects.count() == 2


def test_clients_cannot_write_protected_fields_through_a_step(started: APIClient) -> None:
    response = submit(started, 1, {"fitness_level": "beginner", "current_step": 9, "is_complete": True})

    assert response.status_code == 422
    state = OnboardingState.objects.get()
    assert (state.current_step, state.is_complete) == (1, False)


def test_completed_steps_follow_the_step_data_and_their_memo_cannot_be_altered(answers: dict) -> None:
    from onboarding.selectors import onboarding_completed_steps

    # Given a state with step 1 answered
    state = OnboardingState(step_data={"1": answers[1]})
    first = onboarding_completed_steps(state=state)
    first.append(9)  # a caller changing the list it got

    # Then the remembered answer is unchanged, and a change of the data is seen at once
    assert onboarding_completed_steps(state=state) == [1]
    state.step_data = {"1": {**answers[1], "fitness_level": "expert"}}
    assert onboarding_completed_steps(state=state) == []
    state.step_data = {"1": answers[1], "2": answers[2]}
    assert onboarding_completed_steps(state=state) == [1, 2]


def test_the_completed_steps_memo_keeps_no_answer(answers: dict) -> None:

    from onboarding import selectors

    # Given a state whose answers include a health detail (built at run time: no code constant holds it)
    detail = " ".join(["torn", "meniscus,", "left", "knee,", "2019"])
    state = OnboardingState(step_data={"1": answers[1], "2": {**answers[2], "injuries": [detail]}})

    # When its completed steps are worked out (and remembered), and the state is gone
    selectors.onboarding_completed_steps(state=state)
    del state

    # Then the memo holds digests and step numbers, and nothing left in the process holds the answer
    remembered = selectors._completed_by_digest
    assert remembered
    assert all(isinstance(key, bytes) and len(key) == 16 for key in remembered)
    assert all(all(isinstance(step, int) for step in steps) for steps in remembered.values())
    assert containers_holding(detail) == []


def test_the_completed_steps_memo_forgets_the_oldest_beyond_its_size(answers: dict, monkeypatch: Any) -> None:
    from onboarding import selectors

    monkeypatch.setattr(selectors, "_completed_by_digest", {})
    monkeypatch.setattr(selectors, "_COMPLETED_MAX", 3)
    states = [OnboardingState(step_data={"1": {**answers[1], "n": n}}) for n in range(5)]

    results = [selectors.onboarding_completed_steps(state=state) for state in states]

    assert len(selectors._completed_by_digest) == 3
    assert results == [selectors.onboarding_completed_steps(state=state) for state in states]


@pytest.mark.skipif(apps.is_installed("agents"), reason="make test's second run, without the agents app")
def test_a_worker_without_the_agents_app_warms_up_without_the_chat_turn(api: APIClient) -> None:
    """``shuren.wsgi``'s warm-up runs where the form flow is served alone: it builds no chat turn, whose
    models (``agents.models``) Django refuses without the app, and the form flow answers."""
    serving_warm_up()

    assert "agents.models" not in sys.modules
    assert "agents.turn.prepare" not in sys.modules
    assert api.post("/api/v1/onboarding/start").status_code in (200, 201)
