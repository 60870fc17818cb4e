"""The persona corpus: who types what, step by step, and what a careful human would have recorded.

A persona file (``personas/*.yaml``) holds a list of personas::

    - name: terse_dots
      about: one or two words per field, separated by full stops
      known_gap: the offline engine does not split "dumbells. bad knee. none"   # optional
      say:                 # what the user sends at each step, in order (a string or a list)
        1: beginer
        2: [dumbells. bad knee, none]
      fallback:            # optional: sent, one by one, when the coach asks again after ``say``
        2: I have dumbbells. My knee is injured. No other limitations.
      expected:            # the ground truth of every step (steps 5 and 7 default to "approved")
        1: {fitness_level: beginner}
        2: {equipment: [dumbbell], injuries: [knee], limitations: []}
      keep:                # items that must never be lost, by field
        injuries: [knee]
      review: yes, that's all correct    # optional: the answer to a summary before completion

Expected list items are matched by words, not letters: ``knee`` matches a stored "bad knee", a plural
``s`` is ignored, and ``dumbbell|mancuerna`` accepts either. ``{between: [1850, 1950]}`` accepts a
number in a range (for unit conversions a careful human might round either way).

After ``say`` and the persona's own ``fallback``, a plain restatement made from ``expected`` is the
last fallback, so a walk can still finish; every extra message shows up in the turns per step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PERSONAS_DIR = Path(__file__).resolve().parent / "personas"
STEPS = range(1, 10)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DEFAULT_REVIEW = "yes, that's all correct"
# Which step stores each list a persona may ask to keep.
KEEP_FIELDS = {
    "equipment": 2,
    "injuries": 2,
    "limitations": 2,
    "allergies": 6,
    "intolerances": 6,
    "dislikes": 6,
    "current_supplements": 9,
}
_KEYS = {"name", "about", "known_gap", "say", "fallback", "expected", "keep", "review"}


class CorpusError(ValueError):
    """A persona file that does not follow the format above."""


@dataclass(frozen=True)
class Persona:
    """One scripted user and the ground truth of their answers."""

    name: str
    about: str
    say: dict[int, tuple[str, ...]]
    expected: dict[int, dict[str, Any]]
    fallback: dict[int, tuple[str, ...]] = field(default_factory=dict)
    keep: dict[str, tuple[str, ...]] = field(default_factory=dict)
    known_gap: str = ""
    review: str = DEFAULT_REVIEW

    def script(self, step: int) -> tuple[str, ...]:
        """Everything this persona will send at ``step``: what they say, then the fallbacks."""
        messages = list(self.say.get(step, ()))
        for extra in (*self.fallback.get(step, ()), *restatement(step, self.expected)):
            if extra not in messages:
                messages.append(extra)
        return tuple(messages)


def _messages(value: Any, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise CorpusError(f"{where}: a message or a list of messages")
    return tuple(items)


def _by_step(raw: Any, where: str) -> dict[int, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(key, int) and key in STEPS for key in raw):
        raise CorpusError(f"{where}: a mapping keyed by step numbers 1-9")
    return raw


def persona_from_dict(raw: Any, *, source: str = "<dict>") -> Persona:
    """One persona from its parsed YAML, checked."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise CorpusError(f"{source}: each persona is a mapping with a name")
    where = f"{source}: {raw['name']}"
    unknown = set(raw) - _KEYS
    if unknown:
        raise CorpusError(f"{where}: unknown keys {sorted(unknown)}")
    expected = {step: dict(values or {}) for step, values in _by_step(raw.get("expected"), f"{where} expected").items()}
    for step in (5, 7):
        expected.setdefault(step, {}).setdefault("approved", True)
    missing = [step for step in STEPS if step not in expected]
    if missing:
        raise CorpusError(f"{where}: expected values missing for steps {missing}")
    keep = raw.get("keep") or {}
    if not isinstance(keep, dict) or set(keep) - set(KEEP_FIELDS):
        raise CorpusError(f"{where}: keep names fields among {sorted(KEEP_FIELDS)}")
    return Persona(
        name=raw["name"],
        about=str(raw.get("about", "")),
        say={step: _messages(value, f"{where} say {step}") for step, value in _by_step(raw.get("say"), where).items()},
        expected=expected,
        fallback={
            step: _messages(value, f"{where} fallback {step}")
            for step, value in _by_step(raw.get("fallback"), where).items()
        },
        keep={name: tuple(str(item) for item in items) for name, items in keep.items()},
        known_gap=str(raw.get("known_gap") or ""),
        review=str(raw.get("review") or DEFAULT_REVIEW),
    )


