"""Several instances of the service behind a real load balancer and PgBouncer, on this machine.

The scale-out shape of deploy/k8s/ in miniature: N gunicorn instances (``gunicorn.conf.py``, the production
config, each with its own Prometheus directory, as each pod has) behind HAProxy, which spreads requests
round-robin and names the instance that answered in an ``X-Served-By`` response header; PgBouncer in
transaction pooling mode between the instances and PostgreSQL (``DB_PGBOUNCER=true``); Redis, given by the
caller's ``CACHE_URL``, shared by all. Everything listens on 127.0.0.1 on free ports.

Used by ``tests/test_cluster.py`` (``make cluster-test``) and by ``bench/run.py --instances N``
(``make bench-cluster``). By hand, with the service's environment in the shell and the database migrated::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shuren SECRET_KEY=... python -m devtools.cluster --port 18500

prints ``listening on http://127.0.0.1:PORT`` once every instance is ready, and stops everything on
SIGTERM or Ctrl-C. Needs ``haproxy`` and ``pgbouncer`` (Debian's packages).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
SERVED_BY_HEADER = "X-Served-By"
# PgBouncer refuses to run as root; when this process is root it switches to this user.
PGBOUNCER_USER = "postgres"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class DatabaseAddress:
    """The parts of a ``postgres://`` URL that PgBouncer's ``[databases]`` line needs."""

    host: str
    port: int
    name: str
    user: str
    password: str

    @classmethod
    def from_url(cls, url: str) -> DatabaseAddress:
        """Parse a ``postgres://user[:password]@host[:port]/name`` URL."""
        parts = urlsplit(url)
        if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
            raise ValueError(f"PgBouncer needs a PostgreSQL DATABASE_URL, not {parts.scheme}://")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            name=unquote(parts.path.lstrip("/")),
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
        )


def pgbouncer_config(database: DatabaseAddress, *, port: int, pool_size: int, auth_file: Path) -> str:
    """PgBouncer's ini file: transaction pooling in front of ``database``, listening on 127.0.0.1:``port``.

    Clients are trusted (loopback only, the user must be in ``auth_file``); PgBouncer itself logs in to
    PostgreSQL as the URL's user. ``pool_size`` server connections are shared by every client.
    """
    server = f"host={database.host} port={database.port} dbname={database.name} user={database.user}"
    if database.password:
        server += f" password={database.password}"
    return f"""\
[databases]
{database.name} = {server}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {auth_file}
admin_users = {database.user}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 2000
; psycopg sends none of these today; a driver that does must not be refused.
ignore_startup_parameters = extra_float_digits,options
server_check_delay = 10
log_connections = 0
log_disconnections = 0
"""


def haproxy_config(*, port: int, instance_ports: Sequence[int]) -> str:
    """HAProxy in HTTP mode: round-robin over the instances, health-checked on /health, /metrics kept inside."""
    servers = "\n".join(
        f"    server app{index} 127.0.0.1:{instance_port} check inter 2s fall 3 rise 1"
        for index, instance_port in enumerate(instance_ports, start=1)
    )
    return f"""\
global
    maxconn 4096

defaults
    mode http
    log stdout format raw local0 err
    option dontlognull
    # Like deploy/nginx.conf: whole headers within 10 s, a turn waiting on the LLM never cut.
    timeout http-request 10s
    timeout connect 5s
    timeout client 65s
    timeout server 130s
    timeout http-keep-alive 4s
    # Generous: on a busy machine a slow /health must not take an instance out of the rotation.
    timeout check 5s
    # A fresh connection to gunicorn per request: never one that gunicorn's 5 s keep-alive has closed.
    option http-server-close
    # The app trusts one proxy (NUM_PROXIES=1) and takes the client address from here.
    option forwardfor
    retries 2
    option redispatch

frontend api
    bind 127.0.0.1:{port}
    # Scraped per instance, never through the balancer (as deploy/nginx.conf does).
    http-request deny deny_status 404 if {{ path /metrics }}
    default_backend instances

backend instances
    balance roundrobin
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    # Which instance answered: the balancer's own server name.
    http-response set-header {SERVED_BY_HEADER} %[srv_name]
{servers}
"""


