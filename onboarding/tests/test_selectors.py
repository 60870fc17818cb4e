"""Reads of the onboarding state."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings

from accounts.models import User
from onboarding.models import AGENT_FIELDS, OnboardingState
from onboarding.selectors import onboarding_state_with_history_tail
from onboarding.services import onboarding_start

pytestmark = pytest.mark.django_db


def _fields(state: OnboardingState) -> dict[str, object]:
    return {name: value for name, value in state.__dict__.items() if name != "_state"}


@pytest.mark.parametrize("agents_enabled", [True, False])
def test_the_state_with_its_history_tail_is_the_row_the_orm_reads(user: User, agents_enabled: bool) -> None:
    # Given a state with answers, memory and history (JSON, timestamps, a boolean and a null to convert)
    state = onboarding_start(user=user)[0]
    OnboardingState.objects.filter(pk=state.pk).update(
        is_complete=True,
        current_agent=None,
        step_data={"1": {"fitness_level": "beginner"}},
        agent_context={"fitness_assessment": {"pushups": 10}},
        conversation_history=[{"role": "user", "content": "hi"}],
    )

    with override_settings(AGENTS_ENABLED=agents_enabled):
        # When it is read by id
        found = onboarding_state_with_history_tail(state_id=state.pk, entries=20)
        orm = OnboardingState.objects.filter(pk=state.pk).first()
        assert found is not None
        read, tail = found
        if agents_enabled:  # fetched where it was deferred (PostgreSQL)
            assert read.conversation_history == [{"role": "user", "content": "hi"}]

    # Then it holds what the ORM's read holds: the same values, the agent columns left out with the feature off
    assert orm is not None
    assert _fields(read) == _fields(orm)
    assert read.get_deferred_fields() == orm.get_deferred_fields() == (set() if agents_enabled else set(AGENT_FIELDS))
    assert (read._state.adding, read._state.db) == (False, orm._state.db)
    assert tail == ([{"role": "user", "content": "hi"}] if agents_enabled else [])
    assert read.step_data == {"1": {"fitness_level": "beginner"}}
    assert read.is_complete is True


def test_the_state_with_its_history_tail_is_none_when_there_is_no_such_row(user: User) -> None:
    state = onboarding_start(user=user)[0]

    assert onboarding_state_with_history_tail(state_id=state.pk + 1, entries=20) is None


_HISTORY = [
    {"role": ("user", "assistant")[n % 2], "content": f"message {n} ✓", "n": n, "first": n == 0, "none": None}
    for n in range(5)
]


@pytest.mark.parametrize("entries", [-1, 0, 1, 4, 5, 20])
def test_the_state_with_its_history_tail_is_the_row_and_the_history_s_last_entries(user: User, entries: int) -> None:
    # Given a state with answers and five entries of history
    state = onboarding_start(user=user)[0]
    OnboardingState.objects.filter(pk=state.pk).update(
        step_data={"1": {"fitness_level": "beginner"}}, conversation_history=_HISTORY
    )

    # When it is read with the last `entries` entries of its history
    read = onboarding_state_with_history_tail(state_id=state.pk, entries=entries)
    orm = OnboardingState.objects.filter(pk=state.pk).first()

    # Then the tail is those entries, in order, as stored, and the rest of the row is the ORM's read
    assert read is not None
    assert orm is not None
    read_state, tail = read
    assert tail == _HISTORY[max(5 - entries, 0) :]
    others = {name: value for name, value in _fields(orm).items() if name != "conversation_history"}
    assert {name: value for name, value in _fields(read_state).items() if name != "conversation_history"} == others
    # On PostgreSQL the whole history is not read (a deferred field); a read of it fetches it
    deferred = read_state.get_deferred_fields()
    assert deferred == ({"conversation_history"} if connection.vendor == "postgresql" else set())
    assert read_state.conversation_history == _HISTORY
