"""Each agent's ``apply_step`` called directly: what one turn's extracted values do to a step.

The LLM proposes, the code disposes: a valid value is kept in the draft, an invalid one is
refused with an error naming it and not kept, and the step completes only when its whole
answer validates. No LLM and no database are involved: the values are what a tool call
would carry.
"""

from __future__ import annotations

from typing import Any

import pytest

from agents.base import BaseAgent, StepOutcome
from agents.diet_planning import DietPlanningAgent
from agents.fitness_assessment import FitnessAssessmentAgent
from agents.goal_setting import GoalSettingAgent
from agents.registry import AGENTS, agent_for_step
from agents.scheduling import SchedulingAgent
from agents.workout_planning import WorkoutPlanningAgent
from onboarding.plans import meal_plan_suggest, workout_plan_generate
from onboarding.steps import (
    STEPS,
    ProposalKind,
    step_get,
    step_of_field,
    step_with_proposal,
    steps_of_agent,
    workout_plan_basis,
)
from onboarding.tests.answers import answers_before_proposals, answers_complete, with_answer

PLAN_STEP = step_with_proposal(ProposalKind.WORKOUT_PLAN)
MEAL_STEP = step_with_proposal(ProposalKind.MEAL_TARGETS)
Answers = dict[int, dict[str, Any]]


@pytest.fixture
def answers() -> Answers:
    """What the user said before the proposals: level, limits, goal, training and diet preferences."""
    return answers_before_proposals()


@pytest.fixture
def plan_draft(answers: Answers) -> dict[str, Any]:
    """The workout plan step as it opens: the plan proposed, not yet approved."""
    return {"plan": workout_plan_generate(answers)}


@pytest.fixture
def meal_draft(answers: Answers) -> dict[str, Any]:
    """The meal targets step as it opens: the targets proposed, not yet approved."""
    return meal_plan_suggest(answers)


def _apply(agent: BaseAgent, step: int, values: dict[str, Any], *, draft: dict[str, Any] | None = None) -> StepOutcome:
    """Apply one turn's values with a complete set of other answers (so rules that compare steps can run)."""
    return agent.apply_step(step, draft or {}, values, answers_complete())


# --- every agent: valid kept, invalid refused and not kept, completion ---------------------------------------

# (agent, step, a whole valid answer, an invalid value for one of its required fields)
CASES = [
    (FitnessAssessmentAgent(), 1, {"fitness_level": "beginner"}, {"fitness_level": "expert"}),
    (FitnessAssessmentAgent(), 2, {"equipment": [], "injuries": ["knee"], "limitations": []}, {"injuries": [" "]}),
    (GoalSettingAgent(), 3, {"primary_goal": "fat_loss", "target_weight_kg": 70}, {"primary_goal": "get_strong"}),
    (WorkoutPlanningAgent(), 4, {"location": "gym", "days_per_week": 3, "session_minutes": 60}, {"days_per_week": 9}),
    (
        DietPlanningAgent(),
        6,
        {"diet_type": "vegan", "allergies": [], "intolerances": ["lactose"], "dislikes": []},
        {"diet_type": "carnivore"},
    ),
    (
        SchedulingAgent(),
        8,
        {"workout_days": [0, 2, 4], "workout_time": "07:00", "meal_times": ["08:00", "12:00", "16:00", "20:00"]},
        {"workout_time": "25:00"},
    ),
    (SchedulingAgent(), 9, {"daily_water_ml": 2000, "interested_in_supplements": True}, {"daily_water_ml": 50}),
]
IDS = [f"step{case[1]}" for case in CASES]


@pytest.mark.parametrize(("agent", "step", "valid", "invalid"), CASES, ids=IDS)
def test_a_whole_valid_answer_is_kept_and_completes_the_step(
    agent: BaseAgent, step: int, valid: dict[str, Any], invalid: dict[str, Any]
) -> None:
    # given a step with nothing collected yet
    # when the user gives every required value, validly
    outcome = _apply(agent, step, valid)
    # then all of it is accepted, kept in the draft, and the step is complete with that answer
    assert outcome.errors == {}
    assert outcome.accepted == valid
    assert outcome.draft == valid
    assert outcome.complete
    assert outcome.complete_data == valid


