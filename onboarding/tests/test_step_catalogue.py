"""The step catalogue's metadata and lookups (``onboarding/steps/catalogue.py``) and the cross-step rules.

Code outside the catalogue finds a step by what it carries (``step_with_proposal``), by a
field it asks for (``step_of_field``) or by its agent (``steps_of_agent``), so these
lookups are what keeps step numbers out of the rest of the code.
"""

from __future__ import annotations

from typing import Any

import pytest

from onboarding.steps import (
    FIRST_STEP,
    LAST_STEP,
    STEPS,
    AgentType,
    ProposalKind,
    field_answer,
    field_spec,
    step_get,
    step_of_field,
    step_rule_errors,
    step_with_proposal,
    steps_of_agent,
    workout_plan_basis,
)
from onboarding.steps.rules import PLAN_INPUTS
from onboarding.tests.answers import answers_before_proposals, answers_complete, with_answer

# --- proposals --------------------------------------------------------------------------------------------


def test_the_documented_steps_carry_the_proposals() -> None:
    # the HTTP contract numbers the steps: the workout plan is step 5, the meal plan step 7
    assert step_with_proposal(ProposalKind.WORKOUT_PLAN) == 5
    assert step_with_proposal(ProposalKind.MEAL_TARGETS) == 7


@pytest.mark.parametrize("kind", list(ProposalKind))
def test_each_proposal_is_carried_by_exactly_one_step(kind: ProposalKind) -> None:
    # given a kind of proposal
    # when the steps are searched for it
    carriers = [step.number for step in STEPS if step.proposal is kind]
    # then one step carries it, and the lookup finds that step
    assert carriers == [step_with_proposal(kind)]


def test_proposal_steps_hold_what_the_proposal_fills_in() -> None:
    # the workout plan step stores the plan, the meal targets step the calories and macros, both need an approval
    plan_step = step_get(step_with_proposal(ProposalKind.WORKOUT_PLAN))
    meal_step = step_get(step_with_proposal(ProposalKind.MEAL_TARGETS))
    assert plan_step.field_names() == ("plan", "approved")
    assert {"daily_calories", "protein_pct", "carbs_pct", "fats_pct", "meals_per_day", "approved"} == set(
        meal_step.field_names()
    )


# --- fields -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "number"), [("fitness_level", 1), ("days_per_week", 4), ("meals_per_day", 7)])
def test_a_field_is_found_in_the_step_that_asks_for_it(name: str, number: int) -> None:
    # when the step of a field is looked up
    # then it is the step whose definition has that field
    assert step_of_field(name) == number
    assert name in step_get(number).field_names()


def test_every_field_of_one_step_leads_back_to_that_step() -> None:
    # given every top-level field that only one step has
    for step in STEPS:
        for name in step.field_names():
            if name == "approved":
                continue
            # then the lookup names that step
            assert step_of_field(name) == step.number, name


@pytest.mark.parametrize("name", ["approved", "no_such_field", "pushups"])
def test_a_shared_unknown_or_nested_field_has_no_single_step(name: str) -> None:
    # given "approved" (in both proposal steps), a made-up name and a field nested in a group
    # when its step is looked up
    # then the lookup refuses rather than guess
    with pytest.raises(ValueError, match=name):
        step_of_field(name)


def test_field_spec_is_the_spec_of_the_owning_step() -> None:
    # when a field's spec is looked up by name
    spec = field_spec("days_per_week")
    # then it is the spec in the training preferences step, range included
    assert spec is step_get(step_of_field("days_per_week")).spec("days_per_week")
    assert (spec.minimum, spec.maximum) == (2, 7)  # type: ignore[attr-defined]


def test_field_answer_reads_the_owning_step() -> None:
    # given saved answers
    answers = answers_complete()
    # when an answer is read by field name
    # then it comes from the step that asks for it
    assert field_answer(answers, "days_per_week") == 3
    assert field_answer(answers, "meals_per_day") == answers[7]["meals_per_day"]


def test_field_answer_falls_back_to_the_default_and_ignores_other_steps() -> None:
    # given no training preferences yet, and a stray days_per_week in another step's data
    answers: dict[int, dict[str, Any]] = {8: {"days_per_week": 5}}
    # when days per week is read
    # then the default comes back: only the owning step's answer counts
    assert field_answer(answers, "days_per_week", "your") == "your"
    assert field_answer(answers, "days_per_week") is None


