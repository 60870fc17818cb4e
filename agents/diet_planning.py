"""DIET_PLANNING: steps 6-7, diet preferences and the daily calorie and macro targets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.base import BaseAgent, StepOutcome
from onboarding.plans import MACROS, macros_rebalance, meal_plan_describe, meal_plan_suggest
from onboarding.steps import (
    AgentType,
    AllStepData,
    ProposalKind,
    StepData,
    step_fields_validate,
    step_get,
    steps_of_agent,
)


def _is_meal_step(step: int) -> bool:
    return step_get(step).proposal is ProposalKind.MEAL_TARGETS


class DietPlanningAgent(BaseAgent):
    """Learns how the user eats, proposes daily targets from their goal and applies their changes."""

    agent_type = AgentType.DIET_PLANNING
    name = "the Shuren nutrition coach"
    description = "Let's build your meal plan"
    mission = (
        "Your job: learn the user's diet type, allergies, intolerances and dislikes, then present the daily "
        "calorie and macro targets the server proposed and adjust them on request. You are not a dietitian: "
        "for medical diets or eating disorders, suggest a registered dietitian."
    )
    steps = steps_of_agent(AgentType.DIET_PLANNING)
    guidance = {
        6: "Lists may be empty only when the user said so ('no allergies'). 'Plant-based' means vegan.",
        7: "Protein, carbs and fats percentages must add up to 100. Set approved=true only when the user clearly "
        "approves the targets.",
    }
    questions = {
        6: "On to food. How do you eat - anything, vegetarian, vegan, pescatarian, keto or paleo? "
        "Any allergies, intolerances, or foods you dislike?",
        7: "Based on your goal, here are your suggested daily targets:",
    }
    field_questions = {
        "diet_type": "how you eat (for example omnivore, vegetarian or vegan)",
        "allergies": "any food allergies (or 'none')",
        "intolerances": "any food intolerances (or 'none')",
        "dislikes": "foods you dislike (or 'none')",
        "approved": "whether these targets work for you",
    }

    def propose(self, step: int, steps_data: AllStepData, draft: StepData) -> StepData:
        if not _is_meal_step(step):
            return {}
        return {key: value for key, value in meal_plan_suggest(steps_data).items() if key not in draft}

    def proposal_text(self, step: int, draft: StepData) -> str:
        if not _is_meal_step(step) or "daily_calories" not in draft:
            return ""
        return meal_plan_describe(draft) + ".\nDo these work for you, or would you like to change anything?"

    def apply_step(self, step: int, draft: StepData, values: Mapping[str, Any], steps_data: AllStepData) -> StepOutcome:
        if not _is_meal_step(step):
            return super().apply_step(step, draft, values, steps_data)
        # Only macro values that validate are rebalanced; the rest stay as sent and are refused by name.
        valid_macros, _ = step_fields_validate(step, {key: values[key] for key in MACROS if key in values})
        values = {**values, **macros_rebalance(draft, valid_macros)}
        outcome = super().apply_step(step, draft, values, steps_data)
        if any(key != "approved" for key in outcome.accepted) and "approved" not in outcome.accepted:
            outcome.draft.pop("approved", None)  # changed targets need a fresh approval
            outcome.complete_data = None
        return outcome
