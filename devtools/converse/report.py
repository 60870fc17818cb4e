"""Judge walks against the personas' ground truth, and sum them into the figures ``make converse`` prints.

* A **wrong field** is a stored value that differs from what the persona meant (a value missing, a
  different value, or something stored that the persona never said), in a step that has stored data.
* A **lost item** is an item the persona named (an injury, an allergy, ...) that is not in the stored
  list, in a step that has stored data.
* **Turns per step** are the messages sent divided by the steps walked: the nine steps (or, for a
  persona that got stuck, those completed plus the one it got stuck at), plus the review when the
  coach asked for one. A step an earlier message already answered counts as walked with no turn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from devtools.converse.corpus import KEEP_FIELDS, STEPS, Persona
from devtools.converse.walk import REVIEW, WalkResult

TARGET_CORRECT_RATE = 0.95
TARGET_TURNS_PER_STEP = 1.3
TARGET_LOST_ITEMS = 0
# Values the coach proposes: a persona who just approves means "whatever you proposed".
PROPOSED = {5: {"plan"}, 7: {"daily_calories", "protein_pct", "carbs_pct", "fats_pct", "meals_per_day"}}


@dataclass(frozen=True)
class WrongField:
    """A stored value that is not what the persona meant."""

    persona: str
    step: int
    field: str
    expected: Any
    got: Any

    def detail(self) -> str:
        """The mismatch, without the persona's name."""
        return f"step {self.step} {self.field}: expected {self.expected!r}, got {self.got!r}"

    def __str__(self) -> str:
        return f"{self.persona}: {self.detail()}"


@dataclass(frozen=True)
class LostItem:
    """An item the persona named that the stored data does not have."""

    persona: str
    field: str
    item: str
    got: Any

    def detail(self) -> str:
        """The loss, without the persona's name."""
        return f"{self.field} lost {self.item!r} (stored {self.got!r})"

    def __str__(self) -> str:
        return f"{self.persona}: {self.detail()}"


@dataclass(frozen=True)
class Verdict:
    """One walk, judged."""

    walk: WalkResult
    wrong: tuple[WrongField, ...]
    lost: tuple[LostItem, ...]

    @property
    def correct(self) -> bool:
        """Completed, with every field right and nothing lost."""
        return self.walk.completed and not self.wrong and not self.lost

    @property
    def understood(self) -> bool:
        """Correct, and no fallback was needed: the coach understood the persona as they wrote."""
        return self.correct and self.walk.fallbacks() == 0

    @property
    def steps_walked(self) -> int:
        """The steps this walk went through (see the module docstring)."""
        steps = set(self.walk.completed_steps) if not self.walk.completed else set(STEPS)
        if isinstance(self.walk.stuck_at, int):
            steps.add(self.walk.stuck_at)
        return len(steps) + (1 if REVIEW in self.walk.turns_by_step() else 0)


