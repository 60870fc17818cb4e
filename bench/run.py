"""Run a load scenario against the real service end to end and report it.

For each scenario: a fresh ``shuren_bench`` PostgreSQL database (dropped, created, migrated), accounts and
access tokens created in bulk, the fake Anthropic server and gunicorn (``gunicorn.conf.py``, the production
config) started as subprocesses, the closed-model load (``bench/loadgen.py``) run for a warm-up plus a
measured window while PostgreSQL connections and the server's CPU and memory are sampled, ``/metrics``
scraped at both ends of the window, then everything stopped (also on Ctrl-C or an error).

Each scenario prints a table; the last line of stdout is one JSON document with every figure.

    python bench/run.py                       # the standard scenario (make bench)
    python bench/run.py --matrix full         # the matrix (make bench-full)
    python bench/run.py --users 100 --llm-latency 5 --think 10 --duration 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project's packages importable
    sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.loadgen import LoadConfig, LoadResult, LoadRun, accounts_needed  # noqa: E402
from bench.monitor import (  # noqa: E402
    PgConnectionPoller,
    ProcessSampler,
    ProcInfo,
    machine_busy_ticks,
    postmaster_pids,
    tree_pids,
)
from devtools.cluster import free_port, process_stop  # noqa: E402

BENCH_DIR = ROOT / "bench"
OUT_DIR = BENCH_DIR / "out"
GC_PROBE_DIR = BENCH_DIR / "gc_probe"  # its sitecustomize times the server's collections (--gc)
PG_ADMIN_CONNINFO = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
# Dropped and recreated by every scenario. --database (or BENCH_DATABASE) picks another name, so that several
# people benchmarking on one PostgreSQL never drop each other's database.
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "") or "shuren_bench"
TARGETS: dict[str, tuple[str, str | None, str | None]] = {
    # what is served: its application, its settings module (None: the service's default) and the gunicorn
    # worker class of its own (None: gunicorn.conf.py's, GUNICORN_WORKER_CLASS, which --worker-class sets)
    "service": ("shuren.wsgi:application", None, None),
    "reference": ("bench.reference.wsgi:application", "bench.reference.settings", None),
    # The reference's chat turn as an async view under uvicorn workers: the async serving model, measured.
    "reference-async": ("bench.reference.asgi:application", "bench.reference.settings", "uvicorn_worker.UvicornWorker"),
}


def database_url(name: str) -> str:
    """The bench database's URL."""
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def shown(path: Path) -> Path:
    """``path`` relative to the checkout when it is inside it (``--out`` may name a folder elsewhere)."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def default_worker_class() -> str:
    """The worker class gunicorn.conf.py runs when GUNICORN_WORKER_CLASS is unset: its one line that decides."""
    found = re.search(r"""_env_str\("GUNICORN_WORKER_CLASS", "(\w+)"\)""", (ROOT / "gunicorn.conf.py").read_text())
    if found is None:
        raise RuntimeError("gunicorn.conf.py no longer reads GUNICORN_WORKER_CLASS with a literal default")
    return found[1]


@dataclass(frozen=True)
class Scenario:
    """One run's load and serving model."""

    name: str
    users: int
    llm_latency: float
    think: float
    duration: float
    warmup: float
    mode: str = "anthropic"  # or "offline": the embedded engine, no LLM wait
    endpoint: str = "chat"  # or "stream"
    workers: int = 4
    worker_class: str = "gthread"  # GUNICORN_WORKER_CLASS (the command line's default: gunicorn.conf.py's)
    threads: int = 512  # gunicorn.conf.py's default; gthread only
    worker_connections: int = 1000  # gunicorn.conf.py's default; with gevent, the requests a worker carries
    db_pool_max: int = 20
    tool_ratio: float = 0.5
    latency_jitter: float = 0.0
    think_jitter: float = 0.0  # each pause uniform in think +/- this (bench/loadgen.py, LoadConfig)
    cache: str = "redis"  # or "locmem"
    cache_db: int = 0  # the Redis database number
    profile: bool = False  # serve bench.profile_wsgi (CPU profile per thread) instead of shuren.wsgi
    gc: bool = False  # time the server's garbage collections (bench/gc_probe)
    instances: int = 1  # > 1: behind HAProxy, PgBouncer in front of PostgreSQL (bench/cluster.py)
    target: str = "service"  # or "reference": the minimal endpoint of bench/reference, same serving model
    database: str = BENCH_DATABASE

    @property
    def served_worker_class(self) -> str:
        """The gunicorn worker class that serves: the target's own, or GUNICORN_WORKER_CLASS."""
        return TARGETS[self.target][2] or self.worker_class

    @property
    def serving(self) -> str:
        """The serving model in one phrase."""
        backing = f"pool {self.db_pool_max}/worker, cache {self.cache}"
        if TARGETS[self.target][2] is not None:
            return f"ASGI {TARGETS[self.target][2]} x{self.workers}, {backing}"
        if self.worker_class == "gevent":
            return f"gevent {self.workers}x{self.worker_connections} connections, {backing}"
        return f"gthread {self.workers}x{self.threads}, {backing}"


# ----- scenario lists ------------------------------------------------------------------------------------------


def warmup_for(llm_latency: float, think: float) -> float:
    """Long enough for every user to have started (they are spread over one think + LLM cycle) and settled."""
    return round(min(30.0, think + llm_latency + 6.0), 1)


