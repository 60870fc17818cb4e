"""The persona walk on the anthropic path: the real SDK against the fake server, playing a careless model.

The fake Claude reads each message with the offline engine (as a well-meaning model would) and then
makes the careless moves a real model makes: it empties every list the step has whenever the user
says a bare "none"/"no" (whatever the question was), and it records answers for questions. What is
checked is what the service owns: the shape of every request (a cached static prefix, one tool with
its schema, a history that starts with the user), and that the guards keep every item the persona
named, whatever the model sent.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

import pytest
from rest_framework.test import APIClient

from devtools.converse.corpus import Persona, corpus_load
from devtools.converse.report import walk_judge
from devtools.converse.walk import persona_walk
from devtools.fake_anthropic import FakeAnthropicServer, Reply, ToolCall
from offline_engine.conversation import understand
from onboarding.steps import STEPS, TextList

# Personas that name an item and then answer "none" to another question, and a few plain ones.
WALKED = ("none_after_bad_knee", "none_after_peanut_allergy", "none_after_shoulder", "none_after_lactose")
PERSONAS = {persona.name: persona for persona in corpus_load() if persona.name in WALKED}
_BARE_NO = re.compile(r"^\s*(none|no|nope|nothing|nah)\W*$", re.IGNORECASE)
_STEP_BY_TOOL = {f"record_{step.name}": step for step in STEPS}


def careless_claude(body: dict[str, Any]) -> Reply:
    """What a careless model answers: the engine's reading, plus an empty list for every list on a bare 'no'."""
    (tool,) = body["tools"]
    step = _STEP_BY_TOOL[tool["name"]]
    message = body["messages"][-1]["content"]
    asked = next((m["content"] for m in reversed(body["messages"][:-1]) if m["role"] == "assistant"), "")
    values = dict(understand(step.number, message, asked=asked).values)
    if _BARE_NO.match(message):
        values |= {spec.name: [] for spec in step.fields if isinstance(spec, TextList)}
    if "?" in message and not values:
        values = {spec.name: "yes" for spec in step.fields[:1]}  # a question stored as an answer
    return Reply(text="Noted, thanks!", tool_calls=[ToolCall(tool["name"], values)] if values else [])


def assert_request_shape(body: dict[str, Any]) -> None:
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    (tool,) = body["tools"]
    assert tool["cache_control"] == {"type": "ephemeral"}
    assert tool["input_schema"]["additionalProperties"] is False
    assert body["messages"][0]["role"] == "user"
    roles = [message["role"] for message in body["messages"]]
    assert all(first != second for first, second in pairwise(roles)), roles


@pytest.mark.parametrize("persona", [PERSONAS[name] for name in WALKED], ids=WALKED)
def test_a_careless_claude_loses_none_of_what_the_persona_said(
    persona: Persona, claude: FakeAnthropicServer, db: None
) -> None:
    # Given Claude answering carelessly, through the real SDK and the fake server
    claude.set_default_responder(careless_claude)

    # When the persona chats through onboarding
    verdict = walk_judge(persona_walk(persona, client=APIClient()))

    # Then every request had the service's shape, and no item the persona named was lost
    requests = claude.message_requests()
    assert requests
    for body in requests:
        assert_request_shape(body)
    assert verdict.lost == (), [str(item) for item in verdict.lost]
    assert verdict.walk.completed, verdict.walk.stuck_at
