"""The offline LLM engine: a deterministic stand-in for Claude, with no network and no key.

A provider like any other behind ``agents.llm.types.LLMProvider``; the provider factory in
``agents.llm`` loads it by its dotted path, so the agents never import it directly.
``parsing`` reads quantities, times and lists, ``extraction`` maps a message to a step's fields.
"""

from offline_engine.engine import OfflineProvider

__all__ = ["OfflineProvider"]
