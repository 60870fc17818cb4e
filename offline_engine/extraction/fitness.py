"""Steps 1 and 2: fitness level (level, push-ups, workouts a week, activities), then equipment,
injuries and limitations.
"""

from __future__ import annotations

import re

from offline_engine.extraction.common import (
    _RANGE_BEFORE_RE,
    Values,
    _hits,
    _merge_items,
    _none_fields,
    _none_keywords,
    _preceded_by,
    _sentences,
    _stated,
    _table,
)
from offline_engine.parsing import (
    clean_item,
)

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
