"""Health endpoints: liveness touches nothing; readiness checks each dependency."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from health import checks


class _PublicView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)


def _result(report: checks.HealthReport) -> Response:
    return Response(report.as_dict(), status=200 if report.healthy else 503)


_REPORT = inline_serializer(
    "HealthReport",
    fields={
        "status": serializers.ChoiceField(choices=["ok", "degraded", "unavailable"]),
        "failed": serializers.ListField(child=serializers.CharField()),
        "degraded": serializers.ListField(child=serializers.CharField(), required=False),
        "checks": serializers.JSONField(),
    },
)


class LivenessView(_PublicView):
    """``GET /health``: the process answers. No database, no cache, no LLM."""

    @extend_schema(
        operation_id="health_live",
        tags=["health"],
        responses={
            200: inline_serializer(
                "Liveness", fields={"status": serializers.CharField(), "version": serializers.CharField()}
            )
        },
    )
    def get(self, request: Request) -> Response:
        return Response({"status": "ok", "version": settings.VERSION})


class ReadinessView(_PublicView):
    """``GET /api/v1/health/ready``: database and migrations (503 naming what failed) and the cache.

    The cache is optional: when it fails the answer is 200 with ``status: degraded``
    (the service works without it, slower and without rate limits), see docs/security.md.
    """

    @extend_schema(operation_id="health_ready", tags=["health"], responses={200: _REPORT, 503: _REPORT})
    def get(self, request: Request) -> Response:
        return _result(checks.readiness_check())


class AnthropicHealthView(_PublicView):
    """``GET /api/v1/health/anthropic``: the LLM is reachable (or the offline engine runs)."""

    @extend_schema(operation_id="health_anthropic", tags=["health"], responses={200: _REPORT, 503: _REPORT})
    def get(self, request: Request) -> Response:
        return _result(checks.anthropic_check())


class AgentsHealthView(_PublicView):
    """``GET /api/v1/health/agents``: every step routes to an agent whose prompt and tool schema build."""

    @extend_schema(operation_id="health_agents", tags=["health"], responses={200: _REPORT, 503: _REPORT})
    def get(self, request: Request) -> Response:
        return _result(checks.agents_check())
