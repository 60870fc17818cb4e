"""Small pure parsers for the offline engine: numbers, durations, volumes, weights, calories,
macros, weekdays, clock times, approvals and lists.

``normalize`` comes first (lower case, number words as digits, "twice" as "2 times"); it is
idempotent, so normalized text may be passed again. The ``*_mentions`` functions take text that
is *already normalized* and say where each value was found, so the extraction layer can keep
"10 push-ups" apart from "twice a week" in one message. The ``parse_*`` functions answer one
question about a whole text. None of them raises, and each returns ``None`` (or an empty list
or dict) when the text does not state the thing: it never guesses.

The modules: ``text`` (``normalize``, numbers), ``quantities`` (durations, volumes, weights, calories,
macros), ``times`` (weekdays, times of day) and ``answers`` (approvals, "none", lists).
"""

from __future__ import annotations

from offline_engine.parsing.answers import (
    MAX_ITEM_LENGTH,
    MAX_LIST_ITEMS,
    accepts_with_change,
    clean_item,
    is_bare_none,
    parse_approval,
    parse_list_items,
)
from offline_engine.parsing.quantities import (
    CUP_ML,
    GLASS_ML,
    LB_KG,
    MACRO_NAMES,
    STONE_KG,
    US_FL_OZ_ML,
    US_GALLON_ML,
    US_PINT_ML,
    US_QUART_ML,
    calorie_mentions,
    duration_mentions,
    interval_mentions,
    parse_macros,
    volume_mentions,
    weight_mentions,
)
from offline_engine.parsing.text import (
    Mention,
    normalize,
    number_mentions,
)
from offline_engine.parsing.times import (
    ALL_WEEKDAYS,
    MINUTES_PER_DAY,
    TimeMention,
    format_minutes,
    format_time,
    parse_weekdays,
    time_mentions,
)

__all__ = [
    "ALL_WEEKDAYS",
    "CUP_ML",
    "GLASS_ML",
    "LB_KG",
    "MACRO_NAMES",
    "MAX_ITEM_LENGTH",
    "MAX_LIST_ITEMS",
    "MINUTES_PER_DAY",
    "STONE_KG",
    "US_FL_OZ_ML",
    "US_GALLON_ML",
    "US_PINT_ML",
    "US_QUART_ML",
    "Mention",
    "TimeMention",
    "accepts_with_change",
    "calorie_mentions",
    "clean_item",
    "duration_mentions",
    "format_minutes",
    "format_time",
    "interval_mentions",
    "is_bare_none",
    "normalize",
    "number_mentions",
    "parse_approval",
    "parse_list_items",
    "parse_macros",
    "parse_weekdays",
    "time_mentions",
    "volume_mentions",
    "weight_mentions",
]
