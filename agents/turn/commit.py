"""Phase 3 of a turn: the message, the reply, the values and the step change saved at once.

It saves on the state read before the LLM call unless that row has changed since, and
releases the turn lock with the same write (one statement on PostgreSQL); on any failure
nothing is saved.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass

from django.db import transaction

from agents.llm import LLMResponse
from agents.turn import locks
from agents.turn.memory import history_added
from agents.turn.metrics import step_completed_count
from agents.turn.prepare import TurnPlan
from agents.turn.reply import ChatReply
from agents.turn.step_machine import steps_advance
from core.errors import ServiceError
from onboarding.models import OnboardingState
from onboarding.state_writer import HistoryAppend, onboarding_state_save

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnResult:
    """The reply of a finished turn and the text of it that was not streamed yet."""

    reply: ChatReply
    unstreamed: str = ""


class _StateChangedError(Exception):
    """Nothing saved on the turn's read: the state row changed since, or the turn's lock is gone (the fallback,
    on a locked fresh read, tells which)."""


def turn_commit(*, plan: TurnPlan, response: LLMResponse) -> TurnResult:
    """Save the turn on the state read before the LLM call, or on a fresh read if it has changed since.

    The turn lock keeps other chat turns out, but a form answer, completion, purge or
    admin action may have written the row meanwhile (the state writer moves ``updated_at``
    on each). The save is conditional on ``updated_at`` being what was read; when it
    matches nothing, or the turn was refused on what may be stale data, the turn is
    redone (the LLM is not called again) on the row read afresh with ``SELECT ... FOR
    UPDATE``. The usual turn thus needs no second read of the state.
    """
    try:
        return _turn_save_read(plan, response)
    except _StateChangedError:
        pass
    except ServiceError:
        if OnboardingState.objects.filter(pk=plan.state_id, updated_at=plan.state_read_at).exists():
            raise
    logger.info(
        "State of user %s changed during the LLM call (or the turn's lock is gone); saving on a fresh read",
        plan.user_id,
    )
    return _turn_save_locked(plan, response)


def _turn_save_read(plan: TurnPlan, response: LLMResponse) -> TurnResult:
    """The turn saved on the state read before the LLM call, if nobody wrote it since and the turn still holds
    its lock, which the save deletes: on PostgreSQL one statement (``onboarding_state_save``'s claim), in a
    transaction with the idempotency record when the request has a key."""
    state = plan.state
    complete, result, history = _turn_apply(plan, response, state)
    claim = locks.turn_lock_claim(state_id=plan.state_id, token=plan.lock_token)
    with transaction.atomic() if plan.idempotency_key is not None else nullcontext():
        if not onboarding_state_save(state=state, unchanged_since=plan.state_read_at, claim=claim, history=history):
            raise _StateChangedError
        _idempotency_record_create(plan, result.reply)
    if complete:
        transaction.on_commit(lambda: step_completed_count(user_id=plan.user_id, step=plan.step))
    return result


@transaction.atomic
def _turn_save_locked(plan: TurnPlan, response: LLMResponse) -> TurnResult:
    """The turn saved on the state read afresh under its row lock (the lock row deleted first)."""
    # The history is added to by the save, not read (on SQLite the save fetches it)
    state = OnboardingState.objects.select_for_update().defer("conversation_history").filter(pk=plan.state_id).first()
    if state is None or not locks.turn_lock_delete(state_id=plan.state_id, token=plan.lock_token):
        raise locks.turn_lock_lost(state_id=plan.state_id)
    complete, result, history = _turn_apply(plan, response, state)
    if not onboarding_state_save(state=state, history=history):
        raise _StateChangedError
    _idempotency_record_create(plan, result.reply)
    if complete:
        transaction.on_commit(lambda: step_completed_count(user_id=plan.user_id, step=plan.step))
    return result


def _turn_apply(
    plan: TurnPlan, response: LLMResponse, state: OnboardingState
) -> tuple[bool, TurnResult, HistoryAppend]:
    """The turn applied to ``state`` in memory (the step machine): whether the step was completed, the reply,
    and the entries the save adds to the history."""
    advanced = steps_advance(plan=plan, response=response, state=state)
    usage = {"usage": response.usage.as_dict(), "model": response.model}
    history = history_added(
        step=plan.step,
        agent_type=plan.agent.agent_type,
        entries=[
            {"role": "user", "content": plan.message},
            {"role": "assistant", "content": advanced.message, **usage},
        ],
    )
    reply = ChatReply(
        message=advanced.message,
        agent_type=plan.agent.agent_type,
        current_step=plan.step,
        step_complete=advanced.outcome.complete,
        next_action=advanced.next_action,
        next_step=advanced.next_step,
        next_agent_type=state.current_agent,
        is_complete=state.is_complete,
        awaiting_confirmation=advanced.awaiting_confirmation,
        saved=advanced.outcome.accepted,
        errors=advanced.outcome.errors,
    )
    text = advanced.message
    streamed = "" if response.compose_reply or not text.startswith(response.text) else response.text
    return advanced.outcome.complete, TurnResult(reply=reply, unstreamed=text[len(streamed) :]), history


def _idempotency_record_create(plan: TurnPlan, reply: ChatReply) -> None:
    if plan.idempotency_key is not None:
        locks.idempotency_record_create(
            state_id=plan.state_id, key=plan.idempotency_key, request_hash=plan.request_hash, reply=reply
        )