@pytest.mark.parametrize(("agent", "step", "valid", "invalid"), CASES, ids=IDS)
def test_an_invalid_value_is_refused_by_name_and_not_kept(
    agent: BaseAgent, step: int, valid: dict[str, Any], invalid: dict[str, Any]
) -> None:
    # given a step with nothing collected yet
    # when the user gives one invalid value next to valid ones
    name = next(iter(invalid))
    values = {**valid, **invalid}
    outcome = _apply(agent, step, values)
    # then the invalid value gets an error under its name and is not in the draft; the others are kept
    assert any(key.split(".")[0] == name for key in outcome.errors), outcome.errors
    assert name not in outcome.draft
    assert outcome.draft == {key: value for key, value in valid.items() if key != name}
    assert not outcome.complete


@pytest.mark.parametrize(("agent", "step", "valid", "invalid"), CASES, ids=IDS)
def test_a_partial_answer_is_kept_but_does_not_complete(
    agent: BaseAgent, step: int, valid: dict[str, Any], invalid: dict[str, Any]
) -> None:
    # given a step that already holds all but its first required value
    first = step_get(step).required_names()[0]
    draft = {key: value for key, value in valid.items() if key != first}
    # when a turn brings nothing new
    outcome = agent.apply_step(step, draft, {}, answers_complete())
    # then the draft is unchanged and the step is not complete
    assert outcome.draft == draft
    assert not outcome.complete
    # and when the missing value arrives, the step completes
    outcome = agent.apply_step(step, draft, {first: valid[first]}, answers_complete())
    assert outcome.complete


def test_unknown_fields_are_refused() -> None:
    # given the fitness level step
    # when the model sends a field the step does not have (e.g. trying to jump ahead)
    outcome = _apply(FitnessAssessmentAgent(), 1, {"fitness_level": "advanced", "current_step": 9})
    # then it is refused and nothing of it is stored
    assert outcome.errors == {"current_step": ["Unknown field."]}
    assert outcome.draft == {"fitness_level": "advanced"}


def test_a_value_that_breaks_a_cross_field_rule_is_not_kept() -> None:
    # given the goals step
    # when the secondary goal repeats the primary one
    outcome = _apply(GoalSettingAgent(), 3, {"primary_goal": "fat_loss", "secondary_goal": "fat_loss"})
    # then the secondary goal is refused and dropped, the primary one kept
    assert outcome.errors == {"secondary_goal": ["Must differ from the primary goal."]}
    assert outcome.draft == {"primary_goal": "fat_loss"}
    # and the step waits a turn: the user hears the refusal and may name another secondary goal
    assert not outcome.complete


def test_a_value_that_breaks_a_rule_across_steps_is_not_kept() -> None:
    # given a user who trains 3 days a week (in their training preferences)
    # when the schedule names 2 workout days
    outcome = _apply(SchedulingAgent(), 8, {"workout_days": [0, 3], "workout_time": "07:00"})
    # then the workout days are refused with the reason, and the time kept
    assert outcome.errors["workout_days"] == ["Choose exactly 3 days, as many as your training days per week, not 2."]
    assert outcome.draft == {"workout_time": "07:00"}


# --- the workout plan ---------------------------------------------------------------------------------------


def test_approving_the_plan_completes_its_step(answers: Answers, plan_draft: dict[str, Any]) -> None:
    # given the proposed plan
    # when the user approves it
    outcome = WorkoutPlanningAgent().apply_step(PLAN_STEP, plan_draft, {"approved": True}, answers)
    # then the step is complete with the plan and the approval
    assert outcome.complete
    assert outcome.complete_data == {**plan_draft, "approved": True}


def test_declining_the_plan_keeps_it_unapproved_and_asks_what_to_change(
    answers: Answers, plan_draft: dict[str, Any]
) -> None:
    # given the proposed plan
    # when the user says no to it
    outcome = WorkoutPlanningAgent().apply_step(PLAN_STEP, plan_draft, {"approved": False}, answers)
    # then the no is an answer, not an error: the plan stays, unapproved, and the agent asks what to change
    assert outcome.errors == {}
    assert outcome.draft == plan_draft
    assert not outcome.complete
    assert outcome.notes == ["No problem - tell me what you would like to change."]


def test_fewer_days_rebuild_the_plan_and_change_the_training_preferences(
    answers: Answers, plan_draft: dict[str, Any]
) -> None:
    # given an approved 3-day plan
    draft = {**plan_draft, "approved": True}
    # when the user asks for 2 days instead
    outcome = WorkoutPlanningAgent().apply_step(PLAN_STEP, draft, {"days_per_week": 2}, answers)
    # then the plan has 2 sessions, needs a fresh approval, and days per week is saved where it was answered
    assert len(outcome.draft["plan"]["sessions"]) == 2
    assert "approved" not in outcome.draft
    assert not outcome.complete
    owner = step_of_field("days_per_week")
    assert outcome.other_steps == {owner: {**answers[owner], "days_per_week": 2}}
    assert outcome.draft["plan"]["basis"] == workout_plan_basis({**answers, **outcome.other_steps})


