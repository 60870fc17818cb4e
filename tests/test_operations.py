"""Operations: health checks, metrics, logs, throttling, response cache, privacy controls."""

from __future__ import annotations

import json
import logging
import re
from io import StringIO
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from agents.llm import llm_provider_reset
from agents.models import ChatIdempotencyRecord
from bench.report import metric_total
from devtools.fake_anthropic import FakeAnthropicServer, Fault, Reply, ToolCall
from onboarding.models import OnboardingState
from tests.conftest import PASSWORD, client_for

CHAT = "/api/v1/onboarding/chat"


def metric(name: str, **labels: str) -> float:
    """The current value of a sample (0 when it does not exist yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- health ------------------------------------------------------------------------


def test_anthropic_health_in_offline_mode_says_so(db: None) -> None:
    body = Client().get("/api/v1/health/anthropic").json()

    assert body["status"] == "ok"
    assert body["checks"]["llm"]["provider"] == "offline"


def test_anthropic_health_reaches_the_api_and_caches_the_result(claude: FakeAnthropicServer) -> None:
    first = Client().get("/api/v1/health/anthropic")
    second = Client().get("/api/v1/health/anthropic")

    assert first.status_code == 200
    assert first.json()["checks"]["llm"]["model"] == "claude-sonnet-5-5"
    assert first.json()["checks"]["llm"]["deprecated"] is False
    assert second.json() == first.json()
    assert [r.path for r in claude.requests] == ["/v1/models/claude-sonnet-5-5"]
    assert "test-key" not in first.content.decode()


def test_anthropic_health_is_503_when_the_key_is_rejected(claude: FakeAnthropicServer) -> None:
    claude.set_accepted_keys({"some-other-key"})

    response = Client().get("/api/v1/health/anthropic")

    assert response.status_code == 503
    assert response.json()["checks"]["llm"]["error"] == "authentication"


def test_anthropic_health_is_503_when_anthropic_is_down(claude: FakeAnthropicServer, settings: Any) -> None:
    settings.ANTHROPIC_BASE_URL = "http://127.0.0.1:9"
    llm_provider_reset()

    response = Client().get("/api/v1/health/anthropic")

    assert response.status_code == 503
    assert response.json()["failed"] == ["llm"]


def test_anthropic_health_reports_a_deprecated_model(claude: FakeAnthropicServer, settings: Any) -> None:
    settings.LLM_MODEL = "claude-sonnet-4-5-20250929"
    llm_provider_reset()

    llm = Client().get("/api/v1/health/anthropic").json()["checks"]["llm"]

    assert llm["deprecated"] is True
    assert llm["end_of_life"] == "November 30th, 2026"


def test_agents_health_checks_every_step(db: None) -> None:
    response = Client().get("/api/v1/health/agents")

    assert response.status_code == 200
    checks = response.json()["checks"]
    assert sorted(checks) == sorted(["enabled", *(f"step_{n}" for n in range(1, 10))])
    assert response.json()["status"] == "ok"
    assert checks["enabled"] == {"ok": True, "required": False}
    assert checks["step_5"] == {"ok": True, "agent_type": "WORKOUT_PLANNING", "tool": "record_workout_plan"}


def test_agents_health_says_degraded_while_the_agents_are_switched_off(db: None, settings: Any) -> None:
    settings.AGENTS_ENABLED = False

    response = Client().get("/api/v1/health/agents")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["degraded"]) == ("degraded", ["enabled"])
    assert body["checks"]["enabled"] == {"ok": False, "required": False, "error": "AGENTS_ENABLED is off"}
    assert body["checks"]["step_1"]["ok"] is True


def test_agents_health_is_503_when_a_tool_schema_is_broken(db: None, monkeypatch: Any) -> None:
    from agents.fitness_assessment import FitnessAssessmentAgent

    def broken_tool(self: Any, step: int) -> dict[str, Any]:
        return {"name": "record_fitness_level", "input_schema": {"type": "no-such-type"}}

    monkeypatch.setattr(FitnessAssessmentAgent, "tool", broken_tool)

    response = Client().get("/api/v1/health/agents")

    assert response.status_code == 503
    assert response.json()["failed"] == ["step_1", "step_2"]


def test_readiness_is_503_when_the_database_is_down(db: None, monkeypatch: Any) -> None:
    from django.db.utils import OperationalError

    class DownDatabase:
        """Stands in for the database connection while the server is unreachable."""

        def cursor(self) -> None:
            raise OperationalError("connection refused")

    monkeypatch.setattr("health.checks.connection", DownDatabase())

    response = Client().get("/api/v1/health/ready")

    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    assert "refused" not in response.content.decode()


# --- metrics -----------------------------------------------------------------------


def test_a_chat_turn_moves_the_agent_and_llm_metrics(
    claude: FakeAnthropicServer, started: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    labels = {"agent_type": "FITNESS_ASSESSMENT", "step": "1", "status": "ok"}
    requests_before = metric("onboarding_agent_requests_total", **labels)
    latency_before = metric("onboarding_agent_response_time_seconds_count", **labels)
    llm_before = metric("anthropic_api_latency_seconds_count", provider="anthropic", outcome="ok")
    tokens_before = metric("anthropic_api_tokens_total", provider="anthropic", kind="input")
    completions_before = metric("onboarding_step_completions_total", step="1", channel="chat")
    db_before = metric("onboarding_db_query_time_seconds_count")
    claude.enqueue(Reply(text="Noted", tool_calls=[ToolCall("record_fitness_level", {"fitness_level": "beginner"})]))

    # A completion is counted once its transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        started.post(CHAT, {"message": "beginner"}, format="json")

    assert metric("onboarding_agent_requests_total", **labels) == requests_before + 1
    assert metric("onboarding_agent_response_time_seconds_count", **labels) == latency_before + 1
    assert metric("anthropic_api_latency_seconds_count", provider="anthropic", outcome="ok") == llm_before + 1
    assert metric("anthropic_api_tokens_total", provider="anthropic", kind="input") > tokens_before
    assert metric("onboarding_step_completions_total", step="1", channel="chat") == completions_before + 1
    assert metric("onboarding_db_query_time_seconds_count") > db_before


def test_offline_turns_feed_estimated_tokens_not_anthropics(started: APIClient) -> None:
    def scraped(name: str, **labels: str) -> float:
        return metric_total(Client().get("/metrics").content.decode(), name, labels) or 0.0

    anthropic_before = scraped("anthropic_api_tokens_total", provider="offline")
    estimated_before = scraped("onboarding_llm_estimated_tokens_total", provider="offline", kind="input")

    response = started.post(CHAT, {"message": "I'm a beginner"}, format="json")

    assert response.status_code == 200
    assert scraped("anthropic_api_tokens_total", provider="offline") == anthropic_before == 0
    assert scraped("onboarding_llm_estimated_tokens_total", provider="offline", kind="input") > estimated_before


def test_llm_failures_count_as_agent_errors(claude: FakeAnthropicServer, started: APIClient, settings: Any) -> None:
    settings.LLM_MAX_RETRIES = 0
    llm_provider_reset()
    before = metric("onboarding_agent_errors_total", agent_type="FITNESS_ASSESSMENT", error_type="InternalServerError")
    claude.enqueue(Fault(500))

    assert started.post(CHAT, {"message": "hello"}, format="json").status_code == 503
    after = metric("onboarding_agent_errors_total", agent_type="FITNESS_ASSESSMENT", error_type="InternalServerError")
    assert after == before + 1


def test_metrics_endpoint_exposes_the_guide_metrics(db: None) -> None:
    body = Client().get("/metrics").content.decode()

    for name in (
        "onboarding_agent_response_time_seconds",
        "onboarding_agent_errors_total",
        "anthropic_api_latency_seconds",
        "onboarding_db_query_time_seconds",
        "anthropic_api_tokens_total",
        "onboarding_llm_estimated_tokens_total",
        "onboarding_llm_response_cache_total",
        "django_http_requests_total_by_method_total",
    ):
        assert name in body, name


def test_each_request_moves_the_http_metrics_of_its_view_method_and_status_by_one(db: None) -> None:
    # Given the counts of two views so far
    def responses(view: str, status: str) -> float:
        labels = {"view": view, "method": "GET", "status": status}
        return metric("django_http_responses_total_by_status_view_method_total", **labels)

    before = {"live": responses("health-live", "200"), "state": responses("onboarding-state", "401")}
    latency = metric("django_http_requests_latency_seconds_by_view_method_count", view="health-live", method="GET")

    # When each is requested, one of them twice
    for path in ("/health", "/health", "/api/v1/onboarding/state"):
        Client().get(path)

    # Then each request is counted once, under its own view, method and status
    assert responses("health-live", "200") == before["live"] + 2
    assert responses("onboarding-state", "401") == before["state"] + 1
    assert (
        metric("django_http_requests_latency_seconds_by_view_method_count", view="health-live", method="GET")
        == latency + 2
    )


# --- response cache -------------------------------------------------------------------


def test_an_identical_prompt_is_answered_from_the_cache(claude: FakeAnthropicServer, make_user: Any) -> None:
    hits_before = metric("onboarding_llm_response_cache_total", result="hit")
    alice, bob = client_for(make_user("a@example.com")), client_for(make_user("b@example.com"))
    for client in (alice, bob):
        client.post("/api/v1/onboarding/start")

    first = alice.post(CHAT, {"message": "hello"}, format="json").json()
    second = bob.post(CHAT, {"message": "hello"}, format="json").json()

    assert second["message"] == first["message"]
    assert len(claude.message_requests()) == 1
    assert metric("onboarding_llm_response_cache_total", result="hit") == hits_before + 1


def test_the_cache_never_serves_one_users_reply_to_another(claude: FakeAnthropicServer, make_user: Any) -> None:
    # Given two users whose earlier answers differ
    alice, bob = client_for(make_user("a@example.com")), client_for(make_user("b@example.com"))
    for client in (alice, bob):
        client.post("/api/v1/onboarding/start")
    claude.set_default_responder(lambda body: Reply(text=f"reply to {body['messages'][0]['content']}"))
    alice.post(CHAT, {"message": "I am advanced, with a bad knee"}, format="json")
    bob.post(CHAT, {"message": "I am a beginner"}, format="json")

    # When both then send the very same message
    alice_reply = alice.post(CHAT, {"message": "what next?"}, format="json").json()
    bob_reply = bob.post(CHAT, {"message": "what next?"}, format="json").json()

    # Then each reply was built from that user's own conversation
    assert "bad knee" in alice_reply["message"]
    assert "bad knee" not in bob_reply["message"]
    assert "beginner" in bob_reply["message"]
    assert len(claude.message_requests()) == 4


def test_the_cache_can_be_switched_off(claude: FakeAnthropicServer, make_user: Any, settings: Any) -> None:
    settings.LLM_RESPONSE_CACHE_ENABLED = False
    llm_provider_reset()
    clients = [client_for(make_user()) for _ in range(2)]
    for client in clients:
        client.post("/api/v1/onboarding/start")
        client.post(CHAT, {"message": "hello"}, format="json")

    assert len(claude.message_requests()) == 2


# --- privacy ---------------------------------------------------------------------------


def test_erasing_onboarding_drops_history_idempotency_records_and_cached_replies(
    claude: FakeAnthropicServer, started: APIClient
) -> None:
    started.post(CHAT, {"message": "hello"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    user_id = OnboardingState.objects.get().user_id
    cached = cache.get(f"llm-reply-keys:{user_id}")
    assert cached
    assert all(cache.get(key) is not None for key in cached)

    assert started.delete("/api/v1/onboarding").status_code == 204

    assert not OnboardingState.objects.exists()
    assert not ChatIdempotencyRecord.objects.exists()
    assert cache.get(f"llm-reply-keys:{user_id}") is None
    assert all(cache.get(key) is None for key in cached)


def test_export_includes_history_context_and_idempotency_records(started: APIClient) -> None:
    started.post(CHAT, {"message": "I'm a beginner"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    export = started.get("/api/v1/onboarding/export").json()

    assert [entry["role"] for entry in export["onboarding"]["conversation_history"]] == ["user", "assistant"]
    assert export["onboarding"]["agent_context"]["fitness_assessment"] == {"fitness_level": "beginner"}
    assert export["idempotency_records"][0]["key"] == "k1"


def test_purge_clears_old_conversations_only(started: APIClient, make_user: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    started.post(CHAT, {"message": "I'm a beginner"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    recent = client_for(make_user("recent@example.com"))
    recent.post("/api/v1/onboarding/start")
    recent.post(CHAT, {"message": "I'm a beginner"}, format="json")
    old = OnboardingState.objects.get(user__email="alice@example.com")
    OnboardingState.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=40))
    ChatIdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=2))

    dry = StringIO()
    call_command("purge_conversations", "--older-than", "30", "--dry-run", stdout=dry)
    assert len(OnboardingState.objects.get(pk=old.pk).conversation_history) == 2
    out = StringIO()
    call_command("purge_conversations", "--older-than", "30", stdout=out)

    assert "Would clear 2 messages in 1 conversations" in dry.getvalue()
    assert (
        "Cleared 2 messages in 1 conversations older than 30 days and 1 expired idempotency records" in out.getvalue()
    )
    old.refresh_from_db()
    assert old.conversation_history == []
    assert old.step_data == {"1": {"fitness_level": "beginner"}}
    assert len(OnboardingState.objects.get(user__email="recent@example.com").conversation_history) == 2


def test_purge_rejects_a_negative_period(db: None) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("purge_conversations", "--older-than", "-1", stdout=StringIO())


# --- throttling -----------------------------------------------------------------------------


def test_chat_is_throttled_per_user_with_retry_after(started: APIClient, make_user: Any, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"chat": "2/minute", "auth": "100/minute"},
    }
    other = client_for(make_user("other@example.com"))
    other.post("/api/v1/onboarding/start")

    statuses = [started.post(CHAT, {"message": "hi"}, format="json").status_code for _ in range(3)]
    throttled = started.post(CHAT, {"message": "hi"}, format="json")

    assert statuses == [200, 200, 429]
    assert throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    assert other.post(CHAT, {"message": "hi"}, format="json").status_code == 200


def test_auth_endpoints_are_throttled_per_ip(anon: APIClient, user: Any, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"chat": "100/minute", "auth": "3/minute"},
    }
    body = {"email": "alice@example.com", "password": "wrong"}

    statuses = [anon.post("/api/v1/auth/token", body, format="json").status_code for _ in range(4)]
    elsewhere = APIClient(REMOTE_ADDR="10.0.0.9").post("/api/v1/auth/token", body, format="json")

    assert statuses == [401, 401, 401, 429]
    assert elsewhere.status_code == 401


# --- logs ---------------------------------------------------------------------------------------


def test_a_full_turn_logs_no_message_text_or_secrets_at_info(
    claude: FakeAnthropicServer, anon: APIClient, db: None, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    anon.post("/api/v1/auth/register", {"email": "log@example.com", "password": PASSWORD}, format="json")
    tokens = anon.post("/api/v1/auth/token", {"email": "log@example.com", "password": PASSWORD}, format="json").json()
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    anon.post("/api/v1/onboarding/start")
    secret_text = "my secret knee problem from 2019"
    claude.enqueue(Reply(text="Thanks", tool_calls=[ToolCall("record_fitness_level", {"fitness_level": "beginner"})]))

    anon.post(CHAT, {"message": secret_text}, format="json")

    info_and_above = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert "Routing user" in info_and_above
    for secret in (secret_text, PASSWORD, tokens["access"], tokens["refresh"], "test-key"):
        assert secret not in info_and_above
    debug = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)
    assert "Updated agent context for user" in debug


def test_json_log_lines_carry_the_request_id() -> None:
    from core.logging import JsonFormatter
    from core.request_id import RequestIdLogFilter, _request_id

    token = _request_id.set("req-42")
    try:
        record = logging.LogRecord("shuren", logging.INFO, __file__, 1, "Routing user %s", (7,), None)
        record.step = 3
        RequestIdLogFilter().filter(record)
        line = json.loads(JsonFormatter().format(record))
    finally:
        _request_id.reset(token)

    assert line["message"] == "Routing user 7"
    assert line["request_id"] == "req-42"
    assert line["level"] == "INFO"
    assert line["step"] == 3


def test_json_log_lines_include_tracebacks() -> None:
    from core.logging import JsonFormatter

    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    assert "ValueError: boom" in json.loads(JsonFormatter().format(record))["exc_info"]


def test_deploy_checks_raise_only_the_documented_warnings() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k not in ("SHUREN_DEV_DEFAULTS", "DJANGO_SETTINGS_MODULE")}
    env.update(
        {
            "DEBUG": "False",
            "SECRET_KEY": "a-production-like-secret-key-0123456789-abcdefghijklmnop",
            "ALLOWED_HOSTS": "api.shuren.app",
            "LLM_PROVIDER": "offline",
        }
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    found = set(re.findall(r"\((\w+\.\w+)\)", result.stderr + result.stdout))
    assert found == {"security.W008", "security.W021"}, result.stderr
