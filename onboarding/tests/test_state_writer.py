"""The one writer of the onboarding state: every write moves ``updated_at``, and a stale save writes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from onboarding.models import OnboardingState
from onboarding.services import onboarding_start
from onboarding.state_writer import STATE_FIELDS, onboarding_histories_clear, onboarding_state_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def state(user: User) -> OnboardingState:
    return onboarding_start(user=user)[0]


def test_a_save_moves_updated_at_even_when_the_clock_has_not(state: OnboardingState) -> None:
    # Given a row whose updated_at is ahead of this machine's clock (another host's clock, or the same microsecond)
    ahead = timezone.now() + timedelta(hours=1)
    OnboardingState.objects.filter(pk=state.pk).update(updated_at=ahead)
    state.refresh_from_db()

    # When it is saved
    assert onboarding_state_save(state=state)

    # Then its version moved all the same
    state.refresh_from_db()
    assert state.updated_at > ahead


def test_a_save_onto_a_row_changed_since_it_was_read_writes_nothing(state: OnboardingState) -> None:
    # Given the row as read, then written by someone else
    read_at = state.updated_at
    other = OnboardingState.objects.get(pk=state.pk)
    other.current_step = 2
    assert onboarding_state_save(state=other)

    # When a save onto the first read is tried
    state.step_data = {"1": {"fitness_level": "beginner"}}
    written = onboarding_state_save(state=state, unchanged_since=read_at)

    # Then it writes nothing: the other write is kept
    assert not written
    fresh = OnboardingState.objects.get(pk=state.pk)
    assert (fresh.current_step, fresh.step_data) == (2, {})


def test_a_save_onto_an_unchanged_row_writes_it_and_moves_its_version(state: OnboardingState) -> None:
    read_at = state.updated_at
    state.conversation_history = [{"role": "user", "content": "hi"}]

    assert onboarding_state_save(state=state, unchanged_since=read_at)

    fresh = OnboardingState.objects.get(pk=state.pk)
    assert fresh.conversation_history == [{"role": "user", "content": "hi"}]
    assert fresh.updated_at == state.updated_at > read_at


def test_a_save_writes_every_field_as_held(state: OnboardingState) -> None:
    # Given every mutable field changed, a null and nested JSON among them
    state.current_step, state.is_complete, state.current_agent = 9, True, None
    state.step_data = {"1": {"fitness_level": "beginner", "experience": {"activities": ["yoga"]}}}
    state.agent_context = {"fitness_assessment": {"pushups": 10}}
    state.conversation_history = [{"role": "assistant", "content": 'Hi \u2013 "coach"', "usage": {"input": 3}}]

    # When it is saved
    assert onboarding_state_save(state=state)

    # Then the row holds each as held
    fresh = OnboardingState.objects.get(pk=state.pk)
    for name in STATE_FIELDS:
        assert getattr(fresh, name) == getattr(state, name), name
    assert fresh.updated_at == state.updated_at


def test_with_the_agents_off_a_save_leaves_the_agent_columns_alone(state: OnboardingState, settings: Any) -> None:
    # Given a state with a conversation, read and changed with the agent feature off
    OnboardingState.objects.filter(pk=state.pk).update(conversation_history=[{"role": "user", "content": "hi"}])
    settings.AGENTS_ENABLED = False
    form_state = OnboardingState.objects.get(pk=state.pk)
    form_state.current_step = 2

    # When it is saved
    assert onboarding_state_save(state=form_state, unchanged_since=form_state.updated_at)

    # Then the form's change is written and the conversation kept
    settings.AGENTS_ENABLED = True
    fresh = OnboardingState.objects.get(pk=state.pk)
    assert fresh.current_step == 2
    assert fresh.conversation_history == [{"role": "user", "content": "hi"}]


def test_clearing_old_histories_moves_their_version_past_the_cutoff(state: OnboardingState, make_user: object) -> None:
    # Given one conversation untouched for 40 days and one from today
    long_ago = timezone.now() - timedelta(days=40)
    OnboardingState.objects.filter(pk=state.pk).update(conversation_history=[{"role": "user"}], updated_at=long_ago)
    recent = onboarding_start(user=make_user("recent@example.com"))[0]  # type: ignore[operator]
    OnboardingState.objects.filter(pk=recent.pk).update(conversation_history=[{"role": "user"}])
    cutoff = timezone.now() - timedelta(days=30)

    # When histories older than 30 days are cleared
    cleared = onboarding_histories_clear(last_written_before=cutoff)

    # Then only the old one is, and its version moved
    assert cleared == 1
    old = OnboardingState.objects.get(pk=state.pk)
    assert old.conversation_history == []
    assert old.updated_at >= cutoff
    assert OnboardingState.objects.get(pk=recent.pk).conversation_history == [{"role": "user"}]


def test_nothing_but_the_writer_writes_the_state_table() -> None:
    # A write elsewhere could leave updated_at unmoved, and a chat turn in flight would then overwrite it.
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    write = re.compile(
        r"OnboardingState\.objects\b[^\n]*\.(update|create|delete|bulk_create|bulk_update|get_or_create|"
        r"update_or_create)\(|\bstates?\.(save|delete|update)\(|with_history_older_than\([^\n]*\)\.update\("
    )
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for app in ("accounts", "onboarding", "agents", "health", "shuren")
        for path in sorted((root / app).rglob("*.py"))
        if "tests" not in path.parts and "migrations" not in path.parts and path.name != "state_writer.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if write.search(line)
    ]

    assert offenders == []
