"""Shared fixtures: users, authenticated clients, valid answers, and a network guard."""

from __future__ import annotations

import gc
import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, connections
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from devtools.fake_anthropic import FakeAnthropicServer, Reply
from devtools.sample_answers import valid_answers

PASSWORD = "a-Long-and-unusual-passphrase-42"
ROOT = Path(__file__).resolve().parent.parent


def environ_without(*names: str) -> dict[str, str]:
    """This process's environment minus ``names``: a start for a child's environment."""
    return {key: value for key, value in os.environ.items() if key not in names}


def run_django(args: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``python <args>`` in the project folder, with ``env`` as its whole environment.

    For what only a fresh process shows: settings checks at start, a ``.env`` read from
    disk. The settings are the service's own (``shuren.settings``), not the tests'. The
    checkout's ``.env`` is not read unless ``env`` names it in ``SHUREN_ENV_FILE``.
    """
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={"SHUREN_ENV_FILE": "", **env, "DJANGO_SETTINGS_MODULE": "shuren.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass
class Gunicorn:
    """A gunicorn started by ``gunicorn_serving``: its base URL, and its stderr once it has stopped."""

    base: str
    stderr: str = ""


@contextmanager
def gunicorn_serving(
    *, python: str, cwd: Path, env: Mapping[str, str], app: str = "shuren.wsgi:application"
) -> Iterator[Gunicorn]:
    """gunicorn with ``cwd``'s ``gunicorn.conf.py`` on ``env["PORT"]``, once ``/health`` answers 200; stopped after.

    ``env`` is the whole environment of the server (it chooses the settings, the database and the port); ``app``
    the WSGI application, importable from ``cwd`` or ``env``'s ``PYTHONPATH``.
    """
    server = subprocess.Popen(
        [python, "-m", "gunicorn", "-c", "gunicorn.conf.py", app],
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Gunicorn(base=f"http://127.0.0.1:{env['PORT']}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{served.base}/health", timeout=10) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        yield served
    finally:
        server.terminate()
        served.stderr = server.communicate(timeout=60)[1]


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together; each thread closes its DB connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _is_local(address: Any) -> bool:
    if isinstance(address, str | bytes):  # a unix socket path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def _block_network() -> Iterator[None]:
    """No test may reach the internet: only loopback and unix sockets connect."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise ConnectionRefusedError(f"Tests may not open network connections (to {address!r})")
        return real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise ConnectionRefusedError(f"Tests may not open network connections (to {address!r})")
        return real_connect_ex(self, address)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign,assignment]
    yield
    socket.socket.connect = real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Throttle counters and cached replies never leak from one test to the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def on_postgres() -> bool:
    """True when the suite runs against PostgreSQL."""
    return connection.vendor == "postgresql"


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    """Create users with unique emails."""
    counter = {"n": 0}

    def make(email: str | None = None, password: str = PASSWORD, **extra: Any) -> User:
        counter["n"] += 1
        return User.objects.create_user(email=email or f"user{counter['n']}@example.com", password=password, **extra)

    return make


@pytest.fixture
def user(make_user: Callable[..., User]) -> User:
    """A registered user."""
    return make_user("alice@example.com")


def client_for(user: User) -> APIClient:
    """An API client sending ``user``'s access token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def api(user: User) -> APIClient:
    """An API client authenticated as ``user``."""
    return client_for(user)


@pytest.fixture
def anon() -> APIClient:
    """An API client with no token."""
    return APIClient()


@pytest.fixture
def started(api: APIClient) -> APIClient:
    """``api`` after ``POST onboarding/start``."""
    assert api.post("/api/v1/onboarding/start").status_code == 201
    return api


@pytest.fixture
def answers() -> dict[int, dict[str, Any]]:
    """See ``valid_answers``."""
    return valid_answers()


@pytest.fixture
def fake_claude() -> Iterator[FakeAnthropicServer]:
    """A fake Anthropic server on a free loopback port."""
    with FakeAnthropicServer() as server:
        yield server


@pytest.fixture
def claude(fake_claude: FakeAnthropicServer, settings: Any) -> Iterator[FakeAnthropicServer]:
    """The service in anthropic mode, its SDK talking HTTP to the fake server."""
    from agents.llm import llm_provider_reset  # here, so the form-flow tests run without the agents app

    settings.LLM_PROVIDER = "anthropic"
    settings.ANTHROPIC_API_KEY = "test-key"
    settings.ANTHROPIC_BASE_URL = fake_claude.url
    settings.LLM_MODEL = "claude-sonnet-5-5"
    settings.LLM_MAX_RETRIES = 2
    settings.LLM_TIMEOUT_SECONDS = 1.0
    settings.LLM_DEADLINE_SECONDS = 4.0
    settings.LLM_RETRY_AFTER_SECONDS = 7
    llm_provider_reset()
    yield fake_claude
    llm_provider_reset()


def echo_responder(body: dict[str, Any]) -> Reply:
    """A fake Claude that repeats the user's latest message, so a reply can be matched to its message."""
    return Reply(text=f"echo: {body['messages'][-1]['content']}")


def containers_holding(text: str) -> list[str]:
    """The types of the dicts, lists, tuples and sets left in the process (after ``gc.collect()``) that hold a
    string containing ``text``, as a key or a value: what keeps a user's words in memory."""
    gc.collect()

    # type(), not isinstance(): isinstance would evaluate the lazy objects the process holds
    def holds(container: Any) -> bool:
        is_dict = issubclass(type(container), dict)
        for item in container.items() if is_dict else container:
            for value in item if is_dict else (item,):
                if issubclass(type(value), str) and text in value:
                    return True
        return False

    return [
        type(obj).__name__
        for obj in gc.get_objects()
        if issubclass(type(obj), dict | list | tuple | set) and holds(obj)
    ]


def parse_sse(response: Any) -> list[tuple[str, Any]]:
    """The ``(event, data)`` pairs of a Server-Sent Events response."""
    return sse_events(b"".join(response.streaming_content).decode())


def sse_events(text: str) -> list[tuple[str, Any]]:
    """The ``(event, data)`` pairs of a Server-Sent Events body."""
    events = []
    for chunk in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events
