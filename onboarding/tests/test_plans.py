"""The plans code builds (``onboarding/plans.py``), called directly: the workout plan and the meal targets.

Each test gives answers as the earlier steps would hold them and checks what a user would
see in the proposal: which days, how long, which exercises, which targets.
"""

from __future__ import annotations

from typing import Any

import pytest

from onboarding.plans import (
    DEFAULT_WEEKDAYS,
    macros_rebalance,
    meal_plan_describe,
    meal_plan_suggest,
    step_suggestion,
    workout_plan_describe,
    workout_plan_generate,
    workout_plan_refocus,
)
from onboarding.steps import (
    GOALS,
    STEPS,
    ProposalKind,
    step_validate,
    step_with_proposal,
    workout_plan_basis,
)
from onboarding.tests.answers import answers_before_proposals, with_answer

# Exercises the plan library marks as loading the knee, and those that need a barbell.
KNEE_EXERCISES = {
    "Barbell back squat",
    "Goblet squat",
    "Bodyweight squats",
    "Reverse lunges",
    "Wall sit",
    "Jumping jacks",
    "Step-ups",
    "Jog intervals (minutes)",
}
BARBELL_EXERCISES = {"Barbell bench press", "Barbell row", "Barbell back squat"}
DUMBBELL_EXERCISES = {
    "Dumbbell bench press",
    "Dumbbell shoulder press",
    "Dumbbell row",
    "Dumbbell curls",
    "Goblet squat",
}


@pytest.fixture
def answers() -> dict[int, dict[str, Any]]:
    return answers_before_proposals()


def _exercise_names(plan: dict[str, Any]) -> set[str]:
    return {exercise["name"] for session in plan["sessions"] for exercise in session["exercises"]}


# --- workout plan ------------------------------------------------------------------------------------


def test_plan_has_one_session_per_training_day_on_spread_out_weekdays(answers: dict[int, dict[str, Any]]) -> None:
    # given a user who trains 3 days a week for 45 minutes
    # when the plan is built
    plan = workout_plan_generate(answers)
    # then there are 3 sessions, Monday, Wednesday and Friday, each 45 minutes long
    assert [session["weekday"] for session in plan["sessions"]] == [0, 2, 4]
    assert {session["minutes"] for session in plan["sessions"]} == {45}


@pytest.mark.parametrize("days", sorted(DEFAULT_WEEKDAYS))
def test_plan_follows_days_per_week(answers: dict[int, dict[str, Any]], days: int) -> None:
    # given a user who asked for ``days`` training days
    answers = with_answer(answers, 4, days_per_week=days)
    # when the plan is built
    plan = workout_plan_generate(answers)
    # then it has that many sessions, on distinct weekdays
    weekdays = [session["weekday"] for session in plan["sessions"]]
    assert len(weekdays) == days
    assert len(set(weekdays)) == days


def test_plan_uses_the_weekdays_given_when_they_match_the_number_of_days(answers: dict[int, dict[str, Any]]) -> None:
    # given 3 training days, placed on Tuesday, Thursday and Saturday
    # when the plan is built for those weekdays
    plan = workout_plan_generate(answers, weekdays=(1, 3, 5))
    # then the sessions fall on them
    assert [session["weekday"] for session in plan["sessions"]] == [1, 3, 5]


def test_plan_ignores_weekdays_that_do_not_match_the_number_of_days(answers: dict[int, dict[str, Any]]) -> None:
    # given 3 training days but only two weekdays named
    # when the plan is built
    plan = workout_plan_generate(answers, weekdays=(1, 3))
    # then the default spread is used, not a plan with a missing session
    assert [session["weekday"] for session in plan["sessions"]] == [0, 2, 4]


