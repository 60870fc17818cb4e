"""Steps 1 and 2: fitness level (level, push-ups, workouts a week, activities), then equipment,
injuries and limitations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field

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
        r"medium(?:\s+level)?|mid[\s-]?level|in\s+(?:the\s+)?(?:between|middle)|some\s+experience|a\s+(?:bit|little)\s+(?:of\s+)?experience|"
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
    r"\b(?:work\s*out|exercise|train|run|lift|go\s+to\s+the\s+gym)\w*\s+(?:every\s?day|daily)\b"
)
_NO_WORKOUTS_RE = re.compile(
    r"\b(?:(?:don'?t|do\s+not|never)\s+(?:really\s+|currently\s+)?(?:work\s*out|exercise|train)|"
    r"not\s+(?:working\s*out|exercising|training)(?:\s+at\s+all)?|(?:0|no)\s+workouts)\b"
)
_ACTIVITIES = _table(
    ("running", r"run|runs|running|jog|jogs|jogging"),
    ("swimming", r"swim|swims|swimming"),
    ("cycling", r"cycle|cycles|cycling|bike|bikes|biking|spinning|spin(?=\s+class)"),
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


# "I want to build muscle, at home 4 days a week": a plan for later (step 4), not how often one trains now.
_PLAN_BEFORE_RE = re.compile(
    r"\b(?:want|wanna|would\s+like|i'?d\s+like|plan(?:ning)?|going\s+to|gonna|will|hope|hoping|aim|could)\b[^.;!?\n]*$"
)


def _workouts_per_week(norm: str) -> int | None:
    for match in _PER_WEEK_RE.finditer(norm):
        if _preceded_by(norm, match.start(), _PLAN_BEFORE_RE):
            continue
        if not _preceded_by(norm, match.start(), _RANGE_BEFORE_RE):
            return int(match.group(1) or match.group(2))
    if _DAILY_WORKOUT_RE.search(norm):
        return 7
    return 0 if _NO_WORKOUTS_RE.search(norm) else None


# A sport given up ("I used to swim", "played rugby until I was 25", "karate as a kid") is not an activity now.
_PAST_RE = re.compile(
    r"\b(?:used\s+to|until\s+i\s+was|as\s+a\s+(?:kid|child|teen(?:ager)?|boy|girl)|when\s+i\s+was|in\s+(?:college|"
    r"school|high\s+school|uni(?:versity)?|my\s+(?:youth|teens|twenties|20s))|back\s+(?:in|then|when)|years?\s+ago|"
    r"gave\s+(?:it|that|them)?\s*up|quit|stopped|no\s+longer|any\s*more|(?:haven'?t|have\s+not|didn'?t)\s+\w+|"
    r"played|did|was\s+(?:a|an|into)|former(?:ly)?|ex-|in\s+the\s+past|previously|once\s+upon)\b"
)
_PRESENT_RE = re.compile(r"\b(?:now|nowadays|these\s+days|currently|at\s+the\s+moment|still|lately|right\s+now)\b")
_ACTIVITY_CLAUSE_RE = re.compile(r"[^,;.!?\n]+?(?=[,;.!?\n]|\bbut\b|\band\s+(?:did|played|now|these)\b|$)")
# "a yoga mat", "running shoes", "a rowing machine": the sport's gear, not the sport.
_GEAR_AFTER_RE = re.compile(
    r"\s+(?:mats?|balls?|blocks?|shoes|trainers|bags?|gloves|rackets?|racquets?|machines?|bands?|straps?|wheels?)\b"
)


def _in_the_past(norm: str, position: int) -> bool:
    clause = next(
        (match.group() for match in _ACTIVITY_CLAUSE_RE.finditer(norm) if match.start() <= position < match.end()), ""
    )
    return bool(_PAST_RE.search(clause)) and not _PRESENT_RE.search(clause)


def _activities(norm: str) -> list[str] | None:
    found: list[str] = []
    for hit in _hits(norm, _ACTIVITIES):
        if _GEAR_AFTER_RE.match(norm, hit.end) or _in_the_past(norm, hit.start):
            continue
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
    r"disabilit\w*|disabled|wheelchair|hypermobil\w*|anxiety|elderly|insomnia|bad\s+lungs?|gout|lupus|crohn'?s|"
    r"ibs|colitis|thyroid|cancer|chemo\w*|kidneys?|stroke|parkinson'?s|sleep\s+apnea|glaucoma|pacemaker|anaemi\w*|"
    r"anemi\w*|pots|long\s+covid|endometriosis|pcos|c[\s-]?section|caesarean|cesarean|cholesterol)\b"
)
_STEP2_KEYWORDS = _none_keywords(
    {
        "equipment": r"equipments?|gear|kit|weights|machines|material",
        # "no equipment, pain in my shoulder": a pain that is somewhere is an item, not a "none".
        "injuries": r"injur(?:y|ies)|pain(?!\s+(?:in|on|at|my|from|with)\b)|problems\s+with\s+my\s+joints",
        "limitations": r"limitations?|limits?|restrictions?|(?:medical|health)\s+(?:conditions?|issues|problems)|"
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
    r"\bhowever\b|\bwhich\s+means\b|\bthough\b|\balthough\b|(?<!\ba\s)(?<!\bfor\s)\bwhile\b|\balso\b|"
    r"\bsince\b|(?=\bno\s))\s*"
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
_NOTHING_LIMITS_RE = re.compile(
    r"\bnothing\s+(?:else\s+)?(?:really\s+|much\s+)?(?:limits|holds\s+me\s+back|stops\s+me|restricts|prevents)\b"
)
_NO_OTHER_INJURY_RE = re.compile(r"\bno\s+(?:other|more|further|additional|new|second)\s+injur")
_NO_INJURY_EXCEPT_RE = re.compile(
    r"\bno\s+(?:other\s+)?injur\w*\s*,?\s*(?:except|apart\s+from|other\s+than|besides|aside\s+from|save\s+for)\b"
)
_INJURY_FREE_RE = re.compile(r"\b(?:injury|pain)[\s-]free\b|\bhealthy\s+as\s+a\s+horse\b")


# Long items are cut down to what they name (see ``_core``); up to this many words are kept as said.
_SHORT_ITEM_WORDS = 3
_OTHER_STEP_CONTEXT_RE = re.compile(r"\b(?:gym|home|outdoors?|outside|days?|weeks?|want|goals?|minutes?|hours?)\b")
_PREPOSITION_RE = re.compile(r"^(?:in|on|at|with|of)\s+(?:my\s+|the\s+)?")
_GENERIC_LIMITATION_RE = re.compile(r"limitations?|limited|conditions?|limits?")
_ITEM_CORRECTION_RE = re.compile(
    r"^(?:no+\s*,?\s*)?(?:wait|sorry|(?:i\s+)?mean|(?:i\s+)?meant|or\s+rather|scratch\s+that|correction|make\s+that)\b[\s,:]*(.*)$"
)
_GIVEN_UP_RE = re.compile(
    r"^(?:i\s+)?(?:sold|got\s+rid\s+of|gave\s+away|threw\s+out|no\s+longer\s+have|lent\s+out)\s+(?:the\s+|my\s+)?(.+)$"
)
# An unknown part this long, right after an injury, is more of its story ("deep squats still pinch").
_STORY_WORDS = 3
_BODY_PART_RE = re.compile(
    r"\b(?:(?:left|right|lower|upper|mid|both)\s+)?(?:knees?|(?<!\bme\s)(?<!\bget\s)(?<!\bcome\s)back"
    r"(?!\s+(?:in|then|to|when|home|from|on|into|up|again)\b)|shoulders?|ankles?|wrists?|hips?|elbows?|neck|"
    r"hamstrings?|groin|achilles|calf|calves|foot|feet|spine|ribs?|quads?|hands?|fingers?|toes?|shins?|thighs?|"
    r"glutes?|pelvis|pelvic\s+floor|jaw)\b(?:\s+(?:left|right)\b)?"
)
_INJURY_TERM_RE = re.compile(
    r"\b(?:acl|mcl|pcl|meniscus|rotator\s+cuff|sciatica|whiplash|tennis\s+elbow|golfer'?s\s+elbow|"
    r"plantar\s+fasciitis|shin\s+splints|(?:herniated|slipped|bulging|prolapsed)\s+discs?|tendinitis|tendonitis|"
    r"tendinopathy|bursitis|impingement|concussion)\b"
)
# Which joint a named injury is of, so "torn acl" and "the knee" said together are one injury.
_JOINT_OF = {"acl": "knee", "mcl": "knee", "pcl": "knee", "meniscus": "knee", "rotator cuff": "shoulder"}
_LIMITATION_CORE_RE = re.compile(
    r"\b(?:(?:high|low)\s+blood\s+pressure|type\s+[12]\s+diabet\w*|(?:(?:very|quite|a\s+bit)\s+)?"
    r"(?:" + _LIMITATION_RE.pattern.removeprefix(r"\b(?:").removesuffix(r")\b") + r"))\b"
)
_STORY_WORD_RE = re.compile(r"\b(?:i|i'm|i've|my|have|has|had|got|is|are|was|all|it|that|which|when|since)\b")
_GENERIC_INJURY_RE = re.compile(r"(?:a\s+)?(?:pain|injury|injuries|problems?|hurts?|aches?|sore|soreness|issues?)")
# "knee yes, the left one": which side, said after the item.
_SIDE_ONLY_RE = re.compile(r"(?:the\s+)?(?P<side>left|right|both)(?:\s+(?:1|one|ones|side))?")
# A part that explains the item before it rather than naming a new one.
_EXPLAINING_CONNECTOR_RE = re.compile(
    r"so|because(?:\s+of)?|due\s+to|which\s+means|though|although|while|however|since"
)
_BACK_REFERENCE_RE = re.compile(
    r"^(?:it|it'?s|its|that|that'?s|thats|this|which|they|they'?re|those|these|he|she|had\s+it|has\s+it)\b"
)
_STATE_ONLY_RE = re.compile(
    r"(?:(?:fully|mostly|completely|all|now)\s+)?(?:healed|recovered|under\s+control|fine\s+now|better\s+now|"
    r"careful\s+with\s+it|not\s+too\s+bad)"
)
# "knee yes, the left one": a non-native "yes" after an item confirms it.
_POLARITY_YES_RE = re.compile(r"(?:\s*[:-]?\s*\b(?:yes|yeah|yep|si)\b\s*)+$")
# When an item names nothing known, the story's time is still not part of it.
_TIME_TAIL_RE = re.compile(
    r"\s+(?:(?:since|from|in|back\s+in|about|around|like)\s+)?(?:(?:[0-9]+|a|an|few|some|several)\s+"
    r"(?:years?|months?|weeks?|days?)\s+ago|last\s+(?:year|month|week|spring|summer|autumn|fall|winter)|"
    r"in\s+(?:19|20)[0-9]{2})\b.*$"
)


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


def _split_with_connectors(sentence: str) -> list[tuple[str, str]]:
    """The sentence's parts, each with the connector before it ("" for the first)."""
    parts: list[tuple[str, str]] = []
    position, connector = 0, ""
    for match in _STEP2_SPLIT_RE.finditer(sentence):
        if match.end() == match.start() and match.start() == position:
            continue
        parts.append((connector, sentence[position : match.start()]))
        position, connector = match.end(), match.group().strip()
    parts.append((connector, sentence[position:]))
    return [(connector, raw) for connector, raw in parts if raw.strip()]


