"""The agents' memory inside the onboarding state (``agent_context``): how it is keyed, and what a form answer clears.

The column belongs to the onboarding state, so its layout is defined here, where both
the form flow and the chat turn (``agents``) can use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def agent_memory_key(agent_type: str) -> str:
    """The key of an agent's memory in ``agent_context``: its type in lower case (``"goal_setting"``)."""
    return agent_type.lower()


def agent_memory_without(context: dict[str, Any], *, agent_type: str, names: Iterable[str]) -> dict[str, Any]:
    """``context`` with the fields ``names`` dropped from ``agent_type``'s memory (unchanged if it has none)."""
    key = agent_memory_key(agent_type)
    if key not in context:
        return context
    dropped = set(names)
    return {**context, key: {name: value for name, value in context[key].items() if name not in dropped}}
