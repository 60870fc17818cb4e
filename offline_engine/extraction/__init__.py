"""Per-step extraction for the offline engine: which of a step's fields a user message states.

``extract(step, message)`` returns candidate values typed as the step's JSON schema expects.
The caller validates them (``onboarding.steps.step_fields_validate``), so a value the user
really said but that is out of range ("I want 12 training days") is returned for the
service to reject with a reason; a value the user did not state is never returned.

Explicit "none":

* A list field is set to ``[]`` only when the message says so about that field ("no injuries
  or limitations" sets ``injuries`` and ``limitations``, not ``equipment``).
* A bare "none" / "no" / "nothing" / "I don't have any" with no field named sets *every*
  list field of the step (nested ones too, e.g. step 1's ``experience.activities``) that the
  message does not otherwise set. The engine calls ``extract`` with the current step only,
  so "every list field of this step" is what the user was most likely asked about.
* In step 9 a bare "no" / "yes" also answers ``interested_in_supplements``, the step's only
  yes/no question.

Approvals (steps 5 and 7): ``approved`` is True only for a plain approval. A message that
asks for a change carries the change fields instead and no ``approved`` (a changed plan needs
a fresh look); a refusal or a change request we could not read gives ``approved: False``.

Step 5 may also return the plan change fields the workout agent accepts: ``days_per_week``,
``session_minutes`` and ``focus_changes`` (``[{"weekday": 0..6, "focus": ...}]``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from offline_engine.parsing import (
    TimeMention,
    calorie_mentions,
    clean_item,
    duration_mentions,
    format_minutes,
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
from onboarding.steps import WORKOUT_FOCUSES, Group, TextList, step_get

Values = dict[str, Any]

_SENTENCE_END_RE = re.compile(r"[.;!?\n]+")
_CLAUSE_END_RE = re.compile(r"[,;.!?\n]+")
_RANGE_BEFORE_RE = re.compile(r"[0-9]\s*(?:-|to|or)\s*$")
# "I don't want to lose weight", "not very fit": a cue up to three words before a phrase.
_NEGATION_BEFORE_RE = re.compile(
    r"(?:^|[^\w'])(?:not(?!\s+(?:only|just))|no|never|don'?t|dont|do\s+not|doesn'?t|does\s+not|didn'?t|isn'?t|"
    r"aren'?t|wasn'?t|without|hardly|no\s+longer|nor|can'?t|cannot|won'?t|hate|avoid)(?:\s+[\w']+){0,3}\s*$"
)


def _preceded_by(norm: str, start: int, pattern: re.Pattern[str]) -> bool:
    """Whether the text just before ``start`` ends with ``pattern`` (patterns here end in ``$``)."""
    return bool(pattern.search(norm[max(0, start - 40) : start]))


def _negated(norm: str, start: int) -> bool:
    return _preceded_by(norm, start, _NEGATION_BEFORE_RE)


def _sentences(norm: str) -> list[str]:
    return [sentence for sentence in _SENTENCE_END_RE.split(norm) if sentence.strip()]


@dataclass(frozen=True)
class _Hit:
    """A vocabulary phrase found in the text."""

    label: str
    start: int
    end: int


def _hits(
    norm: str, table: Iterable[tuple[str, re.Pattern[str]]], negation: re.Pattern[str] = _NEGATION_BEFORE_RE
) -> list[_Hit]:
    """Every match of the table not negated just before, in order, without matches inside a longer one."""
    found = [
        _Hit(label, match.start(), match.end())
        for label, pattern in table
        for match in pattern.finditer(norm)
        if not _preceded_by(norm, match.start(), negation)
    ]
    kept = [
        hit
        for hit in found
        if not any(
            other is not hit
            and other.start <= hit.start
            and hit.end <= other.end
            and (other.end - other.start) > (hit.end - hit.start)
            for other in found
        )
    ]
    return sorted(kept, key=lambda hit: (hit.start, -hit.end))


def _table(*rows: tuple[str, str]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((label, re.compile(rf"\b(?:{pattern})\b")) for label, pattern in rows)


# --- "none" answers ---------------------------------------------------------------------------

_NONE_CUE_RE = re.compile(
    r"\b(?:no|zero|without|not\s+any|(?:don'?t|do\s+not)\s+(?:have|own|use|suffer\s+from|take)(?:\s+any)?|"
    r"haven'?t\s+(?:got|had)(?:\s+any)?|have\s+not\s+(?:got|had)(?:\s+any)?|never\s+had(?:\s+any)?|have\s+no|"
    r"free\s+of|not|nor|none\s+of)\b"
)
_NONE_FILLER_RE = re.compile(
    r"\s*(?:(?:any|real|known|other|major|serious|significant|current|past|previous|physical|food|medical|health|"
    r"special|dietary|particular|specific|actual|notable|big|kind\s+of|kinds\s+of|or|and|nor|no|the|my|such|"
    r"really|at\s+all|issues\s+with)\b|[,/&])\s*"
)
_NONE_AFTER = r"\s*(?::|-|=|\?|\bare\b|\bis\b)?\s*(?:none|nothing|no|n/?a|nil|zero|nope)\b"


@dataclass(frozen=True)
class _NoneKeyword:
    """How a list field is named, for "no <field>" and "<field>: none"."""

    name: str
    after_cue: re.Pattern[str]
    before_none: re.Pattern[str]


def _none_keywords(keywords: dict[str, str]) -> tuple[_NoneKeyword, ...]:
    return tuple(
        _NoneKeyword(name, re.compile(rf"\s*(?:{pattern})\b"), re.compile(rf"\b(?:{pattern}){_NONE_AFTER}"))
        for name, pattern in keywords.items()
    )


def _none_fields(norm: str, keywords: tuple[_NoneKeyword, ...], *, also: Iterable[str] = ()) -> list[str]:
    """Fields the text explicitly says are empty ("no injuries or limitations", "allergies: none"),
    plus ``also``, in the keywords' order so replies list them the same way every time.
    """
    fields: set[str] = set()
    for cue in _NONE_CUE_RE.finditer(norm):
        position = cue.end()
        for _ in range(10):
            filler = _NONE_FILLER_RE.match(norm, position)
            if filler and filler.end() > position:
                position = filler.end()
                continue
            named = next(
                ((keyword.name, match) for keyword in keywords if (match := keyword.after_cue.match(norm, position))),
                None,
            )
            if named is None:
                break
            fields.add(named[0])
            position = named[1].end()
    fields.update(keyword.name for keyword in keywords if keyword.before_none.search(norm))
    fields.update(also)
    return [keyword.name for keyword in keywords if keyword.name in fields]


_NONE_EXCEPT_RE = re.compile(
    r"\b(?:no|zero|without|not\s+any|(?:don'?t|do\s+not)\s+have\s+any)\s+(?:other\s+|known\s+|food\s+)?"
    r"(?P<kw>allerg\w*|intoleran\w*|sensitivit\w*|injur\w*|limitations?|equipment|dislikes?)\s*,?\s*"
    r"(?:except(?:\s+for)?|apart\s+from|other\s+than|besides|aside\s+from|but|save\s+for|only)\s+(?:an?\s+|my\s+)?"
)
_KEYWORD_FIELDS = (
    ("allerg", "allergies"),
    ("intoleran", "intolerances"),
    ("sensitiv", "intolerances"),
    ("injur", "injuries"),
    ("limitation", "limitations"),
    ("equipment", "equipment"),
    ("dislike", "dislikes"),
)


def _none_exceptions(norm: str) -> dict[str, list[str]]:
    """ "No allergies apart from shellfish" -> {"allergies": ["shellfish"]}: the exception is the answer."""
    found: dict[str, list[str]] = {}
    for match in _NONE_EXCEPT_RE.finditer(norm):
        name = next(field for prefix, field in _KEYWORD_FIELDS if match.group("kw").startswith(prefix))
        items = [_food_words(_CONDITION_SUFFIX_RE.sub("", item)) for item in _object_items(norm, match.end(), [])]
        _merge_items(found, name, items)
    return {name: items for name, items in found.items() if items}


def list_field_paths(step: int) -> list[tuple[str, ...]]:
    """Paths of the step's list fields: ("equipment",), ("experience", "activities")."""
    paths: list[tuple[str, ...]] = []
    for spec in step_get(step).fields:
        if not spec.llm_settable:
            continue  # server-computed (the workout plan): never the user's answer
        if isinstance(spec, TextList):
            paths.append((spec.name,))
        elif isinstance(spec, Group):
            paths.extend((spec.name, inner.name) for inner in spec.fields if isinstance(inner, TextList))
    return paths


def _fill_bare_none(step: int, values: Values) -> None:
    for path in list_field_paths(step):
        target = values
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target.setdefault(path[-1], [])


