"""The admin: list, search, filter, a readable change page, reset and erase actions."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from onboarding.models import OnboardingState

ADMIN = "/admin/onboarding/onboardingstate/"


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
