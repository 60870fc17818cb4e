"""The checks behind the health endpoints, each returning a named result."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger(__name__)


@dataclass
class HealthReport:
    """Named check results; healthy only if every check passed."""

    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, name: str, ok: bool, **details: Any) -> None:
        """Record one check's outcome."""
        self.checks[name] = {"ok": ok, **details}

    @property
    def healthy(self) -> bool:
        """True when every check passed."""
        return all(result["ok"] for result in self.checks.values())

    def as_dict(self) -> dict[str, Any]:
        """The JSON body of a health response."""
        failed = [name for name, result in self.checks.items() if not result["ok"]]
        return {"status": "ok" if not failed else "unavailable", "failed": failed, "checks": self.checks}


def _database(report: HealthReport) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        pending = MigrationExecutor(connection).migration_plan(MigrationExecutor(connection).loader.graph.leaf_nodes())
    except Exception as exc:
        logger.error("Readiness: database check failed: %s", type(exc).__name__, exc_info=True)
        report.add("database", False, error="database unreachable")
        return
    report.add("database", True)
    report.add("migrations", not pending, pending=len(pending))


def _cache(report: HealthReport) -> None:
    key = f"health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=5)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except Exception as exc:
        logger.error("Readiness: cache check failed: %s", type(exc).__name__, exc_info=True)
        ok = False
    report.add("cache", ok, **({} if ok else {"error": "cache unreachable"}))


def readiness_check() -> HealthReport:
    """Database reachable with every migration applied, cache reachable."""
    report = HealthReport()
    _database(report)
    _cache(report)
    return report
