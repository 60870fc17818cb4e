"""Phase 1 of a turn: take the turn lock, read the state once, check the message and build the LLM request."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from accounts.authentication import account_ensure_active
from agents.base import BaseAgent
from agents.llm import LLMRequest
from agents.registry import agent_for_step, agent_route
from agents.turn import locks
from agents.turn.memory import draft_get, draft_with_proposal, history_window
from agents.turn.reply import ChatReply
from agents.turn.review import review_step_for
from core.errors import NotFoundError
from onboarding.models import OnboardingState
from onboarding.selectors import (
    STATE_NOT_FOUND,
    onboarding_completed_steps,
    onboarding_pending_step,
    onboarding_state_get,
    onboarding_state_with_history_tail,
)
from onboarding.services import onboarding_ensure_open, onboarding_ensure_reachable
from onboarding.steps import LAST_STEP, StepData, step_data_by_number, step_get


@dataclass
class TurnPlan:
    """A turn prepared for the LLM call: who, which step, what is sent, and the lock held."""

    state_id: int
    state: OnboardingState  # as read under the turn lock, before the LLM call (history deferred on PostgreSQL)
    state_read_at: datetime  # its updated_at then: the commit saves onto it only if still the same
    user_id: int
    step: int
    agent: BaseAgent
    message: str
    draft: StepData
    request: LLMRequest
    lock_token: uuid.UUID
    idempotency_key: str | None
    request_hash: str


def turn_target(*, state: OnboardingState, step: int | None, message: str = "") -> int:
    """The step a message is for: the one named, else the step waiting for an answer (404/409 if none may be).

    With every step answered (the review), a correction goes to the step it names.
    """
    onboarding_ensure_open(state)
    if step is None:
        pending = onboarding_pending_step(state=state)
        step = pending or (review_step_for(message) if message else None) or state.current_step
    target = step
    step_get(target)
    onboarding_ensure_reachable(state, target)
    return target


def _lookahead_tools(*, state: OnboardingState, step: int) -> list[dict[str, Any]]:
    """The tools of the steps after ``step`` not answered yet, for engines that read ahead."""
    answered = set(onboarding_completed_steps(state=state))
    later = [number for number in range(step + 1, LAST_STEP + 1) if number not in answered]
    return [_step_tool(number) for number in later]


@functools.cache
def _step_tool(step: int) -> dict[str, Any]:
    """A step's tool definition: built from the step definition, the same for every turn."""
    return agent_for_step(step).tool(step)


@functools.cache
def _step_prompt(step: int) -> str:
    """A step's static system prompt (its agent's, for that step): the same for every turn and user."""
    return agent_for_step(step).system_static(step)


def turn_caches_warm() -> None:
    """Build every step's tool and static prompt now: a worker does it before its first turn (``shuren.warmup``)."""
    for step in range(1, LAST_STEP + 1):
        _step_tool(step)
        _step_prompt(step)


def _turn_refused(*, user: Any, step: int | None, idempotency_key: str | None, request_hash: str) -> ChatReply:
    """Why the turn lock was not taken: 401 account gone, 404 not started, a stored reply, another 4xx, or 409."""
    state = onboarding_state_get(user=account_ensure_active(user))
    replay = locks.idempotent_replay(state_id=state.pk, key=idempotency_key, request_hash=request_hash)
    if replay is not None:  # the resent request finished while another message is being answered
        return replay
    turn_target(state=state, step=step)  # the error this message would get anyway comes first
    raise locks.turn_in_progress()


def connection_release(*, pooled_only: bool = False) -> None:
    """Give this thread's database connection back now (to the pool, or closed), unless a transaction holds it.

    A turn's queries come in two short bursts (the lock and the read; the save) around Python work and
    the LLM call. Under load a thread waits its turn for the GIL while it works, so a connection held
    through that work sits idle while other threads wait for one: given back after each burst, the pool
    serves the queries, not the Python. A query after it takes a connection again. ``pooled_only``: only a
    pooled connection, not a persistent one of the thread's own (``CONN_MAX_AGE`` without the pool), which
    the next request would reuse.
    """
    db = connections[DEFAULT_DB_ALIAS]
    if db.in_atomic_block or (pooled_only and getattr(db, "pool", None) is None):
        return
    db.close()


def turn_prepare(*, user: Any, message: str, step: int | None, idempotency_key: str | None) -> TurnPlan | ChatReply:
    """Take the turn lock, then read and check; returns the plan, or a stored reply to replay.

    The lock comes first so the state is read once, already under it: no turn of this user can
    finish (store this key, move the step) between the read and the LLM call. ``user`` may be a
    ``TokenAccount`` (not loaded): taking the lock checks the account is active.
    """
    request_hash = locks.request_hash(message=message, step=step)
    locked = locks.turn_lock_acquire(user_id=user.pk)
    if locked is None:
        return _turn_refused(user=user, step=step, idempotency_key=idempotency_key, request_hash=request_hash)
    state_id, token = locked
    try:
        read = onboarding_state_with_history_tail(state_id=state_id, entries=settings.LLM_HISTORY_MESSAGES)
        if read is None:  # erased just now (the lock went with it)
            raise NotFoundError(STATE_NOT_FOUND, code="onboarding_not_started")
        state, history = read
        replay = locks.idempotent_replay(state_id=state_id, key=idempotency_key, request_hash=request_hash)
        if replay is not None:
            locks.turn_lock_release(state_id=state_id, token=token)
            return replay
        target = turn_target(state=state, step=step, message=message)
        agent = agent_route(user_id=user.pk, step=target)
        connection_release()  # building the LLM request is Python only: no connection held through it
        steps_data = step_data_by_number(state.step_data)
        draft = draft_get(state=state, agent=agent, step=target)
        draft = draft_with_proposal(agent=agent, step=target, steps_data=steps_data, draft=draft)
        request = LLMRequest(
            system_static=_step_prompt(target),
            system_dynamic=agent.system_dynamic(target, steps_data, draft),
            tools=[_step_tool(target)],
            messages=history_window(history=history, message=message),
            step=target,
            draft=draft,
            user_id=user.pk,
            lookahead_tools=_lookahead_tools(state=state, step=target),
        )
    except BaseException:
        locks.turn_lock_release(state_id=state_id, token=token)
        raise
    return TurnPlan(
        state_id=state_id,
        state=state,
        state_read_at=state.updated_at,
        user_id=user.pk,
        step=target,
        agent=agent,
        message=message,
        draft=draft,
        request=request,
        lock_token=token,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )
