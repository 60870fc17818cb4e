"""DB_PGBOUNCER: the database settings that PgBouncer's transaction pooling needs (docs/deployment.md, "PgBouncer").

The settings are read by a fresh process with the service's own settings module, as at start. The
service working through a real PgBouncer in transaction mode is `make cluster-test`'s part
(tests/test_cluster.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import environ_without, run_django

PRINT_DATABASE = (
    # The settings module alone (no django.setup(): quicker). QuerySet.iterator() reads
    # DISABLE_SERVER_SIDE_CURSORS from this dict, absent meaning False.
    "import json, shuren.settings as s; db = s.DATABASES['default']; "
    "print(json.dumps({k: db.get(k, False) for k in ('ENGINE', 'CONN_MAX_AGE', 'DISABLE_SERVER_SIDE_CURSORS')} "
    "| {'OPTIONS': {k: v for k, v in db['OPTIONS'].items() if k != 'context'}}))"
)


def _database_settings(**env: str) -> dict[str, Any]:
    base = environ_without(
        "DATABASE_URL",
        "DB_PGBOUNCER",
        "DB_POOL",
        "CONN_MAX_AGE",
        "SHUREN_DEV_DEFAULTS",
        "DB_TOAST_COMPRESSION",
        "PGOPTIONS",
    )
    completed = run_django(
        ["-c", PRINT_DATABASE],
        {
            **base,
            "DEBUG": "True",
            "DATABASE_URL": "postgres://app@pgbouncer.internal:6432/shuren",
            **env,
        },
    )
    assert completed.returncode == 0, completed.stderr
    settings: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return settings


@pytest.mark.parametrize("pool", ["true", "false"])
def test_db_pgbouncer_turns_off_server_side_cursors_and_prepared_statements(pool: str) -> None:
    database = _database_settings(DB_PGBOUNCER="true", DB_POOL=pool, CONN_MAX_AGE="60")

    assert database["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert database["OPTIONS"]["prepare_threshold"] is None
    assert database["OPTIONS"]["server_side_binding"] is False
    assert database["OPTIONS"]["prepared_statements"] is False
    if pool == "true":
        # the pool keeps its connections to PgBouncer; Django's persistent connections stay off
        assert database["OPTIONS"]["pool"]["max_size"] == 20
        assert database["CONN_MAX_AGE"] == 0
    else:
        assert "pool" not in database["OPTIONS"]
        assert database["CONN_MAX_AGE"] == 60


def test_without_db_pgbouncer_server_side_cursors_and_prepared_statements_stay_on() -> None:
    database = _database_settings()

    assert database["DISABLE_SERVER_SIDE_CURSORS"] is False
    # The ORM binds on the client, never prepared; the chat turn's two raw statements are prepared
    assert "server_side_binding" not in database["OPTIONS"]
    assert "prepare_threshold" not in database["OPTIONS"]
    assert database["OPTIONS"]["prepared_statements"] is True


@pytest.mark.parametrize("conn_max_age", ["0", "60"])
def test_without_the_pool_nothing_is_prepared(conn_max_age: str) -> None:
    # The turn closes its connection before the LLM call: a statement prepared there would not run again
    database = _database_settings(DB_POOL="false", CONN_MAX_AGE=conn_max_age)

    assert database["OPTIONS"]["prepared_statements"] is False


def test_connections_have_tcp_keepalives_that_the_url_can_override() -> None:
    # A server gone without closing its connections (a crashed host) is then seen within about a minute idle
    assert {key: value for key, value in _database_settings()["OPTIONS"].items() if key.startswith("keepalives")} == {
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    overridden = _database_settings(DATABASE_URL="postgres://app@db.internal:5432/shuren?keepalives_idle=120")
    assert overridden["OPTIONS"]["keepalives_idle"] in (120, "120")


def test_values_stored_out_of_line_are_compressed_with_lz4_by_default() -> None:
    # A session setting sent at connect: the chat turn's UPDATE recompresses the history it appends to
    assert _database_settings()["OPTIONS"]["options"] == "-c default_toast_compression=lz4"


def test_the_compression_joins_options_from_the_url_and_can_be_left_to_the_server() -> None:
    url = "postgres://app@db.internal:5432/shuren?options=-c%20statement_timeout%3D5000"

    joined = _database_settings(DATABASE_URL=url, DB_TOAST_COMPRESSION="pglz")["OPTIONS"]["options"]
    left_alone = _database_settings(DATABASE_URL=url, DB_TOAST_COMPRESSION="")["OPTIONS"]["options"]

    assert joined == "-c statement_timeout=5000 -c default_toast_compression=pglz"
    assert left_alone == "-c statement_timeout=5000"
    assert "options" not in _database_settings(DB_TOAST_COMPRESSION="")["OPTIONS"]


def test_a_compression_the_url_or_pgoptions_sets_wins() -> None:
    # libpq reads PGOPTIONS only when no options are given, so they are joined rather than replaced
    url = "postgres://app@db.internal:5432/shuren?options=-c%20default_toast_compression%3Dpglz"

    from_url = _database_settings(DATABASE_URL=url)["OPTIONS"]["options"]
    from_pgoptions = _database_settings(PGOPTIONS="-c default_toast_compression=pglz")["OPTIONS"]
    joined = _database_settings(PGOPTIONS="-c statement_timeout=5000")["OPTIONS"]["options"]

    assert from_url == "-c default_toast_compression=pglz"
    assert "options" not in from_pgoptions  # libpq sends PGOPTIONS itself
    assert joined == "-c statement_timeout=5000 -c default_toast_compression=lz4"


def test_through_pgbouncer_no_startup_options_are_sent() -> None:
    # PgBouncer refuses a connection whose startup packet has "options" (docs/deployment.md: set it on the role)
    assert "options" not in _database_settings(DB_PGBOUNCER="true")["OPTIONS"]


def test_an_unknown_compression_stops_the_start_with_the_variables_name() -> None:
    completed = run_django(
        ["-c", PRINT_DATABASE],
        {
            **environ_without("DATABASE_URL", "DB_PGBOUNCER", "SHUREN_DEV_DEFAULTS", "PGOPTIONS"),
            "DEBUG": "True",
            "DATABASE_URL": "postgres://app@db.internal:5432/shuren",
            "DB_TOAST_COMPRESSION": "zstd",
        },
    )

    assert completed.returncode != 0
    assert "DB_TOAST_COMPRESSION must be lz4, pglz or blank, not 'zstd'" in completed.stderr
