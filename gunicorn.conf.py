"""Gunicorn settings for the Shuren onboarding API (``gunicorn -c gunicorn.conf.py shuren.wsgi:application``).

A chat request spends almost all of its time waiting on the LLM, so the
server is sized for many concurrent *waits*, not for CPU: a few processes,
each carrying many requests at once, on threads (``gthread``, the default) or
on greenlets (``gevent``, GUNICORN_WORKER_CLASS). Every knob can be overridden
from the environment (see ``.env.example``); this file reads the process
environment only, not ``.env`` (``docker compose`` passes ``.env`` in through
``env_file``).

Sizing rule of thumb (docs/deployment.md): threads (or, with gevent, worker
connections) per worker ~ the LLM waits a worker should carry at once, and
``workers x DB_POOL_MAX_SIZE`` must stay under PostgreSQL's ``max_connections``.

This file runs in gunicorn's master, which forks the workers. It imports only the
standard library, so that a gevent worker monkey-patches the standard library (in
its ``init_process``, before it loads Django) ahead of every library of the
application: psycopg, for one, cooperates only if it is first imported after the
patch. gunicorn itself has imported ``socket`` and ``ssl`` in the master by then;
gevent looks for references taken to them before the patch and would warn
(MonkeyPatchWarning), which tests/test_gevent_serving.py checks it does not.
"""

from __future__ import annotations

import gc
import math
import os
import shutil
from pathlib import Path
from typing import Any, Protocol


def _env_str(name: str, default: str) -> str:
    """The variable's value, or ``default`` when it is unset or blank (a blank ``.env`` line)."""
    value = os.environ.get(name, "").strip()
    return value or default


