"""The shipped Prometheus alert rules use the guide's thresholds and metrics the service exports."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from django.test import Client
from rest_framework.test import APIClient

RULES = Path(__file__).resolve().parent.parent / "docs" / "prometheus-alerts.yml"


def _rules() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: " ".join(rule["expr"].split()) for group in groups for rule in group["rules"]}


def test_the_guides_thresholds_are_alerted_on() -> None:
    rules = _rules()

    assert rules["OnboardingAgentSlow"].endswith("> 5")
    assert rules["OnboardingAgentErrorRate"].endswith("> 0.05")
    assert rules["AnthropicLatencyHigh"].endswith("> 3")
    assert rules["OnboardingDatabaseSlow"].endswith("> 0.5")


def test_every_metric_in_the_rules_is_exported(db: None) -> None:
    exported = Client().get("/metrics").content.decode()
    used = {name for expr in _rules().values() for name in re.findall(r"\b(onboarding_\w+|anthropic_\w+)", expr)}

    assert used
    for name in used:
        family = name.removesuffix("_bucket")
        assert re.search(rf"^# TYPE {family}\b", exported, re.MULTILINE), name


def test_the_error_rate_alert_leaves_out_the_chats_refused_while_the_agents_are_off(
    started: APIClient, settings: Any
) -> None:
    # Given the agents switched off for the rollback runbook, and a client that keeps sending messages
    settings.AGENTS_ENABLED = False

    # When it sends one
    assert started.post("/api/v1/onboarding/chat", {"message": "hi"}, format="json").status_code == 503
    exported = Client().get("/metrics").content.decode()

    # Then it is counted under the very label values the alert leaves out, and only those (a 100 % error rate
    # for the whole rollback would page on a planned operation)
    assert re.search(r'^onboarding_agent_errors_total\{[^}]*error_type="agents_disabled"[^}]*\} [1-9]', exported, re.M)
    assert re.search(r'^onboarding_agent_requests_total\{[^}]*status="agents_disabled"[^}]*\} [1-9]', exported, re.M)
    rule = _rules()["OnboardingAgentErrorRate"]
    assert re.findall(r"\{([^}]*)\}", rule) == ['error_type!="agents_disabled"', 'status!="agents_disabled"']
