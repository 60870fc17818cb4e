"""Bookkeeping for chat turns: the per-user turn lock and idempotency records.

Both hang off the onboarding state, so erasing a user's onboarding erases them too.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from onboarding.models import OnboardingState, StateRowsManager, objects_as_base_manager


class ChatTurnLock(models.Model):
    """Marks a chat turn in flight for a user; a second concurrent turn gets 409.

    A row, not a transaction: no lock or connection is held while the LLM answers.
    ``expires_at`` frees the lock if a worker dies mid-turn.
    """

    state = models.OneToOneField(OnboardingState, on_delete=models.CASCADE, primary_key=True, related_name="turn_lock")
    token = models.UUIDField()
    expires_at = models.DateTimeField()

    objects = StateRowsManager()

    class Meta:
        db_table = "onboarding_chat_turn_locks"

    def __str__(self) -> str:
        return f"Chat turn lock of state {self.state_id} until {self.expires_at:%H:%M:%S}"


class ChatIdempotencyRecord(models.Model):
    """The first response to a chat request sent with an ``Idempotency-Key``, kept for 24 h."""

    state = models.ForeignKey(OnboardingState, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = StateRowsManager()

    class Meta:
        db_table = "onboarding_chat_idempotency"
        constraints: ClassVar = [
            models.UniqueConstraint(fields=("state", "key"), name="chat_idempotency_unique_key_per_user"),
        ]

    def __str__(self) -> str:
        return f"Idempotency key {self.key} of state {self.state_id}"


# Their deletion with a user's (the admin's delete pages) joins the state: never its agent columns while the
# feature is off, as they may be rolled back.
objects_as_base_manager(ChatTurnLock)
objects_as_base_manager(ChatIdempotencyRecord)
