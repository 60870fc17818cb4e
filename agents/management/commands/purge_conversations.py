"""``python manage.py purge_conversations [--older-than DAYS]``: enforce the conversation retention period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from agents.retention import conversations_purge


class Command(BaseCommand):
    """Clear conversation history untouched for DAYS days, and expired idempotency records."""

    help = "Clear stored conversation history older than the retention period (default CONVERSATION_RETENTION_DAYS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            metavar="DAYS",
            help=f"Retention in days (default: CONVERSATION_RETENTION_DAYS={settings.CONVERSATION_RETENTION_DAYS}).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would be cleared, change nothing.")

    def handle(self, *args: Any, older_than: int | None, dry_run: bool, **options: Any) -> None:
        days = settings.CONVERSATION_RETENTION_DAYS if older_than is None else older_than
        if days < 0:
            raise CommandError("--older-than must be zero or more days.")
        counts = conversations_purge(older_than=timedelta(days=days), dry_run=dry_run)
        verb = "Would clear" if dry_run else "Cleared"
        self.stdout.write(
            f"{verb} {counts.messages} messages in {counts.conversations} conversations older than {days} days "
            f"and {counts.idempotency_records} expired idempotency records."
        )
