"""The one writer of ``OnboardingState``: every insert, update and delete of the row goes through here.

Every write moves ``updated_at`` to a value the row never held before: a chat turn
saves onto the row it read before its LLM call only while ``updated_at`` is still
what it read (``onboarding_state_save(unchanged_since=...)``), so a write that left
it unchanged would be silently overwritten by that turn. The functions below set it
themselves; nothing else in the project writes the table.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from onboarding.models import OnboardingState

# What a save writes: the whole mutable state, as one UPDATE (the chat turn's budget counts it).
STATE_FIELDS = ("current_step", "is_complete", "step_data", "current_agent", "agent_context", "conversation_history")

# The smallest step both PostgreSQL and Django's datetimes represent.
_TICK = timedelta(microseconds=1)


def _moved(previous: datetime | None) -> datetime:
    """Now, or just after ``previous`` when the clock has not passed it (same microsecond, clock skew)."""
    now = timezone.now()
    return now if previous is None or now > previous else previous + _TICK


def onboarding_state_create(*, user: Any, current_step: int, current_agent: str | None) -> OnboardingState:
    """Insert the user's state row (the caller handles the ``IntegrityError`` of a concurrent start)."""
    return OnboardingState.objects.create(user=user, current_step=current_step, current_agent=current_agent)


def onboarding_state_save(*, state: OnboardingState, unchanged_since: datetime | None = None) -> bool:
    """Write ``state``'s fields in one ``UPDATE`` and move its ``updated_at``; False when nothing was written.

    Without ``unchanged_since`` the caller holds the row lock (``SELECT ... FOR UPDATE``), so
    ``state.updated_at`` is the row's. With it, the row is written only if its ``updated_at``
    is still that value: an optimistic save onto a row read earlier without a lock.
    """
    updated_at = _moved(state.updated_at if unchanged_since is None else unchanged_since)
    row = OnboardingState.objects.filter(pk=state.pk)
    if unchanged_since is not None:
        row = row.filter(updated_at=unchanged_since)
    written = row.update(updated_at=updated_at, **{name: getattr(state, name) for name in STATE_FIELDS})
    if written:
        state.updated_at = updated_at
    return bool(written)


def onboarding_histories_clear(*, last_written_before: datetime) -> int:
    """Empty the conversation history of every state not written since ``last_written_before``; returns how many.

    Their new ``updated_at`` is at least ``last_written_before``, so it moves past every row it matches.
    """
    states = OnboardingState.objects.with_history_older_than(last_written_before)
    return states.update(conversation_history=[], updated_at=max(timezone.now(), last_written_before))


def onboarding_state_delete(*, state: OnboardingState) -> None:
    """Delete the state row; rows hanging off it by foreign key go with it (``on_delete=CASCADE``)."""
    state.delete()
