"""The chat turn: route to the agent, ask the LLM, validate what it extracted, save it all at once.

A turn has three phases:

1. ``_turn_prepare``: a per-user turn lock row (a second concurrent message
   for the same user gets 409 ``turn_in_progress`` without reaching the LLM),
   then one read of the state. The database connection is then released.
2. The LLM call, with no transaction, row lock or connection held.
3. ``_turn_commit``: one short transaction that saves the user message, the
   reply, the validated values, the step change and the idempotency record
   together - or, on any failure, nothing. It saves on the state read in phase 1
   unless that row has changed since (see ``_turn_commit``).

The chat path runs on every message of every user, so it is kept to five
statements: the user (authentication), the lock and the state before the LLM
call; the state update and the lock delete, in one transaction, after it (plus
the idempotency record's read and write when the request has a key).
``bench/RESULTS.md`` has what each cost.

Locks are always taken state row first, then lock row (as ``onboarding_reset``
and ``onboarding_erase`` do), so a commit never deadlocks with them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from agents.base import BaseAgent, StepOutcome, problem_text
from agents.llm import LLMRequest, LLMResponse, LLMUnavailableError, llm_provider_get
from agents.llm.types import LLMRequestRejectedError
from agents.models import ChatIdempotencyRecord, ChatTurnLock
from agents.registry import agent_for_step, agent_route
from onboarding.models import OnboardingState
from onboarding.selectors import (
    STATE_NOT_FOUND,
    onboarding_completed_steps,
    onboarding_pending_step,
    onboarding_state_get,
)
from onboarding.services import (
    onboarding_ensure_open,
    onboarding_ensure_reachable,
    onboarding_finish,
    onboarding_step_apply,
)
from onboarding.steps import AllStepData, StepData, step_data_by_number, step_get
from shuren.errors import (
    BadGatewayError,
    ConflictError,
    NotFoundError,
    ServiceError,
    ServiceUnavailableError,
    UnprocessableError,
)
from shuren.metrics import (
    AGENT_ERRORS,
    AGENT_REQUESTS,
    AGENT_RESPONSE_TIME,
    STEP_COMPLETIONS,
    db_queries_timed,
)

logger = logging.getLogger(__name__)

AGENT_CONTEXT_MAX_BYTES = 64 * 1024


class NextAction:
    """What the client should do after a turn."""

    CONTINUE = "continue"
    ADVANCE_STEP = "advance_step"
    COMPLETE_ONBOARDING = "complete_onboarding"


@dataclass
class TurnPlan:
    """A turn prepared for the LLM call: who, which step, what is sent, and the lock held."""

    state_id: int
    state: OnboardingState  # as read under the turn lock, before the LLM call
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


@dataclass
class TurnResult:
    """The reply of a finished turn and the text that was not streamed yet."""

    body: dict[str, Any]
    unstreamed: str = ""


# --- locks and idempotency ------------------------------------------------------------


# The lock is taken and dropped with plain SQL: one statement each on every chat message (the ORM would
# need three to take it). Only the models' own table names are formatted in; every value is a parameter.
_LOCKS = ChatTurnLock._meta.db_table
_STATES = OnboardingState._meta.db_table


def _lock_token_param(token: uuid.UUID) -> Any:
    return ChatTurnLock._meta.get_field("token").get_db_prep_value(token, connection)


def _turn_lock_acquire(user_id: int) -> tuple[int, uuid.UUID] | None:
    """Take the user's turn lock: ``(state id, token)``, or None when not started or a turn is in flight.

    Creates the lock, or takes over one that expired (left by a dead worker); a lock
    still held is left alone and no row comes back. Valid on PostgreSQL and SQLite
    (which needs the ``WHERE`` in the ``SELECT`` of an upsert).
    """
    now = timezone.now()
    token = uuid.uuid4()
    expires = now + timedelta(seconds=settings.CHAT_TURN_LOCK_SECONDS)
    locks, states = connection.ops.quote_name(_LOCKS), connection.ops.quote_name(_STATES)
    sql = (
        f"INSERT INTO {locks} (state_id, token, expires_at) SELECT id, %s, %s FROM {states} WHERE user_id = %s "  # noqa: S608
        f"ON CONFLICT (state_id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at "
        f"WHERE {locks}.expires_at < %s RETURNING state_id"
    )
    adapt = connection.ops.adapt_datetimefield_value
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, [_lock_token_param(token), adapt(expires), user_id, adapt(now)])
            row = cursor.fetchone()
    except IntegrityError:  # the state was erased while the lock was inserted (PostgreSQL's foreign key check)
        return None
    return None if row is None else (row[0], token)


def _turn_lock_delete(state_id: int, token: uuid.UUID) -> bool:
    """Delete the lock if it is still this turn's; False when it expired and was taken, or was removed."""
    sql = f"DELETE FROM {connection.ops.quote_name(_LOCKS)} WHERE state_id = %s AND token = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [state_id, _lock_token_param(token)])
        return cursor.rowcount == 1


