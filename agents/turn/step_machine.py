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
from agents.turn.guards import GuardedValues, message_is_question, values_guard
from agents.turn.memory import memory_update, step_open
from agents.turn.prepare import TurnPlan
from agents.turn.reply import NextAction
from agents.turn.review import message_confirms, review_confirmed, review_prompt
from onboarding.models import OnboardingState
from onboarding.selectors import onboarding_completed_steps, onboarding_pending_step
from onboarding.services import onboarding_ensure_open, onboarding_finish, onboarding_step_apply
from onboarding.steps import LAST_STEP, step_data_by_number, step_fields_validate, step_get

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepsAdvanced:
    """The outcome of a turn for the steps, and the reply that tells the user."""

    outcome: StepOutcome
    next_action: NextAction
    next_step: int | None  # the step pending now; None when onboarding is complete
    message: str
    awaiting_confirmation: bool = False  # every step is answered and the summary waits for a yes


def extracted_values(*, plan: TurnPlan, response: LLMResponse) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """The values sent with this step's tool, and those sent for later steps' tools (by step).

    An answer that covers a later step ("...and I train at the gym 4 days a week") is kept for
    that step, and confirmed when it opens. Calls for earlier steps are ignored: a correction
    names its step.
    """
    tool_name = plan.agent.tool_name(plan.step)
    values: dict[str, Any] = {}
    for call in response.tool_calls:
        if call.name == tool_name:
            values.update(call.input)
        else:
            logger.warning("LLM called unexpected tool %s at step %s; ignored", call.name, plan.step)
    offered = {tool["name"] for tool in plan.request.lookahead_tools}
    later: dict[int, dict[str, Any]] = {}
    for call in response.lookahead_calls:
        step = next((n for n in range(plan.step + 1, LAST_STEP + 1) if agent_for_step(n).tool_name(n) == call.name), 0)
        if call.name in offered and step:
            later.setdefault(step, {}).update(call.input)
    return values, later


def _later_steps_keep(*, state: OnboardingState, plan: TurnPlan, later: dict[int, dict[str, Any]]) -> None:
    """Keep the valid values stated for later, not yet answered steps in their agents' memory (not as answers)."""
    answered = set(onboarding_completed_steps(state=state))
    for step, values in later.items():
        if step in answered or message_is_question(plan.message):
            continue
        accepted, _errors = step_fields_validate(step, values)
        if accepted:
            agent = agent_for_step(step)
            memory = state.agent_context.get(agent.context_key, {})
            memory_update(state=state, agent=agent, step=step, values={**memory, **accepted})


def reply_parts(
    *,
    plan: TurnPlan,
    response: LLMResponse,
    outcome: StepOutcome,
    extracted: dict[str, Any],
    guarded: GuardedValues,
    confirming: bool = False,
) -> list[str]:
    """What the agent says, before any step change is announced.

    Claude's text when it wrote some; otherwise (the offline engine, or a reply
    that was only a tool call) the agent phrases it. Refused values are always
    explained by the server, whatever the model said. A yes to the review summary
    (``confirming``) carries no answer, and gets no "didn't catch an answer" either.
    """
    agent, step = plan.agent, plan.step
    composed = response.compose_reply or not response.text.strip()
    # With a composed reply, a text is the engine's answer to a question the message asked (the FAQ's).
    answered = response.text.strip() if response.compose_reply else ""
    parts: list[str] = []
    if not composed:
        parts.append(response.text)
    elif answered:
        parts.append(answered)
    if composed and (extracted or outcome.errors):
        parts.append(agent.acknowledge(step, outcome.accepted))
    elif composed and not answered and not confirming:
        parts.append(agent.no_answer(plan.message))
    if outcome.complete_data is not None and outcome.complete_data.get("approved") is True:
        parts.append(wording.reply_approved(step_get(step).title))
    for name, items in guarded.removed.items():
        parts.append(wording.reply_removed(step_get(step).spec(name).label(), items))
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
    in_review = onboarding_pending_step(state=state) is None
    extracted, later = extracted_values(plan=plan, response=response)
    confirming = in_review and message_confirms(plan.message)
    if confirming:
        extracted = {}  # a plain yes to the summary carries no answer (not "yes" to supplements)
    guarded = values_guard(step=plan.step, message=plan.message, values=extracted, known=plan.draft)
    if extracted != guarded.values:
        logger.info("Guards changed the values sent at step %s for user %s", plan.step, plan.user_id)
    outcome = plan.agent.apply_step(plan.step, plan.draft, guarded.values, step_data_by_number(state.step_data))
    parts = reply_parts(
        plan=plan, response=response, outcome=outcome, extracted=guarded.values, guarded=guarded, confirming=confirming
    )
    _later_steps_keep(state=state, plan=plan, later=later)

    for number, data in outcome.other_steps.items():
        state.step_data = {**state.step_data, str(number): data}
        memory_update(state=state, agent=agent_for_step(number), step=number, values=data)
    memory_update(state=state, agent=plan.agent, step=plan.step, values=outcome.complete_data or outcome.draft)
    if outcome.complete_data is not None:
        onboarding_step_apply(state=state, step=plan.step, data=outcome.complete_data)

    pending = onboarding_pending_step(state=state, completed=onboarding_completed_steps(state=state))
    next_action = NextAction.CONTINUE
    awaiting = False
    if pending is None and in_review and review_confirmed(state=state, message=plan.message):
        onboarding_finish(state=state)
        next_action = NextAction.COMPLETE_ONBOARDING
        parts.append(wording.reply_onboarding_complete())
    elif pending is None:
        awaiting = True
        parts.append(review_prompt(state=state, steps_data=step_data_by_number(state.step_data)))
    elif outcome.complete:
        next_action = NextAction.ADVANCE_STEP
        if pending < state.current_step:
            parts.append(wording.reply_needs_another_look(step_get(pending).title))
        parts.append(step_open(state=state, step=pending))
    if state.is_complete:
        state.current_agent = None
    else:
        state.current_agent = agent_for_step(pending or state.current_step).agent_type
    message = "\n\n".join(part for part in parts if part)
    return StepsAdvanced(
        outcome=outcome,
        next_action=next_action,
        next_step=pending if pending is not None or state.is_complete else state.current_step,
        message=message,
        awaiting_confirmation=awaiting,
    )
