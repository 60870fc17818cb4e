"""``python manage.py purge_conversations [--older-than DAYS]``: enforce the conversation retention period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from agents.models import ChatIdempotencyRecord
from onboarding.models import OnboardingState


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
        now = timezone.now()
        states = OnboardingState.objects.with_history_older_than(now - timedelta(days=days))
        records = ChatIdempotencyRecord.objects.filter(
            created_at__lt=now - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
        )
        with transaction.atomic():
            conversations = states.count()
            messages = sum(len(history) for history in states.values_list("conversation_history", flat=True))
            expired = records.count()
            if not dry_run:
                # updated_at moves too: a chat turn in flight saves only onto a row unchanged since
                # it read it, so it must see this write (and redo its save on the cleared history).
                states.update(conversation_history=[], updated_at=now)
                records.delete()
        verb = "Would clear" if dry_run else "Cleared"
        self.stdout.write(
            f"{verb} {messages} messages in {conversations} conversations older than {days} days "
            f"and {expired} expired idempotency records."
        )
