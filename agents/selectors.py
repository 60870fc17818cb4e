"""Reads for the agent endpoints and the terminal chat."""

from __future__ import annotations

from typing import Any

from agents.context_summary import context_summary_get
from agents.registry import agent_for_step
from agents.stages import OnboardingStage
from agents.turn.memory import step_open
from agents.turn.review import review_prompt
from onboarding.selectors import onboarding_pending_step, onboarding_state_get
from onboarding.steps import step_data_by_number


def current_agent_get(*, user: Any) -> dict[str, Any]:
    """The agent for the step the user answers next, where the user stands, and what the agents collected.

    That step is ``current_step`` except after a correction that made an earlier
    answer out of date (then the chat goes back to it first). With every step
    answered, the last step's agent holds the review until the user confirms it.
    After completion there is no agent: ``agent_type`` and ``agent_description`` are
    None and ``state`` is ``completed``.
    """
    state = onboarding_state_get(user=user)
    pending = None if state.is_complete else onboarding_pending_step(state=state)
    step = pending or state.current_step
    agent = None if state.is_complete else agent_for_step(step)
    if state.is_complete:
        stage = OnboardingStage.COMPLETED
    else:
        stage = OnboardingStage.IN_PROGRESS if pending else OnboardingStage.AWAITING_CONFIRMATION
    return {
        "agent_type": agent.agent_type if agent else None,
        "current_step": step,
        "agent_description": agent.description if agent else None,
        "state": stage.value,
        "context_summary": context_summary_get(state=state),
    }


def pending_question_get(*, user: Any) -> str:
    """The question waiting for the user: the pending step's, with what it already has, or the review's.

    Nothing is saved: the state read here is thrown away.
    """
    state = onboarding_state_get(user=user)
    step = onboarding_pending_step(state=state)
    if step is None:
        return review_prompt(state=state, steps_data=step_data_by_number(state.step_data))
    return step_open(state=state, step=step)
