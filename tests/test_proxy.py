"""The production entry point, nginx (deploy/nginx.conf) in front of gunicorn (gunicorn.conf.py), under slow clients.

Run by ``make slowloris`` (and by CI): these tests start real servers on 127.0.0.1, open
thousands of sockets and take about half a minute, so the normal suite skips them unless
``SHUREN_TEST_PROXY=1``. They need the ``nginx`` binary (Debian: ``apt-get install nginx-light``).

What they prove (docs/security.md, T14): gunicorn alone is starved by a few hundred clients
that send a byte every few seconds; with the proxy in front, 2,000 such clients are held
while ``/health`` and a chat turn keep answering, and the proxy drops them after its header
timeout. Chunked and oversized bodies get clear answers on both paths.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import resource
import select
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.cluster import free_port
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
SLOW_CLIENTS = 2000
HEADER_TIMEOUT_SECONDS = 10  # deploy/nginx.conf's client_header_timeout
TRICKLE_EVERY_SECONDS = 2.0
# A generated key: settings refuse guessable ones with DEBUG off.
SECRET_KEY = "pX4rT8vB2nM6qW0eY3uI7oP1aS5dF9gH-jK_lZxCvBnMqWeRtY"

pytestmark = [
    pytest.mark.proxy,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("SHUREN_TEST_PROXY") != "1", reason="starts nginx and gunicorn: run with `make slowloris`"
    ),
    pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (apt-get install nginx-light)"),
]


def nginx_conf_for(upstream_port: int, listen_port: int) -> str:
    """deploy/nginx.conf with only its upstream and listen addresses moved to this machine's loopback."""
    text = NGINX_CONF.read_text()
    assert text.count("server api:8000;") == 1
    assert text.count("listen 8000;") == 1
    return text.replace("server api:8000;", f"server 127.0.0.1:{upstream_port};").replace(
        "listen 8000;", f"listen 127.0.0.1:{listen_port};"
    )


@dataclass
class Stack:
    gunicorn_port: int
    proxy_port: int


def _wait_for_health(port: int, process: subprocess.Popen[bytes] | None, deadline_seconds: float) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process is not None:
            assert process.poll() is None, f"the server on {port} exited with {process.returncode}"
        try:
            if _get(port, "/health", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"nothing answered /health on port {port} within {deadline_seconds} s")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _get(port: int, path: str, *, timeout: float, token: str = "") -> Answer:
    return _request(port, "GET", path, timeout=timeout, token=token)


def _request(port: int, method: str, path: str, *, timeout: float, body: object = None, token: str = "") -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Host": "localhost", "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """gunicorn with gunicorn.conf.py's serving model (2 workers x 128 threads) and nginx with deploy/nginx.conf."""
    tmp = tmp_path_factory.mktemp("proxy")
    gunicorn_port, proxy_port = free_port(), free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "DJANGO_SETTINGS_MODULE": "shuren.settings",
        "SECRET_KEY": SECRET_KEY,
        "DEBUG": "False",
        "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "LLM_PROVIDER": "offline",
        "NUM_PROXIES": "1",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "128",
        # Only so the fixture's teardown is quick; serving is unchanged.
        "GUNICORN_GRACEFUL_TIMEOUT": "2",
        "LOG_LEVEL": "WARNING",
    }
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    logs = (tmp / "gunicorn.log").open("wb")
    gunicorn = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)),
            *("--bind", f"127.0.0.1:{gunicorn_port}", "--access-logfile", os.devnull, "shuren.wsgi:application"),
        ],
        cwd=ROOT,
        env=env,
        stdout=logs,
        stderr=subprocess.STDOUT,
    )
    conf = tmp / "nginx.conf"
    conf.write_text(nginx_conf_for(gunicorn_port, proxy_port))
    nginx_log = (tmp / "nginx.log").open("wb")
    nginx = subprocess.Popen(
        ["nginx", "-c", str(conf), "-p", str(tmp), "-g", f"daemon off; pid {tmp / 'nginx.pid'};"],
        stdout=subprocess.DEVNULL,
        stderr=nginx_log,
    )
    try:
        _wait_for_health(gunicorn_port, gunicorn, 90)
        _wait_for_health(proxy_port, nginx, 20)
        yield Stack(gunicorn_port=gunicorn_port, proxy_port=proxy_port)
    finally:
        nginx.terminate()
        gunicorn.terminate()
        nginx.wait(timeout=30)
        gunicorn.wait(timeout=60)
        logs.close()
        nginx_log.close()


