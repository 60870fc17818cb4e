"""Django's SQLite backend with django-prometheus' metrics (``core.db_backends.metrics``)."""

from __future__ import annotations

from typing import Any

from django.db.backends.sqlite3 import base
from django_prometheus.db.common import DatabaseWrapperMixin

from core.db_backends.metrics import exporting_cursor_class


class DatabaseWrapper(DatabaseWrapperMixin, base.DatabaseWrapper):
    """Counts connections (django-prometheus' mixin) and, through its cursors, statements."""

    def create_cursor(self, name: str | None = None) -> Any:
        return self.connection.cursor(factory=exporting_cursor_class(base.SQLiteCursorWrapper, self.alias, self.vendor))
