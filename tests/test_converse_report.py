"""The figures of ``make converse`` (completion, turns per step, wrong fields, lost items) on hand-made walks."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.converse.corpus import CorpusError, Persona, persona_from_dict
from devtools.converse.report import item_matches, summary_make, summary_text, value_matches, walk_judge
from devtools.converse.walk import REVIEW, Turn, WalkResult, persona_walk

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


class _Response:
    def __init__(self, status_code: int, body: dict[str, Any]) -> None:
        self.status_code = status_code
        self.data = body
        self._body = body

    def json(self) -> dict[str, Any]:
        return self._body


class ReviewingOnboardingAPI:
    """A stand-in for the onboarding API with the coming review step: each message completes one step,
    and after step 9 the coach shows a summary and completes only on a confirmation."""

    def __init__(self) -> None:
        self.step = 1
        self.complete = False
        self.in_review = False
        self.received: list[str] = []

    def credentials(self, **_: str) -> None:
        pass

    def post(self, path: str, data: Any = None, format: str = "json") -> _Response:
        if path.endswith("/auth/register"):
            return _Response(201, {})
        if path.endswith("/auth/token"):
            return _Response(200, {"access": "token"})
        if path.endswith("/onboarding/start"):
            return _Response(201, {"current_step": 1, "is_complete": False})
        self.received.append(data["message"])
        handled_at = self.step
        if self.in_review:
            self.complete = data["message"].startswith("yes")
            reply = "Done!" if self.complete else "Is everything in the summary correct?"
        elif self.step == 9:
            self.in_review = True
            reply = "Here is your summary. Is everything correct?"
        else:
            self.step += 1
            reply = "Next question"
        body = {
            "message": reply,
            "current_step": handled_at,
            "next_step": None if self.complete else self.step,
            "next_action": "complete_onboarding" if self.complete else "continue",
            "is_complete": self.complete,
        }
        return _Response(200, body)

    def get(self, path: str) -> _Response:
        completed = list(range(1, 10)) if self.in_review else list(range(1, self.step))
        if path.endswith("/progress"):
            return _Response(200, {"completed_steps": completed})
        data = {str(step): EXPECTED.get(step, {"approved": True}) for step in completed}
        return _Response(200, {"is_complete": self.complete, "step_data": data})


def test_a_walk_confirms_the_review_when_the_coach_asks_for_one_after_the_last_step() -> None:
    # Given an onboarding that asks for a confirmation of its summary after step 9
    api = ReviewingOnboardingAPI()
    persona = _persona("reviewed", say={step: f"answer {step}" for step in range(1, 10)}, review="yes, all good")

    # When the persona walks it
    walk = persona_walk(persona, client=api)  # type: ignore[arg-type]

    # Then the persona confirms once, the walk completes, and the review counts as one more step walked
    assert api.received[-2:] == ["answer 9", "yes, all good"]
    assert walk.completed
    assert walk.turns_by_step()[REVIEW] == 1
    assert walk_judge(walk).steps_walked == 10
