"""What a message means in its conversation: the layer between ``extraction`` and the provider.

``extraction.extract(step, message)`` reads one message alone. ``understand`` adds what the
conversation knows:

* **Questions are not answers.** A sentence that asks for information ("what do you mean by
  limitations?", "what's the difference between the levels?") is taken out before extraction and
  matched to a topic of the step's FAQ (``agents.faq``). A request phrased as a question ("can you
  make it 3 days?", "how about 1800?") stays an answer.
* **"None" answers the question that was asked.** A bare "none" / "no" / "nothing" (the whole
  answer or one of its clauses: "I eat everything, none") sets to ``[]``
  only list fields that are still empty in the step's draft, and of those only the ones the
  coach's last question names when it names any ("anything else that limits your training?" ->
  ``limitations``). A list that already has items is never emptied by a bare "none", nor by
  "no other injuries"; only by an explicit removal ("actually no injuries", "remove the knee").
* **Step 7: an approval that restates or adjusts the targets approves.** "2200 kcal, 25/45/30,
  4 meals, sounds good" carries the numbers and ``approved: true`` when every number is in range
  and the three percentages (with the draft's) add up to 100; otherwise only the numbers, for the
  server to check and explain.
* **Terse answers, one clause per question.** "Shellfish. None. Olives." after "allergies,
  intolerances or dislikes?" fills those lists in order, when the clauses the step does not
  recognise match the open lists one to one; "home, 3, 40" gives days, then minutes.
* **Answers for later steps.** Fields of later steps that a message states clearly (named goals,
  "at the gym", weekday names, "no allergies", a volume of water) are returned in ``later`` by
  step; proposal steps (5, 7) and guesses from bare numbers or a bare "none" are never included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agents.faq import faq_for_step
from offline_engine.extraction import (
    STEP_EXTRACTORS,
    extract,
    goal_named,
    list_field_paths,
    says_bare_none,
    step2_class,
)
from offline_engine.language import strip_accents
from offline_engine.parsing import accepts_with_change, clean_item, is_bare_none, normalize, parse_approval
from onboarding.steps import step_fields_validate

Values = dict[str, Any]

_SENTENCE_RE = re.compile(r"(?:[^.!?\n]|\.(?=[0-9]))+[.!?]*")
_INFO_QUESTION_RE = re.compile(
    r"^\s*(?:what|what'?s|whats|why|how|which|who|where|when|is|are|does|do|did|should|will|explain|"
    r"tell\s+me\s+(?:about|what|how|why|more)|(?:i'?m\s+)?not\s+sure\s+what|i\s+(?:don'?t|do\s+not)\s+"
    r"(?:understand|get|know\s+what))\b"
)
_SPANISH_QUESTION_RE = re.compile(
    r"^\s*(?:que|como|cual|cuales|cuanto|cuantos|cuantas|por\s+que|donde|cuando|quien|puedo|debo|es|son|hay)\b"
)
_AUXILIARY_START_RE = re.compile(r"^\s*(?:is|are|does|do|did|should|will)\b")
# Requests phrased as questions are answers: "how about 3 days?", "can you make it shorter?".
_REQUEST_RE = re.compile(
    r"^\s*(?:how\s+about|what\s+about|can|could|would|may|shall|is\s+it\s+ok|do\s+you\s+mind|will\s+you|"
    r"what\s+if\s+we)\b"
)
# An item already saved is removed only when the message says so.
_REMOVAL_RE = re.compile(
    r"\b(?:actually|remove|delete|drop|forget|scratch|no\s+longer|not\s+any\s*more|anymore|after\s+all|"
    r"wrong|mistake|i\s+was\s+wrong|take\s+(?:out|off)|clear|healed|recovered|gone)\b"
)
_OTHER_RE = re.compile(r"\b(?:other|else|more|further|additional|new|another)\b")
# "That's all, nothing else" means "as I said": with nothing said yet for the step, it answers nothing.
_AS_I_SAID_RE = re.compile(r"\b(?:nothing\s+else|none\s+else|that'?s\s+(?:it|all))\b")
# How the coach names a list field in a question.
_FIELD_CUES: dict[str, re.Pattern[str]] = {
    "equipment": re.compile(r"\b(?:equipment|gear)\b"),
    "injuries": re.compile(r"\binjur"),
    "limitations": re.compile(r"\b(?:limit|condition|anything\s+else)"),
    "allergies": re.compile(r"\ballerg"),
    "intolerances": re.compile(r"\bintoleran"),
    "dislikes": re.compile(r"\b(?:dislike|don'?t\s+like|rather\s+not|avoid)"),
    "activities": re.compile(r"\b(?:sports?|activit)"),
    "current_supplements": re.compile(r"\bsupplements?\b"),
}
_PROPOSAL_STEPS = (5, 7)
_MACROS = ("protein_pct", "carbs_pct", "fats_pct")
_WORKOUT_CONTEXT_RE = re.compile(r"\b(?:train|training|work\s*out|workouts?|exercise|gym|sessions?|lift)\b")
_TARGET_RE = re.compile(r"\b(?:target|goal|get\s+(?:down\s+)?to|reach|down\s+to|want\s+to\s+(?:weigh|be))\b")
_MEAL_CONTEXT_RE = re.compile(r"\b(?:eat|eating|meals?|breakfast|lunch|dinner|supper)\b")
_SUPPLEMENT_WORD_RE = re.compile(r"\bsupplements?\b")
_WATER_RE = re.compile(r"\b(?:water|drink|hydrat\w*)\b")
_SESSION_RE = re.compile(r"\b(?:sessions?|each|per\s+(?:session|workout))\b")
# "I want to ..., at home 4 days a week": what the user plans, not what they do today.
_PLAN_RE = re.compile(r"\b(?:want|wanna|would\s+like|i'?d\s+like|plan(?:ning)?|going\s+to|gonna)\b")
_DAYS_WORD_RE = re.compile(r"\b[0-9]{1,2}\s+days?\b")


@dataclass(frozen=True)
class Understanding:
    """One message read in its conversation."""

    values: Values  # for the request's step, typed as its tool schema expects
    later: dict[int, Values] = field(default_factory=dict)  # later steps' clearly stated fields
    question: str = ""  # the information question the message asked, if any
    faq_topic: str = ""  # the FAQ topic it matched ("" when none did)
    faq_answer: str = ""


def split_questions(message: str) -> tuple[str, list[str]]:
    """The message without its information questions, and those questions."""
    kept: list[str] = []
    questions: list[str] = []
    for sentence in _SENTENCE_RE.findall(message):
        lowered = strip_accents(sentence.strip().lower()).lstrip("\u00bf ")
        asks = _INFO_QUESTION_RE.match(lowered) and not _REQUEST_RE.match(lowered)
        if not asks and "?" in lowered and _SPANISH_QUESTION_RE.match(lowered):
            asks = True  # "¿qué significa limitaciones?"
        if asks and _AUXILIARY_START_RE.match(lowered) and "?" not in lowered:
            asks = None  # "is ok", "is good for me": non-native answers, not questions
        if asks and "?" not in sentence and "," in sentence:
            # "not sure what counts, I have a pull-up bar I guess": the question, then an answer
            asked_part, answer_part = sentence.split(",", 1)
            questions.append(asked_part)
            kept.append(answer_part)
            continue
        (questions if asks else kept).append(sentence)
    if not questions:
        return message, []
    return " ".join(kept).strip(), [question.strip() for question in questions]


def faq_match(step: int, question: str) -> tuple[str, str]:
    """(topic, answer) of the step's FAQ entry whose cues the question names most; ("", "") if none."""
    norm = f" {normalize(question)} "
    best: tuple[int, str, str] = (0, "", "")
    for entry in faq_for_step(step):
        score = sum(1 for cue in entry.cues if re.search(rf"\b{re.escape(cue)}\b", norm))
        if score > best[0]:
            best = (score, entry.topic, entry.answer)
    return best[1], best[2]


