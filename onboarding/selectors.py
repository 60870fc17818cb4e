"""Reads of onboarding state: the caller's own state only, never another user's."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.db.models.expressions import Col
from django.utils import timezone

from core.errors import NotFoundError
from onboarding.extensions import onboarding_dependents
from onboarding.models import (
    AGENT_FIELDS,
    JSONB_LAST_ENTRIES,
    OnboardingState,
    agent_fields_in_use,
    column_of,
    last_entries,
)
from onboarding.plans import step_suggestion
from onboarding.steps import FIRST_STEP, LAST_STEP, STEPS, step_data_by_number, step_is_complete, step_json_schema

STATE_NOT_FOUND = "Onboarding state not found"


def onboarding_state_get(*, user: Any) -> OnboardingState:
    """The user's onboarding state; ``NotFoundError`` when they have not started."""
    state = OnboardingState.objects.for_user(user).first()
    if state is None:
        raise NotFoundError(STATE_NOT_FOUND, code="onboarding_not_started")
    return state


@dataclass(frozen=True)
class _StateSelect:
    """The ``SELECT`` of one state row by id on one database: its SQL, the columns read and their converters.

    With ``tail``, the row's last entries of the conversation history come after the columns, as one more value
    (converted by ``converters`` too), and ``names`` leaves the history out: a deferred field.
    """

    sql: str
    names: tuple[str, ...]
    converters: tuple[tuple[int, Callable[..., Any], Col], ...]
    tail: bool


# Per database alias and column set, built on the first connection that reads: the SQL and the converters depend
# only on the database's vendor and settings, which every connection to one alias shares. (Not per connection
# object: there is one per thread, or per greenlet under gevent, so that would rebuild the statement on most
# requests, and SQLite's converters, bound to their connection, would keep every one alive.)
_state_selects: dict[tuple[str, bool], _StateSelect] = {}


def _state_select(connection: BaseDatabaseWrapper, *, agent_fields: bool) -> _StateSelect:
    meta = OnboardingState._meta
    fields: list[Field[Any, Any]] = [
        field for field in meta.concrete_fields if agent_fields or field.name not in AGENT_FIELDS
    ]
    history = meta.get_field("conversation_history")
    # Only PostgreSQL reads the tail in SQL; elsewhere (SQLite: development and tests) the whole column is read.
    tail = agent_fields and connection.vendor == "postgresql"
    quote = connection.ops.quote_name
    if tail:
        fields.remove(history)
    selected = [quote(column_of(field)) for field in fields]
    if tail:
        selected.append(JSONB_LAST_ENTRIES.format(array=quote(column_of(history))))
    sql = f"SELECT {', '.join(selected)} FROM {quote(meta.db_table)} WHERE {quote(column_of(meta.pk))} = %s"  # noqa: S608
    converters = []
    for index, field in enumerate([*fields, history] if tail else fields):  # as the ORM's (compiler.get_converters)
        column = field.get_col(meta.db_table)
        for converter in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
            converters.append((index, converter, column))
    return _StateSelect(
        sql=sql, names=tuple(field.attname for field in fields), converters=tuple(converters), tail=tail
    )


def onboarding_state_with_history_tail(
    *, state_id: int, entries: int
) -> tuple[OnboardingState, list[dict[str, Any]]] | None:
    """The state row ``state_id`` and the last ``entries`` entries of its conversation history (None when there
    is no such row), as a chat turn needs them: it sends the LLM only the end of the history.

    The row is ``OnboardingState.objects.filter(pk=...).first()``'s: the same columns (without the agent ones
    while the feature is off) and the same values, by a statement built once per database (a chat turn reads
    its state on every message, and the ORM would compile the same query each time, more Python than the rest
    of the read). On PostgreSQL the rest of the history is neither sent nor parsed: it can hold hundreds of
    entries (``CONVERSATION_HISTORY_MAX_ENTRIES``), which would cost more than the rest of the read. There
    ``conversation_history`` is a deferred field, which a read of it fetches whole (one more query); a turn adds
    to the history with ``onboarding_state_save``'s ``history``, which does not read it. Elsewhere the whole
    history is read and the tail taken from it. With the agent feature off there is no history: [].
    """
    entries = max(entries, 0)
    database = router.db_for_read(OnboardingState)
    connection = connections[database]
    agent_fields = agent_fields_in_use()
    select = _state_selects.get((database, agent_fields))
    if select is None:
        select = _state_selects[(database, agent_fields)] = _state_select(connection, agent_fields=agent_fields)
    with connection.cursor() as cursor:
        cursor.execute(select.sql, [entries, state_id] if select.tail else [state_id])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, converter, column in select.converters:
        values[index] = converter(values[index], column, connection)
    state = OnboardingState.from_db(database, select.names, values[: len(select.names)])
    if select.tail:
        return state, list(values[-1])
    if not agent_fields:
        return state, []
    return state, last_entries(state.conversation_history, entries)


