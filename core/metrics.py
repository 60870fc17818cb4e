"""The service's own Prometheus metrics (django-prometheus adds the HTTP, database and cache ones).

Under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` makes prometheus_client write each
worker's samples to files that ``/metrics`` aggregates, so counts are right
across workers (gunicorn.conf.py wipes the directory at start and marks dead
workers).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django_prometheus import middleware
from prometheus_client import Counter, Histogram

# From 5 ms up, the same as django-prometheus' (settings.PROMETHEUS_LATENCY_BUCKETS).
_LATENCY_BUCKETS = settings.PROMETHEUS_LATENCY_BUCKETS
# A query is often under a millisecond: finer at the bottom, with the guide's 100 ms target and 500 ms alert.
_DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

AGENT_RESPONSE_TIME = Histogram(
    "onboarding_agent_response_time_seconds",
    "Time to answer one chat message, LLM included.",
    ["agent_type", "step", "status"],
    buckets=_LATENCY_BUCKETS,
)
AGENT_REQUESTS = Counter(
    "onboarding_agent_requests", "Chat messages handled, by agent, step and outcome.", ["agent_type", "step", "status"]
)
AGENT_ERRORS = Counter(
    "onboarding_agent_errors", "Chat messages that failed, by agent and error type.", ["agent_type", "error_type"]
)
STEP_COMPLETIONS = Counter("onboarding_step_completions", "Onboarding steps completed.", ["step", "channel"])
LLM_LATENCY = Histogram(
    "anthropic_api_latency_seconds",
    "Time of one LLM provider call (retries included).",
    ["provider", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
LLM_TOKENS = Counter("anthropic_api_tokens", "Tokens Anthropic reported (and bills), by kind.", ["provider", "kind"])
# A provider that bills nothing (the offline engine) only estimates its tokens: counted apart, so that
# anthropic_api_tokens stays what Anthropic charged for.
LLM_TOKENS_ESTIMATED = Counter(
    "onboarding_llm_estimated_tokens",
    "Tokens a provider that bills none estimated for its calls (the offline engine), by kind.",
    ["provider", "kind"],
)
RESPONSE_CACHE = Counter("onboarding_llm_response_cache", "LLM response cache lookups.", ["result"])
CACHE_DEGRADED = Counter(
    "onboarding_cache_degraded",
    "Cache operations that failed (Redis down or hanging) and were skipped, by operation.",
    ["operation"],
)
DB_QUERY_TIME = Histogram(
    "onboarding_db_query_time_seconds", "Time of each database query made while serving a request.", buckets=_DB_BUCKETS
)


# The children of labelled metrics made so far: one entry per child the metric itself holds, so it grows as the
# metrics' own label sets do (agents, steps, outcomes, views, statuses; django-prometheus labels the HTTP
# metrics with the request's method as sent, which a client can vary).
_children: dict[tuple[Any, ...], Any] = {}


def labelled(metric: Any, *values: str, **named: str) -> Any:
    """``metric.labels(*values)`` (or ``labels(**named)``), kept once made: ``labels()`` checks and sorts its
    arguments and takes a lock on every call, several times a chat message."""
    key = (metric, values, *named.items()) if named else (metric, values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values, **named)
    return child


def _timed_query(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        DB_QUERY_TIME.observe(time.perf_counter() - started)


@contextmanager
def db_queries_timed() -> Iterator[None]:
    """Time every query on this thread's default connection while the block runs."""
    with connection.execute_wrapper(_timed_query):
        yield


class DbQueryTimingMiddleware:
    """Feeds ``onboarding_db_query_time_seconds`` with every query a request makes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with db_queries_timed():
            return self.get_response(request)


def tokens_count(provider: str, usage: dict[str, int], *, billed: bool = True) -> None:
    """Add one call's token usage to the counters: ``anthropic_api_tokens`` if billed, else the estimated ones."""
    counter = LLM_TOKENS if billed else LLM_TOKENS_ESTIMATED
    for kind, key in (
        ("input", "input_tokens"),
        ("output", "output_tokens"),
        ("cache_read", "cache_read_input_tokens"),
        ("cache_write", "cache_creation_input_tokens"),
    ):
        if usage.get(key):
            labelled(counter, provider, kind).inc(usage[key])


class PrometheusAfterMiddleware(middleware.PrometheusAfterMiddleware):
    """django-prometheus' ``PrometheusAfterMiddleware`` (the HTTP metrics by view, method and status), its labelled
    children kept as ``labelled`` keeps them: it calls ``labels()`` seven times a request."""

    def label_metric(self, metric: Any, request: Any, response: Any = None, **labels: Any) -> Any:
        return labelled(metric, **labels) if labels else metric