def _turn_lock_release(state_id: int, token: uuid.UUID) -> None:
    try:
        _turn_lock_delete(state_id, token)
    except Exception:  # the lock expires by itself; never hide the turn's own outcome
        logger.warning("Could not release the chat turn lock of state %s", state_id, exc_info=True)


def _request_hash(message: str, step: int | None) -> str:
    return hashlib.sha256(json.dumps({"message": message, "step": step}, sort_keys=True).encode()).hexdigest()


def _idempotent_replay(state_id: int, key: str | None, request_hash: str) -> dict[str, Any] | None:
    """The stored response for a resent key; 422 when the key was used with another body."""
    if key is None:
        return None
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    record = ChatIdempotencyRecord.objects.filter(state_id=state_id, key=key).first()
    if record is None:
        return None
    if record.created_at < cutoff:
        record.delete()
        return None
    if record.request_hash != request_hash:
        raise UnprocessableError(
            "This Idempotency-Key was already used with a different request body.", code="idempotency_key_reused"
        )
    return record.response


# --- phase 1: prepare ------------------------------------------------------------------


def _draft(state: OnboardingState, agent: BaseAgent, step: int) -> StepData:
    """The step's answer so far: what was saved, overlaid by what the agent has collected since."""
    names = step_get(step).field_names()
    memory = state.agent_context.get(agent.context_key, {})
    saved = step_data_by_number(state.step_data).get(step, {})
    return {**saved, **{key: value for key, value in memory.items() if key in names}}


def _history_messages(history: list[dict[str, Any]], message: str) -> list[dict[str, str]]:
    """The last ``LLM_HISTORY_MESSAGES`` entries plus the new message, starting with a user turn."""
    window = [
        {"role": entry["role"], "content": entry["content"]}
        for entry in history[-settings.LLM_HISTORY_MESSAGES :]
        if entry.get("role") in ("user", "assistant") and entry.get("content")
    ]
    while window and window[0]["role"] != "user":
        window.pop(0)
    return [*window, {"role": "user", "content": message}]


def _turn_target(state: OnboardingState, step: int | None) -> int:
    """The step a message is for: the one named, else the step waiting for an answer."""
    onboarding_ensure_open(state)
    target = (onboarding_pending_step(state=state) or state.current_step) if step is None else step
    step_get(target)
    onboarding_ensure_reachable(state, target)
    return target


def _with_proposal(agent: BaseAgent, step: int, steps_data: AllStepData, draft: StepData) -> StepData:
    """The draft with the server's proposal for the step applied (a None in it withdraws a value)."""
    merged = {**draft, **agent.propose(step, steps_data, draft)}
    return {key: value for key, value in merged.items() if value is not None}


def _turn_refused(*, user: Any, step: int | None, idempotency_key: str | None, request_hash: str) -> dict[str, Any]:
    """Why the turn lock was not taken: 404 not started, a stored reply to replay, another 4xx, or 409."""
    state = onboarding_state_get(user=user)
    replay = _idempotent_replay(state.pk, idempotency_key, request_hash)
    if replay is not None:  # the resent request finished while another message is being answered
        return replay
    _turn_target(state, step)  # the error this message would get anyway comes first
    raise ConflictError(
        "Another message is still being answered; wait for its reply, then send this one.", code="turn_in_progress"
    )


