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
    the goodbye when there is one, the second meets the end of the stream behind it (in the instant between
    the two, as the server process exits, the connection still passes and its first query fails).

    What this does not see, and the round trip did: a server gone without closing anything (a crashed host,
    a failover to another machine at the same address). Its connections are handed out and their first query
    fails, a 503 ``database_unavailable`` once per pooled connection, until the TCP keepalives set in
    ``shuren/settings.py`` let the kernel report them dead (about a minute idle); the round trip would instead
    have been refused at once by a new machine, or waited on a dead one as long as the kernel retried.
    """
    pgconn = connection.pgconn
    pgconn.consume_input()
    pgconn.consume_input()
    if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
        raise psycopg.OperationalError("the pooled connection is not open and idle")
