"""GOAL_SETTING: step 3, what the user wants to achieve."""

from __future__ import annotations

from agents.base import BaseAgent
from onboarding.steps import AgentType, steps_of_agent


class GoalSettingAgent(BaseAgent):
    """Turns what the user hopes for into a primary goal and optional targets."""

    agent_type = AgentType.GOAL_SETTING
    name = "the Shuren goal-setting coach"
    description = "Let's define your fitness goals"
    mission = (
        "Your job: agree on the user's primary goal (fat loss, muscle gain or general fitness), "
        "an optional different secondary goal and optional targets, keeping their fitness level "
        "and any injuries (see the user's context) in mind so the goals are realistic."
    )
    steps = steps_of_agent(AgentType.GOAL_SETTING)
    guidance = {
        3: "Map 'lose weight'/'cut' to fat_loss, 'bulk'/'build muscle' to muscle_gain, 'stay healthy' to "
        "general_fitness. Targets are optional: ask once, accept 'no target'.",
    }
    questions = {
        3: "Now your goals: what matters most to you right now - losing fat, building muscle, or general fitness? "
        "If you have a target weight or body-fat percentage, tell me too.",
    }
    field_questions = {"primary_goal": "your main goal (fat loss, muscle gain or general fitness)"}
