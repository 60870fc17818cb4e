"""The deployment guide's rollback on one release: ``AGENTS_ENABLED=false``, then ``rollback onboarding``.

With the agent feature off the chat answers 503 ``agents_disabled`` and nothing reads or writes the
three agent columns, so their migration can be rolled back under the running service; the form flow,
export, erase and the admin keep working, and migrating again brings the chat back. The end-to-end
test runs on whichever database the suite runs on: SQLite, and PostgreSQL in CI's second pass.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from onboarding.models import AGENT_FIELDS
from tests.conftest import PASSWORD, client_for, valid_answers

ONBOARDING = "/api/v1/onboarding"
ADMIN = "/admin/onboarding/onboardingstate/"
AGENT_COLUMN = re.compile(r"\b(current_agent|agent_context|conversation_history)\b")
# An answer to step 1 the offline engine understands.
STEP_1_BY_CHAT = "I'm a beginner, I can do 10 pushups and I work out twice a week."


def columns() -> set[str]:
    with connection.cursor() as cursor:
        return {col.name for col in connection.introspection.get_table_description(cursor, "onboarding_states")}


def rows() -> dict[int, dict[str, Any]]:
    """Every state row as the database holds it, keyed by user id (JSON decoded on SQLite)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM onboarding_states ORDER BY id")
        names = [col[0] for col in cursor.description]
        found = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {row["user_id"]: {name: decoded(value) for name, value in row.items()} for row in found}


def decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


def without_agent_columns(row: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name not in AGENT_FIELDS}


def submit(client: APIClient, step: int, data: Any) -> Any:
    return client.post(f"{ONBOARDING}/step", {"step": step, "data": data}, format="json")


def by_form(client: APIClient, steps: range) -> None:
    answers = valid_answers()
    for step in steps:
        response = submit(client, step, answers[step])
        assert response.status_code == 200, response.json()


def chat(client: APIClient, message: str) -> Any:
    return client.post(f"{ONBOARDING}/chat", {"message": message}, format="json")


# --- the switch, on any database ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_chat_endpoints_answer_503_agents_disabled_and_save_nothing(started: APIClient, settings: Any) -> None:
    # Given a started onboarding and the agent feature switched off
    before = started.get(f"{ONBOARDING}/state").json()
    settings.AGENTS_ENABLED = False

    # When the three agent endpoints are called
    answers = [
        chat(started, STEP_1_BY_CHAT),
        started.post(f"{ONBOARDING}/chat/stream", {"message": STEP_1_BY_CHAT}, format="json"),
        started.post(
            f"{ONBOARDING}/chat/stream", {"message": STEP_1_BY_CHAT}, format="json", HTTP_ACCEPT="text/event-stream"
        ),
        started.get(f"{ONBOARDING}/current-agent"),
    ]

    # Then each is a 503 in the one error shape, saying what to do, with no Retry-After (it stays off)
    for response in answers:
        assert response.status_code == 503
        assert "Retry-After" not in response
    bodies = [answers[0].json(), answers[1].json(), answers[3].json()]
    assert all(body["code"] == "agents_disabled" for body in bodies)
    assert "switched off" in bodies[0]["detail"]
    assert "form" in bodies[0]["detail"]
    event = answers[2].content.decode()
    assert event.startswith("event: error\n")
    assert '"code": "agents_disabled"' in event
    # And nothing was saved: back on, the state is as it was
    settings.AGENTS_ENABLED = True
    assert started.get(f"{ONBOARDING}/state").json() == before


@pytest.mark.django_db
def test_authentication_comes_before_the_switch(anon: APIClient, settings: Any) -> None:
    settings.AGENTS_ENABLED = False

    assert chat(anon, "hi").status_code == 401
    assert anon.get(f"{ONBOARDING}/current-agent").status_code == 401


@pytest.mark.django_db
def test_the_terminal_chat_refuses_with_the_reason(user: User, settings: Any) -> None:
    settings.AGENTS_ENABLED = False

    with pytest.raises(CommandError, match="agents_disabled"):
        call_command("onboarding_chat", "--email", user.email, stdout=StringIO())


@pytest.mark.django_db
def test_with_the_feature_off_no_query_names_an_agent_column(make_user: Any, settings: Any) -> None:
    # Given the agent feature off and an admin
    settings.AGENTS_ENABLED = False
    admin = Client()
    admin.force_login(make_user("root@example.com", is_staff=True, is_superuser=True))
    form = client_for(make_user("form@example.com"))
    erased = client_for(make_user("erased@example.com"))

    # When the whole form flow, export, erase, the admin and the retention purge run
    with CaptureQueriesContext(connection) as queries:
        assert form.post(f"{ONBOARDING}/start").status_code == 201
        assert form.post(f"{ONBOARDING}/start").status_code == 200
        by_form(form, range(1, 10))
        assert form.get(f"{ONBOARDING}/progress").json()["percentage"] == 100
        assert form.post(f"{ONBOARDING}/complete").status_code == 200
        state = form.get(f"{ONBOARDING}/state").json()
        export = form.get(f"{ONBOARDING}/export").json()
        assert erased.post(f"{ONBOARDING}/start").status_code == 201
        pk = admin.get(ADMIN).context["cl"].result_list[0].pk
        assert admin.get(f"{ADMIN}{pk}/change/").status_code == 200
        reset = {"action": "reset_onboarding", "_selected_action": [pk], "confirm": "yes"}
        assert admin.post(ADMIN, reset).status_code == 302
        assert erased.delete(ONBOARDING).status_code == 204
        call_command("purge_conversations", "--older-than", "0", stdout=StringIO())

    # Then not one statement read or wrote the agent columns
    assert [q["sql"] for q in queries.captured_queries if AGENT_COLUMN.search(q["sql"])] == []
    # And the answers tell the client what they can without them
    assert state["is_complete"] is True
    assert state["current_agent"] is None
    assert set(export["onboarding"]) == {"current_step", "is_complete", "step_data", "created_at", "updated_at"}