def test_a_focus_change_rebuilds_one_session(answers: Answers, plan_draft: dict[str, Any]) -> None:
    # given the proposed push/pull/legs plan
    # when the user wants Friday to be cardio
    values = {"focus_changes": [{"weekday": 4, "focus": "cardio"}]}
    outcome = WorkoutPlanningAgent().apply_step(PLAN_STEP, plan_draft, values, answers)
    # then Friday is cardio, the other days are as they were, and nothing outside the plan changes
    sessions = outcome.draft["plan"]["sessions"]
    assert [session["focus"] for session in sessions] == ["push", "pull", "cardio"]
    assert sessions[:2] == plan_draft["plan"]["sessions"][:2]
    assert outcome.other_steps == {}


def test_a_focus_change_for_a_rest_day_is_explained(answers: Answers, plan_draft: dict[str, Any]) -> None:
    # given a Monday/Wednesday/Friday plan
    # when the user wants Sunday to be cardio
    values = {"focus_changes": [{"weekday": 6, "focus": "cardio"}]}
    outcome = WorkoutPlanningAgent().apply_step(PLAN_STEP, plan_draft, values, answers)
    # then the plan is unchanged and the user hears why
    assert outcome.draft["plan"] == plan_draft["plan"]
    assert outcome.notes == ["There is no session on Sunday in the plan."]


def test_an_invalid_plan_change_is_refused_and_the_plan_kept(answers: Answers, plan_draft: dict[str, Any]) -> None:
    # given the proposed plan
    # when the model asks for 1 training day (below the minimum of 2)
    outcome = WorkoutPlanningAgent().apply_step(PLAN_STEP, plan_draft, {"days_per_week": 1}, answers)
    # then the change is refused by name, the plan and the training preferences stay
    assert "days_per_week" in outcome.errors
    assert outcome.draft["plan"] == plan_draft["plan"]
    assert outcome.other_steps == {}


def test_the_model_cannot_write_the_plan_itself(answers: Answers, plan_draft: dict[str, Any]) -> None:
    # given the proposed plan
    # when the model sends a plan of its own
    outcome = WorkoutPlanningAgent().apply_step(PLAN_STEP, plan_draft, {"plan": {"sessions": []}}, answers)
    # then it is refused and the server's plan stays
    assert {key.split(".")[0] for key in outcome.errors} == {"plan"}
    assert outcome.draft["plan"] == plan_draft["plan"]


def test_the_plan_is_proposed_when_missing_or_out_of_date(answers: Answers, plan_draft: dict[str, Any]) -> None:
    agent = WorkoutPlanningAgent()
    # given no plan yet: the generated one is proposed
    assert agent.propose(PLAN_STEP, answers, {}) == {"plan": plan_draft["plan"], "approved": None}
    # given a current, approved plan: nothing new is proposed
    assert agent.propose(PLAN_STEP, answers, {**plan_draft, "approved": True}) == {}
    # given a plan made before a new injury: a fresh plan replaces it and withdraws the approval
    injured = with_answer(answers, step_of_field("injuries"), injuries=["knee"])
    proposal = agent.propose(PLAN_STEP, injured, {**plan_draft, "approved": True})
    assert proposal == {"plan": workout_plan_generate(injured), "approved": None}


def test_the_plan_step_tool_offers_the_changes_but_not_the_plan() -> None:
    # when the tool for the plan step is built
    names = {spec.name for spec in WorkoutPlanningAgent().tool_fields(PLAN_STEP)}
    # then the model may approve or ask for changes, but never send a plan
    assert names == {"approved", "days_per_week", "session_minutes", "focus_changes"}
    # and the training preferences step offers only its own fields
    preferences = step_of_field("days_per_week")
    assert {spec.name for spec in WorkoutPlanningAgent().tool_fields(preferences)} == set(
        step_get(preferences).field_names()
    )


# --- the meal targets ---------------------------------------------------------------------------------------


def test_approving_the_meal_targets_completes_their_step(answers: Answers, meal_draft: dict[str, Any]) -> None:
    # given the proposed targets
    # when the user approves them
    outcome = DietPlanningAgent().apply_step(MEAL_STEP, meal_draft, {"approved": True}, answers)
    # then the step is complete with the targets as proposed
    assert outcome.complete
    assert outcome.complete_data == {**meal_draft, "approved": True}


