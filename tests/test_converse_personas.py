"""Every persona of the corpus (devtools/converse/personas) chats through onboarding over HTTP.

A persona passes when onboarding completes, every stored field is what the persona meant, no item they
named is lost, and no fallback was needed (the coach understood them as they wrote, without asking
again). A persona the current engine does not yet understand carries ``known_gap`` in its YAML: it is
an expected failure, strictly, so the day the engine learns it the test fails until the gap is removed.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from devtools.converse.corpus import Persona, corpus_load
from devtools.converse.report import verdict_problems, walk_judge
from devtools.converse.walk import persona_walk

PERSONAS = corpus_load()


def _param(persona: Persona) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=persona.known_gap)] if persona.known_gap else []
    return pytest.param(persona, id=persona.name, marks=marks)


def test_the_corpus_has_at_least_sixty_personas_with_unique_names() -> None:
    assert len(PERSONAS) >= 60
    assert len({persona.name for persona in PERSONAS}) == len(PERSONAS)


@pytest.mark.parametrize("persona", [_param(persona) for persona in PERSONAS])
def test_a_persona_is_understood_and_nothing_they_said_is_lost(persona: Persona, db: None) -> None:
    # Given a new user who writes the way this persona does
    client = APIClient()

    # When they register, start onboarding and chat through every step over HTTP
    walk = persona_walk(persona, client=client)
    verdict = walk_judge(walk)

    # Then onboarding completes with every field as they meant it, nothing lost, nothing asked twice
    assert verdict.understood, "\n".join(verdict_problems(verdict))
    # And the coach spoke plainly: no field name, no step number, no "didn't catch" at the review's yes
    for turn in walk.turns:
        assert not INTERNAL.search(turn.reply), (turn.message, turn.reply)
    assert "didn't catch" not in walk.turns[-1].reply


# A field name (snake_case, e.g. meals_per_day) or a step number ("step 7") in what the coach says.
INTERNAL = re.compile(r"\b[a-z]+_[a-z_]+\b|\bstep \d\b", re.IGNORECASE)