def _turn_prepare(
    *, user: Any, message: str, step: int | None, idempotency_key: str | None
) -> TurnPlan | dict[str, Any]:
    """Take the turn lock, then read and check; returns the plan, or a stored response to replay.

    The lock comes first so the state is read once, already under it: no turn of this user can
    finish (store this key, move the step) between the read and the LLM call.
    """
    request_hash = _request_hash(message, step)
    locked = _turn_lock_acquire(user.pk)
    if locked is None:
        return _turn_refused(user=user, step=step, idempotency_key=idempotency_key, request_hash=request_hash)
    state_id, token = locked
    try:
        state = OnboardingState.objects.filter(pk=state_id).first()
        if state is None:  # erased just now (the lock went with it)
            raise NotFoundError(STATE_NOT_FOUND, code="onboarding_not_started")
        replay = _idempotent_replay(state_id, idempotency_key, request_hash)
        if replay is not None:
            _turn_lock_release(state_id, token)
            return replay
        target = _turn_target(state, step)
        agent = agent_route(user_id=user.pk, step=target)
        steps_data = step_data_by_number(state.step_data)
        draft = _with_proposal(agent, target, steps_data, _draft(state, agent, target))
        request = LLMRequest(
            system_static=agent.system_static(target),
            system_dynamic=agent.system_dynamic(target, steps_data, draft),
            tools=[agent.tool(target)],
            messages=_history_messages(state.conversation_history, message),
            step=target,
            draft=draft,
            user_id=user.pk,
        )
    except BaseException:
        _turn_lock_release(state_id, token)
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


def _connection_release() -> None:
    """Give the database connection back (to the pool) before the slow LLM call."""
    if not connection.in_atomic_block:
        connection.close()


# --- phase 3: validate, phrase, commit ---------------------------------------------------


def _extracted_values(plan: TurnPlan, response: LLMResponse) -> dict[str, Any]:
    tool_name = plan.agent.tool_name(plan.step)
    values: dict[str, Any] = {}
    for call in response.tool_calls:
        if call.name == tool_name:
            values.update(call.input)
        else:
            logger.warning("LLM called unexpected tool %s at step %s; ignored", call.name, plan.step)
    return values


def _history_entry(role: str, content: str, plan: TurnPlan, **extra: Any) -> dict[str, Any]:
    return {
        "role": role,
        "content": content,
        "timestamp": timezone.now().isoformat(),
        "step": plan.step,
        "agent_type": plan.agent.agent_type,
        **extra,
    }


def _memory_update(state: OnboardingState, agent: BaseAgent, step: int, values: StepData) -> None:
    """Write a step's fields (and only them) into the agent's memory, within the size cap."""
    names = set(step_get(step).field_names())
    memory = {key: value for key, value in state.agent_context.get(agent.context_key, {}).items() if key not in names}
    memory.update({key: value for key, value in values.items() if key in names})
    context = {**state.agent_context, agent.context_key: memory}
    if len(json.dumps(context).encode()) > AGENT_CONTEXT_MAX_BYTES:
        raise UnprocessableError("The stored answers would exceed their size limit.", code="context_too_large")
    state.agent_context = context
    logger.debug("Updated agent context for user %s: %s", state.user_id, sorted(memory))


def _open_step(state: OnboardingState, number: int) -> str:
    """Enter step ``number``: store the server's proposal (if any) and return its opening question."""
    agent = agent_for_step(number)
    steps_data = step_data_by_number(state.step_data)
    draft = _draft(state, agent, number)
    proposed = _with_proposal(agent, number, steps_data, draft)
    if proposed != draft:
        _memory_update(state, agent, number, proposed)
    return agent.opening(number, proposed, steps_data)


def _reply(plan: TurnPlan, response: LLMResponse, outcome: StepOutcome, extracted: dict[str, Any]) -> list[str]:
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
        parts.append("I couldn't save that: " + "; ".join(problems) + ".")
    parts.extend(outcome.notes)
    if composed and not outcome.complete:
        parts.append(agent.proposal_text(step, outcome.draft) or agent.ask_missing(step, outcome.draft))
    return parts


_TURN_SAVED_FIELDS = (
    "current_step",
    "is_complete",
    "step_data",
    "current_agent",
    "agent_context",
    "conversation_history",
    "updated_at",
)


class _StateChangedError(Exception):
    """The state row changed between the turn's read and its commit."""


def _step_completed(plan: TurnPlan) -> None:
    STEP_COMPLETIONS.labels(str(plan.step), "chat").inc()
    logger.info("User %s completed step %s in chat", plan.user_id, plan.step)


def _turn_commit(plan: TurnPlan, response: LLMResponse) -> TurnResult:
    """Save the turn on the state read before the LLM call, or on a fresh read if it has changed since.

    The turn lock keeps other chat turns out, but a form answer, completion, purge or
    admin action may have written the row meanwhile (each moves ``updated_at``). The
    save is an ``UPDATE`` conditional on ``updated_at`` being what was read; when it
    matches nothing, or the turn was refused on what may be stale data, the turn is
    redone (the LLM is not called again) on the row read afresh with ``SELECT ... FOR
    UPDATE``. The usual turn thus needs no second read of the state.
    """
    try:
        return _turn_save(plan, response, locked=False)
    except _StateChangedError:
        pass
    except ServiceError:
        if OnboardingState.objects.filter(pk=plan.state_id, updated_at=plan.state_read_at).exists():
            raise
    logger.info("State of user %s changed during the LLM call; saving the turn on a fresh read", plan.user_id)
    return _turn_save(plan, response, locked=True)


