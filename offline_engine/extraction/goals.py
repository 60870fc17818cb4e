"""Step 3: primary and secondary goals, target weight and target body fat."""

from __future__ import annotations

import re

from offline_engine.extraction.common import (
    _RANGE_BEFORE_RE,
    Values,
    _hits,
    _preceded_by,
    _stated,
    _table,
)
from offline_engine.parsing import (
    weight_mentions,
)

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
_BARE_TARGET_RE = re.compile(
    r"\b(?:get\s+(?:down\s+|up\s+)?to|down\s+to|reach|hit|target(?:\s+of)?|aim(?:ing)?\s+for|goal\s+(?:of|is))\s+"
    r"(?:about\s+|around\s+|~)?([0-9]{2,3}(?:\.[0-9])?)(?![0-9.]|\s*(?:%|percent|kg|kgs|kilos?|lbs?|pounds?|stones?|st\b))"
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


def goal_named(norm: str) -> bool:
    """Whether the text names a goal itself ("lose weight", "build muscle"), not only a word that hints at
    one ("cardio", "health"): enough to keep it for the goals step when another step is asked.
    """
    return bool(_hits(norm, _GOALS, _GOAL_NEGATION_RE))


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
    said = weight_mentions(norm)
    if said and not any(is_target for is_target, _ in candidates):
        # "I weigh 90kg and want to get to 80": the target said without its unit, in the unit said before.
        bare = _BARE_TARGET_RE.search(norm)
        if bare:
            unit = norm[said[0].start : said[0].end]
            factor = said[0].value / float(re.findall(r"[0-9.]+", unit)[0]) if re.search(r"[0-9]", unit) else 1.0
            candidates.append((True, round(float(bare.group(1)) * factor, 1)))
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
