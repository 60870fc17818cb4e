"""Edge cases of the chat: corrections that invalidate later steps, odd tool input, state changing mid-turn."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connections
from django.test import Client
from rest_framework.test import APIClient

from agents.models import ChatTurnLock
from devtools.fake_anthropic import FakeAnthropicServer, Fault, Reply, ToolCall
from onboarding.models import OnboardingState
from onboarding.services import onboarding_complete, onboarding_erase, onboarding_reset
from onboarding.state_writer import onboarding_state_save
from tests.conftest import PASSWORD, client_for, echo_responder

CHAT = "/api/v1/onboarding/chat"


def chat(client: APIClient, message: str, **extra: Any) -> dict[str, Any]:
    response = client.post(CHAT, {"message": message, **extra}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def fill_by_form(client: APIClient, answers: dict[int, dict[str, Any]], steps: range) -> None:
    for step in steps:
        assert (
            client.post("/api/v1/onboarding/step", {"step": step, "data": answers[step]}, format="json").status_code
            == 200
        )


def during_the_llm_call(claude: FakeAnthropicServer, change: Callable[[], None], reply: Reply) -> None:
    """Make the fake Claude run ``change`` before answering every request with ``reply``.

    The fake answers from an event loop, so ``change`` runs in a thread (and database
    connection) of its own; if it fails, Claude's answer fails and so does the test.
    """

    def run(failures: list[BaseException]) -> None:
        try:
            change()
        except BaseException as exc:  # handed to the responder, which fails the request
            failures.append(exc)
        finally:
            connections.close_all()

    def responder(body: dict[str, Any]) -> Reply:
        failures: list[BaseException] = []
        worker = threading.Thread(target=run, args=(failures,))
        worker.start()
        worker.join()
        if failures:
            raise failures[0]
        return reply

    claude.set_default_responder(responder)


def test_a_correction_that_invalidates_later_steps_leads_the_user_back_through_them(
    started: APIClient, answers: dict
) -> None:
    # Given steps 1-8 answered (3 training days, Mon/Wed/Fri)
    fill_by_form(started, answers, range(1, 9))

    # When the user changes step 4 to five days by chat
    correction = chat(started, "gym, 5 days a week, 60 minutes", step=4)

    # Then the chat goes back to the plan (step 5), which no longer fits
    assert correction["next_action"] == "advance_step"
    assert correction["next_step"] == 5
    assert "workout plan needs another look" in correction["message"]
    assert started.get("/api/v1/onboarding/current-agent").json()["current_step"] == 5
    # and, answering without naming steps, the user approves the new plan, fixes the schedule and finishes
    plan = chat(started, "looks good")
    assert plan["current_step"] == 5
    assert plan["next_step"] == 8
    schedule = chat(started, "weekdays at 6pm; meals at 7:30, 12:30 and 19:00")
    assert schedule["next_step"] == 9
    review = chat(started, "2.5 liters, no supplements")
    assert review["awaiting_confirmation"] is True
    done = chat(started, "yes")
    assert done["next_action"] == "complete_onboarding"
    state = OnboardingState.objects.get()
    assert state.is_complete
    assert len(state.step_data["5"]["plan"]["sessions"]) == 5
    assert state.step_data["8"]["workout_days"] == [0, 1, 2, 3, 4]


def test_a_new_injury_makes_the_approved_plan_out_of_date(started: APIClient, answers: dict) -> None:
    fill_by_form(started, answers, range(1, 6))

    chat(started, "dumbbells and a mat, a bad knee, no limitations", step=2)

    progress = started.get("/api/v1/onboarding/progress").json()
    assert 5 not in progress["completed_steps"]
    plan = OnboardingState.objects.get().agent_context["workout_planning"]["plan"]
    names = [exercise["name"] for session in plan["sessions"] for exercise in session["exercises"]]
    assert not any("squat" in name.lower() or "lunge" in name.lower() for name in names)
    assert any("knee" in note for note in plan["notes"])


def test_a_plan_made_for_other_answers_is_refused_by_the_form(started: APIClient, answers: dict) -> None:
    fill_by_form(started, answers, range(1, 5))
    stale = {**answers[5], "plan": {**answers[5]["plan"], "basis": "0" * 16}}

    response = started.post("/api/v1/onboarding/step", {"step": 5, "data": stale}, format="json")

    assert response.status_code == 422
    assert "different answers" in response.json()["errors"]["plan"][0]


@pytest.mark.parametrize("bad", ["40%", None, {}, True, 40.7, -5])
def test_malformed_macro_values_from_claude_are_refused_not_coerced(
    claude: FakeAnthropicServer, started: APIClient, answers: dict, bad: Any
) -> None:
    fill_by_form(started, answers, range(1, 7))
    claude.enqueue(Reply(text="Updated!", tool_calls=[ToolCall("record_meal_plan", {"protein_pct": bad})]))

    reply = chat(started, "change protein")

    assert "protein_pct" in reply["errors"]
    assert reply["saved"] == {}
    memory = OnboardingState.objects.get().agent_context["diet_planning"]
    assert memory["protein_pct"] + memory["carbs_pct"] + memory["fats_pct"] == 100
    assert isinstance(memory["protein_pct"], int)


def test_a_tool_only_reply_from_claude_is_phrased_by_the_agent(claude: FakeAnthropicServer, started: APIClient) -> None:
    claude.enqueue(Reply(text="", tool_calls=[ToolCall("record_fitness_level", {"experience": {"pushups": 12}})]))

    reply = chat(started, "12 push-ups")

    assert "push-ups 12" in reply["message"]
    assert "fitness level" in reply["message"]
    assert OnboardingState.objects.get().conversation_history[-1]["content"] == reply["message"]


def test_a_request_claude_rejects_is_a_502_and_saves_nothing(claude: FakeAnthropicServer, started: APIClient) -> None:
    claude.enqueue(Fault(400, error_type="invalid_request_error"))

    response = started.post(CHAT, {"message": "hello"}, format="json")

    assert response.status_code == 502
    assert response.json()["code"] == "llm_request_rejected"
    assert len(claude.message_requests()) == 1
    assert OnboardingState.objects.get().conversation_history == []


@pytest.mark.django_db(transaction=True)
def test_a_turn_redone_on_a_fresh_read_adds_its_entries_once_after_the_kept_ones(
    claude: FakeAnthropicServer, make_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a user with thirty entries of conversation kept, whose state another writer saves while Claude answers
    user = make_user("redo@example.com")
    client = client_for(user)
    client.post("/api/v1/onboarding/start")
    kept = [{"role": ("user", "assistant")[n % 2], "content": f"kept {n}", "step": 1} for n in range(30)]
    OnboardingState.objects.update(conversation_history=kept)

    def save_meanwhile() -> None:
        assert onboarding_state_save(state=OnboardingState.objects.get(user=user))  # moves updated_at

    during_the_llm_call(claude, save_meanwhile, Reply(text="Noted."))

    # When the user's message is answered
    caplog.set_level("INFO", logger="agents.turn.commit")
    response = client.post(CHAT, {"message": "hello"}, format="json")

    # Then the turn is redone on a fresh read, and the history is the kept entries, then the message and the reply
    assert response.status_code == 200
    assert "saving on a fresh read" in caplog.text
    history = OnboardingState.objects.get(user=user).conversation_history
    assert history[:30] == kept
    assert [entry["content"] for entry in history[30:]] == ["hello", response.json()["message"]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("change", "code"),
    [("erase", "onboarding_changed"), ("reset", "turn_expired"), ("complete", "onboarding_complete")],
)
def test_a_state_changed_while_claude_answers_is_not_overwritten(
    claude: FakeAnthropicServer, make_user: Any, answers: dict, change: str, code: str
) -> None:
    # Given a user at step 9 whose next message reaches Claude
    user = make_user("midturn@example.com")
    client = client_for(user)
    client.post("/api/v1/onboarding/start")
    fill_by_form(client, answers, range(1, 10))

    def change_state() -> None:
        if change == "erase":
            onboarding_erase(user=user)
        elif change == "reset":
            onboarding_reset(state=OnboardingState.objects.get(user=user))
        else:
            onboarding_complete(user=user)

    saved = Reply(text="Saved!", tool_calls=[ToolCall("record_hydration_supplements", {"daily_water_ml": 3000})])
    during_the_llm_call(claude, change_state, saved)

    # When the state changes during the LLM call
    response = client.post(CHAT, {"message": "3 liters"}, format="json")

    # Then the turn is refused and what the change left is kept as it is
    assert response.status_code == 409
    assert response.json()["code"] == code
    state = OnboardingState.objects.filter(user=user).first()
    if change == "erase":
        assert state is None
    elif change == "reset":
        assert state is not None
        assert (state.step_data, state.conversation_history) == ({}, [])
    else:
        assert state is not None
        assert state.step_data["9"] == answers[9]


@pytest.mark.django_db(transaction=True)
def test_a_turn_whose_lock_expired_and_was_taken_saves_nothing(claude: FakeAnthropicServer, make_user: Any) -> None:
    # Given a user whose message reaches Claude
    user = make_user("expiredmidturn@example.com")
    client = client_for(user)
    client.post("/api/v1/onboarding/start")

    def take_over_the_lock() -> None:  # what a later turn does once this one's lock has expired
        ChatTurnLock.objects.update(token=uuid.uuid4())

    saved = Reply(text="Saved!", tool_calls=[ToolCall("record_fitness_level", {"fitness_level": "beginner"})])
    during_the_llm_call(claude, take_over_the_lock, saved)

    # When the turn's lock is taken over during the LLM call
    response = client.post(CHAT, {"message": "I'm a beginner"}, format="json")

    # Then the turn is refused and nothing of it is saved
    assert response.status_code == 409
    assert response.json()["code"] == "turn_expired"
    state = OnboardingState.objects.get(user=user)
    assert (state.step_data, state.conversation_history, state.agent_context) == ({}, [], {})


@pytest.mark.django_db(transaction=True)
def test_a_form_answer_saved_while_claude_answers_is_kept_and_the_turn_saved_too(
    claude: FakeAnthropicServer, make_user: Any, answers: dict
) -> None:
    # Given a user at step 3 whose next message reaches Claude
    user = make_user("formmidturn@example.com")
    client = client_for(user)
    client.post("/api/v1/onboarding/start")
    fill_by_form(client, answers, range(1, 3))
    corrected = {**answers[1], "fitness_level": "advanced"}

    def correct_step_1_by_form() -> None:
        response = client_for(user).post("/api/v1/onboarding/step", {"step": 1, "data": corrected}, format="json")
        assert response.status_code == 200

    noted = Reply(text="Noted.", tool_calls=[ToolCall("record_goals", {"primary_goal": "fat_loss"})])
    during_the_llm_call(claude, correct_step_1_by_form, noted)

    # When the form corrects step 1 during the LLM call of a chat turn about step 3
    reply = chat(client, "I want to lose fat")

    # Then both writes are kept: the form's correction and the turn's answer and history
    state = OnboardingState.objects.get(user=user)
    assert state.step_data["1"]["fitness_level"] == "advanced"
    assert state.agent_context["goal_setting"]["primary_goal"] == "fat_loss"
    assert [entry["content"] for entry in state.conversation_history] == ["I want to lose fat", reply["message"]]


@pytest.mark.django_db(transaction=True)
def test_a_purge_while_claude_answers_is_not_undone_by_the_turn(claude: FakeAnthropicServer, make_user: Any) -> None:
    # Given a user with one exchange in their history
    user = make_user("purgemidturn@example.com")
    client = client_for(user)
    client.post("/api/v1/onboarding/start")
    claude.set_default_responder(echo_responder)
    chat(client, "hello")

    def purge() -> None:
        call_command("purge_conversations", "--older-than", "0", stdout=StringIO())

    during_the_llm_call(claude, purge, Reply(text="Noted."))

    # When the retention purge clears conversations during the LLM call of the next message
    reply = chat(client, "I'm a beginner")

    # Then the cleared exchange stays cleared; only the new one is kept
    history = OnboardingState.objects.get(user=user).conversation_history
    assert [entry["content"] for entry in history] == ["I'm a beginner", reply["message"]]


def test_an_oversized_body_is_413(started: APIClient, settings: Any) -> None:
    response = started.post(CHAT, {"message": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}, format="json")

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_an_email_registered_in_mixed_case_logs_in_in_any_case(anon: APIClient, db: None) -> None:
    anon.post("/api/v1/auth/register", {"email": "Ana@Example.com", "password": PASSWORD}, format="json")

    for email in ("Ana@Example.com", "ana@example.com", "ANA@EXAMPLE.COM"):
        response = anon.post("/api/v1/auth/token", {"email": email, "password": PASSWORD}, format="json")
        assert response.status_code == 200, email


def test_a_forged_forwarded_for_header_does_not_dodge_the_auth_throttle(
    anon: APIClient, user: Any, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"chat": "100/minute", "auth": "3/minute"},
    }
    body = {"email": "alice@example.com", "password": "wrong"}

    statuses = [
        anon.post("/api/v1/auth/token", body, format="json", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code
        for i in range(5)
    ]

    assert statuses == [401, 401, 401, 429, 429]


def test_admin_erase_also_drops_cached_replies(make_user: Any, started: APIClient) -> None:
    admin = Client()
    admin.force_login(make_user("root@example.com", is_staff=True, is_superuser=True))
    state = OnboardingState.objects.get()
    cache.set("llm-reply:abc", {"text": "cached"})
    cache.set(f"llm-reply-keys:{state.user_id}", ["llm-reply:abc"])

    admin.post(
        "/admin/onboarding/onboardingstate/",
        {"action": "erase_onboarding", "_selected_action": [state.pk], "confirm": "yes"},
    )

    assert not OnboardingState.objects.exists()
    assert cache.get("llm-reply:abc") is None