# --- captured lists ("allergic to X and Y") -------------------------------------------------------

_OBJECT_END_RE = re.compile(
    r"[.;!?\n]|,?\s*\b(?:but|although|though|because|since|however|so|and\s+(?:i|i'm|im|i've|my|also|am)|"
    r"i|i'm|im|i've|my|also|plus\s+i|as\s+for|otherwise|which|when|if)\b"
)


def _object_items(norm: str, start: int, stops: Iterable[int]) -> list[str]:
    """The list that follows a cue at ``start``, up to the clause's end or the next cue."""
    end = len(norm)
    boundary = _OBJECT_END_RE.search(norm, start)
    if boundary:
        end = boundary.start()
    end = min([end, *(stop for stop in stops if stop > start)])
    return parse_list_items(norm[start:end])


def _merge_items(values: Values, name: str, items: Iterable[str], *, limit: int = 20) -> None:
    current: list[str] = values.setdefault(name, [])
    for item in items:
        if item and item not in current and len(current) < limit:
            current.append(item)


# --- step 1: fitness level ---------------------------------------------------------------------------

_LEVELS = _table(
    ("beginner", r"beginners?"),
    ("intermediate", r"intermediate"),
    ("advanced", r"advanced"),
    (
        "beginner",
        r"newbie|noob|novice|rookie|just\s+start(?:ing|ed)(?:\s+out)?|starting\s+out|"
        r"(?:new|fresh)\s+to\s+(?:this|fitness|working\s+out|exercis\w*|the\s+gym|training|sports?|lifting|it)|"
        r"couch\s+potato|never\s+(?:really\s+)?(?:exercised|worked\s+out|trained|done\s+(?:any\s+)?(?:sports?|"
        r"exercise)|been\s+(?:active|sporty|fit|athletic))|haven'?t\s+(?:exercised|worked\s+out|trained)\s+"
        r"(?:in|for)\s+(?:years|ages|a\s+long\s+time|a\s+while)|out\s+of\s+shape|unfit|not\s+(?:very\s+|really\s+|"
        r"that\s+|particularly\s+|super\s+)?(?:fit|active|sporty|athletic)|first\s+time|sedentary|"
        r"(?<!a\s)(?:little|no|zero|not\s+much|limited)\s+experience|inexperienced|below\s+average|"
        r"(?:don'?t|do\s+not|never)\s+(?:really\s+)?(?:exercise|work\s*out|train)",
    ),
    (
        "intermediate",
        r"some\s+experience|a\s+(?:bit|little)\s+(?:of\s+)?experience|"
        r"(?:moderately|fairly|reasonably|somewhat|pretty|quite|relatively|kind\s+of|kinda)\s+(?:fit|active|"
        r"sporty|athletic|experienced|in\s+shape)|work(?:ing)?\s*out\s+(?:sometimes|occasionally|regularly|"
        r"now\s+and\s+then|on\s+and\s+off|a\s+bit)|(?:exercise|train)\s+(?:sometimes|occasionally|regularly|"
        r"now\s+and\s+then|on\s+and\s+off)|(?:sometimes|occasionally|regularly)\s+(?:work\s*out|exercise|train|"
        r"go\s+to\s+the\s+gym)|in\s+(?:ok|okay|decent|average|good|reasonable|fair)\s+shape|average|moderate|"
        r"[12]\s+years?\s+(?:of\s+)?(?:lifting|training|experience|working\s+out|exercise)",
    ),
    (
        "advanced",
        r"very\s+(?:fit|active|athletic|experienced|sporty)|athlete|athletic|train(?:ing)?\s+(?:really\s+)?hard|"
        r"competitive(?:ly)?|compete|competing|years\s+of\s+(?:lifting|training|experience|working\s+out|"
        r"weightlifting|exercise|sports?)|(?:[3-9]|[1-9][0-9])\+?\s+years\s+(?:of\s+)?(?:lifting|training|"
        r"experience|working\s+out|exercise)|experienced|expert|elite|professional(?:ly)?|pro|bodybuilder|"
        r"powerlifter|(?:great|excellent|top|peak|amazing|the\s+best)\s+shape|(?:extremely|super|really)\s+fit",
    ),
)
_EXPLICIT_LEVELS = ("beginner", "intermediate", "advanced")
_PUSHUP = r"(?:push|press)[\s-]?ups?"
_PUSHUPS_BEFORE_RE = re.compile(
    rf"(?<![0-9.])([0-9]{{1,4}})\s*(?:or\s+so\s+|ish\s+)?(?:(?:proper|full|real|good|strict|regular|standard|"
    rf"normal|knee|consecutive|clean|straight)\s+)?{_PUSHUP}\b"
)
_PUSHUPS_AFTER_RE = re.compile(
    rf"\b{_PUSHUP}\s*(?::|-|=|\?)?\s*(?:about|around|maybe|roughly|like|approximately|approx|~|only|just|max|"
    r"maximum|up\s+to)?\s*([0-9]{1,4})\b(?!\s*(?:times|x\b|days?|a\s+week|per|sets?|minutes?|mins?|seconds?|"
    r"secs?|years?|%|\.[0-9]))"
)
_PUSHUPS_ZERO_RE = re.compile(
    rf"\b(?:can'?t|cannot|can\s+not|unable\s+to|couldn'?t)\s+(?:even\s+)?(?:do\s+)?(?:a\s+single|any|a|1|even\s+1)"
    rf"\s+{_PUSHUP}|\bno\s+{_PUSHUP}|\b(?:can'?t|cannot)\s+do\s+{_PUSHUP}"
)
_PER_WEEK_RE = re.compile(
    r"(?<![0-9.\-/])([0-9]{1,2})\s*(?:x|times|days?|sessions?|workouts?|trainings?)\s*"
    r"(?:(?:a|per|each|every|/|in\s+a|in\s+the)\s*)?(?:week|wk)\b"
    r"|(?<![0-9.\-/])([0-9]{1,2})\s*(?:x|times)\s*weekly\b"
)
_DAILY_WORKOUT_RE = re.compile(
    r"\b(?:work\s*out|exercise|train|run|lift|go\s+to\s+the\s+gym|walk)\w*\s+(?:every\s?day|daily)\b"
)
_NO_WORKOUTS_RE = re.compile(
    r"\b(?:(?:don'?t|do\s+not|never)\s+(?:really\s+|currently\s+)?(?:work\s*out|exercise|train)|"
    r"not\s+(?:working\s*out|exercising|training)(?:\s+at\s+all)?|(?:0|no)\s+workouts)\b"
)
_ACTIVITIES = _table(
    ("running", r"run|runs|running|jog|jogs|jogging"),
    ("swimming", r"swim|swims|swimming"),
    ("cycling", r"cycle|cycles|cycling|bike|bikes|biking|spinning"),
    ("walking", r"walk|walks|walking"),
    ("hiking", r"hike|hikes|hiking|trekking"),
    ("tennis", r"tennis"),
    ("table tennis", r"table\s+tennis|ping\s*pong"),
    ("football", r"football"),
    ("soccer", r"soccer"),
    ("basketball", r"basketball"),
    ("volleyball", r"volleyball"),
    ("baseball", r"baseball|softball"),
    ("rugby", r"rugby"),
    ("hockey", r"hockey"),
    ("cricket", r"cricket"),
    ("golf", r"golf"),
    ("badminton", r"badminton"),
    ("squash", r"squash"),
    ("padel", r"padel"),
    ("pickleball", r"pickleball"),
    ("handball", r"handball"),
    ("netball", r"netball"),
    ("yoga", r"yoga"),
    ("pilates", r"pilates"),
    ("climbing", r"climb|climbs|climbing|bouldering"),
    ("rowing", r"rowing"),
    ("dancing", r"dance|dances|dancing|ballet|salsa"),
    ("boxing", r"boxing"),
    ("kickboxing", r"kick\s?boxing"),
    ("martial arts", r"martial\s+arts?|karate|judo|taekwondo|jiu[\s-]?jitsu|bjj|mma|kung\s+fu|muay\s+thai"),
    ("weightlifting", r"lift|lifts|lifting|weight\s?lifting|lift\s+weights|powerlifting|weight\s+training"),
    ("crossfit", r"crossfit"),
    ("skiing", r"ski|skis|skiing"),
    ("snowboarding", r"snowboard|snowboarding"),
    ("surfing", r"surf|surfs|surfing"),
    ("skating", r"skate|skates|skating"),
    ("zumba", r"zumba"),
    ("calisthenics", r"calisthenics"),
    ("triathlon", r"triathlons?"),
)
_NO_ACTIVITIES_RE = re.compile(
    r"\b(?:no|(?:don'?t|do\s+not)\s+(?:do|play)(?:\s+any)?|not\s+(?:into|doing)(?:\s+any)?)\s+(?:other\s+)?"
    r"(?:sports?|activities)\b"
)


