"""The service is stateless across instances: three of them behind HAProxy, PgBouncer in front of PostgreSQL.

Run by ``make cluster-test`` (and by CI): it starts real servers (devtools/cluster.py) on 127.0.0.1, so the
normal suite skips it unless ``SHUREN_TEST_CLUSTER=1``. It needs PostgreSQL (``DATABASE_URL``'s server; the
database ``<its name>_cluster`` is created and dropped), Redis (``CACHE_URL``, else db 15 on 127.0.0.1),
and Debian's ``haproxy`` and ``pgbouncer``.

Three gunicorn instances (gunicorn.conf.py, 2 workers each) share one Redis and reach PostgreSQL only through
PgBouncer in transaction pooling mode with fewer server connections than the instances hold; the chat's
LLM is the fake Anthropic server in this process. HAProxy names the instance that answered in
``X-Served-By``. What must hold (docs/deployment.md, "Several instances"): one user's parallel messages,
spread over the instances, still run one turn and lose nothing; an idempotent resend is replayed by
another instance; the chat throttle counts across instances; each instance exports its own metrics,
which add up to what was served; PgBouncer multiplexes the instances, and DB_PGBOUNCER is what keeps a
QuerySet.iterator() working through it.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devtools.cluster import SERVED_BY_HEADER, Cluster
from devtools.fake_anthropic import FakeAnthropicServer
from tests.conftest import PASSWORD, echo_responder

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = 3
# Fewer server connections than the instances' workers hold client connections: only transaction
# pooling lets them all work.
PGBOUNCER_POOL_SIZE = 3
CHAT_RATE_PER_MINUTE = 10
SECRET_KEY = "cL7uS3tEr-9vQ2mN5bX8zR1wK4yT6pH0jD3fG7aS_eV9nM2qW5"
SERVED_BY = SERVED_BY_HEADER.lower()

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("SHUREN_TEST_CLUSTER") != "1",
        reason="starts 3 instances, HAProxy and PgBouncer: make cluster-test",
    ),
    pytest.mark.skipif(
        shutil.which("haproxy") is None or shutil.which("pgbouncer") is None,
        reason="haproxy and pgbouncer are not installed (apt-get install haproxy pgbouncer)",
    ),
]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def instance(self) -> str:
        return self.headers.get(SERVED_BY, "")


@dataclass
class Stack:
    cluster: Cluster
    claude: FakeAnthropicServer
    admin_conninfo: str
    database: str
    env: dict[str, str]

    def call(self, method: str, path: str, *, token: str = "", body: Any = None, **headers: str) -> Answer:
        """One request through the balancer, on a fresh connection (as separate clients would)."""
        port = urlsplit(self.cluster.balancer_url).port
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sent = {"Host": "localhost", "Content-Type": "application/json", **headers}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        try:
            connection.request(method, path, body=None if body is None else json.dumps(body), headers=sent)
            response = connection.getresponse()
            raw = response.read()
            content = (
                json.loads(raw)
                if raw and response.getheader("Content-Type", "").startswith("application/json")
                else raw
            )
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, content)
        finally:
            connection.close()

    def user_started(self, email: str) -> str:
        """A new account with a started onboarding, through the balancer; its access token."""
        credentials = {"email": email, "password": PASSWORD}
        assert self.call("POST", "/api/v1/auth/register", body=credentials).status == 201
        token: str = self.call("POST", "/api/v1/auth/token", body=credentials).body["access"]
        assert self.call("POST", "/api/v1/onboarding/start", token=token).status == 201
        return token

    def chat(self, token: str, message: str, **headers: str) -> Answer:
        return self.call("POST", "/api/v1/onboarding/chat", token=token, body={"message": message}, **headers)

    def history(self, token: str) -> list[dict[str, Any]]:
        answer = self.call("GET", "/api/v1/onboarding/export", token=token)
        assert answer.status == 200
        history: list[dict[str, Any]] = answer.body["onboarding"]["conversation_history"]
        return history


def _base_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else "postgres://postgres@127.0.0.1:5432/shuren"


def _cache_url() -> str:
    url = os.environ.get("CACHE_URL", "")
    return url if url.startswith("redis://") else "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Its own database, migrated straight on PostgreSQL (as the Job does), then the cluster in front of it."""
    started = time.monotonic()
    tmp = tmp_path_factory.mktemp("cluster")
    base = urlsplit(_base_database_url())
    database = f"{base.path.lstrip('/')}_cluster"
    direct_url = base._replace(path=f"/{database}").geturl()
    admin_conninfo = base._replace(path="/postgres").geturl()
    with psycopg.connect(admin_conninfo, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    claude = FakeAnthropicServer().start()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "DJANGO_SETTINGS_MODULE": "shuren.settings",
        "SECRET_KEY": SECRET_KEY,
        "DEBUG": "False",
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        "DATABASE_URL": direct_url,
        # Each worker keeps two connections to PgBouncer open: more clients than PGBOUNCER_POOL_SIZE.
        "DB_POOL_MIN_SIZE": "2",
        "CACHE_URL": _cache_url(),
        "CACHE_KEY_PREFIX": f"cluster-{secrets.token_hex(4)}",
        "LLM_PROVIDER": "anthropic",
        "ANTHROPIC_API_KEY": "sk-cluster-test",
        "ANTHROPIC_BASE_URL": claude.url,
        "LLM_RESPONSE_CACHE_ENABLED": "False",
        "THROTTLE_CHAT_RATE": f"{CHAT_RATE_PER_MINUTE}/minute",
        "THROTTLE_AUTH_RATE": "1000/minute",
        "NUM_PROXIES": "1",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "16",
        # Only so that teardown is quick; serving is unchanged.
        "GUNICORN_GRACEFUL_TIMEOUT": "2",
        "LOG_LEVEL": "warning",
    }
    # As on Kubernetes, the instances start while the migration runs, and readiness (which the cluster
    # waits for) answers 503 until it is done: the two overlap, which saves a good part of the set-up.
    migrate_log = (tmp / "migrate.log").open("w+")
    migrate = subprocess.Popen(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        stdout=migrate_log,
        stderr=subprocess.STDOUT,
    )
    cluster = Cluster(env=env, log_dir=tmp / "logs", instances=INSTANCES, pgbouncer_pool_size=PGBOUNCER_POOL_SIZE)
    try:
        with cluster:
            assert migrate.wait(timeout=60) == 0, migrate_log.seek(0) or migrate_log.read()
            print(f"\ncluster of {INSTANCES} ready in {time.monotonic() - started:.1f} s; logs in {tmp / 'logs'}")
            yield Stack(cluster=cluster, claude=claude, admin_conninfo=admin_conninfo, database=database, env=env)
    finally:
        if migrate.poll() is None:
            migrate.kill()
        migrate.wait()
        migrate_log.close()
        claude.stop()
        with psycopg.connect(admin_conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        print(f"cluster test, set-up to teardown: {time.monotonic() - started:.1f} s")


def _in_parallel(count: int, send: Callable[[int], Answer]) -> list[Answer]:
    """``send(i)`` from ``count`` threads released together."""
    barrier = threading.Barrier(count)
    answers: list[Answer | None] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        answers[index] = send(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def test_one_users_parallel_messages_land_on_different_instances_and_exactly_one_turn_runs(stack: Stack) -> None:
    # given: a user, and a Claude slow enough that the messages overlap, even on a busy machine
    token = stack.user_started("parallel@example.com")
    stack.claude.set_default_responder(echo_responder)
    stack.claude.set_latency(2.0)
    calls_before = len(stack.claude.message_requests())

    # when: six messages of that user are sent at once
    answers = _in_parallel(6, lambda i: stack.chat(token, f"parallel {i}"))

    # then: they were answered by different instances
    served = Counter(answer.instance for answer in answers)
    print(f"\nsix parallel messages of one user, by instance: {dict(served)}")
    assert len(served) >= 2
    assert "" not in served
    # and exactly one turn ran; the others were told a turn is in progress, without reaching the LLM
    accepted = [i for i, answer in enumerate(answers) if answer.status == 200]
    assert len(accepted) == 1, [(a.status, a.body) for a in answers]
    assert all(a.body["code"] == "turn_in_progress" for a in answers if a.status == 409)
    assert {a.status for a in answers} == {200, 409}
    assert len(stack.claude.message_requests()) - calls_before == 1
    # and nothing is lost: the turn is stored whole, and later messages, on other instances, follow it
    stack.claude.set_latency(0.0)
    later = [stack.chat(token, f"later {i}") for i in range(2)]
    assert [a.status for a in later] == [200, 200]
    assert len({a.instance for a in later}) == 2
    history = stack.history(token)
    sent = [f"parallel {accepted[0]}", "later 0", "later 1"]
    assert [entry["role"] for entry in history] == ["user", "assistant"] * 3
    assert [entry["content"] for entry in history[0::2]] == sent
    assert [entry["content"] for entry in history[1::2]] == [f"echo: {message}" for message in sent]


def test_an_idempotent_resend_is_replayed_by_another_instance(stack: Stack) -> None:
    # given: a message answered under an Idempotency-Key
    token = stack.user_started("replay@example.com")
    stack.claude.set_default_responder(echo_responder)
    stack.claude.set_latency(0.0)
    calls_before = len(stack.claude.message_requests())
    first = stack.chat(token, "only once", **{"Idempotency-Key": "replay-1"})
    assert first.status == 200

    # when: the client resends it, and round-robin takes the resends to the other instances
    resends = [stack.chat(token, "only once", **{"Idempotency-Key": "replay-1"}) for _ in range(INSTANCES - 1)]

    # then: every instance answers with the first reply, and the turn ran once
    instances = {first.instance, *(answer.instance for answer in resends)}
    assert len(instances) == INSTANCES
    assert all((answer.status, answer.body) == (200, first.body) for answer in resends)
    assert len(stack.claude.message_requests()) - calls_before == 1
    assert len(stack.history(token)) == 2


def test_parallel_resends_with_one_key_on_several_instances_call_the_llm_once(stack: Stack) -> None:
    # given: a slow Claude
    token = stack.user_started("replay-parallel@example.com")
    stack.claude.set_default_responder(echo_responder)
    stack.claude.set_latency(1.0)
    calls_before = len(stack.claude.message_requests())

    # when: the same keyed message is sent three times at once (a client retrying on a flaky network)
    answers = _in_parallel(3, lambda _: stack.chat(token, "retry me", **{"Idempotency-Key": "replay-2"}))
    stack.claude.set_latency(0.0)
    later = stack.chat(token, "retry me", **{"Idempotency-Key": "replay-2"})

    # then: one LLM call, one stored turn; each answer is the reply or "in progress"
    assert len({answer.instance for answer in answers}) >= 2
    assert {answer.status for answer in answers} <= {200, 409}
    assert later.status == 200
    assert all(answer.body == later.body for answer in answers if answer.status == 200)
    assert len(stack.claude.message_requests()) - calls_before == 1
    assert len(stack.history(token)) == 2


def test_the_chat_throttle_counts_across_instances(stack: Stack) -> None:
    # given: a user, and a limit of CHAT_RATE_PER_MINUTE messages a minute
    token = stack.user_started("throttled@example.com")
    stack.claude.set_default_responder(echo_responder)
    stack.claude.set_latency(0.0)

    # when: one more message than the limit is sent, spread round-robin over the instances
    answers = [stack.chat(token, f"message {i}") for i in range(CHAT_RATE_PER_MINUTE + 1)]

    # then: the limit holds for the user as a whole, not per instance (each saw fewer than the limit)
    served = Counter(answer.instance for answer in answers)
    assert len(served) == INSTANCES
    assert max(served.values()) < CHAT_RATE_PER_MINUTE
    assert [answer.status for answer in answers] == [200] * CHAT_RATE_PER_MINUTE + [429]
    assert int(answers[-1].headers["retry-after"]) > 0


def _chat_requests_counted(base_url: str) -> float:
    """POSTs to the chat view in an instance's /metrics (its workers summed by the multiprocess collector)."""
    connection = http.client.HTTPConnection("127.0.0.1", urlsplit(base_url).port, timeout=10)
    try:
        connection.request("GET", "/metrics", headers={"Host": "localhost"})
        response = connection.getresponse()
        assert response.status == 200
        text = response.read().decode()
    finally:
        connection.close()
    total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == "django_http_requests_total_by_view_transport_method":
            total += sum(
                sample.value
                for sample in family.samples
                if sample.name.endswith("_total")
                and sample.labels.get("method") == "POST"
                and sample.labels.get("view") == "onboarding-chat"
            )
    return total


def test_each_instance_exports_its_own_metrics_and_they_add_up(stack: Stack) -> None:
    # given: each instance's chat counter, scraped from the instance itself (as Prometheus scrapes each pod)
    token = stack.user_started("metrics@example.com")
    stack.claude.set_latency(0.0)
    before = {name: _chat_requests_counted(url) for name, url in stack.cluster.instance_urls.items()}

    # when: six messages go through the balancer
    answers = [stack.chat(token, f"count me {i}") for i in range(6)]
    assert all(answer.status == 200 for answer in answers)

    # then: each instance counted the messages it served, and the sum is what was sent
    after = {name: _chat_requests_counted(url) for name, url in stack.cluster.instance_urls.items()}
    counted = {name: after[name] - before[name] for name in before}
    served = Counter(answer.instance for answer in answers)
    print(f"\nchat requests counted by each instance's /metrics: {counted}; served (X-Served-By): {dict(served)}")
    assert counted == {name: float(served[name]) for name in before}
    assert sum(counted.values()) == 6
    # and the balancer keeps /metrics inside, as the proxy in front of the pods must
    assert stack.call("GET", "/metrics").status == 404


def test_pgbouncer_multiplexes_the_instances_over_a_few_server_connections(stack: Stack) -> None:
    # given: traffic has gone through every instance (the tests above, and this burst)
    token = stack.user_started("pool@example.com")
    stack.claude.set_latency(0.2)
    answers = _in_parallel(6, lambda _: stack.call("GET", "/api/v1/onboarding/progress", token=token))
    assert {answer.status for answer in answers} == {200}

    # when: PgBouncer and PostgreSQL are asked who is connected
    pgbouncer = stack.cluster
    pools = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(pgbouncer.pgbouncer_port),
            "-U",
            "postgres",
            "-At",
            "-F",
            ",",
            "pgbouncer",
        ],
        input="SHOW POOLS;",
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout
    with psycopg.connect(stack.admin_conninfo, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
            (stack.database,),
        ).fetchone()
    assert row is not None
    server_connections = row[0]

    # then: transaction pooling, the instances' many client connections on at most the pool's server connections
    pool = next(line.split(",") for line in pools.splitlines() if line.startswith(f"{stack.database},"))
    clients, pool_mode = int(pool[2]), pool[-1]
    print(f"\nPgBouncer: {clients} client connections, {server_connections} PostgreSQL connections, {pool_mode}")
    assert pool_mode == "transaction"
    assert clients > PGBOUNCER_POOL_SIZE
    assert server_connections <= PGBOUNCER_POOL_SIZE


# QuerySet.iterator() through PgBouncer while another client holds, in a transaction, the server
# connection that the iterator's first statements ran on: its next statement runs on another one.
ITERATE_WHILE_ANOTHER_CLIENT_HOLDS_A_CONNECTION = """
import django, psycopg, os
django.setup()
from accounts.models import User
users = User.objects.order_by("pk").iterator(chunk_size=1)
first = next(users)
with psycopg.connect(os.environ["DATABASE_URL"], prepare_threshold=None) as other:
    other.execute("SELECT 1")  # opens a transaction: PgBouncer lends it the connection used last
    try:
        rest = list(users)
    except (django.db.Error, psycopg.Error) as error:  # the cursor's close raises unwrapped
        print("ERROR", type(error).__name__, error)
    else:
        print("OK", 1 + len(rest))
"""


@pytest.mark.parametrize("pgbouncer_setting", ["true", "false"])
def test_db_pgbouncer_is_what_keeps_iterating_querysets_working(stack: Stack, pgbouncer_setting: str) -> None:
    # given: the service's settings pointed at PgBouncer, with or without DB_PGBOUNCER, and a few users
    env = {**stack.env, "DATABASE_URL": stack.cluster.pgbouncer_url, "DB_POOL": "false"}
    env["DB_PGBOUNCER"] = pgbouncer_setting
    users = int(
        subprocess.run(
            ["psql", stack.cluster.pgbouncer_url, "-At", "-c", "SELECT count(*) FROM accounts_user"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    )
    assert users >= 3

    # when: a QuerySet is iterated in chunks while another client holds a server connection
    completed = subprocess.run(
        [sys.executable, "-c", ITERATE_WHILE_ANOTHER_CLIENT_HOLDS_A_CONNECTION],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    outcome = completed.stdout.strip().splitlines()[-1]

    # then: with DB_PGBOUNCER every row arrives; without it, the server-side cursor is gone
    if pgbouncer_setting == "true":
        assert outcome == f"OK {users}"
    else:
        assert outcome.startswith("ERROR"), outcome
        assert "does not exist" in outcome