def _core(item: str, item_class: str | None) -> list[str]:
    """The thing a long item names, without the story around it: "twisted my ankle badly last spring" ->
    ["ankle"], "foam roller that my sister left behind" -> ["foam roller"]; [] when it names nothing known.
    """
    if item_class == "injuries":
        found = [clean_item(match.group()) for match in _BODY_PART_RE.finditer(item)]
        terms = [match.group() for match in _INJURY_TERM_RE.finditer(item)]
        if terms and not found:
            joints = sorted({_JOINT_OF[term] for term in terms if term in _JOINT_OF})
            found = [f"{joint} ({', '.join(terms)})" for joint in joints] if joints else terms
        elif terms and len(found) == 1:
            found = [f"{found[0]} ({', '.join(terms)})"]
        return list(dict.fromkeys(found))
    if item_class == "equipment":
        item = item.rsplit(":", 1)[-1]  # "home gym: squat rack, ...": the things, not the umbrella
        things = [clean_item(match.group()) for match in _EQUIPMENT_RE.finditer(item)]
        return list(dict.fromkeys(things)) or (["gym"] if re.search(r"\bgym\b", item) else [])
    if item_class == "limitations":
        return list(dict.fromkeys(clean_item(match.group()) for match in _LIMITATION_CORE_RE.finditer(item)))
    return []