def matrix_scenarios(**overrides: Any) -> list[Scenario]:
    """users 10/100/500 x LLM 1/5 s x think 2/10 s, the streaming scenario and the offline engine's maximum.

    Pruned: 10 users with a 5 s LLM. At 10 users the server is idle whatever the LLM latency, so those runs
    would repeat the 10-user, 1 s figures with five times fewer samples (0.7-1.4 req/s).
    """
    targets = {(500, 1.0, 2.0), (100, 1.0, 2.0), (500, 5.0, 10.0)}
    scenarios = []
    for users in (10, 100, 500):
        for llm in (1.0, 5.0):
            for think in (2.0, 10.0):
                if users == 10 and llm == 5.0:
                    continue
                duration = 60.0 if (users, llm, think) in targets else 40.0
                values: dict[str, Any] = {
                    "name": f"u{users}-llm{llm:g}-think{think:g}",
                    "users": users,
                    "llm_latency": llm,
                    "think": think,
                    "duration": duration,
                    "warmup": warmup_for(llm, think),
                }
                scenarios.append(Scenario(**{**values, **overrides}))
    stream: dict[str, Any] = {
        "name": "stream-u100-llm1-think2",
        "users": 100,
        "llm_latency": 1.0,
        "think": 2.0,
        "duration": 40.0,
        "warmup": warmup_for(1.0, 2.0),
        "endpoint": "stream",
    }
    offline: dict[str, Any] = {
        "name": "offline-max-u50-think0",
        "users": 50,
        "llm_latency": 0.0,
        "think": 0.0,
        "duration": 30.0,
        "warmup": 5.0,
        "mode": "offline",
    }
    scenarios.append(Scenario(**{**stream, **overrides}))
    scenarios.append(Scenario(**{**offline, **overrides}))
    return scenarios + scale_scenarios(**overrides)


def scale_scenarios(**overrides: Any) -> list[Scenario]:
    """Thousands of users on a slow LLM: how many turns one machine holds waiting at once.

    2,000 users with a 10 s LLM and 20 s think keep ~670 turns in flight; 5,000 users with 60 s think ~710.
    The warm-up covers one whole cycle (think + LLM), so every user has started before the window opens.
    """
    scenarios = []
    for users, think in ((2000, 20.0), (5000, 60.0)):
        values: dict[str, Any] = {
            "name": f"u{users}-llm10-think{think:g}",
            "users": users,
            "llm_latency": 10.0,
            "think": think,
            "duration": 90.0,
            "warmup": think + 10.0 + 6.0,
        }
        scenarios.append(Scenario(**{**values, **overrides}))
    return scenarios


# ----- targets -------------------------------------------------------------------------------------------------


def _target(name: str, value: float | None, limit: str, met: bool) -> dict[str, Any]:
    return {"name": name, "value": value, "limit": limit, "met": bool(met) and value is not None}


