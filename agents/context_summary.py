"""The ``context_summary`` of ``GET onboarding/current-agent``: what each agent has collected, compact and flat.

One object per agent (keyed like its memory: ``fitness_assessment``, ``goal_setting``,
``workout_planning``, ``diet_planning``, ``scheduling``) that has collected anything,
holding the answers of its steps so far: what was saved, overlaid by what the chat has
collected since (the draft). Every value is a plain JSON value a person can read:

* a field's value as stored: ``"fitness_level": "beginner"``, ``"days_per_week": 3``,
  ``"allergies": ["peanuts"]``, ``"meal_times": ["07:30", "12:30"]``;
* a nested answer lifted to the top: the ``experience`` of step 1 gives ``pushups``,
  ``workouts_per_week`` and ``activities``;
* weekdays by name: ``"workout_days": ["Monday", "Wednesday", "Friday"]``;
* an approval named after its step: ``"workout_plan_approved": true``,
  ``"meal_plan_approved": true``;
* the workout plan as one line per session, never the plan itself:
  ``"workout_plan": ["Monday: full body, 45 minutes", ...]``.

The keys and their types are derived from the step catalogue, so the OpenAPI schema
(``context_summary_schema``) lists exactly what a summary can hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agents.registry import AGENTS
from agents.turn.memory import draft_get
from onboarding.models import OnboardingState
from onboarding.steps import (
    WEEKDAY_NAMES,
    Boolean,
    FieldSpec,
    Group,
    ProposalKind,
    StepDefinition,
    WeekdayList,
    plain_text,
    step_get,
)


def _is_plan(step: StepDefinition, spec: FieldSpec) -> bool:
    """The generated workout plan: summarised, never shown whole."""
    return step.proposal is ProposalKind.WORKOUT_PLAN and isinstance(spec, Group)


def _is_approval(spec: FieldSpec) -> bool:
    return isinstance(spec, Boolean) and spec.must_be_true


def _session_line(session: Any) -> str | None:
    """``"Monday: full body, 45 minutes"`` for one session of a plan (None for a malformed one)."""
    if not isinstance(session, dict) or session.get("weekday") not in range(len(WEEKDAY_NAMES)):
        return None
    line = f"{WEEKDAY_NAMES[session['weekday']]}: {plain_text(session.get('focus', ''))}"
    return f"{line}, {session['minutes']} minutes" if isinstance(session.get("minutes"), int) else line


def _entries(step: StepDefinition, spec: FieldSpec, value: Any) -> Iterator[tuple[str, Any]]:
    """The summary's ``(key, value)`` pairs for one field's value."""
    if _is_plan(step, spec):
        sessions = value.get("sessions", []) if isinstance(value, dict) else []
        yield step.name, [line for session in sessions if (line := _session_line(session))]
    elif isinstance(spec, Group):
        specs = {sub.name: sub for sub in spec.fields}
        for name, item in value.items() if isinstance(value, dict) else ():
            if name in specs:
                yield from _entries(step, specs[name], item)
    elif isinstance(spec, WeekdayList):
        days = value if isinstance(value, list) else []
        yield spec.name, [WEEKDAY_NAMES[day] for day in days if day in range(len(WEEKDAY_NAMES))]
    elif _is_approval(spec):
        yield f"{step.name}_approved", value
    else:
        yield spec.name, value


def _schemas(step: StepDefinition, spec: FieldSpec) -> Iterator[tuple[str, dict[str, Any]]]:
    """The summary's ``(key, JSON Schema)`` pairs for one field: the same keys as ``_entries``."""
    if _is_plan(step, spec):
        yield step.name, {"type": "array", "items": {"type": "string"}, "description": "One line per session."}
    elif isinstance(spec, Group):
        for sub in spec.fields:
            yield from _schemas(step, sub)
    elif isinstance(spec, WeekdayList):
        yield spec.name, {"type": "array", "items": {"type": "string", "enum": list(WEEKDAY_NAMES)}}
    elif _is_approval(spec):
        yield f"{step.name}_approved", {"type": "boolean", "description": spec.description}
    else:
        yield spec.name, spec.json_schema()


def context_summary_get(*, state: OnboardingState) -> dict[str, dict[str, Any]]:
    """What each agent has collected so far, flat and readable (see the module docstring)."""
    summary: dict[str, dict[str, Any]] = {}
    for agent in AGENTS:
        collected: dict[str, Any] = {}
        for number in agent.steps:
            step = step_get(number)
            draft = draft_get(state=state, agent=agent, step=number)
            for spec in step.fields:
                if spec.name in draft:
                    collected.update(_entries(step, spec, draft[spec.name]))
        if collected:
            summary[agent.context_key] = collected
    return summary


def context_summary_schema() -> dict[str, Any]:
    """The OpenAPI schema of ``context_summary``: one optional object per agent, each key optional."""
    agents: dict[str, Any] = {}
    for agent in AGENTS:
        properties = {
            key: schema
            for number in agent.steps
            for spec in step_get(number).fields
            for key, schema in _schemas(step_get(number), spec)
        }
        agents[agent.context_key] = {
            "type": "object",
            "description": f"What the {agent.agent_type} agent has collected (steps "
            f"{', '.join(map(str, agent.steps))}); only the keys collected so far.",
            "properties": properties,
            "additionalProperties": False,
        }
    return {
        "type": "object",
        "description": "What each agent has collected so far, saved or not yet saved: flat, readable values; "
        "the workout plan as one line per session. Agents that have collected nothing are left out.",
        "properties": agents,
        "additionalProperties": False,
        "example": {"fitness_assessment": {"fitness_level": "beginner", "pushups": 10}},
    }