def _last_question(text: str) -> str:
    """The coach's last question (after any acknowledgement of saved values), lower case."""
    sentences = [sentence for sentence in _SENTENCE_RE.findall(text.lower()) if "?" in sentence]
    return sentences[-1] if sentences else ""


def _get(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)  # type: ignore[assignment]
    return data


def _drop(values: Values, path: tuple[str, ...]) -> None:
    parent: Any = values
    for key in path[:-1]:
        parent = parent.get(key, {})
    parent.pop(path[-1], None)
    if len(path) > 1 and values.get(path[0]) == {}:
        values.pop(path[0])


def _scope_empty_lists(step: int, message: str, values: Values, asked: str, draft: Mapping[str, Any]) -> None:
    """Keep an empty list only where "none" answered that field (see the module docstring)."""
    paths = list_field_paths(step)
    question = _last_question(asked)
    named = {path for path in paths if (cue := _FIELD_CUES.get(path[-1])) and cue.search(question)}
    norm = normalize(message)
    bare = says_bare_none(norm)
    # Fields the message names itself ("no equipment. ... nothing else"): a bare "none" beside them
    # does not make them less explicit.
    named_empty = _explicitly_empty(step, norm) if bare else set()
    missing = [path for path in paths if not _get(draft, path)]
    scope = [path for path in missing if path in named] if named else missing
    said_items = any(_get(values, path) for path in paths)
    if bare and len(missing) == len(paths) and not said_items and _AS_I_SAID_RE.search(norm):
        scope = []
    for path in paths:
        if _get(values, path) != []:
            continue
        had_items = bool(_get(draft, path))
        # What the message says of this field: the clauses that name it, else the whole message.
        cue = _FIELD_CUES.get(path[-1])
        own = " ".join(clause for clause in _CLAUSE_RE.findall(norm) if cue and cue.search(clause)) or norm
        if bare and path not in scope and path not in named_empty:
            _drop(values, path)
        elif had_items and (_OTHER_RE.search(own) or not _REMOVAL_RE.search(own)):
            _drop(values, path)  # "no other injuries" keeps the knee; "actually no injuries, no other ..." clears