def targets_check(scenario: Scenario, result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets that apply to this scenario, each with its measured value and verdict."""
    key = (scenario.users, scenario.llm_latency, scenario.think)
    if scenario.mode != "anthropic" or scenario.endpoint != "chat" or scenario.target != "service":
        return []
    lat = result["latency_s"]
    errors = sum(result["errors"].values())
    rss_gib = result["server_rss_peak_mib"] / 1024 if result["server_rss_peak_mib"] is not None else None
    pg_peak = result["pg_connections"].get("peak_whole_run")
    checks: list[dict[str, Any]] = []
    if key == (500, 1.0, 2.0):
        share = result["throughput_pct_of_offered"]
        db_p95 = result["db_query_p95_ms"]
        checks += [
            _target("errors", errors, "== 0", errors == 0),
            _target("throughput % of offered", share, ">= 97", share is not None and share >= 97),
            _target("p95 s", lat["p95"], "<= 1.15", lat["p95"] is not None and lat["p95"] <= 1.15),
            _target("p99 s", lat["p99"], "<= 1.35", lat["p99"] is not None and lat["p99"] <= 1.35),
            _target(
                "PG connections peak",
                pg_peak,
                f"<= workers x pool = {scenario.workers * scenario.db_pool_max}",
                pg_peak is not None and pg_peak <= scenario.workers * scenario.db_pool_max,
            ),
            _target("DB query p95 ms", db_p95, "< 20", db_p95 is not None and db_p95 < 20),
        ]
    if key == (100, 1.0, 2.0):
        overhead = result["overhead_p95_ms"]
        checks.append(_target("overhead p95 ms", overhead, "<= 40", overhead is not None and overhead <= 40))
    if key == (500, 5.0, 10.0):
        checks += [
            _target("errors", errors, "== 0", errors == 0),
            _target("p95 s", lat["p95"], "<= 5.3", lat["p95"] is not None and lat["p95"] <= 5.3),
        ]
    if key in {(2000, 10.0, 20.0), (5000, 10.0, 60.0)}:
        share = result["throughput_pct_of_offered"]
        checks += [
            _target("throughput % of offered", share, ">= 97", share is not None and share >= 97),
            _target("p95 s", lat["p95"], "<= 10.6", lat["p95"] is not None and lat["p95"] <= 10.6),
            _target("errors", errors, "== 0", errors == 0),
            _target(
                "PG connections peak",
                pg_peak,
                f"<= workers x pool = {scenario.workers * scenario.db_pool_max}",
                pg_peak is not None and pg_peak <= scenario.workers * scenario.db_pool_max,
            ),
        ]
    if key in {(500, 1.0, 2.0), (500, 5.0, 10.0), (2000, 10.0, 20.0), (5000, 10.0, 60.0)}:
        checks.append(_target("server RSS GiB", rss_gib, "< 1", rss_gib is not None and rss_gib < 1))
    return checks


# ----- processes -----------------------------------------------------------------------------------------------


def base_env() -> dict[str, str]:
    """A minimal environment: nothing from the caller's shell leaks into the server's configuration."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
    return {name: os.environ[name] for name in keep if name in os.environ}


def server_env(scenario: Scenario, run_dir: Path, fake_url: str | None, port: int) -> dict[str, str]:
    """The service's environment for one scenario (production settings, bench database, generous throttles)."""
    env = base_env()
    env.update(
        {
            "DATABASE_URL": database_url(scenario.database),
            "SECRET_KEY": "bench-" + secrets.token_urlsafe(48)[:44],
            "DEBUG": "False",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DB_POOL_MAX_SIZE": str(scenario.db_pool_max),
            "THROTTLE_CHAT_RATE": "100000/minute",
            "THROTTLE_AUTH_RATE": "100000/minute",
            "LLM_RESPONSE_CACHE_ENABLED": "False",
            "LOG_LEVEL": "WARNING",
            "GUNICORN_WORKERS": str(scenario.workers),
            "GUNICORN_WORKER_CLASS": scenario.worker_class,
            "GUNICORN_THREADS": str(scenario.threads),
            "GUNICORN_WORKER_CONNECTIONS": str(scenario.worker_connections),
            "PORT": str(port),
            "PROMETHEUS_MULTIPROC_DIR": str(run_dir / "prometheus"),
            "CACHE_URL": f"redis://127.0.0.1:6379/{scenario.cache_db}"
            if scenario.cache == "redis"
            else "locmemcache://bench",
            # Keys of this run only; throttle counters expire on their own.
            "CACHE_KEY_PREFIX": f"bench-{run_dir.name}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    settings_module = TARGETS[scenario.target][1]
    if settings_module is not None:
        env["DJANGO_SETTINGS_MODULE"] = settings_module
    if scenario.mode == "anthropic":
        assert fake_url is not None
        env.update({"LLM_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "bench-key", "ANTHROPIC_BASE_URL": fake_url})
    else:
        env["LLM_PROVIDER"] = "offline"
    return env


def database_reset(name: str, wait: float = 60.0) -> None:
    """Drop and recreate the bench database (it is only ever used by these benchmarks).

    Retries for up to ``wait`` seconds while PostgreSQL refuses connections (on a shared machine another
    job may be restarting it).
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            with psycopg.connect(PG_ADMIN_CONNINFO, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {name}")
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def run_checked(command: Sequence[str], env: Mapping[str, str], log: IO[str], timeout: float) -> None:
    """Run a setup command to completion; its output goes to the run's log, a failure stops the run."""
    log.write(f"$ {' '.join(command)}\n")
    log.flush()
    completed = subprocess.run(
        command, cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT, timeout=timeout, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed with exit code {completed.returncode}; see {log.name}")


def fake_llm_start(scenario: Scenario, run_dir: Path, stack: contextlib.ExitStack) -> tuple[subprocess.Popen[str], str]:
    """Start the fake Anthropic server on a free port; returns the process and its base URL."""
    command = [
        sys.executable,
        "-m",
        "devtools.fake_anthropic",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--latency",
        f"{scenario.llm_latency}",
        "--tool-ratio",
        f"{scenario.tool_ratio}",
        "--overrides-json",
        str(BENCH_DIR / "overrides.json"),
    ]
    if scenario.latency_jitter:
        command += ["--latency-jitter", f"{scenario.latency_jitter}"]
    log = stack.enter_context((run_dir / "fake_anthropic.log").open("w"))
    process = subprocess.Popen(
        command, cwd=ROOT, env=base_env(), stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True
    )
    stack.callback(process_stop, process, 5.0)
    assert process.stdout is not None
    line = process.stdout.readline().strip()  # "listening on http://127.0.0.1:PORT", or EOF if it failed
    if not line.startswith("listening on "):
        raise RuntimeError(f"fake Anthropic server did not start ({line!r}); see {log.name}")
    return process, line.removeprefix("listening on ")


def gunicorn_start(
    env: Mapping[str, str],
    port: int,
    run_dir: Path,
    stack: contextlib.ExitStack,
    *,
    profile: bool = False,
    application: str = "shuren.wsgi:application",
    worker_class: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start gunicorn with the production config, bound to 127.0.0.1 only."""
    log = stack.enter_context((run_dir / "gunicorn.log").open("w"))
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "bench.profile_wsgi:application" if profile else application,
    ]
    if worker_class is not None:
        command[3:3] = ["--worker-class", worker_class]  # after the config file: the command line wins
    process = subprocess.Popen(
        command, cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    # The graceful timeout (30 s) plus a margin: workers finish what they are serving, then exit.
    stack.callback(process_stop, process, 40.0)
    return process


def gc_summary(directory: Path, window: Mapping[str, float], requests: int) -> dict[str, Any]:
    """The server's garbage collections that ended inside ``window``, from ``bench/gc_probe``'s files.

    ``cpu_ms_per_request`` divides their CPU time by ``requests`` (those of the window), as the server's CPU
    per request is; ``full`` counts the full (oldest generation) collections, with the longest. A process
    writes its file when it exits: one that was killed wrote nothing, and ``processes`` (the master and each
    worker) says how many did. With no file at all the figures are None rather than 0.
    """
    start, end = window.get("start", 0.0), window.get("end", time.monotonic())
    cpu = [0.0, 0.0, 0.0]
    counts = [0, 0, 0]
    longest_full: float | None = None
    files = sorted(directory.glob("*.tsv"))
    for path in files:
        for line in path.read_text().splitlines():
            ended, generation, seconds = line.split("\t")
            if not start <= float(ended) < end:
                continue
            index = int(generation)
            cpu[index] += float(seconds)
            counts[index] += 1
            if index == 2:
                longest_full = max(longest_full or 0.0, float(seconds))
    measured = bool(files) and requests > 0
    return {
        "cpu_ms_per_request": 1000 * sum(cpu) / requests if measured else None,
        "cpu_ms_by_generation": [round(1000 * value, 1) for value in cpu],
        "collections_by_generation": counts,
        "full": counts[2],
        "longest_full_ms": 1000 * longest_full if longest_full is not None else None,
        "processes": len(files),
    }


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    """GET ``url``; (status, body), status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return 0, ""


def worker_count(master_pid: int) -> int:
    """How many worker processes the gunicorn master has right now."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rpartition(")")[2].split()[1]) == master_pid:
                    count += 1
    return count


def wait_ready(process: subprocess.Popen[bytes], base_url: str, workers: int, timeout: float = 90.0) -> None:
    """Wait for ``/health`` and ``/api/v1/health/ready`` to answer 200 with every worker up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {process.returncode} during start")
        if (
            http_get(f"{base_url}/health", 2.0)[0] == 200
            and http_get(f"{base_url}/api/v1/health/ready", 5.0)[0] == 200
            and worker_count(process.pid) >= workers
        ):
            return
        time.sleep(0.25)
    raise RuntimeError(f"gunicorn was not ready after {timeout:.0f}s")


def machine_busy_pct(span: float = 2.0) -> float:
    """CPU the whole machine used over the next ``span`` seconds, in % of one core (200 % = 2 busy cores)."""
    busy_before, total_before = machine_busy_ticks()
    time.sleep(span)
    busy_after, total_after = machine_busy_ticks()
    cpus = len(os.sched_getaffinity(0))
    return 100 * cpus * (busy_after - busy_before) / max(1, total_after - total_before)


def quiet_wait(below: float, max_wait: float) -> float:
    """Wait (at most ``max_wait`` s) until other jobs use less than ``below`` % CPU; returns the last reading.

    The machine is shared: a test suite running next to the benchmark takes the CPU the server is measured
    with. Waiting for a quiet moment makes runs comparable; the reading goes into the report either way.
    """
    deadline = time.monotonic() + max_wait
    busy = machine_busy_pct()
    announced = False
    while busy >= below and time.monotonic() < deadline:
        if not announced:
            print(f"   machine busy ({busy:.0f} % CPU used by other jobs); waiting up to {max_wait:.0f}s", flush=True)
            announced = True
        busy = machine_busy_pct()
    return busy


# ----- one scenario ----------------------------------------------------------------------------------------------


def metrics_scrape(base_url: str) -> str:
    """The Prometheus exposition text of the server ('' if /metrics did not answer 200)."""
    status, body = http_get(f"{base_url}/metrics", 15.0)
    return body if status == 200 else ""


def _histogram_p95_ms(before: str, after: str, name: str) -> float | None:
    buckets_after = report.histogram_buckets(after, name)
    if buckets_after is None:
        return None
    delta = report.buckets_delta(buckets_after, report.histogram_buckets(before, name))
    p95 = report.histogram_quantile(0.95, delta)
    return p95 * 1000 if p95 is not None else None


def _counter_delta(before: str, after: str, name: str) -> float | None:
    end = report.metric_total(after, name)
    return None if end is None else end - (report.metric_total(before, name) or 0.0)


def server_log_summary(path: Path, limit: int = 15) -> dict[str, Any]:
    """Counts of 5xx access lines and error-level lines in gunicorn's log, with the first error lines."""
    status_5xx = 0
    errors: list[str] = []
    error_count = 0
    for line in path.read_text(errors="replace").splitlines():
        if " access " in line:
            if " status=5" in line:
                status_5xx += 1
            continue
        if any(marker in line for marker in ("ERROR", "CRITICAL", "Traceback", "[CRITICAL]", "WORKER TIMEOUT")):
            error_count += 1
            if len(errors) < limit:
                errors.append(line[:300])
    return {"status_5xx": status_5xx, "error_lines": error_count, "first_errors": errors}


def scenario_run(
    scenario: Scenario, out_dir: Path, *, quiet_below: float = 50.0, quiet_max_wait: float = 0.0
) -> dict[str, Any]:
    """Run one scenario from an empty database to stopped processes; returns its result document."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    prefix = "" if scenario.target == "service" else f"{scenario.target}-"
    run_dir = out_dir / f"{stamp}-{prefix}{scenario.name}"
    run_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    cpus = len(os.sched_getaffinity(0))
    print(
        f"\n== {scenario.name}: {scenario.users} users, LLM {scenario.llm_latency:g} s, think {scenario.think:g} s"
        f"{f' +/- {scenario.think_jitter:g}' if scenario.think_jitter else ''}, "
        f"{scenario.endpoint}, {scenario.mode}, {scenario.target}; {scenario.serving}; "
        f"logs in {shown(run_dir)}",
        flush=True,
    )

    waiting_since = time.monotonic()
    busy_before = quiet_wait(quiet_below, quiet_max_wait) if quiet_max_wait > 0 else machine_busy_pct(1.0)
    quiet_waited = time.monotonic() - waiting_since
    with contextlib.ExitStack() as stack:
        setup_log = stack.enter_context((run_dir / "setup.log").open("w"))
        fake_url = None
        fake: subprocess.Popen[str] | None = None
        if scenario.mode == "anthropic":
            fake, fake_url = fake_llm_start(scenario, run_dir, stack)
        env = server_env(scenario, run_dir, fake_url, port)

        started = time.monotonic()
        database_reset(scenario.database)
        # Setup commands keep their metrics in memory; gunicorn empties the multiprocess directory at start.
        setup_env = {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        run_checked([sys.executable, "manage.py", "migrate", "--noinput"], setup_env, setup_log, 180)
        expected_latency = scenario.llm_latency if scenario.mode == "anthropic" else 0.05
        accounts = accounts_needed(
            scenario.users, scenario.think, expected_latency, scenario.warmup + scenario.duration
        )
        tokens_file = run_dir / "tokens.json"
        seed = [sys.executable, "bench/seed.py", "--accounts", str(accounts), "--out", str(tokens_file)]
        run_checked(seed, setup_env, setup_log, 300)
        tokens = json.loads(tokens_file.read_text())
        print(f"   database migrated, {len(tokens)} accounts in {time.monotonic() - started:.1f}s", flush=True)

        (run_dir / "prometheus").mkdir(exist_ok=True)
        if scenario.profile:
            env["BENCH_PROFILE_DIR"] = str(run_dir / "profile")
        if scenario.gc:  # after the setup commands: only the server's processes are timed
            (run_dir / "gc").mkdir(exist_ok=True)
            env.update({"PYTHONPATH": str(GC_PROBE_DIR), "BENCH_GC_DIR": str(run_dir / "gc")})
        if scenario.instances > 1:  # returns once every instance answers through the balancer
            from bench.cluster import cluster_start

            server = cluster_start(env, port, run_dir, stack, instances=scenario.instances)
        else:
            server = gunicorn_start(
                env,
                port,
                run_dir,
                stack,
                profile=scenario.profile,
                application=TARGETS[scenario.target][0],
                worker_class=TARGETS[scenario.target][2],
            )
            wait_ready(server, base_url, scenario.workers)
        print(f"   gunicorn ready (pid {server.pid}); load for {scenario.warmup:g}+{scenario.duration:g}s", flush=True)

        me = os.getpid()
        fake_pid = fake.pid if fake is not None else None
        groups: dict[str, Callable[[Mapping[int, ProcInfo]], Iterable[int]]] = {
            "server": lambda snapshot: tree_pids(snapshot, [server.pid]),
            "postgres": lambda snapshot: tree_pids(snapshot, postmaster_pids(snapshot)),
            "fake_llm": lambda snapshot: [fake_pid] if fake_pid else [],
            "loadgen": lambda snapshot: [me],
            "redis": lambda snapshot: [p.pid for p in snapshot.values() if p.comm.startswith("redis-server")],
        }
        sampler = ProcessSampler(groups=groups)
        poller = PgConnectionPoller(PG_ADMIN_CONNINFO, scenario.database)
        sampler.start()
        poller.start()
        stack.callback(poller.stop)
        stack.callback(sampler.stop)

        scrapes: dict[str, str] = {}
        window: dict[str, float] = {}

        async def window_start() -> None:
            window["start"] = time.monotonic()
            scrapes["start"] = await asyncio.to_thread(metrics_scrape, base_url)

        async def window_end() -> None:
            window["end"] = time.monotonic()

        config = LoadConfig(
            host="127.0.0.1",
            port=port,
            users=scenario.users,
            think=scenario.think,
            duration=scenario.duration,
            warmup=scenario.warmup,
            ramp=max(1.0, min(scenario.warmup - 2.0, scenario.think + scenario.llm_latency)),
            endpoint=scenario.endpoint,
            request_timeout=max(60.0, 6 * scenario.llm_latency),
            think_jitter=scenario.think_jitter,
        )
        load = asyncio.run(LoadRun(config, tokens).run(on_window_start=window_start, on_window_end=window_end))
        scrapes["end"] = metrics_scrape(base_url)
        sampler.stop()
        poller.stop()
        # Explicitly, so the server log is complete (the stack would do it too, in reverse order).
        process_stop(server, 40.0)
        if fake is not None:
            process_stop(fake, 5.0)

    result = result_build(
        scenario=scenario, load=load, window=window, scrapes=scrapes, sampler=sampler, poller=poller, cpus=cpus
    )
    result["machine_busy_before_pct"] = busy_before
    result["load_average"] = [round(value, 2) for value in os.getloadavg()]  # 1, 5, 15 min, at the end
    result["quiet_waited_s"] = quiet_waited
    result["server_log"] = server_log_summary(run_dir / "gunicorn.log")
    if scenario.gc:
        result["server_gc"] = gc_summary(run_dir / "gc", window, result["requests"] + result["start_requests"])
    result["error_examples"] = load.error_examples
    result["run_dir"] = str(shown(run_dir))
    (run_dir / "result.json").write_text(json.dumps(result, indent=2))
    return result


def result_build(
    *,
    scenario: Scenario,
    load: LoadResult,
    window: Mapping[str, float],
    scrapes: Mapping[str, str],
    sampler: ProcessSampler,
    poller: PgConnectionPoller,
    cpus: int,
) -> dict[str, Any]:
    """The scenario's figures, as the JSON line and the table show them."""
    samples = load.window_samples("chat")
    ok = [s for s in samples if s.error is None]
    latencies = [s.latency for s in ok]
    lat = report.latency_summary(latencies)
    duration = load.window_end - load.window_start
    throughput = len(samples) / duration
    llm = scenario.llm_latency if scenario.mode == "anthropic" else 0.0
    offered = report.offered_load(scenario.users, scenario.think, llm) if llm + scenario.think > 0 else None
    start, end = window.get("start", 0.0), window.get("end", time.monotonic())
    before, after = scrapes.get("start", ""), scrapes.get("end", "")
    db_p95 = _histogram_p95_ms(before, after, "onboarding_db_query_time_seconds")
    queries = _counter_delta(before, after, "django_db_execute_total")
    all_requests = load.window_samples("chat") + load.window_samples("start")
    pg = poller.summary(start, end)
    cpu = sampler.summary(start, end, cpus)
    pg["limit"] = scenario.workers * scenario.db_pool_max
    result: dict[str, Any] = {
        "scenario": scenario.name,
        "mode": scenario.mode,
        "target": scenario.target,
        "endpoint": scenario.endpoint,
        "users": scenario.users,
        "llm_latency_s": llm,
        "think_s": scenario.think,
        "think_jitter_s": scenario.think_jitter,
        "tool_ratio": scenario.tool_ratio,
        "warmup_s": scenario.warmup,
        "window_s": duration,
        "serving": scenario.serving,
        "worker_class": scenario.served_worker_class,
        "workers": scenario.workers,
        "threads": scenario.threads,
        "worker_connections": scenario.worker_connections,
        "db_pool_max": scenario.db_pool_max,
        "cpus": cpus,
        "requests": len(samples),
        "start_requests": len(load.window_samples("start")),
        "throughput_rps": throughput,
        "offered_rps": offered,
        "throughput_pct_of_offered": 100 * throughput / offered if offered else None,
        "latency_s": lat,
        "overhead_p95_ms": (lat["p95"] - llm) * 1000
        if lat["p95"] is not None and scenario.mode == "anthropic"
        else None,
        "overhead_p50_ms": (lat["p50"] - llm) * 1000
        if lat["p50"] is not None and scenario.mode == "anthropic"
        else None,
        "errors": load.error_counts(all_requests),
        "errors_total_run": sum(load.error_counts().values()),
        "pg_connections": pg,
        "db_query_p95_ms": db_p95,
        "db_query_metric": "onboarding_db_query_time_seconds"
        if db_p95 is not None
        else "n/a: onboarding_db_query_time_seconds not exported",
        "db_queries_per_request": queries / len(all_requests) if queries is not None and all_requests else None,
        # Prompt caching at work: the share of prompt tokens Anthropic (here the fake) read from its cache.
        "llm_tokens": report.llm_tokens(before, after),
        "cpu_pct": cpu,
        # Server CPU time per request (chat and start) in the window: what sizes the serving model.
        "server_cpu_ms_per_request": cpu["server_mean"] * 10 * duration / len(all_requests)
        if cpu.get("server_mean") is not None and all_requests
        else None,
        "server_rss_peak_mib": sampler.rss_peak_kib() / 1024,
        "server_processes": max((s.server_processes for s in sampler.samples), default=0),
        "onboardings_completed": load.onboardings_completed,
        "accounts_used": load.accounts_used,
        "users_out_of_accounts": load.users_out_of_accounts,
        "pg_restarts": poller.restarts,
        "pg_poll_errors": poller.errors[:10],
    }
    if scenario.endpoint == "stream":
        result["ttfb_s"] = report.latency_summary([s.ttfb for s in ok if s.ttfb is not None])
        result["first_delta_s"] = report.latency_summary([s.first_delta for s in ok if s.first_delta is not None])
        p95 = result["ttfb_s"]["p95"]
        result["ttfb_overhead_p95_ms"] = (p95 - llm) * 1000 if p95 is not None else None
    result["targets"] = targets_check(scenario, result)
    return result


# ----- command line --------------------------------------------------------------------------------------------


def _sigterm_as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--matrix",
        choices=["full", "scale"],
        help="run the whole matrix (full: includes scale), or only the scale scenarios, instead of one scenario",
    )
    parser.add_argument("--only", help="with --matrix: run only scenarios whose name contains this text")
    parser.add_argument("--name", default=None, help="scenario name in the report (default: from its figures)")
    parser.add_argument(
        "--users", type=_users_list, default=[500], help="simulated users; a list (100,300,500) runs one scenario each"
    )
    parser.add_argument("--llm-latency", type=float, default=1.0, help="fake LLM latency, seconds")
    parser.add_argument("--latency-jitter", type=float, default=0.0, help="uniform +/- seconds around it")
    parser.add_argument(
        "--think-jitter",
        type=float,
        default=0.0,
        help="each think time uniform in --think +/- these seconds (0 to --think; the mean stays --think)",
    )
    parser.add_argument("--think", type=float, default=2.0, help="seconds a user waits after each reply")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds, after the warm-up")
    parser.add_argument("--warmup", type=float, default=None, help="seconds before measuring (default: a cycle + 6)")
    parser.add_argument("--mode", choices=["anthropic", "offline"], default="anthropic")
    parser.add_argument("--endpoint", choices=["chat", "stream"], default="chat")
    parser.add_argument("--tool-ratio", type=float, default=0.5, help="share of LLM replies that call the tool")
    serving = parser.add_argument_group("serving model (overrides for every scenario)")
    serving.add_argument("--workers", type=int, default=4, help="GUNICORN_WORKERS")
    serving.add_argument(
        "--worker-class",
        choices=["gthread", "gevent"],
        default=None,
        help="GUNICORN_WORKER_CLASS, for the service and the reference (default: gunicorn.conf.py's)",
    )
    serving.add_argument("--threads", type=int, default=512, help="GUNICORN_THREADS (gthread)")
    serving.add_argument(
        "--worker-connections", type=int, default=1000, help="GUNICORN_WORKER_CONNECTIONS (with gevent: per worker)"
    )
    serving.add_argument("--db-pool", type=int, default=20, help="DB_POOL_MAX_SIZE")
    serving.add_argument("--cache", choices=["redis", "locmem"], default="redis", help="CACHE_URL backend")
    serving.add_argument(
        "--cache-db",
        type=int,
        default=int(os.environ.get("BENCH_CACHE_DB", "0")),
        help="the Redis database number (default: $BENCH_CACHE_DB or 0)",
    )
    serving.add_argument(
        "--instances", type=int, default=1, help="N > 1: N instances behind HAProxy (bench/cluster.py)"
    )
    parser.add_argument(
        "--retries", type=int, default=1, help="runs again a scenario during which PostgreSQL restarted (default 1)"
    )
    parser.add_argument(
        "--quiet-wait", type=float, default=60.0, help="wait up to this many seconds for other jobs to calm down"
    )
    parser.add_argument(
        "--quiet-budget", type=float, default=240.0, help="at most this many seconds of waiting in a whole invocation"
    )
    parser.add_argument(
        "--quiet-below", type=float, default=50.0, help="'calm': the machine uses less than this %% CPU (200 = 2 cores)"
    )
    parser.add_argument("--profile", action="store_true", help="profile the server's CPU (slow; not for figures)")
    parser.add_argument(
        "--gc", action="store_true", help="also time the server's garbage collections (bench/gc_probe), per request"
    )
    parser.add_argument(
        "--target", choices=sorted(TARGETS), default="service", help="what is served (without --compare)"
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="run each scenario on the service and on the reference endpoint, interleaved, and print ratios",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="with --compare: runs of each target per scenario (medians are reported)"
    )
    parser.add_argument(
        "--database",
        default=BENCH_DATABASE,
        help="the database each scenario drops and recreates (default: $BENCH_DATABASE or shuren_bench)",
    )
    parser.add_argument("--no-charts", action="store_true", help="do not draw the PNG charts (bench/charts.py)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where run logs and results go")
    args = parser.parse_args(argv)
    if not 0 <= args.think_jitter <= args.think:
        # Past --think the pauses would be cut at 0, and their mean (hence the offered load) would grow.
        parser.error(f"--think-jitter must be between 0 and --think ({args.think:g}), not {args.think_jitter:g}")
    if args.think_jitter and args.matrix:
        parser.error("--think-jitter applies to one scenario, not to --matrix")
    if args.worker_class is not None and TARGETS[args.target][2] is not None:
        parser.error(f"--target {args.target} is served by {TARGETS[args.target][2]}: --worker-class does not apply")
    args.worker_class = args.worker_class or default_worker_class()
    if args.profile and args.worker_class == "gevent":
        # bench/profile_wsgi.py times each thread's CPU: under gevent every request shares the worker's thread.
        parser.error("--profile profiles per thread; it cannot tell gevent's requests apart (use gthread)")
    return args


def scenarios_from_args(args: argparse.Namespace) -> list[Scenario]:
    """The scenarios the command line asks for."""
    serving = {
        "workers": args.workers,
        "worker_class": args.worker_class,
        "threads": args.threads,
        "worker_connections": args.worker_connections,
        "db_pool_max": args.db_pool,
        "cache": args.cache,
        "cache_db": args.cache_db,
        "profile": args.profile,
        "gc": args.gc,
        "instances": args.instances,
        "database": args.database,
        "target": args.target,
    }
    if args.matrix:
        build = matrix_scenarios if args.matrix == "full" else scale_scenarios
        chosen = build(tool_ratio=args.tool_ratio, **serving)
        return [s for s in chosen if args.only is None or args.only in s.name]
    llm = args.llm_latency if args.mode == "anthropic" else 0.0
    return [
        Scenario(
            name=_scenario_name(args, users, llm),
            users=users,
            llm_latency=llm,
            think=args.think,
            duration=args.duration,
            warmup=args.warmup if args.warmup is not None else warmup_for(args.llm_latency, args.think),
            mode=args.mode,
            endpoint=args.endpoint,
            tool_ratio=args.tool_ratio,
            latency_jitter=args.latency_jitter,
            think_jitter=args.think_jitter,
            **serving,
        )
        for users in args.users
    ]


def _users_list(text: str) -> list[int]:
    """``500`` or ``100,300,500``: the user counts to run."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a user count or a comma-separated list of them: {text!r}") from None
    if not counts or any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError(f"user counts must be >= 1: {text!r}")
    return counts


def _scenario_name(args: argparse.Namespace, users: int, llm: float) -> str:
    if args.name:
        return args.name if len(args.users) == 1 else f"{args.name}-u{users}"
    jitter = report.jitter_suffix(args.think_jitter)
    if (users, args.llm_latency, args.think, args.endpoint, args.mode) == (500, 1.0, 2.0, "chat", "anthropic"):
        return f"standard{jitter}"
    return f"{args.mode}-{args.endpoint}-u{users}-llm{llm:g}-think{args.think:g}{jitter}"


@contextlib.contextmanager
def _interrupts_as_keyboard_interrupt() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scenarios, print a table for each, and end with the JSON line; 1 if a scenario failed to run."""
    args = parse_args(argv)
    scenarios = scenarios_from_args(args)
    if not scenarios:
        print("no scenario matches", file=sys.stderr)
        return 2
    results: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    began = time.monotonic()
    waited = 0.0  # seconds spent waiting for a quiet machine, all scenarios together

    def attempt(scenario: Scenario) -> dict[str, Any]:
        nonlocal waited
        # The waits share one budget, so a busy machine cannot stretch the matrix without bound.
        max_wait = min(args.quiet_wait, max(0.0, args.quiet_budget - waited))
        result = scenario_run(scenario, args.out, quiet_below=args.quiet_below, quiet_max_wait=max_wait)
        waited += result["quiet_waited_s"]
        return result

    with _interrupts_as_keyboard_interrupt():
        for scenario in runs_planned(scenarios, compare=args.compare, rounds=args.rounds):
            try:
                result = attempt(scenario)
                disturbed = 0
                while result["pg_restarts"] and disturbed < args.retries:
                    # Someone else restarted PostgreSQL mid-run: the figures say nothing about the service.
                    disturbed += 1
                    print(
                        "   PostgreSQL restarted during the run (not by this benchmark); running it again", flush=True
                    )
                    result = attempt(scenario)
                result["disturbed_attempts"] = disturbed
            except KeyboardInterrupt:
                print("\ninterrupted: every process this run started has been stopped", file=sys.stderr)
                return 130
            except (RuntimeError, OSError, subprocess.SubprocessError, psycopg.Error) as exc:
                print(f"   scenario {scenario.name} failed: {exc}", file=sys.stderr, flush=True)
                failures.append({"scenario": scenario.name, "error": str(exc)})
                continue
            results.append(result)
            print(report.result_table(result), flush=True)
            if result["error_examples"]:
                print("   first errors:\n     " + "\n     ".join(result["error_examples"][:5]), flush=True)
            if result["server_log"]["first_errors"]:
                print("   server log:\n     " + "\n     ".join(result["server_log"]["first_errors"][:5]), flush=True)
    if len(results) > 1:
        print("\n" + report.matrix_table(results))
    comparisons = comparisons_print(results) if args.compare else []
    if not args.no_charts and len(results) > 1:
        sitting = args.out / f"{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}-sitting"
        for path in charts_draw(results, sitting):
            print(f"chart: {shown(path)}", flush=True)
    print(f"\ntotal time {time.monotonic() - began:.0f}s", flush=True)
    slim = [{k: v for k, v in r.items() if k not in ("error_examples",)} for r in results]
    document: dict[str, Any] = (
        slim[0]
        if len(slim) == 1 and not failures
        else {"scenarios": slim, "failures": failures, "comparisons": comparisons}
    )
    print(json.dumps(document, default=_json_default), flush=True)
    return 1 if failures else 0


def runs_planned(scenarios: Sequence[Scenario], *, compare: bool, rounds: int) -> list[Scenario]:
    """The runs in order: with ``compare``, each scenario on the service and the reference, ``rounds`` times.

    The two targets alternate which goes first from round to round (S R, R S, S R...), so a host that gets
    busier or quieter during the sitting does not favour one of them. A scenario the reference cannot serve
    (it has no stream and no offline engine) runs on the service alone, once.
    """
    if not compare:
        return list(scenarios)
    planned = []
    for scenario in scenarios:
        if scenario.endpoint != "chat" or scenario.mode != "anthropic":
            planned.append(dataclasses.replace(scenario, target="service"))
            continue
        for index in range(max(1, rounds)):
            order = ("service", "reference") if index % 2 == 0 else ("reference", "service")
            planned += [dataclasses.replace(scenario, target=target) for target in order]
    return planned


def comparisons_print(results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Print, per scenario, the medians of the service's and the reference's runs and their ratios."""
    comparisons = []
    for name in dict.fromkeys(r["scenario"] for r in results):
        service = [r for r in results if r["scenario"] == name and r.get("target") == "service"]
        reference = [r for r in results if r["scenario"] == name and r.get("target") == "reference"]
        if not service or not reference:
            continue
        rows = report.comparison(service, reference)
        loads = [r["load_average"][0] for r in [*service, *reference] if r.get("load_average")]
        load = [max(loads)] if loads else []
        first = service[0]
        key = (int(first["users"]), float(first["llm_latency_s"]), float(first["think_s"]))
        checks = report.ratio_targets_check(key, rows) if first["endpoint"] == "chat" else []
        print("\n" + report.comparison_table(name, rows, load, checks), flush=True)
        comparisons.append(
            {"scenario": name, "figures": rows, "load_average_1min_max": max(loads or [0.0]), "targets": checks}
        )
    return comparisons


def charts_draw(results: Sequence[Mapping[str, Any]], directory: Path) -> list[Path]:
    """The PNG charts of the sitting (bench/charts.py); none if matplotlib is missing."""
    try:
        from bench import charts
    except ImportError as exc:  # matplotlib is a development requirement, not a runtime one
        print(f"   no charts: {exc}", file=sys.stderr)
        return []
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results.json").write_text(json.dumps(list(results), indent=2, default=_json_default))
    return charts.draw_all(results, directory)


def _json_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    sys.exit(main())
