"""``bench/run.py --instances N``: the scenario served by N instances behind HAProxy, PgBouncer in front of PostgreSQL.

The stack is devtools/cluster.py (the one ``make cluster-test`` proves stateless), run as a child process so
that the run's CPU and memory sampling sees the whole serving side (the instances, HAProxy and PgBouncer)
as one process tree, as it sees gunicorn's master and workers otherwise.

What differs from a single gunicorn: every request crosses the balancer; the database connections counted
are PgBouncer's to PostgreSQL (at most ``--pool-size``); ``/metrics`` is not served through the balancer,
so the figures drawn from it (DB query p95, queries per request) read n/a.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cluster_start(
    env: Mapping[str, str],
    port: int,
    run_dir: Path,
    stack: contextlib.ExitStack,
    *,
    instances: int,
    pool_size: int = 20,
) -> subprocess.Popen[bytes]:
    """Start ``python -m devtools.cluster`` with ``env``, its balancer on ``port``; return once it serves."""
    log = stack.enter_context((run_dir / "cluster.log").open("wb"))
    # Registered first, so it runs last: after the instances stopped, their logs become the run's
    # gunicorn.log, which the report reads for 5xx and errors.
    stack.callback(_instance_logs_join, run_dir / "cluster", run_dir / "gunicorn.log")
    command = [
        *(sys.executable, "-m", "devtools.cluster", "--port", str(port), "--instances", str(instances)),
        *("--pool-size", str(pool_size), "--log-dir", str(run_dir / "cluster")),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=dict(env), stdout=subprocess.PIPE, stderr=log, start_new_session=True
    )
    # Imported here so that a plain run does not load the cluster module at all.
    from devtools.cluster import process_stop

    # Every instance drains (gunicorn's graceful timeout, 30 s) at once, then PgBouncer stops.
    stack.callback(process_stop, process, 60.0)
    assert process.stdout is not None
    line = process.stdout.readline().decode().strip()  # "listening on http://127.0.0.1:PORT", or EOF on failure
    if not line.startswith("listening on "):
        raise RuntimeError(f"the cluster did not start ({line!r}); see {log.name} and {run_dir / 'cluster'}")
    print(f"   {instances} instances behind HAProxy on {line.removeprefix('listening on ')}, PgBouncer", flush=True)
    return process


def _instance_logs_join(log_dir: Path, joined: Path) -> None:
    with joined.open("wb") as out:
        for log in sorted(log_dir.glob("instance-*.log")):
            out.write(log.read_bytes())
