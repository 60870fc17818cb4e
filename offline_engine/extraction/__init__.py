"""Per-step extraction for the offline engine: which of a step's fields a user message states.

``extract(step, message)`` returns candidate values typed as the step's JSON schema expects.
The caller validates them (``onboarding.steps.step_fields_validate``), so a value the user
really said but that is out of range ("I want 12 training days") is returned for the
service to reject with a reason; a value the user did not state is never returned.

Explicit "none":

* A list field is set to ``[]`` only when the message says so about that field ("no injuries
  or limitations" sets ``injuries`` and ``limitations``, not ``equipment``).
* A bare "none" / "no" / "nothing" / "I don't have any" with no field named sets *every*
  list field of the step (nested ones too, e.g. step 1's ``experience.activities``) that the
  message does not otherwise set. The engine calls ``extract`` with the current step only,
  so "every list field of this step" is what the user was most likely asked about.
* In step 9 a bare "no" / "yes" also answers ``interested_in_supplements``, the step's only
  yes/no question.

Approvals (steps 5 and 7): ``approved`` is True only for a plain approval. A message that
asks for a change carries the change fields instead and no ``approved`` (a changed plan needs
a fresh look); a refusal or a change request we could not read gives ``approved: False``.

Step 5 may also return the plan change fields the workout agent accepts: ``days_per_week``,
``session_minutes`` and ``focus_changes`` (``[{"weekday": 0..6, "focus": ...}]``).

The steps' readers live in ``fitness`` (1-2), ``goals`` (3), ``workouts`` (4-5), ``diet`` (6-7) and
``routine`` (8-9), on the helpers in ``common``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from offline_engine.extraction.common import _CLAUSE_END_RE, Values, _fill_bare_none, list_field_paths
from offline_engine.extraction.diet import _step_diet_preferences, _step_meal_plan
from offline_engine.extraction.fitness import _step_fitness_level, _step_limitations, step2_class
from offline_engine.extraction.goals import _step_goals, goal_named
from offline_engine.extraction.routine import _step_hydration_supplements, _step_schedule
from offline_engine.extraction.workouts import _step_workout_plan, _step_workout_preferences
from offline_engine.parsing import is_bare_none, normalize
from onboarding.steps import step_get

__all__ = [
    "STEP_EXTRACTORS",
    "Values",
    "extract",
    "goal_named",
    "list_field_paths",
    "says_bare_none",
    "step2_class",
]

STEP_EXTRACTORS: dict[int, Callable[[str], Values]] = {
    1: _step_fitness_level,
    2: _step_limitations,
    3: _step_goals,
    4: _step_workout_preferences,
    5: _step_workout_plan,
    6: _step_diet_preferences,
    7: _step_meal_plan,
    8: _step_schedule,
    9: _step_hydration_supplements,
}


def says_bare_none(norm: str) -> bool:
    """The answer, or one of its clauses, is a plain "none" ("none", "I eat everything, none")."""
    return is_bare_none(norm) or any(is_bare_none(clause) for clause in _CLAUSE_END_RE.split(norm) if clause.strip())


def extract(step: int, message: str) -> dict[str, Any]:
    """The values ``message`` states for ``step``'s fields; ``ValueError`` for a step outside 1..9."""
    step_get(step)
    norm = normalize(message)
    values = STEP_EXTRACTORS[step](norm)
    if says_bare_none(norm):
        _fill_bare_none(step, values)
    return values
