"""Plans made by code, not by the LLM: the weekly workout plan and the daily meal targets.

Both are deterministic functions of the earlier steps, so the same answers
always give the same plan, and the model can only present or adjust them. The
step that carries each is the catalogue's business (``ProposalKind``); answers
are read by field name (``field_answer``), never by step number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from onboarding.steps import (
    WEEKDAY_NAMES,
    WORKOUT_FOCUSES,
    AllStepData,
    Choice,
    FieldSpec,
    Integer,
    ProposalKind,
    Records,
    StepData,
    field_answer,
    field_spec,
    step_get,
    workout_plan_basis,
)

# Changes a user may ask for while reviewing the workout plan. They are offered to
# the LLM next to the plan step's own fields and validated like them.
WORKOUT_PLAN_CHANGES: tuple[FieldSpec, ...] = (
    field_spec("days_per_week"),
    field_spec("session_minutes"),
    Records(
        "focus_changes",
        "Sessions whose focus the user wants changed, e.g. Monday's legs to upper body.",
        required=False,
        fields=(
            Integer("weekday", "0 = Monday .. 6 = Sunday.", minimum=0, maximum=6),
            Choice("focus", "The new focus.", choices=WORKOUT_FOCUSES),
        ),
        min_items=1,
        max_items=7,
    ),
)

# Training weekdays by number of days, spread to leave rest days between sessions.
DEFAULT_WEEKDAYS: dict[int, tuple[int, ...]] = {
    2: (0, 3),
    3: (0, 2, 4),
    4: (0, 1, 3, 4),
    5: (0, 1, 2, 3, 4),
    6: (0, 1, 2, 3, 4, 5),
    7: (0, 1, 2, 3, 4, 5, 6),
}

_SPLITS: dict[str, dict[int, tuple[str, ...]]] = {
    "muscle_gain": {
        2: ("upper_body", "lower_body"),
        3: ("push", "pull", "legs"),
        4: ("upper_body", "lower_body", "upper_body", "lower_body"),
        5: ("push", "pull", "legs", "upper_body", "lower_body"),
        6: ("push", "pull", "legs", "push", "pull", "legs"),
        7: ("push", "pull", "legs", "push", "pull", "legs", "mobility"),
    },
    "fat_loss": {
        2: ("full_body", "full_body"),
        3: ("full_body", "cardio", "full_body"),
        4: ("upper_body", "cardio", "lower_body", "full_body"),
        5: ("upper_body", "cardio", "lower_body", "core", "full_body"),
        6: ("upper_body", "cardio", "lower_body", "core", "full_body", "cardio"),
        7: ("upper_body", "cardio", "lower_body", "core", "full_body", "cardio", "mobility"),
    },
    "general_fitness": {
        2: ("full_body", "full_body"),
        3: ("full_body", "full_body", "full_body"),
        4: ("upper_body", "lower_body", "cardio", "full_body"),
        5: ("upper_body", "lower_body", "cardio", "full_body", "core"),
        6: ("upper_body", "lower_body", "cardio", "full_body", "core", "mobility"),
        7: ("upper_body", "lower_body", "cardio", "full_body", "core", "cardio", "mobility"),
    },
}

# (exercise, equipment it needs or None, body parts it loads)
_LIBRARY: dict[str, tuple[tuple[str, str | None, tuple[str, ...]], ...]] = {
    "push": (
        ("Barbell bench press", "barbell", ("shoulder",)),
        ("Dumbbell bench press", "dumbbell", ("shoulder",)),
        ("Push-ups", None, ("shoulder", "wrist")),
        ("Dumbbell shoulder press", "dumbbell", ("shoulder",)),
        ("Pike push-ups", None, ("shoulder", "wrist")),
        ("Bench dips", None, ("shoulder",)),
        ("Band chest press", "band", ()),
    ),
    "pull": (
        ("Pull-ups", "bar", ("shoulder",)),
        ("Barbell row", "barbell", ("back",)),
        ("Dumbbell row", "dumbbell", ("back",)),
        ("Band pull-aparts", "band", ()),
        ("Inverted rows", None, ("back",)),
        ("Superman hold", None, ("back",)),
        ("Dumbbell curls", "dumbbell", ()),
    ),
    "legs": (
        ("Barbell back squat", "barbell", ("knee", "back")),
        ("Goblet squat", "dumbbell", ("knee",)),
        ("Bodyweight squats", None, ("knee",)),
        ("Romanian deadlift", "dumbbell", ("back",)),
        ("Glute bridges", None, ()),
        ("Reverse lunges", None, ("knee",)),
        ("Calf raises", None, ("ankle",)),
        ("Wall sit", None, ("knee",)),
    ),
    "core": (
        ("Plank (seconds)", None, ("wrist",)),
        ("Dead bug", None, ()),
        ("Side plank (seconds)", None, ("shoulder",)),
        ("Bird dog", None, ()),
        ("Hollow hold (seconds)", None, ("back",)),
    ),
    "cardio": (
        ("Brisk walk intervals (minutes)", None, ()),
        ("Jumping jacks", None, ("knee", "ankle")),
        ("Mountain climbers", None, ("wrist",)),
        ("Step-ups", None, ("knee",)),
        ("Jog intervals (minutes)", None, ("knee", "ankle")),
        ("Rowing machine (minutes)", "rower", ()),
    ),
    "mobility": (
        ("Cat-cow", None, ()),
        ("Hip flexor stretch (seconds)", None, ()),
        ("World's greatest stretch", None, ()),
        ("Thoracic rotations", None, ()),
        ("Hamstring stretch (seconds)", None, ()),
    ),
}
_FOCUS_PARTS: dict[str, tuple[str, ...]] = {
    "push": ("push", "core"),
    "pull": ("pull", "core"),
    "legs": ("legs", "core"),
    "upper_body": ("push", "pull"),
    "lower_body": ("legs", "core"),
    "full_body": ("legs", "push", "pull", "core"),
    "cardio": ("cardio", "core"),
    "core": ("core", "mobility"),
    "mobility": ("mobility", "core"),
}
_VOLUME = {"beginner": (3, 10), "intermediate": (3, 10), "advanced": (4, 8)}
_INJURY_WORDS = ("knee", "back", "shoulder", "wrist", "ankle")
_EQUIPMENT_WORDS = {
    "barbell": ("barbell",),
    "dumbbell": ("dumbbell", "kettlebell"),
    "band": ("band",),
    "bar": ("pull-up bar", "pullup bar", "pull up bar", "bar"),
    "rower": ("rower", "rowing"),
}


def _available_equipment(steps: AllStepData) -> set[str]:
    if field_answer(steps, "location", "home") == "gym":
        return set(_EQUIPMENT_WORDS)
    text = " ".join(field_answer(steps, "equipment", [])).lower()
    return {kind for kind, words in _EQUIPMENT_WORDS.items() if any(word in text for word in words)}


def _injured_parts(steps: AllStepData) -> set[str]:
    said = [*field_answer(steps, "injuries", []), *field_answer(steps, "limitations", [])]
    text = " ".join(said).lower()
    return {part for part in _INJURY_WORDS if part in text}


def _exercises(focus: str, count: int, level: str, equipment: set[str], injured: set[str]) -> list[dict[str, Any]]:
    sets, reps = _VOLUME.get(level, _VOLUME["beginner"])
    groups = [
        [
            name
            for name, needs, loads in _LIBRARY[part]
            if (needs is None or needs in equipment) and not set(loads) & injured
        ]
        for part in _FOCUS_PARTS[focus]
    ]
    chosen: list[str] = []
    # Round-robin over the focus's body parts so a session is balanced.
    while len(chosen) < count and any(groups):
        for group in groups:
            if group and len(chosen) < count:
                chosen.append(group.pop(0))
    if not chosen:
        chosen = ["Brisk walk intervals (minutes)"]
    return [{"name": name, "sets": sets, "reps": 30 if "seconds" in name else reps} for name in chosen]


def workout_plan_generate(steps: AllStepData, *, weekdays: tuple[int, ...] | None = None) -> dict[str, Any]:
    """The weekly plan for the user's level, equipment, injuries, goal and training preferences (deterministic).

    Missing answers fall back to a beginner's general-fitness plan at home, 3 days of 45 minutes.
    ``weekdays`` (one per training day) places the sessions; otherwise they are spread over the week.
    """
    level = field_answer(steps, "fitness_level", "beginner")
    goal = field_answer(steps, "primary_goal", "general_fitness")
    days = int(field_answer(steps, "days_per_week", 3))
    minutes = int(field_answer(steps, "session_minutes", 45))
    equipment = _available_equipment(steps)
    injured = _injured_parts(steps)
    per_session = max(3, min(8, minutes // 10))
    chosen_days = weekdays if weekdays and len(weekdays) == days else DEFAULT_WEEKDAYS[days]
    sessions = [
        {
            "weekday": weekday,
            "focus": focus,
            "minutes": minutes,
            "exercises": _exercises(focus, per_session, level, equipment, injured),
        }
        for weekday, focus in zip(chosen_days, _SPLITS[goal][days], strict=True)
    ]
    notes = []
    if injured:
        notes.append(
            "Exercises that load your " + ", ".join(sorted(injured)) + " were left out; "
            "please check with a physiotherapist or doctor before training around an injury."
        )
    return {"sessions": sessions, "notes": notes, "basis": workout_plan_basis(steps)}


def workout_plan_refocus(
    plan: Mapping[str, Any], steps: AllStepData, *, weekday: int, focus: str
) -> tuple[dict[str, Any], str | None]:
    """Change one training day's focus: ``(new plan, error message or None)``."""
    if focus not in WORKOUT_FOCUSES:
        return dict(plan), f"I can't plan a {focus} session."
    sessions = [dict(session) for session in plan.get("sessions", [])]
    for session in sessions:
        if session["weekday"] == weekday:
            level = field_answer(steps, "fitness_level", "beginner")
            session["focus"] = focus
            session["exercises"] = _exercises(
                focus, len(session["exercises"]), level, _available_equipment(steps), _injured_parts(steps)
            )
            return {**plan, "sessions": sessions}, None
    return dict(plan), f"There is no session on {WEEKDAY_NAMES[weekday]} in the plan."


