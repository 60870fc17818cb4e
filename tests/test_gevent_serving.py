"""gunicorn's gevent worker (``GUNICORN_WORKER_CLASS=gevent``): one process carries many LLM waits, no thread each.

Each server here is gunicorn with ``gunicorn.conf.py`` and ONE gevent worker, with ``GUNICORN_THREADS=1``
(gevent ignores it; a worker that fell back to threads would serve one request at a time), the service's
own settings, accounts made by ``bench/seed.py``, and the fake Anthropic server of this process as the
LLM. The chat and streaming code are the ones gthread serves: nothing in the application knows which
worker class runs it. On SQLite (a file, and the local-memory cache) the chat and the streams; on
PostgreSQL (a database of its own, through Django's psycopg pool, and Redis when ``CACHE_URL`` names one)
the same concurrency, the pool's bound, the per-user turn lock, and a wait on a row lock that holds no
other request up.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from devtools.cluster import free_port
from devtools.fake_anthropic import FakeAnthropicServer
from tests.conftest import PASSWORD, echo_responder, gunicorn_serving, in_threads, run_django, sse_events

ROOT = Path(__file__).resolve().parent.parent
TURNS = 60
STREAMS = 100
# Turns one after another would take TURNS x LLM_SECONDS = 60 s; together, one LLM wait plus the worker's
# CPU for 60 turns (~10 ms each): 2-3 s, 4.5 s measured with the two cores otherwise busy. The bound leaves
# room for a busy CI machine and still needs 6 turns at a time; the fake LLM's count of requests in flight
# at once is the direct proof that they overlapped.
LLM_SECONDS = 1.0
TOGETHER_WITHIN = 10.0
ACCOUNT_PREFIX = "gevent"
CHAT = "/api/v1/onboarding/chat"
PG_POOL_SIZE = 4
# The application_name of the test's own connections that count the service's.
_COUNTING = "shuren-test-counting"

pytestmark = pytest.mark.slow


@dataclass
class Answer:
    status: int
    body: Any


@dataclass
class Service:
    """A gevent-served instance: its address, the fake LLM behind it and one access token per account."""

    base: str
    llm: FakeAnthropicServer
    tokens: list[str]

    def call(self, method: str, path: str, token: str, body: Any = None, timeout: float = 30.0) -> Answer:
        """One request on a connection of its own, as separate clients make them."""
        connection = http.client.HTTPConnection("127.0.0.1", urlsplit(self.base).port, timeout=timeout)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            response = connection.getresponse()
            raw = response.read().decode()
            content_type = response.getheader("Content-Type", "")
            return Answer(response.status, json.loads(raw) if content_type.startswith("application/json") else raw)
        finally:
            connection.close()

    def chat(self, token: str, message: str) -> Answer:
        return self.call("POST", CHAT, token, {"message": message})

    def history(self, token: str) -> list[str]:
        answer = self.call("GET", "/api/v1/onboarding/export", token)
        assert answer.status == 200, answer.body
        return [entry["content"] for entry in answer.body["onboarding"]["conversation_history"]]


def _together(count: int, send: Callable[[int], Answer]) -> tuple[list[Answer], float]:
    """``send(i)`` from ``count`` threads released at once; the answers and the seconds they took in all."""
    started = time.monotonic()
    answers: list[Answer] = in_threads(count, send)
    return answers, time.monotonic() - started


@contextmanager
def _gevent_service(tmp: Path, *, accounts: int, **settings: str) -> Iterator[Service]:
    """Migrate ``settings``' database, make ``accounts`` accounts with a started onboarding, serve with gevent."""
    llm = FakeAnthropicServer(responder=echo_responder, latency=LLM_SECONDS).start()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "SHUREN_ENV_FILE": "",
        "SECRET_KEY": "gEv3nt-5erv1ng-" + secrets.token_urlsafe(32),
        "DEBUG": "False",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LLM_PROVIDER": "anthropic",
        "ANTHROPIC_API_KEY": "sk-gevent-test",
        "ANTHROPIC_BASE_URL": llm.url,
        "LLM_TIMEOUT_SECONDS": "20",
        "LLM_RESPONSE_CACHE_ENABLED": "False",
        "THROTTLE_CHAT_RATE": "100000/minute",
        "LOG_LEVEL": "WARNING",
        "PORT": str(free_port()),
        "GUNICORN_WORKER_CLASS": "gevent",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "1",
        "GUNICORN_GRACEFUL_TIMEOUT": "2",
        **settings,
    }
    try:
        for command in (
            ["manage.py", "migrate", "--noinput", "-v0"],
            ["bench/seed.py", "--accounts", str(accounts), "--prefix", ACCOUNT_PREFIX, "--out", str(tmp / "tokens")],
        ):
            done = run_django(command, env)
            assert done.returncode == 0, done.stderr
        tokens = json.loads((tmp / "tokens").read_text())
        with gunicorn_serving(python=sys.executable, cwd=ROOT, env=env) as server:
            service = Service(base=server.base, llm=llm, tokens=tokens)
            with ThreadPoolExecutor(max_workers=16) as pool:
                started = pool.map(lambda token: service.call("POST", "/api/v1/onboarding/start", token), tokens)
                assert {answer.status for answer in started} == {201}
            yield service
        assert "Traceback" not in server.stderr, server.stderr
    finally:
        llm.stop()


