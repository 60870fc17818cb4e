"""The one writer of the onboarding state: every write moves ``updated_at``, and a stale save writes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from onboarding.models import OnboardingState
from onboarding.services import onboarding_start
from onboarding.state_writer import STATE_FIELDS, HistoryAppend, onboarding_histories_clear, onboarding_state_save

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


# JSON the history must keep exactly: text beyond ASCII, nesting, true, false, null, numbers.
_ADDED = [
    {"role": "user", "content": "ça va? 🏋️ 'quoted' \\ back", "step": 2},
    {"role": "assistant", "content": "yes", "usage": {"input_tokens": 3}, "ok": True, "no": False, "none": None},
    {"role": "assistant", "content": "", "ratio": 0.1, "nested": [[1], {"a": []}], "big": 2**64 + 1, "neg": -3},
]


@pytest.mark.parametrize(("held", "keep"), [(0, 400), (4, 400), (4, 7), (4, 5), (4, 2), (4, 0), (4, -1)])
def test_a_save_with_history_adds_its_entries_at_the_end_and_keeps_the_last(
    state: OnboardingState, held: int, keep: int
) -> None:
    # Given a row whose history holds `held` entries
    kept = [{"role": "user", "content": f"kept {n}"} for n in range(held)]
    OnboardingState.objects.filter(pk=state.pk).update(conversation_history=kept)
    state.refresh_from_db()
    state.step_data = {"1": {"fitness_level": "beginner"}}

    # When it is saved with three entries added, keeping the last `keep`
    written = onboarding_state_save(state=state, history=HistoryAppend(entries=_ADDED, keep=keep))

    # Then the row holds the kept entries and the added ones, in order, cut to the last `keep`, and the rest as held
    expected = [*kept, *_ADDED][max(held + 3 - keep, 0) :]
    row = OnboardingState.objects.get(pk=state.pk)
    assert written
    assert row.conversation_history == expected
    assert row.step_data == {"1": {"fitness_level": "beginner"}}
    assert row.updated_at == state.updated_at
    assert state.conversation_history == expected  # what the object gives afterwards


def test_a_save_with_history_onto_a_row_changed_since_it_was_read_adds_nothing(state: OnboardingState) -> None:
    # Given a row another writer has changed since it was read
    read_at = state.updated_at
    theirs = [{"role": "user", "content": "theirs"}]
    OnboardingState.objects.filter(pk=state.pk).update(
        updated_at=read_at + timedelta(seconds=1), conversation_history=theirs
    )

    # When the stale object is saved with entries added
    written = onboarding_state_save(
        state=state, unchanged_since=read_at, history=HistoryAppend(entries=_ADDED, keep=400)
    )

    # Then nothing is written
    assert not written
    assert OnboardingState.objects.get(pk=state.pk).conversation_history == theirs


@pytest.mark.postgres
def test_on_postgresql_a_save_with_history_sends_only_the_added_entries(state: OnboardingState) -> None:
    # Given a row with thirty entries of history
    kept = [{"role": "user", "content": f"kept {n}"} for n in range(30)]
    OnboardingState.objects.filter(pk=state.pk).update(conversation_history=kept)
    state.refresh_from_db()

    # When it is saved with one entry added
    with CaptureQueriesContext(connection) as queries:
        assert onboarding_state_save(state=state, history=HistoryAppend(entries=_ADDED[:1], keep=400))

    # Then its one statement carries the added entry and none of the kept ones (values are composed into the text)
    (update,) = [query["sql"] for query in queries.captured_queries]
    assert "kept 0" not in update
    assert '"step": 2' in update  # the added entry
    # and the object's history is the row's, fetched when read
    assert state.get_deferred_fields() == {"conversation_history"}
    assert len(state.conversation_history) == 31


@pytest.mark.postgres
def test_on_postgresql_a_history_stored_out_of_line_is_compressed_with_lz4(state: OnboardingState) -> None:
    # Given a history long enough to be stored out of line (TOAST: over about 2 kB), and compressible
    kept = [{"role": "user", "content": f"I train three times a week, message {n}"} for n in range(100)]

    # When the row is saved with it, and then with entries added in SQL (the chat turn's save)
    state.conversation_history = kept
    assert onboarding_state_save(state=state)
    with connection.cursor() as cursor:
        cursor.execute(_COMPRESSION, [state.pk])
        written_whole = cursor.fetchone()[0]
    assert onboarding_state_save(state=state, history=HistoryAppend(entries=_ADDED, keep=400))

    # Then each time PostgreSQL compressed it with lz4 (settings: DB_TOAST_COMPRESSION), and it reads back the same
    with connection.cursor() as cursor:
        cursor.execute(_COMPRESSION, [state.pk])
        appended = cursor.fetchone()[0]
    assert (written_whole, appended) == ("lz4", "lz4")
    assert OnboardingState.objects.get(pk=state.pk).conversation_history == [*kept, *_ADDED]


_COMPRESSION = "SELECT pg_column_compression(conversation_history) FROM onboarding_states WHERE id = %s"


def test_with_the_agents_off_a_save_with_history_is_refused(state: OnboardingState, settings: Any) -> None:
    settings.AGENTS_ENABLED = False

    with pytest.raises(ValueError, match="agent feature is off"):
        onboarding_state_save(state=state, history=HistoryAppend(entries=_ADDED, keep=400))


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