def workout_plan_describe(plan: Mapping[str, Any]) -> str:
    """The plan as a few readable lines."""
    lines = []
    for session in plan.get("sessions", []):
        names = ", ".join(exercise["name"] for exercise in session["exercises"][:4])
        focus = session["focus"].replace("_", " ")
        lines.append(f"- {WEEKDAY_NAMES[session['weekday']]}: {focus}, {session['minutes']} min ({names})")
    lines.extend(f"Note: {note}" for note in plan.get("notes", []))
    return "\n".join(lines)


MACROS = ("protein_pct", "carbs_pct", "fats_pct")
_MACROS = {"fat_loss": (35, 35, 30), "muscle_gain": (30, 45, 25), "general_fitness": (25, 50, 25)}
_CALORIES_PER_KG = {"fat_loss": 26, "muscle_gain": 34, "general_fitness": 30}
_DEFAULT_CALORIES = {"fat_loss": 1900, "muscle_gain": 2700, "general_fitness": 2200}


def meal_plan_suggest(steps: AllStepData) -> StepData:
    """Daily calories, macros and meals per day for the goal and targets (deterministic)."""
    goal = field_answer(steps, "primary_goal", "general_fitness")
    target = field_answer(steps, "target_weight_kg")
    calories = _DEFAULT_CALORIES[goal] if target is None else int(round(target * _CALORIES_PER_KG[goal], -1))
    calories = max(1200, min(4000, calories))
    protein, carbs, fats = (25, 5, 70) if field_answer(steps, "diet_type") == "keto" else _MACROS[goal]
    return {
        "daily_calories": calories,
        "protein_pct": protein,
        "carbs_pct": carbs,
        "fats_pct": fats,
        "meals_per_day": 4 if goal == "muscle_gain" else 3,
    }


