"""The chat turn: route to the agent, ask the LLM, validate what it extracted, save it all at once.

A turn has three phases, each a named part:

1. ``turn_prepare`` (``prepare.py``): a per-user turn lock row (``locks.py``; a second
   concurrent message for the same user gets 409 ``turn_in_progress`` without reaching
   the LLM), then one read of the state and the LLM request built from it (the draft
   and the agent's memory: ``memory.py``). The database connection is then released.
2. The LLM call, with no transaction, row lock or connection held. The provider is a
   parameter: the configured one by default, a scripted one in tests.
3. ``turn_commit`` (``commit.py``): applies the step state machine (``step_machine.py``)
   and saves the user message, the reply, the validated values and the step change through
   the state writer in one write that also drops the lock, with the idempotency record
   when there is one - or, on any failure, nothing.

Every sentence the user reads comes from ``agents.wording``; metrics from ``metrics.py``.

The chat path runs on every message of every user, so it is kept to three statements on
PostgreSQL: the lock (which also checks the account: the chat endpoints authenticate without
a ``SELECT`` of the user) and the state before the LLM call; after it, the state update and
the lock's delete in one statement, atomic on its own (on SQLite, two in a transaction). A
request with a key adds the idempotency record's read before the LLM call and its write in the
commit, in one transaction with the save.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agents import wording
from agents.llm import LLMProvider, LLMResponse, LLMUnavailableError, llm_provider_get
from agents.llm.types import LLMRequestRejectedError
from agents.turn import locks
from agents.turn.commit import turn_commit
from agents.turn.metrics import REPLAYED, ChatMeter
from agents.turn.prepare import TurnPlan, connection_release, turn_prepare
from agents.turn.reply import ChatReply
from core.errors import BadGatewayError, ServiceError, ServiceUnavailableError
from core.metrics import db_queries_timed

logger = logging.getLogger(__name__)

# The stream's events: ("delta", text) as the reply is written, then ("done", body) or ("error", body).
StreamEvent = tuple[str, Any]


def chat_turn_process(
    *,
    user: Any,
    message: str,
    step: int | None = None,
    idempotency_key: str | None = None,
    provider: LLMProvider | None = None,
    meter: ChatMeter | None = None,
) -> ChatReply:
    """Answer one chat message (``POST onboarding/chat``): 404, 409, 422 or 503 as ``ServiceError``s.

    ``meter`` is the request's (the view counts what fails before the LLM call); a new one by default.
    """
    meter = meter or ChatMeter()
    plan = turn_prepare(user=user, message=message, step=step, idempotency_key=idempotency_key)
    if isinstance(plan, ChatReply):
        meter.count(REPLAYED)
        return plan
    try:
        with _turn_in_flight(plan, meter):
            response = (provider or llm_provider_get()).complete(plan.request)
            return turn_commit(plan=plan, response=response).reply
    except LLMUnavailableError as exc:
        raise _unavailable(exc) from exc
    except LLMRequestRejectedError as exc:
        raise _rejected() from exc


def chat_turn_stream(
    *,
    user: Any,
    message: str,
    step: int | None = None,
    idempotency_key: str | None = None,
    provider: LLMProvider | None = None,
    meter: ChatMeter | None = None,
) -> Iterator[StreamEvent]:
    """The same turn as ``chat_turn_process``, as ``(event, data)`` pairs: ``delta`` texts, then ``done``.

    Checks that fail (404, 409, 422) raise before the first event, so the view
    can still answer with a plain error response. An LLM failure after that is an
    ``error`` event; nothing is saved. ``done`` carries the reply's JSON body. The turn's outcome is
    counted on ``meter`` when the stream ends.
    """
    meter = meter or ChatMeter()
    plan = turn_prepare(user=user, message=message, step=step, idempotency_key=idempotency_key)
    if isinstance(plan, ChatReply):
        meter.count(REPLAYED)
        return _replayed(plan)
    return _stream(plan, provider or llm_provider_get(), meter)


def _replayed(reply: ChatReply) -> Iterator[StreamEvent]:
    yield "delta", reply.message
    yield "done", reply.as_body()


def _stream(plan: TurnPlan, provider: LLMProvider, meter: ChatMeter) -> Iterator[StreamEvent]:
    try:
        with _turn_in_flight(plan, meter):
            response: LLMResponse | None = None
            for item in provider.stream(plan.request):
                if isinstance(item, str):
                    yield "delta", item
                else:
                    response = item
            assert response is not None, "a provider stream ends with its final response"
            # The response has left the middleware by now, so the commit's queries are timed here.
            with db_queries_timed():
                result = turn_commit(plan=plan, response=response)
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
        # The guide's line for a turn that failed unexpectedly (POST chat logs it in core.errors).
        logger.exception("Error in chat_onboarding: %s: %s", type(exc).__name__, exc)
        yield "error", {"detail": wording.error_internal(), "code": "internal_error"}
        return
    if result.unstreamed:
        yield "delta", result.unstreamed
    yield "done", result.reply.as_body()


@contextmanager
def _turn_in_flight(plan: TurnPlan, meter: ChatMeter) -> Iterator[None]:
    """Around a turn's LLM call and commit: times and counts the outcome, and frees the lock unless committed.

    The block ends with the commit, which deletes the lock with everything else; if it
    does not get there (an error, or a stream whose client went away) the lock is released.
    ``turn_prepare`` has given the database connection back before the slow LLM call; a pooled
    one goes back again after the commit, before the reply is rendered.
    """
    meter.route(agent_type=plan.agent.agent_type, step=plan.step)
    count = meter.count
    committed = False
    try:
        yield
        committed = True
    except LLMUnavailableError as exc:
        count("llm_unavailable", exc.reason)
        raise
    except LLMRequestRejectedError:
        logger.error("The LLM rejected the request for user %s at step %s", plan.user_id, plan.step, exc_info=True)
        count("llm_request_rejected", "llm_request_rejected")
        raise
    except ServiceError as exc:
        count(exc.code, exc.code)
        raise
    except Exception as exc:
        count("error", type(exc).__name__)
        raise
    finally:
        if not committed:
            locks.turn_lock_release(state_id=plan.state_id, token=plan.lock_token)
    count("ok")
    connection_release(pooled_only=True)  # the turn is saved: nothing left that needs one


def _rejected() -> BadGatewayError:
    # What was refused is our prompt (a bug or a limit), not something the user can fix or should see.
    return BadGatewayError(wording.error_llm_request_rejected(), code="llm_request_rejected")


def _unavailable(exc: LLMUnavailableError) -> ServiceUnavailableError:
    return ServiceUnavailableError(wording.error_llm_unavailable(), code="llm_unavailable", retry_after=exc.retry_after)
