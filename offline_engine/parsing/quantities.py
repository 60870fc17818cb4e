"""Quantities in normalized text: durations, repeat intervals, volumes, body weights, calories and
macro percentages, each converted to one unit (minutes, millilitres, kg, kcal, percent).
"""

from __future__ import annotations

import itertools
import re

from offline_engine.parsing.text import _NUM, _RANGE_BEFORE_RE, Mention, _ends_with, normalize

GLASS_ML = 250
# A cup is taken as a metric cup, the same as a glass, so "8 cups" and "8 glasses" agree.
CUP_ML = 250
US_FL_OZ_ML = 29.5735
US_PINT_ML = 473.176
US_GALLON_ML = 3785.41
US_QUART_ML = 946.353
LB_KG = 0.45359237
STONE_KG = 6.35029318


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
