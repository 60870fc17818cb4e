"""Walk one persona through the chat over HTTP, as the app would: register, log in, start, chat.

The client is DRF's ``APIClient`` against the real URLs in this process, so whatever engine the
settings choose (the offline engine by default) answers. The walk follows the server, not the script:
after each reply it sends the persona's next message for the step the onboarding is at, so a step
that is asked again costs a turn, a step already answered by an earlier message costs none, and a
persona whose script runs out at a step is stuck there.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rest_framework.test import APIClient

from devtools.converse.corpus import STEPS, Persona

API = "/api/v1"
REVIEW = "review"
# How many confirmations to send when the coach keeps asking for one after every step is done.
REVIEW_TURNS = 2


@dataclass
class Turn:
    """One message and the coach's reply."""

    step: int | str
    message: str
    reply: str
    next_action: str
    # True when the persona had said everything it meant to at this step and had to say it again.
    fallback: bool = False
    saved: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, Any] = field(default_factory=dict)


@dataclass
class WalkResult:
    """What happened when one persona chatted: the turns, where it ended and what was stored."""

    persona: Persona
    turns: list[Turn]
    completed: bool
    stuck_at: int | str | None
    step_data: dict[int, dict[str, Any]]
    completed_steps: list[int]

    def turns_by_step(self) -> Counter[int | str]:
        """How many messages the persona sent at each step (and at the review, if any)."""
        return Counter(turn.step for turn in self.turns)

    def fallbacks(self) -> int:
        """How many messages were fallbacks: the coach asked again for something already said."""
        return sum(1 for turn in self.turns if turn.fallback)


class WalkError(RuntimeError):
    """The API answered something a walk cannot go on from (not a wrong answer: a broken call)."""


def _json(response: Any, expected: tuple[int, ...], what: str) -> dict[str, Any]:
    if response.status_code not in expected:
        raise WalkError(f"{what}: HTTP {response.status_code} {getattr(response, 'data', '')}")
    return dict(response.json())


def client_login(client: APIClient, *, email: str | None = None) -> APIClient:
    """Register a new user and send their access token from now on."""
    email = email or f"persona-{secrets.token_hex(6)}@example.com"
    credentials = {"email": email, "password": secrets.token_urlsafe(16)}
    _json(client.post(f"{API}/auth/register", credentials, format="json"), (201,), "register")
    tokens = _json(client.post(f"{API}/auth/token", credentials, format="json"), (200,), "token")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client


def _progress(client: APIClient) -> dict[str, Any]:
    return _json(client.get(f"{API}/onboarding/progress"), (200,), "progress")


def persona_walk(persona: Persona, *, client: APIClient | None = None) -> WalkResult:
    """Chat through onboarding as ``persona`` would, then read back what was stored."""
    client = client_login(client or APIClient())
    started = _json(client.post(f"{API}/onboarding/start"), (200, 201), "start")
    step: int | None = int(started["current_step"])
    complete = bool(started["is_complete"])
    sent: Counter[int | str] = Counter()
    turns: list[Turn] = []
    stuck_at: int | str | None = None
    while not complete and step is not None:
        in_review = step == max(STEPS) and len(_progress(client)["completed_steps"]) == len(STEPS)
        at: int | str = REVIEW if in_review else step
        script = (persona.review,) * REVIEW_TURNS if in_review else persona.script(step)
        if sent[at] >= len(script):
            stuck_at = at
            break
        message = script[sent[at]]
        sent[at] += 1
        reply = _json(client.post(f"{API}/onboarding/chat", {"message": message}, format="json"), (200,), "chat")
        handled_at: int | str = REVIEW if in_review else int(reply["current_step"])
        turns.append(
            Turn(
                step=handled_at,
                message=message,
                reply=str(reply["message"]),
                next_action=str(reply["next_action"]),
                fallback=not in_review and sent[at] > len(persona.say.get(step, ())),
                saved=dict(reply.get("saved") or {}),
                errors=dict(reply.get("errors") or {}),
            )
        )
        complete = bool(reply["is_complete"])
        step = reply.get("next_step") or step
    state = _json(client.get(f"{API}/onboarding/state"), (200,), "state")
    completed = bool(state["is_complete"])
    return WalkResult(
        persona=persona,
        turns=turns,
        completed=completed,
        stuck_at=stuck_at,
        step_data={int(key): value for key, value in state["step_data"].items()},
        completed_steps=list(STEPS) if completed else list(_progress(client)["completed_steps"]),
    )
