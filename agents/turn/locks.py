"""The turn lock and the idempotency records: who may run a turn now, and what a resent request gets.

The lock is taken and dropped with plain SQL: one statement each on every chat message
(the ORM would need three to take it). Only the models' own table names are formatted
in; every value is a parameter. Locks are always taken state row first, then lock row
(as ``onboarding_reset`` and ``onboarding_erase`` do), so a commit never deadlocks with them.

A lock's expiry is set and judged by the database's clock, never by the host's: with several
instances, one whose clock runs ahead would otherwise take over a lock still held elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from agents import wording
from agents.models import ChatIdempotencyRecord, ChatTurnLock
from agents.turn.reply import ChatReply
from core.db_backends import prepared_cursor
from core.errors import ConflictError, UnprocessableError
from onboarding.models import OnboardingState
from onboarding.state_writer import Claim

logger = logging.getLogger(__name__)

_LOCKS = ChatTurnLock._meta.db_table
_STATES = OnboardingState._meta.db_table
_USERS = get_user_model()._meta.db_table


_TOKEN = ChatTurnLock._meta.get_field("token")
# The ids go to the database as their columns' type (bigint on PostgreSQL), not sized by value: each type a
# prepared statement is sent is another statement prepared (core.db_backends.prepared_cursor).
_USER_ID = get_user_model()._meta.pk
_STATE_ID = ChatTurnLock._meta.pk
# The statements that take and drop a lock, by database vendor (they differ in how names are quoted, and in
# how they read the database's clock).
_statements: dict[str, tuple[str, str]] = {}
# The database's time now, and that time plus a number of seconds (the statement's parameter), as a value that
# compares with the ``expires_at`` column. SQLite's is UTC text with the prefix Django stores ('YYYY-MM-DD
# HH:MM:SS'), to the millisecond where Django keeps microseconds.
_CLOCK_SQL = {
    "postgresql": ("statement_timestamp()", "statement_timestamp() + %s * interval '1 second'"),
    "sqlite": (
        "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now')",
        "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', %s || ' seconds')",
    ),
}


def _lock_statements(db: BaseDatabaseWrapper) -> tuple[str, str]:
    statements = _statements.get(db.vendor)
    if statements is None:
        locks, states, users = (db.ops.quote_name(name) for name in (_LOCKS, _STATES, _USERS))
        now, later = _CLOCK_SQL[db.vendor]
        acquire = (
            f"INSERT INTO {locks} (state_id, token, expires_at) SELECT s.id, %s, {later} FROM {states} s "  # noqa: S608
            f"JOIN {users} u ON u.id = s.user_id WHERE s.user_id = %s AND u.is_active "
            f"ON CONFLICT (state_id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at "
            f"WHERE {locks}.expires_at < {now} RETURNING state_id"
        )
        delete = f"DELETE FROM {locks} WHERE state_id = %s AND token = %s"  # noqa: S608
        statements = _statements[db.vendor] = (acquire, delete)
    return statements


def turn_lock_acquire(*, user_id: int) -> tuple[int, uuid.UUID] | None:
    """Take the user's turn lock: ``(state id, token)``, or None when not started, a turn is in flight, or the
    account is gone or deactivated.

    Creates the lock, or takes over one that expired (left by a dead worker); a lock
    still held is left alone and no row comes back. The same statement checks that the
    account exists and is active, so the chat endpoints need no ``SELECT`` of the user
    (``accounts.authentication.DeferredUserJWTAuthentication``). Valid on PostgreSQL and
    SQLite (which needs the ``WHERE`` in the ``SELECT`` of an upsert).
    """
    token = uuid.uuid4()
    db = connections[DEFAULT_DB_ALIAS]
    try:
        with prepared_cursor(db) as cursor:
            params = [
                _TOKEN.get_db_prep_value(token, db),
                settings.CHAT_TURN_LOCK_SECONDS,
                _USER_ID.get_db_prep_value(user_id, db),
            ]
            cursor.execute(_lock_statements(db)[0], params)
            row = cursor.fetchone()
    except IntegrityError:  # the state was erased while the lock was inserted (PostgreSQL's foreign key check)
        return None
    return None if row is None else (row[0], token)


def turn_lock_delete(*, state_id: int, token: uuid.UUID) -> bool:
    """Delete the lock if it is still this turn's; False when it expired and was taken, or was removed."""
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(_lock_statements(db)[1], [state_id, _TOKEN.get_db_prep_value(token, db)])
        return cursor.rowcount == 1


def turn_lock_claim(*, state_id: int, token: uuid.UUID) -> Claim:
    """The turn's lock as the state writer's claim: the commit saves only while the turn holds it, and drops it."""
    db = connections[DEFAULT_DB_ALIAS]
    return Claim(
        table=_LOCKS,
        where={"state_id": _STATE_ID.get_db_prep_value(state_id, db), "token": _TOKEN.get_db_prep_value(token, db)},
    )


def turn_lock_release(*, state_id: int, token: uuid.UUID) -> None:
    """Drop the lock of a turn that ends without its commit; a failure here is logged, never raised."""
    try:
        turn_lock_delete(state_id=state_id, token=token)
    except Exception:  # the lock expires by itself; never hide the turn's own outcome
        logger.warning("Could not release the chat turn lock of state %s", state_id, exc_info=True)


def turn_lock_lost(*, state_id: int) -> ConflictError:
    """The 409 for a turn whose lock is gone at commit: the onboarding was erased, or the turn superseded."""
    if not OnboardingState.objects.filter(pk=state_id).exists():
        return ConflictError(wording.error_onboarding_erased(), code="onboarding_changed")
    # Expired, or removed by a reset of the onboarding while the LLM answered.
    return ConflictError(wording.error_turn_expired(), code="turn_expired")


def turn_in_progress() -> ConflictError:
    """The 409 for a message sent while another of the same user's is being answered."""
    return ConflictError(wording.error_turn_in_progress(), code="turn_in_progress")


def request_hash(*, message: str, step: int | None) -> str:
    """What identifies a request's body, so a key resent with another body is told apart."""
    return hashlib.sha256(json.dumps({"message": message, "step": step}, sort_keys=True).encode()).hexdigest()


def idempotent_replay(*, state_id: int, key: str | None, request_hash: str) -> ChatReply | None:
    """The stored reply for a resent key; 422 when the key was used with another body."""
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
        raise UnprocessableError(wording.error_idempotency_key_reused(), code="idempotency_key_reused")
    return ChatReply.from_body(record.response)


def idempotency_record_create(*, state_id: int, key: str, request_hash: str, reply: ChatReply) -> None:
    """Store the reply to a request sent with a key (inside the turn's commit)."""
    ChatIdempotencyRecord.objects.create(
        state_id=state_id, key=key, request_hash=request_hash, response=reply.as_body()
    )
