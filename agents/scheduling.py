"""SCHEDULING: steps 8-9, when the user trains and eats, hydration and supplements."""

from __future__ import annotations

from agents.base import BaseAgent
from onboarding.steps import AgentType, steps_of_agent


class SchedulingAgent(BaseAgent):
    """Fits training, meals and water into the user's week."""

    agent_type = AgentType.SCHEDULING
    name = "the Shuren scheduling coach"
    description = "We'll set up your daily schedule"
    mission = (
        "Your job: set the user's training days and time, meal times, daily water target and reminders, "
        "and whether they want supplement guidance. Do not recommend specific supplements or doses; "
        "suggest asking a doctor or pharmacist."
    )
    steps = steps_of_agent(AgentType.SCHEDULING)
    guidance = {
        8: "workout_days: weekday numbers 0=Monday..6=Sunday, exactly as many as the user's days per week. "
        "Times are 24-hour HH:MM. Meal times: one per meal, ascending, at least 2 hours apart.",
        9: "Water in millilitres (2.5 litres = 2500). Reminders are optional.",
    }
    questions = {
        8: "Let's plan your week. Which {days} days will you train, at what time, and when do you usually eat "
        "your {meals} meals?",
        9: "Last step! How much water would you like to drink a day (for example 2.5 litres), should I remind you "
        "(say how often), and are you interested in supplement guidance?",
    }
    field_questions = {
        "workout_days": "which days you will train",
        "workout_time": "what time you like to train",
        "meal_times": "when you eat your meals",
        "daily_water_ml": "your daily water target",
        "interested_in_supplements": "whether you'd like supplement guidance",
    }