def _completed_steps_of(raw: Mapping[str, Any]) -> list[int]:
    data = step_data_by_number(raw)
    return [step.number for step in STEPS if step_is_complete(step.number, data.get(step.number), other_steps=data)]


# Validating all nine steps costs about a millisecond of CPU (DRF builds its serializers anew each time),
# and a chat turn needs the answer several times for step data that rarely changes. The answer depends on
# the step data alone, so it is remembered per process (the last 1,024) under a keyed digest of that data's
# JSON text, never under the text itself: the answers are health data, and an erased account's must not
# stay in the process's memory. The key is random per process, so a digest says nothing outside it.
_DIGEST_KEY = secrets.token_bytes(32)
_COMPLETED_MAX = 1024
_completed_by_digest: dict[bytes, tuple[int, ...]] = {}
_completed_lock = threading.Lock()


def onboarding_completed_steps(*, state: OnboardingState) -> list[int]:
    """Steps whose saved answer is valid today, cross-step rules included.

    Derived, not stored: correcting step 4 can make step 8 incomplete again.
    """
    try:
        step_data_json = json.dumps(state.step_data, sort_keys=True)
    except (TypeError, ValueError):  # not plain JSON (not yet saved): nothing to key it by
        return _completed_steps_of(state.step_data)
    digest = hashlib.blake2b(step_data_json.encode(), key=_DIGEST_KEY, digest_size=16).digest()
    completed = _completed_by_digest.get(digest)
    if completed is None:
        completed = tuple(_completed_steps_of(json.loads(step_data_json)))
        with _completed_lock:
            if len(_completed_by_digest) >= _COMPLETED_MAX:
                del _completed_by_digest[next(iter(_completed_by_digest))]  # the oldest
            _completed_by_digest[digest] = completed
    return list(completed)


def onboarding_pending_step(*, state: OnboardingState, completed: Collection[int] | None = None) -> int | None:
    """The step to answer next: the first incomplete one up to ``current_step``; None when all nine are done.

    Usually that is ``current_step``; after a correction it can be an earlier step
    whose answer no longer fits (a new injury makes the approved plan out of date).
    """
    done = set(onboarding_completed_steps(state=state) if completed is None else completed)
    for number in range(FIRST_STEP, state.current_step + 1):
        if number not in done:
            return number
    return None if len(done) == LAST_STEP else state.current_step


def onboarding_progress_get(*, state: OnboardingState) -> dict[str, Any]:
    """Completed steps, percentage and what the next step asks for."""
    completed = onboarding_completed_steps(state=state)
    pending = [step for step in STEPS if step.number not in completed]
    next_step = pending[0] if pending else None
    return {
        "current_step": state.current_step,
        "is_complete": state.is_complete,
        "completed_steps": completed,
        "total_steps": LAST_STEP,
        "percentage": round(100 * len(completed) / LAST_STEP),
        "next_step": None
        if next_step is None
        else {
            "step": next_step.number,
            "name": next_step.name,
            "title": next_step.title,
            "agent_type": next_step.agent_type,
            "fields": step_json_schema(next_step.number),
            "suggestion": step_suggestion(next_step.number, step_data_by_number(state.step_data)),
        },
    }


def onboarding_export_get(*, user: Any) -> dict[str, Any]:
    """Everything stored about the user's onboarding, as one JSON-ready document.

    With ``AGENTS_ENABLED`` off it leaves out ``current_agent``, ``agent_context`` and ``conversation_history``.
    """
    state = onboarding_state_get(user=user)
    onboarding: dict[str, Any] = {
        "current_step": state.current_step,
        "is_complete": state.is_complete,
        "step_data": state.step_data,
    }
    if agent_fields_in_use():  # with the feature off these columns are not read (they may be rolled back)
        onboarding.update({name: getattr(state, name) for name in AGENT_FIELDS})
    onboarding.update({"created_at": state.created_at.isoformat(), "updated_at": state.updated_at.isoformat()})
    document: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "user": {"id": user.pk, "email": user.email},
        "onboarding": onboarding,
    }
    for dependent in onboarding_dependents():  # what other apps keep about it (the chat's idempotency records)
        document.update(dependent.onboarding_export(state=state))
    return document
