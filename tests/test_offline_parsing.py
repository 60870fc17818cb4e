"""The offline engine's understanding of free text: parsers and per-step extraction.

Example tables show what a user may type and what must come out; hypothesis properties
check that no text crashes a parser or yields an out-of-domain value.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offline_engine.extraction import extract
from offline_engine.parsing import (
    MAX_ITEM_LENGTH,
    MAX_LIST_ITEMS,
    Mention,
    calorie_mentions,
    duration_mentions,
    format_time,
    interval_mentions,
    is_bare_none,
    normalize,
    number_mentions,
    parse_approval,
    parse_list_items,
    parse_macros,
    parse_weekdays,
    time_mentions,
    volume_mentions,
    weight_mentions,
)
from onboarding.steps import (
    TIME_PATTERN,
    WEEKDAY_NAMES,
    WORKOUT_FOCUSES,
    Boolean,
    Choice,
    ClockTime,
    ClockTimeList,
    FieldSpec,
    Group,
    Integer,
    Number,
    TextList,
    WeekdayList,
    step_get,
)
from tests.conftest import containers_holding


def _words(text: str) -> list[str]:
    return text.split()


def _first(mentions: list[Mention]) -> float | None:
    """The first value a ``*_mentions`` parser found, as the extraction layer reads it."""
    return mentions[0].value if mentions else None


def parse_numbers(text: str) -> list[float]:
    return [mention.value for mention in number_mentions(normalize(text))]


def parse_number(text: str) -> float | None:
    return _first(number_mentions(normalize(text)))


def parse_minutes(text: str) -> float | None:
    return _first(duration_mentions(normalize(text)))


def parse_interval_minutes(text: str) -> float | None:
    return _first(interval_mentions(normalize(text)))


def parse_volume_ml(text: str) -> float | None:
    return _first(volume_mentions(normalize(text)))


def parse_weight_kg(text: str) -> float | None:
    return _first(weight_mentions(normalize(text)))


def parse_calories(text: str) -> float | None:
    return _first(calorie_mentions(normalize(text)))


def parse_times(text: str) -> list[str]:
    """Clock times only: a bare hour ("at 7") is ambiguous without a meal or workout word."""
    return [mention.text for mention in time_mentions(normalize(text)) if mention.clock]


def parse_time(text: str) -> str | None:
    times = parse_times(text)
    return times[0] if times else None


# Words the parsers look for, so generated text reaches deep into them rather than
# staying in "no match" territory.
VOCABULARY = [
    *_words("0 1 2 7 12 30 45 70 100 154 1500 2000 2.5 6:30 18:30 7am 6pm 1h 15m 30/40/30 % , . ; / - : !"),
    *_words("a an and or but not no none nothing every each half hour hours minutes min liters l ml glasses oz"),
    *_words("kg lbs pounds kcal calories protein carbs fat meals times a week day daily weekdays weekends"),
    *_words("monday tue wed thursday fri sat sun through to except breakfast lunch dinner train at in the"),
    *_words("morning evening night noon midnight o'clock quarter past twenty five hundred dozen couple twice"),
    *_words("yes ok looks good swap make legs upper body cardio instead of home gym outside beginner athlete"),
    *_words("lose weight build muscle healthy body fat allergic to peanuts intolerant hate vegan keto fish"),
    *_words("dumbbells mat bad knee injuries limitations equipment creatine vitamin d supplements interested"),
    *_words("push-ups i can do work out remind me"),
]
messages = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(VOCABULARY), max_size=40).map(" ".join),
    st.lists(st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=4)), max_size=30).map("".join),
)
FAST = settings(max_examples=150, deadline=None)
TIME_RE = re.compile(TIME_PATTERN)


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", 5),
        ("five", 5),
        ("twenty five", 25),
        ("twenty-five", 25),
        ("a hundred", 100),
        ("one hundred and twenty", 120),
        ("2.5", 2.5),
        ("1,500", 1500),
        ("a dozen", 12),
        ("couple of", 2),
        ("two thousand five hundred", 2500),
        ("one and a half", 1.5),
        ("no one knows", None),
        ("nothing here", None),
    ],
)
def test_parse_number_reads_digits_and_words(text: str, expected: float | None) -> None:
    assert parse_number(text) == expected


_ONES = _words("zero one two three four five six seven eight nine")
_TEENS = _words("ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen")
_TENS = _words("_ _ twenty thirty forty fifty sixty seventy eighty ninety")


def _spell(number: int) -> str:
    """English words for 0..9999, as people write them."""
    if number < 10:
        return _ONES[number]
    if number < 20:
        return _TEENS[number - 10]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_ONES[hundreds]} hundred" + (f" and {_spell(rest)}" if rest else "")
    thousands, rest = divmod(number, 1000)
    return f"{_spell(thousands)} thousand" + (f" {_spell(rest)}" if rest else "")


@FAST
@given(st.integers(min_value=0, max_value=9999))
def test_spelled_numbers_round_trip(number: int) -> None:
    assert parse_number(_spell(number)) == number
    assert parse_number(str(number)) == number


@FAST
@given(messages)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@FAST
@given(messages)
def test_numbers_are_finite_and_not_negative(text: str) -> None:
    for number in parse_numbers(text):
        assert 0 <= number < 1e10


# --- durations, volumes, weights, calories ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90 minutes", 90),
        ("1.5 hours", 90),
        ("an hour", 60),
        ("1h 15m", 75),
        ("45 min", 45),
        ("half an hour", 30),
        ("an hour and a half", 90),
        ("forty-five minutes", 45),
        ("2 hours 30 minutes", 150),
        ("20-30 minutes", None),
        ("every day", None),
        ("I'm 30 years old", None),
    ],
)
def test_parse_minutes(text: str, expected: int | None) -> None:
    assert parse_minutes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.5 liters", 2500),
        ("2.5 l", 2500),
        ("2500 ml", 2500),
        ("3 litres", 3000),
        ("8 glasses", 2000),
        ("64 oz", 1893),
        ("a liter", 1000),
        ("half a gallon", 1893),
        ("two and a half litres", 2500),
        ("2,5 l", 2500),
        ("70 lbs", None),
    ],
)
def test_parse_volume_ml(text: str, expected: int | None) -> None:
    assert parse_volume_ml(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("70 kg", 70.0),
        ("154 lbs", 69.9),
        ("154 pounds", 69.9),
        ("70kg", 70.0),
        ("11 stone", 69.9),
        ("2.5 liters", None),
    ],
)
def test_parse_weight_kg(text: str, expected: float | None) -> None:
    assert parse_weight_kg(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2000 kcal", 2000),
        ("2,000 calories", 2000),
        ("2k calories", 2000),
        ("calories: 1800", 1800),
        ("4 meals", None),
    ],
)
def test_parse_calories(text: str, expected: int | None) -> None:
    assert parse_calories(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("every 30 minutes", 30),
        ("every hour", 60),
        ("every 2 hours", 120),
        ("every half hour", 30),
        ("every hour and a half", 90),
        ("hourly", 60),
        ("twice an hour", 30),
        ("for 2 hours", None),
    ],
)
def test_parse_interval_minutes(text: str, expected: int | None) -> None:
    assert parse_interval_minutes(text) == expected


@FAST
@given(st.integers(min_value=0, max_value=100_000))
def test_quantities_round_trip(amount: int) -> None:
    assert parse_minutes(f"{amount} minutes") == amount
    assert parse_volume_ml(f"{amount} ml") == amount
    assert parse_calories(f"{amount} kcal") == amount
    assert parse_weight_kg(f"{amount} kg") == amount


@FAST
@given(st.integers(min_value=0, max_value=23), st.integers(min_value=0, max_value=59))
def test_hours_and_minutes_round_trip(hours: int, minutes: int) -> None:
    assert parse_minutes(f"{hours}h {minutes}m") == hours * 60 + minutes
    assert parse_minutes(f"{hours} hours and {minutes} minutes") == hours * 60 + minutes


@FAST
@given(messages)
def test_quantities_are_never_negative(text: str) -> None:
    for value in (parse_minutes(text), parse_volume_ml(text), parse_calories(text), parse_interval_minutes(text)):
        assert value is None or (float(value).is_integer() and value >= 0)
    weight = parse_weight_kg(text)
    assert weight is None or (weight >= 0 and round(weight, 1) == weight)


# --- macros ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "30% protein, 40% carbs, 30% fat",
        "protein 30 carbs 40 fat 30",
        "30/40/30",
        "protein: 30%, carbohydrates: 40%, fats: 30%",
        "40/30/30 carbs/protein/fat",
    ],
)
def test_parse_macros_reads_every_layout(text: str) -> None:
    assert parse_macros(text) == {"protein": 30, "carbs": 40, "fats": 30}


def test_parse_macros_ignores_grams_and_calories() -> None:
    assert parse_macros("2000 calories, 150g protein") == {}


@FAST
@given(messages)
def test_macros_are_named_percentages(text: str) -> None:
    macros = parse_macros(text)
    assert set(macros) <= {"protein", "carbs", "fats"}
    assert all(isinstance(value, int) and 0 <= value <= 100 for value in macros.values())


# --- weekdays ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Monday, Wednesday and Friday", [0, 2, 4]),
        ("Mon/Wed/Fri", [0, 2, 4]),
        ("Monday through Friday", [0, 1, 2, 3, 4]),
        ("mon-fri", [0, 1, 2, 3, 4]),
        ("weekdays", [0, 1, 2, 3, 4]),
        ("weekends", [5, 6]),
        ("every day", [0, 1, 2, 3, 4, 5, 6]),
        ("daily", [0, 1, 2, 3, 4, 5, 6]),
        ("Tuesdays and Thursdays", [1, 3]),
        ("every day except Sunday", [0, 1, 2, 3, 4, 5]),
        ("fri to mon", [0, 4, 5, 6]),
        ("sat and sun", [5, 6]),
        ("I sat in the sun", []),
        ("every other day", []),
    ],
)
def test_parse_weekdays(text: str, expected: list[int]) -> None:
    assert parse_weekdays(text) == expected


@FAST
@given(st.sets(st.integers(min_value=0, max_value=6), min_size=1), st.sampled_from([", ", " and ", "/", " & "]))
def test_named_weekdays_round_trip(days: set[int], separator: str) -> None:
    text = separator.join(WEEKDAY_NAMES[day] for day in sorted(days, reverse=True))
    assert parse_weekdays(text) == sorted(days)


@FAST
@given(messages)
def test_weekdays_are_sorted_distinct_weekdays(text: str) -> None:
    days = parse_weekdays(text)
    assert days == sorted(set(days))
    assert all(0 <= day <= 6 for day in days)


# --- times -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6:30 pm", ["18:30"]),
        ("18:30", ["18:30"]),
        ("7am", ["07:00"]),
        ("7 a.m.", ["07:00"]),
        ("7 p.m. and 8:15 p.m.", ["19:00", "20:15"]),
        ("noon", ["12:00"]),
        ("midnight", ["00:00"]),
        ("12 noon", ["12:00"]),
        ("12am", ["00:00"]),
        ("12pm", ["12:00"]),
        ("at 6 in the morning", ["06:00"]),
        ("6 in the evening", ["18:00"]),
        ("10 at night", ["22:00"]),
        ("7 o'clock", ["07:00"]),
        ("half past six pm", ["18:30"]),
        ("quarter to 7 in the evening", ["18:45"]),
        ("at 7", []),
        ("2.5 liters", []),
        ("13pm", []),
        ("25:00", []),
    ],
)
def test_parse_times(text: str, expected: list[str]) -> None:
    assert parse_times(text) == expected


@FAST
@given(st.integers(min_value=0, max_value=23), st.integers(min_value=0, max_value=59))
def test_times_round_trip(hour: int, minute: int) -> None:
    clock = format_time(hour, minute)
    twelve = f"{hour % 12 or 12}:{minute:02d} {'pm' if hour >= 12 else 'am'}"
    assert parse_time(clock) == clock
    assert parse_time(twelve) == clock
    assert parse_time(f"I train at {twelve} on weekdays") == clock


def test_format_time_rejects_what_is_not_a_time() -> None:
    with pytest.raises(ValueError, match="Not a time of day"):
        format_time(24, 0)


@FAST
@given(messages)
def test_times_are_valid_clock_times(text: str) -> None:
    for clock in parse_times(text):
        assert TIME_RE.match(clock), clock


# --- approvals, none, lists ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["looks good", "yes", "ok", "okay", "sure", "perfect", "sounds great", "let's do it", "approve",
     "i'm happy with it", "\U0001f44d", "No changes, looks great!", "Yes please"],
)  # fmt: skip
def test_parse_approval_accepts(text: str) -> None:
    assert parse_approval(text) is True


@pytest.mark.parametrize(
    "text",
    ["no", "not really", "change", "I don't like it", "Nope.", "ok but make it 3 days",
     "swap Monday's legs for upper body", "not happy with it", "can you make sessions shorter?"],
)  # fmt: skip
def test_parse_approval_declines_refusals_and_change_requests(text: str) -> None:
    assert parse_approval(text) is False


@pytest.mark.parametrize("text", ["", "I train at 6", "hmm, tell me more"])
def test_parse_approval_is_none_without_an_answer(text: str) -> None:
    assert parse_approval(text) is None


@pytest.mark.parametrize("text", ["none", "No.", "nothing", "I don't have any", "nope", "None at all!"])
def test_is_bare_none(text: str) -> None:
    assert is_bare_none(text)


@pytest.mark.parametrize("text", ["no injuries", "none of them hurt but my knee", "no, I have dumbbells"])
def test_is_bare_none_needs_the_whole_answer(text: str) -> None:
    assert not is_bare_none(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dumbbells and a mat", ["dumbbells", "mat"]),
        ("a barbell, a bench, and resistance bands", ["barbell", "bench", "resistance bands"]),
        ("Peanuts & Shellfish", ["peanuts", "shellfish"]),
        ("a yoga mat too", ["yoga mat"]),
        ("that's it", []),
    ],
)
def test_parse_list_items(text: str, expected: list[str]) -> None:
    assert parse_list_items(text) == expected


@FAST
@given(messages)
def test_list_items_are_short_clean_and_distinct(text: str) -> None:
    items = parse_list_items(text)
    assert len(items) <= MAX_LIST_ITEMS
    assert len(set(items)) == len(items)
    for item in items:
        assert item
        assert item == item.strip()
        assert len(item) <= MAX_ITEM_LENGTH
        assert item == item.lower() or not item.isascii()


@FAST
@given(messages)
def test_approval_is_a_bool_or_none(text: str) -> None:
    assert parse_approval(text) in (True, False, None)


# --- extraction per step --------------------------------------------------------------------------------

EXAMPLES: list[tuple[int, str, dict[str, Any]]] = [
    # step 1
    (
        1,
        "I'm a beginner, I can do 10 push-ups and I work out twice a week",
        {"fitness_level": "beginner", "experience": {"pushups": 10, "workouts_per_week": 2}},
    ),
    (1, "I'm 30 years old and a couch potato", {"fitness_level": "beginner"}),
    (
        1,
        "I work out sometimes, maybe 3 times a week, and I play tennis and swim",
        {
            "fitness_level": "intermediate",
            "experience": {"workouts_per_week": 3, "activities": ["tennis", "swimming"]},
        },
    ),
    (
        1,
        "very fit, years of lifting, I train hard 5x a week",
        {"fitness_level": "advanced", "experience": {"workouts_per_week": 5, "activities": ["weightlifting"]}},
    ),
    (1, "not very fit to be honest", {"fitness_level": "beginner"}),
    (1, "I can't do a single push-up", {"experience": {"pushups": 0}}),
    (1, "I do push-ups 3 times a week", {"experience": {"workouts_per_week": 3}}),
    # step 2
    (2, "dumbbells and a mat", {"equipment": ["dumbbells", "mat"]}),
    (2, "a barbell, a bench, and resistance bands", {"equipment": ["barbell", "bench", "resistance bands"]}),
    (2, "I have a bad knee", {"injuries": ["bad knee"]}),
    (2, "no injuries or limitations", {"injuries": [], "limitations": []}),
    (2, "none", {"equipment": [], "injuries": [], "limitations": []}),
    (2, "I don't have any", {"equipment": [], "injuries": [], "limitations": []}),
    (2, "no equipment", {"equipment": []}),
    (
        2,
        "I have dumbbells and a pull-up bar, a bad lower back, and asthma",
        {"equipment": ["dumbbells", "pull-up bar"], "injuries": ["bad lower back"], "limitations": ["asthma"]},
    ),
    (2, "bad knees so no jumping", {"injuries": ["bad knees"], "limitations": ["no jumping"]}),
    (2, "injury free, I have some weights", {"equipment": ["weights"], "injuries": []}),
    # step 3
    (3, "I want to lose weight", {"primary_goal": "fat_loss"}),
    (
        3,
        "mainly lose weight but also build some muscle",
        {"primary_goal": "fat_loss", "secondary_goal": "muscle_gain"},
    ),
    (3, "build muscle, but mostly lose fat", {"primary_goal": "fat_loss", "secondary_goal": "muscle_gain"}),
    (3, "get down to 70 kg and 15% body fat", {"target_weight_kg": 70.0, "target_body_fat_percentage": 15.0}),
    (3, "I weigh 90 kg and want to get down to 80kg", {"target_weight_kg": 80.0}),
    (3, "I want to lose 10 kg", {"primary_goal": "fat_loss"}),
    (3, "I don't want to get bigger, just lose fat", {"primary_goal": "fat_loss"}),
    (3, "stay healthy, and my goal weight is 154 lbs", {"primary_goal": "general_fitness", "target_weight_kg": 69.9}),
    # step 4
    (4, "Gym, 4 days a week, an hour each", {"location": "gym", "days_per_week": 4, "session_minutes": 60}),
    (4, "at home, 3 days, 45 minutes", {"location": "home", "days_per_week": 3, "session_minutes": 45}),
    (4, "I want 12 training days", {"days_per_week": 12}),
    (
        4,
        "running outdoors in the park, twice a week for half an hour",
        {"location": "outdoor", "days_per_week": 2, "session_minutes": 30},
    ),
    (4, "home gym, monday wednesday friday, 1h 15m", {"location": "home", "days_per_week": 3, "session_minutes": 75}),
    (4, "at home or outside, 3-4 days", {}),
    # step 5
    (5, "looks good", {"approved": True}),
    (5, "\U0001f44d", {"approved": True}),
    (5, "no", {"approved": False}),
    (5, "I don't like it", {"approved": False}),
    (5, "swap Monday's legs for upper body", {"focus_changes": [{"weekday": 0, "focus": "upper_body"}]}),
    (5, "make Friday cardio", {"focus_changes": [{"weekday": 4, "focus": "cardio"}]}),
    (5, "ok but make it 3 days", {"days_per_week": 3}),
    (5, "shorter sessions, 30 minutes", {"session_minutes": 30}),
    (
        5,
        "Make Monday and Thursday upper body and Friday cardio instead of legs",
        {
            "focus_changes": [
                {"weekday": 0, "focus": "upper_body"},
                {"weekday": 3, "focus": "upper_body"},
                {"weekday": 4, "focus": "cardio"},
            ]
        },
    ),
    (5, "change Wednesday from legs to core", {"focus_changes": [{"weekday": 2, "focus": "core"}]}),
    # step 6
    (6, "I eat everything", {"diet_type": "omnivore"}),
    (6, "plant-based", {"diet_type": "vegan"}),
    (6, "no meat but I eat fish", {"diet_type": "pescatarian"}),
    (6, "low carb high fat", {"diet_type": "keto"}),
    (
        6,
        "vegetarian, allergic to peanuts and shellfish",
        {"diet_type": "vegetarian", "allergies": ["peanuts", "shellfish"]},
    ),
    (6, "I'm lactose intolerant", {"intolerances": ["lactose"]}),
    (6, "I hate mushrooms, don't like olives", {"dislikes": ["mushrooms", "olives"]}),
    (6, "no allergies or intolerances", {"allergies": [], "intolerances": []}),
    (6, "none", {"allergies": [], "intolerances": [], "dislikes": []}),
    (
        6,
        "I'm not vegan, I eat anything. I'm celiac and I can't stand coriander",
        {"diet_type": "omnivore", "intolerances": ["gluten"], "dislikes": ["coriander"]},
    ),
    (6, "I don't eat meat", {"diet_type": "vegetarian"}),
    # step 7
    (7, "2000 calories, 4 meals", {"daily_calories": 2000, "meals_per_day": 4}),
    (7, "30% protein, 40% carbs, 30% fat", {"protein_pct": 30, "carbs_pct": 40, "fats_pct": 30}),
    (7, "30/40/30", {"protein_pct": 30, "carbs_pct": 40, "fats_pct": 30}),
    (7, "looks good", {"approved": True}),
    (7, "no", {"approved": False}),
    (7, "yes but 4 meals", {"meals_per_day": 4}),
    (7, "2,000 kcal please", {"daily_calories": 2000}),
    (7, "let's do 1800", {"daily_calories": 1800}),
    # step 8
    (8, "Monday, Wednesday and Friday at 6:30 pm", {"workout_days": [0, 2, 4], "workout_time": "18:30"}),
    (8, "Mon/Wed/Fri", {"workout_days": [0, 2, 4]}),
    (8, "breakfast at 7, lunch at 12:30 and dinner at 7pm", {"meal_times": ["07:00", "12:30", "19:00"]}),
    (
        8,
        "I train at 6am; meals at 8, 13:00 and 19:00",
        {"workout_time": "06:00", "meal_times": ["08:00", "13:00", "19:00"]},
    ),
    (8, "7, 12 and 6pm", {"meal_times": ["07:00", "12:00", "18:00"]}),
    (8, "Tuesdays and Thursdays, at 6 in the evening", {"workout_days": [1, 3], "workout_time": "18:00"}),
    (8, "I work out at 7", {}),
    (
        8,
        "Mon, Tue, Thu and Fri at 6:30 pm. Breakfast at 7, lunch at 12:30, a snack at 4pm and dinner at 7pm",
        {"workout_days": [0, 1, 3, 4], "workout_time": "18:30", "meal_times": ["07:00", "12:30", "16:00", "19:00"]},
    ),
    (8, "dinner at 6:30, lunch at 1, breakfast at 7:30", {"meal_times": ["07:30", "13:00", "18:30"]}),
    # step 9
    (9, "2.5 liters", {"daily_water_ml": 2500}),
    (9, "8 glasses a day, remind me every hour", {"daily_water_ml": 2000, "reminder_every_minutes": 60}),
    (9, "I drink 64 oz, every 2 hours please", {"daily_water_ml": 1893, "reminder_every_minutes": 120}),
    (9, "yes I'm interested in supplements", {"interested_in_supplements": True}),
    (9, "tell me about supplements", {"interested_in_supplements": True}),
    (9, "no supplements", {"interested_in_supplements": False}),
    (9, "I already take creatine", {"current_supplements": ["creatine"]}),
    (9, "I take creatine and vitamin D", {"current_supplements": ["creatine", "vitamin d"]}),
    (9, "no", {"interested_in_supplements": False, "current_supplements": []}),
    (9, "I take a 2 liter bottle to work", {"daily_water_ml": 2000}),
]


@pytest.mark.parametrize(("step", "message", "expected"), EXAMPLES)
def test_extract_examples(step: int, message: str, expected: dict[str, Any]) -> None:
    assert extract(step, message) == expected


# How people tell things, class by class (issue 11): each message says one thing in a way the engine
# used to misread; the expected values are what a careful human would record.
TOLD_AS_A_STORY = [
    # A long item is cut down to what it names; the story around it is not an item.
    (
        2,
        "There's a rowing machine in the spare room that mostly holds laundry. I tore my ACL skiing, had it "
        "reconstructed, and the knee still swells up after long walks.",
        {"equipment": ["rowing machine"], "injuries": ["knee (acl)"]},
    ),
    (
        2,
        "My right hip has been giving me grief since I fell off my bike last year, it flares up when I squat deep",
        {"injuries": ["right hip"]},
    ),
    (
        2,
        "Old lower back injury from deadlifting in 2019, fully healed but I'm careful with it",
        {"injuries": ["lower back"]},
    ),
    (2, "I hurt my knee last year. It still aches.", {"injuries": ["knee"]}),
    (2, "my left shoulder, which I dislocated a while ago", {"injuries": ["left shoulder"]}),
    (2, "injury: knee yes, the left one", {"injuries": ["left knee"]}),
    (2, "I have a home gym in the garage: squat rack, barbell", {"equipment": ["squat rack", "barbell"]}),
    # What the user cannot do because of a condition stays with it; beside an injury it is a limitation.
    (2, "I have asthma so I can't do long cardio", {"limitations": ["asthma (can't do long cardio)"]}),
    (2, "bad knees so no jumping", {"injuries": ["bad knees"], "limitations": ["no jumping"]}),
    # "No injuries as such" with a sore joint: the user does not count it as an injury; never dropped.
    (
        2,
        "My wrists hurt from typing so I'd rather avoid push-ups, but no injuries as such.",
        {"injuries": [], "limitations": ["wrists (rather avoid push-ups)"]},
    ),
    (
        2,
        "Nothing holds me back besides my left shoulder",
        {"injuries": ["left shoulder"], "limitations": []},
    ),
    # Informal "no" after the field's name.
    (
        2,
        "equipment: a mat. injuries - nope. limitations: nah",
        {"equipment": ["mat"], "injuries": [], "limitations": []},
    ),
    (2, "gym have all. injury no. limit no.", {"equipment": ["gym"], "injuries": [], "limitations": []}),
    # Past sports are not today's activities; gear named after a sport is not the sport.
    (
        1,
        "I played rugby until I was 25 and did karate as a kid, but these days I only go hiking",
        {"experience": {"activities": ["hiking"]}},
    ),
    (1, "I used to swim competitively but gave it up ages ago. Beginner now.", {"fitness_level": "beginner"}),
    (1, "I go to a spin class twice a week", {"experience": {"workouts_per_week": 2, "activities": ["cycling"]}}),
    (1, "beginner, I only have a yoga mat", {"fitness_level": "beginner"}),
    (1, "I walk every day", {"experience": {"activities": ["walking"]}}),
    (1, "intermediate, I want to build muscle at home 4 days a week", {"fitness_level": "intermediate"}),
    # A medicine or other non-food allergy is told but is not a food allergy.
    (6, "I'm allergic to ibuprofen and to peanuts", {"allergies": ["peanuts"]}),
    (6, "I'm allergic to penicillin but that's not food", {"allergies": []}),
    (6, "I only react to latex and pollen, no food allergies", {"allergies": []}),
    # A vegetarian who eats fish, said without the word.
    (6, "meat I not eat, fish yes", {"diet_type": "pescatarian"}),
    (6, "meat no, fish ok", {"diet_type": "pescatarian"}),
    (6, "I skip meat completely but seafood is fine", {"diet_type": "pescatarian"}),
    (6, "vegetarian, no fish", {"diet_type": "vegetarian"}),
    (
        6,
        "diet: normal. allergies nope, intolerances zero, dislikes: nah",
        {"diet_type": "omnivore", "allergies": [], "intolerances": [], "dislikes": []},
    ),
    (6, "allergy: peanut yes. dislike: coffee", {"allergies": ["peanut"], "dislikes": ["coffee"]}),
    # The same classes in other words (the second batch of personas).
    (
        2,
        "I had meniscus surgery on my right knee in 2021, it's mostly fine now but deep squats still pinch.",
        {"injuries": ["right knee (meniscus; deep squats still pinch)"]},
    ),
    (2, "pain yes, in shoulder left", {"injuries": ["shoulder left"]}),
    (2, "bad knee and gout", {"injuries": ["bad knee"], "limitations": ["gout"]}),
    (
        2,
        "Not really an injury, but my neck gets stiff after long days at the computer",
        {"injuries": [], "limitations": ["neck"]},
    ),
    (6, "No allergies, well, apart from sesame", {"allergies": ["sesame"]}),
    (6, "Allergic to aspirin and shrimp. Nothing I can't digest.", {"allergies": ["shrimp"], "intolerances": []}),
    (
        6,
        "Everything. None. None. None.",
        {"diet_type": "omnivore", "allergies": [], "intolerances": [], "dislikes": []},
    ),
    (
        8,
        "Mon Wed Fri. 7am. 8, 13, 19.",
        {"workout_days": [0, 2, 4], "workout_time": "07:00", "meal_times": ["08:00", "13:00", "19:00"]},
    ),
    (8, "monday at 18", {"workout_days": [0], "workout_time": "18:00"}),
    (8, "at 7am, actually make that 6:30am", {"workout_time": "06:30"}),
    (8, "at 7pm, no wait, 8", {"workout_time": "20:00"}),
    (8, "de lunes a viernes a las 6 de la mañana", {"workout_days": [0, 1, 2, 3, 4], "workout_time": "06:00"}),
    (9, "dos litros y medio", {"daily_water_ml": 2500}),
    (6, "como de todo, soy alérgico al marisco", {"diet_type": "omnivore", "allergies": ["shellfish"]}),
    (1, "medium level, not beginner not advanced", {"fitness_level": "intermediate"}),
    (2, "resistance bans, a pair of dumbbells", {"equipment": ["resistance bands", "dumbbells"]}),
    (5, "vale", {"approved": True}),
    # Formats and phrasings the remaining known gaps showed.
    (
        8,
        "at 6.30pm; meals at 8.00, 13.00 and 19.00",
        {"workout_time": "18:30", "meal_times": ["08:00", "13:00", "19:00"]},
    ),
    (3, "I'd like to weigh 72.50 kg", {"target_weight_kg": 72.5}),
    (4, "home, 3 days, 1h15", {"location": "home", "days_per_week": 3, "session_minutes": 75}),
    (
        8,
        "mon tue wed thu fri at 7pm meals at 8 13 and 20",
        {"workout_days": [0, 1, 2, 3, 4], "workout_time": "19:00", "meal_times": ["08:00", "13:00", "20:00"]},
    ),
    (
        8,
        "mon wed fri, 18:00, 08:00 13:00 19:00",
        {"workout_days": [0, 2, 4], "workout_time": "18:00", "meal_times": ["08:00", "13:00", "19:00"]},
    ),
    (8, "friday at 7 of morning", {"workout_days": [4], "workout_time": "07:00"}),
    (6, "everything but pork", {"diet_type": "omnivore", "dislikes": ["pork"]}),
    (6, "i eat whatever", {"diet_type": "omnivore"}),
    (6, "I have allergy of nuts", {"allergies": ["nuts"]}),
    (6, "I don't dislike anything really", {"dislikes": []}),
    (6, "nada que no me guste", {"dislikes": []}),
    (9, "2 liters, not supplements", {"daily_water_ml": 2000, "interested_in_supplements": False}),
    (7, "Sounds reasonable, let's do that.", {"approved": True}),
    # The third batch of personas.
    (6, "I eat most things", {"diet_type": "omnivore"}),
    (2, "no equipment, pain in my right shoulder", {"equipment": [], "injuries": ["right shoulder"]}),
    (
        6,
        "como de todo menos cerdo, sin alergias ni intolerancias",
        {"diet_type": "omnivore", "dislikes": ["pork"], "allergies": [], "intolerances": []},
    ),
    (4, "en casa, 3 dias, no mejor 4 dias", {"location": "home", "days_per_week": 4}),
    # The fourth batch: safety said every which way, hedges, corrections of items.
    (6, "I can't have tree nuts, I go into anaphylaxis", {"allergies": ["tree nuts"]}),
    (
        6,
        "I carry an EpiPen because of a severe shellfish allergy, and milk makes me bloated",
        {"allergies": ["shellfish"], "intolerances": ["milk"]},
    ),
    (6, "Lactose gives me trouble", {"intolerances": ["lactose"]}),
    (6, "Not really any dislikes apart from olives", {"dislikes": ["olives"]}),
    (2, "I have dumbbells, no wait, kettlebells, I sold the dumbbells", {"equipment": ["kettlebells"]}),
    (2, "bad knee, i mean bad ankle", {"injuries": ["bad ankle"]}),
    # Safety: the reason given for a limitation is a condition of its own; "no other injuries" keeps the
    # ones named; a medical condition said with "I have" is no equipment.
    (
        2,
        "My doctor says I shouldn't lift heavy because of my heart",
        {"limitations": ["doctor says i shouldn't lift heavy", "heart"]},
    ),
    (2, "I have a bad knee. No other injuries. Actually my shoulder too.", {"injuries": ["bad knee", "shoulder"]}),
    (2, "I have gout", {"limitations": ["gout"]}),
    (2, "I have high blood pressure, which my doctor says is under control.", {"limitations": ["high blood pressure"]}),
    # A target said without its unit takes the unit of the weight said before it; undecided is no answer.
    (3, "I weigh 90kg and want to get to 80", {"target_weight_kg": 80.0}),
    (3, "I weigh 200 lbs and want to get down to 180", {"target_weight_kg": 81.6}),
    (9, "not sure about supplements", {}),
    (6, "I think I might be lactose intolerant", {"intolerances": ["lactose"]}),
    # Typos that are other words, or too short for the edit-distance search.
    (4, "gym, 4 days a weak, 60 mins", {"location": "gym", "days_per_week": 4, "session_minutes": 60}),
    (5, "looks god", {"approved": True}),
    (7, "sounds gud", {"approved": True}),
    (5, "yesss", {"approved": True}),
    (9, "2 liter, supplement no", {"daily_water_ml": 2000, "interested_in_supplements": False}),
]


@pytest.mark.parametrize(("step", "message", "expected"), TOLD_AS_A_STORY)
def test_what_people_tell_is_recorded_as_they_meant_it(step: int, message: str, expected: dict[str, Any]) -> None:
    assert extract(step, message) == expected


@pytest.mark.parametrize("step", range(1, 10))
def test_chit_chat_states_nothing(step: int) -> None:
    assert extract(step, "Hello there! What is this app about?") == {}


@pytest.mark.parametrize("step", [0, 10, -1])
def test_extract_rejects_steps_outside_one_to_nine(step: int) -> None:
    with pytest.raises(ValueError, match=f"Invalid onboarding step: {step}"):
        extract(step, "yes")


# The workout plan step also takes the plan changes the workout agent applies.
_PLAN_CHANGES: dict[str, FieldSpec] = {
    "days_per_week": Integer("days_per_week", "", minimum=2, maximum=7),
    "session_minutes": Integer("session_minutes", "", minimum=20, maximum=180),
}


def _conforms(spec: FieldSpec, value: Any) -> bool:
    """Whether ``value`` has the JSON type ``spec`` asks for (ranges are the validator's business)."""
    if isinstance(spec, Boolean):
        return isinstance(value, bool)
    if isinstance(spec, Integer):
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if isinstance(spec, Number):
        return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    if isinstance(spec, Choice):
        return value in spec.choices
    if isinstance(spec, ClockTime):
        return isinstance(value, str) and bool(TIME_RE.match(value))
    if isinstance(spec, ClockTimeList):
        return isinstance(value, list) and all(isinstance(item, str) and TIME_RE.match(item) for item in value)
    if isinstance(spec, WeekdayList):
        return isinstance(value, list) and value == sorted(set(value)) and all(0 <= day <= 6 for day in value)
    if isinstance(spec, TextList):
        return isinstance(value, list) and all(
            isinstance(item, str) and item.strip() and len(item) <= spec.max_length for item in value
        )
    if isinstance(spec, Group):
        inner = {field.name: field for field in spec.fields}
        return isinstance(value, dict) and all(
            key in inner and _conforms(inner[key], item) for key, item in value.items()
        )
    return False


def _focus_changes_conform(value: Any) -> bool:
    return isinstance(value, list) and all(
        set(change) == {"weekday", "focus"} and 0 <= change["weekday"] <= 6 and change["focus"] in WORKOUT_FOCUSES
        for change in value
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=9), messages)
def test_extract_returns_only_the_steps_fields_typed_as_its_schema(step: int, message: str) -> None:
    values = extract(step, message)
    definition = step_get(step)
    for key, value in values.items():
        if step == 5 and key == "focus_changes":
            assert _focus_changes_conform(value)
            continue
        spec = _PLAN_CHANGES[key] if step == 5 and key in _PLAN_CHANGES else definition.spec(key)
        assert spec.llm_settable
        assert _conforms(spec, value), (key, value)


