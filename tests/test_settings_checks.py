"""Start-up refuses unsafe production settings, and steps outside 1..9 are invalid everywhere."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agents.registry import agent_for_step
from onboarding.steps import step_get
from tests.conftest import environ_without, run_django

ROOT = Path(__file__).resolve().parent.parent


def _start(**env: str) -> subprocess.CompletedProcess[str]:
    base = environ_without("SHUREN_DEV_DEFAULTS", "SECRET_KEY", "DEBUG")
    return run_django(["-c", "import django; django.setup()"], {**base, "LLM_PROVIDER": "offline", **env})


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _start(DEBUG="False")

    assert result.returncode != 0
    assert "SECRET_KEY is not configured" in result.stderr


def test_production_refuses_a_wildcard_allowed_hosts() -> None:
    result = _start(DEBUG="False", SECRET_KEY="x" * 50, ALLOWED_HOSTS="*")

    assert result.returncode != 0
    assert "ALLOWED_HOSTS must not contain '*'" in result.stderr


def test_an_unknown_llm_provider_is_refused() -> None:
    result = _start(DEBUG="False", SECRET_KEY="x" * 50, LLM_PROVIDER="gpt")

    assert result.returncode != 0
    assert "LLM_PROVIDER must be 'anthropic' or 'offline'" in result.stderr


def test_production_starts_with_a_secret_and_explicit_hosts() -> None:
    assert _start(DEBUG="False", SECRET_KEY="x" * 50, ALLOWED_HOSTS="api.shuren.app").returncode == 0


@pytest.mark.parametrize("step", [0, 10, -1, True])
def test_steps_outside_one_to_nine_are_invalid(step: int) -> None:
    with pytest.raises(ValueError, match=f"Invalid onboarding step: {step}"):
        step_get(step)
    with pytest.raises(ValueError, match="Invalid onboarding step"):
        agent_for_step(step)
