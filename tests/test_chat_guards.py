"""Never lose what the user said: the chat turn's guards hold whatever the engine sends, and the review.

The guards are tested on the offline engine (its own reading of "none") and against the
fake Anthropic server scripted to make the careless moves a model makes: an empty list
sent in answer to a question about another field, a question stored as an answer.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from agents.turn.guards import field_cleared, item_removed, message_is_question, normalized, values_guard
from agents.turn.review import message_confirms, review_step_for
from devtools.fake_anthropic import FakeAnthropicServer, Reply, ToolCall
from onboarding.models import OnboardingState
from tests.test_chat_edge_cases import chat, fill_by_form

CHAT = "/api/v1/onboarding/chat"


def saved(step: int) -> dict[str, Any]:
    return OnboardingState.objects.get().step_data.get(str(step), {})


def memory(agent: str) -> dict[str, Any]:
    return OnboardingState.objects.get().agent_context.get(agent, {})


# --- the guards, called directly ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm a BEGINNER,  I train twice a week!", "im a beginner, i train twice a week!"),
        ("Café au lait, crème brûlée \u2013 and naïve pi\u00f1a", "cafe au lait, creme brulee and naive pina"),
        ("\uff11\uff12 k\u0301g / 80%\nno\u2019 dairy", "12 kg / 80%\nno dairy"),
        ("", ""),
    ],
)
def test_a_message_is_compared_without_case_accents_or_apostrophes(text: str, expected: str) -> None:
    assert normalized(text) == expected


@pytest.mark.parametrize(
    ("message", "question"),
    [
        ("What's the difference between beginner and intermediate?", True),
        ("what do you mean by limitations", True),
        ("¿Qué significa limitaciones?", True),
        ("I'm a beginner. Is that ok?", False),
        ("Can you put me down as a beginner?", False),
        ("can we do 2800 calories and 3 meals instead?", False),
        ("what about 4 days a week?", False),
        ("can do 10 pushups", False),
        ("beginner", False),
        ("como de todo, soy alérgico al marisco", False),
        ("I think intermediate?", False),
        ("does an old injury count?", True),
        ("cómo se calcula el plan?", True),
    ],
)
def test_a_message_is_a_question_only_when_every_sentence_asks(message: str, question: bool) -> None:
    assert message_is_question(message) is question


@pytest.mark.parametrize(
    ("item", "message", "removed"),
    [
        ("bad knee", "remove the knee", True),
        ("bad knee", "my knee has healed", True),
        ("bad knee", "forget about the knea, it was nothing", True),
        ("dumbbells", "I don't have dumbbells any more", True),
        ("bad knee", "none", False),
        ("bad knee", "no other limitations", False),
        ("bad knee", "remove the dumbbells, the knee still hurts", False),
        ("peanuts", "no intolerances", False),
    ],
)
def test_an_item_is_removed_only_when_the_message_names_it_with_a_removal(
    item: str, message: str, removed: bool
) -> None:
    assert item_removed(item, message) is removed


@pytest.mark.parametrize(
    ("field", "message", "cleared"),
    [
        ("injuries", "actually no injuries", True),
        ("injuries", "I'm not injured any more", True),
        ("allergies", "no tengo alergias", True),
        ("injuries", "none", False),
        ("injuries", "no limitations", False),
        ("allergies", "no intolerances", False),
    ],
)
def test_a_list_is_cleared_only_when_the_message_names_it_with_a_no(field: str, message: str, cleared: bool) -> None:
    assert field_cleared(field, message) is cleared


def test_an_empty_list_sent_for_another_question_keeps_the_items() -> None:
    known = {"equipment": ["dumbbells"], "injuries": ["bad knee"]}

    guarded = values_guard(
        step=2, message="none", values={"equipment": [], "injuries": [], "limitations": []}, known=known
    )

    assert guarded.values == {"equipment": ["dumbbells"], "injuries": ["bad knee"], "limitations": []}
    assert guarded.removed == {}
    assert guarded.kept == {"equipment": ["dumbbells"], "injuries": ["bad knee"]}


def test_new_items_are_added_to_the_kept_ones() -> None:
    guarded = values_guard(
        step=6,
        message="also allergic to shellfish",
        values={"allergies": ["shellfish"]},
        known={"allergies": ["peanuts"]},
    )

    assert guarded.values == {"allergies": ["peanuts", "shellfish"]}


def test_an_explicit_removal_removes_and_is_reported() -> None:
    guarded = values_guard(
        step=2,
        message="Please remove the knee, it healed. I still have the back pain",
        values={"injuries": ["back pain"]},
        known={"injuries": ["bad knee", "back pain"]},
    )

    assert guarded.values == {"injuries": ["back pain"]}
    assert guarded.removed == {"injuries": ["bad knee"]}


def test_a_question_saves_nothing() -> None:
    guarded = values_guard(
        step=1, message="What's the difference between the levels?", values={"fitness_level": "beginner"}, known={}
    )

    assert guarded.values == {}
    assert guarded.question_only is True


@pytest.mark.parametrize(
    ("message", "confirms"),
    [
        ("yes", True),
        ("Yes, that's all correct, thanks!", True),
        ("looks good to me", True),
        ("sí, todo correcto", True),
        ("yes but make the water 3 liters", False),
        ("no, the diet is wrong", False),
        ("change my diet to vegan", False),
    ],
)
def test_a_confirmation_is_a_plain_yes(message: str, confirms: bool) -> None:
    assert message_confirms(message) is confirms


@pytest.mark.parametrize(
    ("message", "step"),
    [
        ("change my diet to vegan", 6),
        ("actually I have a bad knee", 2),
        ("make the water 3 liters", 9),
        ("my goal is muscle now", 3),
        ("hmm", None),
    ],
)
def test_a_correction_in_the_review_names_its_step(message: str, step: int | None) -> None:
    assert review_step_for(message) == step


# --- on the offline engine, over HTTP ------------------------------------------------------


def test_none_to_another_question_keeps_the_injury(started: APIClient) -> None:
    # Given a user who named equipment and an injury at step 2
    chat(started, "beginner")
    first = chat(started, "I have dumbbells, and a bad knee")
    assert first["step_complete"] is False

    # When they answer "none" to the question about their other limitations
    reply = chat(started, "none")

    # Then the knee and the dumbbells are still there
    assert reply["step_complete"] is True, reply
    assert saved(2)["injuries"] == ["bad knee"]
    assert saved(2)["equipment"] == ["dumbbells"]
    assert saved(2)["limitations"] == []


def test_none_to_the_intolerance_question_keeps_the_allergy(started: APIClient, answers: dict) -> None:
    fill_by_form(started, answers, range(1, 6))
    first = chat(started, "vegetarian, allergic to peanuts")
    assert first["step_complete"] is False

    chat(started, "none")

    assert memory("diet_planning").get("allergies", saved(6).get("allergies")) == ["peanuts"]


def test_an_explicit_removal_in_chat_removes_and_says_so(started: APIClient) -> None:
    chat(started, "beginner")
    chat(started, "I have dumbbells, and a bad knee")

    reply = chat(started, "actually no injuries, and no other limitations")

    assert "bad knee" in reply["message"]
    assert "off your injuries" in reply["message"]
    assert saved(2)["injuries"] == []


def test_a_question_at_a_step_is_not_saved(started: APIClient) -> None:
    reply = chat(started, "What's the difference between the fitness levels?")

    assert reply["saved"] == {}
    assert reply["step_complete"] is False
    assert saved(1) == {}


# --- on the anthropic path: a careless model, and the guards hold ---------------------------


def record(step: int, tool: str, **values: Any) -> Reply:
    return Reply(text="Noted!", tool_calls=[ToolCall(tool, values)])


def test_claude_sending_empty_lists_for_another_question_loses_nothing(
    claude: FakeAnthropicServer, started: APIClient, answers: dict
) -> None:
    fill_by_form(started, answers, range(1, 2))
    claude.enqueue(record(2, "record_limitations", equipment=["dumbbells"], injuries=["bad knee"]))
    chat(started, "I have dumbbells and a bad knee")

    # The user says "none" to "any other limitations?" and the model empties every list
    claude.enqueue(record(2, "record_limitations", equipment=[], injuries=[], limitations=[]))
    reply = chat(started, "none")

    assert reply["step_complete"] is True
    assert saved(2) == {"equipment": ["dumbbells"], "injuries": ["bad knee"], "limitations": []}


def test_claude_removing_an_item_the_user_removed_is_applied_and_named(
    claude: FakeAnthropicServer, started: APIClient, answers: dict
) -> None:
    fill_by_form(started, answers, range(1, 2))
    claude.enqueue(record(2, "record_limitations", equipment=[], injuries=["bad knee", "sore wrist"]))
    chat(started, "no equipment, a bad knee and a sore wrist")

    claude.enqueue(record(2, "record_limitations", injuries=["sore wrist"], limitations=[]))
    reply = chat(started, "remove the knee, it has healed. No other limitations")

    assert saved(2)["injuries"] == ["sore wrist"]
    assert "bad knee" in reply["message"]


def test_claude_storing_a_question_as_an_answer_saves_nothing(claude: FakeAnthropicServer, started: APIClient) -> None:
    claude.enqueue(record(1, "record_fitness_level", fitness_level="beginner"))

    reply = chat(started, "What does beginner mean here?")

    assert reply["saved"] == {}
    assert saved(1) == {}
    assert memory("fitness_assessment") == {}


def test_claude_calling_a_later_steps_tool_changes_nothing(claude: FakeAnthropicServer, started: APIClient) -> None:
    claude.enqueue(record(9, "record_hydration_supplements", daily_water_ml=2000, interested_in_supplements=False))

    chat(started, "I'm a beginner and drink 2 liters")

    state = OnboardingState.objects.get()
    assert state.step_data == {}
    assert "scheduling" not in state.agent_context


# --- the review before completion ------------------------------------------------------------


@pytest.fixture
def all_answered(started: APIClient, answers: dict) -> dict[str, Any]:
    """Steps 1-8 by form, step 9 by chat: the reply that shows the summary."""
    fill_by_form(started, answers, range(1, 9))
    return chat(started, "2.5 liters a day, no supplements")


def test_the_last_answer_shows_a_summary_and_waits(started: APIClient, all_answered: dict) -> None:
    assert all_answered["step_complete"] is True
    assert all_answered["awaiting_confirmation"] is True
    assert all_answered["next_action"] == "continue"
    assert all_answered["is_complete"] is False
    assert "Here is everything you told me" in all_answered["message"]
    for title in ("Fitness level", "Goals", "Diet preferences", "Hydration"):
        assert title.lower() in all_answered["message"].lower()
    assert "_pct" not in all_answered["message"]
    assert OnboardingState.objects.get().is_complete is False


def test_a_yes_completes(started: APIClient, all_answered: dict) -> None:
    done = chat(started, "yes, all good")

    assert done["next_action"] == "complete_onboarding"
    assert done["is_complete"] is True
    assert OnboardingState.objects.get().is_complete is True
    # The reply says it is done, and nothing else: the yes answered the summary, it was not "missed".
    assert done["message"] == "That's everything - your onboarding is complete! Your plan is ready in the app."


def test_a_correction_goes_to_its_step_and_the_summary_is_shown_again(started: APIClient, all_answered: dict) -> None:
    corrected = chat(started, "change the water to 3 liters")

    assert corrected["current_step"] == 9
    assert corrected["awaiting_confirmation"] is True
    assert saved(9)["daily_water_ml"] == 3000
    assert OnboardingState.objects.get().is_complete is False
    assert chat(started, "yes")["is_complete"] is True


def test_a_correction_of_an_earlier_step_is_routed_there(started: APIClient, all_answered: dict) -> None:
    corrected = chat(started, "actually my diet is vegan")

    assert corrected["current_step"] == 6
    assert saved(6)["diet_type"] == "vegan"
    assert corrected["is_complete"] is False


def test_a_yes_after_the_answers_changed_shows_the_new_summary(
    started: APIClient, all_answered: dict, answers: dict
) -> None:
    fill_by_form(started, {9: {**answers[9], "daily_water_ml": 3500}}, range(9, 10))

    again = chat(started, "yes")

    assert again["is_complete"] is False
    assert again["awaiting_confirmation"] is True
    assert "3500" in again["message"]
    assert chat(started, "yes")["is_complete"] is True


def test_the_review_works_on_the_stream(started: APIClient, all_answered: dict) -> None:
    from tests.conftest import parse_sse

    response = started.post(f"{CHAT}/stream", {"message": "yes"}, format="json", HTTP_ACCEPT="text/event-stream")

    (done,) = [data for name, data in parse_sse(response) if name == "done"]
    assert done["is_complete"] is True
