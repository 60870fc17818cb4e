"""django-prometheus' database metrics, as the service's backends (``core/db_backends``) count them."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from prometheus_client import REGISTRY

pytestmark = pytest.mark.django_db


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"alias": "default", "vendor": connection.vendor, **labels}) or 0.0


def test_each_statement_is_counted_and_timed_and_a_failed_one_counted_by_error() -> None:
    # Given the counts so far
    executed, timed = _sample("django_db_execute_total"), _sample("django_db_query_duration_seconds_count")

    # When two statements run
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.execute("SELECT %s", [2])

    # Then both are counted and timed
    assert _sample("django_db_execute_total") == executed + 2
    assert _sample("django_db_query_duration_seconds_count") == timed + 2

    # When one fails (in a savepoint, whose statements count too)
    with pytest.raises(DatabaseError) as failure, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")

    # Then it is counted and timed, and counted under its error's type
    assert _sample("django_db_execute_total") == _sample("django_db_query_duration_seconds_count") - timed + executed
    assert _sample("django_db_execute_total") >= executed + 3
    error_types = {type(failure.value).__name__, type(failure.value.__cause__).__name__}
    assert any(_sample("django_db_errors_total", type=name) >= 1 for name in error_types)


def test_a_bulk_statement_counts_each_row() -> None:
    # Given a table
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bulk_rows (n integer)")
        executed, bulk = _sample("django_db_execute_total"), _sample("django_db_execute_many_total")

        # When three rows are inserted in one bulk statement
        cursor.executemany("INSERT INTO bulk_rows (n) VALUES (%s)", [(1,), (2,), (3,)])

    # Then each row counts, as django-prometheus counts them
    assert _sample("django_db_execute_total") == executed + 3
    assert _sample("django_db_execute_many_total") == bulk + 3
