"""``python manage.py rollback <app> [--steps N]``: the equivalent of ``alembic downgrade -1``."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader


class Command(BaseCommand):
    """Migrate one app back N migrations (default 1), saying what it undid."""

    help = "Roll an app back by N applied migrations (like `alembic downgrade -N`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("app_label", help="The app to roll back, e.g. onboarding.")
        parser.add_argument("--steps", type=int, default=1, help="How many migrations to undo (default 1).")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default).")

    def handle(self, *args: Any, app_label: str, steps: int, database: str, **options: Any) -> None:
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
        self.stdout.write(f"Rolling back {app_label}: {', '.join(reversed(undone))} -> {target}")
        call_command("migrate", app_label, target, database=database, verbosity=options.get("verbosity", 1))
        self.stdout.write(self.style.SUCCESS(f"{app_label} is now at {target}"))

    @staticmethod
    def _applied_in_order(loader: MigrationLoader, app_label: str) -> list[str]:
        """The app's applied migrations along its own dependency chain, oldest first."""
        leaves = loader.graph.leaf_nodes(app_label)
        if not leaves:
            return []
        plan = [key for key in loader.graph.forwards_plan(leaves[0]) if key[0] == app_label]
        return [name for label, name in plan if (label, name) in loader.applied_migrations]
