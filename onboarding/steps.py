"""The nine onboarding steps, each defined once.

A step is a list of field specs. From that one list come:

* validation with per-field messages (``step_validate`` / ``step_fields_validate``,
  through a DRF serializer built from the specs),
* the JSON Schema the LLM tools use (``step_json_schema``),
* the OpenAPI components (``step_serializer_class`` is what drf-spectacular reads),
* the completion check (``step_is_complete``) and the progress endpoint's field list.

Cross-step rules (workout days vs days per week, meal times vs meals per day)
live with the step whose data they constrain and get the other steps' data.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

from rest_framework import serializers

from shuren.errors import FieldErrors, UnprocessableError, flatten_errors

FIRST_STEP = 1
LAST_STEP = 9
# JSON Schema patterns are ECMA-262. Python's ``$`` also matches before a final newline and its
# ``\d`` any Unicode digit, so validation uses the anchored, ASCII twins below.
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_TIME_RE = re.compile(r"\A([01][0-9]|2[0-3]):[0-5][0-9]\Z")
PLAN_BASIS_PATTERN = r"^[0-9a-f]{16}$"
_PLAN_BASIS_RE = re.compile(r"\A[0-9a-f]{16}\Z")
# Not blank, and no NUL characters (which PostgreSQL text cannot hold and DRF refuses).
NOT_BLANK_PATTERN = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
MEAL_GAP_MINUTES = 120
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

StepData = dict[str, Any]
AllStepData = Mapping[int, StepData]


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


# --- Field specs ---------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One field of a step: its name, meaning, whether it is required and who may set it."""

    name: str
    description: str
    required: bool = True
    # False for values the server computes (the workout plan): not offered to the LLM tool.
    llm_settable: bool = True
    # How the field is named to a person ("" = the name with spaces), and the unit of its value.
    title: str = ""
    unit: str = ""

    def serializer_field(self) -> serializers.Field:
        """The DRF field that validates this spec."""
        raise NotImplementedError

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of this spec's value."""
        raise NotImplementedError

    def label(self) -> str:
        """How the field is named to a person."""
        return self.title or self.name.replace("_", " ")

    def display(self, value: Any) -> str:
        """A value of this field as a person would read it."""
        text = plain_text(value)
        return f"{text}{'' if self.unit == '%' else ' '}{self.unit}" if self.unit else text

    def _common(self) -> dict[str, Any]:
        return {"required": self.required, "help_text": self.description}


@dataclass(frozen=True)
class Choice(FieldSpec):
    """One of a fixed set of strings."""

    choices: tuple[str, ...] = ()

    def serializer_field(self) -> serializers.Field:
        return serializers.ChoiceField(choices=list(self.choices), **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices), "description": self.description}


@dataclass(frozen=True)
class Integer(FieldSpec):
    """A whole number within an inclusive range."""

    minimum: int = 0
    maximum: int = 0

    def serializer_field(self) -> serializers.Field:
        return StrictIntegerField(min_value=self.minimum, max_value=self.maximum, **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum, "description": self.description}


@dataclass(frozen=True)
class Number(FieldSpec):
    """A number (integer or decimal) within an inclusive range."""

    minimum: float = 0
    maximum: float = 0

    def serializer_field(self) -> serializers.Field:
        return StrictFloatField(min_value=self.minimum, max_value=self.maximum, **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {"type": "number", "minimum": self.minimum, "maximum": self.maximum, "description": self.description}


@dataclass(frozen=True)
class TextList(FieldSpec):
    """A list of short strings; may be empty (the user said "none")."""

    max_items: int = 20
    max_length: int = 100

    def serializer_field(self) -> serializers.Field:
        child = StrictCharField(max_length=self.max_length, min_length=1, validators=[_not_blank])
        return serializers.ListField(child=child, max_length=self.max_items, allow_empty=True, **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": self.max_length, "pattern": NOT_BLANK_PATTERN},
            "maxItems": self.max_items,
            "description": self.description,
        }


@dataclass(frozen=True)
class Boolean(FieldSpec):
    """True or false; ``must_be_true`` for approvals."""

    must_be_true: bool = False

    def serializer_field(self) -> serializers.Field:
        validators = [_must_be_true] if self.must_be_true else []
        return StrictBooleanField(validators=validators, **self._common())

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "boolean", "description": self.description}
        if self.must_be_true:
            schema["enum"] = [True]
        return schema


@dataclass(frozen=True)
class ClockTime(FieldSpec):
    """A 24-hour time of day as ``HH:MM``."""

    def serializer_field(self) -> serializers.Field:
        return StrictCharField(validators=[_clock_time], **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": TIME_PATTERN, "description": self.description}


@dataclass(frozen=True)
class ClockTimeList(FieldSpec):
    """Several ``HH:MM`` times."""

    min_items: int = 1
    max_items: int = 10

    def serializer_field(self) -> serializers.Field:
        child = StrictCharField(validators=[_clock_time])
        return serializers.ListField(
            child=child, min_length=self.min_items, max_length=self.max_items, **self._common()
        )

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "items": {"type": "string", "pattern": TIME_PATTERN},
            "minItems": self.min_items,
            "maxItems": self.max_items,
            "description": self.description,
        }


