"""The agents' memory and the draft: what a step has collected so far, and the conversation kept with it.

``agent_context`` holds each agent's half-collected answers (keyed by
``onboarding.agent_memory.agent_memory_key``); the draft of a step is its saved
answer overlaid by that memory. These functions change the state object in
memory only; the turn's commit saves it, and adds the turn's entries to the
conversation (``history_added``) with the same write.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.utils import timezone

from agents import wording
from agents.base import BaseAgent
from agents.registry import agent_for_step
from core.errors import UnprocessableError
from onboarding.models import OnboardingState
from onboarding.state_writer import HistoryAppend
from onboarding.steps import AllStepData, StepData, step_data_by_number, step_get, step_missing_fields

logger = logging.getLogger(__name__)

AGENT_CONTEXT_MAX_BYTES = 64 * 1024


def draft_get(*, state: OnboardingState, agent: BaseAgent, step: int) -> StepData:
    """The step's answer so far: what was saved, overlaid by what the agent has collected since."""
    names = step_get(step).field_names()
    memory = state.agent_context.get(agent.context_key, {})
    saved = step_data_by_number(state.step_data).get(step, {})
    return {**saved, **{key: value for key, value in memory.items() if key in names}}


def draft_with_proposal(*, agent: BaseAgent, step: int, steps_data: AllStepData, draft: StepData) -> StepData:
    """The draft with the server's proposal for the step applied (a None in it withdraws a value)."""
    merged = {**draft, **agent.propose(step, steps_data, draft)}
    return {key: value for key, value in merged.items() if value is not None}


def memory_update(*, state: OnboardingState, agent: BaseAgent, step: int, values: StepData) -> None:
    """Write a step's fields (and only them) into the agent's memory, within the size cap (422 beyond it)."""
    names = set(step_get(step).field_names())
    memory = {key: value for key, value in state.agent_context.get(agent.context_key, {}).items() if key not in names}
    memory.update({key: value for key, value in values.items() if key in names})
    context = {**state.agent_context, agent.context_key: memory}
    if len(json.dumps(context).encode()) > AGENT_CONTEXT_MAX_BYTES:
        raise UnprocessableError(wording.error_context_too_large(), code="context_too_large")
    state.agent_context = context
    logger.debug("Updated agent context for user %s: %s", state.user_id, sorted(memory))


def step_open(*, state: OnboardingState, step: int) -> str:
    """Enter ``step``: remember the server's proposal (if any) and return the agent's opening question.

    Answers the user gave for this step earlier in the conversation (kept in the agent's
    memory, not yet saved) are repeated back and confirmed rather than asked from scratch.
    """
    agent = agent_for_step(step)
    steps_data = step_data_by_number(state.step_data)
    draft = draft_get(state=state, agent=agent, step=step)
    proposed = draft_with_proposal(agent=agent, step=step, steps_data=steps_data, draft=draft)
    if proposed != draft:
        memory_update(state=state, agent=agent, step=step, values=proposed)
    saved = steps_data.get(step, {})
    carried = {name: value for name, value in draft.items() if saved.get(name) != value and name != "approved"}
    told = agent.acknowledge(step, carried) and [
        wording.noted_value(step_get(step).spec(name).label(), step_get(step).spec(name).display(value), value)
        for name, value in carried.items()
        if name != "plan"
    ]
    if not told:
        return agent.opening(step, proposed, steps_data)
    if step_missing_fields(step, proposed):
        return f"{wording.reply_carried(told)} {agent.ask_missing(step, proposed)}"
    return f"{wording.reply_carried(told)} {wording.reply_confirm_carried()}"


def history_window(*, history: list[dict[str, Any]], message: str) -> list[dict[str, str]]:
    """What the LLM is sent: the last ``LLM_HISTORY_MESSAGES`` entries plus the new message, from a user turn."""
    window = [
        {"role": entry["role"], "content": entry["content"]}
        for entry in history[-settings.LLM_HISTORY_MESSAGES :]
        if entry.get("role") in ("user", "assistant") and entry.get("content")
    ]
    while window and window[0]["role"] != "user":
        window.pop(0)
    return [*window, {"role": "user", "content": message}]


def history_added(*, step: int, agent_type: str, entries: list[dict[str, Any]]) -> HistoryAppend:
    """The turn's message and reply (``role``, ``content`` and extras), stamped, to add to the kept conversation
    when the state is saved (its last ``CONVERSATION_HISTORY_MAX_ENTRIES`` entries are kept)."""
    now = timezone.now().isoformat()
    stamped = [
        {"role": entry["role"], "content": entry["content"], "timestamp": now, "step": step, "agent_type": agent_type}
        | entry
        for entry in entries
    ]
    return HistoryAppend(entries=stamped, keep=settings.CONVERSATION_HISTORY_MAX_ENTRIES)
