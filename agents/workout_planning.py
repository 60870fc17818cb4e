"""WORKOUT_PLANNING: steps 4-5, training preferences and the weekly plan built from them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents import wording
from agents.base import BaseAgent, StepOutcome, split_declines
from onboarding.plans import (
    WORKOUT_PLAN_CHANGES,
    workout_plan_describe,
    workout_plan_generate,
    workout_plan_refocus,
)
from onboarding.steps import (
    AgentType,
    AllStepData,
    FieldSpec,
    ProposalKind,
    StepData,
    specs_validate,
    step_fields_validate,
    step_get,
    step_of_field,
    steps_of_agent,
    workout_plan_basis,
)

_CHANGE_NAMES = {spec.name for spec in WORKOUT_PLAN_CHANGES}


def _is_plan_step(step: int) -> bool:
    return step_get(step).proposal is ProposalKind.WORKOUT_PLAN


class WorkoutPlanningAgent(BaseAgent):
    """Collects where, how often and how long the user trains, then presents and adjusts the plan."""

    agent_type = AgentType.WORKOUT_PLANNING
    name = "the Shuren workout-planning coach"
    description = "I'll create your personalized workout plan"
    mission = (
        "Your job: learn where the user trains, how many days a week and how long per session, then present "
        "the weekly plan the server generated and adjust it on request. You never write the plan yourself: "
        "changes go through the tool's change fields and the server rebuilds the plan."
    )
    steps = steps_of_agent(AgentType.WORKOUT_PLANNING)
    guidance = {
        4: "Days per week 2-7, minutes per session 20-180. 'An hour' is 60.",
        5: "Set approved=true only when the user clearly approves the plan as shown. For changes use "
        "days_per_week, session_minutes or focus_changes (weekday 0=Monday..6=Sunday) and do not set approved.",
    }
    questions = {
        4: "Let's shape your training. Where will you work out (home, gym or outdoors), how many days a week, "
        "and how long per session?",
        5: "Here's the weekly plan I built for you:",
    }
    field_questions = {
        "location": "where you'll train (home, gym or outdoors)",
        "days_per_week": "how many days a week you want to train",
        "session_minutes": "how long each session should be",
        "approved": "whether the plan works for you",
    }

    def tool_fields(self, step: int) -> tuple[FieldSpec, ...]:
        own = super().tool_fields(step)
        return own + WORKOUT_PLAN_CHANGES if _is_plan_step(step) else own

    def propose(self, step: int, steps_data: AllStepData, draft: StepData) -> StepData:
        """A fresh plan, unless the draft's plan was built from the current answers of steps 1-4."""
        if not _is_plan_step(step):
            return {}
        plan = draft.get("plan")
        if isinstance(plan, dict) and plan.get("basis") == workout_plan_basis(steps_data):
            return {}
        # The old approval was for another plan.
        return {"plan": workout_plan_generate(steps_data), "approved": None}

    def proposal_text(self, step: int, draft: StepData) -> str:
        if not _is_plan_step(step) or not draft.get("plan"):
            return ""
        return (
            workout_plan_describe(draft["plan"])
            + "\nDoes this look good, or would you like changes (for example 'make Friday cardio' or 'make it 3 days')?"
        )

    def apply_step(self, step: int, draft: StepData, values: Mapping[str, Any], steps_data: AllStepData) -> StepOutcome:
        if not _is_plan_step(step):
            return super().apply_step(step, draft, values, steps_data)
        own_values, declined = split_declines(step, {k: v for k, v in values.items() if k not in _CHANGE_NAMES})
        accepted, errors = step_fields_validate(step, own_values)
        changes, change_errors = specs_validate(
            WORKOUT_PLAN_CHANGES, {k: v for k, v in values.items() if k in _CHANGE_NAMES}
        )
        errors.update(change_errors)

        outcome = StepOutcome(step=step, errors=errors)
        steps = dict(steps_data)
        plan = draft.get("plan") or workout_plan_generate(steps)
        preferences: StepData = {key: changes[key] for key in ("days_per_week", "session_minutes") if key in changes}
        for name, value in preferences.items():  # saved as answers of the step that asks for them
            owner = step_of_field(name)
            steps[owner] = {**steps.get(owner, {}), name: value}
            outcome.other_steps[owner] = steps[owner]
        if preferences:
            plan = workout_plan_generate(steps)
        for change in changes.get("focus_changes", []):
            plan, problem = workout_plan_refocus(plan, steps, weekday=change["weekday"], focus=change["focus"])
            if problem:
                outcome.notes.append(problem)
        changed = plan != draft.get("plan")
        outcome.draft = {**draft, "plan": plan}
        if changed or declined:
            # A changed plan needs a fresh look before it can be approved.
            outcome.draft.pop("approved", None)
            outcome.accepted = {"plan": plan}
            if declined and not changed:
                outcome.notes.append(wording.reply_declined())
        else:
            outcome.accepted = accepted
            outcome.draft.update(accepted)
        self.check_complete(outcome, steps_data)
        return outcome
