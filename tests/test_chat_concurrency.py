"""Concurrent messages, idempotent resends and the database connection during the LLM wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from devtools.fake_anthropic import FakeAnthropicServer, Reply
from onboarding.models import OnboardingState
from tests.conftest import client_for, echo_responder, in_threads

CHAT = "/api/v1/onboarding/chat"


@pytest.fixture
def started_user(make_user: Any) -> User:
    user = make_user("busy@example.com")
    assert client_for(user).post("/api/v1/onboarding/start").status_code == 201
    return user


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_messages_for_one_user_keep_history_exact_and_ordered(
    claude: FakeAnthropicServer, started_user: User
) -> None:
    # Given a slow Claude that echoes each message
    claude.set_default_responder(echo_responder)
    claude.set_latency(0.15)

    # When 12 threads each send 4 messages for the same user as fast as they can
    def send(index: int) -> list[tuple[str, int]]:
        client = client_for(started_user)
        outcomes = []
        for attempt in range(4):
            message = f"thread {index} message {attempt}"
            response = client.post(CHAT, {"message": message}, format="json")
            assert response.status_code in (200, 409), response.content
            if response.status_code == 409:
                assert response.json()["code"] == "turn_in_progress"
            outcomes.append((message, response.status_code))
            time.sleep(0.05 * (index % 4))  # staggered think time, so turns both collide and succeed
        return outcomes

    outcomes = [item for result in in_threads(12, send) for item in result]

    # Then the history holds exactly the accepted turns, each once, as user/assistant pairs in order
    accepted = {message for message, status in outcomes if status == 200}
    history = OnboardingState.objects.get().conversation_history
    users = [entry["content"] for entry in history[0::2]]
    replies = [entry["content"] for entry in history[1::2]]
    assert len(accepted) >= 3
    assert len(accepted) < len(outcomes)  # the burst really collided
    assert sorted(users) == sorted(accepted)
    assert len(users) == len(set(users))
    assert [entry["role"] for entry in history] == ["user", "assistant"] * len(accepted)
    assert replies == [f"echo: {message}" for message in users]
    stamps = [entry["timestamp"] for entry in history]
    assert stamps == sorted(stamps)
    # and every rejected message never reached the LLM
    assert len(claude.message_requests()) == len(accepted)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_database_connection_is_released_while_waiting_for_the_llm(
    claude: FakeAnthropicServer, make_user: Any
) -> None:
    # Given four users whose messages will wait 0.7 s on Claude
    users = [make_user() for _ in range(4)]
    for user in users:
        client_for(user).post("/api/v1/onboarding/start")
    claude.set_latency(0.7)
    pool = connection.pool  # type: ignore[attr-defined]  # the PostgreSQL backend's psycopg pool
    connection.close()

    # When they all chat at once, and we look at the pool while the calls are in flight
    checked_out: list[int] = []

    def watch() -> None:
        deadline = time.monotonic() + 5
        while claude.request_count < len(users) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        stats = pool.get_stats()
        checked_out.append(stats["pool_size"] - stats["pool_available"])

    watcher = threading.Thread(target=watch)
    watcher.start()
    statuses = in_threads(
        len(users), lambda i: client_for(users[i]).post(CHAT, {"message": "hi"}, format="json").status_code
    )
    watcher.join()

    # Then no request held a pooled connection during the wait, and all of them succeeded
    assert claude.max_concurrency_seen == len(users)
    assert checked_out == [0]
    assert statuses == [200] * len(users)


@contextmanager
def _checkouts() -> Iterator[list[str]]:
    """The database connections taken (from the pool, or opened) while the block runs, by alias."""
    from django.db.backends.signals import connection_created

    taken: list[str] = []

    def checked_out(sender: Any, connection: Any, **kwargs: Any) -> None:
        taken.append(connection.alias)

    connection.close()
    connection_created.connect(checked_out)
    try:
        yield taken
    finally:
        connection_created.disconnect(checked_out)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_turn_takes_a_pooled_connection_only_for_its_two_bursts_of_queries(
    claude: FakeAnthropicServer, started_user: User
) -> None:
    # Under load a thread waits for the GIL through the turn's Python work, so a connection held through
    # it is one the pool cannot lend to another thread's queries (bench/RESULTS.md, fifth sitting).
    from agents.turn.prepare import turn_prepare
    from agents.turn.process import chat_turn_process

    claude.set_default_responder(echo_responder)
    with _checkouts() as checkouts:
        # When the turn is prepared: the lock and the read, then the LLM request built
        plan = turn_prepare(user=started_user, message="hello", step=None, idempotency_key=None)
        # Then the connection is already back in the pool
        assert connection.connection is None
        assert checkouts == ["default"]
        from agents.turn.locks import turn_lock_release

        turn_lock_release(state_id=plan.state_id, token=plan.lock_token)  # type: ignore[union-attr]
        connection.close()
        checkouts.clear()

        # When a whole turn runs: one checkout before the LLM call and one for the save, none after
        reply = chat_turn_process(user=started_user, message="I'm a beginner")

    assert reply.message == "echo: I'm a beginner"
    assert checkouts == ["default", "default"]
    assert connection.connection is None
    assert OnboardingState.objects.get().conversation_history[-1]["content"] == "echo: I'm a beginner"


RELEASES = (
    # In a fresh process with the service's settings: is the connection still open after each release?
    "import django; django.setup(); from django.db import connection; "
    "from agents.turn.prepare import connection_release; "
    "connection.ensure_connection(); connection_release(pooled_only=True); kept = connection.connection is not None; "
    "connection.ensure_connection(); connection_release(); print(kept, connection.connection is not None)"
)


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(("pool", "kept_after_the_save"), [("true", False), ("false", True)])
def test_after_the_save_only_a_pooled_connection_is_given_back(pool: str, kept_after_the_save: bool) -> None:
    # A persistent connection of the thread's own (CONN_MAX_AGE without the pool) is what the next request
    # reuses: closing it after the save would cost a connect per request. Before the LLM call, any goes.
    from tests.conftest import environ_without, run_django

    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = environ_without("DATABASE_URL", "DB_POOL", "CONN_MAX_AGE", "DB_PGBOUNCER", "SHUREN_DEV_DEFAULTS")
    completed = run_django(
        ["-c", RELEASES],
        {**env, "DEBUG": "True", "LLM_PROVIDER": "offline", "DATABASE_URL": url, "DB_POOL": pool, "CONN_MAX_AGE": "60"},
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split()[-2:] == [str(kept_after_the_save), "False"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_message_for_a_step_not_reachable_releases_its_lock_on_the_connection_it_has(started_user: User) -> None:
    from agents.models import ChatTurnLock
    from agents.turn.process import chat_turn_process
    from core.errors import ConflictError

    with _checkouts() as checkouts, pytest.raises(ConflictError):
        chat_turn_process(user=started_user, message="about my diet", step=6)

    assert checkouts == ["default"]
    assert not ChatTurnLock.objects.exists()


@pytest.mark.django_db
def test_a_resend_with_the_same_key_returns_the_first_reply_without_calling_the_llm(
    claude: FakeAnthropicServer, started: APIClient
) -> None:
    claude.set_default_responder(echo_responder)

    first = started.post(CHAT, {"message": "hello"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    second = started.post(CHAT, {"message": "hello"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1")

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert len(claude.message_requests()) == 1
    assert len(OnboardingState.objects.get().conversation_history) == 2


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_422(claude: FakeAnthropicServer, started: APIClient) -> None:
    started.post(CHAT, {"message": "hello"}, format="json", HTTP_IDEMPOTENCY_KEY="key-2")

    response = started.post(CHAT, {"message": "something else"}, format="json", HTTP_IDEMPOTENCY_KEY="key-2")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert len(claude.message_requests()) == 1


@pytest.mark.django_db
def test_idempotency_keys_are_per_user(claude: FakeAnthropicServer, started: APIClient, make_user: Any) -> None:
    bob = client_for(make_user("bob@example.com"))
    bob.post("/api/v1/onboarding/start")
    claude.set_default_responder(echo_responder)

    started.post(CHAT, {"message": "alice's secret"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    response = bob.post(CHAT, {"message": "bob here"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")

    assert response.status_code == 200
    assert "alice" not in response.json()["message"]


@pytest.mark.django_db
def test_an_expired_key_is_processed_again(claude: FakeAnthropicServer, started: APIClient) -> None:
    from datetime import timedelta

    from agents.models import ChatIdempotencyRecord

    started.post(CHAT, {"message": "hello"}, format="json", HTTP_IDEMPOTENCY_KEY="old")
    ChatIdempotencyRecord.objects.update(
        created_at=ChatIdempotencyRecord.objects.get().created_at - timedelta(hours=25)
    )

    response = started.post(CHAT, {"message": "hello"}, format="json", HTTP_IDEMPOTENCY_KEY="old")

    assert response.status_code == 200
    assert len(claude.message_requests()) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "tab\tkey"])
def test_malformed_idempotency_keys_are_422(started: APIClient, key: str) -> None:
    response = started.post(CHAT, {"message": "hello"}, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 422


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_resends_with_one_key_call_the_llm_once(claude: FakeAnthropicServer, started_user: User) -> None:
    claude.set_latency(0.3)

    def resend(_: int) -> tuple[int, Any]:
        response = client_for(started_user).post(CHAT, {"message": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
        return response.status_code, response.json()

    results = in_threads(8, resend)
    # Resends after the first reply was stored get that reply.
    later = client_for(started_user).post(CHAT, {"message": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert len(claude.message_requests()) == 1
    assert {status for status, _ in results} <= {200, 409}
    bodies = [body for status, body in results if status == 200] + [later.json()]
    assert all(body == bodies[0] for body in bodies)
    assert len(OnboardingState.objects.get().conversation_history) == 2


@pytest.mark.django_db
def test_a_stale_turn_lock_expires(claude: FakeAnthropicServer, started: APIClient) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from agents.models import ChatTurnLock

    ChatTurnLock.objects.create(
        state=OnboardingState.objects.get(),
        token="00000000-0000-0000-0000-000000000000",
        expires_at=timezone.now() - timedelta(seconds=1),
    )

    assert started.post(CHAT, {"message": "hello"}, format="json").status_code == 200


@pytest.mark.django_db
def test_while_a_turn_is_in_flight_a_finished_request_resent_is_replayed_and_a_bad_step_refused(
    claude: FakeAnthropicServer, started: APIClient
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from agents.models import ChatTurnLock

    # Given a message answered under an Idempotency-Key, then another message of the user in flight
    claude.set_default_responder(echo_responder)
    first = started.post(CHAT, {"message": "hello"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    ChatTurnLock.objects.create(
        state=OnboardingState.objects.get(),
        token="00000000-0000-0000-0000-000000000000",
        expires_at=timezone.now() + timedelta(seconds=60),
    )

    # When the first request is resent, and a message names a step not reached yet
    resent = started.post(CHAT, {"message": "hello"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    ahead = started.post(CHAT, {"message": "hi", "step": 5}, format="json")

    # Then the resend gets its stored reply, the other the error it would get anyway, and the LLM is not called
    assert (resent.status_code, resent.json()) == (200, first.json())
    assert (ahead.status_code, ahead.json()["code"]) == (409, "step_not_reachable")
    assert len(claude.message_requests()) == 1


@pytest.mark.django_db
def test_a_chat_turn_costs_three_statements_on_postgresql(claude: FakeAnthropicServer, started: APIClient) -> None:
    # Every message of every user pays for these: the lock (which also checks the account, so there is
    # no SELECT of the user), the state; then the state update and the lock delete, one statement on
    # PostgreSQL (with no transaction around it: three round trips in all), two in a transaction on SQLite
    # (bench/RESULTS.md, fourth and sixth sittings). One more is a regression to justify, not a detail.
    from django.test.utils import CaptureQueriesContext

    from agents.models import ChatTurnLock

    claude.set_default_responder(echo_responder)
    assert started.post(CHAT, {"message": "hello"}, format="json").status_code == 200

    with CaptureQueriesContext(connection) as queries:
        response = started.post(CHAT, {"message": "I'm a beginner"}, format="json")

    assert response.status_code == 200
    statements = [
        query["sql"]
        for query in queries.captured_queries
        if not query["sql"].upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))
    ]
    first_words = [statement.split()[0].upper() for statement in statements]
    if connection.vendor == "postgresql":
        assert first_words == ["INSERT", "SELECT", "WITH"]
        assert 'UPDATE "onboarding_states"' in statements[2]
        assert 'DELETE FROM "onboarding_chat_turn_locks"' in statements[2]
    else:
        assert first_words == ["INSERT", "SELECT", "UPDATE", "DELETE"]
        assert '"onboarding_states"' in statements[2]
    assert '"onboarding_chat_turn_locks"' in statements[0]
    assert OnboardingState.objects.get().conversation_history[-2]["content"] == "I'm a beginner"
    assert not ChatTurnLock.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_on_postgresql_a_chat_turn_neither_reads_nor_sends_the_history_it_keeps(
    claude: FakeAnthropicServer, started: APIClient, settings: Any
) -> None:
    # The history keeps up to CONVERSATION_HISTORY_MAX_ENTRIES entries (400 by default, easily 100 kB of JSON),
    # of which the LLM is sent the last LLM_HISTORY_MESSAGES. Read, parsed, encoded and sent back whole on every
    # message, it cost more CPU than the rest of the turn's database work (bench/RESULTS.md, seventh sitting).
    from django.test.utils import CaptureQueriesContext

    settings.LLM_HISTORY_MESSAGES = 6
    claude.set_default_responder(echo_responder)
    kept = [{"role": ("user", "assistant")[n % 2], "content": f"kept entry {n}", "step": 1} for n in range(40)]
    OnboardingState.objects.update(conversation_history=kept)

    with CaptureQueriesContext(connection) as queries:
        response = started.post(CHAT, {"message": "I'm a beginner"}, format="json")

    assert response.status_code == 200
    # The statements' values are in the captured text (last_executed_query composes them): no kept entry was sent
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 3
    assert not [statement for statement in statements if "kept entry" in statement]
    # and the state was read with the history's tail in place of the whole column
    columns = statements[1].split(" FROM ")[0]
    assert 'jsonb_path_query_array("conversation_history",' in columns
    assert '"conversation_history",' not in columns.replace('jsonb_path_query_array("conversation_history",', "")
    # The LLM got the last six kept entries and the message
    sent = claude.message_requests()[-1]["messages"]
    texts = [m["content"] if isinstance(m["content"], str) else m["content"][0]["text"] for m in sent]
    assert texts == [f"kept entry {n}" for n in range(34, 40)] + ["I'm a beginner"]
    # And the row holds every kept entry, then the message and the reply
    history = OnboardingState.objects.get().conversation_history
    assert history[:40] == kept
    assert [entry["content"] for entry in history[40:]] == ["I'm a beginner", "echo: I'm a beginner"]


def _prepared_runs() -> dict[str, tuple[str, int]]:
    """This session's prepared statements by name: their text and how many times each ran as prepared."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement, generic_plans + custom_plans FROM pg_prepared_statements")
        return {name: (statement, runs) for name, statement, runs in cursor.fetchall()}


