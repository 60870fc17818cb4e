"""PostgreSQL stopped or restarted under the service: clean 503s, no half-saved turn, recovery by itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connections

from devtools.fake_anthropic import FakeAnthropicServer
from onboarding.models import OnboardingState
from tests.conftest import client_for, echo_responder

CHAT = "/api/v1/onboarding/chat"
# serial: stopping PostgreSQL would break the tests other pytest-xdist workers run meanwhile.
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.serial, pytest.mark.django_db(transaction=True)]


def _cluster() -> list[str]:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]


def _can_control_postgres() -> bool:
    host = settings.DATABASES["default"].get("HOST") or "localhost"
    return (
        os.environ.get("SHUREN_TEST_RESTART_POSTGRES") == "1"
        and shutil.which("pg_ctlcluster") is not None
        and os.path.isdir("/etc/postgresql")
        and os.geteuid() == 0
        and host in ("127.0.0.1", "localhost", "")
    )


def _postgres(action: str) -> None:
    # "start" on a running cluster exits 2; pg_isready below is what decides.
    subprocess.run([*_cluster(), action], check=action != "start", timeout=120, capture_output=True)
    if action in ("start", "restart"):
        for _ in range(100):
            if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode == 0:
                return
            time.sleep(0.1)


def _wait_until_ready(timeout: float = 30.0) -> float:
    """Poll readiness until the service reaches the database again; returns the seconds it took."""
    from django.test import Client

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if Client().get("/api/v1/health/ready").status_code == 200:
            return time.monotonic() - started
        connections.close_all()
        time.sleep(0.2)
    raise AssertionError(f"the service did not reach the database again within {timeout} s")


@pytest.fixture
def postgres_control() -> Iterator[None]:
    """Lets a test stop and restart the local PostgreSQL; it is always running again afterwards."""
    if not _can_control_postgres():
        pytest.skip(
            "stops and restarts the local PostgreSQL server, which breaks anyone else using it: "
            "opt in with SHUREN_TEST_RESTART_POSTGRES=1 (.ci/run does); needs root and pg_ctlcluster"
        )
    connections.close_all()
    try:
        yield
    finally:
        _postgres("start")
        connections.close_all()
        _wait_until_ready()


def test_requests_while_postgres_is_down_are_clean_503s_and_the_service_recovers(
    postgres_control: None, claude: FakeAnthropicServer, make_user: Any
) -> None:
    # Given a user mid-onboarding
    client = client_for(make_user("down@example.com"))
    assert client.post("/api/v1/onboarding/start").status_code == 201
    connections.close_all()

    # When PostgreSQL is down
    _postgres("stop")
    try:
        chat = client.post(CHAT, {"message": "hello"}, format="json")
        state = client.get("/api/v1/onboarding/state")
    finally:
        _postgres("start")

    # Then requests fail with a clean 503, saying nothing of the internals
    for response in (chat, state):
        assert response.status_code == 503
        assert response.json() == {
            "detail": "The database is temporarily unavailable. Nothing was saved; please retry.",
            "code": "database_unavailable",
        }
        assert response["Retry-After"] == "5"
    assert claude.message_requests() == []
    # and once it is back the service works again by itself, within seconds, without a restart
    assert _wait_until_ready() < 20
    assert client.post(CHAT, {"message": "hello"}, format="json").status_code == 200
    assert len(OnboardingState.objects.get().conversation_history) == 2


def test_a_restart_while_turns_wait_on_the_llm_never_half_saves_a_turn(
    postgres_control: None, claude: FakeAnthropicServer, make_user: Any, settings: Any
) -> None:
    settings.LLM_TIMEOUT_SECONDS = 5.0
    # Given six users whose messages wait 1.5 s on Claude
    users = [make_user(f"restart{i}@example.com") for i in range(6)]
    for user in users:
        client_for(user).post("/api/v1/onboarding/start")
    claude.set_default_responder(echo_responder)
    claude.set_latency(1.5)
    connections.close_all()
    statuses: dict[int, int] = {}

    def send(index: int) -> None:
        try:
            response = client_for(users[index]).post(CHAT, {"message": f"message {index}"}, format="json")
            statuses[index] = response.status_code
        finally:
            connections.close_all()

    # When PostgreSQL restarts while all six are waiting on the LLM
    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(users))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while claude.request_count < len(users) and time.monotonic() < deadline:
        time.sleep(0.02)
    _postgres("restart")
    for thread in threads:
        thread.join(timeout=60)

    # Then each turn was saved whole (200) or not at all (503)
    assert set(statuses.values()) <= {200, 503}
    assert len(statuses) == len(users)
    for index, user in enumerate(users):
        history = OnboardingState.objects.get(user=user).conversation_history
        expected = [f"message {index}", f"echo: message {index}"] if statuses[index] == 200 else []
        assert [entry["content"] for entry in history] == expected
    # and every user can carry on without the service being restarted
    _wait_until_ready()
    claude.set_latency(0)
    for user in users:
        assert client_for(user).post(CHAT, {"message": "still there?"}, format="json").status_code == 200