@pytest.mark.parametrize(("minutes", "exercises"), [(20, 3), (45, 4), (60, 6), (180, 8)])
def test_longer_sessions_hold_more_exercises(answers: dict[int, dict[str, Any]], minutes: int, exercises: int) -> None:
    # given sessions of ``minutes`` minutes
    answers = with_answer(answers, 4, session_minutes=minutes)
    # when the plan is built
    plan = workout_plan_generate(answers)
    # then each session lasts that long and holds about one exercise per 10 minutes (3 to 8)
    assert {session["minutes"] for session in plan["sessions"]} == {minutes}
    assert {len(session["exercises"]) for session in plan["sessions"]} == {exercises}


def test_plan_split_follows_the_goal(answers: dict[int, dict[str, Any]]) -> None:
    # given a muscle-gain goal and a fat-loss goal, 3 days each
    muscle = workout_plan_generate(with_answer(answers, 3, primary_goal="muscle_gain"))
    fat_loss = workout_plan_generate(with_answer(answers, 3, primary_goal="fat_loss"))
    # then muscle gain trains push, pull, legs and fat loss mixes in cardio
    assert [session["focus"] for session in muscle["sessions"]] == ["push", "pull", "legs"]
    assert [session["focus"] for session in fat_loss["sessions"]] == ["full_body", "cardio", "full_body"]


def test_an_injury_leaves_out_the_exercises_that_load_it_and_says_so(answers: dict[int, dict[str, Any]]) -> None:
    # given a user with a bad knee, training legs
    answers = with_answer(answers, 2, injuries=["Bad left knee"])
    # when the plan is built
    plan = workout_plan_generate(answers)
    # then no exercise loads the knee, and a note says why and advises seeing a professional
    assert not _exercise_names(plan) & KNEE_EXERCISES
    assert any("knee" in note and "physiotherapist" in note for note in plan["notes"])


def test_a_limitation_counts_like_an_injury(answers: dict[int, dict[str, Any]]) -> None:
    # given a user whose wrists limit them
    answers = with_answer(answers, 2, limitations=["weak wrists"])
    # when the plan is built
    plan = workout_plan_generate(answers)
    # then push-ups and planks, which load the wrist, are left out
    assert not _exercise_names(plan) & {"Push-ups", "Plank (seconds)", "Pike push-ups", "Mountain climbers"}
    assert any("wrist" in note for note in plan["notes"])


def test_without_injuries_the_plan_has_no_notes(answers: dict[int, dict[str, Any]]) -> None:
    # given no injuries or limitations
    # when the plan is built
    plan = workout_plan_generate(answers)
    # then there is nothing to warn about
    assert plan["notes"] == []


def test_at_home_only_the_equipment_named_is_used(answers: dict[int, dict[str, Any]]) -> None:
    # given a user at home with dumbbells but no barbell
    # when the plan is built
    plan = workout_plan_generate(with_answer(answers, 2, equipment=["dumbbells"]))
    # then dumbbell exercises appear and barbell ones do not
    assert _exercise_names(plan) & DUMBBELL_EXERCISES
    assert not _exercise_names(plan) & BARBELL_EXERCISES


def test_at_home_without_equipment_only_bodyweight_exercises_are_used(answers: dict[int, dict[str, Any]]) -> None:
    # given a user at home with no equipment
    # when the plan is built
    plan = workout_plan_generate(with_answer(answers, 2, equipment=[]))
    # then nothing needs a barbell or dumbbells
    assert not _exercise_names(plan) & (BARBELL_EXERCISES | DUMBBELL_EXERCISES)


def test_a_gym_has_every_kind_of_equipment(answers: dict[int, dict[str, Any]]) -> None:
    # given a user who trains at a gym and listed no equipment of their own
    answers = with_answer(with_answer(answers, 2, equipment=[]), 4, location="gym")
    # when the plan is built
    plan = workout_plan_generate(answers)
    # then barbell exercises are used
    assert _exercise_names(plan) & BARBELL_EXERCISES


