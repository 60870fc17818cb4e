"""Small pure parsers for the offline engine: numbers, durations, volumes, weights, calories,
macros, weekdays, clock times, approvals and lists.

``normalize`` comes first (lower case, number words as digits, "twice" as "2 times"); it is
idempotent, so normalized text may be passed again. The ``*_mentions`` functions take text that
is *already normalized* and say where each value was found, so the extraction layer can keep
"10 push-ups" apart from "twice a week" in one message. The ``parse_*`` functions answer one
question about a whole text. None of them raises, and each returns ``None`` (or an empty list
or dict) when the text does not state the thing: it never guesses.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from offline_engine.language import correct_typos, from_spanish, looks_spanish, numbers_to_digits, strip_accents

MINUTES_PER_DAY = 24 * 60
MAX_LIST_ITEMS = 20
MAX_ITEM_LENGTH = 100
GLASS_ML = 250
# A cup is taken as a metric cup, the same as a glass, so "8 cups" and "8 glasses" agree.
CUP_ML = 250
US_FL_OZ_ML = 29.5735
US_PINT_ML = 473.176
US_GALLON_ML = 3785.41
US_QUART_ML = 946.353
LB_KG = 0.45359237
STONE_KG = 6.35029318
ALL_WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)

# A number as digits: at most 9 integer digits, so a pasted wall of digits is not a value.
_NUM = r"[0-9]{1,9}(?:\.[0-9]{1,6})?"
_NUMBER_RE = re.compile(rf"(?<![0-9.])({_NUM})(?![0-9])")
_RANGE_BEFORE_RE = re.compile(r"[0-9]\s*(?:-|to|or)\s*$")


@dataclass(frozen=True)
class Mention:
    """A value found in normalized text, with the span it was found at."""

    start: int
    end: int
    value: float


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


# --- normalization -------------------------------------------------------------------

_CHAR_MAP = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00d7": "x",
        "\r": "\n",
    }
)
_SPACE_RE = re.compile(r"[^\S\n]+")

_UNIT_AFTER_HALF = r"(?:hours?|hrs?|lit(?:er|re)s?|gallons?|pints?|quarts?|glass(?:es)?|cups?|kilos?|kgs?|pounds?|lbs?)"


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6f}".rstrip("0").rstrip(".")


_SCALE_WORDS = {"dozen": 12, "hundred": 100, "thousand": 1000}


def _scaled(match: re.Match[str]) -> str:
    """ "2 dozen" -> "24", "5 hundred thousand" -> "500000"; absurd products are left alone."""
    value = float(match.group(1))
    for word in match.group(2).split():
        value *= _SCALE_WORDS[word]
        if value >= 1e9:
            return match.group(0)
    return _number_text(value)


def _and_a_half(match: re.Match[str]) -> str:
    count = float(match.group(2)) if match.group(2) else 1.0
    return f"{_number_text(count + 0.5)} {match.group(3)}"


# Applied in this order after the number words; none of them produces what an earlier
# one reads, which keeps ``normalize`` idempotent.
_REWRITES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"\btwice\b"), "2 times"),
    (re.compile(r"\bthrice\b"), "3 times"),
    (re.compile(r"\bonce(?=\s+(?:a|an|per|every|each)\s+(?:week|day|month|hour)\b)"), "1 times"),
    (re.compile(r"\bhalf\s+a\s+dozen\b"), "6"),
    (re.compile(r"(?<![0-9.])([0-9]{1,6})((?:\s+dozen\b)+)"), _scaled),
    (re.compile(r"\b(?:a\s+)?dozen\b"), "12"),
    (re.compile(r"\b(?:a\s+)?couple(?:\s+of)?\b"), "2"),
    (re.compile(r"(?<![0-9.,])([0-9]{1,3}(?:,[0-9]{3})+)(?![0-9])"), lambda match: match.group(1).replace(",", "")),
    # European decimal comma, only where a unit makes it unambiguous: "2,5 l".
    (
        re.compile(r"(?<![0-9.,])([0-9]{1,3}),([0-9]{1,2})(?=\s*(?:l\b|lit|ltr|kg|kilo|lbs?\b|pounds?|h\b|hours?|%))"),
        r"\1.\2",
    ),
    (re.compile(r"(?<![0-9.])([0-9]{1,6}(?:\.[0-9]{1,6})?)((?:\s+(?:hundred|thousand)\b)+)"), _scaled),
    (re.compile(r"(?<![0-9.])([0-9]{1,6})\s+and\s+a\s+half\b(?!\s+marathon)"), r"\1.5"),
    (
        re.compile(rf"\b(?:(an?)|(?<![0-9.])([0-9]{{1,6}}))\s+({_UNIT_AFTER_HALF})\s+and\s+a\s+half\b"),
        _and_a_half,
    ),
    (re.compile(r"\b(?:a\s+)?quarter\s+of\s+an\s+hour\b"), "15 minutes"),
    (re.compile(r"\b3\s+quarters\s+of\s+an\s+hour\b"), "45 minutes"),
    (re.compile(r"\b(?:an|1)\s+hour\s+and\s+a\s+quarter\b"), "75 minutes"),
    (re.compile(rf"\b(?:a\s+|1\s+)?half(?:\s+an?)?[\s-]+(?={_UNIT_AFTER_HALF}\b)"), "0.5 "),
    (re.compile(r"(?<![0-9.])([0-9]{1,6})\s*\u00bd"), r"\1.5"),
    (re.compile(r"\u00bd"), "0.5"),
)


# A number's unit, for a correction or a choice that leaves it out ("70 kg... no wait, 72").
_UNIT = (
    r"kg|kgs|kilos?|kilograms?|lbs?|pounds?|stones?|st|ml|l|lit(?:er|re)s?|glass(?:es)?|cups?|oz|ounces?|quarts?"
    r"|gallons?|pints?|min|mins|minutes?|h|hrs?|hours?|kcal|cal|calories|days?|times|meals?|%|percent|push[\s-]?ups?"
)
_CORRECTION_RE = re.compile(
    rf"(?<![0-9.:])(?:{_NUM}\s*(?:-|to)\s*)?{_NUM}\s*(?P<unit>{_UNIT})?\b(?P<gap>[^0-9.;!?\n]{{0,12}}?|\.{{1,3}}\s*)"
    r",?\s*(?:no+\s*,?\s*)?(?:wait|sorry|actually|i\s+mean|i\s+meant|correction|make\s+(?:it|that)|or\s+rather"
    r"|scratch\s+that|let'?s\s+(?:say|do|go\s+with|make\s+it)|say|go\s+with|call\s+it)\b[\s,:]*"
    rf"(?P<new>{_NUM})(?![0-9.:])\s*(?P<new_unit>{_UNIT})?\b"
)


_UNIT_KINDS = (
    ("weight", ("kg", "kilo", "lb", "pound", "stone", "st")),
    ("volume", ("ml", "l", "glass", "cup", "oz", "ounce", "quart", "gallon", "pint")),
    ("duration", ("min", "h")),
    ("energy", ("kcal", "cal")),
    ("count", ("day", "time")),
    ("meals", ("meal",)),
    ("percent", ("%", "percent")),
    ("reps", ("push",)),
)


def _unit_kind(unit: str) -> str:
    return next((kind for kind, prefixes in _UNIT_KINDS if unit.startswith(prefixes)), unit)


def _corrected_value(match: re.Match[str]) -> str:
    """ "70 kg... no wait, 72" -> "72 kg": the last value wins and keeps the unit it was said with."""
    unit, new_unit = match.group("unit"), match.group("new_unit")
    if unit and new_unit and _unit_kind(unit) != _unit_kind(new_unit):
        return match.group()  # "70 kg, actually 3 days": two things, not a correction
    return f"{match.group('new')} {new_unit or unit or ''}".rstrip()


# Clock times the continental way: "19h", "20h30", "at 7h" (a bare "1h" stays a duration).
_H_TIME_RE = re.compile(
    r"(?:(?P<at>\b(?:at|around|by|from|until|till|@)\s*)|(?<![0-9.:]))(?P<h>[01]?[0-9]|2[0-3])h(?P<m>[0-5][0-9])?\b"
    r"(?!\s*(?:and\s+)?[0-9]{1,3}\s*(?:m\b|mins?\b|minutes?))"
)


def _h_time(match: re.Match[str]) -> str:
    hour = int(match.group("h"))
    if hour < 13 and not ((match.group("at") or match.group("m")) and hour >= 5):
        return match.group()
    return f"{match.group('at') or ''}{hour}:{match.group('m') or '00'}"


# Informal and non-native phrasing: "I no have equipment", "meat I not eat".
_INFORMAL: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bi\s+(?:no|not)\s+(have|eat|like|do|want|take|use|own|drink|know)\b"), r"i don't \1"),
    (re.compile(r"\b(?:no|not)\s+have\b"), "don't have"),
    (
        re.compile(r"(?:^|(?<=[,.;]))\s*([a-z]+(?:\s+[a-z]+)?)\s+i\s+(?:not|no|don'?t|do\s+not|never)\s+(eat|like)\b"),
        r" i don't \2 \1",
    ),
    (re.compile(r"(?<![0-9.])([0-9]{1,5})\s*\+(?=\s*(?:[a-z,.;!?]|$))"), r"\1 "),  # "40+ push-ups"
)


@lru_cache(maxsize=512)
def normalize(text: str) -> str:
    """Lower case, plain quotes and dashes, single spaces, no accents, Spanish read as English, misspelt
    vocabulary corrected, number words as digits ("twenty five" -> "25"); see ``offline_engine.language``.

    Cached: one turn normalizes the message and its clauses for several steps.
    """
    text = text.lower()
    if not text.isascii():
        text = strip_accents(text).lower()
    text = _SPACE_RE.sub(" ", text.translate(_CHAR_MAP))
    if looks_spanish(text):
        text = from_spanish(text)
    text = numbers_to_digits(correct_typos(text))
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    for informal, plain in _INFORMAL:
        text = informal.sub(plain, text)
    text = _H_TIME_RE.sub(_h_time, text)
    text = _CORRECTION_RE.sub(_corrected_value, text)
    return _SPACE_RE.sub(" ", text).strip()


def _ends_with(norm: str, position: int, pattern: re.Pattern[str], window: int = 40) -> bool:
    return bool(pattern.search(norm[max(0, position - window) : position]))


# --- numbers -------------------------------------------------------------------------


def number_mentions(norm: str) -> list[Mention]:
    """Every number in normalized text, in order."""
    return [Mention(match.start(), match.end(), float(match.group(1))) for match in _NUMBER_RE.finditer(norm)]


# --- durations and intervals -------------------------------------------------------------

_HOURS = r"(?:\s*(?:hours?|hrs?)|h)\b"
_MINUTES = r"(?:\s*(?:minutes?|mins?)|m)\b"
_DURATION_RE = re.compile(
    rf"(?<![0-9.:])(?P<h>{_NUM}){_HOURS}(?:\s*(?:and\s+)?(?P<hm>[0-9]{{1,3}}){_MINUTES})?"
    rf"|\b(?P<an>an?)\s+(?:hour|hr)\b(?:\s*(?:and\s+)?(?P<am>[0-9]{{1,3}}){_MINUTES})?"
    rf"|(?<![0-9.:])(?P<ch>[0-9]{{1,2}}):(?P<cm>[0-5][0-9]){_HOURS}"
    rf"|(?<![0-9.:])(?P<m>{_NUM}){_MINUTES}"
)
_EVERY_RE = re.compile(r"\b(?:every|each)\s+")
_INTERVAL_WORDS_RE = re.compile(
    r"\b(?:every|each)\s+(?:(?P<other>other)\s+(?:hour|hr)|(?P<half>hour|hr)\s+and\s+a\s+half|(?P<one>hour|hr))\b"
    r"|\b(?P<hourly>hourly)\b"
    r"|(?<![0-9.])(?P<times>[0-9]{1,2})\s+times\s+(?:an|a|per|every)\s+hour\b"
)


def _duration_minutes(match: re.Match[str]) -> float:
    if match.group("h") is not None:
        return float(match.group("h")) * 60 + float(match.group("hm") or 0)
    if match.group("an") is not None:
        return 60 + float(match.group("am") or 0)
    if match.group("ch") is not None:
        return float(match.group("ch")) * 60 + float(match.group("cm"))
    return float(match.group("m"))


def duration_mentions(norm: str) -> list[Mention]:
    """Durations in normalized text, in minutes ("1h 15m" -> 75); ranges like "20-30 minutes" are skipped."""
    found: list[Mention] = []
    for match in _DURATION_RE.finditer(norm):
        if _ends_with(norm, match.start(), _RANGE_BEFORE_RE, 12):
            continue
        found.append(Mention(match.start(), match.end(), float(round(_duration_minutes(match)))))
    return found


def interval_mentions(norm: str) -> list[Mention]:
    """Repeat intervals in normalized text, in minutes ("every 2 hours" -> 120, "hourly" -> 60)."""
    found: list[Mention] = []
    for match in _INTERVAL_WORDS_RE.finditer(norm):
        if match.group("other"):
            minutes = 120
        elif match.group("half"):
            minutes = 90
        elif match.group("one") or match.group("hourly"):
            minutes = 60
        else:
            count = int(match.group("times"))
            if count == 0:
                continue
            minutes = round(60 / count)
        found.append(Mention(match.start(), match.end(), float(minutes)))
    for every in _EVERY_RE.finditer(norm):
        duration = _DURATION_RE.match(norm, every.end())
        if duration:
            found.append(Mention(every.start(), duration.end(), float(round(_duration_minutes(duration)))))
    return sorted(found, key=lambda mention: mention.start)


# --- volumes, weights, calories ------------------------------------------------------------

_VOLUME_RE = re.compile(
    rf"(?:(?<![0-9.])(?P<n>{_NUM})\s*|\b(?P<a>an?|1)\s+)"
    r"(?P<unit>millilit(?:er|re)s?|mls?|cl|lit(?:er|re)s?|ltrs?|lt|l|fl\.?\s?oz|ounces?|oz"
    r"|glass(?:es)?|cups?|gallons?|pints?|quarts?|qts?)\b"
)
_WORD_VOLUME_UNITS = re.compile(r"lit|glass|cup|gallon|pint|quart|ounce")


def _ml_per_unit(unit: str) -> float:
    if unit.startswith(("millilit", "ml")):
        return 1
    if unit == "cl":
        return 10
    if unit.startswith(("l", "lt")):
        return 1000
    if "oz" in unit or unit.startswith("ounce"):
        return US_FL_OZ_ML
    if unit.startswith("glass"):
        return GLASS_ML
    if unit.startswith("cup"):
        return CUP_ML
    if unit.startswith("gallon"):
        return US_GALLON_ML
    if unit.startswith(("quart", "qt")):
        return US_QUART_ML
    return US_PINT_ML


def volume_mentions(norm: str) -> list[Mention]:
    """Volumes in normalized text, in millilitres ("2.5 l" -> 2500, "8 glasses" -> 2000, "64 oz" -> 1893)."""
    found: list[Mention] = []
    for match in _VOLUME_RE.finditer(norm):
        unit = match.group("unit")
        if match.group("a") is not None and not _WORD_VOLUME_UNITS.match(unit):
            continue  # "a l" is not "one litre"
        count = float(match.group("n")) if match.group("n") is not None else 1.0
        found.append(Mention(match.start(), match.end(), float(round(count * _ml_per_unit(unit)))))
    return found


_WEIGHT_RE = re.compile(rf"(?<![0-9.])(?P<n>{_NUM})\s*(?P<unit>kilogram(?:me)?s?|kilos?|kgs?|pounds?|lbs?|stones?)\b")


def weight_mentions(norm: str) -> list[Mention]:
    """Body weights in normalized text, in kg rounded to 0.1 ("154 lbs" -> 69.9)."""
    found: list[Mention] = []
    for match in _WEIGHT_RE.finditer(norm):
        unit = match.group("unit")
        factor = 1.0 if unit.startswith("k") else STONE_KG if unit.startswith("stone") else LB_KG
        found.append(Mention(match.start(), match.end(), round(float(match.group("n")) * factor, 1)))
    return found


_CALORIES_RE = re.compile(
    rf"(?<![0-9.])(?P<n>{_NUM})\s*(?P<k>k\b)?\s*(?:kcals?|kilocalories|calories|calorie|cals?)\b"
    r"|\b(?:calories|calorie\s+(?:target|goal|intake|budget|limit)|kcals?|cals)\s*"
    r"(?:of|at|to|:|=|-|is|around|about|roughly|approximately|~)?\s*(?:about|around|roughly|approximately|~)?\s*"
    rf"(?P<ln>{_NUM})\s*(?P<lk>k\b)?(?!\s*(?:%|percent|g\b|grams?|meals?))"
)


def calorie_mentions(norm: str) -> list[Mention]:
    """Calorie amounts in normalized text ("2000 kcal", "2k calories", "calories: 1800")."""
    found: list[Mention] = []
    for match in _CALORIES_RE.finditer(norm):
        if match.group("n") is not None:
            value, thousands = float(match.group("n")), match.group("k")
        else:
            value, thousands = float(match.group("ln")), match.group("lk")
        found.append(Mention(match.start(), match.end(), float(round(value * (1000 if thousands else 1)))))
    return found


# --- macros --------------------------------------------------------------------------------

MACRO_NAMES = ("protein", "carbs", "fats")
_MACRO_LABEL = r"protein|proteins|carbs?|carbohydrates?|fats?"
_MACRO_SHORT = r"protein|prot|p|carbs?|carbohydrates?|c|fats?|f"
_MACRO_TOKEN_RE = re.compile(
    rf"\b(?P<label>{_MACRO_LABEL})\b"
    rf"|(?<![0-9.:/])(?P<n>[0-9]{{1,3}}(?:\.[0-9]{{1,2}})?)(?![0-9])\s*(?P<pct>%|percent\b|per\s*cent\b|pct\b)?"
)
_MACRO_NOT_PERCENT_RE = re.compile(
    r"\s*(?:g\b|grams?|kg|kcals?|cal|calories|meals?|snacks?|times|days?|x\b|minutes?|hours?|k\b)"
)
_MACRO_TRIPLE_RE = re.compile(
    rf"(?:\b(?P<pre1>{_MACRO_SHORT})\s*/\s*(?P<pre2>{_MACRO_SHORT})\s*/\s*(?P<pre3>{_MACRO_SHORT})\b\s*(?::|=|of|at|-)?\s*)?"
    r"(?<![0-9.:])(?P<a>[0-9]{1,3})\s*%?\s*[/-]\s*(?P<b>[0-9]{1,3})\s*%?\s*[/-]\s*(?P<c>[0-9]{1,3})(?![0-9:])\s*%?"
    rf"(?:\s*\(?\s*(?:of\s+)?(?P<post1>{_MACRO_SHORT})\s*/\s*(?P<post2>{_MACRO_SHORT})\s*/\s*(?P<post3>{_MACRO_SHORT})\b)?"
)
_MACRO_MAX_GAP = 24


def _macro_name(label: str) -> str:
    if label.startswith("p"):
        return "protein"
    if label.startswith("c"):
        return "carbs"
    return "fats"


def _macros_from_triple(match: re.Match[str]) -> dict[str, int]:
    values = [int(match.group(name)) for name in ("a", "b", "c")]
    if max(values) > 100:
        return {}
    labels = [match.group(name) for name in ("pre1", "pre2", "pre3")]
    if labels[0] is None:
        labels = [match.group(name) for name in ("post1", "post2", "post3")]
    names = [_macro_name(label) for label in labels] if labels[0] is not None else list(MACRO_NAMES)
    if len(set(names)) != len(names):
        return {}
    return dict(zip(names, values, strict=True))


def parse_macros(text: str) -> dict[str, int]:
    """Macro percentages by name ("protein", "carbs", "fats"); "30/40/30" is protein/carbs/fats.

    "30% protein, 40% carbs, 30% fat", "protein 30 carbs 40 fat 30" and "40/30/30 carbs/protein/fat"
    all work; numbers over 100 and amounts in grams are not percentages.
    """
    norm = normalize(text)
    triple = _MACRO_TRIPLE_RE.search(norm)
    if triple:
        from_triple = _macros_from_triple(triple)
        if from_triple:
            return from_triple
    tokens: list[tuple[str, str, int, int, bool]] = []  # (kind, value, start, end, has_percent_sign)
    for match in _MACRO_TOKEN_RE.finditer(norm):
        if match.group("label"):
            tokens.append(("label", _macro_name(match.group("label")), match.start(), match.end(), False))
            continue
        value = float(match.group("n"))
        if value > 100 or _MACRO_NOT_PERCENT_RE.match(norm, match.end()):
            continue
        tokens.append(("number", match.group("n"), match.start(), match.end(), bool(match.group("pct"))))
    pairs = list(itertools.pairwise(tokens))
    # "30% protein" puts the number first; "protein 30%" the label. The first close pair decides.
    number_first = next(
        (
            left[0] == "number"
            for left, right in pairs
            if {left[0], right[0]} == {"label", "number"} and right[2] - left[3] <= _MACRO_MAX_GAP
        ),
        True,
    )
    found: dict[str, int] = {}
    for left, right in pairs:
        if right[2] - left[3] > _MACRO_MAX_GAP:
            continue
        if number_first and left[0] == "number" and right[0] == "label":
            found.setdefault(right[1], round(float(left[1])))
        elif not number_first and left[0] == "label" and right[0] == "number":
            found.setdefault(left[1], round(float(right[1])))
    return found


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


# --- approvals -----------------------------------------------------------------------------

# Negations that approve: "no changes", "nothing to change", "not bad".
_APPROVING_NEGATION_RE = re.compile(
    r"\b(?:no|without)\s+(?:changes?|complaints?|problems?|worries|objections?|issues?|notes)\b"
    r"|\bnothing\s+(?:to\s+change|wrong|else)\b|\bnot\s+bad\b|\bdon'?t\s+change\s+(?:a\s+thing|anything)\b"
    r"|\bno\s+need\s+to\s+change(?:\s+anything)?\b|\bcan'?t\s+complain\b|\bcouldn'?t\s+be\s+better\b"
    r"|\bwhy\s+not\b|\bno\s+doubt\b"
)
_DECLINE_RE = re.compile(
    r"^\W*(?:no|nope|nah|nay)\b|\bno\s+(?:thanks|thank\s+you|way)\b"
    r"|\bnot\s+(?:really|quite|yet|happy|ok|okay|good|great|convinced|for\s+me|what\s+i|a\s+fan|keen|"
    r"approve|agree|right|ready)\b"
    r"|\b(?:don'?t|do\s+not|doesn'?t|does\s+not|didn'?t)\s+(?:really\s+)?(?:like|love|want|approve|agree|think\s+so|"
    r"work|suit|fit)\b"
    r"|\bdislike\b|\bhate\s+(?:it|this|that)\b|\bchange\b|\bdisapprove|\breject|\bdecline|\bwrong\b"
    r"|\bwon'?t\s+work\b|\brather\s+not\b|\bredo\b|\u274c|\U0001f44e|\U0001f645"
)
_ADJUSTMENT_RE = re.compile(
    r"\b(?:swap|replace|instead|switch|move|make\s+(?:it|the|my|them|sessions?|workouts?|[a-z]*day)"
    r"|can\s+(?:you|we|i)|could\s+(?:you|we|i)|would\s+you|add|remove|drop|shorter|longer|lower"
    r"|(?:fewer|more|less)\s+(?!about\b|info|details|information)[a-z0-9]+"
    r"|higher|increase|decrease|reduce|prefer|rather|except|only\s+[0-9]|how\s+about|what\s+about|adjust|tweak"
    r"|modify|edit|update)\b"
)
_HESITATION_RE = re.compile(
    r"\b(?:not\s+sure|unsure|(?:don'?t|do\s+not)\s+know|maybe|perhaps|hmm+|let\s+me\s+think|not\s+yet\s+sure)\b|\?\s*$"
)
_ACCEPT_RE = re.compile(
    r"\b(?:yes|yeah|yea|yep|yup|ya|yah|yas|sure|ok|okay|okey|okie|k|kk|fine|good|great|perfect|awesome|excellent|"
    r"amazing|wonderful|fantastic|brilliant|lovely|nice|cool|sweet|love\s+it|like\s+it|approved?|agreed?|"
    r"accept(?:ed)?|deal|happy|works\s+for\s+me|that\s+works|correct|exactly|absolutely|definitely|of\s+course|"
    r"lgtm|confirm(?:ed)?|do\s+it|go\s+ahead|go\s+for\s+it|let'?s\s+(?:do\s+(?:it|this)|go|start)|alright|"
    r"all\s+right|ready|i'?m\s+in|count\s+me\s+in|makes\s+sense|sounds\s+(?:good|great|fine|right|perfect)|"
    r"looks\s+(?:good|great|fine|right|perfect)|y)\b"
    r"|\U0001f44d|\u2705|\U0001f44c|\U0001f4aa|\U0001f64c|\U0001f525|\U0001f600|\U0001f642|\U0001f60a"
)


def parse_approval(text: str) -> bool | None:
    """True for a plain approval ("looks good", "yes", "👍"); False for a refusal or a change request
    ("no", "not really", "swap Monday's legs for upper body", "ok but make it 3 days"); None otherwise.
    """
    norm = normalize(text)
    approving_negation = bool(_APPROVING_NEGATION_RE.search(norm))
    rest = _APPROVING_NEGATION_RE.sub(" ", norm)
    if _DECLINE_RE.search(rest) or _ADJUSTMENT_RE.search(rest):
        return False
    if _HESITATION_RE.search(rest) and not approving_negation:
        return None  # "not sure", "maybe?": no answer yet
    if approving_negation or _ACCEPT_RE.search(rest):
        return True
    return None


_BARE_ANSWER_MAX_LENGTH = 200
_BARE_NONE_RE = re.compile(
    r"^\W*(?:(?:no|none|nope|nah|nothing|nil|zero|neither|n/?a|not\s+really|not\s+at\s+all|"
    r"no\s+thanks|none\s+at\s+all|nothing\s+at\s+all|none\s+of\s+(?:them|those|that|these)|no\s+to\s+all|"
    r"nothing\s+to\s+(?:report|mention|add)|i\s+(?:don'?t|do\s+not)\s+have\s+any(?:\s+of\s+(?:them|those|that))?|"
    r"i\s+have\s+none|i'?ve\s+got\s+none|not\s+that\s+i\s+know\s+of|all\s+good|i'?m\s+good|nothing\s+else|"
    r"none\s+else|that'?s\s+(?:it|all))\W*)+$"
)


def is_bare_none(text: str) -> bool:
    """True when the whole answer is a plain "none" ("none", "no", "nothing", "I don't have any")."""
    # Such answers are short; skipping long texts spares normalizing a whole message again.
    return len(text) <= _BARE_ANSWER_MAX_LENGTH and bool(_BARE_NONE_RE.match(normalize(text)))


# --- lists ---------------------------------------------------------------------------------

_LIST_SPLIT_RE = re.compile(
    r"\s*(?:[,;\n]|\s/\s|/|&|\+|\band/or\b|\band\b|\bor\b|\bnor\b|\bplus\b|\bas\s+well\s+as\b|\balong\s+with\b"
    r"|(?<!\w)[-*\u2022](?=\s))\s*"
)
_LEADING_FILLER_RE = re.compile(
    r"^(?:(?:actually|well|ok|okay|so|um|uh|hmm|nah|nope|a\s+lot\s+of|a\s+few|a\s+bit\s+of|a\s+little|an|a|the|some|my|our|his|her|their|any|also|just|"
    r"only|maybe|probably|both|either|neither|i'm|im|i've|ive|i'd|i|have|has|had|got|get|own|use|using|with|then|"
    r"so|too|like|e\.?g\.?|pairs?\s+of|sets?\s+of|few|several|lots\s+of|bunch\s+of|little|bit\s+of|"
    r"really|very|am|is|are|there'?s|there\s+is|there\s+are|access\s+to|include|including|which\s+is)\b\s*)+"
)
_TRAILING_FILLER_RE = re.compile(
    r"(?:\s+(?:too|also|as\s+well|at\s+home|at\s+my\s+place|etc\.?|and\s+so\s+on|i\s+think|i\s+guess|please|"
    r"thanks|thank\s+you|though|lol|really))+$"
)
_LEADING_COUNT_RE = re.compile(r"^[0-9]{1,3}\s+(?=[a-z])")
# The user's own framing, not part of the item: "said: full gym", "my answer: none".
_SPEECH_PREFIX_RE = re.compile(r"^(?:i\s+)?(?:said|say|says|wrote|answer|my\s+answer|reply|response|me)\s*:\s*")
_ITEM_EDGE_CHARS = " \t.,;:!?\"'()[]{}*-_~"
# fmt: off
_JUNK_ITEMS = {
    "", "none", "nothing", "no", "that's it", "thats it", "that's all", "thats all", "all", "everything",
    "anything", "stuff", "things", "etc", "that", "it", "this", "them", "those", "other", "others", "else",
    "nothing else", "sure", "not sure", "unsure", "no idea", "idk", "dunno", "don't know", "i don't know",
    "not that i know", "not that i know of", "maybe", "i think so", "not really", "more", "no more",
    "nothing more", "nothing in particular", "nothing really", "nothing limits me", "nothing special",
}
# fmt: on


def clean_item(item: str) -> str:
    """One list item, short and lower case, without articles or fillers ("a yoga mat too" -> "yoga mat")."""
    item = " ".join(item.lower().split()).strip(_ITEM_EDGE_CHARS)
    if item in _JUNK_ITEMS:
        return ""  # "not sure" says nothing, even once "not" would be stripped
    item = _SPEECH_PREFIX_RE.sub("", item)
    item = _LEADING_FILLER_RE.sub("", item).strip(_ITEM_EDGE_CHARS)
    item = _TRAILING_FILLER_RE.sub("", item).strip(_ITEM_EDGE_CHARS)
    item = _LEADING_COUNT_RE.sub("", item)  # "2 dumbbells" -> "dumbbells"; "5kg dumbbells" stays
    if len(item) > MAX_ITEM_LENGTH:
        item = item[:MAX_ITEM_LENGTH].rsplit(" ", 1)[0].strip(_ITEM_EDGE_CHARS)
    return "" if item in _JUNK_ITEMS else item


def parse_list_items(text: str) -> list[str]:
    """The items of a spoken list, lower case and distinct ("a barbell, a bench, and resistance bands" ->
    ["barbell", "bench", "resistance bands"]); at most 20, each at most 100 characters.
    """
    items: list[str] = []
    for part in _LIST_SPLIT_RE.split(normalize(text)):
        item = clean_item(part)
        if item and item not in items:
            items.append(item)
        if len(items) == MAX_LIST_ITEMS:
            break
    return items