def corpus_load(directory: Path = PERSONAS_DIR) -> list[Persona]:
    """Every persona under ``directory``, in file then listing order; names are unique."""
    personas: list[Persona] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except yaml.YAMLError as exc:
            raise CorpusError(f"{path.name}: {exc}") from exc
        if not isinstance(raw, list):
            raise CorpusError(f"{path.name}: a list of personas")
        personas.extend(persona_from_dict(item, source=path.name) for item in raw)
    names = [persona.name for persona in personas]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise CorpusError(f"persona names used twice: {duplicates}")
    return personas


# --- The plain restatement: the last fallback --------------------------------------------


def _first(item: Any) -> str:
    return str(item).split("|")[0]


def _number(value: Any) -> Any:
    if isinstance(value, dict) and "between" in value:
        low, high = value["between"]
        value = (low + high) / 2
    return f"{value:g}" if isinstance(value, float) else value


def _items(values: list[Any], none: str) -> str:
    return ", ".join(_first(item) for item in values) if values else none


def restatement(step: int, expected: dict[int, dict[str, Any]]) -> tuple[str, ...]:
    """The persona's answer to ``step`` said as plainly as possible, from the expected values."""
    data = expected.get(step, {})
    if step == 1:
        return (str(data["fitness_level"]),)
    if step == 2:
        return (
            f"equipment: {_items(data['equipment'], 'none')}. injuries: {_items(data['injuries'], 'none')}. "
            f"limitations: {_items(data['limitations'], 'none')}",
        )
    if step == 3:
        parts = [f"main goal {data['primary_goal'].replace('_', ' ')}"]
        if "secondary_goal" in data:
            parts.append(f"secondary goal {data['secondary_goal'].replace('_', ' ')}")
        if "target_weight_kg" in data:
            parts.append(f"target weight {_number(data['target_weight_kg'])} kg")
        if "target_body_fat_percentage" in data:
            parts.append(f"target body fat {_number(data['target_body_fat_percentage'])}%")
        return (", ".join(parts),)
    if step == 4:
        return (f"{data['location']}, {data['days_per_week']} days a week, {data['session_minutes']} minutes",)
    if step == 5:
        return ("yes",)
    if step == 6:
        return (
            f"{data['diet_type']}, allergies: {_items(data['allergies'], 'none')}, "
            f"intolerances: {_items(data['intolerances'], 'none')}, dislikes: {_items(data['dislikes'], 'none')}",
        )
    if step == 7:
        numbers = [
            f"{_number(data[name])}{unit}"
            for name, unit in (
                ("daily_calories", " calories"),
                ("protein_pct", "% protein"),
                ("carbs_pct", "% carbs"),
                ("fats_pct", "% fat"),
                ("meals_per_day", " meals"),
            )
            if name in data
        ]
        return (", ".join(numbers), "yes") if numbers else ("yes",)
    if step == 8:
        days = ", ".join(WEEKDAYS[day] for day in data["workout_days"])
        return (f"{days} at {data['workout_time']}, meals at {', '.join(data['meal_times'])}",)
    parts = [f"{_number(data['daily_water_ml'])} ml of water"]
    if "reminder_every_minutes" in data:
        parts.append(f"remind me every {data['reminder_every_minutes']} minutes")
    parts.append("interested in supplements" if data["interested_in_supplements"] else "no supplements")
    if data.get("current_supplements"):
        parts.append(f"I take {_items(data['current_supplements'], '')}")
    return (", ".join(parts),)
