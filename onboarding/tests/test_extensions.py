"""The extension point: a registered ``OnboardingDependent`` follows reset, export and erase."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import User
from onboarding.extensions import onboarding_dependent_register, onboarding_dependent_unregister
from onboarding.models import OnboardingState
from onboarding.selectors import onboarding_export_get
from onboarding.services import onboarding_erase, onboarding_reset, onboarding_start

pytestmark = pytest.mark.django_db


class NotesDependent:
    """Another app's notes about a user's onboarding, and what it was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def onboarding_reset(self, *, state: OnboardingState) -> None:
        self.calls.append(("reset", state.current_step))  # called before the state is cleared

    def onboarding_export(self, *, state: OnboardingState) -> dict[str, Any]:
        return {"notes": [f"step {state.current_step}"]}

    def onboarding_erased(self, *, user_id: int) -> None:
        self.calls.append(("erased", OnboardingState.objects.filter(user_id=user_id).exists()))


@pytest.fixture
def notes() -> Iterator[NotesDependent]:
    dependent = NotesDependent()
    onboarding_dependent_register(name="notes", dependent=dependent)
    yield dependent
    onboarding_dependent_unregister(name="notes")


@pytest.fixture
def state(user: User) -> OnboardingState:
    state = onboarding_start(user=user)[0]
    OnboardingState.objects.filter(pk=state.pk).update(current_step=3)
    state.refresh_from_db()
    return state


def test_a_dependent_is_told_of_a_reset_before_the_state_is_cleared(
    notes: NotesDependent, state: OnboardingState
) -> None:
    onboarding_reset(state=state)

    assert notes.calls == [("reset", 3)]
    assert OnboardingState.objects.get(pk=state.pk).current_step == 1


def test_a_dependent_adds_its_sections_to_the_export(notes: NotesDependent, user: User, state: OnboardingState) -> None:
    export = onboarding_export_get(user=user)

    assert export["notes"] == ["step 3"]
    assert export["onboarding"]["current_step"] == 3


def test_a_dependent_is_told_of_an_erase_after_the_state_is_gone(
    notes: NotesDependent, user: User, state: OnboardingState
) -> None:
    onboarding_erase(user=user)

    assert notes.calls == [("erased", False)]


def test_an_unregistered_dependent_is_told_nothing(user: User, state: OnboardingState) -> None:
    dependent = NotesDependent()
    onboarding_dependent_register(name="notes", dependent=dependent)
    onboarding_dependent_unregister(name="notes")

    onboarding_erase(user=user)

    assert dependent.calls == []