@dataclass(frozen=True)
class WeekdayList(FieldSpec):
    """Distinct weekdays, 0 = Monday .. 6 = Sunday."""

    def display(self, value: Any) -> str:
        return ", ".join(WEEKDAY_NAMES[day] for day in value if isinstance(day, int) and 0 <= day <= 6)

    def serializer_field(self) -> serializers.Field:
        child = StrictIntegerField(min_value=0, max_value=6)
        return serializers.ListField(child=child, min_length=1, max_length=7, validators=[_distinct], **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": 6},
            "minItems": 1,
            "maxItems": 7,
            "uniqueItems": True,
            "description": self.description,
        }


@dataclass(frozen=True)
class Group(FieldSpec):
    """A nested object of optional or required sub-fields (no other keys)."""

    fields: tuple[FieldSpec, ...] = ()

    def display(self, value: Any) -> str:
        specs = {spec.name: spec for spec in self.fields}
        return ", ".join(
            f"{specs[key].label()} {specs[key].display(item)}" if key in specs else f"{key} {plain_text(item)}"
            for key, item in value.items()
        )

    def serializer_field(self) -> serializers.Field:
        return _serializer_class(f"{_camel(self.name)}Serializer", self.fields)(**self._common())

    def json_schema(self) -> dict[str, Any]:
        return _object_schema(self.fields, description=self.description)


@dataclass(frozen=True)
class Records(FieldSpec):
    """A list of objects, each with the given sub-fields."""

    fields: tuple[FieldSpec, ...] = ()
    min_items: int = 1
    max_items: int = 7

    def serializer_field(self) -> serializers.Field:
        child = _serializer_class(f"{_camel(self.name)}ItemSerializer", self.fields)()
        return serializers.ListField(
            child=child, min_length=self.min_items, max_length=self.max_items, **self._common()
        )

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "items": _object_schema(self.fields),
            "minItems": self.min_items,
            "maxItems": self.max_items,
            "description": self.description,
        }


# --- Strict DRF fields: JSON types, no string coercion ------------------------------
# DRF would accept "5" for an integer and "true" for a boolean; the JSON Schema the
# LLM sees does not, and the two must agree, so these reject other JSON types.


class StrictIntegerField(serializers.IntegerField):
    """An integer that must arrive as a JSON integer (not a string, float or bool)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            if isinstance(data, float) and data.is_integer():
                data = int(data)
            else:
                self.fail("invalid")
        return int(super().to_internal_value(data))


class StrictFloatField(serializers.FloatField):
    """A number that must arrive as a JSON number."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return float(super().to_internal_value(data))


class StrictBooleanField(serializers.BooleanField):
    """A boolean that must arrive as JSON true/false."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictCharField(serializers.CharField):
    """Text that must arrive as a JSON string, judged as sent (as the JSON Schema judges it), stored trimmed.

    DRF's CharField would turn ``5`` into "5" and check lengths and patterns after trimming
    whitespace; the JSON Schema does neither, and the two must agree.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))

    def run_validation(self, data: Any = serializers.empty) -> Any:
        value = super().run_validation(data)
        return value.strip() if isinstance(value, str) else value


class _StrictSerializer(serializers.Serializer):
    """Rejects keys that are not fields, so nothing unknown is ever stored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


def plain_text(value: Any) -> str:
    """A stored value as a person would read it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(plain_text(item) for item in value) if value else "none"
    if isinstance(value, dict):
        return ", ".join(f"{key.replace('_', ' ')} {plain_text(item)}" for key, item in value.items())
    if isinstance(value, str):
        return value.replace("_", " ")
    return f"{value:g}" if isinstance(value, float) else str(value)


def _not_blank(value: str) -> None:
    if not re.search(NOT_BLANK_PATTERN, value):
        raise serializers.ValidationError("This field may not be blank.")


def _clock_time(value: str) -> None:
    if not _TIME_RE.match(value):
        raise serializers.ValidationError("Use HH:MM (24-hour).")


def _plan_basis(value: str) -> None:
    if not _PLAN_BASIS_RE.match(value):
        raise serializers.ValidationError("Must be 16 lower-case hexadecimal digits.")


def _must_be_true(value: bool) -> None:
    if value is not True:
        raise serializers.ValidationError("Must be true: the user has to approve.")


