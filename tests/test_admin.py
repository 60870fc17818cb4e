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
        current_step=2,
        current_agent="FITNESS_ASSESSMENT",
        step_data={"1": {"fitness_level": "beginner"}},
        conversation_history=[
            {"role": "user", "content": "I am <b>new</b> to this", "step": 1, "agent_type": "FITNESS_ASSESSMENT"},
            {"role": "assistant", "content": "Welcome aboard!", "step": 1, "agent_type": "FITNESS_ASSESSMENT"},
        ],
    )


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


def test_change_page_shows_pretty_json_and_an_escaped_transcript(admin_client: Client, state: OnboardingState) -> None:
    page = admin_client.get(f"{ADMIN}{state.pk}/change/")

    assert page.status_code == 200
    assert b"&quot;fitness_level&quot;: &quot;beginner&quot;" in page.content
    assert b"Welcome aboard!" in page.content
    assert b"I am &lt;b&gt;new&lt;/b&gt; to this" in page.content


def test_reset_action_starts_over(admin_client: Client, state: OnboardingState) -> None:
    admin_client.post(ADMIN, {"action": "reset_onboarding", "_selected_action": [state.pk]})

    state.refresh_from_db()
    assert (state.current_step, state.step_data, state.conversation_history) == (1, {}, [])


def test_erase_action_deletes(admin_client: Client, state: OnboardingState) -> None:
    admin_client.post(ADMIN, {"action": "erase_onboarding", "_selected_action": [state.pk]})

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

    admin_client.post(ADMIN, {"action": "reset_onboarding", "_selected_action": [state.pk]})

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