@pytest.mark.parametrize(
    "message",
    [
        "no " * 700,
        "9" * 2000,
        "monday-" * 280,
        "a, " * 666,
        "every " * 333,
        "1:1" * 666,
        "lose weight " * 160,
        "dumbbells and a mat, " * 95,
        "not very " * 220,
        "allergic to " * 166,
        "6pm breakfast at 7, " * 100,
    ],
)
def test_long_adversarial_messages_stay_fast(message: str) -> None:
    started = time.perf_counter()
    for step in range(1, 10):
        extract(step, message[:2000])
    assert time.perf_counter() - started < 5.0  # generous: catastrophic backtracking takes minutes


def test_a_turn_remembers_its_text_and_nothing_after(monkeypatch: pytest.MonkeyPatch) -> None:
    from offline_engine import language, memo
    from offline_engine.parsing import text

    calls: list[str] = []
    for module, name in ((text, "_normalized"), (language, "_correction")):
        real = getattr(module, name)

        def counted(value: str, real: Any = real, name: str = name) -> str:
            calls.append(f"{name}:{value}")
            return real(value)

        monkeypatch.setattr(module, name, counted)
    message = "My left knee hurts since the meniscus tear"

    # Within a turn's memo one message (and each of its words) is worked out once, however many steps read it
    with memo.turn_memo():
        first, second = text.normalize(message), text.normalize(message)
        assert language._corrected("meniscus") == "meniscus"
    assert first == second
    assert calls.count(f"_normalized:{message}") == 1
    assert calls.count("_correction:meniscus") == 1
    # and outside one nothing is remembered: each call works it out again
    text.normalize(message)
    language._corrected("meniscus")
    assert calls.count(f"_normalized:{message}") == 2
    assert calls.count("_correction:meniscus") == 3


def test_the_engine_keeps_no_word_of_a_message_after_its_turn() -> None:

    from agents.llm.types import LLMRequest
    from offline_engine.engine import OfflineProvider

    # A word no module holds (built at run time, so no code constant holds it either), normalized and
    # typo-corrected during the turn
    word = "".join(["xqz", "meniscus", "qx"])
    request = LLMRequest(
        system_static="",
        system_dynamic="",
        tools=[{"name": "record_limitations"}],
        messages=[{"role": "user", "content": f"I tore my {word} in 2019"}],
        step=2,
    )

    response = OfflineProvider().complete(request)
    del request, response

    # Then no dict, list, tuple or set left in the process holds the message or the word
    assert containers_holding(word) == []
