"""Weekdays and times of day in text: "Mon/Wed/Fri", "weekdays except friday", "7am", "half past 6",
"at 7 in the evening", "noon".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from offline_engine.parsing.text import _ends_with, normalize

MINUTES_PER_DAY = 24 * 60
ALL_WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class TimeMention:
    """A time of day found in normalized text.

    ``minutes`` is minutes after midnight on a literal 24-hour reading. ``clock`` says it
    is a time even without context (``:``, am/pm, o'clock, "in the evening", noon).
    ``twelve_hour`` says the hour (1..11, no am/pm, no part of day) could also be the
    evening: a meal word next to it may decide.
    """

    start: int
    end: int
    minutes: int
    clock: bool
    twelve_hour: bool

    @property
    def text(self) -> str:
        """The time as ``HH:MM``."""
        return format_minutes(self.minutes)


# --- weekdays ----------------------------------------------------------------------------

_DAY_SPELLINGS: dict[str, int] = {}
for _index, _names in enumerate(
    (
        ("monday", "mon"),
        ("tuesday", "tues", "tue"),
        ("wednesday", "weds", "wed"),
        ("thursday", "thurs", "thur", "thu"),
        ("friday", "fri"),
        ("saturday", "sat"),
        ("sunday", "sun"),
    )
):
    for _name in _names:
        _DAY_SPELLINGS[_name] = _index
        _DAY_SPELLINGS[_name + "s"] = _index
# Also ordinary English words: they count only next to another weekday ("sat and sun").
_AMBIGUOUS_DAYS = {"wed", "weds", "sat", "sats", "sun", "suns", "mons"}
_DAY_RE = re.compile(r"\b(" + "|".join(sorted(_DAY_SPELLINGS, key=len, reverse=True)) + r")(?![a-z])")
_DAY_SEPARATOR_RE = re.compile(
    r"^[\s,/&+.]*(?:(?:and|or|plus|then|&|to|through|thru|till|until|-)\s*)?(?:on\s+)?[\s,/&+]*$"
)
_DAY_RANGE_RE = re.compile(r"-|\bto\b|\bthrough\b|\bthru\b|\btill\b|\buntil\b")
_AMBIGUOUS_DAY_CUE_RE = re.compile(r"\b(?:on|every|each|this|next)\s+$")
_DAY_GROUPS: tuple[tuple[re.Pattern[str], tuple[int, ...]], ...] = (
    (re.compile(r"\b(?:week\s?days|work\s?days|weekday|working\s+days)\b"), (0, 1, 2, 3, 4)),
    (re.compile(r"\bweek\s?ends?\b"), (5, 6)),
    (
        re.compile(r"\b(?:every\s?day|daily|all\s+week|every\s+single\s+day|each\s+day|7\s+days\s+(?:a|per)\s+week)\b"),
        ALL_WEEKDAYS,
    ),
)
_DAY_EXCLUDE_RE = re.compile(
    r"\b(?:except(?:\s+for)?|excluding|but\s+not|not|apart\s+from|other\s+than|besides|minus|without|no|"
    r"skip(?:ping)?|off|can'?t\s+do|cannot\s+do|rest(?:ing)?)\s+(?:on\s+)?(?:the\s+)?$"
)


def _day_span(first: int, last: int) -> set[int]:
    days = {first}
    day = first
    while day != last:
        day = (day + 1) % 7
        days.add(day)
    return days


def _weekday_runs(norm: str) -> list[tuple[int, int, set[int]]]:
    """Lists and ranges of weekday names as (start, end, days)."""
    tokens = [(match.start(), match.end(), match.group(1)) for match in _DAY_RE.finditer(norm)]
    runs: list[tuple[int, int, set[int], list[str]]] = []
    previous: tuple[int, int, str] | None = None
    for start, end, word in tokens:
        day = _DAY_SPELLINGS[word]
        separator = norm[previous[1] : start] if previous else ""
        if previous and runs and _DAY_SEPARATOR_RE.match(separator):
            run_start, _, days, words = runs[-1]
            if _DAY_RANGE_RE.search(separator):
                days |= _day_span(_DAY_SPELLINGS[previous[2]], day)
            days.add(day)
            words.append(word)
            runs[-1] = (run_start, end, days, words)
        else:
            runs.append((start, end, {day}, [word]))
        previous = (start, end, word)
    return [
        (start, end, days)
        for start, end, days, words in runs
        if len(words) > 1 or words[0] not in _AMBIGUOUS_DAYS or _ends_with(norm, start, _AMBIGUOUS_DAY_CUE_RE, 12)
    ]


def parse_weekdays(text: str) -> list[int]:
    """Weekdays the text names, 0 = Monday .. 6 = Sunday, sorted and distinct.

    "Mon/Wed/Fri" -> [0, 2, 4]; "monday through friday", "weekdays" -> [0..4]; "weekends" -> [5, 6];
    "every day except sunday" -> [0..5].
    """
    norm = normalize(text)
    items = list(_weekday_runs(norm))
    for pattern, group in _DAY_GROUPS:
        items.extend((match.start(), match.end(), set(group)) for match in pattern.finditer(norm))
    included: set[int] = set()
    excluded: set[int] = set()
    for start, _, days in items:
        (excluded if _ends_with(norm, start, _DAY_EXCLUDE_RE, 30) else included).update(days)
    return sorted(included - excluded)


# --- times of day ----------------------------------------------------------------------------

_TIME_RE = re.compile(
    r"(?<![0-9:.])"
    r"(?:(?P<frac>half|quarter)\s+(?P<rel>past|after|to)\s+)?"
    r"(?P<h>[0-9]{1,2})"
    r"(?:(?P<sep>[:.])(?P<m>[0-9]{2}))?"
    r"(?![0-9]|[.:][0-9])"
    r"(?:\s*(?P<oclock>o'?\s?clock))?"
    r"(?:\s*(?P<mer>[ap])\.?\s?m\b)?"
    r"(?:\s*(?:in\s+the\s+|at\s+|this\s+)?"
    r"(?P<part>morning|afternoon|evening|night|tonight|noon|midday|midnight)\b)?"
)
_NAMED_TIME_RE = re.compile(r"\b(?P<name>noon|midday|midnight)\b")
# A bare number followed by one of these is a quantity, not an hour.
_NOT_AN_HOUR_RE = re.compile(
    r"\s*(?:%|percent|per\s*cent|x\b|times|min|mins|minutes?|h\b|hrs?|hours?|kg|kgs|kilos?|lbs?|pounds?|stones?"
    r"|meals?|snacks?|days?|weeks?|months?|years?|yrs?|y/?o\b|l\b|lit|ml|cl|glass|cups?|oz|ounces?|gallons?|pints?"
    r"|reps?|sets?|push|pull|press|sit|squat|sessions?|workouts?|k\b|kcal|cals?|calories|g\b|grams?|servings?"
    r"|st\b|nd\b|rd\b|th\b|/|-\s*[0-9]|\.[0-9])"
)


def format_minutes(minutes: int) -> str:
    """Minutes after midnight as ``HH:MM`` (wrapping at 24 h)."""
    minutes %= MINUTES_PER_DAY
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_time(hour: int, minute: int) -> str:
    """``HH:MM`` for a valid 24-hour time; ``ValueError`` otherwise."""
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"Not a time of day: {hour}:{minute}")
    return f"{hour:02d}:{minute:02d}"


def _hour_with_part(hour: int, part: str) -> int | None:
    if part in ("noon", "midday"):
        return 12 if hour == 12 else None
    if part == "midnight":
        return 0 if hour == 12 else None
    if hour > 12:
        return hour if part != "morning" else None
    if part == "morning":
        return hour % 12
    if part in ("afternoon", "evening"):
        return hour if hour == 12 else hour + 12
    # night: "10 at night" is 22:00, "2 at night" 02:00, "12 at night" midnight.
    if hour == 12:
        return 0
    return hour + 12 if hour >= 6 else hour


def _time_from_match(norm: str, match: re.Match[str]) -> TimeMention | None:
    hour_text = match.group("h")
    hour, minute = int(hour_text), int(match.group("m") or 0)
    separator, meridiem, part = match.group("sep"), match.group("mer"), match.group("part")
    if minute > 59 or (separator == "." and not (meridiem or part)):
        return None  # "2.50" is a number, not ten to three
    twelve_hour = False
    resolved: int | None
    if meridiem:
        resolved = hour % 12 + (12 if meridiem == "p" else 0) if 1 <= hour <= 12 else None
    elif part:
        resolved = _hour_with_part(hour, part)
    else:
        resolved = hour if hour <= 23 else None
        twelve_hour = 1 <= hour <= 11 and not hour_text.startswith("0")
    if resolved is None:
        return None
    minutes = resolved * 60 + minute
    if match.group("frac"):
        if separator or (match.group("rel") == "to" and match.group("frac") == "half"):
            return None
        offset = 30 if match.group("frac") == "half" else 15
        minutes += -offset if match.group("rel") == "to" else offset
    clock = bool(separator or meridiem or part or match.group("oclock"))
    if not clock and _NOT_AN_HOUR_RE.match(norm, match.end()):
        return None
    return TimeMention(match.start(), match.end(), minutes % MINUTES_PER_DAY, clock, twelve_hour)


def time_mentions(norm: str) -> list[TimeMention]:
    """Times of day in normalized text, including bare hours ("at 7"), which are not ``clock`` times."""
    found = [mention for match in _TIME_RE.finditer(norm) if (mention := _time_from_match(norm, match))]
    for match in _NAMED_TIME_RE.finditer(norm):
        if not any(mention.start <= match.start() < mention.end for mention in found):
            minutes = 0 if match.group("name") == "midnight" else 12 * 60
            found.append(TimeMention(match.start(), match.end(), minutes, True, False))
    return sorted(found, key=lambda mention: mention.start)
