"""Steps 8 and 9: the daily schedule (wake-up, sleep, workout and meal times), then hydration and
supplements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from offline_engine.extraction.common import (
    _CLAUSE_END_RE,
    _OBJECT_END_RE,
    Values,
    _hits,
    _negated,
    _object_items,
    _stated,
    _table,
)
from offline_engine.parsing import (
    TimeMention,
    clean_item,
    format_minutes,
    interval_mentions,
    number_mentions,
    parse_weekdays,
    time_mentions,
    volume_mentions,
)

# --- step 8: schedule ----------------------------------------------------------------------------------------

_CONTEXT_RE = re.compile(
    r"\b(?P<breakfast>breakfast|brekkie|brunch)\b|\b(?P<lunch>lunch)\b|\b(?P<dinner>dinner|supper|tea\s+time)\b"
    r"|\b(?P<meal>meals?|eat|eating|ate|snacks?|food|first\s+meal|last\s+meal)\b"
    r"|\b(?P<workout>train|trains|training|work\s*out|working\s*out|workouts?|exercis\w*|gym|lift|lifting|run|"
    r"running|sessions?|class|classes|jog|jogging|practice)\b"
)


_PLAIN_GAP_RE = re.compile(r"[\w' ]*")


@dataclass
class _Schedule:
    """The message's times, sorted by what they are said about."""

    workout: list[TimeMention] = field(default_factory=list)
    meals: list[tuple[TimeMention, str]] = field(default_factory=list)
    unassigned: list[TimeMention] = field(default_factory=list)


def _meal_minutes(mention: TimeMention, kind: str, previous: int | None) -> int:
    if not mention.twelve_hour:
        return mention.minutes
    morning, evening = mention.minutes, mention.minutes + 12 * 60
    hour = mention.minutes // 60
    if kind == "breakfast":
        return morning
    if kind == "lunch":
        return evening if hour <= 5 else morning
    if kind == "dinner":
        return evening
    # Meals named only as "meals": the day goes forward ("8, 1 and 7" -> 08:00, 13:00, 19:00).
    if previous is None:
        return morning if hour >= 5 else evening
    return morning if morning > previous else evening


# "7pm meals at 8, 13": a word followed by its own times introduces them; it does not name the time before.
_INTRODUCES_RE = re.compile(r"\s*(?:at|:|are|is|-|=)?\s*[0-9]")


def _schedule(norm: str) -> _Schedule:
    contexts = [(match.start(), match.lastgroup or "") for match in _CONTEXT_RE.finditer(norm)]
    schedule = _Schedule()
    for mention in time_mentions(norm):
        before = [kind for position, kind in contexts if position < mention.start]
        # A word right after the time counts too ("6am workout"), not one after a comma.
        after = [
            kind
            for position, kind in contexts
            if mention.end <= position <= mention.end + 15
            and _PLAIN_GAP_RE.fullmatch(norm[mention.end : position])
            and not _INTRODUCES_RE.match(norm, _CONTEXT_RE.match(norm, position).end())  # type: ignore[union-attr]
        ]
        kind = before[-1] if before else after[0] if after else ""
        if kind == "workout":
            if mention.clock:
                schedule.workout.append(mention)
        elif kind:
            schedule.meals.append((mention, kind))
        else:
            schedule.unassigned.append(mention)
    return schedule


def _step_schedule(norm: str) -> Values:
    values: Values = {}
    days = parse_weekdays(norm)
    if days:
        values["workout_days"] = days
    schedule = _schedule(norm)
    meal_times: list[int] = []
    previous: int | None = None
    for mention, kind in schedule.meals:
        previous = _meal_minutes(mention, kind, previous)
        meal_times.append(previous)
    workout = [mention.text for mention in schedule.workout]
    unassigned = schedule.unassigned
    clock_unassigned = [mention for mention in unassigned if mention.clock]
    if days and not workout and not meal_times and len(unassigned) >= 3 and unassigned[0].clock:
        # "Mon Wed Fri. 7am. 8, 13, 19.": the days, the workout's time, then the meals, as the coach asked.
        # A wrong guess cannot slip through: the meal times must match the meals a day, or are asked again.
        workout = [unassigned[0].text]
        for mention in unassigned[1:]:
            previous = _meal_minutes(mention, "meal", previous)
            meal_times.append(previous)
    if clock_unassigned and not workout and not meal_times and len(unassigned) >= 2:
        # A list of times with no word around them answers the one list question: meal times.
        for mention in unassigned:
            previous = _meal_minutes(mention, "meal", previous)
            meal_times.append(previous)
    elif len(clock_unassigned) == 1 and not workout:
        workout = [clock_unassigned[0].text]
    if workout:
        values["workout_time"] = workout[0]
    if meal_times:
        values["meal_times"] = [format_minutes(minutes) for minutes in sorted(meal_times)]
    return values