@pytest.mark.django_db
def test_with_the_feature_off_the_admins_delete_pages_name_no_agent_column(make_user: Any, settings: Any) -> None:
    # Given users who chatted (a turn lock and an idempotency record hang off their states), then the feature off
    admin = Client()
    admin.force_login(make_user("root@example.com", is_staff=True, is_superuser=True))
    users = [make_user("state@example.com"), make_user("account@example.com")]
    for user in users:
        client = client_for(user)
        assert client.post(f"{ONBOARDING}/start").status_code == 201
        assert chat(client, STEP_1_BY_CHAT).status_code == 200
        resent = client.post(f"{ONBOARDING}/chat", {"message": "hi"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert resent.status_code == 200
    settings.AGENTS_ENABLED = False
    state = users[0].onboarding_state
    deleted_state = f"{ADMIN}{state.pk}/delete/"
    deleted_account = f"/admin/accounts/user/{users[1].pk}/delete/"

    # When a state and a whole account are deleted through the admin's delete pages (confirmation, then yes)
    with CaptureQueriesContext(connection) as queries:
        pages = [admin.get(deleted_state), admin.get(deleted_account)]
        done = [admin.post(deleted_state, {"post": "yes"}), admin.post(deleted_account, {"post": "yes"})]

    # Then both worked without one statement naming the agent columns (Django joins the state into the
    # rows it lists: a rolled-back table would fail them)
    assert [page.status_code for page in pages] == [200, 200]
    assert "Idempotency key k-1 of state" in pages[1].content.decode()  # a row joined to its state
    assert [response.status_code for response in done] == [302, 302]
    assert not User.objects.filter(pk=users[1].pk).exists()
    assert [q["sql"] for q in queries.captured_queries if AGENT_COLUMN.search(q["sql"])] == []


@pytest.mark.django_db
def test_with_the_feature_off_the_state_names_the_current_steps_agent(started: APIClient, settings: Any) -> None:
    settings.AGENTS_ENABLED = False

    by_form(started, range(1, 3))

    assert started.get(f"{ONBOARDING}/state").json()["current_agent"] == "GOAL_SETTING"


@pytest.mark.django_db
def test_the_rollback_refuses_while_the_agents_are_on_saying_why(db: None) -> None:
    # Given the agent feature on (the default)
    # When the agent migration is rolled back without --force
    with pytest.raises(CommandError) as refused:
        call_command("rollback", "onboarding", stdout=StringIO())

    # Then it refuses, naming the setting and what would break, and the columns are still there
    message = str(refused.value)
    assert "AGENTS_ENABLED is on" in message
    assert "AGENTS_ENABLED=false" in message
    assert "--force" in message
    assert columns() >= set(AGENT_FIELDS)


@pytest.mark.django_db(transaction=True)
def test_the_rollback_with_force_drops_the_columns_although_the_agents_are_on() -> None:
    err = StringIO()
    try:
        call_command("rollback", "onboarding", "--force", stdout=StringIO(), stderr=err)

        assert not set(AGENT_FIELDS) & columns()
        assert "--force" in err.getvalue()
        assert "AGENTS_ENABLED is on" in err.getvalue()
    finally:
        call_command("migrate", "onboarding", verbosity=0)


# --- the runbook, end to end through the API --------------------------------------------------------------


@pytest.fixture
def schema_restored() -> Iterator[None]:
    """Whatever happens in the test, the columns are back afterwards: the next test in this process needs them."""
    yield
    connections.close_all()
    call_command("migrate", verbosity=0)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_rollback_runbook_on_one_release(make_user: Any, settings: Any, schema_restored: None) -> None:
    admin = Client()
    admin.force_login(make_user("root@example.com", is_staff=True, is_superuser=True))
    users = {name: make_user(f"{name}@example.com") for name in ("chat", "form", "done", "late", "quit", "gone")}
    clients = {name: client_for(user) for name, user in users.items()}
    chatter, former, finisher, late, quitter, leaver = clients.values()

    # Given data written by chat and by form, with the feature on
    for client in (chatter, former, finisher, leaver):
        assert client.post(f"{ONBOARDING}/start").status_code == 201
    assert chat(chatter, STEP_1_BY_CHAT).status_code == 200
    assert chat(chatter, "No equipment and no injuries.").status_code == 200
    by_form(former, range(1, 4))
    by_form(finisher, range(1, 10))
    assert finisher.post(f"{ONBOARDING}/complete").status_code == 200
    stored = rows()
    chatted = stored[users["chat"].pk]
    assert len(chatted["conversation_history"]) == 4
    assert chatted["step_data"]["1"]["fitness_level"] == "beginner"

    # When the feature is switched off (the runbook's first step: the release restarted with AGENTS_ENABLED=false)
    settings.AGENTS_ENABLED = False
    assert chat(chatter, "hello").status_code == 503
    # And the agent migration is rolled back under it
    out = StringIO()
    call_command("rollback", "onboarding", stdout=out)

    # Then only the three columns are gone: every other value of every row is kept
    assert "0002_add_agent_fields_to_onboarding -> 0001_initial" in out.getvalue()
    assert not set(AGENT_FIELDS) & columns()
    assert rows() == {user_id: without_agent_columns(row) for user_id, row in stored.items()}
    del stored[users["gone"].pk]  # deletes the account below

    # And the same running release keeps serving the form flow, state, progress, export, erase and the admin
    assert chatter.get(f"{ONBOARDING}/state").json()["step_data"] == chatted["step_data"]
    by_form(chatter, range(2, 4))
    by_form(former, range(4, 10))
    assert former.get(f"{ONBOARDING}/progress").json()["percentage"] == 100
    assert former.post(f"{ONBOARDING}/complete").json()["is_complete"] is True
    export = finisher.get(f"{ONBOARDING}/export").json()["onboarding"]
    assert export["step_data"] == stored[users["done"].pk]["step_data"]
    assert late.post(f"{ONBOARDING}/start").status_code == 201  # a user who starts while the columns are gone
    by_form(late, range(1, 2))
    assert quitter.post(f"{ONBOARDING}/start").status_code == 201
    assert quitter.delete(ONBOARDING).status_code == 204
    assert leaver.delete("/api/v1/auth/account", {"password": PASSWORD}, format="json").status_code == 204
    listing = admin.get(ADMIN)
    assert listing.status_code == 200
    assert {state.user.email for state in listing.context["cl"].result_list} == {
        f"{name}@example.com" for name in ("chat", "form", "done", "late")
    }
    assert admin.get(f"{ADMIN}{listing.context['cl'].result_list[0].pk}/change/").status_code == 200
    ready = Client().get("/api/v1/health/ready")
    assert ready.status_code == 200, ready.json()
    assert ready.json()["checks"]["migrations"]["rolled_back"] == ["onboarding.0002_add_agent_fields_to_onboarding"]
    kept = rows()

    # When the migration is applied again and the feature switched back on (the roll-forward)
    call_command("migrate", verbosity=0)
    settings.AGENTS_ENABLED = True

    # Then nothing written meanwhile is lost, and the three columns are back with their defaults
    after = rows()
    assert {user_id: without_agent_columns(row) for user_id, row in after.items()} == kept
    assert all(row["conversation_history"] == [] and row["agent_context"] == {} for row in after.values())
    # And the chat works again, for an old user and for the one who started without the columns
    assert chat(chatter, "I'd like to build muscle.").status_code == 200
    assert late.get(f"{ONBOARDING}/state").json()["current_agent"] == "FITNESS_ASSESSMENT"  # none stored
    assert chat(late, "No equipment and no injuries.").status_code == 200
    assert late.get(f"{ONBOARDING}/current-agent").json()["agent_type"] == "FITNESS_ASSESSMENT"
    assert len(chatter.get(f"{ONBOARDING}/export").json()["onboarding"]["conversation_history"]) == 2


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_form_flow_is_served_while_the_columns_are_dropped(
    make_user: Any, settings: Any, schema_restored: None
) -> None:
    # Given the feature off and a user answering by form in another thread, without pause
    settings.AGENTS_ENABLED = False
    client = client_for(make_user("busy@example.com"))
    assert client.post(f"{ONBOARDING}/start").status_code == 201
    answer = valid_answers()[1]
    before: list[int] = []
    after: list[int] = []
    rolled_back = threading.Event()

    def answering() -> None:
        deadline = time.monotonic() + 30
        try:
            while len(after) < 6 and time.monotonic() < deadline:
                statuses = after if rolled_back.is_set() else before
                statuses.append(submit(client, 1, answer).status_code)
                statuses.append(client.get(f"{ONBOARDING}/progress").status_code)
        finally:
            connections.close_all()

    worker = threading.Thread(target=answering)
    worker.start()
    while len(before) < 4 and worker.is_alive():
        time.sleep(0.01)

    # When the agent migration is rolled back meanwhile
    call_command("rollback", "onboarding", stdout=StringIO())
    rolled_back.set()
    worker.join(timeout=60)

    # Then every request before, during and after it was answered
    assert not set(AGENT_FIELDS) & columns()
    assert len(before) >= 4
    assert len(after) >= 6
    assert set(before + after) == {200}
