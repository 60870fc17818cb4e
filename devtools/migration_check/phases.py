"""The migration check's Django side: one phase per process, against the database in ``DATABASE_URL``.

``python -m devtools.migration_check.phases seed|upgrade|rollback|forward`` prints one JSON line
(what it did and how many checks passed) and exits 0, or prints why on stderr and exits 1.
The API is driven in-process with DRF's ``APIClient`` (no server, no port), as an app client
would call it: the checks are the guide's integration tests, run against a copy of real data
rather than a test database, and leave their writes in that throwaway copy.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

import django

from devtools.sample_answers import REVIEW_CONFIRMATION, TERSE_CHAT, valid_answers

# How many users' state, progress and export are checked: all of a seeded source, a sample of a big copy.
USERS_CHECKED = 50
# A user who answers every step in the chat (the offline engine understands these), then confirms the review.
CHAT_WALK = [*TERSE_CHAT, REVIEW_CONFIRMATION]
CHAT_START = [
    "Hi! I'd say I'm moderately active - I can do about twenty five push-ups and I work out twice a week",
    "I've got a pair of dumbbells and resistance bands. I have a bad knee but no other limitations",
]
ONBOARDING = "/api/v1/onboarding"


class CheckError(Exception):
    """A check of the phase failed; the message says which."""


@dataclass
class Checks:
    """Counts the checks that passed; the first that fails ends the phase."""

    passed: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def that(self, condition: bool, what: str) -> None:
        """Count ``condition`` or fail with ``what``."""
        if not condition:
            raise CheckError(what)
        self.passed += 1

    def status(self, response: Any, expected: int, what: str) -> Any:
        """Check a response's status; its JSON body (or None)."""
        body = _json(response)
        self.that(response.status_code == expected, f"{what}: HTTP {response.status_code}, expected {expected}: {body}")
        return body


def _json(response: Any) -> Any:
    try:
        return response.json()
    except (ValueError, TypeError):
        return None


def _client(user: Any) -> Any:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def _new_user(label: str) -> Any:
    from accounts.models import User

    return User.objects.create_user(email=f"migration-check-{label}-{uuid.uuid4().hex[:8]}@example.com", password=None)


def _by_form(checks: Checks, client: Any, steps: range) -> None:
    given = valid_answers()
    for step in steps:
        response = client.post(f"{ONBOARDING}/step", {"step": step, "data": given[step]}, format="json")
        checks.status(response, 200, f"form answer to step {step}")


def _chat(checks: Checks, client: Any, message: str, **headers: Any) -> Any:
    return checks.status(
        client.post(f"{ONBOARDING}/chat", {"message": message}, format="json", **headers), 200, f"chat {message!r}"
    )


# --- what the database holds -------------------------------------------------------------------------------


def state_rows() -> dict[int, dict[str, Any]]:
    """Every onboarding state without the agent columns, keyed by user id."""
    from django.db import connection

    from onboarding.models import AGENT_FIELDS, OnboardingState

    table = OnboardingState._meta.db_table
    with connection.cursor() as cursor:
        names = [
            col.name
            for col in connection.introspection.get_table_description(cursor, table)
            if col.name not in AGENT_FIELDS
        ]
        cursor.execute(f"SELECT {', '.join(map(connection.ops.quote_name, names))} FROM {table}")  # noqa: S608
        found = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    # Django has psycopg hand JSON columns over as text (its JSONField parses them).
    return {row["user_id"]: {**row, "step_data": _parsed(row["step_data"])} for row in found}


