"""Django's PostgreSQL backend with django-prometheus' metrics (``core.db_backends.metrics``)."""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base
from django_prometheus.db.common import DatabaseWrapperMixin

from core.db_backends.metrics import exporting_cursor_class
from core.db_backends.postgresql.pool import pooled_connection_check


class DatabaseWrapper(DatabaseWrapperMixin, base.DatabaseWrapper):
    """Counts connections (django-prometheus' mixin) and, through its cursors, statements; with
    ``CONN_HEALTH_CHECKS``, its pool checks a connection at checkout without a round trip."""

    @property
    def pool(self) -> Any:
        pool = super().pool
        if pool is not None and self.settings_dict["CONN_HEALTH_CHECKS"] and pool._check is not pooled_connection_check:
            # Django gives the pool psycopg_pool's check, an empty query on every checkout; ours reads what the
            # server sent instead. psycopg_pool takes its check only when built, which Django does, so it is
            # swapped here, once, before the pool opens (tests/test_pool_check.py watches the attribute).
            pool._check = pooled_connection_check
        return pool

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        # psycopg makes every cursor of the connection (and of the pool's) from this class.
        params["cursor_factory"] = exporting_cursor_class(params["cursor_factory"], self.alias, self.vendor)
        return params

    def create_cursor(self, name: str | None = None) -> Any:
        # The cursors are already counting (above): Django's own, not the mixin's, which psycopg 3 cannot use.
        return base.DatabaseWrapper.create_cursor(self, name=name)