# --- agents ------------------------------------------------------------------------------------------------


def test_every_step_belongs_to_one_agent_and_each_agent_owns_consecutive_steps() -> None:
    # when the steps of each agent are listed
    owned = {agent_type: steps_of_agent(agent_type) for agent_type in AgentType.ALL}
    # then together they are steps 1..9 once each, each agent's steps in one run, in agent order
    assert [number for numbers in owned.values() for number in numbers] == list(range(FIRST_STEP, LAST_STEP + 1))
    for agent_type, numbers in owned.items():
        assert list(numbers) == list(range(numbers[0], numbers[-1] + 1))
        assert {step_get(number).agent_type for number in numbers} == {agent_type}


def test_the_planning_agents_own_the_proposal_steps() -> None:
    # the agent that plans workouts presents the plan; the diet agent the meal targets
    assert step_with_proposal(ProposalKind.WORKOUT_PLAN) in steps_of_agent(AgentType.WORKOUT_PLANNING)
    assert step_with_proposal(ProposalKind.MEAL_TARGETS) in steps_of_agent(AgentType.DIET_PLANNING)


def test_an_unknown_agent_owns_no_steps() -> None:
    with pytest.raises(ValueError, match="NUTRITIONIST"):
        steps_of_agent("NUTRITIONIST")


# --- the plan fingerprint -----------------------------------------------------------------------------------


def test_plan_fingerprint_is_unchanged_for_plans_saved_earlier() -> None:
    # given answers whose plan was saved before steps became a package (values computed then)
    answers = answers_before_proposals()
    # when the fingerprint is computed today
    # then it is the same, so the saved plan still counts as current
    assert workout_plan_basis(answers) == "f5b93b83f818f329"
    assert workout_plan_basis({}) == "d2af4520da67e877"


@pytest.mark.parametrize("name", PLAN_INPUTS)
def test_changing_an_answer_the_plan_uses_changes_the_fingerprint(name: str) -> None:
    # given answers and one of the answers the plan is built from
    answers = answers_before_proposals()
    owner = step_of_field(name)
    # when that answer changes
    changed = with_answer(answers, owner, **{name: "something else"})
    # then the fingerprint changes, so the old plan is out of date
    assert workout_plan_basis(changed) != workout_plan_basis(answers)


@pytest.mark.parametrize(("name", "value"), [("target_weight_kg", 95), ("diet_type", "vegan"), ("experience", {})])
def test_changing_an_answer_the_plan_ignores_keeps_the_fingerprint(name: str, value: Any) -> None:
    # given answers, and a change to something the plan does not depend on
    answers = answers_before_proposals()
    changed = with_answer(answers, step_of_field(name), **{name: value})
    # then the plan stays current
    assert workout_plan_basis(changed) == workout_plan_basis(answers)


# --- cross-step rules name the step whose answer they compare with ------------------------------------------


def test_workout_days_must_match_days_per_week_and_say_where_that_was_set() -> None:
    # given 3 training days a week
    answers = answers_complete()
    # when 2 workout days are chosen
    errors = step_rule_errors(8, {"workout_days": [0, 3]}, other_steps=answers)
    # then the error names the count and the step where days per week was answered
    assert errors == {"workout_days": ["Choose exactly 3 days, as many as your training days per week, not 2."]}


def test_meal_times_must_match_meals_per_day_and_say_where_that_was_set() -> None:
    # given 4 meals a day
    answers = answers_complete()
    # when 2 meal times are given
    errors = step_rule_errors(8, {"meal_times": ["08:00", "13:00"]}, other_steps=answers)
    # then the error names the count and the step where meals per day was answered
    assert errors == {"meal_times": ["Give one time per meal: 4 meals a day, not 2 times."]}


def test_a_plan_built_for_other_answers_is_refused() -> None:
    # given an approved plan, then a new injury
    answers = answers_complete()
    plan_step = step_with_proposal(ProposalKind.WORKOUT_PLAN)
    changed = with_answer(answers, step_of_field("injuries"), injuries=["knee"])
    # when the old plan is checked against the new answers
    errors = step_rule_errors(plan_step, answers[plan_step], other_steps=changed)
    # then it is out of date, naming the steps it was built from
    assert errors == {"plan": ["The plan was made for different answers in steps 1-4; review the updated plan."]}
    assert step_rule_errors(plan_step, answers[plan_step], other_steps=answers) == {}
