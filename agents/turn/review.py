"""Review before completion: the coach shows all nine answers and completes only once the user confirms.

When a chat turn leaves no step pending, onboarding is not finished at once: the reply
shows a readable summary of every step and asks the user to confirm or correct it. The
summary shown is remembered by a digest of the answers it showed (in ``agent_context``
under ``review``), so a "yes" completes the onboarding only if it answers that summary:
if an answer changed since (a correction in chat, a form answer), the new summary is shown
and confirmed again. A correction during the review goes to the step it names ("change my
diet to vegan" is for the diet step), as a chat message naming that ``step`` would.

The form flow's ``POST onboarding/complete`` is unchanged: it completes at once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from agents import wording
from agents.turn.guards import normalized
from onboarding.models import OnboardingState
from onboarding.steps import STEPS, StepData

REVIEW_KEY = "review"
# Fields the summary leaves out: the approval flags (the step being done says it) and the plan itself.
_NOT_SHOWN = frozenset({"approved", "plan"})


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_YES = _words(
    "yes yep yeah yup y sure ok okay k correct right confirm confirmed confirmo perfect great good fine fantastic "
    "lgtm si vale claro correcto perfecto bien exacto listo done finish finished absolutely definitely"
)
# Words that may stand beside a "yes" without changing it ("yes, that's all correct, thanks").
_FILLER = _words(
    "that thats its it is all everything every looks look seems sounds sound to me please thanks thank you "
    "so the them this those are yes perfectly totally very much lets go ahead and of course todo esta gracias "
    "por favor eso es muy"
)
# What each step is about, as people name it in a correction; the step with most words named wins.
_STEP_WORDS: Mapping[int, tuple[str, ...]] = {
    1: ("level", "beginner", "intermediate", "advanced", "pushups", "push", "experience", "nivel", "principiante"),
    2: ("equipment", "injury", "injuries", "limitation", "limitations", "knee", "back", "shoulder", "dumbbells"),
    3: ("goal", "goals", "fat", "weight", "muscle", "target", "objetivo", "peso"),
    4: ("location", "gym", "home", "outdoor", "outdoors", "session", "sessions", "minutes", "gimnasio", "casa"),
    5: ("plan", "exercises", "exercise", "routine"),
    6: ("diet", "vegetarian", "vegan", "keto", "paleo", "pescatarian", "omnivore", "allergy", "allergies", "dieta"),
    7: ("calories", "kcal", "protein", "carbs", "macros", "meals", "calorias", "comidas"),
    8: ("schedule", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "breakfast"),
    9: ("water", "hydration", "reminder", "reminders", "supplement", "supplements", "agua", "suplementos"),
}


def answers_digest(step_data: Mapping[str, Any]) -> str:
    """A fingerprint of all the answers, to tell whether the summary shown is still what is stored."""
    return hashlib.sha256(json.dumps(step_data, sort_keys=True).encode()).hexdigest()[:16]


def review_summary(steps_data: Mapping[int, StepData]) -> str:
    """Every step's answers as lines a person reads ("Goals: primary goal fat loss; ..."), without internals."""
    lines = []
    for step in STEPS:
        data = steps_data.get(step.number, {})
        shown = [
            f"{spec.label()} {spec.display(data[spec.name])}"
            for spec in step.fields
            if spec.name in data and spec.name not in _NOT_SHOWN
        ]
        if "plan" in data:
            shown.insert(0, wording.review_plan(len(data["plan"].get("sessions", []))))
        lines.append(f"- {step.title}: {'; '.join(shown) or wording.review_nothing()}")
    return "\n".join(lines)


def review_prompt(*, state: OnboardingState, steps_data: Mapping[int, StepData]) -> str:
    """Show the summary and ask to confirm it; remembers which answers it showed."""
    state.agent_context = {**state.agent_context, REVIEW_KEY: {"shown_for": answers_digest(state.step_data)}}
    return wording.review_ask(review_summary(steps_data))


def review_confirmed(*, state: OnboardingState, message: str) -> bool:
    """The message says yes to the summary last shown, and the answers are still the ones it showed."""
    shown_for = state.agent_context.get(REVIEW_KEY, {}).get("shown_for")
    return shown_for == answers_digest(state.step_data) and message_confirms(message)


def message_confirms(message: str) -> bool:
    """A plain yes ("yes", "looks good", "sí, todo correcto"), with nothing that asks for a change."""
    words = re.findall(r"[a-z]+", normalized(message))
    return any(word in _YES for word in words) and all(word in _YES or word in _FILLER for word in words)


def review_step_for(message: str) -> int | None:
    """The step a correction during the review is about, when the message names one clearly; else None."""
    words = set(re.findall(r"[a-z]+", normalized(message)))
    scores = {step: len(words.intersection(vocabulary)) for step, vocabulary in _STEP_WORDS.items()}
    best = max(scores.values())
    winners = [step for step, score in scores.items() if score == best]
    return winners[0] if best and len(winners) == 1 else None