def _fitness_level(norm: str) -> str | None:
    hits = _hits(norm, _LEVELS)
    explicit = [hit for hit in hits if norm[hit.start : hit.end].rstrip("s") in _EXPLICIT_LEVELS]
    # An explicit level beats a synonym; among equals the last one wins ("used to be fit, now a beginner").
    chosen = explicit or hits
    return chosen[-1].label if chosen else None


def _pushups(norm: str) -> int | None:
    for pattern in (_PUSHUPS_BEFORE_RE, _PUSHUPS_AFTER_RE):
        for match in pattern.finditer(norm):
            if not _preceded_by(norm, match.start(), _RANGE_BEFORE_RE):
                return int(match.group(1))
    return 0 if _PUSHUPS_ZERO_RE.search(norm) else None


def _workouts_per_week(norm: str) -> int | None:
    for match in _PER_WEEK_RE.finditer(norm):
        if not _preceded_by(norm, match.start(), _RANGE_BEFORE_RE):
            return int(match.group(1) or match.group(2))
    if _DAILY_WORKOUT_RE.search(norm):
        return 7
    return 0 if _NO_WORKOUTS_RE.search(norm) else None


def _activities(norm: str) -> list[str] | None:
    found: list[str] = []
    for hit in _hits(norm, _ACTIVITIES):
        if hit.label not in found:
            found.append(hit.label)
    if found:
        return found[:10]
    return [] if _NO_ACTIVITIES_RE.search(norm) else None


def _stated(**candidates: Any) -> Values:
    """The candidates the message stated: None means "not said" (an empty list is an explicit "none")."""
    return {name: value for name, value in candidates.items() if value is not None}


def _step_fitness_level(norm: str) -> Values:
    experience = _stated(
        pushups=_pushups(norm), workouts_per_week=_workouts_per_week(norm), activities=_activities(norm)
    )
    return _stated(fitness_level=_fitness_level(norm) or None, experience=experience or None)


# --- step 2: equipment, injuries, limitations -------------------------------------------------------

_EQUIPMENT_RE = re.compile(
    r"\b(?:dumb\s?bells?|barbells?|kettle\s?bells?|bench(?:es)?|(?:yoga\s+|exercise\s+)?mats?|(?:resistance\s+|"
    r"exercise\s+|elastic\s+|loop\s+)?bands?|(?:pull|chin)[\s-]?up\s+bars?|bars?|(?:squat\s+|power\s+)?racks?|"
    r"plates?|(?:free\s+|ankle\s+)?weights?|treadmills?|(?:exercise\s+|stationary\s+|spin\s+|indoor\s+)?bikes?|"
    r"bicycles?|peloton|rowers?|rowing\s+machines?|ellipticals?|cross\s?trainers?|cables?|(?:cable\s+|smith\s+)?"
    r"machines?|trx|suspension\s+(?:trainers?|straps)|(?:jump|skipping|battle)\s+ropes?|ropes?|(?:medicine|med|"
    r"stability|swiss|exercise|bosu|slam)\s+balls?|foam\s+rollers?|step\s+platforms?|(?:plyo\s+)?box(?:es)?|"
    r"sandbags?|(?:gymnastic\s+)?rings|ab\s+(?:wheel|roller)s?|parallettes|dip\s+(?:bars?|station)|sliders|"
    r"weight\s+vests?|home\s+gym|full\s+gym|equipment|gear|stairs|gym\s+membership)\b"
)
_INJURY_RE = re.compile(
    r"\b(?:injur\w*|hurt\w*|pain\w*|ache?s?|aching|sore(?:ness)?|torn|tear|broke|broken|fractur\w*|sprain\w*|"
    r"strain\w*|surger(?:y|ies)|operations?|replacement|tendinitis|tendonitis|tendinopathy|herniat\w*|"
    r"slipped\s+disc|disc|acl|mcl|pcl|meniscus|rotator\s+cuff|sciatica|whiplash|dislocat\w*|plantar\s+fasciitis|"
    r"shin\s+splints|tennis\s+elbow|golfer'?s\s+elbow|bursitis|impingement|knees?|(?:lower\s+|upper\s+)?back|"
    r"shoulders?|ankles?|wrists?|hips?|elbows?|neck|hamstrings?|groin|achilles|calf|calves|foot|feet|spine|"
    r"ribs?|quads?)\b"
)
_LIMITATION_CUE_RE = re.compile(
    r"\b(?:can'?t|cannot|can\s+not|unable\s+to|not\s+able\s+to|shouldn'?t|should\s+not|mustn'?t|must\s+not|"
    r"avoid\w*|not\s+allowed|doctor\s+(?:said|says|told)|struggle\s+with|difficult(?:y|ies)|trouble\s+with|"
    r"hard\s+for\s+me|no\s+(?:jumping|running|impact|high[\s-]impact|heavy|lifting|overhead|squats?|kneeling|"
    r"bending|twisting|burpees|sprinting|floor\s+work))\b"
)
_LIMITATION_RE = re.compile(
    r"\b(?:limitations?|limited|asthma\w*|pregnan\w*|postpartum|heart|cardiac|blood\s+pressure|hypertension|"
    r"diabet\w*|arthritis|osteo\w*|overweight|obes\w*|mobility|flexibility|stiff\w*|balance|dizz\w*|vertigo|"
    r"epilep\w*|chronic|conditions?|fatigue|copd|scoliosis|hernia|migraines?|fibromyalgia|multiple\s+sclerosis|"
    r"disabilit\w*|disabled|wheelchair|hypermobil\w*|anxiety|elderly|insomnia|bad\s+lungs?)\b"
)
_STEP2_KEYWORDS = _none_keywords(
    {
        "equipment": r"equipments?|gear|kit|weights|machines|material",
        "injuries": r"injur(?:y|ies)|pain|problems\s+with\s+my\s+joints",
        "limitations": r"limitations?|limits|restrictions?|(?:medical|health)\s+(?:conditions?|issues|problems)|"
        r"conditions?",
    }
)
_STEP2_LABEL_RE = re.compile(
    r"^(?:for\s+)?(?:(?P<equipment>equipment|gear)|(?P<injuries>injur(?:y|ies))|(?P<limitations>limitations?))"
    r"(?:[\s-]*wise)?\s*(?::|-|=|\bare\b|\bis\b|\bi\s+have\b)?\s*"
)
_STEP2_SPLIT_RE = re.compile(
    r"\s*(?:[,;\n]|\s/\s|&|\+|\band\b|\bplus\b|\bas\s+well\s+as\b|\balong\s+with\b|\bso\b|\bbecause(?:\s+of)?\b|"
    r"\bdue\s+to\b|\bbut\b|\bexcept(?:\s+for)?\b|\bapart\s+from\b|\bother\s+than\b|\bbesides\b|"
    r"\bhowever\b|\bwhich\s+means\b|\bthough\b|\balthough\b|\bwhile\b|\balso\b|(?=\bno\s))\s*"
)
_STEP2_NEGATIVE_ITEM_RE = re.compile(
    r"^(?:no|not|none|nothing|never|zero|without|don'?t|do\s+not|haven'?t|have\s+not|free\s+of|doesn'?t|does\s+not|"
    r"isn'?t|is\s+not|it'?s\s+fine|remove|delete|drop|forget|scratch)\b"
)
_STEP2_NONE_AFTER_RE = re.compile(r"\b(?:no|none|nothing|nope)$")
# "my knee clicks but doesn't hurt": a joint named with no pain is not an injury.
_NO_PAIN_RE = re.compile(
    r"\b(?:doesn'?t|does\s+not|don'?t|do\s+not|never|not|no|without)\s+(?:really\s+|ever\s+)?(?:hurt\w*|pain\w*|"
    r"bother\w*|an?\s+(?:issue|problem))|\bpain[\s-]?free\b|\b(?:healed|recovered|fine\s+now|better\s+now)\b"
)
_INJURY_WORD_RE = re.compile(
    r"\b(?:injur\w*|pain\w*|ache?s?|aching|sore|torn|tear|broke|broken|fractur\w*|sprain\w*|strain\w*|surger\w*|"
    r"operation|replacement|tendin\w*|herniat\w*|slipped|acl|mcl|pcl|meniscus|sciatica|whiplash|dislocat\w*|bad|weak|"
    r"dodgy|bum|trick|gammy|problem\w*|issues?)\b"
)
# Other steps' answers in a step-2 message ("... and I want to lose weight"): not equipment.
_OTHER_STEP_ITEM_RE = re.compile(
    r"\b(?:want|wanna|goals?|lose|losing|gain|gaining|build|building|days?\s+a\s+week|times\s+a\s+week|per\s+week|"
    r"vegetarian|vegan|diet|allerg\w*|beginner|intermediate|advanced)\b"
)
_OWNING_RE = re.compile(r"\b(?:have|has|got|own|use|access\s+to|there'?s|there\s+is|there\s+are|with)\b")
_BODYWEIGHT_ONLY_RE = re.compile(
    r"\b(?:just|only)\s+(?:my\s+)?(?:own\s+)?body\s?weight\b|\bbody\s?weight\s+only\b|\bnothing\s+but\s+(?:my\s+)?"
    r"body\s?weight\b"
)
_INJURY_FREE_RE = re.compile(r"\b(?:injury|pain)[\s-]free\b|\bhealthy\s+as\s+a\s+horse\b")


