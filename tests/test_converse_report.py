"""The figures of ``make converse`` (completion, turns per step, wrong fields, lost items) on hand-made walks."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.converse.corpus import CorpusError, Persona, persona_from_dict
from devtools.converse.report import item_matches, summary_make, summary_text, value_matches, walk_judge
from devtools.converse.walk import REVIEW, Turn, WalkResult

EXPECTED: dict[int, dict[str, Any]] = {
    1: {"fitness_level": "beginner"},
    2: {"equipment": ["dumbbell"], "injuries": ["knee"], "limitations": []},
    3: {"primary_goal": "fat_loss"},
    4: {"location": "home", "days_per_week": 3, "session_minutes": 30},
    6: {"diet_type": "omnivore", "allergies": ["peanut"], "intolerances": [], "dislikes": []},
    8: {"workout_days": [0, 2, 4], "workout_time": "07:00", "meal_times": ["08:00", "13:00", "19:00"]},
    9: {"daily_water_ml": {"between": [1850, 1950]}, "interested_in_supplements": False},
}


def _persona(name: str, **extra: Any) -> Persona:
    return persona_from_dict(
        {
            "name": name,
            "say": {1: "beginer", 2: ["dumbbells and a bad knee", "none"]},
            "expected": EXPECTED,
            "keep": {"injuries": ["knee"], "allergies": ["peanut"]},
            **extra,
        }
    )


def _stored() -> dict[int, dict[str, Any]]:
    stored: dict[int, dict[str, Any]] = {step: dict(values) for step, values in EXPECTED.items()}
    stored[2] = {"equipment": ["Dumbbells"], "injuries": ["bad knee"], "limitations": []}
    stored[5] = {"plan": {"sessions": []}, "approved": True}
    stored[6] = {**EXPECTED[6], "allergies": ["peanuts"]}
    # The coach proposed these, and the persona just approved: any proposal is right.
    stored[7] = {"daily_calories": 1900, "protein_pct": 35, "carbs_pct": 35, "fats_pct": 30, "meals_per_day": 3}
    stored[7]["approved"] = True
    stored[9] = {"daily_water_ml": 1893, "interested_in_supplements": False}
    return stored


def _turns(steps: list[int | str], fallbacks: int = 0) -> list[Turn]:
    turns = [Turn(step=step, message="m", reply="r", next_action="continue") for step in steps]
    for turn in turns[len(turns) - fallbacks :]:
        turn.fallback = True
    return turns


def test_the_report_sums_completion_turns_per_step_and_lost_items() -> None:
    # Given one walk that completed right in one turn a step plus a confirmation of the review,
    finished = WalkResult(
        persona=_persona("finished"),
        turns=_turns([1, 2, 3, 4, 5, 6, 7, 8, 9, REVIEW]),
        completed=True,
        stuck_at=None,
        step_data=_stored(),
        completed_steps=list(range(1, 10)),
    )
    # and one that lost the knee to a bare "none" and got stuck at step 2 after two fallbacks
    stuck_data: dict[int, dict[str, Any]] = {
        1: {"fitness_level": "beginner"},
        2: {"equipment": [], "injuries": [], "limitations": []},
    }
    stuck = WalkResult(
        persona=_persona("stuck"),
        turns=_turns([1, 2, 2, 2, 2], fallbacks=2),
        completed=False,
        stuck_at=2,
        step_data=stuck_data,
        completed_steps=[1],
    )

    # When the walks are judged and summed
    summary = summary_make([finished, stuck])

    # Then one of two is correct, and 15 messages over 12 steps walked (9 + review, then 1 + the stuck one)
    assert (summary.personas, summary.completed, summary.correct, summary.understood) == (2, 1, 1, 1)
    assert summary.correct_rate == 0.5
    assert summary.turns_per_step == pytest.approx(15 / 12)
    assert summary.fallbacks == 2
    # and the knee is both a wrong field and a lost item; the unreached allergy is neither
    assert [str(lost) for lost in summary.lost] == ["stuck: injuries lost 'knee' (stored [])"]
    assert [(wrong.step, wrong.field) for wrong in summary.wrong] == [(2, "equipment"), (2, "injuries")]
    assert summary.targets() == [
        ("complete with every field right >= 95%: 50.0%", False),
        ("mean turns per step <= 1.3: 1.25", True),
        ("lost items == 0: 1", False),
    ]
    text = summary_text(summary)
    assert "Not completed: stuck (stuck at 2)" in text
    assert "[NOT MET] lost items == 0: 1" in text


def test_a_value_the_persona_never_gave_or_a_changed_proposal_is_a_wrong_field() -> None:
    # Given a walk that stored a secondary goal nobody mentioned and a calorie figure the persona had set
    persona = _persona("strict", expected={**EXPECTED, 7: {"daily_calories": 2200}})
    stored = _stored()
    stored[3] = {"primary_goal": "fat_loss", "secondary_goal": "muscle_gain"}

    # When it is judged
    verdict = walk_judge(
        WalkResult(persona, _turns(list(range(1, 10))), True, None, stored, completed_steps=list(range(1, 10)))
    )

    # Then both are wrong, and the proposed macros the persona just approved are not
    assert [wrong.detail() for wrong in verdict.wrong] == [
        "step 3 secondary_goal: expected None, got 'muscle_gain'",
        "step 7 daily_calories: expected 2200, got 1900",
    ]
    assert not verdict.correct


@pytest.mark.parametrize(
    ("expected", "got", "matches"),
    [
        ("knee", "bad knee", True),
        ("knee", "kneecap pain", False),
        ("resistance band", "Resistance bands", True),
        ("dumbbell|mancuerna", "mancuernas", True),
        ("peanut", None, False),
    ],
)
def test_items_match_by_words(expected: str, got: Any, matches: bool) -> None:
    assert item_matches(expected, got) is matches


@pytest.mark.parametrize(
    ("expected", "got", "matches"),
    [
        ({"between": [1850, 1950]}, 1893, True),
        ({"between": [1850, 1950]}, 2000, False),
        (None, [], True),  # an optional list saved empty says "none", as leaving it out does
        (None, ["creatine"], False),
        (72, 72.0, True),
        (True, 1, False),
        (["knee"], ["knee", "it still aches"], False),  # a fragment of the user's words is not an item
        ({"pushups": 40}, {"pushups": 40, "activities": ["yoga"]}, False),
    ],
)
def test_values_match_as_a_careful_human_would_judge(expected: Any, got: Any, matches: bool) -> None:
    assert value_matches(expected, got) is matches


def test_a_persona_falls_back_to_a_plain_restatement_after_its_own_words() -> None:
    persona = _persona("fallbacks", fallback={2: "I have dumbbells. My knee is injured."})

    assert persona.script(1) == ("beginer", "beginner")
    assert persona.script(2) == (
        "dumbbells and a bad knee",
        "none",
        "I have dumbbells. My knee is injured.",
        "equipment: dumbbell. injuries: knee. limitations: none",
    )
    assert persona.script(9) == ("1900 ml of water, no supplements",)


def test_a_persona_without_the_ground_truth_of_every_step_is_refused() -> None:
    with pytest.raises(CorpusError, match=r"expected values missing for steps \[9\]"):
        persona_from_dict({"name": "partial", "expected": {k: v for k, v in EXPECTED.items() if k != 9}})
