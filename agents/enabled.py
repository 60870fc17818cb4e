"""The agent feature's switch (``AGENTS_ENABLED``): off, the chat endpoints answer 503 ``agents_disabled``.

Off, nothing may read or write the onboarding state's agent columns (``onboarding.models.AGENT_FIELDS``):
their migration can then be rolled back under the running release (docs/deployment.md, "Roll back").
"""

from __future__ import annotations

from django.conf import settings

from agents import wording
from core.errors import FeatureDisabledError


def agents_ensure_enabled() -> None:
    """Raise 503 ``agents_disabled`` while ``AGENTS_ENABLED`` is off."""
    if not settings.AGENTS_ENABLED:
        raise FeatureDisabledError(wording.error_agents_disabled(), code="agents_disabled")
