"""The admin's own save and delete go through the writer and the erase service, like its actions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from onboarding.extensions import onboarding_dependent_register, onboarding_dependent_unregister
from onboarding.models import OnboardingState
from onboarding.services import onboarding_start

pytestmark = pytest.mark.django_db

ADMIN = "/admin/onboarding/onboardingstate/"


class ErasedUsers:
    """Remembers which users' onboarding the erase service reported."""

    def __init__(self) -> None:
        self.user_ids: list[int] = []

    def onboarding_reset(self, *, state: OnboardingState) -> None:
        pass

    def onboarding_export(self, *, state: OnboardingState) -> dict[str, Any]:
        return {}

    def onboarding_erased(self, *, user_id: int) -> None:
        self.user_ids.append(user_id)


@pytest.fixture
def erased() -> Iterator[ErasedUsers]:
    dependent = ErasedUsers()
    onboarding_dependent_register(name="erased-users", dependent=dependent)
    yield dependent
    onboarding_dependent_unregister(name="erased-users")


@pytest.fixture
def admin_client(make_user: Any) -> Client:
    client = Client()
    # force_login: django-axes needs the request that Client.login does not pass to authenticate()
    client.force_login(make_user("root@example.com", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def state(user: User) -> OnboardingState:
    return onboarding_start(user=user)[0]


def test_deleting_in_the_admin_erases_through_the_service(
    admin_client: Client, state: OnboardingState, user: User, erased: ErasedUsers
) -> None:
    response = admin_client.post(f"{ADMIN}{state.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not OnboardingState.objects.exists()
    assert erased.user_ids == [user.pk]


def test_bulk_delete_in_the_admin_erases_each_through_the_service(
    admin_client: Client, state: OnboardingState, user: User, erased: ErasedUsers
) -> None:
    admin_client.post(ADMIN, {"action": "delete_selected", "_selected_action": [state.pk], "post": "yes"})

    assert not OnboardingState.objects.exists()
    assert erased.user_ids == [user.pk]


def test_saving_the_read_only_change_page_moves_the_version_and_changes_nothing(
    admin_client: Client, state: OnboardingState
) -> None:
    long_ago = timezone.now() - timedelta(days=1)
    OnboardingState.objects.filter(pk=state.pk).update(updated_at=long_ago)

    response = admin_client.post(f"{ADMIN}{state.pk}/change/", {})

    assert response.status_code == 302
    fresh = OnboardingState.objects.get(pk=state.pk)
    assert fresh.updated_at > long_ago
    assert (fresh.current_step, fresh.step_data) == (1, {})