_CLAUSE_RE = re.compile(r"[^,;.\n]+")


def _explicitly_empty(step: int, norm: str) -> set[tuple[str, ...]]:
    """List fields the message says are empty by name, its bare "none" clauses left out."""
    named = ". ".join(clause for clause in _CLAUSE_RE.findall(norm) if clause.strip() and not is_bare_none(clause))
    stated = STEP_EXTRACTORS[step](named) if named else {}
    return {path for path in list_field_paths(step) if _get(stated, path) == []}


_DAYS_IN_WEEK, _SHORTEST_SESSION, _LONGEST_SESSION = 7, 10, 240
_BARE_NUMBER_RE = re.compile(r"^\s*([0-9]{1,3})\s*$")
# A terse item: up to three words, no pronoun or verb of a sentence ("which i never eat" is not one).
_TERSE_ITEM_RE = re.compile(
    r"^(?!.*\b(?:i|which|that|it|who|when|is|are|was|am|have|has)\b)\s*[a-z'-]+(?:\s+[a-z'-]+){0,2}\s*$"
)


def _terse_lists(step: int, answer: str, values: Values, draft: Mapping[str, Any]) -> None:
    """ "Shellfish. None. Olives." answers the step's open lists in order, one clause each."""
    paths = [path for path in list_field_paths(step) if len(path) == 1]
    clauses = [clause.strip() for clause in _CLAUSE_RE.findall(normalize(answer)) if clause.strip()]
    if len(paths) < 2 or len(clauses) < 2:
        return
    slots: list[list[str]] = []
    named: set[str] = set()
    for clause in clauses:
        alone = extract(step, clause)
        if is_bare_none(clause):
            slots.append([])
        elif any(path[0] in alone for path in paths):
            named.update(path[0] for path in paths if path[0] in alone)
        elif not alone and _TERSE_ITEM_RE.match(clause) and (item := clean_item(clause)):
            slots.append([item])
        elif not alone:
            return  # a clause that is neither an item nor an answer: do not guess
    targets = [path[0] for path in paths if path[0] not in named and not draft.get(path[0])]
    if len(slots) == len(targets) and any(slots):
        values.update(zip(targets, slots, strict=True))


def _terse_numbers(answer: str, values: Values) -> None:
    """Step 4: "home, 3, 40": bare numbers answer days a week, then minutes, as the coach asked."""
    numbers = [int(match.group(1)) for clause in _CLAUSE_RE.findall(answer) if (match := _BARE_NUMBER_RE.match(clause))]
    open_fields = [name for name in ("days_per_week", "session_minutes") if name not in values]
    if numbers and len(numbers) == len(open_fields):
        values.update(zip(open_fields, numbers, strict=True))
    elif len(numbers) == 1 and len(open_fields) == 2:
        # One bare number, both asked: only a range that fits one of them says which ("45" is minutes).
        if 1 <= numbers[0] <= _DAYS_IN_WEEK:
            values["days_per_week"] = numbers[0]
        elif _SHORTEST_SESSION <= numbers[0] <= _LONGEST_SESSION:
            values["session_minutes"] = numbers[0]


_ONLY_TIMES_RE = re.compile(r"^[\s0-9:.,;/&+-]*(?:(?:am|pm|h|and|y)\b[\s0-9:.,;/&+-]*)*$")