@pytest.fixture(scope="module", autouse=True)
def _enough_file_descriptors() -> None:
    """Thousands of client sockets need more descriptors than a shell's usual 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = SLOW_CLIENTS * 2 + 500
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


# --- Slow clients ----------------------------------------------------------------------


class SlowClients:
    """Sockets that each send a request line, then one header byte every TRICKLE_EVERY_SECONDS."""

    def __init__(self, port: int, count: int) -> None:
        self.sockets: list[socket.socket] = []
        self.port = port
        self.count = count
        self.opened_at = 0.0
        self.all_open_at = 0.0

    def open(self) -> None:
        self.opened_at = time.monotonic()
        for _ in range(self.count):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            sock.setblocking(False)
            self.sockets.append(sock)
        self.all_open_at = time.monotonic()

    def trickle(self) -> None:
        for sock in self.sockets:
            # closed by the server: counted by still_open()
            with contextlib.suppress(OSError):
                sock.send(b"a")

    def still_open(self) -> int:
        """How many connections the server has not closed (no EOF, no reset, nothing answered)."""
        poller = select.poll()
        for sock in self.sockets:
            poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        # Readable means EOF, a reset or an answer (408): no longer held.
        closed = len(poller.poll(0))
        return len(self.sockets) - closed

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


@dataclass
class Probe:
    latencies: list[float]
    failures: list[str]


def _probe_health(port: int, until: float, probe: Probe) -> None:
    """GET /health every 0.25 s on a fresh connection until ``until``, timing each answer."""
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            answer = _get(port, "/health", timeout=3)
            if answer.status != 200:
                probe.failures.append(f"status {answer.status}")
            else:
                probe.latencies.append(time.monotonic() - started)
        except OSError as error:
            probe.failures.append(f"{type(error).__name__} after {time.monotonic() - started:.1f} s")
        time.sleep(0.25)


def _chat_turn(port: int, email: str) -> int:
    """Register, sign in, start onboarding and send one chat message; the chat's status."""
    assert (
        _request(port, "POST", "/api/v1/auth/register", timeout=10, body={"email": email, "password": PASSWORD}).status
        == 201
    )
    token_answer = _request(port, "POST", "/api/v1/auth/token", timeout=10, body={"email": email, "password": PASSWORD})
    token = json.loads(token_answer.body)["access"]
    assert _request(port, "POST", "/api/v1/onboarding/start", timeout=10, token=token).status == 201
    return _request(
        port, "POST", "/api/v1/onboarding/chat", timeout=10, token=token, body={"message": "beginner"}
    ).status


def test_gunicorn_alone_is_starved_by_a_few_hundred_slow_clients(stack: Stack) -> None:
    # given: gunicorn reached directly, as docker-compose.yml published it before the proxy
    slow = SlowClients(stack.gunicorn_port, 600)
    slow.open()
    probe = Probe([], [])
    try:
        # when: the slow clients trickle while /health is probed for 4 s
        prober = threading.Thread(target=_probe_health, args=(stack.gunicorn_port, time.monotonic() + 4, probe))
        prober.start()
        while prober.is_alive():
            slow.trickle()
            prober.join(TRICKLE_EVERY_SECONDS)
    finally:
        slow.close()

    # then: /health hangs (a liveness probe fails): the threads of 2 workers x 128 wait on headers
    print(f"\ngunicorn alone, 600 slow clients: /health answered {len(probe.latencies)}, failed {probe.failures}")
    # (a probe waits up to 3 s for its answer, so one that hangs outweighs quick ones that got a thread first:
    # comparing their counts failed in about half of the runs on a busy host, with a probe hanging every time)
    assert any(failure.startswith("TimeoutError") for failure in probe.failures), probe
    # and it recovers once they are gone
    _wait_for_health(stack.gunicorn_port, None, 30)


