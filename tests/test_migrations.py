"""The agent-field migration: up, down (keeping every other value), up again; and the rollback command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import User

AGENT_COLUMNS = {"current_agent", "agent_context", "conversation_history"}
BEFORE = ("onboarding", "0001_initial")
AFTER = ("onboarding", "0002_add_agent_fields_to_onboarding")

pytestmark = pytest.mark.django_db(transaction=True)


def migrate_to(target: tuple[str, str]) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    return executor.loader.project_state([target]).apps


def columns() -> set[str]:
    with connection.cursor() as cursor:
        return {col.name for col in connection.introspection.get_table_description(cursor, "onboarding_states")}


def rows() -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM onboarding_states ORDER BY id")
        names = [col[0] for col in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@pytest.fixture(autouse=True)
def agents_off(settings: Any) -> None:
    # The rollback refuses while the agent feature is on (see test_rollback_refuses_while_agents_are_on).
    settings.AGENTS_ENABLED = False


@pytest.fixture
def back_at_head() -> Iterator[None]:
    yield
    migrate_to(AFTER)


def test_round_trip_keeps_every_value_and_defaults_old_rows(back_at_head: None) -> None:
    # Given a database before the agent migration, with a row written by the form flow
    old_apps = migrate_to(BEFORE)
    assert not AGENT_COLUMNS & columns()
    user = User.objects.create_user(email="old@example.com", password="x")
    old_state_model = old_apps.get_model("onboarding", "OnboardingState")
    old_state_model.objects.create(user_id=user.pk, current_step=3, step_data={"1": {"fitness_level": "beginner"}})

    # When the agent migration is applied
    migrate_to(AFTER)

    # Then the existing row has the database defaults in the new columns
    (row,) = rows()
    assert columns() >= AGENT_COLUMNS
    assert row["current_agent"] is None
    assert as_json(row["agent_context"]) == {}
    assert as_json(row["conversation_history"]) == []

    # When agent data is written and the migration is rolled back
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE onboarding_states SET current_agent = %s, conversation_history = %s",
            ["GOAL_SETTING", json.dumps([{"role": "user", "content": "hi"}])],
        )
    before_rollback = {k: v for k, v in rows()[0].items() if k not in AGENT_COLUMNS}
    tables_before = set(connection.introspection.table_names())
    out = StringIO()
    call_command("rollback", "onboarding", stdout=out)

    # Then only the three columns are gone and every other value survived
    assert not AGENT_COLUMNS & columns()
    assert rows() == [before_rollback]
    assert set(connection.introspection.table_names()) == tables_before
    assert "0002_add_agent_fields_to_onboarding -> 0001_initial" in out.getvalue()

    # And the form flow of the pre-agent code still works on the rolled-back table
    old_apps = migrate_to(BEFORE)
    old_state_model = old_apps.get_model("onboarding", "OnboardingState")
    state = old_state_model.objects.get()
    state.step_data = {**state.step_data, "2": {"equipment": [], "injuries": [], "limitations": []}}
    state.current_step = 3
    state.save()
    second = User.objects.create_user(email="old2@example.com", password="x")
    old_state_model.objects.create(user_id=second.pk)
    assert old_state_model.objects.count() == 2

    # And upgrading again works and gives the defaults
    migrate_to(AFTER)
    assert [as_json(r["conversation_history"]) for r in rows()] == [[], []]


def test_row_inserted_by_pre_agent_code_gets_the_defaults(back_at_head: None) -> None:
    user = User.objects.create_user(email="raw@example.com", password="x")

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO onboarding_states (user_id, current_step, is_complete, step_data, created_at, updated_at)"
            " VALUES (%s, 1, %s, %s, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            [user.pk, False, "{}"],
        )

    (row,) = rows()
    assert row["current_agent"] is None
    assert as_json(row["agent_context"]) == {}
    assert as_json(row["conversation_history"]) == []


def test_minimal_raw_insert_relies_on_database_defaults(back_at_head: None) -> None:
    user = User.objects.create_user(email="min@example.com", password="x")

    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO onboarding_states (user_id) VALUES (%s)", [user.pk])

    (row,) = rows()
    assert row["current_step"] == 1
    assert as_json(row["step_data"]) == {}


def test_database_rejects_a_step_outside_one_to_nine(back_at_head: None) -> None:
    from django.db import IntegrityError

    user = User.objects.create_user(email="bad@example.com", password="x")

    with pytest.raises(IntegrityError), connection.cursor() as cursor:
        cursor.execute("INSERT INTO onboarding_states (user_id, current_step) VALUES (%s, 10)", [user.pk])


def test_rollback_refuses_at_the_first_migration(back_at_head: None) -> None:
    call_command("rollback", "onboarding", stdout=StringIO())

    with pytest.raises(CommandError, match="first migration"):
        call_command("rollback", "onboarding", stdout=StringIO())


def test_rollback_of_an_unknown_app_is_a_clear_error() -> None:
    with pytest.raises(CommandError, match="no migrations"):
        call_command("rollback", "nosuchapp", stdout=StringIO())


def test_rollback_steps_must_be_positive() -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("rollback", "onboarding", "--steps", "0", stdout=StringIO())