def _terse_times(answer: str, asked: str) -> Values:
    """Step 8: "8 13 19" after "when do you eat your meals?", "7" after "what time do you train?"."""
    norm = normalize(answer)
    if not _ONLY_TIMES_RE.match(norm):
        return {}
    question = _last_question(asked)
    meals, train = "meal" in question or "eat" in question, bool(re.search(r"\btrain|\bwork\s*out", question))
    if meals == train:
        return {}  # both or neither asked: which one these times are is a guess
    return extract(8, ("meals at " if meals else "train at ") + re.sub(r"(?<=[0-9])\s+(?=[0-9])", ", ", norm))


def _approves_targets(message: str, values: Values, draft: Mapping[str, Any]) -> bool:
    """Step 7: the message accepts and every number it states is a valid target."""
    if parse_approval(message) is not True and not accepts_with_change(message):
        return False  # "yes, but make it 4 meals" accepts, with a change the server checks
    _, errors = step_fields_validate(7, values)
    if errors:
        return False
    merged = {**draft, **values}
    shares = [merged.get(name) for name in _MACROS]
    return None in shares or sum(shares) == 100  # type: ignore[arg-type]


def _later_clear(step: int, norm: str, values: Values, current: int) -> Values:
    """Of a later step's candidates, the ones stated clearly enough to keep without asking."""
    kept: Values = {}
    if step == 2:
        # Only items that name their kind themselves ("bad knee"), not ones sorted by their neighbours.
        for key, items in values.items():
            own = [item for item in items if step2_class(item) == key]
            if own or (not items and key != "equipment"):
                kept[key] = own
    elif step == 3:
        if goal_named(norm):  # "I can't do long cardio" hints at no goal
            kept = {key: values[key] for key in ("primary_goal", "secondary_goal") if key in values}
        if "target_weight_kg" in values and _TARGET_RE.search(norm):
            kept["target_weight_kg"] = values["target_weight_kg"]
    elif step == 4:
        planned = bool(_PLAN_RE.search(norm))
        if "location" in values and (_WORKOUT_CONTEXT_RE.search(norm) or planned):
            kept["location"] = values["location"]
        if "days_per_week" in values and (current != 1 or planned) and _DAYS_WORD_RE.search(norm):
            kept["days_per_week"] = values["days_per_week"]
        if "session_minutes" in values and (_SESSION_RE.search(norm) or planned):
            kept["session_minutes"] = values["session_minutes"]
    elif step == 6:
        kept = dict(values)
    elif step == 8 and current >= 3:
        # Days named with the level or the injuries are today's habits ("hiking at weekends"), not the plan;
        # "I eat at 8, 13 and 19 every day" gives meal times, not seven training days.
        if _WORKOUT_CONTEXT_RE.search(norm):
            kept = {key: values[key] for key in ("workout_days", "workout_time") if key in values}
        if "meal_times" in values and _MEAL_CONTEXT_RE.search(norm):
            kept["meal_times"] = values["meal_times"]
    elif step == 9:
        if "daily_water_ml" in values and _WATER_RE.search(norm):
            kept["daily_water_ml"] = values["daily_water_ml"]
        if values.get("current_supplements"):
            kept["current_supplements"] = values["current_supplements"]
        if "interested_in_supplements" in values and _SUPPLEMENT_WORD_RE.search(norm):
            kept["interested_in_supplements"] = values["interested_in_supplements"]
    return kept


def later_steps(step: int, message: str) -> dict[int, Values]:
    """Fields of steps after ``step`` that ``message`` states clearly, by step."""
    norm = normalize(message)
    found: dict[int, Values] = {}
    for later in range(step + 1, 10):
        if later in _PROPOSAL_STEPS:
            continue
        kept = _later_clear(later, norm, STEP_EXTRACTORS[later](norm), step)
        if kept:
            found[later] = kept
    return found


def understand(step: int, message: str, *, asked: str = "", draft: Mapping[str, Any] | None = None) -> Understanding:
    """Read ``message`` for ``step``, given the coach's last message (``asked``) and the step's draft."""
    draft = draft or {}
    answer, questions = split_questions(message)
    topic, faq_answer = faq_match(step, questions[0]) if questions else ("", "")
    values = extract(step, answer) if answer else {}
    _scope_empty_lists(step, answer, values, asked, draft)
    if step in (2, 6) and answer:
        _terse_lists(step, answer, values, draft)
    if step == 4 and answer:
        _terse_numbers(normalize(answer), values)
    if step == 8 and answer and not values:
        values = _terse_times(answer, asked)
    if step == 7 and values and "approved" not in values and _approves_targets(answer, values, draft):
        values["approved"] = True
    return Understanding(
        values=values,
        later=later_steps(step, answer) if answer else {},
        question=questions[0] if questions else "",
        faq_topic=topic,
        faq_answer=faq_answer,
    )