def macros_rebalance(draft: StepData, given: Mapping[str, Any]) -> dict[str, int]:
    """Keep the macros at 100%: the ones the user did not name share what is left, in proportion.

    ``draft`` holds the current targets, ``given`` the shares the user named. Naming all
    three (or more than 100 % in total) is returned as given, for the step's rule to judge.
    """
    named = {key: int(given[key]) for key in MACROS if key in given}
    if not named or len(named) == len(MACROS):
        return named
    others = [key for key in MACROS if key not in named]
    left = 100 - sum(named.values())
    if left < 0:
        return named  # the step's rule will report it
    current = [max(int(draft.get(key, 0)), 0) for key in others]
    total = sum(current) or len(others)
    weights = current if sum(current) else [1] * len(others)
    shares = [round(left * weight / total) for weight in weights[:-1]]
    shares.append(left - sum(shares))
    return {**named, **dict(zip(others, shares, strict=True))}


def meal_plan_describe(values: Mapping[str, Any]) -> str:
    """The meal targets as one readable line."""
    return (
        f"{values.get('daily_calories')} kcal a day, {values.get('protein_pct')}% protein, "
        f"{values.get('carbs_pct')}% carbs, {values.get('fats_pct')}% fat, {values.get('meals_per_day')} meals"
    )


def _workout_plan_suggest(steps: AllStepData) -> StepData:
    return {"plan": workout_plan_generate(steps)}


# How each kind of proposal is built; the catalogue says which step carries which.
_PROPOSALS: dict[ProposalKind, Callable[[AllStepData], StepData]] = {
    ProposalKind.WORKOUT_PLAN: _workout_plan_suggest,
    ProposalKind.MEAL_TARGETS: meal_plan_suggest,
}


def step_suggestion(number: int, steps: AllStepData) -> StepData | None:
    """What the server proposes for step ``number`` (the workout plan, the meal targets), else None."""
    kind = step_get(number).proposal
    return None if kind is None else _PROPOSALS[kind](steps)