def test_the_proxy_holds_2000_slow_clients_while_health_and_chat_answer(stack: Stack) -> None:
    # given: 2,000 clients through the proxy, each sending a byte every 2 s and never
    # finishing its headers
    slow = SlowClients(stack.proxy_port, SLOW_CLIENTS)
    slow.open()
    assert slow.all_open_at - slow.opened_at < HEADER_TIMEOUT_SECONDS - 4, "opening the sockets took too long"
    measure_until = slow.opened_at + HEADER_TIMEOUT_SECONDS - 1.5
    probe = Probe([], [])
    chat: list[int] = []
    try:
        # when: /health is probed and a chat turn is taken while they trickle
        prober = threading.Thread(target=_probe_health, args=(stack.proxy_port, measure_until, probe))
        chatter = threading.Thread(target=lambda: chat.append(_chat_turn(stack.proxy_port, "slow-test@example.com")))
        prober.start()
        chatter.start()
        while time.monotonic() < measure_until:
            slow.trickle()
            time.sleep(min(TRICKLE_EVERY_SECONDS, max(0.0, measure_until - time.monotonic())))
        held = slow.still_open()
        prober.join()
        chatter.join(20)

        # then, later: the proxy closed every one of them after its header timeout
        time.sleep(max(0.0, slow.all_open_at + HEADER_TIMEOUT_SECONDS + 2 - time.monotonic()))
        left = slow.still_open()
    finally:
        slow.close()

    p50 = statistics.median(probe.latencies) if probe.latencies else float("nan")
    worst = max(probe.latencies, default=float("nan"))
    print(
        f"\nproxy, {SLOW_CLIENTS} slow clients: held {held}; /health answered {len(probe.latencies)} times, "
        f"p50 {p50 * 1000:.0f} ms, max {worst * 1000:.0f} ms, failures {probe.failures}; chat {chat}; "
        f"still open {HEADER_TIMEOUT_SECONDS + 2} s after the last connected: {left}"
    )
    assert held == SLOW_CLIENTS
    assert not probe.failures
    assert len(probe.latencies) >= 10
    assert p50 < 0.25
    assert worst < 2.0
    assert chat == [200]
    assert left == 0


def test_the_chat_stream_passes_through_the_proxy(stack: Stack) -> None:
    # given: a user with a started onboarding, through the proxy
    port = stack.proxy_port
    body = {"email": "stream@example.com", "password": PASSWORD}
    assert _request(port, "POST", "/api/v1/auth/register", timeout=10, body=body).status == 201
    token = json.loads(_request(port, "POST", "/api/v1/auth/token", timeout=10, body=body).body)["access"]
    assert _request(port, "POST", "/api/v1/onboarding/start", timeout=10, token=token).status == 201

    # when
    answer = _request(
        port, "POST", "/api/v1/onboarding/chat/stream", timeout=10, token=token, body={"message": "beginner"}
    )

    # then: the Server-Sent Events arrive whole; nginx consumed the app's X-Accel-Buffering: no
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert b"event: " in answer.body
    assert "x-accel-buffering" not in answer.headers


# --- Bodies --------------------------------------------------------------------------------


def _raw(port: int, request: bytes) -> tuple[bytes, bool]:
    """Send ``request`` on a fresh connection; (the whole answer, whether the server closed the connection after it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # the server may answer and close before reading everything
        with contextlib.suppress(OSError):
            sock.sendall(request)
        data = b""
        try:
            while not _complete(data):
                chunk = sock.recv(65536)
                if not chunk:
                    return data, True
                data += chunk
            sock.settimeout(2)
            return data, sock.recv(1) == b""
        except TimeoutError:
            return data, False
        except ConnectionResetError:
            return data, True


def _complete(answer: bytes) -> bool:
    head, separator, body = answer.partition(b"\r\n\r\n")
    if not separator:
        return False
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        None,
    )
    assert length is not None, f"an answer without Content-Length: {head!r}"
    return len(body) >= length


def _head_and_body(answer: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status_line, headers, body


def _chunked_register(email: str) -> bytes:
    body = json.dumps({"email": email, "password": PASSWORD}).encode()
    half = len(body) // 2
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:]))
    return (
        b"POST /api/v1/auth/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    )


def test_a_chunked_body_reaches_the_app_whole_through_the_proxy(stack: Stack) -> None:
    answer, _ = _raw(stack.proxy_port, _chunked_register("chunked-proxy@example.com"))

    status_line, _, body = _head_and_body(answer)
    assert " 201 " in status_line, answer
    assert json.loads(body)["email"] == "chunked-proxy@example.com"


def test_a_chunked_body_sent_to_gunicorn_directly_gets_a_clear_411_and_the_connection_closes(stack: Stack) -> None:
    answer, closed = _raw(stack.gunicorn_port, _chunked_register("chunked-direct@example.com"))

    status_line, headers, body = _head_and_body(answer)
    assert " 411 " in status_line, answer
    assert json.loads(body)["code"] == "length_required"
    assert headers["connection"] == "close"
    assert closed


@pytest.mark.parametrize("entry", ["proxy", "gunicorn"])
def test_an_oversized_body_is_a_413_that_says_it_closes_and_does(stack: Stack, entry: str) -> None:
    port = stack.proxy_port if entry == "proxy" else stack.gunicorn_port
    body = json.dumps({"email": "big@example.com", "password": "p" * 200_000}).encode()
    request = (
        b"POST /api/v1/auth/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )

    answer, closed = _raw(port, request)

    status_line, headers, response_body = _head_and_body(answer)
    assert " 413 " in status_line, answer
    assert json.loads(response_body)["code"] == "request_too_large"
    assert headers["connection"] == "close"
    assert closed