def http_status(url: str, timeout: float = 3.0) -> tuple[int, dict[str, str]]:
    """GET ``url``: (status, lower-cased headers); status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.getheaders()}
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}
    except (urllib.error.URLError, OSError):
        return 0, {}


def process_stop(process: subprocess.Popen[Any], grace: float, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` (gunicorn drains what it serves), then SIGKILL the process group after ``grace`` s."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class Cluster:
    """N instances behind HAProxy, PgBouncer in front of PostgreSQL: a context manager that starts and stops them.

    ``env`` is the service's environment (``SECRET_KEY``, ``CACHE_URL``, ``ALLOWED_HOSTS`` with 127.0.0.1,
    ...), with ``DATABASE_URL`` pointing straight at PostgreSQL; the instances get PgBouncer's address
    instead. Logs go to ``log_dir``: ``instance-N.log`` (gunicorn's access and error log), ``pgbouncer.log``,
    ``haproxy.log``.
    """

    env: Mapping[str, str]
    log_dir: Path
    instances: int = 3
    pgbouncer_pool_size: int = 10
    balancer_port: int = 0
    ready_timeout: float = 120.0
    instance_ports: list[int] = field(default_factory=list)
    pgbouncer_port: int = 0
    database: DatabaseAddress | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _stopping: dict[str, tuple[float, int]] = field(default_factory=dict)
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @property
    def balancer_url(self) -> str:
        """Where clients go: HAProxy."""
        return f"http://127.0.0.1:{self.balancer_port}"

    @property
    def instance_urls(self) -> dict[str, str]:
        """Each instance's own address, by the name the balancer gives it (``app1``...): for /metrics."""
        return {f"app{i}": f"http://127.0.0.1:{port}" for i, port in enumerate(self.instance_ports, start=1)}

    @property
    def pgbouncer_url(self) -> str:
        """The DATABASE_URL the instances use."""
        assert self.database is not None
        return f"postgres://{self.database.user}@127.0.0.1:{self.pgbouncer_port}/{self.database.name}"

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start PgBouncer, the instances, then HAProxy; return once every instance answers through it."""
        for binary in ("haproxy", "pgbouncer"):
            if shutil.which(binary) is None:
                raise RuntimeError(f"{binary} is not installed (apt-get install {binary})")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.database = DatabaseAddress.from_url(self.env["DATABASE_URL"])
        self._pgbouncer_start()
        self.instance_ports = [free_port() for _ in range(self.instances)]
        for index, port in enumerate(self.instance_ports, start=1):
            self._instance_start(index, port)
        for index, port in enumerate(self.instance_ports, start=1):
            self._wait_until(
                lambda port=port: http_status(f"http://127.0.0.1:{port}/api/v1/health/ready")[0] == 200,
                f"instance app{index}",
                self.processes[f"app{index}"],
            )
        self._haproxy_start()
        self._wait_until(self._every_instance_behind_the_balancer, "HAProxy", self.processes["haproxy"])

    def stop(self) -> None:
        """Stop everything this cluster started: the balancer, then every instance at once, PgBouncer last."""
        try:
            for group in (["haproxy"], [name for name in self.processes if name.startswith("app")], ["pgbouncer"]):
                stopping = [(self.processes[name], *self._stopping[name]) for name in group if name in self.processes]
                for process, _grace, sig in stopping:
                    if process.poll() is None:
                        with contextlib.suppress(ProcessLookupError):
                            process.send_signal(sig)
                for process, grace, sig in stopping:
                    process_stop(process, grace, sig)
        finally:
            self._stack.close()

    def _log(self, name: str) -> Any:
        return self._stack.enter_context((self.log_dir / name).open("wb"))

    def _pgbouncer_start(self) -> None:
        assert self.database is not None
        # Its own world-readable folder: when root runs this, PgBouncer runs as PGBOUNCER_USER and must read it.
        folder = Path(tempfile.mkdtemp(prefix="shuren-pgbouncer-"))
        self._stack.callback(shutil.rmtree, folder, True)
        folder.chmod(0o755)
        auth_file = folder / "userlist.txt"
        auth_file.write_text(f'"{self.database.user}" ""\n')
        self.pgbouncer_port = free_port()
        config = folder / "pgbouncer.ini"
        config.write_text(
            pgbouncer_config(
                self.database, port=self.pgbouncer_port, pool_size=self.pgbouncer_pool_size, auth_file=auth_file
            )
        )
        for path in (auth_file, config):
            path.chmod(0o644)
        command = ["pgbouncer"]
        if os.geteuid() == 0:
            command += ["-u", PGBOUNCER_USER]
        process = subprocess.Popen(
            [*command, str(config)],
            stdout=self._log("pgbouncer.log"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._register("pgbouncer", process, grace=5.0)
        self._wait_until(lambda: _port_open(self.pgbouncer_port), "PgBouncer", process)

    def _instance_start(self, index: int, port: int) -> None:
        prometheus = self.log_dir / f"prometheus-{index}"
        prometheus.mkdir(exist_ok=True)
        env = {
            **self.env,
            "DATABASE_URL": self.pgbouncer_url,
            "DB_PGBOUNCER": "true",
            "PORT": str(port),
            # Each instance is its own pod: its own metrics files.
            "PROMETHEUS_MULTIPROC_DIR": str(prometheus),
        }
        command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
        process = subprocess.Popen(
            [*command, "shuren.wsgi:application"],
            cwd=ROOT,
            env=env,
            stdout=self._log(f"instance-{index}.log"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._register(f"app{index}", process, grace=40.0)

    def _haproxy_start(self) -> None:
        if not self.balancer_port:
            self.balancer_port = free_port()
        config = self.log_dir / "haproxy.cfg"
        config.write_text(haproxy_config(port=self.balancer_port, instance_ports=self.instance_ports))
        process = subprocess.Popen(
            ["haproxy", "-db", "-f", str(config)],
            stdout=self._log("haproxy.log"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        # SIGUSR1: a soft stop, which lets requests in flight finish.
        self._register("haproxy", process, grace=5.0, sig=signal.SIGUSR1)

    def _register(
        self, name: str, process: subprocess.Popen[bytes], *, grace: float, sig: int = signal.SIGTERM
    ) -> None:
        self.processes[name] = process
        self._stopping[name] = (grace, sig)

    def _every_instance_behind_the_balancer(self) -> bool:
        seen = set()
        for _ in range(self.instances * 2):
            status, headers = http_status(f"{self.balancer_url}/health")
            if status != 200:
                return False
            seen.add(headers.get(SERVED_BY_HEADER.lower()))
        return len(seen) == self.instances

    def _wait_until(self, ready: Any, what: str, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while not ready():
            if process.poll() is not None:
                raise RuntimeError(f"{what} exited with code {process.returncode}; see the logs in {self.log_dir}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} was not ready after {self.ready_timeout:.0f} s; see {self.log_dir}")
            time.sleep(0.2)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line of ``python -m devtools.cluster``."""
    parser = argparse.ArgumentParser(prog="python -m devtools.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="the balancer's port (0: a free one, printed)")
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--pool-size", type=int, default=20, help="PgBouncer's server connections (default_pool_size)")
    parser.add_argument("--log-dir", type=Path, default=None, help="default: a new temporary folder")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a cluster with this process's environment until SIGTERM or Ctrl-C."""
    args = parse_args(argv)
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="shuren-cluster-"))
    stop = threading.Event()
    serving = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if not serving:  # still starting: unwind now, stopping what already runs
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    cluster = Cluster(
        env=dict(os.environ),
        log_dir=log_dir,
        instances=args.instances,
        pgbouncer_pool_size=args.pool_size,
        balancer_port=args.port,
    )
    with cluster:
        serving = True
        print(f"listening on {cluster.balancer_url}", flush=True)
        print(f"instances {' '.join(cluster.instance_urls.values())}; logs in {log_dir}", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
