"""Writes of onboarding state for the form flow: start, submit a step, complete, reset, erase.

Every write locks the user's row (``SELECT ... FOR UPDATE`` on PostgreSQL) inside
a short transaction, so a form submission and a chat turn never overwrite
each other's changes, and stores it through ``onboarding.state_writer``. Records
other apps keep about the onboarding follow reset and erase through
``onboarding.extensions``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction

from core.errors import ConflictError, NotFoundError
from core.metrics import STEP_COMPLETIONS
from onboarding.agent_memory import agent_memory_without
from onboarding.extensions import onboarding_dependents
from onboarding.models import OnboardingState, agent_fields_in_use
from onboarding.selectors import STATE_NOT_FOUND, onboarding_completed_steps
from onboarding.state_writer import onboarding_state_create, onboarding_state_delete, onboarding_state_save
from onboarding.steps import FIRST_STEP, LAST_STEP, STEPS, step_data_by_number, step_get, step_validate

logger = logging.getLogger(__name__)


def onboarding_state_lock(*, user: Any) -> OnboardingState:
    """The user's state, row-locked until the surrounding transaction ends."""
    state = OnboardingState.objects.select_for_update().filter(user=user).first()
    if state is None:
        raise NotFoundError(STATE_NOT_FOUND, code="onboarding_not_started")
    return state


def onboarding_start(*, user: Any) -> tuple[OnboardingState, bool]:
    """Start onboarding at step 1, or return the existing state: ``(state, created)``."""
    existing = OnboardingState.objects.filter(user=user).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            state = onboarding_state_create(
                user=user, current_step=FIRST_STEP, current_agent=step_get(FIRST_STEP).agent_type
            )
    except IntegrityError:  # a concurrent start for the same user won
        return OnboardingState.objects.get(user=user), False
    logger.info("Onboarding started for user %s", user.pk)
    return state, True


def onboarding_ensure_open(state: OnboardingState) -> None:
    """409 ``onboarding_complete`` once onboarding is finished: answers are final then (logged at WARNING)."""
    if state.is_complete:
        logger.warning("Invalid step transition for user %s: onboarding is already complete", state.user_id)
        raise ConflictError("Onboarding is already complete.", code="onboarding_complete")


def onboarding_ensure_reachable(state: OnboardingState, step: int) -> None:
    """409 ``step_not_reachable`` for a step after ``current_step`` (the guide's WARNING on an invalid transition)."""
    if step > state.current_step:
        logger.warning(
            "Invalid step transition for user %s: step %s requested at step %s", state.user_id, step, state.current_step
        )
        raise ConflictError(
            f"Step {step} is not reachable yet: finish step {state.current_step} first.", code="step_not_reachable"
        )


def onboarding_step_apply(*, state: OnboardingState, step: int, data: dict[str, Any]) -> bool:
    """Store a validated answer for ``step`` and move ``current_step`` forward if it was the current one.

    Shared by the form flow and the chat; the caller holds the row lock and saves.
    Returns True when ``current_step`` moved on.
    """
    state.step_data = {**state.step_data, str(step): data}
    if step == state.current_step and step < LAST_STEP:
        state.current_step = step + 1
        state.current_agent = step_get(state.current_step).agent_type
        return True
    return False


@transaction.atomic
def onboarding_step_submit(*, user: Any, step: int, data: Any) -> OnboardingState:
    """Validate and save one step's answer from the form flow.

    The step may be the current one or an earlier one (a correction); a later
    step is a 409. ``current_step`` only ever moves forward.
    """
    step_get(step)
    state = onboarding_state_lock(user=user)
    onboarding_ensure_open(state)
    onboarding_ensure_reachable(state, step)
    clean = step_validate(step, data, other_steps=step_data_by_number(state.step_data))
    onboarding_step_apply(state=state, step=step, data=clean)
    if agent_fields_in_use():  # a form answer replaces whatever the chat had half-collected for this step
        definition = step_get(step)
        state.agent_context = agent_memory_without(
            state.agent_context, agent_type=definition.agent_type, names=definition.field_names()
        )
    onboarding_state_save(state=state)
    transaction.on_commit(lambda: STEP_COMPLETIONS.labels(str(step), "form").inc())
    logger.info("User %s submitted step %s by form", user.pk, step)
    return state


def onboarding_finish(*, state: OnboardingState) -> None:
    """Mark the state complete; the caller has checked every step and saves."""
    state.is_complete = True
    state.current_step = LAST_STEP
    state.current_agent = None


@transaction.atomic
def onboarding_complete(*, user: Any) -> OnboardingState:
    """Finish onboarding; only when all nine steps hold valid answers."""
    state = onboarding_state_lock(user=user)
    onboarding_ensure_open(state)
    completed = set(onboarding_completed_steps(state=state))
    missing = [step for step in STEPS if step.number not in completed]
    if missing:
        raise ConflictError(
            "Onboarding cannot be completed: some steps are missing or invalid.",
            code="steps_incomplete",
            errors={f"step_{step.number}": [f"{step.title} is missing or invalid."] for step in missing},
        )
    onboarding_finish(state=state)
    onboarding_state_save(state=state)
    logger.info("User %s completed onboarding", user.pk)
    return state


@transaction.atomic
def onboarding_reset(*, state: OnboardingState) -> OnboardingState:
    """Start the user's onboarding over (admin action): answers, memory, history and dependents' records cleared."""
    state = OnboardingState.objects.select_for_update().get(pk=state.pk)
    for dependent in onboarding_dependents():
        dependent.onboarding_reset(state=state)
    state.current_step = FIRST_STEP
    state.is_complete = False
    state.step_data = {}
    state.current_agent = step_get(FIRST_STEP).agent_type
    state.agent_context = {}
    state.conversation_history = []
    onboarding_state_save(state=state)
    logger.info("Onboarding of user %s was reset", state.user_id)
    return state


@transaction.atomic
def onboarding_erase(*, user: Any) -> None:
    """Erase the user's onboarding: answers, agent memory, history, and what dependents keep about it.

    Rows hanging off the state go with it (``on_delete=CASCADE``). The state row is locked
    first, as a chat turn's commit does, so the two never deadlock.
    """
    onboarding_state_delete(state=onboarding_state_lock(user=user))
    for dependent in onboarding_dependents():
        dependent.onboarding_erased(user_id=user.pk)
    logger.info("Onboarding of user %s was erased", user.pk)
