"""The conversation retention period: old chat histories and expired idempotency records are cleared."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents.models import ChatIdempotencyRecord
from onboarding.models import OnboardingState, agent_fields_in_use
from onboarding.state_writer import onboarding_histories_clear


@dataclass(frozen=True)
class PurgeCounts:
    """What a purge cleared (or, dry, would clear)."""

    conversations: int
    messages: int
    idempotency_records: int


@transaction.atomic
def conversations_purge(*, older_than: timedelta, dry_run: bool = False) -> PurgeCounts:
    """Clear conversation histories untouched for ``older_than`` and idempotency records past their TTL.

    With ``AGENTS_ENABLED`` off only the idempotency records: the histories are left alone.

    The histories are cleared through the state writer, which moves ``updated_at``: a chat
    turn in flight then sees the write and redoes its save on the cleared history.
    """
    now = timezone.now()
    cutoff = now - older_than
    records = ChatIdempotencyRecord.objects.filter(created_at__lt=now - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS))
    if agent_fields_in_use():
        states = OnboardingState.objects.with_history_older_than(cutoff)
        conversations = states.count()
        messages = sum(len(history) for history in states.values_list("conversation_history", flat=True))
    else:  # AGENTS_ENABLED off: the history column is never read (it may be rolled back)
        conversations = messages = 0
    counts = PurgeCounts(conversations=conversations, messages=messages, idempotency_records=records.count())
    if not dry_run:
        onboarding_histories_clear(last_written_before=cutoff)
        records.delete()
    return counts