def step2_class(item: str) -> str | None:
    if _LIMITATION_CUE_RE.search(item):
        return "limitations"
    if _INJURY_RE.search(item):
        return "injuries"
    if _EQUIPMENT_RE.search(item):
        return "equipment"
    if _LIMITATION_RE.search(item):
        return "limitations"
    return None


_BARE_FIELD_WORDS = re.compile(
    r"^(?:equipment|gear|kit|injur(?:y|ies)|limitations?|body\s?weight|bodyweight\s+exercises|"
    r"gym\s+membership|nothing\s+else)$"
)


def _step2_items(norm: str) -> dict[str, list[str]]:
    """Items of the message sorted into equipment, injuries and limitations."""
    found: dict[str, list[str]] = {}
    for sentence in _sentences(norm):
        parts: list[tuple[str | None, str, bool]] = []  # (field, item, said with "have"/"own")
        label: str | None = None
        painless = bool(_NO_PAIN_RE.search(sentence))
        for raw in _STEP2_SPLIT_RE.split(sentence):
            item = clean_item(raw)
            if _INJURY_FREE_RE.search(item):
                continue
            labelled = _STEP2_LABEL_RE.match(item)
            if labelled and labelled.end() > 0:
                label = labelled.lastgroup
                item = clean_item(item[labelled.end() :])
            if not item or _BARE_FIELD_WORDS.match(item):
                continue
            # "limitations: back": the user's own label beats the vocabulary for the item right after it.
            item_class = label if labelled and labelled.end() > 0 else step2_class(item)
            if _STEP2_NONE_AFTER_RE.search(item):
                continue  # "other limitation no": a none, not an item
            if _STEP2_NEGATIVE_ITEM_RE.match(item) and not _LIMITATION_CUE_RE.search(item):
                continue  # "no injuries": an answer for the none-detection, not an item ("no jumping" is one)
            if item_class == "injuries" and painless and not _INJURY_WORD_RE.search(item):
                continue  # "my knee clicks but doesn't hurt"
            if _OTHER_STEP_ITEM_RE.search(item) and item_class != "limitations" and not _INJURY_WORD_RE.search(item):
                continue
            parts.append((item_class or label, item, bool(_OWNING_RE.search(raw))))
        for index, (item_class, item, owned) in enumerate(parts):
            resolved = item_class or _neighbour_class(parts, index) or ("equipment" if owned else None)
            if resolved:
                _merge_items(found, resolved, [item])
    return found


def _neighbour_class(parts: list[tuple[str | None, str, bool]], index: int) -> str | None:
    before = [part[0] for part in parts[:index] if part[0]]
    if before:
        return before[-1]
    after = [part[0] for part in parts[index + 1 :] if part[0]]
    return after[0] if after else None


def _step_limitations(norm: str) -> Values:
    values: Values = dict(_step2_items(norm))
    also = ["equipment"] if _BODYWEIGHT_ONLY_RE.search(norm) else []
    if _INJURY_FREE_RE.search(norm):
        also.append("injuries")
    for name in _none_fields(norm, _STEP2_KEYWORDS, also=also):
        values.setdefault(name, [])
    return values


# --- step 3: goals -------------------------------------------------------------------------------------

_GOALS = _table(
    (
        "fat_loss",
        r"los(?:e|ing)\s+(?:[\w.]+\s+){0,3}?(?:weight|fat|pounds|kilos?|kgs?|lbs?|belly|inches|the\s+gut)|"
        r"lose\s+[0-9.]+\s*(?:kg|kgs|kilos?|lbs?|pounds?)|weight\s*loss|fat\s*loss|losing\s+(?:weight|fat)|"
        r"burn(?:ing)?\s+(?:\w+\s+){0,2}?fat|fat\s+burn\w*|slim(?:ming)?\s+down|slimmer|get\s+(?:lean|leaner|"
        r"thinner|shredded|toned|ripped|trim|trimmer)|lean(?:er)?\s+out|shed\s+(?:\w+\s+){0,2}?(?:weight|fat|pounds|"
        r"kilos?|kgs?|lbs?)|drop\s+(?:[\w.]+\s+){0,2}?(?:weight|fat|pounds|kilos?|kgs?|lbs?|sizes?)|reduce\s+(?:my\s+)?"
        r"(?:body\s*)?(?:fat|weight)|cut(?:ting)?(?!\s+(?:back|down|out|off|it))|tone\s+up|get\s+rid\s+of\s+"
        r"(?:\w+\s+){0,2}?(?:fat|belly|weight|gut)|lose\s+(?:my\s+)?(?:belly|gut)",
    ),
    (
        "muscle_gain",
        r"(?:build(?:ing)?|gain(?:ing)?|put(?:ting)?\s+on|add|grow|increase|build\s+up)\s+(?:\w+\s+){0,2}?(?:muscles?|mass|size|strength|"
        r"weight)|bulk(?:ing)?(?:\s+up)?|get\s+(?:bigger|stronger|jacked|swole|buff|huge|big)|muscle\s*(?:gain|"
        r"growth|building|mass)|hypertrophy|strength|stronger|bigger\s+(?:arms|chest|legs|muscles)|make\s+gains|"
        r"(?:also|and|plus)\s+(?:some\s+|more\s+|a\s+bit\s+of\s+)?muscles?",
    ),
    (
        "general_fitness",
        r"stay\s+(?:healthy|fit|active|in\s+shape)|be\s+(?:more\s+)?(?:healthy|healthier|active|fit)|(?:general|"
        r"overall)\s+(?:fitness|health)|feel\s+(?:better|good|great|healthier)|more\s+active|endurance|stamina|"
        r"get\s+(?:fit|fitter|healthier|in\s+shape|in\s+better\s+shape|moving)|keep\s+fit|improve\s+(?:my\s+)?"
        r"(?:health|fitness|cardio|conditioning|mobility|flexibility|energy)|healthier|well[\s-]?being|longevity|"
        r"maintain\w*|maintenance",
    ),
)
# Words that name a goal only when nothing stronger does ("for health reasons I want to lose weight").
_WEAK_GOALS = _table(
    ("general_fitness", r"health|healthy|cardio|mobility|flexibility|energy|fitness"),
    ("muscle_gain", r"muscles?|mass|gains"),
)
_GOAL_NEGATION_RE = re.compile(
    r"(?:^|[^\w'])(?:don'?t|dont|do\s+not|doesn'?t|not(?!\s+(?:only|just))|no\s+need\s+to|never\s+want)"
    r"(?:\s+[\w']+){0,2}\s*$"
)
_PRIMARY_CUE_RE = re.compile(
    r"\b(?:mainly|mostly|primarily|main(?:\s+goal)?|primary(?:\s+goal)?|first(?:ly)?|most\s+importantly|"
    r"above\s+all|priority|number\s+one|focus\s+on|biggest|most\s+of\s+all|especially)\b"
)
_SECONDARY_CUE_RE = re.compile(
    r"\b(?:also|secondary|second(?:ly)?|plus|a\s+bit|a\s+little|side|bonus|maybe|ideally|while)\b"
)
_SECONDARY_AFTER_RE = re.compile(r"^\s*(?:\w+\s+){0,2}?(?:too|as\s+well|also|on\s+the\s+side)\b")
_TARGET_CUE_RE = re.compile(r"\b(?:to|reach|hit|target|goal|aim|aiming|ideal|down|up|get|under|below)\b[\w\s]{0,20}$")
_WEIGHT_DELTA_RE = re.compile(r"\b(?:lose|lost|drop|shed|gain|put\s+on|losing|gaining|minus|plus)\s+(?:\w+\s+)?$")
_CURRENT_WEIGHT_RE = re.compile(
    r"\b(?:i\s+weigh|i'?m|i\s+am|currently|now|at\s+the\s+moment|right\s+now|current(?:ly)?\s+weight|"
    r"weigh(?:ing)?\s+in\s+at|started\s+at)\b[\w\s]{0,12}$"
)
_TARGET_LABEL_RE = re.compile(
    r"\b(?:target|goal|ideal|dream)\s+weight\s*(?:of|is|:|=|-|would\s+be|around|about)?\s*(?:about|around|~)?\s*"
    r"(?<![0-9.])([0-9]{2,3}(?:\.[0-9])?)(?![0-9])(?!\s*(?:%|kg|kgs|kilos?|lbs?|pounds?|stones?))"
)
_BODY_FAT = r"(?:body\s*fat|bodyfat|bf)(?:\s*(?:percentage|%|percent))?"
_BODY_FAT_RE = re.compile(
    rf"(?<![0-9.])(?P<a>[0-9]{{1,2}}(?:\.[0-9])?)\s*(?:%|percent|per\s*cent)\s*(?:of\s+)?{_BODY_FAT}\b"
    rf"|\b{_BODY_FAT}\s*(?:of|at|to|:|=|-|is|around|about|under|below|down\s+to|of\s+about)?\s*(?:about|around|~)?"
    r"\s*(?P<b>[0-9]{1,2}(?:\.[0-9])?)\s*(?:%|percent|per\s*cent)?"
)


