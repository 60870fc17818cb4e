"""Django's PostgreSQL backend with django-prometheus' metrics (``core.db_backends.metrics``)."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from django.db.backends.postgresql import base, operations
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django_prometheus.db.common import DatabaseWrapperMixin
from psycopg import errors
from psycopg.pq import Format

from core.db_backends.metrics import exporting_cursor_class
from core.db_backends.postgresql.pool import pooled_connection_check

logger = logging.getLogger(__name__)

# The OPTIONS key that lets prepared_cursor prepare (shuren/settings.py: on with the pool, off with
# DB_PGBOUNCER). Django hands OPTIONS to psycopg's connect, which would refuse it, so get_connection_params
# takes it out.
PREPARED_STATEMENTS = "prepared_statements"


class ServerBoundCursor(psycopg.Cursor[Any]):
    """Sends the values apart from the statement (bound on the server), unprepared, for the statements of
    ``core.db_backends.prepared_cursor`` (Django's own ``ServerBindingCursor`` may prepare, by threshold).

    Django's cursors write the values into the statement's text, which PostgreSQL's log then shows when the
    statement fails. These statements carry the user's answers and history, and the save fails on purpose
    in a rare race (``onboarding.state_writer._executed_claiming``): their text stays without values.
    """

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        # Unprepared unless asked (PreparingCursor), whatever prepare_threshold OPTIONS may set.
        kwargs.setdefault("prepare", False)
        return super().execute(query, params, **kwargs)


class PreparingCursor(ServerBoundCursor):
    """Binds on the server and prepares what it runs, on its connection only, for the statements of
    ``core.db_backends.prepared_cursor``.

    The connection's ``prepare_threshold`` stays None (Django's default) outside these runs: with any
    other value psycopg keeps the text of every statement the connection runs, values included (the
    ORM's binding on the client writes them in), up to ``prepared_max`` of them, to count its uses.
    """

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        connection = self.connection
        threshold = connection.prepare_threshold
        connection.prepare_threshold = 0
        try:
            return super().execute(query, params, prepare=True, **kwargs)
        except (errors.InvalidSqlStatementName, errors.DuplicatePreparedStatement, errors.ProtocolViolation):
            logger.error(
                "A prepared statement was lost or clashed on its server connection: if DATABASE_URL is a pooler "
                'in transaction mode (PgBouncer), set DB_PGBOUNCER=true (docs/deployment.md, "PgBouncer")'
            )
            # psycopg still believes the statement is there: closed, the connection is replaced by the pool
            # instead of failing every turn it serves.
            connection.close()
            raise
        finally:
            connection.prepare_threshold = threshold


class DatabaseOperations(operations.DatabaseOperations):
    """Django's, naming the statements of ``prepared_cursor`` in logs and ``connection.queries`` too."""

    # Django's returns None too when there is no text (django-stubs say str).
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:  # type: ignore[override]
        if isinstance(cursor, ServerBoundCursor):
            # psycopg keeps these statements' text with placeholders, or none for a prepared run: composed as
            # Django does when binding on the server (server_side_binding), or as written if its values cannot be.
            try:
                return self.compose_sql(sql, params)
            except errors.DataError:
                return sql
        query: str | None = super().last_executed_query(cursor, sql, params)
        return query


class DatabaseWrapper(DatabaseWrapperMixin, base.DatabaseWrapper):
    """Counts connections (django-prometheus' mixin) and, through its cursors, statements; with
    ``CONN_HEALTH_CHECKS``, its pool checks a connection at checkout without a round trip."""

    ops_class = DatabaseOperations

    @property
    def pool(self) -> Any:
        pool = super().pool
        if pool is not None and self.settings_dict["CONN_HEALTH_CHECKS"] and pool._check is not pooled_connection_check:
            # Django builds the pool with psycopg_pool's round-trip check and psycopg_pool offers no setter, so
            # ours (pool.py says why) is swapped in here, before the first checkout (tests/test_pool_check.py).
            pool._check = pooled_connection_check
        return pool

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        params.pop(PREPARED_STATEMENTS, None)
        # psycopg makes every cursor of the connection (and of the pool's) from this class.
        params["cursor_factory"] = exporting_cursor_class(params["cursor_factory"], self.alias, self.vendor)
        return params

    def create_cursor(self, name: str | None = None) -> Any:
        # The cursors are already counting (above): Django's own, not the mixin's, which psycopg 3 cannot use.
        return base.DatabaseWrapper.create_cursor(self, name=name)

    def prepared_cursor(self) -> Any:
        """A cursor that binds its values on the server and whose statements the server keeps parsed and
        planned, per connection (``core.db_backends.prepared_cursor`` says which statements use it). With
        ``OPTIONS["prepared_statements"]`` off it binds on the server all the same, unprepared
        (``DB_PGBOUNCER``: a prepared statement lives on one server connection, and PgBouncer's transaction
        pooling hands each transaction another; an unprepared one lives only for its own run).
        """
        preparing = self.settings_dict["OPTIONS"].get(PREPARED_STATEMENTS)
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor_class = PreparingCursor if preparing else ServerBoundCursor
            cursor = exporting_cursor_class(cursor_class, self.alias, self.vendor)(self.connection)
            # As Django's create_cursor: the cursor reads timestamps in the connection's zone.
            if self.timezone != self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, Format.TEXT).timezone:
                register_tzloader(self.timezone, cursor)
            return self._prepare_cursor(cursor)
