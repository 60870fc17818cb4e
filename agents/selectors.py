"""Reads for the agent endpoints."""

from __future__ import annotations

from typing import Any

from agents.registry import agent_for_step
from onboarding.selectors import onboarding_state_get


def current_agent_get(*, user: Any) -> dict[str, Any]:
    """The agent for the user's current step and what the agents remember."""
    state = onboarding_state_get(user=user)
    agent = None if state.is_complete else agent_for_step(state.current_step)
    return {
        "agent_type": agent.agent_type if agent else None,
        "current_step": state.current_step,
        "agent_description": agent.description if agent else None,
        "context_summary": state.agent_context,
    }
