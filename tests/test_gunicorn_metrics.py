"""Metrics stay right under several gunicorn worker processes (prometheus multiprocess mode)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from devtools.cluster import free_port
from tests.conftest import gunicorn_serving

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = 40


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


@pytest.mark.slow
def test_metrics_count_every_request_across_two_workers(tmp_path: Path) -> None:
    # Given a migrated database and gunicorn with 2 workers in multiprocess mode
    metrics_dir = tmp_path / "prometheus"
    port = free_port()
    env = {
        **{key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR")},
        "DJANGO_SETTINGS_MODULE": "shuren.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SECRET_KEY": "gunicorn-metrics-test-secret-0123456789abcdefghijkl",
        "DEBUG": "False",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LLM_PROVIDER": "offline",
        "CACHE_URL": "locmemcache://",
        "PORT": str(port),
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_LEVEL": "WARNING",
        "GUNICORN_GRACEFUL_TIMEOUT": "2",
    }
    migrate_env = {key: value for key, value in env.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=migrate_env, check=True, timeout=120)
    metrics_dir.mkdir()
    with gunicorn_serving(python=sys.executable, cwd=ROOT, env=env) as server:
        base = server.base
        # When 40 liveness requests arrive on separate connections, 8 at a time
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(lambda _: _get(f"{base}/health")[0], range(REQUESTS)))
        body = _get(f"{base}/metrics")[1]

    # Then /metrics, answered by one worker, counts all of them (plus the readiness poll)
    assert statuses == [200] * REQUESTS
    pattern = r'django_http_responses_total_by_status_view_method_total\{[^}]*view="health-live"[^}]*\} (\S+)'
    counted = sum(float(value) for value in re.findall(pattern, body))
    assert counted >= REQUESTS + 1, server.stderr
    assert counted <= REQUESTS + 60  # the readiness poll adds at most one request per 0.2 s
    # and both workers wrote samples of their own
    pids = {match.group(1) for path in metrics_dir.iterdir() if (match := re.search(r"_(\d+)\.db$", path.name))}
    assert len(pids) >= 2