# --- step 9: hydration and supplements -------------------------------------------------------------------

_PER_INTERVAL_RE = re.compile(r"^\s*(?:every|each|per|an|a)\s+(?:[0-9.]+\s*)?(?:hours?|hrs?|minutes?|mins?)\b")
_BARE_WATER_RE = re.compile(r"(?<![0-9.:/])([0-9]{3,5})(?![0-9.:/])(?!\s*(?:%|mg|g\b|mcg|iu|kcal|cal|steps|min))")
_SUPPLEMENTS = _table(
    ("creatine", r"creatine"),
    ("whey protein", r"whey(?:\s+protein)?"),
    ("protein powder", r"protein\s+(?:powder|shakes?)"),
    ("casein", r"casein"),
    ("multivitamin", r"multi[\s-]?vitamins?|multis?"),
    ("vitamin d", r"vitamin\s+d3?|d3"),
    ("vitamin c", r"vitamin\s+c"),
    ("vitamin b12", r"vitamin\s+b[\s-]?12|b[\s-]?12"),
    ("vitamin b complex", r"(?:vitamin\s+)?b[\s-]complex"),
    ("fish oil", r"fish\s+oil|cod\s+liver\s+oil"),
    ("omega-3", r"omega[\s-]?3s?"),
    ("magnesium", r"magnesium"),
    ("zinc", r"zinc"),
    ("iron", r"iron"),
    ("calcium", r"calcium"),
    ("potassium", r"potassium"),
    ("caffeine", r"caffeine"),
    ("pre-workout", r"pre[\s-]?workouts?"),
    ("bcaa", r"bcaas?"),
    ("eaa", r"eaas?"),
    ("collagen", r"collagen"),
    ("ashwagandha", r"ashwagandha"),
    ("melatonin", r"melatonin"),
    ("electrolytes", r"electrolytes?"),
    ("beta-alanine", r"beta[\s-]?alanine"),
    ("glutamine", r"glutamine"),
    ("probiotics", r"probiotics?"),
    ("spirulina", r"spirulina"),
    ("turmeric", r"turmeric|curcumin"),
    ("biotin", r"biotin"),
    ("folic acid", r"folic\s+acid|folate"),
    ("vitamin e", r"vitamin\s+e"),
    ("vitamin k2", r"vitamin\s+k2|k2"),
    ("vitamin k", r"vitamin\s+k"),
    ("coq10", r"coq10|coenzyme\s+q10"),
    ("l-carnitine", r"l[\s-]?carnitine|carnitine"),
    ("greens powder", r"greens\s+powder|athletic\s+greens|ag1"),
)
_SUPPLEMENT_CUE_RE = re.compile(
    r"\b(?:take|taking|takes|use|using|i'?m\s+on|i\s+am\s+on|currently\s+on|supplement\s+with)\s+"
)
_SUPPLEMENT_CONTEXT_RE = re.compile(r"\bsupplements?\b|\bvitamins?\b|\bpills?\b|\bcapsules?\b")
_SUPPLEMENT_DOSE_RE = re.compile(
    r"\b[0-9.]+\s*(?:g|mg|mcg|iu|grams?|scoops?|tablets?|caps(?:ules)?|pills?)\b|\b(?:daily|every\s+day|a\s+day|"
    r"per\s+day|each\s+(?:day|morning|night)|in\s+the\s+(?:morning|evening)|at\s+night|sometimes|regularly|"
    r"already|currently|right\s+now|now)\b"
)
_NO_CURRENT_SUPPLEMENTS_RE = re.compile(
    r"\b(?:(?:don'?t|do\s+not|not)\s+(?:currently\s+|really\s+)?(?:take|taking|use|using|on)\s+any(?:thing)?"
    r"(?:\s+supplements?)?|(?:take|taking|on)\s+(?:no|zero)\s+supplements?|no\s+supplements?\s+(?:currently|"
    r"right\s+now|at\s+the\s+moment|yet|so\s+far)|(?:currently|right\s+now)\s+(?:none|nothing))\b"
)
_UNDECIDED_RE = re.compile(
    r"\b(?:not\s+sure|unsure|(?:don'?t|do\s+not)\s+know|no\s+idea|undecided|maybe|perhaps|not\s+decided)\b"
    r"(?![^.;!?\n]*\b(?:yes|interested|open\s+to)\b)"
)
_NOT_INTERESTED_RE = re.compile(
    r"\b(?:not\s+(?:really\s+)?(?:interested|into|keen|bothered)|no\s+(?:interest|thanks|thank\s+you|need)|"
    r"(?:don'?t|do\s+not)\s+(?:really\s+)?(?:want|need|care\s+about|like)\s+(?:any\s+)?(?:supplements?\s+)?(?:supplements?|advice|"
    r"recommendations?|suggestions?|pills)|no\s+supplements?(?!\s+(?:currently|right\s+now|at\s+the\s+moment|yet|"
    r"so\s+far))|skip\s+(?:the\s+)?supplements?|rather\s+not|not\s+for\s+me|without\s+supplements?)\b"
)
_INTERESTED_RE = re.compile(
    r"\b(?:interested|curious|keen|open)\b|\btell\s+me\s+(?:more\s+)?about\b|\b(?:want|like|love|need|"
    r"appreciate|get|give\s+me)\s+(?:some\s+|more\s+)?(?:supplement\s+)?(?:advice|recommendations?|suggestions?|"
    r"guidance|tips|help|info)\b|\brecommend\b|\bsuggest\b|\bwhat\s+(?:supplements?\s+)?should\s+i\s+take\b"
    r"|\b(?:yes|sure|yeah|yep|ok|okay)\b[\w\s,]{0,30}\bsupplements?\b|\bsupplements?\b[\w\s,]{0,20}"
    r"\b(?:yes|sure|please|sounds\s+good|would\s+be\s+great)\b"
)
_INTERESTED_WORD_RE = re.compile(r"\binterest(?:ed)?\b")
_BARE_YES_RE = re.compile(
    r"^\W*(?:yes|yeah|yep|yup|sure|ok|okay|yes\s+please|sure\s+thing|absolutely|definitely|why\s+not)\W*$"
)
_BARE_NO_RE = re.compile(r"^\W*(?:no|nope|nah|no\s+thanks|no\s+thank\s+you|not\s+really|not\s+interested)\W*$")


