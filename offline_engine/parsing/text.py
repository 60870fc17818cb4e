"""Text normalization for the offline engine, and the number reader every other parser builds on.

``normalize`` comes first (lower case, number words as digits, "twice" as "2 times"); it is
idempotent, so normalized text may be passed again. ``Mention`` is a value found at a span of
normalized text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from offline_engine.language import correct_typos, from_spanish, looks_spanish, numbers_to_digits, strip_accents
from offline_engine.memo import remembered

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


_CORRECTION_CUE = (
    r",?\s*(?:no+\s*,?\s*)?(?:wait|sorry|actually|i\s+mean|i\s+meant|correction|make\s+(?:it|that)|or\s+rather"
    r"|scratch\s+that|let'?s\s+(?:say|do|go\s+with|make\s+it)|say|go\s+with|call\s+it)\b(?:\s+make\s+(?:it|that))?"
    r"[\s,:]*"
)
_CLOCK = r"[0-9]{1,2}(?::[0-9]{2})?\s*(?:am|pm)?"
# "at 7am, actually make that 6:30am": a time corrected in the same message.
_TIME_CORRECTION_RE = re.compile(
    rf"(?<![0-9.:])(?P<old>{_CLOCK})(?P<gap>[^0-9.;!?\n]{{0,12}}?|\.{{1,3}}\s*){_CORRECTION_CUE}"
    rf"(?P<new>{_CLOCK})(?![0-9:])"
)


def _corrected_time(match: re.Match[str]) -> str:
    old, new = match.group("old"), match.group("new")
    if not re.search(r"[:apm]", old + new):
        return match.group()  # plain numbers: ``_CORRECTION_RE`` reads them with their units
    half = re.search(r"(am|pm)$", old)
    if half and not re.search(r"(am|pm)$", new) and int(new.split(":")[0]) <= 12:
        return new + half.group(1)  # "at 7pm, no wait, 8": 8pm
    return new


# Clock times the continental way: "19h", "20h30", "at 7h" (a bare "1h" stays a duration).
_H_TIME_RE = re.compile(
    r"(?:(?P<at>\b(?:at|around|by|from|until|till|@)\s*)|(?<![0-9.:]))(?P<h>[01]?[0-9]|2[0-3])h(?P<m>[0-5][0-9])?\b"
    r"(?!\s*(?:and\s+)?[0-9]{1,3}\s*(?:m\b|mins?\b|minutes?))"
)


_LONGEST_SESSION_HOURS = 4
# "6.30pm", "meals at 8.00, 13.00 and 19.00": clock times written with a dot.
_DOT_TIME_RE = re.compile(
    r"(?<![0-9.])([01]?[0-9]|2[0-3])\.([0-5][0-9])(?![0-9])(?P<half>\s*[ap]\.?m\b\.?)?"
    r"(?!\s*(?:kg|kilos?|lbs?|pounds?|l\b|lit|ltr|ml|km|miles?|%|percent|hours?|hrs?|h\b|min|kcal|cal|g\b|oz))"
)
_AT_BEFORE_RE = re.compile(r"\b(?:at|around|by|from|until|till|@|meals?|breakfast|lunch|dinner)\b[^;!?\n]*$")


def _dot_time(match: re.Match[str], text: str) -> str:
    if match.group("half") or _AT_BEFORE_RE.search(text[max(0, match.start() - 40) : match.start()]):
        return f"{match.group(1)}:{match.group(2)}{match.group('half') or ''}"
    return match.group()


# "at 18": an hour past noon said alone is a clock time.
_AFTERNOON_HOUR_RE = re.compile(
    r"\b(at|around|by|from|until|till|@)\s+(1[3-9]|2[0-3])\b(?![:.,]?[0-9])(?!\s*(?:min|minutes?|kg|km|%|days?|times|x\b))"
)


def _h_time(match: re.Match[str]) -> str:
    hour = int(match.group("h"))
    if hour < 13 and not ((match.group("at") or match.group("m")) and hour >= 5):
        if match.group("m") and hour <= _LONGEST_SESSION_HOURS:
            return f"{hour * 60 + int(match.group('m'))} minutes"  # "1h15": a duration
        return match.group()
    return f"{match.group('at') or ''}{hour}:{match.group('m') or '00'}"


# Informal and non-native phrasing: "I no have equipment", "meat I not eat".
_INFORMAL: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bi\s+(?:no|not)\s+(have|eat|like|do|want|take|use|own|drink|know)\b"), r"i don't \1"),
    (re.compile(r"\b(?:no|not)\s+have\b"), "don't have"),
    (
        re.compile(
            r"(?:^|(?<=[,.;]))\s*(?!(?:and|but|so|or|then|also|because|though|nothing|anything|everything|something)\b)"
            r"([a-z]+(?:\s+(?!that\b|which\b)[a-z]+)?)\s+i\s+"
            r"(?:not|no|don'?t|do\s+not|never)\s+(eat|like)\b"
        ),
        r" i don't \2 \1",
    ),
    (re.compile(r"(?<![0-9.])([0-9]{1,5})\s*\+(?=\s*(?:[a-z,.;!?]|$))"), r"\1 "),  # "40+ push-ups"
    (re.compile(r"\b(?:nah|nope|naw|nop|nay)\b"), "no"),
    (re.compile(r"\ballerg(?:y|ies|ic)\s+(?:of|for|with|on)\b"), "allergic to"),
    (re.compile(r"\b(?:of|in)\s+(?:the\s+)?(morning|evening|afternoon|night)\b"), r"in the \1"),
    (re.compile(r"\bnot\s+(supplements?|equipment|injur(?:y|ies)|allerg(?:y|ies)|intoleran(?:ce|ces))\b"), r"no \1"),
    # "injury no", "supplement no", "limitations: none": the field, then its answer, said "no <field>".
    (
        re.compile(
            r"(^|[,.;:!?\n]\s*)(?!(?:i|we|it|that|there|and|but|or|so|is|are|yes|no|other\s+than)\b)"
            r"([a-z][a-z'-]*(?:\s+[a-z][a-z'-]*)?)\s*[:=-]?\s+(?:no|none|nothing|0)\s*(?=[,;!?\n]|\.(?![0-9])|$)"
        ),
        r"\1no \2",
    ),
)


def normalize(text: str) -> str:
    """Lower case, plain quotes and dashes, single spaces, no accents, Spanish read as English, misspelt
    vocabulary corrected, number words as digits ("twenty five" -> "25"); see ``offline_engine.language``.

    Remembered for the turn (``offline_engine.memo``).
    """
    return remembered("normalize", text, _normalized)


def _normalized(text: str) -> str:
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
    text = _DOT_TIME_RE.sub(lambda match: _dot_time(match, text), text)
    text = _H_TIME_RE.sub(_h_time, text)
    text = _AFTERNOON_HOUR_RE.sub(r"\1 \2:00", text)
    text = _TIME_CORRECTION_RE.sub(_corrected_time, text)
    text = _CORRECTION_RE.sub(_corrected_value, text)
    return _SPACE_RE.sub(" ", text).strip()


def _ends_with(norm: str, position: int, pattern: re.Pattern[str], window: int = 40) -> bool:
    return bool(pattern.search(norm[max(0, position - window) : position]))


# --- numbers -------------------------------------------------------------------------


def number_mentions(norm: str) -> list[Mention]:
    """Every number in normalized text, in order."""
    return [Mention(match.start(), match.end(), float(match.group(1))) for match in _NUMBER_RE.finditer(norm)]
