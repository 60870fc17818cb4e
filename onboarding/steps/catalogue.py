"""The step catalogue: the nine onboarding steps, each defined once, and lookups on them.

A step definition is the one source of what code decides per step: its fields (from
which validation, the LLM tool schema and the OpenAPI components come), the agent that
owns it, the cross-step rules its answer must pass and the proposal the server builds for
it (the workout plan, the meal targets). Code elsewhere asks the catalogue
(``step_with_proposal``, ``step_of_field``, ``steps_of_agent``, ``field_answer``)
instead of naming step numbers.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from onboarding.steps.rules import (
    CrossStepRule,
    macros_sum_to_100,
    meal_times_fit,
    plan_fits_answers,
    secondary_goal_differs,
    workout_days_match_days_per_week,
)
from onboarding.steps.specs import (
    AllStepData,
    Boolean,
    Choice,
    ClockTime,
    ClockTimeList,
    ExerciseName,
    FieldSpec,
    Group,
    Integer,
    Number,
    PlanBasis,
    Records,
    StepData,
    TextList,
    WeekdayList,
)

FIRST_STEP = 1
LAST_STEP = 9


class AgentType:
    """The five agents; each owns one or more consecutive steps."""

    FITNESS_ASSESSMENT = "FITNESS_ASSESSMENT"
    GOAL_SETTING = "GOAL_SETTING"
    WORKOUT_PLANNING = "WORKOUT_PLANNING"
    DIET_PLANNING = "DIET_PLANNING"
    SCHEDULING = "SCHEDULING"

    ALL: ClassVar[tuple[str, ...]] = (
        FITNESS_ASSESSMENT,
        GOAL_SETTING,
        WORKOUT_PLANNING,
        DIET_PLANNING,
        SCHEDULING,
    )


class ProposalKind(enum.StrEnum):
    """What the server proposes for a step whose answer code builds from earlier answers."""

    WORKOUT_PLAN = "workout_plan"
    MEAL_TARGETS = "meal_targets"


@dataclass(frozen=True)
class StepDefinition:
    """One onboarding step: number, name, owning agent, fields, rules and the proposal it carries."""

    number: int
    name: str
    agent_type: str
    title: str
    fields: tuple[FieldSpec, ...]
    rules: tuple[CrossStepRule, ...] = field(default=())
    # The server builds a proposal for this step from earlier answers; the user approves or adjusts it.
    proposal: ProposalKind | None = None

    def field_names(self) -> tuple[str, ...]:
        """Every field name of the step, in order."""
        return tuple(spec.name for spec in self.fields)

    def required_names(self) -> tuple[str, ...]:
        """The names of the fields a complete answer must have."""
        return tuple(spec.name for spec in self.fields if spec.required)

    def proposal_fields(self) -> tuple[FieldSpec, ...]:
        """The fields the server's proposal fills: all but the user's approval (``Boolean(must_be_true)``)."""
        if self.proposal is None:
            return ()
        return tuple(spec for spec in self.fields if not (isinstance(spec, Boolean) and spec.must_be_true))

    def spec(self, name: str) -> FieldSpec:
        """The spec of one field."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)


WORKOUT_FOCUSES = ("full_body", "upper_body", "lower_body", "push", "pull", "legs", "cardio", "core", "mobility")

_EXERCISE: tuple[FieldSpec, ...] = (
    ExerciseName("name", "Exercise name."),
    Integer("sets", "Number of sets.", minimum=1, maximum=10),
    Integer("reps", "Repetitions per set (seconds for timed holds).", minimum=1, maximum=120),
)
SESSION_FIELDS: tuple[FieldSpec, ...] = (
    Integer("weekday", "0 = Monday .. 6 = Sunday.", minimum=0, maximum=6),
    Choice("focus", "What the session trains.", choices=WORKOUT_FOCUSES),
    Integer("minutes", "Session length in minutes.", minimum=20, maximum=180),
    Records("exercises", "Exercises in order.", fields=_EXERCISE, min_items=1, max_items=12),
)
PLAN_FIELDS: tuple[FieldSpec, ...] = (
    Records("sessions", "One session per training day.", fields=SESSION_FIELDS, min_items=2, max_items=7),
    PlanBasis("basis", "Fingerprint of the answers (steps 1-4) the plan was built from; set by the server."),
    TextList("notes", "Safety notes (e.g. exercises left out for an injury).", required=False, max_length=300),
)

