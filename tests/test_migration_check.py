"""``make migration-check`` (devtools/migration_check): its names, its verdict, its copy and its data comparison.

The whole check runs in CI (``.ci/run``, after the PostgreSQL stage); these tests hold the parts that decide
whether it passes or fails, and that it leaves nothing behind when it fails.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import psycopg
import pytest
from django.db import connection

from devtools.migration_check.phases import CheckError, Checks, fingerprint, fingerprint_changes
from devtools.migration_check.run import (
    NAME_MAX,
    Server,
    Verdict,
    copy_database,
    database_names,
    main,
    phase_environment,
    redacted,
    with_database,
)


def test_the_phases_read_no_env_file_only_the_environment_the_check_sets() -> None:
    # settings.py reads the checkout's .env unless SHUREN_ENV_FILE is blank, and make run writes one
    env = phase_environment("postgres://u@h/db", agents_enabled=False)

    assert env["SHUREN_ENV_FILE"] == ""
    assert env["AGENTS_ENABLED"] == "false"


def test_the_check_names_its_own_databases_after_database_url() -> None:
    source, staging = database_names("postgres://postgres@127.0.0.1:5432/shuren_h1", "ab12cd34")

    assert (source, staging) == ("shuren_h1_mcheck_ab12cd34_source", "shuren_h1_mcheck_ab12cd34_staging")


def test_odd_or_long_database_names_give_valid_short_identifiers() -> None:
    long_name = "Prod-DB." + "x" * 80

    source, staging = database_names(f"postgres://u@h/{long_name}", "ab12cd34")

    for name in (source, staging):
        assert len(name) <= NAME_MAX
        assert name.replace("_", "").isalnum()
        assert name.islower()
        assert "_mcheck_ab12cd34_" in name
    assert source != staging


def test_passwords_stay_out_of_messages() -> None:
    url = "postgres://app:s3cret@db.internal:5432/shuren"

    assert redacted(url) == "postgres://app:***@db.internal:5432/shuren"
    assert with_database(url, "other") == "postgres://app:s3cret@db.internal:5432/other"


def test_without_postgresql_the_check_fails_with_a_verdict(capsys: Any) -> None:
    status = main({"DATABASE_URL": "sqlite:///db.sqlite3"})

    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert status == 1
    assert last.startswith("migration-check: FAIL (needs PostgreSQL")


def test_the_verdict_is_one_line_saying_what_passed() -> None:
    verdict = Verdict(
        source="seeded source: 7 users",
        phases={
            "upgrade": {"checks": 78, "applied": ["onboarding.0003_x"]},
            "rollback": {"checks": 150, "tables_compared": 18},
            "forward": {"checks": 72},
        },
        seconds=21.04,
    )

    assert verdict.passed
    assert verdict.line() == (
        "migration-check: PASS (seeded source: 7 users; migrate: onboarding.0003_x; rollback onboarding + migrate: "
        "nothing lost but the 3 agent columns, 18 tables compared; 300 API and data checks; 21.0 s)"
    )
    assert Verdict(failure="rollback: state of user 3 differs from its row", seconds=2).line() == (
        "migration-check: FAIL (rollback: state of user 3 differs from its row; 2.0 s)"
    )
    assert not Verdict().passed


def test_a_lost_or_changed_table_is_named_and_a_new_one_is_fine() -> None:
    before = {"onboarding_states": (3, "aaa"), "accounts_user": (3, "bbb"), "old": (1, "ccc")}
    after = {"onboarding_states": (3, "zzz"), "accounts_user": (3, "bbb"), "new_table": (0, "ddd")}

    assert fingerprint_changes(before, after) == [
        "old: dropped (1 rows)",
        "onboarding_states: 3 rows before, 3 after, values differ",
    ]
    assert fingerprint_changes(before, before) == []


def test_a_failed_check_names_itself_and_passed_ones_are_counted() -> None:
    checks = Checks()
    checks.that(True, "first")

    with pytest.raises(CheckError, match="second"):
        checks.that(False, "second")
    assert checks.passed == 1


# --- on PostgreSQL -------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_fingerprint_sees_a_changed_answer_but_not_the_agent_columns(started: Any) -> None:
    # Given a fingerprint of the database
    before = fingerprint()

    # When only an agent column changes, the fingerprint stays; when an answer changes, it does not
    with connection.cursor() as cursor:
        cursor.execute('UPDATE onboarding_states SET conversation_history = \'[{"role": "user"}]\'')
    unchanged = fingerprint_changes(before, fingerprint())
    with connection.cursor() as cursor:
        cursor.execute("""UPDATE onboarding_states SET step_data = '{"1": {"fitness_level": "advanced"}}'""")
    changed = fingerprint_changes(before, fingerprint())

    # Then
    assert unchanged == []
    assert changed == ["onboarding_states: 1 rows before, 1 after, values differ"]


def _databases_like(pattern: str) -> list[str]:
    with psycopg.connect(with_database(os.environ["DATABASE_URL"], "postgres"), autocommit=True) as conn:
        return [row[0] for row in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [pattern])]


@pytest.mark.slow
@pytest.mark.postgres
def test_pg_dump_into_psql_copies_a_database_and_the_check_drops_what_it_created() -> None:
    # Given a source database with a row
    server = Server(os.environ["DATABASE_URL"])
    token = secrets.token_hex(4)
    source_name, staging_name = database_names(os.environ["DATABASE_URL"], token)
    try:
        source = server.create(source_name)
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute("CREATE TABLE answers (id int, value jsonb)")
            conn.execute("""INSERT INTO answers VALUES (1, '{"fitness_level": "beginner"}')""")

        # When it is copied into a staging database
        staging = server.create(staging_name)
        copy_database(source, staging)

        # Then the copy holds the row
        with psycopg.connect(staging) as conn:
            assert conn.execute("SELECT id, value FROM answers").fetchall() == [(1, {"fitness_level": "beginner"})]
    finally:
        left = server.drop_created()

    # And both are gone afterwards
    assert left == []
    assert _databases_like(f"%_mcheck_{token}_%") == []


@pytest.mark.postgres
def test_a_failing_check_says_why_exits_non_zero_and_leaves_no_database(capsys: Any) -> None:
    # Given a source that does not exist
    missing = with_database(os.environ["DATABASE_URL"], f"no_such_db_{secrets.token_hex(4)}")

    # When the check runs
    status = main({"DATABASE_URL": os.environ["DATABASE_URL"], "SOURCE_DATABASE_URL": missing})

    # Then it fails, naming pg_dump, and drops the staging database it had created
    out = capsys.readouterr().out.strip().splitlines()
    assert status == 1
    assert out[-1].startswith("migration-check: FAIL (pg_dump ")
    staging = next(line for line in out if "copying to" in line).split("copying to ")[1].split()[0]
    assert _databases_like(staging) == []