@pytest.fixture(scope="module")
def on_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One gevent worker on a SQLite file, with the local-memory cache."""
    tmp = tmp_path_factory.mktemp("gevent-sqlite")
    database = f"sqlite:///{tmp / 'db.sqlite3'}"
    with _gevent_service(tmp, accounts=STREAMS, DATABASE_URL=database, CACHE_URL="locmemcache://gevent") as service:
        yield service


def _turns_together(service: Service, tokens: list[str]) -> tuple[list[Answer], float]:
    service.llm.reset()
    return _together(len(tokens), lambda index: service.chat(tokens[index], f"turn of user {index}"))


def _assert_each_turn_answered_and_saved_once(service: Service, tokens: list[str], answers: list[Answer]) -> None:
    assert [answer.status for answer in answers] == [200] * len(tokens), [a.body for a in answers if a.status != 200]
    assert [answer.body["message"] for answer in answers] == [f"echo: turn of user {i}" for i in range(len(tokens))]
    assert len(service.llm.message_requests()) == len(tokens)
    for index, token in enumerate(tokens):
        assert service.history(token) == [f"turn of user {index}", f"echo: turn of user {index}"]


# --- The patch comes first ---------------------------------------------------------------------------------------

# A WSGI application that reports what it found when the worker imported it.
_PROBE_APP = """
import json
import sys

from gevent import monkey