@pytest.mark.postgres
@pytest.mark.django_db
def test_on_postgresql_the_turns_own_statements_are_prepared_and_the_orms_are_not(
    claude: FakeAnthropicServer, started: APIClient
) -> None:
    # Parsing and planning the lock and the save was about half of their server time (bench/RESULTS.md,
    # fifth sitting). The ORM's statements stay unprepared: a migration may change what they return.
    claude.set_default_responder(echo_responder)
    assert started.post(CHAT, {"message": "hello"}, format="json").status_code == 200
    before = _prepared_runs()  # the test's transaction keeps the turns' connection

    assert started.post(CHAT, {"message": "I'm a beginner"}, format="json").status_code == 200

    after = _prepared_runs()
    assert set(after) == set(before)  # the second turn prepared nothing new, ORM statements included
    ran = sorted(statement.split(" (")[0] for name, (statement, runs) in after.items() if runs == before[name][1] + 1)
    assert ran == ['INSERT INTO "onboarding_chat_turn_locks"', "WITH saved AS"]  # each ran once more, prepared
    ours = ('INSERT INTO "onboarding_chat_turn_locks"', 'WITH saved AS (UPDATE "onboarding_states"')
    assert all(statement.startswith(ours) for statement, _ in after.values()), after
    # and outside those runs psycopg keeps no account of the connection's statements (with a threshold it
    # would hold the text of up to 100 of them, values included: users' answers)
    assert connection.connection.prepare_threshold is None


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("preparing", [True, False], ids=["prepared", "unprepared"])
def test_the_turns_statements_bind_their_values_on_the_server_prepared_or_not(
    monkeypatch: pytest.MonkeyPatch, preparing: bool
) -> None:
    # DB_PGBOUNCER turns the preparing off (each transaction may run on another server connection). Either
    # way the values travel apart from the text, which PostgreSQL writes to its log if the statement fails:
    # these statements carry users' answers, and the save fails on purpose in a rare race.
    from core.db_backends import prepared_cursor

    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepared_statements", preparing)
    statement = "SELECT current_query(), %s::text"

    with prepared_cursor(connection) as cursor:
        for _ in range(6):  # past psycopg's default threshold (5 runs), which Django's None must keep off
            cursor.execute(statement, ["my left knee hurts"])
            text, value = cursor.fetchone()

    assert value == "my left knee hurts"
    assert text == "SELECT current_query(), $1::text"
    runs = [count for prepared, count in _prepared_runs().values() if prepared == text]
    assert runs == ([6] if preparing else [])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_prepared_statement_lost_on_its_server_connection_names_db_pgbouncer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a statement prepared on this connection, then gone from it, as behind PgBouncer's transaction
    # pooling, where the next transaction may run on another server connection
    from django.db import DatabaseError, close_old_connections

    from core.db_backends import prepared_cursor

    with prepared_cursor(connection) as cursor:
        cursor.execute("SELECT %s::int + 1", [1])
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")

    # When it runs again, it fails, and the log says which setting is missing
    with pytest.raises(DatabaseError), prepared_cursor(connection) as cursor:
        cursor.execute("SELECT %s::int + 1", [2])
    assert "set DB_PGBOUNCER=true" in caplog.text

    # and the next request gets another connection, where the statement works again
    close_old_connections()
    with prepared_cursor(connection) as cursor:
        cursor.execute("SELECT %s::int + 1", [3])
        assert cursor.fetchone() == (4,)


