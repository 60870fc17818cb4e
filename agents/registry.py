"""Which agent handles which step."""

from __future__ import annotations

import logging

from agents.base import BaseAgent
from agents.diet_planning import DietPlanningAgent
from agents.fitness_assessment import FitnessAssessmentAgent
from agents.goal_setting import GoalSettingAgent
from agents.scheduling import SchedulingAgent
from agents.workout_planning import WorkoutPlanningAgent
from onboarding.steps import STEPS, step_get

logger = logging.getLogger(__name__)

AGENTS: tuple[BaseAgent, ...] = (
    FitnessAssessmentAgent(),
    GoalSettingAgent(),
    WorkoutPlanningAgent(),
    DietPlanningAgent(),
    SchedulingAgent(),
)
_BY_TYPE = {agent.agent_type: agent for agent in AGENTS}
_BY_STEP = {step: agent for agent in AGENTS for step in agent.steps}
assert all(_BY_STEP[step.number].agent_type == step.agent_type for step in STEPS), "agent/step tables disagree"


def agent_for_step(step: int) -> BaseAgent:
    """The agent that owns ``step``; ``ValueError("Invalid onboarding step: N")`` outside 1..9."""
    step_get(step)
    return _BY_STEP[step]


def agent_get(agent_type: str) -> BaseAgent:
    """An agent by its type name."""
    return _BY_TYPE[agent_type]


def agent_route(*, user_id: int, step: int) -> BaseAgent:
    """Pick the agent for a user's step, logging the decision."""
    agent = agent_for_step(step)
    logger.info("Routing user %s to agent %s for step %s", user_id, agent.agent_type, step)
    return agent