@dataclass
class _Part:
    """One part of a step-2 sentence on its way to becoming an item."""

    field: str | None
    item: str
    owned: bool  # said with "have" / "own"
    details: list[str] = dataclass_field(default_factory=list)  # "asthma" <- "can't do long cardio"
    explains: int | None = None  # a consequence of another class: the part it is the consequence of


def _step2_items(norm: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Items of the message sorted into equipment, injuries and limitations, and which limitation is the
    consequence of which injury ({"no jumping": "bad knees"}).

    A part that explains the item before it ("... it still aches", "which I dislocated a while ago",
    "fully healed") is not an item of its own, unless it names a new body part; one that says what the
    user cannot do ("so I can't do long cardio") is kept with it, or as a limitation of its own beside
    an injury ("bad knees so no jumping"). A long item is cut down to what it names ("old lower back
    injury from deadlifting in 2019" -> "lower back"). Unknown words are kept: when unsure, keep.
    """
    found: dict[str, list[str]] = {}
    consequences: dict[str, str] = {}
    previous: list[str] = []  # the last item kept, across sentences ("I hurt my knee. It still aches.")
    for sentence in _sentences(norm):
        parts: list[_Part] = []
        label: str | None = None
        painless = bool(_NO_PAIN_RE.search(sentence))
        replace_last = False
        for connector, raw in _split_with_connectors(sentence):
            item = clean_item(raw)
            corrected = _ITEM_CORRECTION_RE.match(item)
            if corrected:  # "dumbbells, no wait, kettlebells": the next item replaces the last one
                replace_last, item = bool(parts), clean_item(corrected.group(1))
            given_up = _GIVEN_UP_RE.match(item)
            if given_up:  # "I sold the dumbbells": not an item, and not one of the others either
                gone = set(clean_item(given_up.group(1)).split())
                parts = [part for part in parts if not gone & set(part.item.split())]
                continue
            read = _part_read(item, label, painless)
            if read is None:
                continue
            item, item_class, label = read
            side = _SIDE_ONLY_RE.fullmatch(item)
            if side and parts:
                if not parts[-1].item.startswith(("left", "right", "both")):
                    parts[-1].item = f"{side.group('side')} {parts[-1].item}"
                continue
            explains = bool(
                (parts or previous)
                and (
                    _EXPLAINING_CONNECTOR_RE.fullmatch(connector)
                    or _BACK_REFERENCE_RE.match(item)
                    or _STATE_ONLY_RE.fullmatch(item)
                )
            )
            if explains:
                new_parts = [part for part in _BODY_PART_RE.findall(item) if not any(part in old for old in previous)]
                if not new_parts or painless:
                    _explanation_add(parts, item, item_class)
                    continue
            if (
                item_class is None
                and parts
                and parts[-1].field in ("injuries", "limitations")
                and (len(item.split()) >= _STORY_WORDS or _STORY_WORD_RE.search(item))
            ):
                if not _OTHER_STEP_CONTEXT_RE.search(item):  # "... but I can train at the gym": not the injury's
                    parts[-1].details.append(item)  # "meniscus surgery ..., but deep squats still pinch"
                continue
            if replace_last and parts:
                parts.pop()
            replace_last = False
            parts.append(_Part(item_class or label, item, bool(_OWNING_RE.search(raw))))
            previous = [item]
        _parts_store(parts, found, consequences)
    if "injuries" in found:
        found["injuries"] = _merge_joints(found["injuries"])
        named = [item for item in found["injuries"] if not _GENERIC_INJURY_RE.fullmatch(item)]
        if named:  # "pain yes, in shoulder left": the pain is the shoulder's
            found["injuries"] = named
    return found, consequences


def _part_read(item: str, label: str | None, painless: bool) -> tuple[str, str | None, str | None] | None:
    """One part as (item, its field, the label in force), or None when it is no item ("no injuries")."""
    if _INJURY_FREE_RE.search(item):
        return None
    labelled = _STEP2_LABEL_RE.match(item)
    if labelled and labelled.end() > 0:
        label = labelled.lastgroup
        item = clean_item(item[labelled.end() :])
    item = clean_item(_POLARITY_YES_RE.sub("", item))
    if not item or _BARE_FIELD_WORDS.match(item):
        return None
    # "limitations: back": the user's own label beats the vocabulary for the item right after it.
    item_class = label if labelled and labelled.end() > 0 else step2_class(item)
    if _STEP2_NONE_AFTER_RE.search(item):
        return None  # "other limitation no": a none, not an item
    if _STEP2_NEGATIVE_ITEM_RE.match(item) and not _LIMITATION_CUE_RE.search(item):
        return None  # "no injuries": an answer for the none-detection, not an item ("no jumping" is one)
    if item_class == "injuries" and painless and not _INJURY_WORD_RE.search(item):
        return None  # "my knee clicks but doesn't hurt"
    if _OTHER_STEP_ITEM_RE.search(item) and item_class != "limitations" and not _INJURY_WORD_RE.search(item):
        return None
    return item, item_class, label


def _parts_store(parts: list[_Part], found: dict[str, list[str]], consequences: dict[str, str]) -> None:
    """A sentence's parts as items of their fields, each cut down to what it names."""
    stored: list[str] = []
    for index, part in enumerate(parts):
        part.item = _PREPOSITION_RE.sub("", part.item) or part.item  # "in shoulder left"
        resolved = part.field or _neighbour_field(parts, index) or ("equipment" if part.owned else None)
        told = len(part.item.split()) > _SHORT_ITEM_WORDS or _STORY_WORD_RE.search(part.item)
        core = (_core(part.item, resolved) if told else []) or [_TIME_TAIL_RE.sub("", part.item).strip() or part.item]
        if part.details:
            said = "; ".join(part.details)
            first = f"{core[0][:-1]}; {said})" if core[0].endswith(")") else f"{core[0]} ({said})"
            core = [first, *core[1:]]
        stored.append(core[0])
        if resolved:
            _merge_items(found, resolved, core)
            if part.explains is not None and stored[part.explains]:
                consequences[core[0]] = stored[part.explains]
        else:
            stored[-1] = ""


def _explanation_add(parts: list[_Part], item: str, item_class: str | None) -> None:
    """A part that explains the last one: its class when that had none, a limitation of its own beside an
    injury, a detail of a limitation, and otherwise nothing new (the story around an item).
    """
    if not parts:
        if item_class == "limitations" and _LIMITATION_CUE_RE.search(item):
            parts.append(_Part("limitations", item, False))
        return
    last = parts[-1]
    cause = _core(item, item_class) if item_class in ("injuries", "limitations") else []
    if [word for word in cause if not _GENERIC_LIMITATION_RE.fullmatch(word)]:
        # "... because of my heart": the reason is a condition of its own, never dropped
        parts.append(_Part(item_class, item, False))
        return
    if last.field is None and item_class:
        last.field = item_class  # "a c-section ..., that's my main limitation"
    elif item_class == "limitations" and _LIMITATION_CUE_RE.search(item) and not _BACK_REFERENCE_RE.match(item):
        if last.field == "limitations":
            last.details.append(item)  # "asthma, so I can't do long cardio"
        else:
            parts.append(_Part("limitations", item, False, explains=len(parts) - 1))


def _merge_joints(items: list[str]) -> list[str]:
    """One injury said twice is one item: "torn acl" and "the knee" -> "knee (acl)"; "knee" and "left knee"
    -> "left knee". Two sides ("left knee", "right knee") stay two.
    """
    merged: list[str] = []
    for item in items:
        joint = _JOINT_OF.get(item, item)
        same = next((kept for kept in merged if _names_joint(kept, joint) or _names_joint(item, kept)), None)
        if same is None:
            merged.append(item)
        elif _names_joint(same, joint) and joint in _JOINT_OF.values() and item in _JOINT_OF:
            merged[merged.index(same)] = f"{same} ({item})"
        elif len(item) > len(same):
            merged[merged.index(same)] = item
    return merged


def _names_joint(item: str, joint: str) -> bool:
    """Whether ``item`` is about ``joint`` with nothing that tells them apart (a bare joint, no side)."""
    if joint not in _JOINT_OF.values() and " " in joint:
        return False
    return bool(re.search(rf"\b{re.escape(joint)}s?\b", item)) and not _SIDE_ONLY_RE.search(joint)


def _neighbour_field(parts: list[_Part], index: int) -> str | None:
    before = [part.field for part in parts[:index] if part.field]
    if before:
        return before[-1]
    after = [part.field for part in parts[index + 1 :] if part.field]
    return after[0] if after else None


def _step_limitations(norm: str) -> Values:
    items, consequences = _step2_items(norm)
    values: Values = dict(items)
    also = ["equipment"] if _BODYWEIGHT_ONLY_RE.search(norm) else []
    if _INJURY_FREE_RE.search(norm):
        also.append("injuries")
    if _NOTHING_LIMITS_RE.search(norm):
        also.append("limitations")
    empty = _none_fields(norm, _STEP2_KEYWORDS, also=also)
    if (
        "injuries" in empty
        and values.get("injuries")
        and not _NO_INJURY_EXCEPT_RE.search(norm)
        and not _NO_OTHER_INJURY_RE.search(norm)  # "a bad knee. no other injuries": the knee is one
    ):
        # "my wrists hurt from typing, but no injuries as such": the user does not count it as an injury,
        # so it is a limitation; it is never dropped.
        moved = values.pop("injuries")
        for consequence, cause in consequences.items():
            if cause in moved and consequence in values.get("limitations", []):
                values["limitations"].remove(consequence)
                moved[moved.index(cause)] = f"{cause} ({consequence})"
        _merge_items(values, "limitations", moved)
        if "limitations" in empty:
            empty.remove("limitations")
    for name in empty:
        values.setdefault(name, [])
    return values