GOALS = ("fat_loss", "muscle_gain", "general_fitness")
DIET_TYPES = ("omnivore", "vegetarian", "vegan", "pescatarian", "keto", "paleo")

STEPS: tuple[StepDefinition, ...] = (
    StepDefinition(
        1,
        "fitness_level",
        AgentType.FITNESS_ASSESSMENT,
        "Fitness level",
        (
            Choice("fitness_level", "Current fitness level.", choices=("beginner", "intermediate", "advanced")),
            Group(
                "experience",
                "Optional detail on training experience.",
                required=False,
                fields=(
                    Integer("pushups", "Push-ups in one go.", required=False, minimum=0, maximum=500, title="push-ups"),
                    Integer(
                        "workouts_per_week",
                        "Workouts in a usual week.",
                        required=False,
                        minimum=0,
                        maximum=14,
                        title="workouts a week",
                    ),
                    TextList("activities", "Sports or activities done regularly.", required=False, max_items=10),
                ),
            ),
        ),
    ),
    StepDefinition(
        2,
        "limitations",
        AgentType.FITNESS_ASSESSMENT,
        "Equipment, injuries and limitations",
        (
            TextList("equipment", "Equipment available (empty list: none)."),
            TextList("injuries", "Current or past injuries (empty list: none)."),
            TextList("limitations", "Other physical limitations (empty list: none)."),
        ),
    ),
    StepDefinition(
        3,
        "goals",
        AgentType.GOAL_SETTING,
        "Goals",
        (
            Choice("primary_goal", "Main goal.", choices=GOALS),
            Choice(
                "secondary_goal", "Optional second goal, different from the main one.", required=False, choices=GOALS
            ),
            Number(
                "target_weight_kg",
                "Optional target weight in kg.",
                required=False,
                minimum=30,
                maximum=300,
                title="target weight",
                unit="kg",
            ),
            Number(
                "target_body_fat_percentage",
                "Optional target body fat in percent.",
                required=False,
                minimum=3,
                maximum=50,
                title="target body fat",
                unit="%",
            ),
        ),
        rules=(secondary_goal_differs,),
    ),
    StepDefinition(
        4,
        "workout_preferences",
        AgentType.WORKOUT_PLANNING,
        "Workout preferences",
        (
            Choice("location", "Where the user trains.", choices=("home", "gym", "outdoor")),
            Integer("days_per_week", "Training days per week.", minimum=2, maximum=7),
            Integer(
                "session_minutes",
                "Minutes per session.",
                minimum=20,
                maximum=180,
                title="session length",
                unit="minutes",
            ),
        ),
    ),
    StepDefinition(
        5,
        "workout_plan",
        AgentType.WORKOUT_PLANNING,
        "Workout plan",
        (
            Group("plan", "The weekly plan, generated from steps 1-4.", fields=PLAN_FIELDS, llm_settable=False),
            Boolean("approved", "True once the user approves the plan.", must_be_true=True),
        ),
        rules=(plan_fits_answers,),
        proposal=ProposalKind.WORKOUT_PLAN,
    ),
    StepDefinition(
        6,
        "diet_preferences",
        AgentType.DIET_PLANNING,
        "Diet preferences",
        (
            Choice("diet_type", "Kind of diet.", choices=DIET_TYPES),
            TextList("allergies", "Food allergies (empty list: none)."),
            TextList("intolerances", "Food intolerances (empty list: none)."),
            TextList("dislikes", "Foods the user dislikes (empty list: none)."),
        ),
    ),
    StepDefinition(
        7,
        "meal_plan",
        AgentType.DIET_PLANNING,
        "Meal plan",
        (
            Integer("daily_calories", "Daily calorie target (kcal).", minimum=1000, maximum=5000, unit="kcal"),
            Integer(
                "protein_pct",
                "Share of calories from protein, percent.",
                minimum=0,
                maximum=100,
                title="protein",
                unit="%",
            ),
            Integer(
                "carbs_pct",
                "Share of calories from carbohydrates, percent.",
                minimum=0,
                maximum=100,
                title="carbs",
                unit="%",
            ),
            Integer("fats_pct", "Share of calories from fat, percent.", minimum=0, maximum=100, title="fat", unit="%"),
            Integer("meals_per_day", "Meals per day.", minimum=2, maximum=6),
            Boolean("approved", "True once the user approves the meal plan.", must_be_true=True),
        ),
        rules=(macros_sum_to_100,),
        proposal=ProposalKind.MEAL_TARGETS,
    ),
    StepDefinition(
        8,
        "schedule",
        AgentType.SCHEDULING,
        "Schedule",
        (
            WeekdayList("workout_days", "Training weekdays, 0 = Monday .. 6 = Sunday, one per training day."),
            ClockTime("workout_time", "Usual workout start time, HH:MM."),
            ClockTimeList("meal_times", "One HH:MM time per meal, ascending, 2 h apart.", min_items=2, max_items=6),
        ),
        rules=(workout_days_match_days_per_week, meal_times_fit),
    ),
    StepDefinition(
        9,
        "hydration_supplements",
        AgentType.SCHEDULING,
        "Hydration and supplements",
        (
            Integer(
                "daily_water_ml",
                "Daily water target in millilitres.",
                minimum=500,
                maximum=10000,
                title="daily water",
                unit="ml",
            ),
            Integer(
                "reminder_every_minutes",
                "Optional hydration reminder interval in minutes.",
                required=False,
                minimum=15,
                maximum=480,
                title="water reminder every",
                unit="minutes",
            ),
            Boolean(
                "interested_in_supplements",
                "Whether the user wants supplement guidance.",
                title="supplement guidance",
            ),
            TextList("current_supplements", "Supplements already taken.", required=False),
        ),
    ),
)
_BY_NUMBER = {step.number: step for step in STEPS}


