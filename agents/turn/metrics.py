"""The chat turn's metrics: its latency and outcome per agent and step, errors by type, and completed steps."""

from __future__ import annotations

import logging
import time

from core.metrics import AGENT_ERRORS, AGENT_REQUESTS, AGENT_RESPONSE_TIME, STEP_COMPLETIONS

logger = logging.getLogger(__name__)


def turn_count(*, agent_type: str, step: int, started: float, status: str, error_type: str | None = None) -> None:
    """Count a finished turn (``status`` ``ok`` or why it failed) and the time since ``started`` (perf_counter)."""
    labels = (agent_type, str(step), status)
    AGENT_RESPONSE_TIME.labels(*labels).observe(time.perf_counter() - started)
    AGENT_REQUESTS.labels(*labels).inc()
    if error_type is not None:
        AGENT_ERRORS.labels(agent_type, error_type).inc()


def step_completed_count(*, user_id: int, step: int) -> None:
    """Count a step completed in the chat (after the commit: a rolled-back turn completed nothing)."""
    STEP_COMPLETIONS.labels(str(step), "chat").inc()
    logger.info("User %s completed step %s in chat", user_id, step)