def _env_int(name: str, default: int) -> int:
    """The variable as an int; a bad value stops gunicorn at start with the variable's name."""
    raw = _env_str(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, not {raw!r}") from None


def _env_float(name: str, default: float) -> float:
    """The variable as a float; a bad value stops gunicorn at start with the variable's name."""
    raw = _env_str(name, str(default))
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None


def _usable_cpus() -> int:
    """CPUs this process may run on (the affinity mask, which a container's cpuset narrows)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# --- Where to listen -------------------------------------------------------------
# 0.0.0.0 because in a container the proxy reaches it over the container network; PORT is
# the usual platform convention (the Dockerfile's EXPOSE and deploy/nginx.conf's upstream use
# 8000). Never publish it to clients: only through the proxy (docs/deployment.md).
bind = [f"0.0.0.0:{_env_int('PORT', 8000)}"]

# --- Processes, threads and greenlets -----------------------------------------------
# gthread: each thread blocks on one request, and a thread blocked on the LLM's
# socket releases the GIL, so one process carries hundreds of LLM waits, a thread
# (and its stack) each. gevent: each request is a greenlet, and a wait on any socket
# (the LLM, PostgreSQL, Redis, the client) switches to another, so one process
# carries thousands of waits, open SSE streams included, with no thread each. The
# whole stack cooperates once the worker has monkey-patched the standard library:
# psycopg 3 (>= 3.1.15) waits on patched select when it sees the patch, psycopg_pool's
# workers and locks, redis-py and the anthropic SDK (httpx) use patched threads and
# sockets, and Django's per-request state (connections, asgiref Local, contextvars)
# is per greenlet. Nothing in the application changes. Sync workers would need one
# process per concurrent chat. Any other class is refused here rather than half
# working: an async (ASGI) route measured ~2x the CPU per turn (bench/RESULTS.md).
# gthread stays the default: gevent measured 9-11 % more CPU per turn at 100 and at
# 2,000-5,000 users, the same at 500 (bench/RESULTS.md, "The serving model: decision"),
# and CPU, not threads, is what a machine runs out of at the deployment guide's load.
# Switching the default is this one line (docs/deployment.md, "Choosing the worker class").
_WORKER_CLASSES = ("gthread", "gevent")
worker_class = _env_str("GUNICORN_WORKER_CLASS", "gthread").lower()
if worker_class not in _WORKER_CLASSES:
    raise ValueError(f"GUNICORN_WORKER_CLASS must be one of {', '.join(_WORKER_CLASSES)}, not {worker_class!r}")

# Processes exist for the little CPU work (JSON, validation, ORM) and for isolation
# (a crashed or recycled worker takes only its own requests down), not for
# concurrency, which the threads (or greenlets) provide. Hence one per usable CPU, at least 2 so a
# single worker restart never empties the pool, at most 4 so that the default
# 4 x DB_POOL_MAX_SIZE (20) = 80 connections stays under PostgreSQL's default
# max_connections of 100. The classic (2 x CPU) + 1 is a rule for sync workers and
# would overrun PostgreSQL on a big host. Measure with bench/ and set
# GUNICORN_WORKERS explicitly in production.
workers = _env_int("GUNICORN_WORKERS", min(max(_usable_cpus(), 2), 4))

# gthread only (gevent ignores it): concurrent requests per worker, each thread
# carrying one chat waiting on the LLM.
# bench/RESULTS.md (issue 15): 2,000 users with a 10 s LLM and 20 s think keep ~670
# turns in flight; 4 x 128 threads ran out (84 % of the offered load, p95 41 s, the
# CPU half idle) while 4 x 256 served 99.8 % with p95 10.3 s and 0.8 GiB RSS, and
# cost less CPU per turn than an async (ASGI) endpoint did. Connections split
# unevenly across workers (about 2:1), hence twice the share: 5,000 users with a 60 s
# think keep ~714 turns in flight, which asks for 2 x 714 / 4 = 357, and one run in
# three at 256 queued for threads (p95 12.8 s) where 512 gave 10.04 s twice. A thread
# is started only when a request needs one (up to this many), so the ceiling costs
# nothing at lower loads. Threads do not hold a database connection while waiting on
# the LLM, so they share DB_POOL_MAX_SIZE (20).
threads = _env_int("GUNICORN_THREADS", 512)

# Open client connections per worker (requests in progress plus idle keep-alive ones).
# gevent: the greenlet pool, so the most requests a worker carries at once; past it,
# new connections wait in the listen backlog. gthread: the most connections a worker
# holds (those over `threads` wait for a thread). 1000, gunicorn's own default, so
# gthread is unchanged, and equal to the anthropic SDK's connection pool per process
# (1000): a request admitted here can always have its LLM call in flight rather than
# queue inside the SDK, where the wait counts against LLM_TIMEOUT_SECONDS. That is
# more than a worker's CPU serves at ~12 ms per turn with today's LLM latencies
# (~30 turns/s per core x 10 s = 300 waits; README, "Sizing"): CPU, not this number,
# is the limit. A turn in flight costs ~130 KiB under either class (its request's state,
# not the greenlet or the thread: 1,000 on one gevent worker, 256 on one gthread worker)
# and no database connection.
worker_connections = _env_int("GUNICORN_WORKER_CONNECTIONS", 1000)

# --- Timeouts ------------------------------------------------------------------------
# The longest a chat request may legitimately wait on the LLM: every attempt timing
# out (the first try plus LLM_MAX_RETRIES retries), or LLM_DEADLINE_SECONDS, the cap
# the LLM layer puts on a whole turn, whichever is larger (so a misconfigured pair
# still errs on the long side). The margin covers the backoff between attempts, the
# database work and streaming. Same defaults as shuren/settings.py.
_LLM_TIMEOUT_SECONDS = _env_float("LLM_TIMEOUT_SECONDS", 30.0)
_LLM_MAX_RETRIES = _env_int("LLM_MAX_RETRIES", 2)
_LLM_DEADLINE_SECONDS = _env_float("LLM_DEADLINE_SECONDS", 60.0)
_LLM_WORST_CASE_SECONDS = max(_LLM_TIMEOUT_SECONDS * (_LLM_MAX_RETRIES + 1), _LLM_DEADLINE_SECONDS)
_TIMEOUT_MARGIN_SECONDS = 30

# A worker silent for this long is killed. With gthread the worker's main loop
# heartbeats while its threads wait, and with gevent a greenlet of its own does
# (delayed only by a request that holds the CPU without waiting), so this mostly
# catches a wedged process; it is still set above the LLM worst case (120 s by
# default: 3 x 30 s + 30 s) so that no setting, nor a switch to sync workers, ever
# kills a request that is waiting as designed.
timeout = _env_int("GUNICORN_TIMEOUT", math.ceil(_LLM_WORST_CASE_SECONDS + _TIMEOUT_MARGIN_SECONDS))

# On SIGTERM (deploy, scale-down) in-flight requests get this long to finish. A
# chat reply takes 1-2 s at p95, so 30 s drains nearly everything; a turn cut off
# saved nothing (turns are atomic) and is safe to resend with its Idempotency-Key.
# docker-compose.yml's stop_grace_period must stay above it, or Docker's SIGKILL
# arrives first.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)

# Seconds an idle keep-alive connection stays open. 5 s suits clients that talk to
# gunicorn directly; behind a load balancer set it ABOVE the balancer's idle timeout
# (e.g. 65 for an AWS ALB's 60), or the balancer reuses connections gunicorn has
# just closed and answers 502.
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)

# --- Worker recycling --------------------------------------------------------------
# Off (0) by default: there is no known leak, and each recycle drops the worker's
# DB pool and LLM client, cuts requests still running after graceful_timeout and
# leaves another set of Prometheus files behind. Turn it on (e.g. 2000) if memory
# creeps up; the jitter (10 % unless set) keeps workers from recycling together.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", max_requests // 10)

# --- Application loading --------------------------------------------------------------
# False: Django, its psycopg connection pool and the anthropic client (with its
# httpx connection pool) are created in each worker after the fork. Loading them in
# the master and forking would share sockets and pool threads between processes,
# which neither psycopg_pool nor httpx survives. It also lets a gevent worker patch
# before anything of the application is imported: psycopg picks its wait function at
# import, and one picked before the patch would block the whole worker on every query.
# The cost is a slower start.
preload_app = False

# Python's default thresholds are (700, 10, 10): a young collection once 700 more objects are allocated
# than freed. While a turn waits on the LLM its objects outlive the young collections, so with 700 a worker
# under load collected its youngest generation about ten times a second and reached a full collection two
# or three times in 30 s (up to 89-133 ms each, with the GIL held). With 10,000 the young collections are
# 15 times rarer and no full one came in a 30 s run: at 500 users the collections' CPU per request halved
# (0.34-0.40 to 0.16-0.23 ms) for about 10 MiB more RSS a server (bench/RESULTS.md, "Issue 15, tenth
# sitting"). Each collection walks more, though: a young one holds the GIL 5-11 ms instead of under 0.5 ms,
# a middle one (every tenth) 38-91 ms, about 115 ms with thousands of turns in flight, instead of 4-5 ms.
# The long pauses are rarer, not gone. Keeping the older generations' thresholds keeps the cyclic garbage
# of finished turns from waiting for long (raising the oldest to 100 instead added 50-70 MiB).
_GC_THRESHOLDS = (10_000, 10, 10)


def post_worker_init(worker: object) -> None:
    """Move everything the worker loaded into the collector's permanent generation (``gc.freeze``).

    A loaded worker holds about 247,000 objects (Django, DRF, the SDK, the agents) that live as long as
    it does, and Python's full collection walks every one of them, with the GIL held. A chat turn brings
    the next full collection closer: its objects outlive the younger collections while it waits on the
    LLM, which promotes them to the oldest generation. Frozen, the loaded objects are skipped: at 500
    users the service's collections fell from about 0.5 to 0.3 ms of CPU per request, and the longest
    full collection from 167-273 ms of CPU to 75-119 ms. The collection first drops what start-up left
    as garbage, so that it is not frozen with the rest; an object alive now that becomes part of a
    garbage cycle later is never freed (bounded by what the worker loaded). gunicorn runs this in each
    worker once the application is loaded (``shuren.wsgi``, which also loads what the first requests
    would: the views, the LLM client, the steps' tools; ``shuren.warmup``), before its first request, so
    those are frozen too. Then it sets the collector's thresholds (``_GC_THRESHOLDS``, above).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)


# The heartbeat file lives in memory: on Docker's overlay filesystem the per-second
# fchmod can block and make healthy workers look silent.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108 (a tmpfs, not a shared temp dir)

proc_name = "shuren"

# --- Logging ---------------------------------------------------------------------------
# Access log to stdout, one line a request, for the container's log collector.
# The request id is the X-Request-ID response header that core.request_id sets, so
# an access line joins the application's log lines for the same request. %(U)s is
# the path without the query string (which may carry tokens or personal data);
# %(M)s is the duration in milliseconds.
accesslog = "-"
access_log_format = (
    '%(t)s access request_id=%({x-request-id}o)s method=%(m)s path="%(U)s" status=%(s)s bytes=%(b)s duration_ms=%(M)s'
)
errorlog = "-"
loglevel = _env_str("LOG_LEVEL", "info").lower()


# --- Prometheus multiprocess mode ------------------------------------------------------
# With several workers each process writes its metrics to files in
# PROMETHEUS_MULTIPROC_DIR and /metrics sums them (django-prometheus does this
# when the variable is set). Unset, metrics stay in process memory (make run).


class _Worker(Protocol):
    pid: int


def _prometheus_multiproc_dir() -> Path | None:
    """The Prometheus multiprocess directory, or None when multiprocess mode is off."""
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    return Path(value) if value else None


def on_starting(server: object) -> None:
    """Refuse ``--preload``, then empty the Prometheus multiprocess directory once, when the master starts.

    Files left by a previous run would be added to this run's counters. Only the
    master runs this hook, so workers restarted later keep the live totals. The
    directory's contents are removed rather than the directory itself, which may be
    a mounted volume.
    """
    if getattr(getattr(server, "cfg", None), "preload_app", False):
        # --preload on the command line or in GUNICORN_CMD_ARGS overrides preload_app above.
        raise RuntimeError(
            "preload_app must stay off (drop --preload): each worker loads the application and its "
            "connection pools itself, after the fork (gunicorn.conf.py, preload_app)"
        )
    directory = _prometheus_multiproc_dir()
    if directory is None:
        return
    if directory.is_dir():
        for entry in directory.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    directory.mkdir(parents=True, exist_ok=True)


def child_exit(server: object, worker: _Worker) -> None:
    """Tell prometheus_client that a worker has died, so its live gauges stop counting."""
    if _prometheus_multiproc_dir() is None:
        return
    # Imported here: the master needs prometheus_client only when a worker exits. Workers forked after
    # that inherit it imported before their gevent patch, holding the real threading.Lock it took at
    # import. Harmless: its locks are held for microseconds around writes to memory and mmap'd files,
    # with no socket I/O inside, so no greenlet ever switches out while holding one.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# --- Bodies the application will not read ----------------------------------------------
# Same default as shuren/settings.py. Behind the proxy (deploy/nginx.conf) no such request
# reaches gunicorn; these hooks are for gunicorn reached directly.
_MAX_REQUEST_BODY_BYTES = _env_int("MAX_REQUEST_BODY_BYTES", 64 * 1024)


class _Request(Protocol):
    method: str
    path: str
    headers: list[tuple[str, str]]


class _Logged(Protocol):
    log: Any


def pre_request(worker: _Logged, req: _Request) -> None:
    """Answer with ``Connection: close`` a request whose body the application will not read.

    The application refuses a body over MAX_REQUEST_BODY_BYTES (413) and a chunked one (411)
    without reading it. gunicorn then drains at most 64 KiB of the unread body before the
    next request and closes the connection if there is more, after the answer said
    ``keep-alive``. An application cannot set ``Connection`` itself (a hop-by-hop header,
    PEP 3333), but gunicorn answers ``close`` when the request asked for it: so ask.
    """
    worker.log.debug("%s %s", req.method, req.path)
    headers = dict(req.headers)
    declared = headers.get("CONTENT-LENGTH", "")
    too_large = declared.isdigit() and int(declared) > _MAX_REQUEST_BODY_BYTES
    chunked = "chunked" in headers.get("TRANSFER-ENCODING", "").lower()
    if too_large or chunked:
        req.headers = [(name, value) for name, value in req.headers if name != "CONNECTION"]
        req.headers.append(("CONNECTION", "close"))
