"""Every chat request is counted, whatever phase fails, and latency histograms start at 5 ms.

Database faults are injected where the database is reached (Django's ``execute_wrapper``), the
boundary a real outage crosses: the lock statement or the state read fails as it would with the
server gone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import OperationalError, ProgrammingError, connection
from django.test import Client
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from devtools.fake_anthropic import FakeAnthropicServer, Reply
from tests.conftest import parse_sse

CHAT = "/api/v1/onboarding/chat"
ENDPOINTS = [CHAT, f"{CHAT}/stream"]


def total(name: str, **labels: str) -> float:
    """The sum of a counter's samples over every label set that includes ``labels``."""
    return sum(
        sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


@contextmanager
def counted() -> Iterator[Callable[[], tuple[float, float]]]:
    """Yields a function that says how many chat requests and chat errors were counted since the block began."""
    requests, errors = total("onboarding_agent_requests_total"), total("onboarding_agent_errors_total")
    yield lambda: (
        total("onboarding_agent_requests_total") - requests,
        total("onboarding_agent_errors_total") - errors,
    )


@contextmanager
def database_fails(matches: Callable[[str], bool], error: Exception) -> Iterator[None]:
    """Statements for which ``matches(sql)`` is true fail with ``error``, as they would with the server gone."""

    def fail(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if matches(sql):
            raise error
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail):
        yield


def _at_the_lock(sql: str) -> bool:
    return sql.startswith("INSERT") and "onboarding_chat_turn_locks" in sql


def _at_the_state_read(sql: str) -> bool:
    return sql.startswith("SELECT") and "onboarding_states" in sql and "onboarding_chat_turn_locks" not in sql


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("where", [_at_the_lock, _at_the_state_read], ids=["lock", "state-read"])
def test_a_database_outage_before_the_llm_call_is_a_counted_error(
    started: APIClient, endpoint: str, where: Callable[[str], bool]
) -> None:
    before = total("onboarding_agent_errors_total", error_type="database_unavailable")

    with counted() as since, database_fails(where, OperationalError("server closed the connection unexpectedly")):
        response = started.post(endpoint, {"message": "I'm a beginner"}, format="json")

    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert since() == (1, 1)
    assert total("onboarding_agent_errors_total", error_type="database_unavailable") == before + 1
    # The error-rate alert divides these two: the outage moves both.
    assert total("onboarding_agent_requests_total", status="database_unavailable", step="none") >= 1


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_unexpected_error_while_preparing_is_a_counted_500(started: APIClient, endpoint: str) -> None:
    with counted() as since, database_fails(_at_the_state_read, ProgrammingError("column does not exist")):
        response = started.post(endpoint, {"message": "I'm a beginner"}, format="json")

    assert response.status_code == 500
    assert since() == (1, 1)
    assert total("onboarding_agent_errors_total", error_type="internal_error") >= 1


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_validation_error_is_counted(started: APIClient, endpoint: str) -> None:
    before = total("onboarding_agent_errors_total", agent_type="none", error_type="validation_error")

    with counted() as since:
        response = started.post(endpoint, {"message": ""}, format="json")

    assert response.status_code == 422
    assert since() == (1, 1)
    assert total("onboarding_agent_errors_total", agent_type="none", error_type="validation_error") == before + 1


def test_an_unauthenticated_chat_is_counted(anon: APIClient, db: None) -> None:
    with counted() as since:
        response = anon.post(CHAT, {"message": "hello"}, format="json")

    assert response.status_code == 401
    assert since() == (1, 1)


def test_a_message_before_onboarding_started_is_counted(api: APIClient) -> None:
    with counted() as since:
        response = api.post(CHAT, {"message": "hello"}, format="json")

    assert response.status_code == 404
    assert since() == (1, 1)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_successful_turn_is_counted_once_and_not_as_an_error(started: APIClient, endpoint: str) -> None:
    labels = {"agent_type": "FITNESS_ASSESSMENT", "step": "1", "status": "ok"}
    ok_before = total("onboarding_agent_requests_total", **labels)

    with counted() as since:
        response = started.post(endpoint, {"message": "I'm a beginner"}, format="json")
        if endpoint.endswith("stream"):
            assert parse_sse(response)[-1][0] == "done"

    assert response.status_code == 200
    assert since() == (1, 0)
    assert total("onboarding_agent_requests_total", **labels) == ok_before + 1


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_resent_message_replayed_from_its_idempotency_key_is_counted(started: APIClient, endpoint: str) -> None:
    key = "0b4e7a52-resend"
    first = started.post(endpoint, {"message": "I'm a beginner"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    if endpoint.endswith("stream"):
        parse_sse(first)

    with counted() as since:
        again = started.post(endpoint, {"message": "I'm a beginner"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
        if endpoint.endswith("stream"):
            parse_sse(again)

    assert again.status_code == 200
    assert since() == (1, 0)


def test_a_failure_at_the_commit_of_a_stream_is_counted_once(started: APIClient) -> None:
    def at_the_commit(sql: str) -> bool:
        return 'UPDATE "onboarding_states"' in sql  # alone, or with the lock's DELETE (PostgreSQL)

    with counted() as since, database_fails(at_the_commit, ProgrammingError("column does not exist")):
        events = parse_sse(started.post(f"{CHAT}/stream", {"message": "I'm a beginner"}, format="json"))

    assert events[-1] == ("error", {"detail": events[-1][1]["detail"], "code": "internal_error"})
    assert since() == (1, 1)


@pytest.mark.django_db(transaction=True)  # the request's end closes the connection, as in production
def test_a_stream_the_client_leaves_is_counted_but_not_as_an_error(
    claude: FakeAnthropicServer, started: APIClient
) -> None:
    # given: Claude streams its reply (the offline engine's arrives whole, after the commit)
    claude.enqueue(Reply(text="Thanks! Tell me more about how you train."))

    with counted() as since:
        response: Any = started.post(f"{CHAT}/stream", {"message": "I'm a beginner"}, format="json")
        next(iter(response.streaming_content))  # the first words arrive, then the client goes away
        response.close()  # what the server does then (it ends the request, closing its database connection)

    assert since() == (1, 0)
    assert total("onboarding_agent_requests_total", status="client_closed") >= 1
    # and the user's turn lock went with it: the next message is answered
    assert started.post(CHAT, {"message": "I'm a beginner"}, format="json").status_code == 200


def test_every_latency_histogram_starts_at_5_ms_and_has_the_guides_thresholds_as_bounds(started: APIClient) -> None:
    # given: some traffic, so django-prometheus' histograms have samples too
    started.post(CHAT, {"message": "I'm a beginner"}, format="json")
    started.get("/api/v1/onboarding/state")

    # when
    exposition = Client().get("/metrics").content.decode()

    # then: every histogram of seconds has a first bucket of at most 5 ms
    bounds: dict[str, set[float]] = {}
    for name, le in re.findall(r'^(\w+_seconds)_bucket\{.*?le="([^"]+)"', exposition, re.MULTILINE):
        bounds.setdefault(name, set()).add(float(le))
    assert {"onboarding_agent_response_time_seconds", "anthropic_api_latency_seconds"} <= bounds.keys()
    assert "onboarding_db_query_time_seconds" in bounds
    assert any(name.startswith("django_http_requests_latency") for name in bounds)
    for name, les in bounds.items():
        assert min(les) <= 0.005, f"{name} starts at {min(les)} s"
    # and the guide's targets and alert thresholds are bucket bounds, so quantiles are exact there
    for name, thresholds in {
        "onboarding_agent_response_time_seconds": {2.0, 5.0},
        "anthropic_api_latency_seconds": {1.5, 3.0},
        "onboarding_db_query_time_seconds": {0.1, 0.5},
    }.items():
        assert thresholds <= bounds[name], name


def test_a_kept_child_is_the_metrics_own_so_what_it_counts_is_exported() -> None:
    from core.metrics import AGENT_REQUESTS, labelled

    # Given the child kept for a label set, and the count exported for it
    child = labelled(AGENT_REQUESTS, "goal_setting", "3", "kept-child")
    before = total("onboarding_agent_requests_total", status="kept-child")

    # When it counts twice (once made by labels(), once kept)
    child.inc()
    labelled(AGENT_REQUESTS, "goal_setting", "3", "kept-child").inc()

    # Then both are the metric's own child for those labels, and /metrics shows both counts
    assert child is AGENT_REQUESTS.labels("goal_setting", "3", "kept-child")
    assert total("onboarding_agent_requests_total", status="kept-child") == before + 2
