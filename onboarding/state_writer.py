"""The one writer of ``OnboardingState``: every insert, update and delete of the row goes through here.

Every write moves ``updated_at`` to a value the row never held before: a chat turn
saves onto the row it read before its LLM call only while ``updated_at`` is still
what it read (``onboarding_state_save(unchanged_since=...)``), so a write that left
it unchanged would be silently overwritten by that turn. The functions below set it
themselves; nothing else in the project writes the table.

With ``AGENTS_ENABLED`` off the writes leave the agent columns out (``AGENT_FIELDS``): they
may have been rolled back, and a row inserted meanwhile gets their database defaults when
they come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DataError, connections, router, transaction
from django.db.models.sql import InsertQuery
from django.utils import timezone

from core.db_backends import prepared_cursor
from onboarding.models import (
    AGENT_FIELDS,
    JSONB_LAST_ENTRIES,
    OnboardingState,
    agent_fields_in_use,
    column_of,
    last_entries,
)

# What a save writes: the whole mutable state, as one UPDATE (the chat turn's budget counts it).
STATE_FIELDS = ("current_step", "is_complete", "step_data", *AGENT_FIELDS)
# What it writes with the agent feature off.
FORM_FIELDS = tuple(name for name in STATE_FIELDS if name not in AGENT_FIELDS)

# The SQLSTATE of the claim's statement when the claimed row was taken over while it waited (_executed_claiming).
_DIVISION_BY_ZERO = "22012"

# The smallest step both PostgreSQL and Django's datetimes represent.
_TICK = timedelta(microseconds=1)

_META = OnboardingState._meta
_FIELDS = {field.name: field for field in _META.concrete_fields}
# The UPDATE of each set of columns, by database vendor (it differs only in how names are quoted).
_updates: dict[tuple[str, tuple[str, ...], bool, bool], str] = {}


def _moved(previous: datetime | None) -> datetime:
    """Now, or just after ``previous`` when the clock has not passed it (same microsecond, clock skew)."""
    now = timezone.now()
    return now if previous is None or now > previous else previous + _TICK


def onboarding_state_create(*, user: Any, current_step: int, current_agent: str | None) -> OnboardingState:
    """Insert the user's state row (the caller handles the ``IntegrityError`` of a concurrent start).

    With the agent feature off ``current_agent`` is not stored: the row is inserted without the agent columns.
    """
    if agent_fields_in_use():
        return OnboardingState.objects.create(user=user, current_step=current_step, current_agent=current_agent)
    return _create_without_agent_fields(OnboardingState(user=user, current_step=current_step))


def _create_without_agent_fields(state: OnboardingState) -> OnboardingState:
    # Model.save() names every column in its INSERT (and, for those with a database default, in its
    # RETURNING); the InsertQuery that save() itself runs takes the column lists explicitly (and sets
    # the auto_now timestamps as save() does).
    meta = OnboardingState._meta
    fields = [field for field in meta.local_concrete_fields if field.name not in AGENT_FIELDS and not field.primary_key]
    returning = [field for field in meta.db_returning_fields if field.name not in AGENT_FIELDS]
    database = router.db_for_write(OnboardingState)
    query = InsertQuery(OnboardingState)
    query.insert_values(fields, [state])
    rows = query.get_compiler(using=database).execute_sql(returning)
    for field, value in zip(returning, rows[0] if rows else (), strict=False):
        setattr(state, field.attname, value)
    state._state.adding = False
    state._state.db = database
    for name in AGENT_FIELDS:  # deferred, like on a row read with the feature off: never read
        state.__dict__.pop(name, None)
    return state


@dataclass(frozen=True)
class Claim:
    """A row of another table that a save needs and uses up: the save happens only while the row exists,
    and deletes it (a chat turn's lock: the turn saves only while it holds it, and the save releases it).

    ``where`` maps the row's columns to their values, prepared for the database.
    """

    table: str
    where: dict[str, Any]


@dataclass(frozen=True)
class HistoryAppend:
    """Entries added at the end of the conversation history, of which the last ``keep`` entries are kept."""

    entries: list[dict[str, Any]]
    keep: int


def onboarding_state_save(
    *,
    state: OnboardingState,
    unchanged_since: datetime | None = None,
    claim: Claim | None = None,
    history: HistoryAppend | None = None,
) -> bool:
    """Write ``state``'s fields in one ``UPDATE`` and move its ``updated_at``; False when nothing was written.

    Without ``unchanged_since`` the caller holds the row lock (``SELECT ... FOR UPDATE``), so
    ``state.updated_at`` is the row's. With it, the row is written only if its ``updated_at``
    is still that value: an optimistic save onto a row read earlier without a lock.

    With a ``claim`` the row is written only while the claimed row exists, and that row is deleted with
    the write; False leaves both alone (and, when the claimed row was taken over while the write waited, a
    caller's transaction marked for rollback). On PostgreSQL the two are one statement
    (``_executed_claiming``), which needs no transaction of its own; elsewhere (SQLite) two, in a transaction.

    With ``history`` the conversation history is not written as held but added to. On PostgreSQL that happens
    in the ``UPDATE`` itself, onto the row's value, without reading or sending what it holds, and
    ``conversation_history`` is deferred afterwards (a read of it fetches the row's). Elsewhere the held history
    (fetched if deferred) is written with the entries added, and held so once written. ``ValueError`` with the
    agent feature off, which keeps no history.
    """
    updated_at = _moved(state.updated_at if unchanged_since is None else unchanged_since)
    agent_fields = agent_fields_in_use()
    if history is not None and not agent_fields:
        raise ValueError("no conversation history is kept while the agent feature is off")
    fields = STATE_FIELDS if agent_fields else FORM_FIELDS
    database = router.db_for_write(OnboardingState)
    connection = connections[database]
    appended = history is not None and connection.vendor == "postgresql"
    values = {name: getattr(state, name) for name in fields if not (appended and name == "conversation_history")}
    if history is not None and not appended:
        values["conversation_history"] = last_entries([*state.conversation_history, *history.entries], history.keep)
    sql, params = _update_statement(
        connection=connection,
        state_id=state.pk,
        values=values,
        updated_at=updated_at,
        unchanged_since=unchanged_since,
        history=history if appended else None,
    )
    written = _executed(database, sql, params) if claim is None else _executed_claiming(database, sql, params, claim)
    if written:
        state.updated_at = updated_at
        if appended:  # the row's history is not the one held (if one was): fetched afresh when read
            state.__dict__.pop("conversation_history", None)
        elif history is not None:
            state.conversation_history = values["conversation_history"]
    return written


def _update_sql(*, connection: Any, fields: tuple[str, ...], conditional: bool, appended: bool) -> str:
    quote = connection.ops.quote_name
    assignments = [f"{quote(column_of(_FIELDS[name]))} = %s" for name in ("updated_at", *fields)]
    if appended:
        column = quote(column_of(_FIELDS["conversation_history"]))
        # the entries (a JSON array, %s) added at the end of the row's history, cut to its last %s entries
        assignments.append(f"{column} = {JSONB_LAST_ENTRIES.format(array=f'{column} || %s::jsonb')}")
    condition = f" AND {quote(column_of(_FIELDS['updated_at']))} = %s" if conditional else ""
    table, key = quote(_META.db_table), quote(column_of(_META.pk))
    return f"UPDATE {table} SET {', '.join(assignments)} WHERE {key} = %s{condition}"  # noqa: S608


def _update_statement(
    *,
    connection: Any,
    state_id: int,
    values: dict[str, Any],
    updated_at: datetime,
    unchanged_since: datetime | None,
    history: HistoryAppend | None,
) -> tuple[str, list[Any]]:
    """``OnboardingState.objects.filter(pk=state_id[, updated_at=unchanged_since]).update(updated_at=updated_at,
    **values)``, by a statement built once: the chat turn saves on every message, and the ORM would compile the
    same UPDATE each time. The values are prepared by their fields, as the ORM prepares them. With ``history``
    (PostgreSQL), the conversation history is set to the row's with its entries added.
    """
    fields = tuple(values)
    key = (connection.vendor, fields, unchanged_since is not None, history is not None)
    sql = _updates.get(key)
    if sql is None:
        sql = _updates[key] = _update_sql(
            connection=connection, fields=fields, conditional=unchanged_since is not None, appended=history is not None
        )
    version = _FIELDS["updated_at"]
    params = [version.get_db_prep_save(updated_at, connection)]
    params += [_FIELDS[name].get_db_prep_save(value, connection) for name, value in values.items()]
    if history is not None:
        entries = _FIELDS["conversation_history"].get_db_prep_save(history.entries, connection)
        params += [entries, history.keep]
    params.append(_META.pk.get_db_prep_value(state_id, connection))
    if unchanged_since is not None:
        params.append(version.get_db_prep_value(unchanged_since, connection))
    return sql, params


def _executed(database: str, sql: str, params: list[Any]) -> bool:
    """Run one write; True when it touched a row. As ``QuerySet.update()``, a failure marks the enclosing
    atomic block for rollback."""
    with transaction.mark_for_rollback_on_error(using=database), connections[database].cursor() as cursor:
        cursor.execute(sql, params)
        return bool(cursor.rowcount)


def _claim_sql(connection: Any, claim: Claim) -> tuple[str, str]:
    """The condition that the claimed row exists (to append to the ``UPDATE``), and the row's ``DELETE``."""
    quote = connection.ops.quote_name
    match = " AND ".join(f"{quote(column)} = %s" for column in claim.where)
    table = quote(claim.table)
    return f" AND EXISTS (SELECT 1 FROM {table} WHERE {match})", f"DELETE FROM {table} WHERE {match}"  # noqa: S608


def _executed_claiming(database: str, sql: str, params: list[Any], claim: Claim) -> bool:
    """The ``UPDATE`` (while the claimed row exists) and the claimed row's ``DELETE`` (if the ``UPDATE``
    wrote), both or neither; the state row is locked before the claimed one, in the order every other
    writer of both takes them.

    On PostgreSQL the two are one statement, run on its own (autocommit) or in the caller's transaction:
    one round trip, where ``BEGIN``, the statement and ``COMMIT`` took three. Its ``UPDATE`` checks the
    claim in the statement's snapshot: another transaction may change the claimed row after that (a chat
    turn's lock that expired, taken over by another turn while this ``UPDATE`` waited on the state row).
    The ``DELETE`` then skips that row, and the statement divides by zero, which aborts it and undoes its
    ``UPDATE``: False, as if the claim had been gone from the start (in a caller's transaction, that
    transaction is marked for rollback, as any failed write marks it). SQLite has no ``DELETE`` inside a
    ``WITH``, and a writer there has the database to itself: two statements, in a transaction.
    """
    connection = connections[database]
    condition, delete = _claim_sql(connection, claim)
    values = list(claim.where.values())
    if connection.vendor != "postgresql":
        with transaction.atomic(using=database, savepoint=False):
            written = _executed(database, sql + condition, params + values)
            if written:
                _executed(database, delete, values)
            return written
    # Only quoted table and column names are formatted in; every value is a parameter. Plain SQL has no
    # RAISE: saved / (1 + released - saved) is saved (0 or 1) unless the UPDATE wrote and the DELETE did not,
    # where it divides by zero. Nothing else in the statement divides, and the divisor is no constant that
    # PostgreSQL could fold (and fail) while planning. Should the race hit the run that prepares the statement
    # on a connection, psycopg forgets that statement and prepares it again next time: one more plan kept on
    # that server connection until it closes.
    statement = (
        f"WITH saved AS ({sql}{condition} RETURNING 1), "  # noqa: S608
        f"released AS ({delete} AND EXISTS (SELECT 1 FROM saved) RETURNING 1) "
        "SELECT (SELECT count(*) FROM saved) / (1 + (SELECT count(*) FROM released) - (SELECT count(*) FROM saved))"
    )
    try:
        with transaction.mark_for_rollback_on_error(using=database), prepared_cursor(connection) as cursor:
            cursor.execute(statement, [*params, *values, *values])
            (saved,) = cursor.fetchone()
    except DataError as error:
        if getattr(error.__cause__, "sqlstate", None) != _DIVISION_BY_ZERO:
            raise
        return False
    return bool(saved)


def onboarding_histories_clear(*, last_written_before: datetime) -> int:
    """Empty the conversation history of every state not written since ``last_written_before``; returns how many.

    Their new ``updated_at`` is at least ``last_written_before``, so it moves past every row it matches.
    With the agent feature off there is no history to touch: 0.
    """
    if not agent_fields_in_use():
        return 0
    states = OnboardingState.objects.with_history_older_than(last_written_before)
    return states.update(conversation_history=[], updated_at=max(timezone.now(), last_written_before))


def onboarding_state_delete(*, state: OnboardingState) -> None:
    """Delete the state row; rows hanging off it by foreign key go with it (``on_delete=CASCADE``)."""
    state.delete()