_PERCENT_RE = re.compile(r"(?<![0-9.])([0-9]{1,2}(?:\.[0-9])?)\s*(?:%|percent|per\s*cent)")


def _goals(norm: str) -> tuple[str | None, str | None]:
    # "I can't seem to lose weight" still wants to: only "don't want" style cues negate a goal.
    hits = _hits(norm, _GOALS, _GOAL_NEGATION_RE) or _hits(norm, _WEAK_GOALS, _GOAL_NEGATION_RE)
    order: list[str] = []
    primary_cue: list[str] = []
    secondary_cue: list[str] = []
    previous_end = 0
    for hit in hits:
        if hit.label not in order:
            order.append(hit.label)
        before = norm[max(previous_end, hit.start - 40) : hit.start]
        if _PRIMARY_CUE_RE.search(before):
            primary_cue.append(hit.label)
        if _SECONDARY_CUE_RE.search(before) or _SECONDARY_AFTER_RE.match(norm, hit.end):
            secondary_cue.append(hit.label)
        previous_end = hit.end
    if not order:
        return None, None
    primary = next(
        (goal for goal in order if goal in primary_cue),
        next((goal for goal in order if goal not in secondary_cue), order[0]),
    )
    rest = [goal for goal in order if goal != primary]
    secondary = next((goal for goal in rest if goal in secondary_cue), rest[0] if rest else None)
    return primary, secondary


def _target_weight(norm: str) -> float | None:
    candidates: list[tuple[bool, float]] = []
    for mention in weight_mentions(norm):
        if _preceded_by(norm, mention.start, _WEIGHT_DELTA_RE) or _preceded_by(norm, mention.start, _RANGE_BEFORE_RE):
            continue
        if _preceded_by(norm, mention.start, _CURRENT_WEIGHT_RE) and not _preceded_by(
            norm, mention.start, _TARGET_CUE_RE
        ):
            continue
        candidates.append((_preceded_by(norm, mention.start, _TARGET_CUE_RE), mention.value))
    labelled = _TARGET_LABEL_RE.search(norm)
    if labelled:
        candidates.append((True, float(labelled.group(1))))
    targeted = [value for is_target, value in candidates if is_target]
    if targeted:
        return targeted[-1]
    # One weight with no "now"/"currently" around it: in the goals step it is the target.
    return candidates[0][1] if len(candidates) == 1 else None


def _target_body_fat(norm: str) -> float | None:
    labelled = list(_BODY_FAT_RE.finditer(norm))
    found = [(match.start(), float(match.group("a") or match.group("b"))) for match in labelled]
    if labelled:
        # "I'm at 25% body fat and want to get to 15%": once body fat is the topic, a bare % counts.
        found += [
            (match.start(), float(match.group(1)))
            for match in _PERCENT_RE.finditer(norm)
            if not any(other.start() <= match.start() < other.end() for other in labelled)
        ]
    candidates: list[tuple[bool, float]] = []
    for start, value in sorted(found):
        if _preceded_by(norm, start, _CURRENT_WEIGHT_RE) and not _preceded_by(norm, start, _TARGET_CUE_RE):
            continue
        candidates.append((_preceded_by(norm, start, _TARGET_CUE_RE), value))
    targeted = [value for is_target, value in candidates if is_target]
    if targeted:
        return targeted[-1]
    return candidates[0][1] if len(candidates) == 1 else None


def _step_goals(norm: str) -> Values:
    primary, secondary = _goals(norm)
    return _stated(
        primary_goal=primary or None,
        secondary_goal=secondary or None,
        target_weight_kg=_target_weight(norm),
        target_body_fat_percentage=_target_body_fat(norm),
    )


# --- step 4: workout preferences --------------------------------------------------------------------

_LOCATIONS = _table(
    (
        "home",
        r"home(?:\s+gym)?|my\s+(?:house|place|apartment|flat|bedroom|garage|basement|living\s*room)|living\s*room|"
        r"garage|basement|indoors\s+at\s+home",
    ),
    (
        "gym",
        r"(?<!home\s)(?<!home-)gym|fitness\s+(?:center|centre|club|studio)|health\s+club|leisure\s+(?:center|centre)|"
        r"ymca|crossfit\s+box|weight\s*room|planet\s+fitness|studio",
    ),
    (
        "outdoor",
        r"outside|outdoors?|park|parks|trails?|(?:running|the)\s+track|beach|nature|open\s+air|streets?|"
        r"in\s+the\s+woods|forest|hills",
    ),
)
_PREFERENCE_CUE_RE = re.compile(r"\b(?:mostly|mainly|usually|primarily|prefer(?:ably)?|mainly|normally)\b[\w\s]{0,20}$")
_DAYS_RE = re.compile(
    r"(?<![0-9.\-/])([0-9]{1,3})\s*(?:x|times|days?|sessions?|workouts?|training\s+days|days\s+of\s+training|"
    r"trainings?)\b(?:\s*(?:a|per|each|every|/|in\s+a)\s*week)?"
)
_EVERY_DAY_RE = re.compile(r"\b(?:every\s?day|daily|all\s+week|7\s+days)\b")
_PER_RE = re.compile(r"\b(?:every|each)\s+$")
_PER_DAY_RE = re.compile(r"\s*(?:a|per)\s+day\b")
_EVERY_OTHER_DAY_RE = re.compile(r"\bevery\s+other\s+day\b")


def _location(norm: str) -> str | None:
    hits = _hits(norm, _LOCATIONS)
    labels = list(dict.fromkeys(hit.label for hit in hits))
    if len(labels) == 1:
        return labels[0]
    preferred = [hit.label for hit in hits if _preceded_by(norm, hit.start, _PREFERENCE_CUE_RE)]
    # Two places and no "mostly": ask again rather than pick one.
    return preferred[0] if len(set(preferred)) == 1 else None


def _days_per_week(norm: str) -> int | None:
    for match in _DAYS_RE.finditer(norm):
        if _preceded_by(norm, match.start(), _RANGE_BEFORE_RE) or _preceded_by(norm, match.start(), _PER_RE):
            continue
        if _PER_DAY_RE.match(norm, match.end()):
            continue  # "3 times a day" is not days a week
        return int(match.group(1))
    if _EVERY_DAY_RE.search(norm) and not _EVERY_OTHER_DAY_RE.search(norm):
        return 7
    weekdays = parse_weekdays(norm)
    return len(weekdays) or None


def _session_minutes(norm: str) -> int | None:
    for mention in duration_mentions(norm):
        if not _preceded_by(norm, mention.start, _PER_RE):
            return int(mention.value)
    return None


def _step_workout_preferences(norm: str) -> Values:
    return _stated(
        location=_location(norm) or None, days_per_week=_days_per_week(norm), session_minutes=_session_minutes(norm)
    )


# --- step 5: workout plan -------------------------------------------------------------------------------

_FOCUSES = _table(
    ("full_body", r"full[\s-]?body|whole[\s-]?body|total[\s-]?body"),
    ("upper_body", r"upper(?:[\s-]?body)?"),
    ("lower_body", r"lower(?:[\s-]?body)?"),
    ("push", r"push(?![\s-]?ups?)(?:\s+day)?"),
    ("pull", r"pull(?![\s-]?ups?)(?:\s+day)?"),
    ("legs", r"legs?(?:\s+day)?"),
    ("cardio", r"cardio|conditioning|hiit|running|endurance"),
    ("core", r"core|abs|abdominals"),
    ("mobility", r"mobility|stretching|stretch|flexibility|yoga"),
)
assert {label for label, _ in _FOCUSES} <= set(WORKOUT_FOCUSES)
_FOCUS_NOT_TARGET_RE = re.compile(
    r"\b(?:instead\s+of|rather\s+than|not|from|no\s+more|replace|swap\s+out|than)\s+(?:the\s+)?"
    r"(?:[a-z]+day'?s\s+)?$"
)
_CLAUSE_SPLIT_RE = re.compile(r"[.;!?\n,]|\band\b|\bbut\b|\bthen\b|\balso\b|\bplus\b")


