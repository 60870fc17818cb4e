"""The chat turn called directly, with a scripted provider: what it saves, replies and refuses."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from agents.llm import LLMUnavailableError
from agents.models import ChatIdempotencyRecord, ChatTurnLock
from agents.registry import agent_for_step
from agents.tests.conftest import ScriptedProvider
from agents.turn import ChatReply, NextAction, chat_turn_process, chat_turn_stream
from core.errors import ConflictError, ServiceUnavailableError
from onboarding.models import OnboardingState
from onboarding.services import onboarding_step_submit

pytestmark = pytest.mark.django_db

STEP_1 = agent_for_step(1).tool_name(1)


def test_a_whole_answer_completes_the_step_and_opens_the_next(
    user: User, state: OnboardingState, provider: ScriptedProvider, answers: dict[int, Any]
) -> None:
    # Given the LLM records a whole, valid answer to step 1
    provider.says(tool=STEP_1, values=answers[1])

    # When the user answers
    reply = chat_turn_process(user=user, message="intermediate, 25 push-ups, 3 workouts a week", provider=provider)

    # Then the step is saved, the next one opened, and the reply says what to do next
    state.refresh_from_db()
    assert state.step_data["1"] == answers[1]
    assert (reply.step_complete, reply.next_action, reply.next_step) == (True, NextAction.ADVANCE_STEP, 2)
    assert reply.saved == answers[1]
    assert reply.message.startswith("Got it, I've noted your fitness level (intermediate)")
    assert [entry["role"] for entry in state.conversation_history] == ["user", "assistant"]
    assert state.conversation_history[1]["content"] == reply.message
    assert not ChatTurnLock.objects.exists()


def test_a_refused_value_is_explained_and_nothing_of_it_saved(
    user: User, state: OnboardingState, provider: ScriptedProvider
) -> None:
    # Given the LLM sends a fitness level that is not one of the choices
    provider.says(tool=STEP_1, values={"fitness_level": "olympian"})

    # When the turn runs
    reply = chat_turn_process(user=user, message="I'm an olympian", provider=provider)

    # Then the reply explains the refusal, the client stays on the step, and the step holds nothing
    assert reply.next_action is NextAction.CONTINUE
    assert "I couldn't save that: " in reply.message
    assert list(reply.errors) == ["fitness_level"]
    state.refresh_from_db()
    assert state.step_data == {}
    assert state.current_step == 1


def test_the_reply_body_is_the_documented_json(user: User, state: OnboardingState, provider: ScriptedProvider) -> None:
    provider.says("Welcome! How fit are you today?")

    body = chat_turn_process(user=user, message="hello", provider=provider).as_body()

    assert body == {
        "message": "Welcome! How fit are you today?",
        "agent_type": "FITNESS_ASSESSMENT",
        "current_step": 1,
        "step_complete": False,
        "next_action": "continue",
        "next_step": 1,
        "next_agent_type": "FITNESS_ASSESSMENT",
        "is_complete": False,
        "awaiting_confirmation": False,
        "saved": {},
        "errors": {},
    }
    assert type(body["next_action"]) is str


def test_an_llm_outage_saves_nothing_and_frees_the_lock(
    user: User, state: OnboardingState, provider: ScriptedProvider
) -> None:
    provider.fails(LLMUnavailableError("down", reason="timeout", retry_after=9))

    with pytest.raises(ServiceUnavailableError) as raised:
        chat_turn_process(user=user, message="hello", provider=provider)

    assert (raised.value.code, raised.value.retry_after) == ("llm_unavailable", 9)
    state.refresh_from_db()
    assert state.conversation_history == []
    assert not ChatTurnLock.objects.exists()


def test_a_resent_key_replays_the_first_reply_without_calling_the_llm(
    user: User, state: OnboardingState, provider: ScriptedProvider
) -> None:
    provider.says("First answer.")

    first = chat_turn_process(user=user, message="hello", idempotency_key="k-1", provider=provider)
    again = chat_turn_process(user=user, message="hello", idempotency_key="k-1", provider=provider)

    assert again == first
    assert isinstance(again, ChatReply)
    assert len(provider.requests) == 1
    assert ChatIdempotencyRecord.objects.get().response == first.as_body()


def test_a_form_answer_saved_during_the_llm_call_is_kept_and_the_turn_saved_on_it(
    user: User, state: OnboardingState, provider: ScriptedProvider, answers: dict[int, Any]
) -> None:
    # Given the user submits step 1 by form while the LLM answers a chat message
    def form_answer() -> None:
        onboarding_step_submit(user=user, step=1, data=answers[1])

    provider.during_call = form_answer
    provider.says("Noted.")

    # When the turn commits
    reply = chat_turn_process(user=user, message="hello", provider=provider)

    # Then neither write is lost: the save onto the stale read missed and was redone on the fresh row
    state.refresh_from_db()
    assert state.step_data == {"1": answers[1]}
    assert state.current_step == 2
    assert [entry["content"] for entry in state.conversation_history] == ["hello", reply.message]


def test_a_second_message_while_one_is_answered_is_409(
    user: User, state: OnboardingState, provider: ScriptedProvider
) -> None:
    # Given a turn in flight: the second message arrives during its LLM call
    refused: list[ConflictError] = []

    def second_message() -> None:
        try:
            chat_turn_process(user=user, message="again", provider=provider)
        except ConflictError as exc:
            refused.append(exc)

    provider.during_call = second_message
    provider.says("First.")

    chat_turn_process(user=user, message="first", provider=provider)

    assert [exc.code for exc in refused] == ["turn_in_progress"]
    assert len(provider.requests) == 1


def test_the_stream_sends_the_text_then_the_reply(
    user: User, state: OnboardingState, provider: ScriptedProvider
) -> None:
    provider.says("Hello there, coach here.")

    events = list(chat_turn_stream(user=user, message="hi", provider=provider))

    deltas = [data for event, data in events if event == "delta"]
    assert "".join(deltas) == "Hello there, coach here."
    assert events[-1][0] == "done"
    assert events[-1][1]["message"] == "Hello there, coach here."
    assert events[-1][1]["next_action"] == "continue"


def test_a_stream_whose_llm_fails_ends_with_an_error_event(
    user: User, state: OnboardingState, provider: ScriptedProvider
) -> None:
    provider.fails(LLMUnavailableError("down", reason="overloaded", retry_after=5))

    events = list(chat_turn_stream(user=user, message="hi", provider=provider))

    assert events == [
        (
            "error",
            {
                "detail": "The coach is temporarily unavailable. Nothing was saved; please resend your message.",
                "code": "llm_unavailable",
                "retry_after": 5,
            },
        )
    ]
    assert not ChatTurnLock.objects.exists()
