"""FITNESS_ASSESSMENT: steps 1-2, the user's fitness level, equipment, injuries and limitations."""

from __future__ import annotations

from agents.base import BaseAgent
from onboarding.steps import AgentType, steps_of_agent


class FitnessAssessmentAgent(BaseAgent):
    """Finds out where the user starts from and what they must work around."""

    agent_type = AgentType.FITNESS_ASSESSMENT
    name = "the Shuren fitness assessment coach"
    description = "I'll help assess your current fitness level"
    mission = (
        "Your job: find out the user's current fitness level, the equipment they have, and any injuries or limitations."
    )
    steps = steps_of_agent(AgentType.FITNESS_ASSESSMENT)
    guidance = {
        1: "Map what the user says to beginner, intermediate or advanced; if unsure, ask one clarifying "
        "question (for example how many push-ups they can do or how often they train).",
        2: "Each list may be empty, but only when the user said so (for example 'no injuries'). "
        "Injuries: record them as said and recommend checking with a doctor or physiotherapist.",
    }
    questions = {
        1: "Welcome to Shuren! To start, how would you describe your fitness level: beginner, intermediate "
        "or advanced? Feel free to add how many push-ups you can do or how often you work out.",
        2: "Next, what equipment do you have (or none), and do you have any injuries or physical limitations "
        "I should know about?",
    }
    field_questions = {
        "fitness_level": "your fitness level (beginner, intermediate or advanced)",
        "equipment": "what equipment you have (or 'none')",
        "injuries": "whether you have any injuries (or 'no injuries')",
        "limitations": "whether anything else limits your training (or 'no limitations')",
    }
