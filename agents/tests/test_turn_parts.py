"""The turn's parts on their own: memory and the draft, the history window, the step machine's wording."""

from __future__ import annotations

from typing import Any

import pytest

from agents.registry import agent_for_step
from agents.turn.memory import (
    AGENT_CONTEXT_MAX_BYTES,
    draft_get,
    history_added,
    history_window,
    memory_update,
)
from agents.turn.reply import ChatReply, NextAction
from core.errors import UnprocessableError
from onboarding.models import OnboardingState

FITNESS = agent_for_step(1)


def test_the_draft_is_the_saved_answer_overlaid_by_the_agents_memory() -> None:
    state = OnboardingState(
        step_data={"1": {"fitness_level": "beginner"}},
        agent_context={"fitness_assessment": {"fitness_level": "advanced", "equipment": ["mat"]}},
    )

    draft = draft_get(state=state, agent=FITNESS, step=1)

    # step 1's own field comes from memory; step 2's field in the same memory is not step 1's draft
    assert draft == {"fitness_level": "advanced"}


def test_memory_keeps_other_steps_fields_and_replaces_this_steps() -> None:
    state = OnboardingState(agent_context={"fitness_assessment": {"fitness_level": "beginner", "equipment": ["mat"]}})

    memory_update(state=state, agent=FITNESS, step=1, values={"fitness_level": "expert", "not_a_field": 1})

    assert state.agent_context == {"fitness_assessment": {"equipment": ["mat"], "fitness_level": "expert"}}


def test_memory_beyond_its_size_cap_is_refused_and_unchanged() -> None:
    state = OnboardingState(agent_context={"other": {"blob": "x" * AGENT_CONTEXT_MAX_BYTES}})

    with pytest.raises(UnprocessableError) as raised:
        memory_update(state=state, agent=FITNESS, step=1, values={"fitness_level": "expert"})

    assert raised.value.code == "context_too_large"
    assert "fitness_assessment" not in state.agent_context


def test_the_llm_sees_a_window_that_starts_with_the_user(settings: Any) -> None:
    settings.LLM_HISTORY_MESSAGES = 3
    history = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "two"},
        {"role": "user", "content": "three"},
        {"role": "assistant", "content": ""},  # an empty entry is never sent
        {"role": "assistant", "content": "four"},
    ]

    window = history_window(history=history, message="five")

    assert window == [
        {"role": "user", "content": "three"},
        {"role": "assistant", "content": "four"},
        {"role": "user", "content": "five"},
    ]


def test_the_turn_s_entries_are_stamped_and_the_kept_conversation_capped(settings: Any) -> None:
    settings.CONVERSATION_HISTORY_MAX_ENTRIES = 3

    added = history_added(
        step=1,
        agent_type="FITNESS_ASSESSMENT",
        entries=[{"role": "user", "content": "new"}, {"role": "assistant", "content": "reply", "model": "m"}],
    )

    assert added.keep == 3
    assert [entry["content"] for entry in added.entries] == ["new", "reply"]
    assert added.entries[-1]["model"] == "m"
    assert {(entry["step"], entry["agent_type"]) for entry in added.entries} == {(1, "FITNESS_ASSESSMENT")}
    assert added.entries[0]["timestamp"] == added.entries[1]["timestamp"]


def test_a_stored_body_reads_back_as_the_same_reply() -> None:
    reply = ChatReply(
        message="Done.",
        agent_type="SCHEDULING",
        current_step=9,
        step_complete=True,
        next_action=NextAction.COMPLETE_ONBOARDING,
        next_step=None,
        next_agent_type=None,
        is_complete=True,
        saved={"daily_water_ml": 2500},
        errors={},
    )

    assert ChatReply.from_body(reply.as_body()) == reply
    assert reply.as_body()["next_action"] == "complete_onboarding"
