"""Where a user stands in onboarding, as ``GET onboarding/current-agent`` says it (its ``state``).

A module of its own, importing nothing: the OpenAPI settings name its enum
(``ENUM_NAME_OVERRIDES``), also when the agents app is left out.
"""

from __future__ import annotations

import enum


class OnboardingStage(enum.StrEnum):
    """``state`` of ``GET onboarding/current-agent``."""

    # A step is waiting for an answer.
    IN_PROGRESS = "in_progress"
    # Every step is answered; the summary waits for the user's yes (or the form flow's complete).
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    # Onboarding is complete: no agent is at work any more.
    COMPLETED = "completed"


ONBOARDING_STAGES = tuple(stage.value for stage in OnboardingStage)
