"""The chat turn, one module per part; ``process`` is the orchestrator that reads on one screen.

Public: ``chat_turn_process``, ``chat_turn_stream``, ``ChatReply`` and ``NextAction``.
"""

from agents.turn.process import chat_turn_process, chat_turn_stream
from agents.turn.reply import ChatReply, NextAction

__all__ = ["ChatReply", "NextAction", "chat_turn_process", "chat_turn_stream"]