def test_advanced_users_get_heavier_sets(answers: dict[int, dict[str, Any]]) -> None:
    # given a beginner and an advanced user with the same other answers
    beginner = workout_plan_generate(with_answer(answers, 1, fitness_level="beginner"))
    advanced = workout_plan_generate(with_answer(answers, 1, fitness_level="advanced"))
    # then the advanced user does more sets of fewer reps (timed holds stay 30 seconds)
    first = beginner["sessions"][0]["exercises"][0]
    assert (first["sets"], first["reps"]) == (3, 10)
    first = advanced["sessions"][0]["exercises"][0]
    assert (first["sets"], first["reps"]) == (4, 8)
    holds = [e for s in advanced["sessions"] for e in s["exercises"] if "seconds" in e["name"]]
    assert holds
    assert {hold["reps"] for hold in holds} == {30}


def test_missing_answers_give_a_beginners_general_plan() -> None:
    # given no answers at all
    # when the plan is built
    plan = workout_plan_generate({})
    # then it is a 3-day general-fitness plan of 45-minute full-body sessions with beginner volume
    assert [session["focus"] for session in plan["sessions"]] == ["full_body"] * 3
    assert {session["minutes"] for session in plan["sessions"]} == {45}
    assert plan["sessions"][0]["exercises"][0]["sets"] == 3


def test_the_same_answers_give_the_same_plan(answers: dict[int, dict[str, Any]]) -> None:
    # given the same answers twice
    # then the plans are equal and carry the fingerprint of those answers
    assert workout_plan_generate(answers) == workout_plan_generate(dict(answers))
    assert workout_plan_generate(answers)["basis"] == workout_plan_basis(answers)


@pytest.mark.parametrize("goal", GOALS)
@pytest.mark.parametrize("days", sorted(DEFAULT_WEEKDAYS))
def test_every_generated_plan_is_a_valid_answer_once_approved(
    answers: dict[int, dict[str, Any]], goal: str, days: int
) -> None:
    # given any goal and number of days, with a knee injury and no equipment (the fewest exercises to pick from)
    answers = with_answer(answers, 2, equipment=[], injuries=["knee", "back", "shoulder", "wrist", "ankle"])
    answers = with_answer(with_answer(answers, 3, primary_goal=goal), 4, days_per_week=days)
    plan_step = step_with_proposal(ProposalKind.WORKOUT_PLAN)
    # when the plan is approved as it was built
    clean = step_validate(plan_step, {"plan": workout_plan_generate(answers), "approved": True}, other_steps=answers)
    # then the step's own validation accepts it
    assert clean["approved"] is True


# --- changing a session's focus ------------------------------------------------------------------------


def test_refocus_changes_one_session_and_keeps_the_others(answers: dict[int, dict[str, Any]]) -> None:
    # given a push/pull/legs plan
    plan = workout_plan_generate(answers)
    # when Monday becomes cardio
    changed, problem = workout_plan_refocus(plan, answers, weekday=0, focus="cardio")
    # then Monday is cardio with as many exercises as before, and the rest is untouched
    assert problem is None
    monday = changed["sessions"][0]
    assert monday["focus"] == "cardio"
    assert len(monday["exercises"]) == len(plan["sessions"][0]["exercises"])
    assert {e["name"] for e in monday["exercises"]} != {e["name"] for e in plan["sessions"][0]["exercises"]}
    assert changed["sessions"][1:] == plan["sessions"][1:]


def test_refocus_keeps_respecting_injuries(answers: dict[int, dict[str, Any]]) -> None:
    # given a user with a bad knee whose plan has a push day on Monday
    answers = with_answer(answers, 2, injuries=["knee"])
    plan = workout_plan_generate(answers)
    # when Monday becomes a legs day
    changed, _ = workout_plan_refocus(plan, answers, weekday=0, focus="legs")
    # then the new legs session still leaves out knee exercises
    assert not {e["name"] for e in changed["sessions"][0]["exercises"]} & KNEE_EXERCISES


