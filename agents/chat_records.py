"""What the chat keeps about a user's onboarding outside its row, kept in step with reset, export and erase.

``ChatRecords`` is this app's ``onboarding.extensions.OnboardingDependent``,
registered by ``AgentsConfig.ready()``.
"""

from __future__ import annotations

from typing import Any

from agents.llm.observed import response_cache_forget_user
from agents.models import ChatIdempotencyRecord, ChatTurnLock
from onboarding.models import OnboardingState


class ChatRecords:
    """The turn lock, idempotency records and cached LLM replies of a user's onboarding."""

    def onboarding_reset(self, *, state: OnboardingState) -> None:
        """A turn in flight must not write its answer into the fresh start, nor an old key replay an old reply.

        The cached replies go too: they hold the old answers' text.
        """
        ChatTurnLock.objects.filter(state=state).delete()
        ChatIdempotencyRecord.objects.filter(state=state).delete()
        response_cache_forget_user(state.user_id)

    def onboarding_export(self, *, state: OnboardingState) -> dict[str, Any]:
        """The stored replies to requests sent with an ``Idempotency-Key``."""
        records = ChatIdempotencyRecord.objects.filter(state=state).order_by("created_at")
        return {
            "idempotency_records": [
                {"key": record.key, "created_at": record.created_at.isoformat(), "response": record.response}
                for record in records
            ]
        }

    def onboarding_erased(self, *, user_id: int) -> None:
        """The lock and records went with the state row; the cached replies to this user's prompts go now."""
        response_cache_forget_user(user_id)