@pytest.mark.django_db
def test_a_turn_saves_on_a_row_whose_timestamp_the_database_wrote(
    claude: FakeAnthropicServer, started: APIClient
) -> None:
    # Given updated_at written by the database, not by Django (rows from before the service, or raw SQL):
    # SQLite's clock then has another text form than Django's, so the save onto the row as read misses
    # and the turn is saved on a locked fresh read.
    from django.db.models.functions import Now

    OnboardingState.objects.update(updated_at=Now())
    claude.set_default_responder(echo_responder)

    # When the user chats
    response = started.post(CHAT, {"message": "hello"}, format="json")

    # Then the turn is saved all the same
    assert response.status_code == 200
    history = OnboardingState.objects.get().conversation_history
    assert [entry["content"] for entry in history] == ["hello", response.json()["message"]]


@pytest.mark.django_db
def test_a_held_turn_lock_is_409_without_calling_the_llm(claude: FakeAnthropicServer, started: APIClient) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from agents.models import ChatTurnLock

    ChatTurnLock.objects.create(
        state=OnboardingState.objects.get(),
        token="00000000-0000-0000-0000-000000000000",
        expires_at=timezone.now() + timedelta(seconds=60),
    )

    response = started.post(CHAT, {"message": "hello"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "turn_in_progress"
    assert claude.message_requests() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_users_bursting_at_once_each_keep_an_exact_history(claude: FakeAnthropicServer, make_user: Any) -> None:
    # Given four users, each about to send bursts from four threads, and a slow echoing Claude
    users = [make_user(f"burst{i}@example.com") for i in range(4)]
    for user in users:
        client_for(user).post("/api/v1/onboarding/start")
    claude.set_default_responder(echo_responder)
    claude.set_latency(0.1)

    def send(index: int) -> list[tuple[int, str, int]]:
        owner = index % len(users)
        client = client_for(users[owner])
        outcomes = []
        for attempt in range(3):
            message = f"user {owner} thread {index} message {attempt}"
            status = client.post(CHAT, {"message": message}, format="json").status_code
            outcomes.append((owner, message, status))
            time.sleep(0.03 * (index % 3))
        return outcomes

    outcomes = [item for result in in_threads(16, send) for item in result]

    # Then every user's history holds exactly their accepted messages, each once, paired with its own reply
    assert {status for _, _, status in outcomes} <= {200, 409}
    for owner, user in enumerate(users):
        accepted = sorted(message for who, message, status in outcomes if who == owner and status == 200)
        history = OnboardingState.objects.get(user=user).conversation_history
        sent = [entry["content"] for entry in history[0::2]]
        assert accepted
        assert sorted(sent) == accepted
        assert [entry["content"] for entry in history[1::2]] == [f"echo: {message}" for message in sent]
        assert all(f"user {owner} " in message for message in sent)


@pytest.mark.django_db(transaction=True)
def test_an_erase_during_the_claude_call_leaves_no_cached_reply(
    claude: FakeAnthropicServer, started_user: User
) -> None:
    # Given Claude, while it writes its reply, sees the user erase their onboarding
    client = client_for(started_user)
    erasures: list[int] = []

    def erase_then_reply(body: dict[str, Any]) -> Reply:
        # The responder runs in the fake server's event loop; Django's ORM wants a thread of its own.
        in_threads(1, lambda _: erasures.append(client.delete("/api/v1/onboarding").status_code))
        return Reply(text="Noted: a beginner with a bad knee.")

    claude.set_default_responder(erase_then_reply)

    # When the message is answered after the erase
    chat = client.post(CHAT, {"message": "I'm a beginner with a bad knee"}, format="json")

    # Then the turn is refused, and no reply to it stays in the cache: starting over, the very same
    # first prompt goes to Claude again instead of being answered from the cache
    assert erasures == [204]
    assert (chat.status_code, chat.json()["code"]) == (409, "onboarding_changed")
    assert cache.get(f"llm-reply-keys:{started_user.pk}") is None
    claude.set_default_responder(echo_responder)
    client.post("/api/v1/onboarding/start")
    again = client.post(CHAT, {"message": "I'm a beginner with a bad knee"}, format="json")
    assert again.json()["message"].startswith("echo: ")
    assert len(claude.message_requests()) == 2