def _focus_changes(norm: str) -> list[dict[str, Any]]:
    changes: dict[int, str] = {}
    pending: list[int] = []
    for clause in _CLAUSE_SPLIT_RE.split(norm):
        # "make Monday and Thursday upper body": days waiting for a focus join the next clause's.
        days = sorted({*pending, *parse_weekdays(clause)})
        hits = [hit for hit in _hits(clause, _FOCUSES) if not _preceded_by(clause, hit.start, _FOCUS_NOT_TARGET_RE)]
        if days and hits:
            for day in days:
                changes.pop(day, None)
                changes[day] = hits[-1].label
            pending = []
        elif days:
            pending = days
    return [{"weekday": day, "focus": focus} for day, focus in changes.items()]


def _step_workout_plan(norm: str) -> Values:
    changes = _stated(
        focus_changes=_focus_changes(norm) or None,
        days_per_week=_days_per_week_change(norm),
        session_minutes=_session_minutes(norm),
    )
    # A message that asks for changes is not an approval of the plan as it was.
    return changes or _stated(approved=parse_approval(norm))


def _days_per_week_change(norm: str) -> int | None:
    """An explicit new number of training days; weekday names here are focus changes, not a count."""
    for match in _DAYS_RE.finditer(norm):
        if _preceded_by(norm, match.start(), _RANGE_BEFORE_RE) or _preceded_by(norm, match.start(), _PER_RE):
            continue
        return int(match.group(1))
    return 7 if _EVERY_DAY_RE.search(norm) and not _EVERY_OTHER_DAY_RE.search(norm) else None


# --- step 6: diet preferences ------------------------------------------------------------------------------

_DIETS = _table(
    (
        "pescatarian",
        r"pesc[ae]tarian|pesco|(?:vegetarian|veggie)\s+(?:who|that|but|and|plus|except)\s+(?:\w+\s+){0,3}?"
        r"(?:fish|seafood)|(?:no|don'?t\s+eat|do\s+not\s+eat|without)\s+meat\s*,?\s*(?:but|except|though|however|"
        r"apart\s+from|besides|just|only)\s+(?:\w+\s+){0,3}?(?:fish|seafood)|(?:fish|seafood)\s+(?:but|and)\s+no\s+"
        r"meat|only\s+(?:eat\s+)?(?:fish|seafood)",
    ),
    (
        "vegan",
        r"vegan|plant[\s-]?based|no\s+animal\s+products|(?:don'?t|do\s+not)\s+eat\s+(?:any\s+)?animal\s+products",
    ),
    (
        "vegetarian",
        r"vegetarian|veggie|no\s+meat|(?:don'?t|do\s+not|never)\s+eat\s+(?:any\s+)?meat|meat[\s-]?free|meatless|"
        r"lacto[\s-]?ovo",
    ),
    ("keto", r"keto|ketogenic|low[\s-]?carb,?\s+(?:and\s+)?high[\s-]?fat|lchf"),
    ("paleo", r"paleo|caveman|primal"),
    (
        "omnivore",
        r"omnivor\w*|eat\s+(?:pretty\s+much\s+|basically\s+|just\s+about\s+)?(?:everything|anything)|no\s+(?:dietary\s+|"
        r"food\s+|special\s+)?restrictions|no\s+special\s+diet|(?:normal|regular|standard|balanced)\s+diet|eat\s+meat|"
        r"meat[\s-]eater|nothing\s+special|a\s+bit\s+of\s+everything",
    ),
)
_DIET_PRIORITY = ("pescatarian", "vegan", "vegetarian", "keto", "paleo", "omnivore")
_EATS_FISH_RE = re.compile(
    r"\b(?:eat|eats|have|include|do\s+eat|fine\s+with|ok\s+with)\s+(?:\w+\s+){0,2}?(?:fish|seafood)\b"
)
_ALLERGY_AFTER_RE = re.compile(
    r"\ballerg(?:ic|y|ies)\s*(?:to\b|:|-|=|\bare\b|\bis\b|\binclude\b|\bincludes\b|\bincluding\b|\blike\b)\s*"
)
_ALLERGY_BEFORE_RE = re.compile(r"\b([a-z']+(?:[\s-][a-z']+)?)[\s-]+allerg(?:y|ies)\b")
_INTOLERANCE_AFTER_RE = re.compile(
    r"\b(?:intoleran(?:t|ce|ces)|sensitiv(?:e|ity|ities))\s*(?:to\b|of\b|:|-|=|\bare\b|\bis\b)\s*"
    r"|\b(?:can'?t|cannot|can\s+not)\s+(?:digest|tolerate|handle|process)\s+"
)
_INTOLERANCE_BEFORE_RE = re.compile(r"\b([a-z']+(?:[\s-][a-z']+)?)[\s-]+(?:intoleran(?:t|ce|ces)|sensitiv(?:e|ity))\b")
_DISAGREES_RE = re.compile(
    r"\b([a-z']+(?:\s+[a-z']+)?)\s+(?:doesn'?t|does\s+not|don'?t|do\s+not)\s+agree\s+with\s+me\b"
    r"|\b([a-z']+(?:\s+[a-z']+)?)\s+(?:makes?|gives?)\s+me\s+(?:bloated|gassy|sick|ill|cramps|a\s+stomach\s*ache)\b"
)
_NOT_BEFORE_RE = re.compile(r"\b(?:not|don'?t)\s+$")
_EXCEPT_CUE_RE = re.compile(r"\b(?:except|but|apart\s+from|other\s+than)\b")
_CONDITION_SUFFIX_RE = re.compile(r"\s+(?:allerg\w*|intoleran\w*)$")
_CELIAC_RE = re.compile(r"\b(?:celiac|coeliac)\b")
_DISLIKE_RE = re.compile(
    r"\b(?:hate|hates|dislike|dislikes|detest|loathe|can'?t\s+stand|cannot\s+stand|(?:don'?t|do\s+not)\s+"
    r"(?:really\s+|much\s+)?(?:like|enjoy|eat|care\s+for)|won'?t\s+eat|will\s+not\s+eat|not\s+(?:a\s+)?"
    r"(?:big\s+|huge\s+)?fan\s+of|rather\s+not\s+eat|not\s+into|(?:eat|like)\s+(?:everything|anything)\s+"
    r"(?:except|but|apart\s+from|other\s+than))\b\s*:?\s*"
)
# fmt: off
_FOOD_STOP_WORDS = {
    "a", "an", "i", "i'm", "im", "am", "my", "have", "has", "severe", "severely", "mild", "mildly", "slight",
    "slightly", "bad", "serious", "minor", "food", "some", "no", "any", "known", "little", "small", "big", "very",
    "quite", "really", "also", "and", "but", "so", "bit", "kind", "of", "the", "m", "s", "got", "with", "to",
    "life", "threatening", "true", "real", "dietary", "or", "nor", "other", "allergy", "allergies", "intolerance",
    "intolerances", "not",
}
# fmt: on
# Said with "I don't eat ..." these describe the diet type, not a dislike.
# fmt: off
_DIET_WORDS = {
    "meat", "any meat", "fish", "meat or fish", "meat and fish", "animal products", "seafood", "red meat or fish",
}
# fmt: on
_STEP6_KEYWORDS = _none_keywords(
    {
        "allergies": r"allerg(?:y|ies|ic)",
        "intolerances": r"intoleran(?:ce|ces|t)|sensitivit(?:y|ies)",
        "dislikes": r"dislikes?|foods?\s+i\s+(?:don'?t|do\s+not)\s+like|(?:food\s+)?aversions?",
    }
)
_NO_DISLIKES_RE = re.compile(
    r"\b(?:i\s+like\s+(?:everything|all\s+food|all\s+foods|it\s+all)|not\s+(?:a\s+)?picky(?:\s+eater)?|"
    r"nothing\s+i\s+(?:don'?t\s+like|dislike|hate|won'?t\s+eat)|no\s+foods?\s+i\s+(?:dislike|hate|don'?t\s+like))\b"
)


def _diet_type(norm: str) -> str | None:
    labels = {hit.label for hit in _hits(norm, _DIETS)}
    if labels & {"vegetarian"} and not labels & {"vegan"} and _EATS_FISH_RE.search(norm):
        labels.add("pescatarian")
    return next((diet for diet in _DIET_PRIORITY if diet in labels), None)