def _field_owners() -> dict[str, tuple[int, ...]]:
    owners: dict[str, tuple[int, ...]] = {}
    for step in STEPS:
        for name in step.field_names():
            owners[name] = (*owners.get(name, ()), step.number)
    return owners


_OWNERS = _field_owners()


def step_get(number: int) -> StepDefinition:
    """The definition of step ``number``; ``ValueError`` outside 1..9."""
    if isinstance(number, bool) or number not in _BY_NUMBER:
        raise ValueError(f"Invalid onboarding step: {number}")
    return _BY_NUMBER[number]


def step_of_field(name: str) -> int:
    """The number of the one step that has a top-level field ``name`` (``days_per_week`` -> its step).

    ``ValueError`` for a name no step has, or one that several steps share (``approved``):
    asking for it would hide a choice the caller has to make.
    """
    owners = _OWNERS.get(name, ())
    if len(owners) != 1:
        raise ValueError(f"No single step has the field {name!r} (steps: {list(owners)}).")
    return owners[0]


def step_with_proposal(kind: ProposalKind) -> int:
    """The number of the step that carries the server's proposal ``kind``."""
    for step in STEPS:
        if step.proposal is kind:
            return step.number
    raise ValueError(f"No step carries the proposal {kind!r}.")


def steps_of_agent(agent_type: str) -> tuple[int, ...]:
    """The numbers of the steps ``agent_type`` owns, in order; ``ValueError`` for an unknown agent."""
    numbers = tuple(step.number for step in STEPS if step.agent_type == agent_type)
    if not numbers:
        raise ValueError(f"No step is owned by agent {agent_type!r}.")
    return numbers


def field_spec(name: str) -> FieldSpec:
    """The spec of a top-level field, from the one step that has it (see ``step_of_field``)."""
    return step_get(step_of_field(name)).spec(name)


def field_answer(steps: AllStepData, name: str, default: Any = None) -> Any:
    """The saved answer to field ``name``, read from the step that owns it; ``default`` when absent."""
    return steps.get(step_of_field(name), {}).get(name, default)


def step_data_by_number(raw: Mapping[str, Any]) -> dict[int, StepData]:
    """``step_data`` as stored (JSON keys are strings) -> keyed by int, only valid step numbers."""
    result: dict[int, StepData] = {}
    for key, value in raw.items():
        if str(key).isdigit() and int(key) in _BY_NUMBER and isinstance(value, dict):
            result[int(key)] = value
    return result
