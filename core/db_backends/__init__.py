"""The database backends of ``DATABASES``: Django's, with django-prometheus' statement metrics (``metrics.py``)."""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper


def prepared_cursor(connection: BaseDatabaseWrapper) -> Any:
    """A cursor for the few raw statements that run on every chat message, which PostgreSQL then keeps
    prepared on each pooled connection: parsing and planning them was about half of their server time
    (bench/RESULTS.md, fifth sitting). With ``OPTIONS["prepared_statements"]`` off (``DB_PGBOUNCER``, or no
    pool) they still bind their values on the server, unprepared, so that PostgreSQL's log of a failed one
    holds no user's answer; elsewhere (SQLite), ``cursor()``.

    Only statements whose text is fixed and whose result does not depend on a column's type belong
    here: a migration that changes the type of a column a prepared statement returns makes PostgreSQL
    refuse that statement on the connections that prepared it ("cached plan must not change result
    type"). The ORM's statements are never prepared. Each one prepared costs the server a plan per
    pooled connection for the connection's life.
    """
    factory = getattr(connection, "prepared_cursor", None)
    return connection.cursor() if factory is None else factory()