def _turn_lock_gone(plan: TurnPlan) -> ConflictError:
    if not OnboardingState.objects.filter(pk=plan.state_id).exists():
        return ConflictError("Your onboarding was erased while this message was answered.", code="onboarding_changed")
    # Expired, or removed by a reset of the onboarding while the LLM answered.
    return ConflictError("This message was superseded; please resend it.", code="turn_expired")


@transaction.atomic
def _turn_save(plan: TurnPlan, response: LLMResponse, *, locked: bool) -> TurnResult:
    """One attempt at the commit: on the state read before the LLM call, or (``locked``) on a fresh locked read."""
    if locked:
        state = OnboardingState.objects.select_for_update().filter(pk=plan.state_id).first()
        if state is None or not _turn_lock_delete(plan.state_id, plan.lock_token):
            raise _turn_lock_gone(plan)
    else:
        state = plan.state
    onboarding_ensure_open(state)  # the form flow may have completed it meanwhile

    extracted = _extracted_values(plan, response)
    outcome = plan.agent.apply_step(plan.step, plan.draft, extracted, step_data_by_number(state.step_data))
    parts = _reply(plan, response, outcome, extracted)

    for number, data in outcome.other_steps.items():
        state.step_data = {**state.step_data, str(number): data}
        _memory_update(state, agent_for_step(number), number, data)
    _memory_update(state, plan.agent, plan.step, outcome.complete_data or outcome.draft)
    if outcome.complete_data is not None:
        onboarding_step_apply(state=state, step=plan.step, data=outcome.complete_data)
        transaction.on_commit(lambda: _step_completed(plan))

    completed = onboarding_completed_steps(state=state)
    pending = onboarding_pending_step(state=state, completed=completed)
    next_action = NextAction.CONTINUE
    if pending is None:
        onboarding_finish(state=state)
        next_action = NextAction.COMPLETE_ONBOARDING
        parts.append("That's everything - your onboarding is complete! Your plan is ready in the app.")
    elif outcome.complete:
        next_action = NextAction.ADVANCE_STEP
        if pending < state.current_step:
            parts.append(f"Your answers changed, so {step_get(pending).title.lower()} needs another look.")
        parts.append(_open_step(state, pending))
    state.current_agent = None if pending is None else agent_for_step(pending).agent_type

    reply = "\n\n".join(part for part in parts if part)
    history = [
        *state.conversation_history,
        _history_entry("user", plan.message, plan),
        _history_entry("assistant", reply, plan, usage=response.usage.as_dict(), model=response.model),
    ]
    state.conversation_history = history[-settings.CONVERSATION_HISTORY_MAX_ENTRIES :]
    state.updated_at = timezone.now()
    # Locked, the row is this transaction's; otherwise it is saved only if nobody wrote it since it was read.
    row = {"pk": state.pk} if locked else {"pk": state.pk, "updated_at": plan.state_read_at}
    if not OnboardingState.objects.filter(**row).update(**{name: getattr(state, name) for name in _TURN_SAVED_FIELDS}):
        raise _StateChangedError
    # The lock row goes with the commit (and stays if anything rolls it back); the state row is locked first.
    if not locked and not _turn_lock_delete(plan.state_id, plan.lock_token):
        raise _turn_lock_gone(plan)

    body = {
        "message": reply,
        "agent_type": plan.agent.agent_type,
        "current_step": plan.step,
        "step_complete": outcome.complete,
        "next_action": next_action,
        "next_step": pending,
        "next_agent_type": state.current_agent,
        "is_complete": state.is_complete,
        "saved": outcome.accepted,
        "errors": outcome.errors,
    }
    if plan.idempotency_key is not None:
        ChatIdempotencyRecord.objects.create(
            state_id=state.pk, key=plan.idempotency_key, request_hash=plan.request_hash, response=body
        )
    streamed = "" if response.compose_reply or not reply.startswith(response.text) else response.text
    return TurnResult(body=body, unstreamed=reply[len(streamed) :])


def _unavailable(exc: LLMUnavailableError) -> ServiceUnavailableError:
    return ServiceUnavailableError(
        "The coach is temporarily unavailable. Nothing was saved; please resend your message.",
        code="llm_unavailable",
        retry_after=exc.retry_after,
    )


