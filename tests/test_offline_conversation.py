"""The offline engine in a conversation (issue 11): each behaviour on the engine, a few over HTTP.

The engine is called directly (``understand``, ``extract``, the provider) with the coach's last
question and the step's draft, as the chat turn sends them in ``LLMRequest``.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from agents.faq import FAQ, faq_for_step, faq_prompt
from agents.llm.types import LLMRequest
from offline_engine import OfflineProvider
from offline_engine.conversation import later_steps, split_questions, understand
from offline_engine.extraction import extract
from onboarding.models import OnboardingState
from onboarding.steps import step_get

CHAT = "/api/v1/onboarding/chat"
ASK_LIMITATIONS = (
    "Got it, I've noted your equipment (dumbbells) and your injuries (bad knee). "
    "Could you tell me whether anything else limits your training (or 'no limitations')?"
)
ASK_FOOD = "Got it. Could you tell me any food intolerances (or 'none') and foods you dislike (or 'none')?"


# --- "none" answers only what was asked -----------------------------------------------------------


def test_none_to_the_limitations_question_keeps_the_knee() -> None:
    draft = {"equipment": ["dumbbells"], "injuries": ["bad knee"]}

    understood = understand(2, "none", asked=ASK_LIMITATIONS, draft=draft)

    assert understood.values == {"limitations": []}


def test_none_to_the_intolerance_question_keeps_the_allergy() -> None:
    draft = {"diet_type": "vegetarian", "allergies": ["peanuts"]}

    understood = understand(6, "none", asked=ASK_FOOD, draft=draft)

    assert understood.values == {"intolerances": [], "dislikes": []}


def test_none_without_a_named_field_answers_only_the_empty_ones() -> None:
    understood = understand(2, "nothing", asked="Anything to add?", draft={"equipment": ["mat"]})

    assert understood.values == {"injuries": [], "limitations": []}


@pytest.mark.parametrize("message", ["no other injuries", "no more injuries", "none"])
def test_no_other_injuries_never_empties_a_saved_list(message: str) -> None:
    understood = understand(2, message, asked="Any other injuries?", draft={"injuries": ["bad knee"]})

    assert "injuries" not in understood.values


@pytest.mark.parametrize("message", ["actually no injuries, the knee healed", "remove the injuries, no injuries"])
def test_an_explicit_removal_empties_a_saved_list(message: str) -> None:
    understood = understand(2, message, draft={"injuries": ["bad knee"]})

    assert understood.values["injuries"] == []


# --- exceptions and negation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "message", "expected"),
    [
        (
            6,
            "I eat anything except fish, which I never eat. No allergies apart from shellfish",
            {"diet_type": "omnivore", "dislikes": ["fish"], "allergies": ["shellfish"]},
        ),
        (6, "no allergies except peanuts, and no intolerances", {"allergies": ["peanuts"], "intolerances": []}),
        (6, "No food allergies other than a mild shellfish allergy", {"allergies": ["shellfish"]}),
        (2, "No limitations except asthma", {"limitations": ["asthma"]}),
        (2, "no injuries except a bad shoulder", {"injuries": ["bad shoulder"]}),
        (6, "not really any allergies", {"allergies": []}),
        (1, "not really fit", {"fitness_level": "beginner"}),
        (3, "I want to build muscle, I'm not after fat loss", {"primary_goal": "muscle_gain"}),
    ],
)
def test_exceptions_and_negation(step: int, message: str, expected: dict[str, Any]) -> None:
    assert extract(step, message) == expected


# --- priorities ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "primary", "secondary"),
    [
        ("My main goal is building muscle, secondary is losing fat", "muscle_gain", "fat_loss"),
        ("first lose weight, then build muscle", "fat_loss", "muscle_gain"),
        ("main goal: build muscle. secondary: lose fat", "muscle_gain", "fat_loss"),
        ("a bit of fat loss, but mainly I want to get stronger", "muscle_gain", "fat_loss"),
    ],
)
def test_priorities(message: str, primary: str, secondary: str) -> None:
    values = extract(3, message)

    assert (values["primary_goal"], values.get("secondary_goal")) == (primary, secondary)


# --- self-corrections -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "message", "expected"),
    [
        (3, "target 70 kg... no wait, 72", {"target_weight_kg": 72.0}),
        (3, "I weigh 90 kg, I want to get to 70 kg, sorry 75", {"target_weight_kg": 75.0}),
        (9, "2 liters, no actually 3 liters", {"daily_water_ml": 3000}),
        (9, "8 glasses, I mean 10", {"daily_water_ml": 2500}),
        (4, "gym, 4 days, actually 3", {"location": "gym", "days_per_week": 3}),
        (4, "45 min... no wait, 60", {"session_minutes": 60}),
    ],
)
def test_the_last_value_wins_in_a_self_correction(step: int, message: str, expected: dict[str, Any]) -> None:
    assert extract(step, message) == expected


def test_two_different_things_are_not_a_correction() -> None:
    assert extract(4, "70 kg, actually 3 days at home") == {"location": "home", "days_per_week": 3}


# --- step 7: approvals that restate or adjust the targets -------------------------------------------------

PROPOSAL = {"daily_calories": 2200, "protein_pct": 25, "carbs_pct": 45, "fats_pct": 30, "meals_per_day": 4}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("2200 kcal, 25/45/30, 4 meals, sounds good", {**PROPOSAL, "approved": True}),
        ("2000 kcal, 30/40/30, 3 meals, looks good", {
            "daily_calories": 2000, "protein_pct": 30, "carbs_pct": 40, "fats_pct": 30, "meals_per_day": 3,
            "approved": True,
        }),
        ("yes but 3 meals", {"meals_per_day": 3, "approved": True}),
        ("looks good", {"approved": True}),
    ],
)  # fmt: skip
def test_an_approval_that_restates_or_validly_adjusts_approves(message: str, expected: dict[str, Any]) -> None:
    assert understand(7, message, draft=PROPOSAL).values == expected


@pytest.mark.parametrize(
    "message",
    [
        "2000 kcal, 30/40/40, looks good",  # 110 %
        "900 kcal, sounds good",  # below the range: the server explains
        "1800 please",  # no approval said
        "ok but can you lower the carbs to 35%",  # a request
        "35% protein looks good",  # 35 + 45 + 30 is not 100
    ],
)
def test_an_invalid_or_unapproved_change_does_not_approve(message: str) -> None:
    assert "approved" not in understand(7, message, draft=PROPOSAL).values


# --- questions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "message", "topic"),
    [
        (1, "what's the difference between the levels?", "fitness_levels"),
        (1, "How do I know if I'm intermediate or advanced?", "fitness_levels"),
        (2, "what do you mean by limitations?", "limitations"),
        (3, "what's the difference between fat loss and general fitness?", "goals"),
        (5, "what is the plan based on?", "plan_basis"),
        (6, "what's the difference between an allergy and an intolerance?", "allergies_intolerances"),
        (7, "why 2200 calories?", "nutrition_targets"),
        (9, "how much water should I drink?", "hydration_supplements"),
        (4, "why do you need my data?", "data_use"),
    ],
)
def test_a_question_is_answered_from_the_faq_and_not_saved(step: int, message: str, topic: str) -> None:
    understood = understand(step, message)

    assert understood.values == {}
    assert understood.question
    assert understood.faq_topic == topic
    assert understood.faq_answer == next(entry.answer for entry in FAQ if entry.topic == topic)


def test_an_answer_and_a_question_in_one_message() -> None:
    understood = understand(1, "I'm a beginner. What are the levels based on?")

    assert understood.values == {"fitness_level": "beginner"}
    assert understood.faq_topic == "fitness_levels"


@pytest.mark.parametrize(
    ("step", "message", "expected"),
    [
        (5, "can you make it 3 days?", {"days_per_week": 3}),
        (7, "how about 1800?", {"daily_calories": 1800}),
        (1, "beginner?", {"fitness_level": "beginner"}),
    ],
)
def test_requests_phrased_as_questions_are_answers(step: int, message: str, expected: dict[str, Any]) -> None:
    understood = understand(step, message)

    assert understood.values == expected
    assert understood.question == ""


def test_split_questions_keeps_the_statements() -> None:
    assert split_questions("I have a mat. What counts as equipment?") == (
        "I have a mat.",
        ["What counts as equipment?"],
    )


def test_every_step_has_faq_entries_and_a_prompt() -> None:
    for step in range(1, 10):
        own = [entry for entry in faq_for_step(step) if step in entry.steps]
        assert own, step
        assert all(entry.answer in faq_prompt(step) for entry in faq_for_step(step))
        assert "step" not in faq_prompt(step).lower().replace("step up", "")


# --- units --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "message", "expected"),
    [
        (3, "I want to get to 165 lbs", {"target_weight_kg": 74.8}),
        (3, "goal weight 11 stone", {"target_weight_kg": 69.9}),
        (9, "2 quarts a day", {"daily_water_ml": 1893}),
        (9, "64 oz of water", {"daily_water_ml": 1893}),
        (9, "half a gallon", {"daily_water_ml": 1893}),
        (4, "sessions of an hour and a half", {"session_minutes": 90}),
        (4, "25-35 min, let's say 30", {"session_minutes": 30}),
        (1, "I can do 40+ push-ups", {"experience": {"pushups": 40}}),
        (8, "I train at 19h, dinner at 20h", {"workout_time": "19:00", "meal_times": ["20:00"]}),
        (8, "workout at noon", {"workout_time": "12:00"}),
        (8, "train at 7:30pm", {"workout_time": "19:30"}),
        (8, "gym at half past seven pm", {"workout_time": "19:30"}),
        (8, "training at 18:45", {"workout_time": "18:45"}),
    ],
)
def test_units_and_formats(step: int, message: str, expected: dict[str, Any]) -> None:
    assert extract(step, message) == expected


# --- typos and informal spelling ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "message", "expected"),
    [
        (1, "beginer", {"fitness_level": "beginner"}),
        (1, "intermidiate", {"fitness_level": "intermediate"}),
        (3, "loose wieght", {"primary_goal": "fat_loss"}),
        (2, "no injurie", {"injuries": []}),
        (2, "I no have equipment", {"equipment": []}),
        (6, "meat I not eat", {"diet_type": "vegetarian"}),
        (6, "vegitarian", {"diet_type": "vegetarian"}),
        (2, "dumbels and a mat", {"equipment": ["dumbbells", "mat"]}),
    ],
)
def test_typos_and_informal_spelling(step: int, message: str, expected: dict[str, Any]) -> None:
    assert extract(step, message) == expected


@pytest.mark.parametrize("message", ["I have weights at home", "it means a lot", "I weigh 80 kg", "three meals"])
def test_ordinary_words_are_not_corrected(message: str) -> None:
    from offline_engine.parsing import normalize

    assert normalize(message).split()[:2] == message.lower().replace("three", "3").split()[:2]


# --- Spanish ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "message", "expected"),
    [
        (1, "soy principiante", {"fitness_level": "beginner"}),
        (1, "intermedio, puedo hacer veinte flexiones",
         {"fitness_level": "intermediate", "experience": {"pushups": 20}}),
        (2, "tengo mancuernas y una esterilla, sin lesiones", {"equipment": ["dumbbells", "mat"], "injuries": []}),
        (3, "quiero perder peso", {"primary_goal": "fat_loss"}),
        (4, "en el gimnasio, cuatro días, una hora", {"location": "gym", "days_per_week": 4, "session_minutes": 60}),
        (5, "sí", {"approved": True}),
        (6, "soy vegetariana, alérgica a los cacahuetes", {"diet_type": "vegetarian", "allergies": ["peanuts"]}),
        (7, "me parece bien", {"approved": True}),
        (8, "lunes, miércoles y viernes a las 7 de la tarde", {"workout_days": [0, 2, 4], "workout_time": "19:00"}),
        (8, "a las siete y media de la mañana", {"workout_time": "07:30"}),
        (9, "dos litros de agua al día", {"daily_water_ml": 2000}),
        (9, "no", {"interested_in_supplements": False, "current_supplements": []}),
    ],
)  # fmt: skip
def test_spanish(step: int, message: str, expected: dict[str, Any]) -> None:
    assert extract(step, message) == expected


# --- text that is not an item -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "message", "expected"),
    [
        (2, "said: full gym", {"equipment": ["full gym"]}),
        (6, "intolerances: not sure", {}),
        (2, "my knee clicks but doesn't hurt", {}),
        (2, "I have dumbbells. no injuries. I want to lose weight", {"equipment": ["dumbbells"], "injuries": []}),
    ],
)
def test_text_that_is_not_an_item_is_not_stored(step: int, message: str, expected: dict[str, Any]) -> None:
    assert extract(step, message) == expected


# --- answers that cover later steps ---------------------------------------------------------------------------


def test_later_steps_are_extracted_when_clearly_stated() -> None:
    message = "beginner, bad knee, I want to lose weight, I can train at the gym"

    assert later_steps(1, message) == {
        2: {"injuries": ["bad knee"]},
        3: {"primary_goal": "fat_loss"},
        4: {"location": "gym"},
    }


def test_later_steps_skip_proposals_and_guesses() -> None:
    # "yes" would approve a plan, "2000" would be a calorie guess, "none" a bare none: none of them is clear.
    assert later_steps(1, "beginner, yes, 2000, none") == {}
    assert later_steps(8, "yes I'd like supplements") == {}


def _request(
    step: int, message: str, *, asked: str = "", draft: dict[str, Any] | None = None, ahead: bool = False
) -> LLMRequest:
    history = [{"role": "assistant", "content": asked}] if asked else []
    later = [{"name": f"record_{step_get(number).name}"} for number in range(step + 1, 10)] if ahead else []
    return LLMRequest(
        system_static="",
        system_dynamic="",
        tools=[{"name": f"record_{step_get(step).name}"}],
        messages=[{"role": "user", "content": "hi"}, *history, {"role": "user", "content": message}],
        step=step,
        draft=draft or {},
        lookahead_tools=later,
    )


def test_the_provider_calls_the_steps_tool_and_the_later_steps_tools_it_was_offered() -> None:
    response = OfflineProvider().complete(_request(3, "lose weight; I'm vegan and allergic to soy", ahead=True))

    assert [(call.name, call.input) for call in response.tool_calls] == [("record_goals", {"primary_goal": "fat_loss"})]
    assert [(call.name, call.input) for call in response.lookahead_calls] == [
        ("record_diet_preferences", {"diet_type": "vegan", "allergies": ["soy"]}),
    ]
    assert response.compose_reply is True


def test_the_provider_calls_no_later_step_tool_it_was_not_offered() -> None:
    response = OfflineProvider().complete(_request(3, "lose weight; I'm vegan and allergic to soy"))

    assert response.lookahead_calls == []


def test_the_provider_reads_the_coachs_last_question_and_the_draft() -> None:
    request = _request(2, "none", asked=ASK_LIMITATIONS, draft={"equipment": ["dumbbells"], "injuries": ["bad knee"]})

    response = OfflineProvider().complete(request)

    assert [(call.name, call.input) for call in response.tool_calls] == [("record_limitations", {"limitations": []})]


def test_the_provider_reports_a_question_with_its_answer() -> None:
    response = OfflineProvider().complete(_request(2, "what do you mean by limitations?"))

    assert response.tool_calls == []
    assert response.question == "what do you mean by limitations?"
    assert response.faq_topic == "limitations"
    assert response.text.startswith("Limitations are")


# --- over HTTP ---------------------------------------------------------------------------------------------------


def _say(client: APIClient, *messages: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for message in messages:
        response = client.post(CHAT, {"message": message}, format="json")
        assert response.status_code == 200, response.content
        body = response.json()
    return body


def test_http_none_after_a_bad_knee_keeps_the_knee(started: APIClient) -> None:
    _say(started, "beginner", "I have dumbbells, and a bad knee", "none")

    state = OnboardingState.objects.get()
    assert state.step_data["2"] == {"equipment": ["dumbbells"], "injuries": ["bad knee"], "limitations": []}


def test_http_none_after_an_allergy_keeps_the_allergy(started: APIClient) -> None:
    _say(started, "beginner", "none", "lose weight", "home, 3 days, 30 minutes", "yes")
    _say(started, "vegetarian, allergic to peanuts", "none")

    state = OnboardingState.objects.get()
    assert state.step_data["6"]["allergies"] == ["peanuts"]
    assert state.step_data["6"]["intolerances"] == []


def test_http_a_question_is_not_saved(started: APIClient) -> None:
    _say(started, "beginner")
    body = _say(started, "what do you mean by limitations?")

    state = OnboardingState.objects.get()
    assert body["current_step"] == 2
    assert "2" not in state.step_data
    assert not state.agent_context.get("fitness_assessment", {}).get("limitations")


def test_http_restating_the_targets_approves_them(started: APIClient) -> None:
    _say(started, "beginner", "none", "lose weight", "home, 3 days, 30 minutes", "yes", "I eat everything, none")
    body = _say(started, "2000 kcal, 30/40/30, 3 meals, sounds good")

    state = OnboardingState.objects.get()
    assert body["step_complete"] is True
    assert state.step_data["7"]["daily_calories"] == 2000
    assert state.step_data["7"]["meals_per_day"] == 3
    assert state.current_step == 8


def test_http_spanish_workout_preferences(started: APIClient) -> None:
    _say(started, "principiante", "ninguna", "quiero perder peso")
    _say(started, "en el gimnasio, cuatro días, una hora")

    state = OnboardingState.objects.get()
    assert state.step_data["4"] == {"location": "gym", "days_per_week": 4, "session_minutes": 60}


# --- terse answers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "message", "expected"),
    [
        (
            6,
            "Pescatarian. Shellfish. None. Olives.",
            {"diet_type": "pescatarian", "allergies": ["shellfish"], "intolerances": [], "dislikes": ["olives"]},
        ),
        (
            6,
            "vegan, no, no, mushrooms",
            {"diet_type": "vegan", "allergies": [], "intolerances": [], "dislikes": ["mushrooms"]},
        ),
        (2, "Dumbbells. Bad knee. None.", {"equipment": ["dumbbells"], "injuries": ["bad knee"], "limitations": []}),
        (4, "home, 3, 40", {"location": "home", "days_per_week": 3, "session_minutes": 40}),
        (3, "Muscle.", {"primary_goal": "muscle_gain"}),
        (9, "2 litres. No.", {"daily_water_ml": 2000, "interested_in_supplements": False, "current_supplements": []}),
    ],
)
def test_terse_answers_fill_the_asked_fields_in_order(step: int, message: str, expected: dict[str, Any]) -> None:
    assert understand(step, message).values == expected


def test_terse_clauses_that_do_not_match_the_open_lists_are_not_guessed() -> None:
    # Two unknown clauses for three open lists: which is which is unknown, so nothing is stored.
    assert understand(6, "Shellfish. Olives.").values == {}


def test_nothing_else_with_nothing_said_yet_empties_nothing() -> None:
    # The user believes an earlier message answered ("I only have a yoga mat"): "else" has nothing to refer to.
    assert understand(2, "that's all, nothing else").values == {}
    assert understand(2, "nothing else", draft={"equipment": ["mat"]}).values == {"injuries": [], "limitations": []}


def test_a_label_beats_the_vocabulary() -> None:
    assert extract(2, "equipment: none. injuries: none. limitations: back") == {
        "limitations": ["back"],
        "equipment": [],
        "injuries": [],
    }


def test_bare_times_answer_the_one_thing_the_coach_asked_about() -> None:
    # Given the coach asked only for the meal times, or for the workout time and the meals together
    meals_only = "Got it. Could you tell me when you eat your meals?"
    both = "Could you tell me what time you like to train and when you eat your meals?"

    # When the user answers with bare numbers
    # Then they are the meal times when only those were asked; with both asked nothing is guessed
    assert understand(8, "8 13 19", asked=meals_only).values == {"meal_times": ["08:00", "13:00", "19:00"]}
    assert understand(8, "8 13 19", asked=both).values == {}


def test_nothing_else_beside_named_items_answers_the_open_list() -> None:
    # Given a message that names equipment and an injury, then says there is nothing else
    message = "There's a rowing machine. I tore my ACL. Nothing else to mention."

    # When it is read for step 2
    values = understand(2, message).values

    # Then the items are kept and the one list left open is answered "none"
    assert values == {"equipment": ["rowing machine"], "injuries": ["knee (acl)"], "limitations": []}


def test_an_explicit_none_beside_a_bare_one_is_kept() -> None:
    # Given "no equipment" named, then a bare "nothing else" at the end
    values = understand(
        2, "no equipment. No real injuries, but my lower back gets sore if I sit long. Nothing else."
    ).values

    # Then nothing is lost: no equipment, no injuries, the back as a limitation
    assert values == {"equipment": [], "injuries": [], "limitations": ["lower back"]}


def test_habits_named_with_the_level_are_not_the_plan() -> None:
    # Given a level answer that mentions the days the user hikes today
    later = understand(1, "intermediate, these days I only go hiking at weekends").later

    # Then no training days are carried to the schedule step
    assert 8 not in later


def test_a_hint_of_a_goal_in_a_limitation_is_not_a_goal() -> None:
    assert 3 not in understand(2, "I have asthma so I can't do long cardio").later


def test_non_native_is_ok_is_an_answer_not_a_question() -> None:
    understood = understand(5, "is ok")
    assert understood.question == ""
    assert understood.values == {"approved": True}


def test_an_acceptance_with_a_valid_change_approves_the_targets() -> None:
    # Given the meal step, when the user accepts and changes the number of meals
    values = understand(7, "yes, but make it 4 meals").values

    # Then the change and the approval are both sent (the server still checks the change)
    assert values == {"meals_per_day": 4, "approved": True}


@pytest.mark.parametrize(
    ("answer", "expected"), [("45", {"session_minutes": 45}), ("4", {"days_per_week": 4}), ("9", {})]
)
def test_one_bare_number_for_two_questions_is_read_only_when_its_range_says_which(
    answer: str, expected: dict[str, Any]
) -> None:
    assert understand(4, answer).values == expected


def test_meal_times_said_with_the_diet_are_kept_for_the_schedule_not_as_training_days() -> None:
    # Given the diet answer also says when the user eats, "every day"
    later = understand(6, "vegetarian, no allergies. I eat at 8, 13 and 19 every day").later

    # Then the meal times are kept for step 8, and no training days are made of "every day"
    assert later == {8: {"meal_times": ["08:00", "13:00", "19:00"]}}


def test_supplement_answer_said_with_the_schedule_is_kept_for_the_last_step() -> None:
    later = understand(8, "Mon, Wed, Fri at 7am. I drink 2 litres a day and don't want supplements").later
    assert later == {9: {"daily_water_ml": 2000, "interested_in_supplements": False}}


@pytest.mark.parametrize("message", ["¿Qué significa limitaciones?", "qué significa limitaciones?"])
def test_a_spanish_question_is_answered_and_never_saved(message: str) -> None:
    understood = understand(2, message)
    assert understood.values == {}
    assert understood.faq_topic == "limitations"


def test_spanish_como_without_a_question_mark_is_an_answer() -> None:
    understood = understand(6, "como de todo, soy alérgico al marisco")
    assert understood.question == ""
    assert understood.values == {"diet_type": "omnivore", "allergies": ["shellfish"]}


def test_a_question_then_an_answer_in_one_sentence_keeps_the_answer() -> None:
    understood = understand(2, "not sure what counts, I have a pull-up bar I guess")
    assert understood.question == "not sure what counts"
    assert understood.values == {"equipment": ["pull-up bar"]}