def _distinct(values: list[Any]) -> None:
    if len(set(values)) != len(values):
        raise serializers.ValidationError("Each weekday may appear only once.")


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _serializer_class(name: str, specs: tuple[FieldSpec, ...]) -> type[serializers.Serializer]:
    attrs: dict[str, Any] = {spec.name: spec.serializer_field() for spec in specs}
    attrs["__doc__"] = f"Fields of {name.removesuffix('Serializer')}."
    return type(name, (_StrictSerializer,), attrs)


def _object_schema(specs: tuple[FieldSpec, ...], description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {spec.name: spec.json_schema() for spec in specs},
        "required": [spec.name for spec in specs if spec.required],
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


# --- Steps ---------------------------------------------------------------------------

CrossStepRule = Callable[[StepData, AllStepData], FieldErrors]


@dataclass(frozen=True)
class StepDefinition:
    """One onboarding step: number, name, owning agent, fields and rules."""

    number: int
    name: str
    agent_type: str
    title: str
    fields: tuple[FieldSpec, ...]
    rules: tuple[CrossStepRule, ...] = field(default=())

    def field_names(self) -> tuple[str, ...]:
        """Every field name of the step, in order."""
        return tuple(spec.name for spec in self.fields)

    def required_names(self) -> tuple[str, ...]:
        """The names of the fields a complete answer must have."""
        return tuple(spec.name for spec in self.fields if spec.required)

    def spec(self, name: str) -> FieldSpec:
        """The spec of one field."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)


def _secondary_goal_differs(data: StepData, _: AllStepData) -> FieldErrors:
    secondary = data.get("secondary_goal")
    if secondary is not None and secondary == data.get("primary_goal"):
        return {"secondary_goal": ["Must differ from the primary goal."]}
    return {}


def _macros_sum_to_100(data: StepData, _: AllStepData) -> FieldErrors:
    parts = [data.get(name) for name in ("protein_pct", "carbs_pct", "fats_pct")]
    if all(isinstance(part, int) for part in parts) and sum(parts) != 100:  # type: ignore[arg-type]
        return {"non_field_errors": [f"protein_pct + carbs_pct + fats_pct must be 100 (it is {sum(parts)})."]}  # type: ignore[arg-type]
    return {}


def _workout_days_match_days_per_week(data: StepData, other: AllStepData) -> FieldErrors:
    days = data.get("workout_days")
    wanted = other.get(4, {}).get("days_per_week")
    if isinstance(days, list) and isinstance(wanted, int) and len(days) != wanted:
        return {"workout_days": [f"Choose exactly {wanted} days (days_per_week in step 4), not {len(days)}."]}
    return {}


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _meal_times_fit(data: StepData, other: AllStepData) -> FieldErrors:
    times = data.get("meal_times")
    if not isinstance(times, list) or not all(isinstance(t, str) and re.match(TIME_PATTERN, t) for t in times):
        return {}
    errors: list[str] = []
    meals = other.get(7, {}).get("meals_per_day")
    if isinstance(meals, int) and len(times) != meals:
        errors.append(f"Give one time per meal: {meals} (meals_per_day in step 7), not {len(times)}.")
    minutes = [_minutes(t) for t in times]
    if any(later - earlier < MEAL_GAP_MINUTES for earlier, later in itertools.pairwise(minutes)):
        errors.append("Meal times must be in ascending order and at least 2 hours apart.")
    return {"meal_times": errors} if errors else {}


# The answers of steps 1-4 a workout plan is built from: level, equipment, injuries, limitations,
# goal, location, days and minutes.
_PLAN_INPUTS = {
    1: ("fitness_level",),
    2: ("equipment", "injuries", "limitations"),
    3: ("primary_goal",),
    4: ("location", "days_per_week", "session_minutes"),
}


def workout_plan_basis(steps: AllStepData) -> str:
    """A fingerprint of the answers a workout plan is built from (steps 1-4).

    The plan carries it, so a plan made before the user changed one of those
    answers (a new injury, fewer days) is seen as out of date, not as approved.
    """
    inputs = {str(step): [steps.get(step, {}).get(name) for name in names] for step, names in _PLAN_INPUTS.items()}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def _plan_fits_answers(data: StepData, other: AllStepData) -> FieldErrors:
    plan = data.get("plan")
    if not isinstance(plan, dict):
        return {}
    if plan.get("basis") != workout_plan_basis(other):
        return {"plan": ["The plan was made for different answers in steps 1-4; review the updated plan."]}
    weekdays = [session.get("weekday") for session in plan.get("sessions", [])]
    if len(set(weekdays)) != len(weekdays):
        return {"plan": ["Each weekday may hold only one session."]}
    return {}


WORKOUT_FOCUSES = ("full_body", "upper_body", "lower_body", "push", "pull", "legs", "cardio", "core", "mobility")


@dataclass(frozen=True)
class ExerciseName(FieldSpec):
    """An exercise name (free text, short)."""

    def serializer_field(self) -> serializers.Field:
        return StrictCharField(max_length=80, min_length=1, validators=[_not_blank], **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": 80,
            "pattern": NOT_BLANK_PATTERN,
            "description": self.description,
        }


@dataclass(frozen=True)
class PlanBasis(FieldSpec):
    """The fingerprint a generated plan carries (see ``workout_plan_basis``)."""

    def serializer_field(self) -> serializers.Field:
        return StrictCharField(validators=[_plan_basis], **self._common())

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": PLAN_BASIS_PATTERN, "description": self.description}


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
        rules=(_secondary_goal_differs,),
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
        rules=(_plan_fits_answers,),
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
        rules=(_macros_sum_to_100,),
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
        rules=(_workout_days_match_days_per_week, _meal_times_fit),
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


def step_get(number: int) -> StepDefinition:
    """The definition of step ``number``; ``ValueError`` outside 1..9."""
    if isinstance(number, bool) or number not in _BY_NUMBER:
        raise ValueError(f"Invalid onboarding step: {number}")
    return _BY_NUMBER[number]


@cache
def step_serializer_class(number: int) -> type[serializers.Serializer]:
    """The DRF serializer of a step's data (also the step's OpenAPI component)."""
    step = step_get(number)
    return _serializer_class(f"{_camel(step.name)}StepSerializer", step.fields)


def step_json_schema(number: int, *, llm_only: bool = False) -> dict[str, Any]:
    """JSON Schema of a step's data; ``llm_only`` leaves out server-computed fields."""
    step = step_get(number)
    specs = tuple(spec for spec in step.fields if spec.llm_settable or not llm_only)
    return _object_schema(specs, description=step.title)


