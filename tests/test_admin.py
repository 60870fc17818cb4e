"""The admin: list, search, filter, a readable change page, reset and erase actions, deleting users."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import User
from devtools.fake_anthropic import FakeAnthropicServer
from onboarding.models import OnboardingState
from tests.conftest import client_for

ADMIN = "/admin/onboarding/onboardingstate/"
USERS = "/admin/accounts/user/"
CHAT = "/api/v1/onboarding/chat"
FIRST_MESSAGE = "I'm a beginner with a bad knee"


@pytest.fixture
def admin_client(make_user: Any) -> Client:
    client = Client()
    # force_login: django-axes needs the request that Client.login does not pass to authenticate()
    client.force_login(make_user("root@example.com", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def state(make_user: Any) -> OnboardingState:
    user = make_user("carol@example.com")
    return OnboardingState.objects.create(
        user=user,
        current_step=4,
        current_agent="WORKOUT_PLANNING",
        step_data={
            "1": {"fitness_level": "beginner"},
            "4": {"location": "home", "days_per_week": 3, "session_minutes": 45},
            "5": {
                "plan": {
                    "sessions": [
                        {"weekday": 0, "focus": "full_body", "minutes": 45, "exercises": [{"name": "Squat"}]},
                        {"weekday": 3, "focus": "upper_body", "minutes": 40, "exercises": [{"name": "Push-up"}]},
                    ],
                    "notes": ["No jumping for the knee"],
                    "basis": "abc",
                },
                "approved": True,
            },
            "8": {"workout_days": [0, 3], "workout_time": "07:30", "meal_times": ["08:00", "13:00"]},
        },
        agent_context={
            "fitness_assessment": {"fitness_level": "beginner"},
            "workout_planning": {"session_minutes": 45, "disliked_exercises": ["burpees"]},
        },
        conversation_history=[
            {
                "role": "user",
                "content": "I am <b>new</b> to this",
                "timestamp": "2026-12-02T14:05:33.123456+00:00",
                "step": 1,
                "agent_type": "FITNESS_ASSESSMENT",
            },
            {
                "role": "assistant",
                "content": "Welcome aboard!\nFirst question",
                "step": 1,
                "agent_type": "FITNESS_ASSESSMENT",
            },
        ],
    )


def _confirm(admin_client: Client, action: str, pks: list[int]) -> Any:
    """Runs an action the way a person does: the first POST asks, the second (confirm=yes) acts."""
    asked = admin_client.post(ADMIN, {"action": action, "_selected_action": pks})
    assert asked.status_code == 200
    return admin_client.post(ADMIN, {"action": action, "_selected_action": pks, "confirm": "yes"})


def test_list_search_and_filter(admin_client: Client, state: OnboardingState, make_user: Any) -> None:
    OnboardingState.objects.create(user=make_user("dave@example.com"), current_step=5)

    listing = admin_client.get(ADMIN)
    searched = admin_client.get(ADMIN, {"q": "carol"})
    filtered = admin_client.get(ADMIN, {"current_step__exact": "5"})

    assert listing.status_code == 200
    assert b"carol@example.com" in listing.content
    assert b"dave@example.com" in listing.content
    assert b"carol@example.com" in searched.content
    assert b"dave@example.com" not in searched.content
    assert b"dave@example.com" in filtered.content
    assert b"carol@example.com" not in filtered.content


def test_change_page_shows_answers_by_step_in_words_and_an_escaped_transcript(
    admin_client: Client, state: OnboardingState
) -> None:
    page = admin_client.get(f"{ADMIN}{state.pk}/change/")
    html = page.content.decode()

    assert page.status_code == 200
    assert "<title>carol@example.com - step 4 of 9: " in html
    assert "Step 1: Fitness level" in html
    assert "Step 4: Workout preferences" in html
    assert "45 minutes" in html
    assert "Monday, Thursday" in html
    assert "<li>Monday: full body, 45 min</li>" in html
    assert "<li>Thursday: upper body, 40 min</li>" in html
    assert "&quot;fitness_level&quot;" not in html
    # Memory that repeats an answer is left out; what only the agent holds is shown
    assert "disliked exercises (workout planning)" in html
    assert "session minutes (workout planning)" not in html
    assert "Welcome aboard!\nFirst question" in html
    assert "white-space: pre-wrap" in html
    assert "2 Dec 2026, 14:05" in html
    assert ".123456" not in html
    assert "I am &lt;b&gt;new&lt;/b&gt; to this" in html


def test_the_read_only_change_page_has_no_save_or_delete_buttons(admin_client: Client, state: OnboardingState) -> None:
    html = admin_client.get(f"{ADMIN}{state.pk}/change/").content.decode()

    assert 'name="_save"' not in html
    assert 'name="_continue"' not in html
    assert "deletelink" not in html


def test_agent_memory_is_collapsed_when_it_adds_nothing(admin_client: Client, make_user: Any) -> None:
    state = OnboardingState.objects.create(
        user=make_user("dan@example.com"),
        step_data={"1": {"fitness_level": "beginner"}},
        agent_context={"fitness_assessment": {"fitness_level": "beginner"}},
    )

    html = admin_client.get(f"{ADMIN}{state.pk}/change/").content.decode()

    assert "Nothing beyond the saved answers." in html
    assert "collapse" in html


@pytest.mark.parametrize(
    ("action", "undo"), [("reset_onboarding", "start again"), ("erase_onboarding", "cannot be undone")]
)
def test_an_action_first_asks_and_says_what_goes(
    admin_client: Client, state: OnboardingState, action: str, undo: str
) -> None:
    page = admin_client.post(ADMIN, {"action": action, "_selected_action": [state.pk]})
    html = page.content.decode()

    assert page.status_code == 200
    assert "carol@example.com - step 4 of 9" in html
    for lost in ("answers", "conversation", "memory", "cached coach replies"):
        assert lost in html
    assert undo in html
    assert 'name="confirm" value="yes"' in html
    state.refresh_from_db()
    assert state.current_step == 4
    assert state.conversation_history


def test_reset_action_starts_over_once_confirmed(admin_client: Client, state: OnboardingState) -> None:
    response = _confirm(admin_client, "reset_onboarding", [state.pk])

    assert response.status_code == 302
    state.refresh_from_db()
    assert (state.current_step, state.step_data, state.conversation_history) == (1, {}, [])


def test_erase_action_deletes_once_confirmed(admin_client: Client, state: OnboardingState) -> None:
    response = _confirm(admin_client, "erase_onboarding", [state.pk])

    assert response.status_code == 302
    assert not OnboardingState.objects.exists()


def test_non_staff_cannot_open_the_admin(make_user: Any) -> None:
    client = Client()
    client.force_login(make_user("plain@example.com"))

    assert client.get(ADMIN).status_code == 302


# --- erasure reaches the cached LLM replies ---------------------------------------------------------


@pytest.fixture
def chatted(claude: FakeAnthropicServer, make_user: Any) -> tuple[User, list[str]]:
    """A user who chatted with Claude: their reply is in the response cache; returns them and its keys."""
    if not apps.is_installed("agents"):
        pytest.skip("the chat (agents app) fills the reply cache; the form-flow run leaves it out")
    user = make_user("erin@example.com")
    client = client_for(user)
    client.post("/api/v1/onboarding/start")
    assert client.post(CHAT, {"message": FIRST_MESSAGE}, format="json").status_code == 200
    keys = cache.get(f"llm-reply-keys:{user.pk}")
    assert keys
    assert all(cache.get(key) is not None for key in keys)
    OutstandingToken.objects.create(user=user, jti="erin-refresh", token="t", expires_at=timezone.now())
    return user, keys


def _cached_replies_gone(user: User, keys: list[str]) -> bool:
    return cache.get(f"llm-reply-keys:{user.pk}") is None and all(cache.get(key) is None for key in keys)


def test_the_reset_action_drops_the_users_cached_replies(
    admin_client: Client, chatted: tuple[User, list[str]], claude: FakeAnthropicServer
) -> None:
    user, keys = chatted
    state = OnboardingState.objects.get(user=user)

    _confirm(admin_client, "reset_onboarding", [state.pk])

    # The same first message after the reset is Claude's to answer again, not the cache's
    assert _cached_replies_gone(user, keys)
    assert client_for(user).post(CHAT, {"message": FIRST_MESSAGE}, format="json").status_code == 200
    assert len(claude.message_requests()) == 2


@pytest.mark.parametrize("how", ["delete page", "delete action"])
def test_deleting_a_user_in_the_admin_erases_their_cached_replies_and_tokens(
    admin_client: Client, chatted: tuple[User, list[str]], how: str
) -> None:
    user, keys = chatted

    if how == "delete page":
        response = admin_client.post(f"{USERS}{user.pk}/delete/", {"post": "yes"})
    else:
        response = admin_client.post(USERS, {"action": "delete_selected", "_selected_action": [user.pk], "post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    assert not OnboardingState.objects.exists()
    assert not OutstandingToken.objects.filter(jti="erin-refresh").exists()
    assert _cached_replies_gone(user, keys)


@pytest.mark.parametrize("how", ["delete page", "delete action"])
def test_deleting_an_onboarding_in_the_admin_is_an_erase(
    admin_client: Client, chatted: tuple[User, list[str]], how: str
) -> None:
    user, keys = chatted
    state = OnboardingState.objects.get(user=user)

    if how == "delete page":
        admin_client.post(f"{ADMIN}{state.pk}/delete/", {"post": "yes"})
    else:
        admin_client.post(ADMIN, {"action": "delete_selected", "_selected_action": [state.pk], "post": "yes"})

    assert not OnboardingState.objects.exists()
    assert _cached_replies_gone(user, keys)


def test_a_state_is_named_by_email_and_step(state: OnboardingState) -> None:
    assert str(state) == "carol@example.com - step 4 of 9: Workout preferences"