def _daily_water_ml(norm: str) -> int | None:
    for mention in volume_mentions(norm):
        if not _PER_INTERVAL_RE.match(norm, mention.end):
            return int(mention.value)
    # A bare number in the hydration step is millilitres ("3000"), when it is the only number.
    intervals = interval_mentions(norm)
    numbers = [
        mention
        for mention in number_mentions(norm)
        if not any(interval.start <= mention.start < interval.end for interval in intervals)
    ]
    bare = [int(match.group(1)) for match in _BARE_WATER_RE.finditer(norm) if int(match.group(1)) >= 500]
    return bare[0] if len(bare) == 1 and len(numbers) == 1 else None


def _current_supplements(norm: str) -> list[str] | None:
    found = [hit.label for hit in _hits(norm, _SUPPLEMENTS)]
    for cue in _SUPPLEMENT_CUE_RE.finditer(norm):
        if _negated(norm, cue.start()):
            continue
        end = _OBJECT_END_RE.search(norm, cue.end())
        clause = norm[cue.start() : end.start() if end else len(norm)]
        if not _SUPPLEMENT_CONTEXT_RE.search(clause):
            continue  # "I take a bottle to work" is not a supplement
        for raw in _object_items(norm, cue.end(), []):
            item = clean_item(_SUPPLEMENT_DOSE_RE.sub(" ", raw))
            if item and not _SUPPLEMENT_CONTEXT_RE.fullmatch(item) and not any(label in item for label in found):
                found.append(item)
    found = list(dict.fromkeys(found))
    if found:
        return found[:20]
    return [] if _NO_CURRENT_SUPPLEMENTS_RE.search(norm) else None


def _interested(norm: str) -> bool | None:
    # The step's one yes/no question, answered alone or as a clause of its own ("2 litres. No.").
    last = ([clause for clause in _CLAUSE_END_RE.split(norm) if clause.strip()] or [norm])[-1]
    if _BARE_NO_RE.match(last):
        return False
    if _BARE_YES_RE.match(last):
        return True
    if _NOT_INTERESTED_RE.search(norm):
        return False
    if _UNDECIDED_RE.search(norm):
        return None  # "not sure about supplements": asked again, never guessed
    if _SUPPLEMENT_CONTEXT_RE.search(norm) or _INTERESTED_WORD_RE.search(norm):
        return True if _INTERESTED_RE.search(norm) else None
    return None


def _step_hydration_supplements(norm: str) -> Values:
    intervals = interval_mentions(norm)
    return _stated(
        daily_water_ml=_daily_water_ml(norm),
        reminder_every_minutes=int(intervals[0].value) if intervals else None,
        interested_in_supplements=_interested(norm),
        current_supplements=_current_supplements(norm),
    )
