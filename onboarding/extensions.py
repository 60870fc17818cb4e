"""The extension point through which apps built on onboarding keep their own records in step with it.

``onboarding`` knows nothing of the apps above it (``agents`` keeps chat turn locks,
idempotency records and cached LLM replies about a user's onboarding). Such an app
registers an ``OnboardingDependent`` from its ``AppConfig.ready()``; the reset,
erase and export services call every registered one. Plain calls in a known order, no signals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from onboarding.models import OnboardingState


class OnboardingDependent(Protocol):
    """Records another app keeps about a user's onboarding, which must follow its reset and erase."""

    def onboarding_reset(self, *, state: OnboardingState) -> None:
        """Called inside the reset's transaction, with the state row locked, before it is cleared."""

    def onboarding_export(self, *, state: OnboardingState) -> dict[str, Any]:
        """Sections this app adds to the user's export (``GET onboarding/export``), by top-level key."""

    def onboarding_erased(self, *, user_id: int) -> None:
        """Called inside the erase's transaction, after the state row (and what cascades from it) is deleted."""


_DEPENDENTS: dict[str, OnboardingDependent] = {}


def onboarding_dependent_register(*, name: str, dependent: OnboardingDependent) -> None:
    """Register (or replace) the dependent called ``name``; call it from ``AppConfig.ready()``."""
    _DEPENDENTS[name] = dependent


def onboarding_dependent_unregister(*, name: str) -> None:
    """Forget the dependent called ``name`` (an app unloaded, or a test's own dependent)."""
    _DEPENDENTS.pop(name, None)


def onboarding_dependents() -> tuple[OnboardingDependent, ...]:
    """The registered dependents, in registration order."""
    return tuple(_DEPENDENTS.values())
