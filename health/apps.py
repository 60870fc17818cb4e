"""Health checks."""

from django.apps import AppConfig


class HealthConfig(AppConfig):
    """Liveness, readiness, LLM and agent checks."""

    name = "health"