def _parsed(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def fingerprint() -> dict[str, tuple[int, str]]:
    """Each table's row count and a digest of its rows (the state table without the agent columns).

    Computed by PostgreSQL, so a big copy is not read into this process. ``django_migrations`` is left out:
    migrating changes it, and only it, on purpose.
    """
    from django.db import connection

    from onboarding.models import AGENT_FIELDS, OnboardingState

    prints: dict[str, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table == "django_migrations":
                continue
            names = [
                connection.ops.quote_name(col.name)
                for col in connection.introspection.get_table_description(cursor, table)
                if not (table == OnboardingState._meta.db_table and col.name in AGENT_FIELDS)
            ]
            cursor.execute(
                "SELECT count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), ''))"  # noqa: S608
                f" FROM (SELECT {', '.join(names)} FROM {connection.ops.quote_name(table)}) AS r"
            )
            count, digest = cursor.fetchone()
            prints[table] = (count, digest)
    return prints


def fingerprint_changes(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    """The tables of ``before`` that lost rows or values in ``after`` (a table only in ``after`` is new: fine)."""
    changes = []
    for table, (count, digest) in sorted(before.items()):
        if table not in after:
            changes.append(f"{table}: dropped ({count} rows)")
        elif after[table] != (count, digest):
            changes.append(f"{table}: {count} rows before, {after[table][0]} after, values differ")
    return changes


def agent_columns() -> set[str]:
    """Which of the three agent columns the state table has."""
    from django.db import connection

    from onboarding.models import AGENT_FIELDS, OnboardingState

    with connection.cursor() as cursor:
        table = connection.introspection.get_table_description(cursor, OnboardingState._meta.db_table)
    return {col.name for col in table} & set(AGENT_FIELDS)


@contextmanager
def _unchanged(checks: Checks, what: str) -> Iterator[None]:
    before = fingerprint()
    yield
    changes = fingerprint_changes(before, fingerprint())
    checks.that(not changes, f"{what} changed data: {'; '.join(changes)}")
    checks.notes.setdefault("tables_compared", len(before))


# --- the API checks (the guide's integration tests) -----------------------------------------------------------


def existing_users_served(checks: Checks, *, agents_on: bool) -> list[Any]:
    """State, progress and export of existing users agree with their rows; their incomplete states' users."""
    from accounts.models import User

    rows = state_rows()
    users = User.objects.filter(pk__in=sorted(rows)[:USERS_CHECKED]).order_by("pk")
    incomplete = []
    for user in users:
        client, row = _client(user), rows[user.pk]
        state = checks.status(client.get(f"{ONBOARDING}/state"), 200, f"state of user {user.pk}")
        checks.that(state["step_data"] == row["step_data"], f"state of user {user.pk} differs from its row")
        checks.that(state["current_step"] == row["current_step"], f"current_step of user {user.pk}")
        progress = checks.status(client.get(f"{ONBOARDING}/progress"), 200, f"progress of user {user.pk}")
        checks.that(progress["is_complete"] == row["is_complete"], f"progress of user {user.pk}")
        export = checks.status(client.get(f"{ONBOARDING}/export"), 200, f"export of user {user.pk}")
        checks.that(export["onboarding"]["step_data"] == row["step_data"], f"export of user {user.pk}")
        checks.that(("conversation_history" in export["onboarding"]) is agents_on, f"export of user {user.pk}")
        if not row["is_complete"]:
            incomplete.append(user)
            expected = 200 if agents_on else 503
            checks.status(client.get(f"{ONBOARDING}/current-agent"), expected, f"current-agent of user {user.pk}")
    checks.notes["users_checked"] = len(users)
    return incomplete


def existing_users_continue(checks: Checks, incomplete: list[Any], *, agents_on: bool) -> None:
    """An existing user corrects step 1 by form; another (with the agents on) chats on."""
    if not incomplete:
        return
    given = valid_answers()
    client = _client(incomplete[0])
    checks.status(
        client.post(f"{ONBOARDING}/step", {"step": 1, "data": given[1]}, format="json"), 200, "a correction by form"
    )
    chatter = _client(incomplete[-1])
    if agents_on:
        _chat(checks, chatter, "What's next?")
    else:
        body = checks.status(chatter.post(f"{ONBOARDING}/chat", {"message": "hi"}, format="json"), 503, "chat off")
        checks.that(body["code"] == "agents_disabled", f"chat off answers {body}")


def new_user_by_form(checks: Checks) -> None:
    """A new user starts, answers the nine steps by form, completes and exports."""
    client = _client(_new_user("form"))
    checks.status(client.post(f"{ONBOARDING}/start"), 201, "a new user's start")
    _by_form(checks, client, range(1, 10))
    checks.that(checks.status(client.post(f"{ONBOARDING}/complete"), 200, "complete")["is_complete"], "complete")
    export = checks.status(client.get(f"{ONBOARDING}/export"), 200, "a new user's export")
    checks.that(len(export["onboarding"]["step_data"]) == 9, "the new user's export has nine steps")


# --- the phases --------------------------------------------------------------------------------------------


def phase_seed(checks: Checks) -> None:
    """Migrate an empty database and fill it through the API: chat and form users, finished and half-way."""
    from django.core.management import call_command
    from rest_framework.test import APIClient

    call_command("migrate", verbosity=0)
    registered = APIClient()
    email, password = f"migration-check-{uuid.uuid4().hex[:8]}@example.com", f"Pw-{uuid.uuid4().hex}"
    checks.status(
        registered.post("/api/v1/auth/register", {"email": email, "password": password}, format="json"),
        201,
        "register",
    )
    token = checks.status(
        registered.post("/api/v1/auth/token", {"email": email, "password": password}, format="json"), 200, "token"
    )
    registered.credentials(HTTP_AUTHORIZATION=f"Bearer {token['access']}")
    people = {name: _client(_new_user(name)) for name in ("chat-done", "chat-half", "form-done", "form-half", "mixed")}
    for client in [registered, *people.values(), _client(_new_user("started"))]:
        checks.status(client.post(f"{ONBOARDING}/start"), 201, "start")
    _by_form(checks, registered, range(1, 2))
    for message in CHAT_WALK:
        _chat(checks, people["chat-done"], message)
    checks.that(people["chat-done"].get(f"{ONBOARDING}/state").json()["is_complete"], "onboarding done by chat")
    for message in CHAT_START:
        _chat(checks, people["chat-half"], message)
    stream = people["chat-half"].post(
        f"{ONBOARDING}/chat/stream", {"message": "Mainly I want to build muscle"}, format="json"
    )
    checks.that(stream.status_code == 200 and b"event: done" in b"".join(stream.streaming_content), "chat stream")
    _by_form(checks, people["form-done"], range(1, 10))
    checks.status(people["form-done"].post(f"{ONBOARDING}/complete"), 200, "complete by form")
    _by_form(checks, people["form-half"], range(1, 5))
    _by_form(checks, people["mixed"], range(1, 3))
    _chat(checks, people["mixed"], "I want to lose weight", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    checks.notes["users"] = len(state_rows())


def phase_upgrade(checks: Checks) -> None:
    """Apply the pending migrations to the copy (nothing lost), then run the API checks on it."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    checks.notes["applied"] = [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
    with _unchanged(checks, "migrate"):
        call_command("migrate", verbosity=0)
    incomplete = existing_users_served(checks, agents_on=True)
    existing_users_continue(checks, incomplete, agents_on=True)
    new_user_by_form(checks)


def phase_rollback(checks: Checks) -> None:
    """With the agents off: roll the agent migration back under this process, which keeps serving the form flow."""
    from django.core.management import call_command
    from rest_framework.test import APIClient

    from onboarding.models import AGENT_FIELDS

    existing_users_served(checks, agents_on=False)  # before
    with _unchanged(checks, "rollback onboarding"):
        call_command("rollback", "onboarding", stdout=StringIO())
    checks.that(not agent_columns(), f"the rollback left {sorted(agent_columns())} of {AGENT_FIELDS}")
    ready = APIClient().get("/api/v1/health/ready")
    checks.status(ready, 200, "readiness after the rollback")
    incomplete = existing_users_served(checks, agents_on=False)  # after
    existing_users_continue(checks, incomplete, agents_on=False)
    new_user_by_form(checks)
    if incomplete:
        checks.status(_client(incomplete[0]).delete(ONBOARDING), 204, "erase after the rollback")


def phase_forward(checks: Checks) -> None:
    """Migrate again with the agents on: nothing lost, the columns back with their defaults, the chat answers."""
    from django.core.management import call_command
    from django.db import connection

    with _unchanged(checks, "migrate (roll forward)"):
        call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM onboarding_states"
            " WHERE current_agent IS NOT NULL OR agent_context <> '{}' OR conversation_history <> '[]'"
        )
        (filled,) = cursor.fetchone()
    checks.that(filled == 0, f"{filled} rows have agent values right after the roll-forward")
    incomplete = existing_users_served(checks, agents_on=True)
    existing_users_continue(checks, incomplete, agents_on=True)


PHASES: dict[str, Callable[[Checks], None]] = {
    "seed": phase_seed,
    "upgrade": phase_upgrade,
    "rollback": phase_rollback,
    "forward": phase_forward,
}


def main(argv: list[str]) -> int:
    """Run one phase against ``DATABASE_URL``; print its summary as one JSON line."""
    if len(argv) != 1 or argv[0] not in PHASES:
        print(f"usage: python -m devtools.migration_check.phases {{{','.join(PHASES)}}}", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuren.settings")
    django.setup()
    checks = Checks()
    try:
        PHASES[argv[0]](checks)
    except CheckError as exc:
        print(f"{argv[0]}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"phase": argv[0], "checks": checks.passed, **checks.notes}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