def _food_words(phrase: str) -> str:
    words = [word for word in phrase.split() if word not in _FOOD_STOP_WORDS]
    return clean_item(" ".join(words))


def _step_diet_preferences(norm: str) -> Values:
    values: Values = {}
    diet = _diet_type(norm)
    if diet:
        values["diet_type"] = diet
    cues = [("allergies", match) for match in _ALLERGY_AFTER_RE.finditer(norm)]
    cues += [("intolerances", match) for match in _INTOLERANCE_AFTER_RE.finditer(norm)]
    cues += [
        ("dislikes", match)
        for match in _DISLIKE_RE.finditer(norm)
        if not _preceded_by(norm, match.start(), _NOT_BEFORE_RE)
    ]
    # A list runs up to the next cue, including where a "... allergy" / "... intolerant" phrase starts.
    stops = [cue.start() for _, cue in cues] + [
        match.start() for pattern in (_ALLERGY_BEFORE_RE, _INTOLERANCE_BEFORE_RE) for match in pattern.finditer(norm)
    ]
    for name, cue in cues:
        items = _object_items(norm, cue.end(), stops)
        if name == "dislikes" and "eat" in cue.group() and not _EXCEPT_CUE_RE.search(cue.group()):
            # "I don't eat meat" describes the diet; "I don't like fish" is a dislike.
            items = [item for item in items if item not in _DIET_WORDS]
        items = [_food_words(_CONDITION_SUFFIX_RE.sub("", item)) for item in items]
        _merge_items(values, name, items)
    for name, pattern in (("allergies", _ALLERGY_BEFORE_RE), ("intolerances", _INTOLERANCE_BEFORE_RE)):
        for match in pattern.finditer(norm):
            if _negated(norm, match.start()):
                continue
            _merge_items(values, name, [_food_words(match.group(1))])
    for match in _DISAGREES_RE.finditer(norm):
        _merge_items(values, "intolerances", [_food_words(match.group(1) or match.group(2))])
    if _CELIAC_RE.search(norm):
        _merge_items(values, "intolerances", ["gluten"])
    for name in ("allergies", "intolerances", "dislikes"):
        if name in values and not values[name]:
            del values[name]  # a cue with nothing after it ("my allergies are...") says nothing yet
    also = ["dislikes"] if _NO_DISLIKES_RE.search(norm) else []
    for name in _none_fields(norm, _STEP6_KEYWORDS, also=also):
        values.setdefault(name, [])
    for name, items in _none_exceptions(norm).items():
        if name in ("allergies", "intolerances", "dislikes"):
            values[name] = [item for item in values.get(name, []) if item] or []
            _merge_items(values, name, items)
    return values


# --- step 7: meal plan ------------------------------------------------------------------------------------

_MEALS_RE = re.compile(
    r"(?<![0-9.\-/])([0-9]{1,2})\s*(?:(?:main|big|square|small|smaller|full|proper)\s+)?meals?\b"
    r"|\b(?:eat|eating)\s+([0-9]{1,2})\s*(?:times|x)\s*(?:a|per)\s*day\b"
    r"|\bmeals?\s*(?:per\s+day|a\s+day)?\s*(?::|=|-)\s*([0-9]{1,2})\b"
)
_BARE_CALORIES_RE = re.compile(r"(?<![0-9.:/])([0-9]{3,5})(?![0-9.:/])(?!\s*(?:%|percent|g\b|grams?|kg|lbs?|ml|steps))")


def _daily_calories(norm: str) -> int | None:
    mentions = calorie_mentions(norm)
    if mentions:
        return int(mentions[0].value)
    # The meal step's one large number is its calorie target ("let's do 1800").
    bare = [int(match.group(1)) for match in _BARE_CALORIES_RE.finditer(norm) if int(match.group(1)) >= 500]
    return bare[0] if len(bare) == 1 else None


def _meals_per_day(norm: str) -> int | None:
    for match in _MEALS_RE.finditer(norm):
        if not _preceded_by(norm, match.start(), _RANGE_BEFORE_RE):
            return int(next(group for group in match.groups() if group is not None))
    return None


def _step_meal_plan(norm: str) -> Values:
    macros = parse_macros(norm)
    changes = _stated(
        daily_calories=_daily_calories(norm),
        protein_pct=macros.get("protein"),
        carbs_pct=macros.get("carbs"),
        fats_pct=macros.get("fats"),
        meals_per_day=_meals_per_day(norm),
    )
    return changes or _stated(approved=parse_approval(norm))


# --- step 8: schedule ----------------------------------------------------------------------------------------

_CONTEXT_RE = re.compile(
    r"\b(?P<breakfast>breakfast|brekkie|brunch)\b|\b(?P<lunch>lunch)\b|\b(?P<dinner>dinner|supper|tea\s+time)\b"
    r"|\b(?P<meal>meals?|eat|eating|ate|snacks?|food|first\s+meal|last\s+meal)\b"
    r"|\b(?P<workout>train|trains|training|work\s*out|working\s*out|workouts?|exercis\w*|gym|lift|lifting|run|"
    r"running|sessions?|class|classes|jog|jogging|practice)\b"
)


_PLAIN_GAP_RE = re.compile(r"[\w' ]*")


@dataclass
class _Schedule:
    """The message's times, sorted by what they are said about."""

    workout: list[TimeMention] = field(default_factory=list)
    meals: list[tuple[TimeMention, str]] = field(default_factory=list)
    unassigned: list[TimeMention] = field(default_factory=list)


def _meal_minutes(mention: TimeMention, kind: str, previous: int | None) -> int:
    if not mention.twelve_hour:
        return mention.minutes
    morning, evening = mention.minutes, mention.minutes + 12 * 60
    hour = mention.minutes // 60
    if kind == "breakfast":
        return morning
    if kind == "lunch":
        return evening if hour <= 5 else morning
    if kind == "dinner":
        return evening
    # Meals named only as "meals": the day goes forward ("8, 1 and 7" -> 08:00, 13:00, 19:00).
    if previous is None:
        return morning if hour >= 5 else evening
    return morning if morning > previous else evening


def _schedule(norm: str) -> _Schedule:
    contexts = [(match.start(), match.lastgroup or "") for match in _CONTEXT_RE.finditer(norm)]
    schedule = _Schedule()
    for mention in time_mentions(norm):
        before = [kind for position, kind in contexts if position < mention.start]
        # A word right after the time counts too ("6am workout"), not one after a comma.
        after = [
            kind
            for position, kind in contexts
            if mention.end <= position <= mention.end + 15 and _PLAIN_GAP_RE.fullmatch(norm[mention.end : position])
        ]
        kind = before[-1] if before else after[0] if after else ""
        if kind == "workout":
            if mention.clock:
                schedule.workout.append(mention)
        elif kind:
            schedule.meals.append((mention, kind))
        else:
            schedule.unassigned.append(mention)
    return schedule


def _step_schedule(norm: str) -> Values:
    values: Values = {}
    days = parse_weekdays(norm)
    if days:
        values["workout_days"] = days
    schedule = _schedule(norm)
    meal_times: list[int] = []
    previous: int | None = None
    for mention, kind in schedule.meals:
        previous = _meal_minutes(mention, kind, previous)
        meal_times.append(previous)
    workout = [mention.text for mention in schedule.workout]
    unassigned = schedule.unassigned
    clock_unassigned = [mention for mention in unassigned if mention.clock]
    if clock_unassigned and not workout and not meal_times and len(unassigned) >= 2:
        # A list of times with no word around them answers the one list question: meal times.
        for mention in unassigned:
            previous = _meal_minutes(mention, "meal", previous)
            meal_times.append(previous)
    elif len(clock_unassigned) == 1 and not workout:
        workout = [clock_unassigned[0].text]
    if workout:
        values["workout_time"] = workout[0]
    if meal_times:
        values["meal_times"] = [format_minutes(minutes) for minutes in sorted(meal_times)]
    return values


# --- step 9: hydration and supplements -------------------------------------------------------------------

