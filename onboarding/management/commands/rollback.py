"""``python manage.py rollback <app> [--steps N] [--force]``: the equivalent of ``alembic downgrade -1``.

Rolling back the agent columns (``onboarding.0002``) under a running release is safe only with
``AGENTS_ENABLED`` off, when nothing reads or writes them: the command refuses otherwise, unless ``--force``.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader

from onboarding.models import AGENT_FIELDS, AGENT_FIELDS_MIGRATION, agent_fields_in_use


class Command(BaseCommand):
    """Migrate one app back N migrations (default 1), saying what it undid."""

    help = "Roll an app back by N applied migrations (like `alembic downgrade -N`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("app_label", help="The app to roll back, e.g. onboarding.")
        parser.add_argument("--steps", type=int, default=1, help="How many migrations to undo (default 1).")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default).")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Drop the agent columns even though AGENTS_ENABLED is on (the running API then fails on them).",
        )

    def handle(self, *args: Any, app_label: str, steps: int, database: str, force: bool, **options: Any) -> None:
        if steps < 1:
            raise CommandError("--steps must be at least 1.")
        loader = MigrationLoader(connections[database])
        if app_label not in loader.migrated_apps:
            raise CommandError(f"App '{app_label}' has no migrations.")
        applied = self._applied_in_order(loader, app_label)
        if not applied:
            raise CommandError(f"App '{app_label}' has no applied migrations; nothing to roll back.")
        if steps >= len(applied):
            raise CommandError(
                f"Refusing to roll back {steps} migration(s): '{app_label}' has {len(applied)} applied and "
                f"rolling back its first migration ({applied[0]}) would drop its tables. "
                f"Use `manage.py migrate {app_label} zero` if you really mean that."
            )
        target = applied[-steps - 1]
        undone = applied[-steps:]
        if app_label == AGENT_FIELDS_MIGRATION[0] and AGENT_FIELDS_MIGRATION[1] in undone:
            self._check_agents_off(force)
        self.stdout.write(f"Rolling back {app_label}: {', '.join(reversed(undone))} -> {target}")
        call_command("migrate", app_label, target, database=database, verbosity=options.get("verbosity", 1))
        self.stdout.write(self.style.SUCCESS(f"{app_label} is now at {target}"))

    def _check_agents_off(self, force: bool) -> None:
        if not agent_fields_in_use():
            return
        why = (
            f"AGENTS_ENABLED is on: the running API reads and writes {', '.join(AGENT_FIELDS)}, which "
            f"{AGENT_FIELDS_MIGRATION[1]} drops, so it would fail on every onboarding request."
        )
        if not force:
            raise CommandError(
                f"Refusing to roll back: {why} Deploy with AGENTS_ENABLED=false first and run this with it "
                "(docs/deployment.md, 'Roll back'), or pass --force if nothing serves this database."
            )
        self.stderr.write(self.style.WARNING(f"--force: rolling back although {why}"))

    @staticmethod
    def _applied_in_order(loader: MigrationLoader, app_label: str) -> list[str]:
        """The app's applied migrations along its own dependency chain, oldest first."""
        leaves = loader.graph.leaf_nodes(app_label)
        if not leaves:
            return []
        plan = [key for key in loader.graph.forwards_plan(leaves[0]) if key[0] == app_label]
        return [name for label, name in plan if (label, name) in loader.applied_migrations]
