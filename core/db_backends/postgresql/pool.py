"""The connection pool's check of a connection before it is handed out, without a round trip to the server."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import pq


def pooled_connection_check(connection: psycopg.Connection[Any]) -> None:
    """Raise ``OperationalError`` for a pooled connection that can no longer be used; the pool then drops it.

    psycopg_pool's own check (``ConnectionPool.check_connection``, what Django's ``CONN_HEALTH_CHECKS``
    installs) sends an empty query and waits for its answer: a round trip on every checkout, twice per chat
    turn. A server that restarts, or ends the session (``pg_terminate_backend``, ``idle_session_timeout``, a
    PgBouncer restart), sends its goodbye (an error message) and closes the socket; so reading what is already
    waiting, without waiting for more, tells the same: libpq raises once it reaches the end of the stream. The
    connection is non-blocking (psycopg 3 makes every one so), so the reads return at once. The first read takes
    the goodbye when there is one, the second meets the end of the stream behind it.

    What neither check sees in time is a silent network failure (no end of stream): the round trip would wait
    for its timeout, and this hands the connection out, where the query fails with the usual 503.
    """
    pgconn = connection.pgconn
    pgconn.consume_input()
    pgconn.consume_input()
    if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
        raise psycopg.OperationalError("the pooled connection is not open and idle")