_PER_INTERVAL_RE = re.compile(r"^\s*(?:every|each|per|an|a)\s+(?:[0-9.]+\s*)?(?:hours?|hrs?|minutes?|mins?)\b")
_BARE_WATER_RE = re.compile(r"(?<![0-9.:/])([0-9]{3,5})(?![0-9.:/])(?!\s*(?:%|mg|g\b|mcg|iu|kcal|cal|steps|min))")
_SUPPLEMENTS = _table(
    ("creatine", r"creatine"),
    ("whey protein", r"whey(?:\s+protein)?"),
    ("protein powder", r"protein\s+(?:powder|shakes?)"),
    ("casein", r"casein"),
    ("multivitamin", r"multi[\s-]?vitamins?|multis?"),
    ("vitamin d", r"vitamin\s+d3?|d3"),
    ("vitamin c", r"vitamin\s+c"),
    ("vitamin b12", r"vitamin\s+b[\s-]?12|b[\s-]?12"),
    ("vitamin b complex", r"(?:vitamin\s+)?b[\s-]complex"),
    ("fish oil", r"fish\s+oil|cod\s+liver\s+oil"),
    ("omega-3", r"omega[\s-]?3s?"),
    ("magnesium", r"magnesium"),
    ("zinc", r"zinc"),
    ("iron", r"iron"),
    ("calcium", r"calcium"),
    ("potassium", r"potassium"),
    ("caffeine", r"caffeine"),
    ("pre-workout", r"pre[\s-]?workouts?"),
    ("bcaa", r"bcaas?"),
    ("eaa", r"eaas?"),
    ("collagen", r"collagen"),
    ("ashwagandha", r"ashwagandha"),
    ("melatonin", r"melatonin"),
    ("electrolytes", r"electrolytes?"),
    ("beta-alanine", r"beta[\s-]?alanine"),
    ("glutamine", r"glutamine"),
    ("probiotics", r"probiotics?"),
    ("spirulina", r"spirulina"),
    ("turmeric", r"turmeric|curcumin"),
    ("biotin", r"biotin"),
    ("folic acid", r"folic\s+acid|folate"),
    ("vitamin e", r"vitamin\s+e"),
    ("vitamin k2", r"vitamin\s+k2|k2"),
    ("vitamin k", r"vitamin\s+k"),
    ("coq10", r"coq10|coenzyme\s+q10"),
    ("l-carnitine", r"l[\s-]?carnitine|carnitine"),
    ("greens powder", r"greens\s+powder|athletic\s+greens|ag1"),
)
_SUPPLEMENT_CUE_RE = re.compile(
    r"\b(?:take|taking|takes|use|using|i'?m\s+on|i\s+am\s+on|currently\s+on|supplement\s+with)\s+"
)
_SUPPLEMENT_CONTEXT_RE = re.compile(r"\bsupplements?\b|\bvitamins?\b|\bpills?\b|\bcapsules?\b")
_SUPPLEMENT_DOSE_RE = re.compile(
    r"\b[0-9.]+\s*(?:g|mg|mcg|iu|grams?|scoops?|tablets?|caps(?:ules)?|pills?)\b|\b(?:daily|every\s+day|a\s+day|"
    r"per\s+day|each\s+(?:day|morning|night)|in\s+the\s+(?:morning|evening)|at\s+night|sometimes|regularly|"
    r"already|currently|right\s+now|now)\b"
)
_NO_CURRENT_SUPPLEMENTS_RE = re.compile(
    r"\b(?:(?:don'?t|do\s+not|not)\s+(?:currently\s+|really\s+)?(?:take|taking|use|using|on)\s+any(?:thing)?"
    r"(?:\s+supplements?)?|(?:take|taking|on)\s+(?:no|zero)\s+supplements?|no\s+supplements?\s+(?:currently|"
    r"right\s+now|at\s+the\s+moment|yet|so\s+far)|(?:currently|right\s+now)\s+(?:none|nothing))\b"
)
_NOT_INTERESTED_RE = re.compile(
    r"\b(?:not\s+(?:really\s+)?(?:interested|into|keen|bothered)|no\s+(?:interest|thanks|thank\s+you|need)|"
    r"(?:don'?t|do\s+not)\s+(?:really\s+)?(?:want|need|care\s+about|like)\s+(?:any\s+)?(?:supplements?\s+)?(?:supplements?|advice|"
    r"recommendations?|suggestions?|pills)|no\s+supplements?(?!\s+(?:currently|right\s+now|at\s+the\s+moment|yet|"
    r"so\s+far))|skip\s+(?:the\s+)?supplements?|rather\s+not|not\s+for\s+me|without\s+supplements?)\b"
)
_INTERESTED_RE = re.compile(
    r"\b(?:interested|curious|keen|open)\b|\btell\s+me\s+(?:more\s+)?about\b|\b(?:want|like|love|need|"
    r"appreciate|get|give\s+me)\s+(?:some\s+|more\s+)?(?:supplement\s+)?(?:advice|recommendations?|suggestions?|"
    r"guidance|tips|help|info)\b|\brecommend\b|\bsuggest\b|\bwhat\s+(?:supplements?\s+)?should\s+i\s+take\b"
    r"|\b(?:yes|sure|yeah|yep|ok|okay)\b[\w\s,]{0,30}\bsupplements?\b|\bsupplements?\b[\w\s,]{0,20}"
    r"\b(?:yes|sure|please|sounds\s+good|would\s+be\s+great)\b"
)
_INTERESTED_WORD_RE = re.compile(r"\binterest(?:ed)?\b")
_BARE_YES_RE = re.compile(
    r"^\W*(?:yes|yeah|yep|yup|sure|ok|okay|yes\s+please|sure\s+thing|absolutely|definitely|why\s+not)\W*$"
)
_BARE_NO_RE = re.compile(r"^\W*(?:no|nope|nah|no\s+thanks|no\s+thank\s+you|not\s+really|not\s+interested)\W*$")


def _daily_water_ml(norm: str) -> int | None:
    for mention in volume_mentions(norm):
        if not _PER_INTERVAL_RE.match(norm, mention.end):
            return int(mention.value)
    # A bare number in the hydration step is millilitres ("3000"), when it is the only number.
    intervals = interval_mentions(norm)
    numbers = [
        mention
        for mention in number_mentions(norm)
        if not any(interval.start <= mention.start < interval.end for interval in intervals)
    ]
    bare = [int(match.group(1)) for match in _BARE_WATER_RE.finditer(norm) if int(match.group(1)) >= 500]
    return bare[0] if len(bare) == 1 and len(numbers) == 1 else None


def _current_supplements(norm: str) -> list[str] | None:
    found = [hit.label for hit in _hits(norm, _SUPPLEMENTS)]
    for cue in _SUPPLEMENT_CUE_RE.finditer(norm):
        if _negated(norm, cue.start()):
            continue
        end = _OBJECT_END_RE.search(norm, cue.end())
        clause = norm[cue.start() : end.start() if end else len(norm)]
        if not _SUPPLEMENT_CONTEXT_RE.search(clause):
            continue  # "I take a bottle to work" is not a supplement
        for raw in _object_items(norm, cue.end(), []):
            item = clean_item(_SUPPLEMENT_DOSE_RE.sub(" ", raw))
            if item and not _SUPPLEMENT_CONTEXT_RE.fullmatch(item) and not any(label in item for label in found):
                found.append(item)
    found = list(dict.fromkeys(found))
    if found:
        return found[:20]
    return [] if _NO_CURRENT_SUPPLEMENTS_RE.search(norm) else None


def _interested(norm: str) -> bool | None:
    # The step's one yes/no question, answered alone or as a clause of its own ("2 litres. No.").
    last = ([clause for clause in _CLAUSE_END_RE.split(norm) if clause.strip()] or [norm])[-1]
    if _BARE_NO_RE.match(last):
        return False
    if _BARE_YES_RE.match(last):
        return True
    if _NOT_INTERESTED_RE.search(norm):
        return False
    if _SUPPLEMENT_CONTEXT_RE.search(norm) or _INTERESTED_WORD_RE.search(norm):
        return True if _INTERESTED_RE.search(norm) else None
    return None


def _step_hydration_supplements(norm: str) -> Values:
    intervals = interval_mentions(norm)
    return _stated(
        daily_water_ml=_daily_water_ml(norm),
        reminder_every_minutes=int(intervals[0].value) if intervals else None,
        interested_in_supplements=_interested(norm),
        current_supplements=_current_supplements(norm),
    )


# --- entry point ----------------------------------------------------------------------------------------------

STEP_EXTRACTORS: dict[int, Callable[[str], Values]] = {
    1: _step_fitness_level,
    2: _step_limitations,
    3: _step_goals,
    4: _step_workout_preferences,
    5: _step_workout_plan,
    6: _step_diet_preferences,
    7: _step_meal_plan,
    8: _step_schedule,
    9: _step_hydration_supplements,
}


def says_bare_none(norm: str) -> bool:
    """The answer, or one of its clauses, is a plain "none" ("none", "I eat everything, none")."""
    return is_bare_none(norm) or any(is_bare_none(clause) for clause in _CLAUSE_END_RE.split(norm) if clause.strip())


def extract(step: int, message: str) -> dict[str, Any]:
    """The values ``message`` states for ``step``'s fields; ``ValueError`` for a step outside 1..9."""
    step_get(step)
    norm = normalize(message)
    values = STEP_EXTRACTORS[step](norm)
    if says_bare_none(norm):
        _fill_bare_none(step, values)
    return values