def _rejected() -> BadGatewayError:
    # What was refused is our prompt (a bug or a limit), not something the user can fix or should see.
    return BadGatewayError(
        "The coach could not answer this message. Nothing was saved; please rephrase it and try again.",
        code="llm_request_rejected",
    )


# --- the public services -----------------------------------------------------------------


def _turn_count(plan: TurnPlan, started: float, status: str, error_type: str | None = None) -> None:
    labels = (plan.agent.agent_type, str(plan.step), status)
    AGENT_RESPONSE_TIME.labels(*labels).observe(time.perf_counter() - started)
    AGENT_REQUESTS.labels(*labels).inc()
    if error_type is not None:
        AGENT_ERRORS.labels(plan.agent.agent_type, error_type).inc()


@contextmanager
def _turn_in_flight(plan: TurnPlan) -> Iterator[None]:
    """Around a turn's LLM call and commit: times and counts the outcome, and frees the lock unless committed.

    The block ends with the commit, which deletes the lock with everything else; if it
    does not get there (an error, or a stream whose client went away) the lock is released.
    """
    started = time.perf_counter()
    committed = False
    try:
        _connection_release()
        yield
        committed = True
    except LLMUnavailableError as exc:
        _turn_count(plan, started, "llm_unavailable", exc.reason)
        raise
    except LLMRequestRejectedError:
        logger.error("The LLM rejected the request for user %s at step %s", plan.user_id, plan.step, exc_info=True)
        _turn_count(plan, started, "llm_request_rejected", "llm_request_rejected")
        raise
    except ServiceError as exc:
        _turn_count(plan, started, exc.code, exc.code)
        raise
    except Exception as exc:
        _turn_count(plan, started, "error", type(exc).__name__)
        raise
    finally:
        if not committed:
            _turn_lock_release(plan.state_id, plan.lock_token)
    _turn_count(plan, started, "ok")


def chat_turn_process(
    *, user: Any, message: str, step: int | None = None, idempotency_key: str | None = None
) -> dict[str, Any]:
    """Handle one chat message and return the reply body (see DESIGN.md, ``POST onboarding/chat``)."""
    plan = _turn_prepare(user=user, message=message, step=step, idempotency_key=idempotency_key)
    if isinstance(plan, dict):
        return plan
    try:
        with _turn_in_flight(plan):
            response = llm_provider_get().complete(plan.request)
            return _turn_commit(plan, response).body
    except LLMUnavailableError as exc:
        raise _unavailable(exc) from exc
    except LLMRequestRejectedError as exc:
        raise _rejected() from exc


def chat_turn_stream(
    *, user: Any, message: str, step: int | None = None, idempotency_key: str | None = None
) -> Iterator[tuple[str, Any]]:
    """The same turn as ``chat_turn_process``, as ``(event, data)`` pairs: ``delta`` texts, then ``done``.

    Checks that fail (404, 409, 422) raise before the first event, so the view
    can still answer with a plain error response. An LLM failure after that is an
    ``error`` event; nothing is saved.
    """
    plan = _turn_prepare(user=user, message=message, step=step, idempotency_key=idempotency_key)
    if isinstance(plan, dict):
        replay = plan

        def replayed() -> Iterator[tuple[str, Any]]:
            yield "delta", replay["message"]
            yield "done", replay

        return replayed()
    return _stream(plan)


def _stream(plan: TurnPlan) -> Iterator[tuple[str, Any]]:
    try:
        with _turn_in_flight(plan):
            response: LLMResponse | None = None
            for item in llm_provider_get().stream(plan.request):
                if isinstance(item, str):
                    yield "delta", item
                else:
                    response = item
            assert response is not None, "a provider stream ends with its final response"
            # The response has left the middleware by now, so the commit's queries are timed here.
            with db_queries_timed():
                result = _turn_commit(plan, response)
    except LLMUnavailableError as exc:
        error = _unavailable(exc)
        yield "error", {"detail": error.detail, "code": error.code, "retry_after": exc.retry_after}
        return
    except LLMRequestRejectedError:
        rejected = _rejected()
        yield "error", {"detail": rejected.detail, "code": rejected.code}
        return
    except ServiceError as exc:
        yield "error", {"detail": exc.detail, "code": exc.code}
        return
    except Exception as exc:
        logger.error("Chat stream failed: %s", type(exc).__name__, exc_info=True)
        yield "error", {"detail": "Internal server error.", "code": "internal_error"}
        return
    if result.unstreamed:
        yield "delta", result.unstreamed
    yield "done", result.body
