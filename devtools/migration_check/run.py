"""The migration check's orchestrator: its databases, the copy, the phases in order, the verdict (no Django here).

    make migration-check                                   # DATABASE_URL's server, a freshly seeded source
    SOURCE_DATABASE_URL=postgres://.../shuren_prod_copy make migration-check

The databases it creates are named after ``DATABASE_URL``'s (``<name>_mcheck_<random>_source`` and
``..._staging``) on that server, and dropped at the end whatever happened. ``SOURCE_DATABASE_URL`` is only
read (``pg_dump``); it may be on another server.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}
# PostgreSQL truncates longer identifiers.
NAME_MAX = 63
PHASE_TIMEOUT_SECONDS = 300
# Passed on to the phases from this environment; everything else they get is set here.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")


class CheckError(Exception):
    """A step failed; the message says which and why."""


def server_url(database_url: str) -> str:
    """``DATABASE_URL`` when it is PostgreSQL (its server holds the check's databases)."""
    if urlsplit(database_url).scheme not in POSTGRES_SCHEMES:
        raise CheckError("needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/name")
    return database_url


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` on the same server."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def redacted(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def database_names(database_url: str, token: str) -> tuple[str, str]:
    """The check's own databases: ``<name>_mcheck_<token>_source`` and ``..._staging``, valid and short enough."""
    base = re.sub(r"[^a-z0-9_]", "_", urlsplit(database_url).path.lstrip("/").lower()) or "shuren"
    stem = f"{base[: NAME_MAX - len('_mcheck__staging') - len(token)]}_mcheck_{token}"
    return f"{stem}_source", f"{stem}_staging"


@dataclass
class Verdict:
    """What the check did, for its one-line verdict."""

    source: str = ""
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)
    failure: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """True when every phase passed."""
        return self.failure is None and bool(self.phases)

    def line(self) -> str:
        """``migration-check: PASS (...)`` or ``migration-check: FAIL (...)``: one line."""
        if not self.passed:
            return f"migration-check: FAIL ({self.failure or 'nothing ran'}; {self.seconds:.1f} s)"
        checks = sum(int(summary.get("checks", 0)) for summary in self.phases.values())
        applied = self.phases.get("upgrade", {}).get("applied", [])
        tables = self.phases.get("rollback", {}).get("tables_compared", "?")
        return (
            f"migration-check: PASS ({self.source}; migrate: {', '.join(applied) or 'none pending'}; "
            f"rollback onboarding + migrate: nothing lost but the 3 agent columns, {tables} tables compared; "
            f"{checks} API and data checks; {self.seconds:.1f} s)"
        )


class Server:
    """Creates and drops the check's databases on the server of ``url``, remembering what it created."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.created: list[str] = []

    def _execute(self, statement: sql.Composed) -> None:
        with psycopg.connect(with_database(self.url, "postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)

    def create(self, name: str) -> str:
        """Create database ``name``; its URL."""
        self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        return with_database(self.url, name)

    def drop_created(self) -> list[str]:
        """Drop every database this run created (connections to them are closed first); the names left behind."""
        left = []
        for name in reversed(self.created):
            try:
                self._execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            except psycopg.Error:
                left.append(name)
        self.created = left
        return left


def copy_database(source_url: str, target_url: str) -> None:
    """``pg_dump source | psql target``, as the guide clones production to staging."""
    with tempfile.TemporaryFile() as dump_errors:
        dump = subprocess.Popen(
            ["pg_dump", "--no-owner", "--no-privileges", source_url], stdout=subprocess.PIPE, stderr=dump_errors
        )
        load = subprocess.run(
            ["psql", "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "--output=/dev/null", target_url],
            stdin=dump.stdout,
            capture_output=True,
            text=True,
            timeout=PHASE_TIMEOUT_SECONDS,
            check=False,
        )
        if dump.stdout is not None:
            dump.stdout.close()
        dumped = dump.wait(timeout=PHASE_TIMEOUT_SECONDS)
        dump_errors.seek(0)
        if dumped != 0:
            raise CheckError(f"pg_dump {redacted(source_url)}: {dump_errors.read().decode(errors='replace').strip()}")
    if load.returncode != 0:
        raise CheckError(f"psql {redacted(target_url)}: {load.stderr.strip()[-500:]}")


def phase_environment(database_url: str, *, agents_enabled: bool) -> dict[str, str]:
    """The environment of a phase: this database, the offline engine, a private cache, development defaults."""
    inherited = {name: os.environ[name] for name in INHERITED if name in os.environ}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "shuren.settings",
        # Not the checkout's .env (make run writes one): a developer's edits there (a throttle, the cache...)
        # would change what the check checks.
        "SHUREN_ENV_FILE": "",
        "SHUREN_DEV_DEFAULTS": "1",
        "DEBUG": "true",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        "DB_POOL": "false",
        "CACHE_URL": "locmemcache://migration-check",
        "LLM_PROVIDER": "offline",
        "ANTHROPIC_API_KEY": "",
        "AGENTS_ENABLED": "true" if agents_enabled else "false",
        "LOG_LEVEL": "ERROR",
    }


def run_phase(phase: str, database_url: str, *, agents_enabled: bool = True) -> dict[str, Any]:
    """Run one phase in its own process against ``database_url``; its JSON summary, or ``CheckError``."""
    result = subprocess.run(
        [sys.executable, "-m", "devtools.migration_check.phases", phase],
        cwd=ROOT,
        env=phase_environment(database_url, agents_enabled=agents_enabled),
        capture_output=True,
        text=True,
        timeout=PHASE_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise CheckError(f"{phase}: {lines[-1] if lines else f'exit {result.returncode}'}")
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"  {phase}: {json.dumps(summary)}", flush=True)
    return summary


@contextmanager
def databases(server: Server) -> Iterator[Server]:
    """The server, whose created databases are dropped on the way out whatever happened."""
    try:
        yield server
    finally:
        left = server.drop_created()
        if left:
            print(f"migration-check: could not drop {', '.join(left)}; drop them by hand", file=sys.stderr)


def check(verdict: Verdict, database_url: str, source_url: str | None, token: str) -> None:
    """The steps, in order; the first failure raises ``CheckError``."""
    server = Server(server_url(database_url))
    source_name, staging_name = database_names(database_url, token)
    with databases(server):
        if source_url is None:
            print(f"migration-check: seeding {source_name} through the API", flush=True)
            source_url = server.create(source_name)
            seeded = run_phase("seed", source_url)
            verdict.source = f"seeded source: {seeded.get('users', '?')} users"
        else:
            verdict.source = f"source {redacted(source_url)}"
        print(f"migration-check: copying to {staging_name} (pg_dump | psql)", flush=True)
        staging_url = server.create(staging_name)
        copy_database(source_url, staging_url)
        verdict.phases["upgrade"] = run_phase("upgrade", staging_url)
        verdict.phases["rollback"] = run_phase("rollback", staging_url, agents_enabled=False)
        verdict.phases["forward"] = run_phase("forward", staging_url)


def main(environ: dict[str, str] | None = None) -> int:
    """Run the check; 0 when it passed. Prints the verdict as the last line."""
    environ = dict(os.environ if environ is None else environ)
    started = time.monotonic()
    verdict = Verdict()
    try:
        check(
            verdict, environ.get("DATABASE_URL", ""), environ.get("SOURCE_DATABASE_URL") or None, secrets.token_hex(4)
        )
    except (CheckError, psycopg.Error, subprocess.TimeoutExpired, OSError) as exc:
        verdict.failure = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    verdict.seconds = time.monotonic() - started
    print(verdict.line(), flush=True)
    return 0 if verdict.passed else 1
