"""The turn lock's expiry follows the database's clock, so instances whose clocks disagree still agree on it.

The host's clock is moved with ``timezone.now`` (what the application reads); the database's is left alone. Both
database passes of the suite run these: PostgreSQL's ``statement_timestamp()`` and SQLite's ``'now'``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from agents.models import ChatTurnLock
from agents.turn import locks
from onboarding.models import OnboardingState
from onboarding.services import onboarding_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def host_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], None]:
    """Moves the application's clock by an offset from the true time (a host whose clock is off)."""
    true_now = timezone.now

    def move(offset: timedelta) -> None:
        monkeypatch.setattr(timezone, "now", lambda: true_now() + offset)

    return move


def test_a_lock_expires_when_the_database_says(user: User, host_clock: Callable[[timedelta], None]) -> None:
    onboarding_start(user=user)
    before = timezone.now()
    host_clock(timedelta(days=1))

    taken = locks.turn_lock_acquire(user_id=user.pk)

    host_clock(timedelta(0))
    after = timezone.now()
    assert taken is not None
    expires_at = ChatTurnLock.objects.get(state_id=taken[0]).expires_at
    lasts = timedelta(seconds=settings.CHAT_TURN_LOCK_SECONDS)
    # The suite's database runs on this machine, so the true clock is the database's (give or take a second);
    # the application's, a day ahead, plays no part.
    slack = timedelta(seconds=1)
    assert before + lasts - slack <= expires_at <= after + lasts + slack


@pytest.mark.parametrize("ahead", [timedelta(minutes=5), timedelta(days=1)], ids=["5-minutes", "a-day"])
def test_a_host_whose_clock_runs_ahead_does_not_take_a_lock_still_held(
    user: User, host_clock: Callable[[timedelta], None], ahead: timedelta
) -> None:
    onboarding_start(user=user)
    held = locks.turn_lock_acquire(user_id=user.pk)
    assert held is not None

    host_clock(ahead)
    taken = locks.turn_lock_acquire(user_id=user.pk)

    assert taken is None
    assert ChatTurnLock.objects.get().token == held[1]


@pytest.mark.parametrize("behind", [timedelta(minutes=5), timedelta(days=1)], ids=["5-minutes", "a-day"])
def test_a_host_whose_clock_runs_behind_still_takes_over_an_expired_lock(
    user: User, host_clock: Callable[[timedelta], None], behind: timedelta
) -> None:
    onboarding_start(user=user)
    dead = ChatTurnLock.objects.create(
        state=OnboardingState.objects.get(user=user),
        token=uuid.UUID(int=0),
        expires_at=timezone.now() - timedelta(seconds=1),
    )

    host_clock(-behind)
    taken = locks.turn_lock_acquire(user_id=user.pk)

    assert taken is not None
    lock = ChatTurnLock.objects.get()
    assert lock.token == taken[1]
    assert isinstance(lock.expires_at, datetime)
    assert lock.expires_at > dead.expires_at