def test_refocus_to_an_unknown_focus_is_refused_and_changes_nothing(answers: dict[int, dict[str, Any]]) -> None:
    # given a plan
    plan = workout_plan_generate(answers)
    # when asked for a focus the planner does not know
    changed, problem = workout_plan_refocus(plan, answers, weekday=0, focus="yoga")
    # then the plan is unchanged and the user is told
    assert changed == plan
    assert problem == "I can't plan a yoga session."


def test_refocus_of_a_rest_day_is_refused(answers: dict[int, dict[str, Any]]) -> None:
    # given a Monday/Wednesday/Friday plan
    plan = workout_plan_generate(answers)
    # when Tuesday is to become cardio
    changed, problem = workout_plan_refocus(plan, answers, weekday=1, focus="cardio")
    # then nothing changes and the user hears there is no Tuesday session
    assert changed == plan
    assert problem == "There is no session on Tuesday in the plan."


def test_plan_description_names_each_day_and_the_notes(answers: dict[int, dict[str, Any]]) -> None:
    # given a plan for a user with a bad back
    plan = workout_plan_generate(with_answer(answers, 2, injuries=["back"]))
    # when it is described
    text = workout_plan_describe(plan)
    # then there is one line per session, then the safety note
    lines = text.splitlines()
    assert lines[0].startswith("- Monday: push, 45 min (")
    assert lines[2].startswith("- Friday: legs, 45 min (")
    assert lines[-1].startswith("Note: Exercises that load your back were left out")


# --- meal targets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("goal", "calories", "macros", "meals"),
    [
        ("fat_loss", 1900, (35, 35, 30), 3),
        ("muscle_gain", 2700, (30, 45, 25), 4),
        ("general_fitness", 2200, (25, 50, 25), 3),
    ],
)
def test_meal_targets_follow_the_goal(goal: str, calories: int, macros: tuple[int, int, int], meals: int) -> None:
    # given a goal and no target weight
    answers = {3: {"primary_goal": goal}}
    # when the targets are suggested
    targets = meal_plan_suggest(answers)
    # then calories, macro shares and meals are the goal's defaults
    assert targets == {
        "daily_calories": calories,
        "protein_pct": macros[0],
        "carbs_pct": macros[1],
        "fats_pct": macros[2],
        "meals_per_day": meals,
    }


def test_a_target_weight_scales_the_calories() -> None:
    # given a muscle-gain goal at 80 kg
    # when the targets are suggested
    targets = meal_plan_suggest({3: {"primary_goal": "muscle_gain", "target_weight_kg": 80}})
    # then calories are 34 kcal per kg, rounded to tens
    assert targets["daily_calories"] == 2720


@pytest.mark.parametrize(("goal", "weight", "calories"), [("fat_loss", 30, 1200), ("muscle_gain", 300, 4000)])
def test_calories_stay_within_safe_bounds(goal: str, weight: float, calories: int) -> None:
    # given an extreme target weight
    # when the targets are suggested
    targets = meal_plan_suggest({3: {"primary_goal": goal, "target_weight_kg": weight}})
    # then the calories are clamped to 1200..4000
    assert targets["daily_calories"] == calories


def test_keto_gets_keto_macros() -> None:
    # given a keto diet
    # when the targets are suggested
    targets = meal_plan_suggest({3: {"primary_goal": "fat_loss"}, 6: {"diet_type": "keto"}})
    # then most calories come from fat and few from carbs
    assert (targets["protein_pct"], targets["carbs_pct"], targets["fats_pct"]) == (25, 5, 70)


@pytest.mark.parametrize("goal", GOALS)
@pytest.mark.parametrize("diet", ["omnivore", "keto"])
def test_suggested_targets_are_a_valid_answer_once_approved(
    answers: dict[int, dict[str, Any]], goal: str, diet: str
) -> None:
    # given any goal and diet
    answers = with_answer(with_answer(answers, 3, primary_goal=goal), 6, diet_type=diet)
    meal_step = step_with_proposal(ProposalKind.MEAL_TARGETS)
    # when the suggested targets are approved
    clean = step_validate(meal_step, {**meal_plan_suggest(answers), "approved": True}, other_steps=answers)
    # then the step's validation (macros summing to 100 included) accepts them
    assert clean["protein_pct"] + clean["carbs_pct"] + clean["fats_pct"] == 100