@dataclass(frozen=True)
class Summary:
    """The figures over all walks, and whether each target is met."""

    verdicts: tuple[Verdict, ...]

    @property
    def personas(self) -> int:
        """How many personas walked."""
        return len(self.verdicts)

    @property
    def completed(self) -> int:
        """How many finished onboarding."""
        return sum(1 for verdict in self.verdicts if verdict.walk.completed)

    @property
    def correct(self) -> int:
        """How many finished with every field right and nothing lost."""
        return sum(1 for verdict in self.verdicts if verdict.correct)

    @property
    def understood(self) -> int:
        """How many were correct without any fallback message."""
        return sum(1 for verdict in self.verdicts if verdict.understood)

    @property
    def fallbacks(self) -> int:
        """Fallback messages over all walks."""
        return sum(verdict.walk.fallbacks() for verdict in self.verdicts)

    @property
    def correct_rate(self) -> float:
        """``correct`` as a share of all personas."""
        return self.correct / self.personas if self.personas else 0.0

    @property
    def turns_per_step(self) -> float:
        """All messages sent divided by all steps walked."""
        steps = sum(verdict.steps_walked for verdict in self.verdicts)
        turns = sum(len(verdict.walk.turns) for verdict in self.verdicts)
        return turns / steps if steps else 0.0

    @property
    def wrong(self) -> list[WrongField]:
        """Every wrong field of every walk."""
        return [wrong for verdict in self.verdicts for wrong in verdict.wrong]

    @property
    def lost(self) -> list[LostItem]:
        """Every lost item of every walk."""
        return [lost for verdict in self.verdicts for lost in verdict.lost]

    def targets(self) -> list[tuple[str, bool]]:
        """Each target, said in words, and whether it is met."""
        return [
            (
                f"complete with every field right >= {TARGET_CORRECT_RATE:.0%}: {self.correct_rate:.1%}",
                self.correct_rate >= TARGET_CORRECT_RATE,
            ),
            (
                f"mean turns per step <= {TARGET_TURNS_PER_STEP}: {self.turns_per_step:.2f}",
                self.turns_per_step <= TARGET_TURNS_PER_STEP,
            ),
            (f"lost items == {TARGET_LOST_ITEMS}: {len(self.lost)}", len(self.lost) == TARGET_LOST_ITEMS),
        ]


# --- Comparing values --------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    # Plurals and case do not make a different item: "Peanuts" is "peanut".
    return tuple(
        word[:-1] if len(word) > 3 and word.endswith("s") else word for word in re.findall(r"\w+", text.lower())
    )


def item_matches(expected: str, got: Any) -> bool:
    """True when the stored item ``got`` says the expected item (one of its ``|`` alternatives), by words."""
    if not isinstance(got, str):
        return False
    got_words = _words(got)
    for alternative in expected.split("|"):
        wanted = _words(alternative)
        if wanted and all(word in got_words for word in wanted):
            return True
    return False


def _list_matches(expected: list[Any], got: Any) -> bool:
    if not isinstance(got, list) or len(got) != len(expected):
        return False
    remaining = list(got)
    for item in expected:
        match = next((stored for stored in remaining if item_matches(str(item), stored)), None)
        if match is None:
            return False
        remaining.remove(match)
    return True


def value_matches(expected: Any, got: Any) -> bool:
    """True when a stored value is what the persona meant (see ``corpus`` for the forms)."""
    if expected is None and got == []:
        return True  # an optional list left out or saved empty says the same: none
    if isinstance(expected, dict) and set(expected) == {"between"}:
        low, high = expected["between"]
        return isinstance(got, int | float) and not isinstance(got, bool) and low <= got <= high
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and set(got) == set(expected)
            and all(value_matches(value, got[key]) for key, value in expected.items())
        )
    if isinstance(expected, list) and all(isinstance(item, str) for item in expected):
        return _list_matches(expected, got)
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected is got
    return bool(expected == got)


def _wrong_fields(persona: Persona, step_data: dict[int, dict[str, Any]]) -> list[WrongField]:
    wrong = []
    for step in STEPS:
        got = step_data.get(step)
        if not got:
            continue
        expected = persona.expected[step]
        ignored = PROPOSED.get(step, set()) - set(expected)
        for name in sorted((set(expected) | set(got)) - ignored):
            if not value_matches(expected.get(name), got.get(name)):
                wrong.append(WrongField(persona.name, step, name, expected.get(name), got.get(name)))
    return wrong


def _lost_items(persona: Persona, step_data: dict[int, dict[str, Any]]) -> list[LostItem]:
    lost = []
    for name, items in persona.keep.items():
        got = step_data.get(KEEP_FIELDS[name])
        if not got:
            continue
        stored = got.get(name)
        for item in items:
            if not isinstance(stored, list) or not any(item_matches(item, value) for value in stored):
                lost.append(LostItem(persona.name, name, item, stored))
    return lost


def walk_judge(walk: WalkResult) -> Verdict:
    """Compare one walk's stored data with its persona's ground truth."""
    return Verdict(
        walk=walk,
        wrong=tuple(_wrong_fields(walk.persona, walk.step_data)),
        lost=tuple(_lost_items(walk.persona, walk.step_data)),
    )


