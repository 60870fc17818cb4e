"""The commit's write: the state saved only while the turn holds its lock, and the lock dropped by the same write.

On PostgreSQL that is one statement, which needs no transaction of its own (``onboarding_state_save(claim=...)``);
on SQLite a transaction of two. Both are run here by the suite's two database passes.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.db import DataError, connection, transaction

from accounts.models import User
from agents.models import ChatTurnLock
from agents.turn import locks
from onboarding.models import OnboardingState
from onboarding.services import onboarding_start
from onboarding.state_writer import HistoryAppend, onboarding_state_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def locked(user: User) -> tuple[OnboardingState, uuid.UUID]:
    """A started onboarding, read under its turn lock as a turn reads it."""
    onboarding_start(user=user)
    taken = locks.turn_lock_acquire(user_id=user.pk)
    assert taken is not None
    state_id, token = taken
    return OnboardingState.objects.get(pk=state_id), token


def _save(
    state: OnboardingState, token: uuid.UUID, *, read_at: datetime | None = None, history: HistoryAppend | None = None
) -> bool:
    claim = locks.turn_lock_claim(state_id=state.pk, token=token)
    return onboarding_state_save(state=state, unchanged_since=read_at or state.updated_at, claim=claim, history=history)


def test_the_save_writes_the_state_and_drops_the_lock(locked: tuple[OnboardingState, uuid.UUID]) -> None:
    state, token = locked
    read_at = state.updated_at
    state.conversation_history = [{"role": "user", "content": "I'm a beginner"}]

    assert _save(state, token)

    fresh = OnboardingState.objects.get(pk=state.pk)
    assert fresh.conversation_history == [{"role": "user", "content": "I'm a beginner"}]
    assert fresh.updated_at == state.updated_at > read_at
    assert not ChatTurnLock.objects.exists()


def test_a_lock_taken_over_saves_nothing_and_keeps_the_new_holders_lock(
    locked: tuple[OnboardingState, uuid.UUID],
) -> None:
    # Given the turn's lock, expired and taken by another turn
    state, token = locked
    read_at = state.updated_at
    other = uuid.uuid4()
    ChatTurnLock.objects.update(token=other)

    # When the first turn saves
    state.step_data = {"1": {"fitness_level": "beginner"}}
    written = _save(state, token)

    # Then nothing is written, and the other turn still holds its lock
    assert not written
    assert state.updated_at == read_at
    assert OnboardingState.objects.get(pk=state.pk).step_data == {}
    assert list(ChatTurnLock.objects.values_list("token", flat=True)) == [other]


def test_a_state_written_since_it_was_read_saves_nothing_and_keeps_the_lock(
    locked: tuple[OnboardingState, uuid.UUID],
) -> None:
    # Given the state written by someone else (a form answer) after the turn read it
    state, token = locked
    read_at = state.updated_at
    other = OnboardingState.objects.get(pk=state.pk)
    other.current_step = 2
    assert onboarding_state_save(state=other)

    # When the turn saves onto its read
    state.step_data = {"1": {"fitness_level": "beginner"}}
    written = _save(state, token, read_at=read_at)

    # Then nothing is written, and the turn still holds its lock (for the redo on a fresh read)
    assert not written
    fresh = OnboardingState.objects.get(pk=state.pk)
    assert (fresh.current_step, fresh.step_data) == (2, {})
    assert list(ChatTurnLock.objects.values_list("token", flat=True)) == [token]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("in_a_transaction", [False, True], ids=["alone", "in-the-callers-transaction"])
def test_a_lock_taken_over_while_the_save_waits_on_the_state_row_rolls_the_save_back(
    user: User, in_a_transaction: bool
) -> None:
    # Given a turn holding its lock, and another transaction holding the state row (a form answer, say)
    onboarding_start(user=user)
    taken = locks.turn_lock_acquire(user_id=user.pk)
    assert taken is not None
    state_id, token = taken
    state = OnboardingState.objects.get(pk=state_id)
    other = uuid.uuid4()
    holding, saving = threading.Event(), threading.Event()

    def hold_the_row_then_take_the_lock() -> None:
        try:
            with transaction.atomic():
                OnboardingState.objects.select_for_update().get(pk=state_id)
                holding.set()
                assert saving.wait(5)
                time.sleep(0.3)  # the save is waiting on the row by now, its check of the lock already made
                # what a later turn does once the lock has expired, committed before the row is let go
                ChatTurnLock.objects.filter(state_id=state_id).update(token=other)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row_then_take_the_lock)
    holder.start()
    assert holding.wait(5)

    # When the turn saves meanwhile, with its message and reply for the history, as a turn saves
    state.step_data = {"1": {"fitness_level": "beginner"}}
    history = HistoryAppend(entries=[{"role": "user", "content": "beginner"}], keep=400)
    saving.set()
    if in_a_transaction:  # the idempotency record's
        with transaction.atomic():
            written = _save(state, token, history=history)
            assert connection.needs_rollback  # the caller's transaction goes with the write
    else:
        written = _save(state, token, history=history)
    holder.join(5)

    # Then nothing of it is saved (the statement wrote the row, then was aborted), and the lock is the other's
    assert not written
    fresh = OnboardingState.objects.get(pk=state_id)
    assert (fresh.step_data, fresh.conversation_history) == ({}, [])
    assert list(ChatTurnLock.objects.values_list("token", flat=True)) == [other]
    # and the connection serves the next save: the other turn's
    assert _save(OnboardingState.objects.get(pk=state_id), other)
    assert not ChatTurnLock.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_any_other_failure_of_the_save_is_raised_and_keeps_the_lock(locked: tuple[OnboardingState, uuid.UUID]) -> None:
    # Only the race's division by zero means "not written"; a value PostgreSQL refuses (jsonb holds no NUL
    # character) is an error
    state, token = locked
    state.step_data = {"1": {"fitness_level": "beginner\x00"}}

    with pytest.raises(DataError):
        _save(state, token)

    assert OnboardingState.objects.get(pk=state.pk).step_data == {}
    assert list(ChatTurnLock.objects.values_list("token", flat=True)) == [token]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_save_runs_outside_a_transaction_unless_the_caller_has_one(
    locked: tuple[OnboardingState, uuid.UUID],
) -> None:
    # One statement is atomic on its own: no BEGIN and COMMIT round trips around it, and inside a caller's
    # transaction (the idempotency record's) it adds no savepoint either
    state, token = locked
    seen: list[tuple[str, bool]] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        seen.append((sql.split(maxsplit=1)[0], connection.in_atomic_block))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert _save(state, token)
        taken = locks.turn_lock_acquire(user_id=state.user_id)
        assert taken is not None
        with transaction.atomic():
            assert _save(state, taken[1])

    assert seen == [("WITH", False), ("INSERT", False), ("WITH", True)]
