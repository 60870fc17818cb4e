"""The connection pool's checkout check (core/db_backends/postgresql/pool.py): a connection the server has
closed is never handed out, and a live one is handed out without a round trip to the server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg_pool import ConnectionPool

from core.db_backends.postgresql.pool import pooled_connection_check

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _params() -> dict[str, Any]:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    return {**params, "autocommit": True}


def _connect() -> psycopg.Connection[Any]:
    return psycopg.connect(**_params())


@pytest.fixture
def pair() -> Iterator[tuple[psycopg.Connection[Any], psycopg.Connection[Any]]]:
    """A connection to check, and another one to act on it from the server's side."""
    checked, other = _connect(), _connect()
    yield checked, other
    checked.close()
    other.close()


def _terminate(other: psycopg.Connection[Any], pid: int) -> None:
    other.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
        assert time.monotonic() < deadline, "the backend did not end"
        time.sleep(0.01)
    # A backend leaves pg_stat_activity just before its process exits and its socket closes: let it close.
    time.sleep(0.2)


def test_an_open_idle_connection_passes_without_a_query(pair: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    checked, _other = pair

    def no_query(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the check sent a query")

    with monkeypatch.context() as patched:
        patched.setattr(checked, "execute", no_query)
        patched.setattr(checked, "cursor", no_query)
        pooled_connection_check(checked)
        pooled_connection_check(checked)  # and again: nothing it read changed the connection
    assert checked.execute("SELECT 1").fetchone() == (1,)  # and the connection still works


def test_a_connection_whose_session_the_server_ended_is_refused(pair: Any) -> None:
    checked, other = pair
    _terminate(other, checked.info.backend_pid)

    with pytest.raises(psycopg.OperationalError):
        pooled_connection_check(checked)


def test_a_connection_left_inside_a_transaction_is_refused(pair: Any) -> None:
    checked, _other = pair
    checked.autocommit = False
    checked.execute("SELECT 1")

    with pytest.raises(psycopg.OperationalError, match="not open and idle"):
        pooled_connection_check(checked)


def test_djangos_pool_runs_it_at_every_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.db_backends.postgresql import base

    # Given the pool as Django builds it (psycopg_pool's round-trip check), and the check counted
    checked: list[int] = []

    def counted(conn: psycopg.Connection[Any]) -> None:
        checked.append(conn.info.backend_pid)
        pooled_connection_check(conn)

    monkeypatch.setattr(base, "pooled_connection_check", counted)
    pool = connection.pool  # type: ignore[attr-defined]
    pool._check = ConnectionPool.check_connection

    # When Django takes a connection from it twice
    for _ in range(2):
        connection.close()
        connection.ensure_connection()

    # Then each checkout ran the check (not the round trip), and the settings keep checks on
    assert len(checked) == 2
    assert pool._check is counted
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def test_a_pool_hands_out_a_new_connection_in_place_of_one_the_server_ended() -> None:
    # Given a pool of one connection, checked as the service's pool is, whose session the server then ends
    pool = ConnectionPool(kwargs=_params(), min_size=1, max_size=1, check=pooled_connection_check, open=True)
    try:
        pool.wait(timeout=5)
        with pool.connection(timeout=5) as first:
            ended = first.info.backend_pid
        other = _connect()
        try:
            _terminate(other, ended)
        finally:
            other.close()

        # When a connection is asked for
        with pool.connection(timeout=5) as second:
            # Then it is a new, working one
            assert second.info.backend_pid != ended
            assert second.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.close()