FOUND = {
    "patched": [name for name in ("socket", "ssl", "select", "threading") if monkey.is_module_patched(name)],
    "imported": sorted(
        name for name in ("django", "psycopg", "psycopg_pool", "redis", "anthropic", "prometheus_client")
        if name in sys.modules
    ),
}


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(FOUND).encode()]
"""


def test_a_gevent_worker_patches_the_standard_library_before_it_imports_the_application(tmp_path: Path) -> None:
    # given: gunicorn.conf.py with the gevent worker, serving an application that looks around when imported
    (tmp_path / "gevent_probe.py").write_text(_PROBE_APP)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(tmp_path),
        "PORT": str(free_port()),
        "GUNICORN_WORKER_CLASS": "gevent",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_GRACEFUL_TIMEOUT": "1",
    }

    # when: the worker starts and the application answers
    with gunicorn_serving(python=sys.executable, cwd=ROOT, env=env, app="gevent_probe:application") as server:
        connection = http.client.HTTPConnection("127.0.0.1", int(env["PORT"]), timeout=10)
        connection.request("GET", "/")
        found = json.loads(connection.getresponse().read())
        connection.close()

    # then: the standard library was patched before the application was imported, and before any library it
    # uses (psycopg, for one, chooses a blocking wait if it is imported first)
    assert found == {"patched": ["socket", "ssl", "select", "threading"], "imported": []}
    # and gevent found no reference to ssl taken before the patch (what the master imported is gunicorn's own)
    assert "MonkeyPatchWarning" not in server.stderr, server.stderr


# --- Chat and streams on one gevent worker -------------------------------------------------------------------


def test_one_gevent_worker_carries_sixty_chat_turns_waiting_on_the_llm_at_once(on_sqlite: Service) -> None:
    # given: sixty users, and an LLM that answers each of them in a second
    tokens = on_sqlite.tokens[:TURNS]

    # when: they all send a message at the same moment, to a server of one process and no thread to spare
    answers, seconds = _turns_together(on_sqlite, tokens)

    # then: the turns waited on the LLM together (one at a time would take a minute)
    assert seconds < TOGETHER_WITHIN, f"{TURNS} turns took {seconds:.1f} s"
    assert on_sqlite.llm.max_concurrency_seen >= TURNS // 2
    # and each was answered with its own reply and saved exactly once
    _assert_each_turn_answered_and_saved_once(on_sqlite, tokens, answers)


def test_one_gevent_worker_holds_a_hundred_open_streams_until_each_gets_its_done_event(on_sqlite: Service) -> None:
    # given: a hundred users, and an LLM that takes two seconds to answer
    on_sqlite.llm.reset()
    on_sqlite.llm.set_latency(2 * LLM_SECONDS)
    tokens = on_sqlite.tokens[:STREAMS]

    # when: each opens a chat stream at the same moment
    def stream(index: int) -> Answer:
        return on_sqlite.call("POST", "/api/v1/onboarding/chat/stream", tokens[index], {"message": f"stream {index}"})

    answers, seconds = _together(STREAMS, stream)

    # then: all hundred streams were open at once, and each ended with its reply
    assert seconds < 2 * LLM_SECONDS + TOGETHER_WITHIN, f"{STREAMS} streams took {seconds:.1f} s"
    assert on_sqlite.llm.max_concurrency_seen >= STREAMS // 2
    assert [answer.status for answer in answers] == [200] * STREAMS
    for index, answer in enumerate(answers):
        events = sse_events(answer.body)
        assert events[-1][0] == "done", events
        assert events[-1][1]["message"] == f"echo: stream {index}"


def _timed(call: Callable[[], Answer]) -> tuple[Answer, float]:
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def test_a_login_hashes_its_password_off_the_event_loop_so_the_worker_keeps_answering(on_sqlite: Service) -> None:
    # Given an account (its password hashed with the production PBKDF2 work factor, a few hundred ms of CPU)
    credentials = {"email": f"hasher-{secrets.token_hex(4)}@example.com", "password": PASSWORD}
    assert on_sqlite.call("POST", "/api/v1/auth/register", "", credentials).status == 201
    # (a first login imports what logins need, once: that is not the hash)
    assert on_sqlite.call("POST", "/api/v1/auth/token", "", credentials).status == 200
    logins: list[float] = []

    def log_in_three_times() -> None:
        for _ in range(3):
            answer, seconds = _timed(lambda: on_sqlite.call("POST", "/api/v1/auth/token", "", credentials))
            assert answer.status == 200, answer.body
            logins.append(seconds)

    # When the one worker hashes for three logins while /health is asked every 10 ms
    login = threading.Thread(target=log_in_three_times)
    login.start()
    health: list[float] = []
    while login.is_alive():
        answer, seconds = _timed(lambda: on_sqlite.call("GET", "/health", ""))
        assert answer.status == 200
        health.append(seconds)
        time.sleep(0.01)
    login.join()

    # Then /health did not wait for the hashes: on the event loop, one asked during a login would take the whole hash
    assert len(logins) == 3
    assert min(logins) > 0.05, logins  # the hash is long enough to be seen
    # (the second slowest: one pause of a busy machine is not a hash; each of the three hashes would make one)
    assert sorted(health)[-2] < min(logins) / 2, (health, logins)


# --- The same on PostgreSQL, through the pool ---------------------------------------------------------------------


def _postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else ""


@dataclass
class PostgresService:
    service: Service
    conninfo: str
    database: str

    def connections(self, condition: str = "true") -> int:
        """The connections open to the service's database now that meet ``condition`` (the counting ones excluded).

        By name, not by process id: a count's connection closes on its way out, but its server process may still
        be listed while the next count runs, which would then count it as the service's.
        """
        with psycopg.connect(self.conninfo, autocommit=True, application_name=_COUNTING) as admin:
            row = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name <> %s AND " + condition,
                [self.database, _COUNTING],
            ).fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture(scope="module")
def on_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresService]:
    """One gevent worker on a PostgreSQL database of its own, with a pool of PG_POOL_SIZE connections."""
    base = urlsplit(_postgres_url())
    database = f"{base.path.lstrip('/')}_gevent_{secrets.token_hex(3)}"
    admin = base._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    url = base._replace(path=f"/{database}").geturl()
    cache = os.environ.get("CACHE_URL", "")
    try:
        with _gevent_service(
            tmp_path_factory.mktemp("gevent-postgres"),
            accounts=TURNS + 2,
            DATABASE_URL=url,
            DB_POOL_MIN_SIZE="1",
            DB_POOL_MAX_SIZE=str(PG_POOL_SIZE),
            CACHE_URL=cache if cache.startswith("redis://") else "locmemcache://gevent",
            CACHE_KEY_PREFIX=f"gevent-{secrets.token_hex(4)}",
        ) as service:
            yield PostgresService(
                service=service, conninfo=base._replace(path=f"/{database}").geturl(), database=database
            )
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.mark.postgres
def test_sixty_turns_on_one_gevent_worker_share_a_pool_of_four_postgres_connections(
    on_postgres: PostgresService,
) -> None:
    # given: sixty users of one worker whose pool holds at most four PostgreSQL connections
    service = on_postgres.service
    tokens = service.tokens[:TURNS]
    peak = 0
    sending = threading.Event()

    def watch() -> None:
        nonlocal peak
        while sending.is_set():
            peak = max(peak, on_postgres.connections())
            time.sleep(0.02)

    # when: they all send a message at once, while the connections to the database are counted
    sending.set()
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        answers, seconds = _turns_together(service, tokens)
    finally:
        sending.clear()
        watcher.join()

    # then: the turns overlapped, and nothing was lost or saved twice
    assert seconds < TOGETHER_WITHIN, f"{TURNS} turns took {seconds:.1f} s"
    assert service.llm.max_concurrency_seen >= TURNS // 2
    _assert_each_turn_answered_and_saved_once(service, tokens, answers)
    # and the worker never held more connections than its pool (a connection is not held during the LLM wait)
    assert 1 <= peak <= PG_POOL_SIZE


@pytest.mark.postgres
def test_a_second_parallel_message_of_one_user_is_still_refused_under_gevent(on_postgres: PostgresService) -> None:
    # given: a user, and an LLM that takes a second
    service = on_postgres.service
    service.llm.reset()
    token = service.tokens[TURNS]

    # when: two messages of that user arrive at once on the one worker
    answers, _ = _together(2, lambda index: service.chat(token, f"parallel {index}"))

    # then: one turn ran; the other was told a turn is in progress, without reaching the LLM
    assert sorted(answer.status for answer in answers) == [200, 409], [answer.body for answer in answers]
    refused = next(answer for answer in answers if answer.status == 409)
    assert refused.body["code"] == "turn_in_progress"
    assert len(service.llm.message_requests()) == 1
    accepted = next(index for index, answer in enumerate(answers) if answer.status == 200)
    assert service.history(token) == [f"parallel {accepted}", f"echo: parallel {accepted}"]


@pytest.mark.postgres
def test_a_request_waiting_on_a_postgres_row_lock_holds_up_no_other_request(on_postgres: PostgresService) -> None:
    # given: a user whose onboarding row another transaction holds locked
    service = on_postgres.service
    service.llm.reset()
    service.llm.set_latency(0.0)
    locked_token, other_token = service.tokens[TURNS + 1], service.tokens[0]
    email = f"{ACCOUNT_PREFIX}-{TURNS + 1}@bench.invalid"
    with ThreadPoolExecutor(max_workers=1) as pool, psycopg.connect(on_postgres.conninfo) as holder:
        holder.execute(
            "SELECT 1 FROM onboarding_states WHERE user_id = (SELECT id FROM accounts_user WHERE email = %s) "
            "FOR UPDATE",
            [email],
        )

        # when: that user submits a step, which waits on the lock inside the one worker
        step = {"step": 1, "data": {"fitness_level": "beginner"}}
        waiting = pool.submit(service.call, "POST", "/api/v1/onboarding/step", locked_token, step)
        deadline = time.monotonic() + 10
        while not on_postgres.connections("wait_event_type = 'Lock'") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert on_postgres.connections("wait_event_type = 'Lock'") == 1
        # then: meanwhile the worker answers others, on the database and on the LLM (psycopg waits cooperatively)
        started = time.monotonic()
        assert service.call("POST", CHAT, other_token, {"message": "still served?"}, timeout=5).status == 200
        assert time.monotonic() - started < 3
        assert not waiting.done()
        holder.rollback()
        # and the waiting request completes once the lock is released
        assert waiting.result(timeout=10).status == 200