def test_declining_the_meal_targets_leaves_them_unapproved(answers: Answers, meal_draft: dict[str, Any]) -> None:
    # given the proposed targets
    # when the user says no
    outcome = DietPlanningAgent().apply_step(MEAL_STEP, meal_draft, {"approved": False}, answers)
    # then the targets stay, unapproved, and the agent asks what to change
    assert outcome.draft == meal_draft
    assert not outcome.complete
    assert outcome.notes == ["No problem - tell me what you would like to change."]


def test_one_changed_macro_rebalances_the_others_and_needs_a_fresh_approval(
    answers: Answers, meal_draft: dict[str, Any]
) -> None:
    # given approved targets of 30 % protein, 45 % carbs, 25 % fat
    draft = {**meal_draft, "approved": True}
    # when the user asks for 40 % protein
    outcome = DietPlanningAgent().apply_step(MEAL_STEP, draft, {"protein_pct": 40}, answers)
    # then carbs and fat share the rest, the shares add up to 100, and the approval is withdrawn
    assert (outcome.draft["protein_pct"], outcome.draft["carbs_pct"], outcome.draft["fats_pct"]) == (40, 39, 21)
    assert "approved" not in outcome.draft
    assert not outcome.complete


def test_an_invalid_macro_is_refused_and_the_others_stay(answers: Answers, meal_draft: dict[str, Any]) -> None:
    # given the proposed targets
    # when the model sends a protein share over 100 %
    outcome = DietPlanningAgent().apply_step(MEAL_STEP, meal_draft, {"protein_pct": 140}, answers)
    # then it is refused by name and no share moves
    assert "protein_pct" in outcome.errors
    assert outcome.draft == meal_draft


def test_changed_calories_with_an_approval_in_the_same_turn_complete_the_step(
    answers: Answers, meal_draft: dict[str, Any]
) -> None:
    # given the proposed targets
    # when the user asks for 2400 kcal and approves in the same message
    outcome = DietPlanningAgent().apply_step(MEAL_STEP, meal_draft, {"daily_calories": 2400, "approved": True}, answers)
    # then the step completes with the new calories
    assert outcome.complete_data == {**meal_draft, "daily_calories": 2400, "approved": True}


def test_the_meal_targets_are_proposed_only_where_the_draft_has_none(answers: Answers) -> None:
    agent = DietPlanningAgent()
    # given a draft that already holds the user's own calories
    proposal = agent.propose(MEAL_STEP, answers, {"daily_calories": 2100})
    # then the other targets are proposed and the user's calories kept
    assert "daily_calories" not in proposal
    assert proposal == {key: value for key, value in meal_plan_suggest(answers).items() if key != "daily_calories"}
    # and the diet preferences step proposes nothing
    assert agent.propose(step_of_field("diet_type"), answers, {}) == {}


# --- which agent, and what it says -------------------------------------------------------------------------


@pytest.mark.parametrize("step", [step.number for step in STEPS])
def test_each_step_is_handled_by_the_agent_the_catalogue_names(step: int) -> None:
    # when the agent for a step is looked up
    agent = agent_for_step(step)
    # then it is the catalogue's owner, and it lists that step among its own
    assert agent.agent_type == step_get(step).agent_type
    assert step in agent.steps
    assert agent.steps == steps_of_agent(agent.agent_type)


def test_every_agent_owns_at_least_one_step() -> None:
    assert all(agent.steps for agent in AGENTS)


def test_the_schedule_opening_names_the_days_and_meals_already_chosen() -> None:
    # given a user who trains 3 days and eats 4 meals
    answers = answers_complete()
    # when the schedule step opens
    text = SchedulingAgent().opening(8, {}, answers)
    # then the question uses those numbers
    assert "Which 3 days will you train" in text
    assert "your 4 meals" in text
    # and without them it still reads naturally
    assert "Which your days" in SchedulingAgent().opening(8, {}, {})


def test_the_prompt_context_leaves_out_the_long_plan_but_keeps_other_answers() -> None:
    # given every step answered
    answers = answers_complete()
    # when the context for the last step is written
    context = SchedulingAgent().system_dynamic(9, answers, {})
    # then it names the meal targets and the training preferences but not the plan's sessions
    assert "- Meal plan: daily calories" in context
    assert "- Workout preferences: location home" in context
    assert "- Workout plan" not in context
    assert "Dumbbell" not in context
