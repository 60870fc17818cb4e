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
            # Django builds the pool with psycopg_pool's round-trip check and psycopg_pool offers no setter, so
            # ours (pool.py says why) is swapped in here, before the first checkout (tests/test_pool_check.py).
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