def test_meal_description_reads_as_one_line() -> None:
    # given some targets
    # when they are described
    text = meal_plan_describe(
        {"daily_calories": 2000, "protein_pct": 30, "carbs_pct": 40, "fats_pct": 30, "meals_per_day": 3}
    )
    # then the user reads calories, shares and meals
    assert text == "2000 kcal a day, 30% protein, 40% carbs, 30% fat, 3 meals"


# --- macro rebalancing ------------------------------------------------------------------------------------

CURRENT = {"protein_pct": 30, "carbs_pct": 45, "fats_pct": 25}


def test_one_named_macro_leaves_the_rest_to_the_others_in_proportion() -> None:
    # given targets of 30/45/25
    # when the user asks for 40 % protein
    shares = macros_rebalance(CURRENT, {"protein_pct": 40})
    # then carbs and fat share the remaining 60 % in their old 45:25 proportion
    assert shares == {"protein_pct": 40, "carbs_pct": 39, "fats_pct": 21}


def test_two_named_macros_leave_the_rest_to_the_third() -> None:
    # given targets of 30/45/25
    # when the user names protein and carbs
    shares = macros_rebalance(CURRENT, {"protein_pct": 35, "carbs_pct": 35})
    # then fat takes what is left
    assert shares == {"protein_pct": 35, "carbs_pct": 35, "fats_pct": 30}


def test_without_current_shares_the_rest_is_split_evenly() -> None:
    # given no targets yet
    # when the user asks for 40 % protein
    shares = macros_rebalance({}, {"protein_pct": 40})
    # then carbs and fat get 30 % each
    assert shares == {"protein_pct": 40, "carbs_pct": 30, "fats_pct": 30}


@pytest.mark.parametrize(
    "given",
    [
        {"protein_pct": 30, "carbs_pct": 30, "fats_pct": 30},  # all three named: the user's word, judged by the rule
        {"protein_pct": 70, "carbs_pct": 50},  # more than 100 %: nothing left to share
    ],
)
def test_shares_that_cannot_be_balanced_are_returned_as_given(given: dict[str, int]) -> None:
    # given targets of 30/45/25
    # when the user names shares that leave nothing to rebalance
    shares = macros_rebalance(CURRENT, given)
    # then only their shares come back, for the step's rule to accept or refuse
    assert shares == given


def test_no_named_macro_changes_nothing() -> None:
    # given a change that names no macro
    # then there is nothing to rebalance
    assert macros_rebalance(CURRENT, {"daily_calories": 2000}) == {}


# --- which step proposes what -------------------------------------------------------------------------------


def test_the_workout_plan_step_is_proposed_the_generated_plan(answers: dict[int, dict[str, Any]]) -> None:
    # given the answers before the plan
    # when the server's suggestion for the workout-plan step is asked for
    suggestion = step_suggestion(step_with_proposal(ProposalKind.WORKOUT_PLAN), answers)
    # then it is the plan built from those answers
    assert suggestion == {"plan": workout_plan_generate(answers)}


def test_the_meal_step_is_proposed_the_meal_targets(answers: dict[int, dict[str, Any]]) -> None:
    # when the server's suggestion for the meal-targets step is asked for
    suggestion = step_suggestion(step_with_proposal(ProposalKind.MEAL_TARGETS), answers)
    # then it is the suggested targets
    assert suggestion == meal_plan_suggest(answers)


@pytest.mark.parametrize("number", [step.number for step in STEPS if step.proposal is None])
def test_steps_without_a_proposal_are_proposed_nothing(answers: dict[int, dict[str, Any]], number: int) -> None:
    # when the suggestion for a step the user answers alone is asked for
    # then there is none
    assert step_suggestion(number, answers) is None
