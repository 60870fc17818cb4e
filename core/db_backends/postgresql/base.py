"""Django's PostgreSQL backend with django-prometheus' metrics (``core.db_backends.metrics``)."""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base
from django_prometheus.db.common import DatabaseWrapperMixin

from core.db_backends.metrics import exporting_cursor_class


class DatabaseWrapper(DatabaseWrapperMixin, base.DatabaseWrapper):
    """Counts connections (django-prometheus' mixin) and, through its cursors, statements."""

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        # psycopg makes every cursor of the connection (and of the pool's) from this class.
        params["cursor_factory"] = exporting_cursor_class(params["cursor_factory"], self.alias, self.vendor)
        return params

    def create_cursor(self, name: str | None = None) -> Any:
        # The cursors are already counting (above): Django's own, not the mixin's, which psycopg 3 cannot use.
        return base.DatabaseWrapper.create_cursor(self, name=name)
