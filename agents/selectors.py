"""Reads for the agent endpoints."""

from __future__ import annotations

from typing import Any

from agents.registry import agent_for_step
from onboarding.selectors import onboarding_pending_step, onboarding_state_get


def current_agent_get(*, user: Any) -> dict[str, Any]:
    """The agent for the step the user answers next, and what the agents remember.

    That step is ``current_step`` except after a correction that made an earlier
    answer out of date (then the chat goes back to it first).
    """
    state = onboarding_state_get(user=user)
    pending = None if state.is_complete else onboarding_pending_step(state=state)
    agent = None if pending is None else agent_for_step(pending)
    return {
        "agent_type": agent.agent_type if agent else None,
        "current_step": pending or state.current_step,
        "agent_description": agent.description if agent else None,
        "context_summary": state.agent_context,
    }
