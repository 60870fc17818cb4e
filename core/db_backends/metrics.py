"""django-prometheus' statement metrics, counted with less work per statement.

django-prometheus wraps each cursor to count statements (``django_db_execute_total``), time them
(``django_db_query_duration_seconds``) and count their errors by type (``django_db_errors_total``).
Its wrapper looks up both labelled children and enters two context managers on every
``execute()``, and on SQLite makes a new cursor class for every cursor. The same metrics,
with the same labels and values, here come from children looked up once per database.
"""

from __future__ import annotations

from functools import cache
from timeit import default_timer
from typing import Any

from django_prometheus.db import errors_total, execute_many_total, execute_total, query_duration_seconds


@cache
def exporting_cursor_class(cursor_class: type, alias: str, vendor: str) -> type:
    """``cursor_class`` counting, timing and counting the errors of what it executes, for database ``alias``."""
    executed = execute_total.labels(alias, vendor)
    executed_many = execute_many_total.labels(alias, vendor)
    duration = query_duration_seconds.labels(alias, vendor)

    def failed(error: BaseException) -> None:
        errors_total.labels(alias=alias, vendor=vendor, type=type(error).__name__).inc()

    class CursorWrapper(cursor_class):
        """Counts each statement (a bulk one as its number of rows), its time and its error, if any."""

        def execute(self, *args: Any, **kwargs: Any) -> Any:
            executed.inc()
            started = default_timer()
            try:
                return super().execute(*args, **kwargs)
            except BaseException as error:
                failed(error)
                raise
            finally:
                duration.observe(max(default_timer() - started, 0))

        def executemany(self, query: Any, param_list: Any, *args: Any, **kwargs: Any) -> Any:
            executed.inc(len(param_list))
            executed_many.inc(len(param_list))
            started = default_timer()
            try:
                return super().executemany(query, param_list, *args, **kwargs)
            except BaseException as error:
                failed(error)
                raise
            finally:
                duration.observe(max(default_timer() - started, 0))

    return CursorWrapper
