"""The chat turn's public services, kept at their historical import path (the turn lives in ``agents.turn``)."""

from agents.turn import ChatReply, NextAction, chat_turn_process, chat_turn_stream

__all__ = ["ChatReply", "NextAction", "chat_turn_process", "chat_turn_stream"]
