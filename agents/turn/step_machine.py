"""What a turn does to the steps: apply the LLM's extracted values, complete the step, move on, and say so.

The step state machine of the chat: a step collects values until its whole answer
validates; then it is saved and the next pending step opens (the first step not
answered validly, which may be an earlier one a correction made out of date); when
none is pending, onboarding is complete. Everything here changes the state object in
memory; the commit saves it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from agents import wording
from agents.base import StepOutcome, problem_text
from agents.llm import LLMResponse
from agents.registry import agent_for_step
from agents.turn.memory import memory_update, step_open
from agents.turn.prepare import TurnPlan
from agents.turn.reply import NextAction
from onboarding.models import OnboardingState
from onboarding.selectors import onboarding_completed_steps, onboarding_pending_step
from onboarding.services import onboarding_ensure_open, onboarding_finish, onboarding_step_apply
from onboarding.steps import step_data_by_number, step_get

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepsAdvanced:
    """The outcome of a turn for the steps, and the reply that tells the user."""

    outcome: StepOutcome
    next_action: NextAction
    next_step: int | None  # the step pending now; None when onboarding is complete
    message: str


def extracted_values(*, plan: TurnPlan, response: LLMResponse) -> dict[str, Any]:
    """The values the LLM sent with this step's tool (calls of any other tool are ignored)."""
    tool_name = plan.agent.tool_name(plan.step)
    values: dict[str, Any] = {}
    for call in response.tool_calls:
        if call.name == tool_name:
            values.update(call.input)
        else:
            logger.warning("LLM called unexpected tool %s at step %s; ignored", call.name, plan.step)
    return values


def reply_parts(*, plan: TurnPlan, response: LLMResponse, outcome: StepOutcome, extracted: dict[str, Any]) -> list[str]:
    """What the agent says, before any step change is announced.

    Claude's text when it wrote some; otherwise (the offline engine, or a reply
    that was only a tool call) the agent phrases it. Refused values are always
    explained by the server, whatever the model said.
    """
    agent, step = plan.agent, plan.step
    composed = response.compose_reply or not response.text.strip()
    parts: list[str] = []
    if not composed:
        parts.append(response.text)
    elif not extracted and not outcome.errors:
        parts.append(agent.no_answer(plan.message))
    else:
        parts.append(agent.acknowledge(step, outcome.accepted))
    if outcome.errors:
        problems = [problem_text(step_get(step), name, messages) for name, messages in outcome.errors.items()]
        parts.append(wording.reply_not_saved(problems))
    parts.extend(outcome.notes)
    if composed and not outcome.complete:
        parts.append(agent.proposal_text(step, outcome.draft) or agent.ask_missing(step, outcome.draft))
    return parts


def steps_advance(*, plan: TurnPlan, response: LLMResponse, state: OnboardingState) -> StepsAdvanced:
    """Apply the turn to ``state``: validated values, memory, the step's completion and the next step."""
    onboarding_ensure_open(state)  # the form flow may have completed it meanwhile
    extracted = extracted_values(plan=plan, response=response)
    outcome = plan.agent.apply_step(plan.step, plan.draft, extracted, step_data_by_number(state.step_data))
    parts = reply_parts(plan=plan, response=response, outcome=outcome, extracted=extracted)

    for number, data in outcome.other_steps.items():
        state.step_data = {**state.step_data, str(number): data}
        memory_update(state=state, agent=agent_for_step(number), step=number, values=data)
    memory_update(state=state, agent=plan.agent, step=plan.step, values=outcome.complete_data or outcome.draft)
    if outcome.complete_data is not None:
        onboarding_step_apply(state=state, step=plan.step, data=outcome.complete_data)

    pending = onboarding_pending_step(state=state, completed=onboarding_completed_steps(state=state))
    next_action = NextAction.CONTINUE
    if pending is None:
        onboarding_finish(state=state)
        next_action = NextAction.COMPLETE_ONBOARDING
        parts.append(wording.reply_onboarding_complete())
    elif outcome.complete:
        next_action = NextAction.ADVANCE_STEP
        if pending < state.current_step:
            parts.append(wording.reply_needs_another_look(step_get(pending).title))
        parts.append(step_open(state=state, step=pending))
    state.current_agent = None if pending is None else agent_for_step(pending).agent_type
    message = "\n\n".join(part for part in parts if part)
    return StepsAdvanced(outcome=outcome, next_action=next_action, next_step=pending, message=message)
