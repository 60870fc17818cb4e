"""The LLM layer: the only place that talks to a provider."""

from __future__ import annotations


def provider_check_configuration() -> None:
    """Placeholder until the provider module lands."""
