"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from django.test import Client


def test_liveness_needs_nothing() -> None:
    # No db fixture: pytest-django raises if the view touches the database.
    response = Client().get("/health")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["version"]


def test_readiness_reports_database_migrations_and_cache(db: None) -> None:
    response = Client().get("/api/v1/health/ready")

    assert response.status_code == 200
    assert response.json()["checks"]["database"]["ok"] is True
    assert response.json()["checks"]["migrations"] == {"ok": True, "pending": 0}
    assert response.json()["checks"]["cache"]["ok"] is True


def test_readiness_is_200_degraded_naming_a_failed_cache(db: None, settings: Any) -> None:
    # The cache is optional (docs/security.md, T9): without it the service answers, so the instance stays in
    # rotation. Django's own Redis backend here (redis-py's errors); tests/test_cache_outage.py uses django-redis.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    from django.core.cache import caches

    caches._settings = None  # type: ignore[attr-defined]
    try:
        response = Client().get("/api/v1/health/ready")
    finally:
        caches._settings = None  # type: ignore[attr-defined]

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["degraded"] == ["cache"]
    assert response.json()["failed"] == []
