"""The pieces of devtools/cluster.py that need no running server: its configs and the bench's --instances option.

The stack itself runs in `make cluster-test` (tests/test_cluster.py); these catch a broken HAProxy or
PgBouncer configuration in the normal suite, in milliseconds.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bench.run import parse_args, scenarios_from_args
from devtools.cluster import SERVED_BY_HEADER, DatabaseAddress, haproxy_config, pgbouncer_config


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed (apt-get install haproxy)")
def test_haproxy_accepts_the_balancers_configuration(tmp_path: Path) -> None:
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(port=18599, instance_ports=[18597, 18598]))

    checked = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, check=False)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = config.read_text()
    assert "balance roundrobin" in text
    assert f"set-header {SERVED_BY_HEADER} %[srv_name]" in text
    assert text.count("    server app") == 2


def test_pgbouncer_pools_by_transaction_in_front_of_the_urls_database(tmp_path: Path) -> None:
    database = DatabaseAddress.from_url("postgres://app:s%40cret@db.internal:5433/shuren_prod")

    text = pgbouncer_config(database, port=16432, pool_size=7, auth_file=tmp_path / "users.txt")

    assert database == DatabaseAddress("db.internal", 5433, "shuren_prod", "app", "s@cret")
    assert "shuren_prod = host=db.internal port=5433 dbname=shuren_prod user=app password=s@cret" in text
    assert "pool_mode = transaction" in text
    assert "default_pool_size = 7" in text
    assert "listen_addr = 127.0.0.1" in text


def test_pgbouncer_needs_a_postgresql_url() -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        DatabaseAddress.from_url("sqlite:///db.sqlite3")


def test_the_benchmark_runs_through_the_balancer_with_instances() -> None:
    (scenario,) = scenarios_from_args(parse_args(["--instances", "3", "--workers", "2"]))
    (single,) = scenarios_from_args(parse_args([]))

    assert (scenario.instances, scenario.workers) == (3, 2)
    assert single.instances == 1
