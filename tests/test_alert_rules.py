"""The shipped Prometheus alert rules use the guide's thresholds and metrics the service exports."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from django.test import Client

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
