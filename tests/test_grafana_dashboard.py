"""The Grafana dashboard (docs/grafana-dashboard.json) queries only metrics the service exports.

Its PromQL is read, every metric name in it extracted, and each must have samples on
``/metrics`` after some traffic: a form answer, an offline chat turn and a chat turn with Claude
(the fake server). The four panels of the deployment guide draw its targets and alert thresholds,
the same as the alert rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client
from rest_framework.test import APIClient

from agents.llm import llm_provider_reset
from devtools.fake_anthropic import FakeAnthropicServer, Reply, ToolCall

DOCS = Path(__file__).resolve().parent.parent / "docs"
DASHBOARD = DOCS / "grafana-dashboard.json"
RULES = DOCS / "prometheus-alerts.yml"
# Series Prometheus makes itself for each scrape target: never on /metrics.
PROMETHEUS_OWN = {"up"}
# Words of PromQL that look like names: aggregation modifiers, set operators, number literals.
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool"}
_KEYWORDS |= {"inf", "nan"}
# metric -> (target, alert), from the deployment guide's "Monitoring Metrics".
GUIDE = {
    "onboarding_agent_response_time_seconds": (2, 5),
    "onboarding_agent_errors_total": (0.01, 0.05),
    "anthropic_api_latency_seconds": (1.5, 3),
    "onboarding_db_query_time_seconds": (0.1, 0.5),
}
# The alert rule that watches each of those metrics.
ALERTS = {
    "onboarding_agent_response_time_seconds": "OnboardingAgentSlow",
    "onboarding_agent_errors_total": "OnboardingAgentErrorRate",
    "anthropic_api_latency_seconds": "AnthropicLatencyHigh",
    "onboarding_db_query_time_seconds": "OnboardingDatabaseSlow",
}


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, labels, keywords and numbers left out)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range and subquery durations
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][\w:]*", expr):
        if match.group().lower() in _KEYWORDS or expr[match.end() :].lstrip().startswith("("):
            continue  # a keyword, or a function called
        names.add(match.group())
    return names


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def _queries() -> dict[str, list[str]]:
    """Panel title -> the PromQL of its queries."""
    return {
        panel["title"]: [target["expr"] for target in panel.get("targets", [])]
        for panel in _panels(_dashboard()["panels"])
        if panel.get("targets")
    }


def _family(name: str) -> str:
    return re.sub(r"_(bucket|count|sum)$", "", name)


def test_the_extractor_finds_metric_names_and_nothing_else() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, provider) (rate(a_seconds_bucket{job="$job", le!="+Inf"}[5m])))'
        " / clamp_min(sum without (instance) (increase(b_total[1h] offset 1d)), 1e-9) * on (job) group_left up"
    )

    assert promql_metric_names(expr) == {"a_seconds_bucket", "b_total", "up"}


@pytest.fixture
def traffic(
    started: APIClient,
    answers: dict,
    fake_claude: FakeAnthropicServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """A form answer, a refused and an answered offline chat message, then a chat turn with Claude (the fake server)."""
    assert started.post("/api/v1/onboarding/chat", {"message": ""}, format="json").status_code == 422
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            started.post("/api/v1/onboarding/step", {"step": 1, "data": answers[1]}, format="json").status_code == 200
        )
        assert (
            started.post("/api/v1/onboarding/chat", {"message": "none, no injuries"}, format="json").status_code == 200
        )
        settings.LLM_PROVIDER, settings.ANTHROPIC_API_KEY = "anthropic", "test-key"
        settings.ANTHROPIC_BASE_URL = fake_claude.url
        llm_provider_reset()
        try:
            fake_claude.enqueue(
                Reply(text="Noted", tool_calls=[ToolCall("record_fitness_level", {"fitness_level": "beginner"})])
            )
            reply = started.post("/api/v1/onboarding/chat", {"message": "beginner", "step": 1}, format="json")
            assert reply.status_code == 200
        finally:
            llm_provider_reset()


def test_every_metric_the_dashboard_queries_is_on_metrics(traffic: None) -> None:
    exposition = Client().get("/metrics").content.decode()
    used = {name for exprs in _queries().values() for expr in exprs for name in promql_metric_names(expr)}

    # the guide's four, the request and error counters and both token counters are drawn
    assert {
        "onboarding_agent_response_time_seconds_bucket",
        "onboarding_agent_errors_total",
        "onboarding_agent_requests_total",
        "anthropic_api_latency_seconds_bucket",
        "onboarding_db_query_time_seconds_bucket",
        "anthropic_api_tokens_total",
        "onboarding_llm_estimated_tokens_total",
    } <= used
    missing = [
        name
        for name in sorted(used - PROMETHEUS_OWN)
        if not re.search(rf"^{re.escape(name)}[{{ ]", exposition, re.MULTILINE)
    ]
    assert missing == [], f"the dashboard queries metrics /metrics does not export: {missing}"


def test_the_guides_four_metrics_draw_its_target_and_alert_threshold() -> None:
    rules = {
        rule["alert"]: " ".join(rule["expr"].split())
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
    }
    panels = list(_panels(_dashboard()["panels"]))

    for metric, (target, alert) in GUIDE.items():
        [panel] = [
            p
            for p in panels
            if p.get("fieldConfig", {}).get("defaults", {}).get("custom", {}).get("thresholdsStyle", {}).get("mode")
            not in (None, "off")
            and any(metric in {_family(n) for n in promql_metric_names(t["expr"])} for t in p["targets"])
        ]
        steps = [step["value"] for step in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]
        assert steps == [None, target, alert], panel["title"]
        assert rules[ALERTS[metric]].endswith(f"> {alert}"), "the dashboard and the alert rule agree"


def test_the_dashboard_selects_the_scrape_job_the_alerts_expect() -> None:
    rules = RULES.read_text()
    [job] = re.findall(r'up\{job="([^"]+)"\}', rules)
    variable = next(v for v in _dashboard()["templating"]["list"] if v["name"] == "job")

    assert variable["current"]["value"] == job == "shuren-onboarding"
    for title, exprs in _queries().items():
        for expr in exprs:
            assert 'job="$job"' in expr, f"{title}: {expr}"