def summary_make(walks: Sequence[WalkResult]) -> Summary:
    """Judge every walk."""
    return Summary(verdicts=tuple(walk_judge(walk) for walk in walks))


# --- Text ---------------------------------------------------------------------------------


def verdict_problems(verdict: Verdict) -> list[str]:
    """What went wrong in one walk, one line each (empty when it is correct)."""
    problems = []
    if verdict.walk.fallbacks():
        problems.append(f"{verdict.walk.fallbacks()} fallback message(s): the coach asked again")
    if not verdict.walk.completed:
        problems.append(f"not completed (stuck at {verdict.walk.stuck_at or 'an unknown step'})")
    problems += [wrong.detail() for wrong in verdict.wrong]
    problems += [lost.detail() for lost in verdict.lost]
    return problems


def summary_text(summary: Summary) -> str:
    """The report ``make converse`` prints."""
    lines = [
        f"Personas: {summary.personas}; completed: {summary.completed}; "
        f"completed with every field right and nothing lost: {summary.correct} ({summary.correct_rate:.1%})",
        f"Correct without any fallback message (understood as written): {summary.understood}",
        f"Mean turns per step: {summary.turns_per_step:.2f} ({summary.fallbacks} fallback messages in all)",
        _per_step_line(summary),
        f"Wrong fields: {len(summary.wrong)}",
        *(f"  {wrong}" for wrong in summary.wrong),
        f"Lost items: {len(summary.lost)}",
        *(f"  {lost}" for lost in summary.lost),
        "Not completed: " + (", ".join(_not_completed(summary)) or "none"),
        "Targets:",
        *(f"  [{'met' if met else 'NOT MET'}] {text}" for text, met in summary.targets()),
    ]
    return "\n".join(lines)


def _not_completed(summary: Summary) -> list[str]:
    return [
        f"{verdict.walk.persona.name} (stuck at {verdict.walk.stuck_at})"
        for verdict in summary.verdicts
        if not verdict.walk.completed
    ]


def _per_step_line(summary: Summary) -> str:
    parts = []
    for step in (*STEPS, REVIEW):
        counts = [
            verdict.walk.turns_by_step()[step]
            for verdict in summary.verdicts
            if verdict.walk.turns_by_step()[step] or (isinstance(step, int) and step in verdict.walk.completed_steps)
        ]
        if counts:
            parts.append(f"{step}: {sum(counts) / len(counts):.2f}")
    return "Turns by step (mean over the personas that reached it): " + ", ".join(parts)


def transcript_text(verdict: Verdict) -> str:
    """One walk as a readable transcript, with its verdict."""
    persona = verdict.walk.persona
    lines = [f"# {persona.name}: {persona.about}"]
    if persona.known_gap:
        lines.append(f"# known gap: {persona.known_gap}")
    understood = "understood as written" if verdict.understood else "NOT understood as written"
    lines.append(f"# verdict: {'correct' if verdict.correct else 'NOT correct'}, {understood}")
    lines += [f"#   {problem}" for problem in verdict_problems(verdict)]
    lines.append(f"# turns by step: {dict(verdict.walk.turns_by_step())}")
    lines.append("")
    for turn in verdict.walk.turns:
        lines.append(f"[step {turn.step}] USER{' (fallback)' if turn.fallback else ''}: {turn.message}")
        lines.append(f"COACH ({turn.next_action}): {turn.reply}")
        if turn.saved:
            lines.append(f"    saved: {turn.saved}")
        if turn.errors:
            lines.append(f"    errors: {turn.errors}")
        lines.append("")
    lines.append("Stored step data:")
    lines += [f"  {step}: {verdict.walk.step_data[step]}" for step in sorted(verdict.walk.step_data) if step != 5]
    if 5 in verdict.walk.step_data:
        lines.append(f"  5: approved={verdict.walk.step_data[5].get('approved')!r} (plan not shown)")
    return "\n".join(lines) + "\n"