def step_rule_errors(number: int, data: StepData, *, other_steps: AllStepData) -> FieldErrors:
    """Errors of the step's rules for the values present (a partial answer can already break one)."""
    return _rule_errors(step_get(number), data, other_steps)


def _rule_errors(step: StepDefinition, data: StepData, other: AllStepData) -> FieldErrors:
    errors: FieldErrors = {}
    for rule in step.rules:
        for name, messages in rule(data, other).items():
            errors.setdefault(name, []).extend(messages)
    return errors


def step_validate(number: int, data: Any, *, other_steps: AllStepData) -> StepData:
    """Validate a whole step's answer; returns clean data or raises ``UnprocessableError``."""
    serializer = step_serializer_class(number)(data=data)
    if not serializer.is_valid():
        raise UnprocessableError(f"Step {number} data is invalid.", errors=flatten_errors(serializer.errors))
    clean = _drop_none(dict(serializer.validated_data))
    errors = _rule_errors(step_get(number), clean, other_steps)
    if errors:
        raise UnprocessableError(f"Step {number} data is invalid.", errors=errors)
    return clean


@cache
def _fields_of(specs: tuple[FieldSpec, ...]) -> dict[str, serializers.Field]:
    return dict(_serializer_class("Partial", specs)().fields)


def specs_validate(specs: tuple[FieldSpec, ...], values: Mapping[str, Any]) -> tuple[StepData, FieldErrors]:
    """Validate some of ``specs``' fields one by one: ``(valid values, errors of the rest)``.

    Used for extracted answers, where a message may carry one good and one bad
    value: the good one is kept, the bad one reported. Unknown keys are errors.
    """
    fields = _fields_of(specs)
    valid: StepData = {}
    errors: FieldErrors = {}
    for name, value in values.items():
        if name not in fields:
            errors[name] = ["Unknown field."]
            continue
        try:
            valid[name] = fields[name].run_validation(value)
        except serializers.ValidationError as exc:
            errors.update(flatten_errors(exc.detail, name))
    return _drop_none(valid), errors


def step_fields_validate(number: int, values: Mapping[str, Any]) -> tuple[StepData, FieldErrors]:
    """``specs_validate`` over one step's fields."""
    return specs_validate(step_get(number).fields, values)


def step_missing_fields(number: int, data: Mapping[str, Any]) -> list[str]:
    """The required fields not yet answered."""
    return [name for name in step_get(number).required_names() if name not in data]


def step_is_complete(number: int, data: Mapping[str, Any] | None, *, other_steps: AllStepData) -> bool:
    """True when the step's saved answer is valid, cross-step rules included."""
    if not data:
        return False
    try:
        step_validate(number, data, other_steps=other_steps)
    except UnprocessableError:
        return False
    return True


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def step_data_by_number(raw: Mapping[str, Any]) -> dict[int, StepData]:
    """``step_data`` as stored (JSON keys are strings) -> keyed by int, only valid step numbers."""
    result: dict[int, StepData] = {}
    for key, value in raw.items():
        if str(key).isdigit() and int(key) in _BY_NUMBER and isinstance(value, dict):
            result[int(key)] = value
    return result
