"""Collection rules for every test in the project, whichever directory a run names.

Here, not in ``tests/conftest.py``: pytest loads a conftest's hooks only for runs that collect its directory,
and ``pytest onboarding/tests`` on SQLite would then run the ``postgres`` tests of the apps' own test
folders, and fail them, instead of skipping them.
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, saying why: ``postgres`` tests on SQLite, and ``serial`` tests under pytest-xdist.

    A ``serial`` test stops PostgreSQL, which would break what the other workers run meanwhile;
    ``make test`` runs those tests in a pass of their own after the parallel one.
    """
    from django.conf import settings

    if os.environ.get("SHUREN_TEST_DATABASE_ONLY") == "1":
        _keep_only_database_tests(config, items)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        alone = pytest.mark.skip(reason="must run alone: make test runs it in its serial pass (pytest -m serial)")
        for item in items:
            if "serial" in item.keywords:
                item.add_marker(alone)
    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (row locks, concurrency); set DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


# The fixtures through which a test reaches the test database (pytest-django's, and the live server's).
_DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback", "live_server"}
)


def uses_database(item: pytest.Item) -> bool:
    """Whether ``item`` reaches the database: marked ``django_db`` or ``postgres`` (which may make databases of
    its own), or a database fixture in its closure."""
    if "django_db" in item.keywords or "postgres" in item.keywords:
        return True
    return not _DATABASE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))


def _keep_only_database_tests(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``SHUREN_TEST_DATABASE_ONLY=1``: deselect the tests that never reach the database.

    CI runs the whole suite on SQLite, then again on PostgreSQL with this set: a test that never touches
    the database (parsers, property tests, manifests, the settings checks' subprocesses) proves nothing new
    on a second database, and leaving it out keeps CI fast.
    """
    kept = [item for item in items if uses_database(item)]
    config.hook.pytest_deselected(items=[item for item in items if not uses_database(item)])
    items[:] = kept
