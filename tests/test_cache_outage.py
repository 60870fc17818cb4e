"""A Redis outage: the cache is an accelerator, so chat and login keep answering without it.

"Stopped" is a Redis URL on a closed port (connection refused at once); "hanging" is a
local server that accepts connections and never answers, so every call waits for the
socket timeout. Both are reached through the service's own cache settings
(``shuren.settings.cache_settings``), as ``CACHE_URL`` would configure them.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from agents.llm import llm_provider_reset
from core.degraded_cache import cache_warnings_reset
from devtools.fake_anthropic import FakeAnthropicServer
from onboarding.models import OnboardingState
from shuren.settings import cache_settings
from tests.conftest import PASSWORD, client_for

AUTH = "/api/v1/auth"
CHAT = "/api/v1/onboarding/chat"
# Each cache call may wait CACHE_SOCKET_TIMEOUT; a request makes at most a handful.
REQUEST_BUDGET_SECONDS = 2.0


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there once the probe is closed


@pytest.fixture
def hanging_redis_url() -> Iterator[str]:
    """A server on 127.0.0.1 that accepts every connection and never sends a byte."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join(timeout=2)
    for connection in held:
        connection.close()
    listener.close()


@pytest.fixture(params=["stopped", "hanging"])
def redis_down(request: pytest.FixtureRequest, settings: Any) -> str:
    """The service with its cache on a stopped, then on a hanging Redis; returns which."""
    url = _closed_port_url() if request.param == "stopped" else request.getfixturevalue("hanging_redis_url")
    settings.CACHES = {"default": cache_settings(url)}
    cache_warnings_reset()
    return str(request.param)


def timed(call: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def test_register_login_refresh_and_chat_answer_with_redis_down(redis_down: str, db: None) -> None:
    # Given Redis stopped or hanging (and the URLs imported, which the first request of a run pays for)
    anon = APIClient()
    anon.get("/api/v1/health/agents")

    # When a new user registers, logs in, refreshes, starts and chats
    registered, register_time = timed(
        lambda: anon.post(f"{AUTH}/register", {"email": "new@example.com", "password": PASSWORD}, format="json")
    )
    login, login_time = timed(
        lambda: anon.post(f"{AUTH}/token", {"email": "new@example.com", "password": PASSWORD}, format="json")
    )
    refreshed = anon.post(f"{AUTH}/token/refresh", {"refresh": login.json()["refresh"]}, format="json")
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    started = anon.post("/api/v1/onboarding/start")
    chat, chat_time = timed(lambda: anon.post(CHAT, {"message": "I'm a beginner"}, format="json"))

    # Then every answer is the usual 2xx, each within a bounded time
    assert [r.status_code for r in (registered, login, refreshed, started, chat)] == [201, 200, 200, 201, 200]
    assert chat.json()["saved"] == {"fitness_level": "beginner"}
    assert max(register_time, login_time, chat_time) < REQUEST_BUDGET_SECONDS


def test_chat_with_claude_bypasses_the_response_cache_with_redis_down(
    claude: FakeAnthropicServer, redis_down: str, make_user: Any
) -> None:
    # Given two users whose first prompt would be byte-identical, and Redis down
    llm_provider_reset()
    clients = [client_for(make_user()) for _ in range(2)]
    for client in clients:
        client.post("/api/v1/onboarding/start")

    # When both send the same first message
    replies = [timed(lambda c=client: c.post(CHAT, {"message": "hello"}, format="json")) for client in clients]

    # Then both are answered by Claude (no cache to answer from) with 200, in bounded time
    assert [response.status_code for response, _ in replies] == [200, 200]
    assert len(claude.message_requests()) == 2
    assert max(elapsed for _, elapsed in replies) < REQUEST_BUDGET_SECONDS


def test_an_outage_logs_one_warning_per_kind_and_counts_every_failure(
    redis_down: str, started: APIClient, caplog: Any
) -> None:
    # Given Redis down
    before = metric("onboarding_cache_degraded_total", operation="throttle_chat")

    # When a user sends three messages
    with caplog.at_level(logging.WARNING):
        statuses = [started.post(CHAT, {"message": "hi"}, format="json").status_code for _ in range(3)]

    # Then all three are answered; each skipped throttle is counted, one WARNING says so, no traceback
    cache_warnings = [r for r in caplog.records if r.name == "core.degraded_cache"]
    assert statuses == [200, 200, 200]
    assert metric("onboarding_cache_degraded_total", operation="throttle_chat") == before + 3
    assert len(cache_warnings) == 1
    assert cache_warnings[0].levelno == logging.WARNING
    assert "throttle_chat" in cache_warnings[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_readiness_reports_the_cache_as_degraded_with_200(redis_down: str, db: None) -> None:
    response, elapsed = timed(lambda: Client().get("/api/v1/health/ready"))

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["degraded"] == ["cache"]
    assert response.json()["failed"] == []
    assert response.json()["checks"]["cache"] == {"ok": False, "required": False, "error": "cache unreachable"}
    assert elapsed < REQUEST_BUDGET_SECONDS


def test_anthropic_health_answers_with_redis_down(claude: FakeAnthropicServer, redis_down: str, db: None) -> None:
    response = Client().get("/api/v1/health/anthropic")

    assert response.status_code == 200
    assert response.json()["checks"]["llm"]["ok"] is True


def test_erasure_goes_ahead_with_redis_down(redis_down: str, started: APIClient, caplog: Any) -> None:
    # Given a user who chatted, then Redis down
    with caplog.at_level(logging.WARNING):
        # When they erase their onboarding
        response = started.delete("/api/v1/onboarding")

    # Then the database part is done and the skipped cache clean-up is reported, not hidden
    assert response.status_code == 204
    assert not OnboardingState.objects.exists()
    assert any(r.name == "core.degraded_cache" and "forget" in r.getMessage() for r in caplog.records)
