"""Steps 4 and 5: workout preferences (location, days a week, session length) and the workout plan's
approval or changes.
"""

from __future__ import annotations

import re
from typing import Any

from offline_engine.extraction.common import (
    _RANGE_BEFORE_RE,
    Values,
    _hits,
    _preceded_by,
    _stated,
    _table,
)
from offline_engine.parsing import (
    duration_mentions,
    parse_approval,
    parse_weekdays,
)
from onboarding.steps import WORKOUT_FOCUSES

# --- step 4: workout preferences --------------------------------------------------------------------

_LOCATIONS = _table(
    (
        "home",
        r"home(?:\s+gym)?|my\s+(?:house|place|apartment|flat|bedroom|garage|basement|living\s*room)|living\s*room|"
        r"garage|basement|indoors\s+at\s+home",
    ),
    (
        "gym",
        r"(?<!home\s)(?<!home-)gym|fitness\s+(?:center|centre|club|studio)|health\s+club|leisure\s+(?:center|centre)|"
        r"ymca|crossfit\s+box|weight\s*room|planet\s+fitness|studio",
    ),
    (
        "outdoor",
        r"outside|outdoors?|park|parks|trails?|(?:running|the)\s+track|beach|nature|open\s+air|streets?|"
        r"in\s+the\s+woods|forest|hills",
    ),
)
_PREFERENCE_CUE_RE = re.compile(r"\b(?:mostly|mainly|usually|primarily|prefer(?:ably)?|mainly|normally)\b[\w\s]{0,20}$")
_DAYS_RE = re.compile(
    r"(?<![0-9.\-/])([0-9]{1,3})\s*(?:x|times|days?|sessions?|workouts?|training\s+days|days\s+of\s+training|"
    r"trainings?)\b(?:\s*(?:a|per|each|every|/|in\s+a)\s*week)?"
)
_EVERY_DAY_RE = re.compile(r"\b(?:every\s?day|daily|all\s+week|7\s+days)\b")
_PER_RE = re.compile(r"\b(?:every|each)\s+$")
_PER_DAY_RE = re.compile(r"\s*(?:a|per)\s+day\b")
_EVERY_OTHER_DAY_RE = re.compile(r"\bevery\s+other\s+day\b")


def _location(norm: str) -> str | None:
    hits = _hits(norm, _LOCATIONS)
    labels = list(dict.fromkeys(hit.label for hit in hits))
    if len(labels) == 1:
        return labels[0]
    preferred = [hit.label for hit in hits if _preceded_by(norm, hit.start, _PREFERENCE_CUE_RE)]
    # Two places and no "mostly": ask again rather than pick one.
    return preferred[0] if len(set(preferred)) == 1 else None


def _days_per_week(norm: str) -> int | None:
    for match in _DAYS_RE.finditer(norm):
        if _preceded_by(norm, match.start(), _RANGE_BEFORE_RE) or _preceded_by(norm, match.start(), _PER_RE):
            continue
        if _PER_DAY_RE.match(norm, match.end()):
            continue  # "3 times a day" is not days a week
        return int(match.group(1))
    if _EVERY_DAY_RE.search(norm) and not _EVERY_OTHER_DAY_RE.search(norm):
        return 7
    weekdays = parse_weekdays(norm)
    return len(weekdays) or None


def _session_minutes(norm: str) -> int | None:
    for mention in duration_mentions(norm):
        if not _preceded_by(norm, mention.start, _PER_RE):
            return int(mention.value)
    return None


def _step_workout_preferences(norm: str) -> Values:
    return _stated(
        location=_location(norm) or None, days_per_week=_days_per_week(norm), session_minutes=_session_minutes(norm)
    )


# --- step 5: workout plan -------------------------------------------------------------------------------

_FOCUSES = _table(
    ("full_body", r"full[\s-]?body|whole[\s-]?body|total[\s-]?body"),
    ("upper_body", r"upper(?:[\s-]?body)?"),
    ("lower_body", r"lower(?:[\s-]?body)?"),
    ("push", r"push(?![\s-]?ups?)(?:\s+day)?"),
    ("pull", r"pull(?![\s-]?ups?)(?:\s+day)?"),
    ("legs", r"legs?(?:\s+day)?"),
    ("cardio", r"cardio|conditioning|hiit|running|endurance"),
    ("core", r"core|abs|abdominals"),
    ("mobility", r"mobility|stretching|stretch|flexibility|yoga"),
)
assert {label for label, _ in _FOCUSES} <= set(WORKOUT_FOCUSES)
_FOCUS_NOT_TARGET_RE = re.compile(
    r"\b(?:instead\s+of|rather\s+than|not|from|no\s+more|replace|swap\s+out|than)\s+(?:the\s+)?"
    r"(?:[a-z]+day'?s\s+)?$"
)
_CLAUSE_SPLIT_RE = re.compile(r"[.;!?\n,]|\band\b|\bbut\b|\bthen\b|\balso\b|\bplus\b")


def _focus_changes(norm: str) -> list[dict[str, Any]]:
    changes: dict[int, str] = {}
    pending: list[int] = []
    for clause in _CLAUSE_SPLIT_RE.split(norm):
        # "make Monday and Thursday upper body": days waiting for a focus join the next clause's.
        days = sorted({*pending, *parse_weekdays(clause)})
        hits = [hit for hit in _hits(clause, _FOCUSES) if not _preceded_by(clause, hit.start, _FOCUS_NOT_TARGET_RE)]
        if days and hits:
            for day in days:
                changes.pop(day, None)
                changes[day] = hits[-1].label
            pending = []
        elif days:
            pending = days
    return [{"weekday": day, "focus": focus} for day, focus in changes.items()]


def _step_workout_plan(norm: str) -> Values:
    changes = _stated(
        focus_changes=_focus_changes(norm) or None,
        days_per_week=_days_per_week_change(norm),
        session_minutes=_session_minutes(norm),
    )
    # A message that asks for changes is not an approval of the plan as it was.
    return changes or _stated(approved=parse_approval(norm))


def _days_per_week_change(norm: str) -> int | None:
    """An explicit new number of training days; weekday names here are focus changes, not a count."""
    for match in _DAYS_RE.finditer(norm):
        if _preceded_by(norm, match.start(), _RANGE_BEFORE_RE) or _preceded_by(norm, match.start(), _PER_RE):
            continue
        return int(match.group(1))
    return 7 if _EVERY_DAY_RE.search(norm) and not _EVERY_OTHER_DAY_RE.search(norm) else None
