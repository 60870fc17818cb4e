"""The deployment guide's log lines: unexpected chat errors, invalid step transitions, request ids on Django's lines."""

from __future__ import annotations

import io
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from django.db import ProgrammingError
from django.test import Client
from rest_framework.test import APIClient

from core.request_id import RequestIdLogFilter
from tests.conftest import parse_sse
from tests.test_chat_metrics import database_fails

CHAT = "/api/v1/onboarding/chat"


def _chat_errors(caplog: Any) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.getMessage().startswith("Error in chat_onboarding: ")]


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the service's console handler prints (its format and request-id filter), as text."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(settings.LOGGING["formatters"]["text"]["format"]))
    handler.addFilter(RequestIdLogFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


# --- "Error in chat_onboarding: ..." ----------------------------------------------------------


def test_an_unexpected_error_in_a_chat_turn_logs_the_guides_line_with_the_traceback(
    started: APIClient, caplog: Any
) -> None:
    with database_fails(lambda sql: sql.startswith("SELECT") and "onboarding_states" in sql, ProgrammingError("boom")):
        response = started.post(CHAT, {"message": "I'm a beginner"}, format="json")

    assert response.status_code == 500
    [record] = _chat_errors(caplog)
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "Error in chat_onboarding: ProgrammingError: boom"
    assert record.exc_info is not None
    assert record.exc_info[0] is ProgrammingError
    # one traceback, not a second generic line for the same failure
    assert not [r for r in caplog.records if "Unhandled error" in r.getMessage()]


def test_a_database_outage_in_a_chat_turn_logs_the_guides_line(started: APIClient, caplog: Any) -> None:
    from django.db import OperationalError

    with database_fails(lambda sql: "onboarding_chat_turn_locks" in sql, OperationalError("connection lost")):
        assert started.post(CHAT, {"message": "hi"}, format="json").status_code == 503

    [record] = _chat_errors(caplog)
    assert record.getMessage() == "Error in chat_onboarding: OperationalError: connection lost"
    assert record.exc_info is not None


def test_an_unexpected_error_in_a_streamed_turn_logs_the_guides_line(started: APIClient, caplog: Any) -> None:
    def at_the_commit(sql: str) -> bool:
        return 'UPDATE "onboarding_states"' in sql  # alone, or with the lock's DELETE (PostgreSQL)

    with database_fails(at_the_commit, ProgrammingError("boom")):
        events = parse_sse(started.post(f"{CHAT}/stream", {"message": "I'm a beginner"}, format="json"))

    assert events[-1][0] == "error"
    [record] = _chat_errors(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.exc_info[0] is ProgrammingError


def test_an_expected_refusal_logs_no_chat_error(api: APIClient, caplog: Any) -> None:
    assert api.post(CHAT, {"message": "hi"}, format="json").status_code == 404  # not started: the client's to fix

    assert _chat_errors(caplog) == []


# --- WARNING on invalid step transitions --------------------------------------------------------


def _transition_warnings(caplog: Any) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.getMessage().startswith("Invalid step transition")
    ]


def test_a_form_answer_for_an_unreachable_step_logs_a_warning(
    started: APIClient, answers: dict, user: Any, caplog: Any
) -> None:
    response = started.post("/api/v1/onboarding/step", {"step": 3, "data": answers[3]}, format="json")

    assert response.status_code == 409
    assert _transition_warnings(caplog) == [f"Invalid step transition for user {user.pk}: step 3 requested at step 1"]


def test_a_chat_message_for_an_unreachable_step_logs_a_warning(started: APIClient, user: Any, caplog: Any) -> None:
    response = started.post(CHAT, {"message": "gym", "step": 4}, format="json")

    assert response.status_code == 409
    assert _transition_warnings(caplog) == [f"Invalid step transition for user {user.pk}: step 4 requested at step 1"]


def test_a_message_after_completion_logs_a_warning(started: APIClient, answers: dict, user: Any, caplog: Any) -> None:
    for step, data in answers.items():
        started.post("/api/v1/onboarding/step", {"step": step, "data": data}, format="json")
    assert started.post("/api/v1/onboarding/complete").status_code == 200
    caplog.clear()

    response = started.post(CHAT, {"message": "one more thing"}, format="json")

    assert response.status_code == 409
    expected = f"Invalid step transition for user {user.pk}: onboarding is already complete"
    assert _transition_warnings(caplog) == [expected]


def test_a_valid_answer_logs_no_transition_warning(started: APIClient, answers: dict, caplog: Any) -> None:
    assert started.post("/api/v1/onboarding/step", {"step": 1, "data": answers[1]}, format="json").status_code == 200

    assert _transition_warnings(caplog) == []


# --- the request id on Django's own request-log lines ----------------------------------------------


def test_django_request_lines_carry_the_request_id(db: None, console: io.StringIO) -> None:
    response = Client().get("/api/v1/no-such-thing", HTTP_X_REQUEST_ID="req-not-found-1")

    assert response.status_code == 404
    lines = [line for line in console.getvalue().splitlines() if "django.request" in line]
    assert lines, console.getvalue()
    assert all("[req-not-found-1] django.request: Not Found: /api/v1/no-such-thing" in line for line in lines)


@pytest.fixture
def development_server() -> Iterator[Callable[[str, str], int]]:
    """Django's development server (``runserver``'s server and request handler) on a free port, in a thread."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def get(path: str, request_id: str) -> int:
        url = f"http://127.0.0.1:{server.server_address[1]}{path}"
        with urllib.request.urlopen(urllib.request.Request(url, headers={"X-Request-ID": request_id})) as answer:
            status: int = answer.status
        return status

    try:
        yield get
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_development_servers_access_lines_carry_the_request_id(
    development_server: Callable[[str, str], int], console: io.StringIO
) -> None:
    assert development_server("/health", "req-access-1") == 200
    assert development_server("/health", "req-access-2") == 200

    # Each line is logged just after its answer is sent: wait for both (their order may vary).
    deadline = time.monotonic() + 10
    while console.getvalue().count("django.server") < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    lines = sorted(line.split(" ", 2)[2] for line in console.getvalue().splitlines() if "django.server" in line)
    assert lines == [
        'INFO [req-access-1] django.server: "GET /health HTTP/1.1" 200 33',
        'INFO [req-access-2] django.server: "GET /health HTTP/1.1" 200 33',
    ], console.getvalue()


def test_lines_outside_a_request_keep_the_dash(console: io.StringIO) -> None:
    logging.getLogger("shuren").warning("outside any request")

    assert "WARNING [-] shuren: outside any request" in console.getvalue()
