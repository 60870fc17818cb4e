"""How ``make test`` selects tests: the database-only pass CI runs on PostgreSQL, and the serial tests."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, environ_without


def _collected(**env: str) -> set[str]:
    """The test ids pytest would run, collected in a child process with ``env`` added."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "--no-cov", "-p", "no:xdist", *_FILES],
        cwd=ROOT,
        env={**environ_without("SHUREN_TEST_DATABASE_ONLY", "PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS"), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {line for line in result.stdout.splitlines() if "::" in line}


# A parser test (no database), form-flow tests (the db fixture), a transactional test marked
# django_db, and tests marked postgres that make databases of their own.
_FILES = [
    "tests/test_offline_parsing.py",
    "tests/test_form_flow.py",
    "tests/test_database_faults.py",
    "tests/test_migration_check.py",
]


@pytest.mark.slow
def test_the_database_only_pass_keeps_every_test_that_reaches_a_database_and_nothing_else() -> None:
    everything = _collected()
    database_only = _collected(SHUREN_TEST_DATABASE_ONLY="1")

    assert database_only < everything
    left_out = everything - database_only
    # Every parser test is left out; the form flow's HTTP tests (the db fixture, through `api`) and the
    # database-fault tests (marked django_db) are kept.
    assert any(test.startswith("tests/test_offline_parsing.py::") for test in left_out)
    assert not any(test.startswith("tests/test_offline_parsing.py::") for test in database_only)
    assert "tests/test_form_flow.py::test_submitting_every_step_in_order_completes_onboarding" in database_only
    faults = {t for t in everything if t.startswith("tests/test_database_faults.py::")}
    assert faults
    assert faults <= database_only
    # The migration check's PostgreSQL tests make databases of their own: kept, though they use no fixture.
    kept_checks = {t.split("::")[1] for t in database_only if t.startswith("tests/test_migration_check.py::")}
    assert kept_checks == _postgres_marked(ROOT / "tests/test_migration_check.py")


def _postgres_marked(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and any("postgres" in ast.unparse(d) for d in node.decorator_list)
    }


def test_serial_tests_are_skipped_under_xdist_saying_where_they_run() -> None:
    # On a PostgreSQL URL (never reached: both tests are skipped before they connect), under pytest-xdist.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--no-cov", "-n", "1", "-rs", "tests/test_database_faults.py"],
        cwd=ROOT,
        env={
            **environ_without("PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS"),
            "DATABASE_URL": "postgres://postgres@127.0.0.1:1/unreachable",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "must run alone: make test runs it in its serial pass" in result.stdout, result.stdout + result.stderr
