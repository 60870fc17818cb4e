"""The checks behind the health endpoints, each returning a named result."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from jsonschema import Draft202012Validator

from agents.llm import LLMUnavailableError, llm_provider_get
from agents.llm.anthropic_provider import model_deprecation
from agents.registry import agent_for_step
from core.degraded_cache import CACHE_ERRORS, cache_degraded
from onboarding.models import AGENT_FIELDS_MIGRATION, agent_fields_in_use
from onboarding.steps import STEPS

logger = logging.getLogger(__name__)
_ANTHROPIC_HEALTH_KEY = "health:anthropic"


@dataclass
class HealthReport:
    """Named check results; healthy when every required check passed.

    An optional dependency (the cache) that fails makes the report ``degraded``, not
    unhealthy: the service answers without it, so taking the instance out of rotation
    would only turn a slower service into no service.
    """

    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, name: str, ok: bool, *, required: bool = True, **details: Any) -> None:
        """Record one check's outcome."""
        self.checks[name] = {"ok": ok, **({} if required else {"required": False}), **details}

    def _names(self, *, required: bool) -> list[str]:
        return [
            name
            for name, result in self.checks.items()
            if not result["ok"] and result.get("required", True) is required
        ]

    @property
    def healthy(self) -> bool:
        """True when every required check passed."""
        return not self._names(required=True)

    def as_dict(self) -> dict[str, Any]:
        """The JSON body of a health response."""
        failed, degraded = self._names(required=True), self._names(required=False)
        status = "unavailable" if failed else "degraded" if degraded else "ok"
        body: dict[str, Any] = {"status": status, "failed": failed}
        if degraded:
            body["degraded"] = degraded
        return {**body, "checks": self.checks}


def _database(report: HealthReport) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        executor = MigrationExecutor(connection)
        pending = [migration for migration, _ in executor.migration_plan(executor.loader.graph.leaf_nodes())]
    except Exception as exc:
        logger.error("Readiness: database check failed: %s", type(exc).__name__, exc_info=True)
        report.add("database", False, error="database unreachable")
        return
    report.add("database", True)
    # With the agent feature off the release serves the form flow without the agent columns: their
    # migration rolled back is the documented rollback (docs/deployment.md), not a pending migration.
    rolled_back = [
        f"{migration.app_label}.{migration.name}"
        for migration in pending
        if not agent_fields_in_use() and (migration.app_label, migration.name) == AGENT_FIELDS_MIGRATION
    ]
    missing = len(pending) - len(rolled_back)
    details: dict[str, Any] = {"pending": missing, **({"rolled_back": rolled_back} if rolled_back else {})}
    report.add("migrations", not missing, **details)


def _cache(report: HealthReport) -> None:
    key = f"health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=5)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except CACHE_ERRORS as exc:
        cache_degraded("health_ready", exc)
        ok = False
    report.add("cache", ok, required=False, **({} if ok else {"error": "cache unreachable"}))


def readiness_check() -> HealthReport:
    """Database reachable with every migration applied (required); cache reachable (optional: degraded)."""
    report = HealthReport()
    _database(report)
    _cache(report)
    return report


def anthropic_check() -> HealthReport:
    """The LLM: offline mode says so; in anthropic mode a cheap authenticated call, cached briefly.

    The result is cached for ``ANTHROPIC_HEALTH_CACHE_SECONDS`` so that frequent
    probes cannot run up cost or hit rate limits.
    """
    report = HealthReport()
    if settings.LLM_PROVIDER == "offline":
        report.add("llm", True, provider="offline", model="offline-engine", mode="offline")
        return report
    try:
        cached = cache.get(_ANTHROPIC_HEALTH_KEY)
    except CACHE_ERRORS as exc:
        cache_degraded("health_llm_get", exc)
        cached, cache_up = None, False
    else:
        cache_up = True
    if cached is None:
        started = time.perf_counter()
        try:
            llm_provider_get().health()
            cached = {"ok": True}
        except LLMUnavailableError as exc:
            cached = {"ok": False, "error": exc.reason}
        cached["latency_ms"] = round((time.perf_counter() - started) * 1000)
        cached["checked_at"] = timezone.now().isoformat()
        if cache_up:  # with the cache down every probe checks afresh (a model lookup costs no tokens)
            try:
                cache.set(_ANTHROPIC_HEALTH_KEY, cached, timeout=settings.ANTHROPIC_HEALTH_CACHE_SECONDS)
            except CACHE_ERRORS as exc:
                cache_degraded("health_llm_set", exc)
    end_of_life = model_deprecation(settings.LLM_MODEL)
    ok = cached.pop("ok")
    report.add(
        "llm",
        ok,
        provider="anthropic",
        model=settings.LLM_MODEL,
        deprecated=end_of_life is not None,
        end_of_life=end_of_life,
        **cached,
    )
    return report


def agents_check() -> HealthReport:
    """Every step routes to an agent whose prompt renders and whose tool schema is valid JSON Schema.

    With ``AGENTS_ENABLED`` off the agents still build (a switch back on must work), but the chat answers
    503 ``agents_disabled``: the report says so as a degraded ``enabled`` check (200, ``status: degraded``),
    so that a dashboard never shows a switched-off chat as ``ok``.
    """
    report = HealthReport()
    enabled = settings.AGENTS_ENABLED
    report.add("enabled", enabled, required=False, **({} if enabled else {"error": "AGENTS_ENABLED is off"}))
    for step in STEPS:
        try:
            agent = agent_for_step(step.number)
            prompt = agent.system_static(step.number) + agent.system_dynamic(step.number, {}, {})
            tool = agent.tool(step.number)
            Draft202012Validator.check_schema(tool["input_schema"])
            ok = bool(prompt.strip()) and agent.agent_type == step.agent_type
            report.add(f"step_{step.number}", ok, agent_type=agent.agent_type, tool=tool["name"])
        except Exception as exc:
            logger.error("Agent check failed for step %s", step.number, exc_info=True)
            report.add(f"step_{step.number}", False, error=type(exc).__name__)
    return report
