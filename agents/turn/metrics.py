"""The chat's metrics: each request's latency and outcome per agent and step, errors by type, completed steps.

Every chat request (``chat`` and ``chat/stream``) is counted exactly once in
``onboarding_agent_requests_total`` and, unless it succeeded, in
``onboarding_agent_errors_total``, whatever phase ended it: authentication,
throttling, validation, the turn lock or the state read, the LLM call or the commit.
A ``ChatMeter`` follows one request; the view makes it, the turn names the agent and
step once it knows them, and the first outcome reported is the one counted.
"""

from __future__ import annotations

import logging
import time

from core.metrics import AGENT_ERRORS, AGENT_REQUESTS, AGENT_RESPONSE_TIME, STEP_COMPLETIONS, labelled

logger = logging.getLogger(__name__)

# The labels of a request that failed before its step was known (a 401, a 422, the database down at the lock).
UNROUTED = "none"
# Outcomes that are not errors: a reply, a stored reply replayed, a stream the client left.
OK = "ok"
REPLAYED = "replayed"
CLIENT_CLOSED = "client_closed"


class ChatMeter:
    """One chat request's measurement: counted once, with the outcome reported first."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.agent_type = UNROUTED
        self.step = UNROUTED
        self.counted = False

    def route(self, *, agent_type: str, step: int) -> None:
        """Name the agent and step the request reached (before that its labels are ``none``)."""
        self.agent_type, self.step = agent_type, str(step)

    def count(self, status: str, error_type: str | None = None) -> None:
        """Count the request with ``status`` (``ok``, ``replayed``, ``client_closed`` or an error code).

        ``error_type`` also counts it as an error; a second call does nothing.
        """
        if self.counted:
            return
        self.counted = True
        labels = (self.agent_type, self.step, status)
        labelled(AGENT_RESPONSE_TIME, *labels).observe(time.perf_counter() - self.started)
        labelled(AGENT_REQUESTS, *labels).inc()
        if error_type is not None:
            labelled(AGENT_ERRORS, self.agent_type, error_type).inc()


def step_completed_count(*, user_id: int, step: int) -> None:
    """Count a step completed in the chat (after the commit: a rolled-back turn completed nothing)."""
    STEP_COMPLETIONS.labels(str(step), "chat").inc()
    logger.info("User %s completed step %s in chat", user_id, step)
