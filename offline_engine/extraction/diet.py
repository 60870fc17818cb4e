"""Steps 6 and 7: diet type, allergies, intolerances and dislikes, then the meal plan's calories, meals
a day and approval.
"""

from __future__ import annotations

import re

from offline_engine.extraction.common import (
    _RANGE_BEFORE_RE,
    Values,
    _hits,
    _merge_items,
    _negated,
    _none_fields,
    _none_keywords,
    _object_items,
    _preceded_by,
    _stated,
    _table,
)
from offline_engine.parsing import (
    calorie_mentions,
    clean_item,
    parse_approval,
    parse_macros,
)

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
        r"lacto[\s-]?ovo|(?:skip|avoid|cut\s+out|gave\s+up|quit|stopped\s+eating|without)\s+(?:all\s+|any\s+)?meat",
    ),
    ("keto", r"keto|ketogenic|low[\s-]?carb,?\s+(?:and\s+)?high[\s-]?fat|lchf"),
    ("paleo", r"paleo|caveman|primal"),
    (
        "omnivore",
        r"omnivor\w*|eat\s+(?:pretty\s+much\s+|basically\s+|just\s+about\s+)?(?:everything|anything|whatever)|eat\s+(?:most|almost\s+all|nearly\s+all)\s+(?:things|foods?)|no\s+(?:dietary\s+|"
        r"food\s+|special\s+)?restrictions|no\s+special\s+diet|(?:normal|regular|standard|balanced)\s+diet|eat\s+meat|"
        r"meat[\s-]eater|nothing\s+special|a\s+bit\s+of\s+everything|"
        r"diet\s*(?::|-|=|is)?\s*(?:normal|regular|standard|mixed|balanced|everything|anything|all)|"
        r"(?:all|any)\s+food\s+(?:is\s+)?(?:ok|okay|fine|good)|i\s+eat\s+all",
    ),
)
_DIET_PRIORITY = ("pescatarian", "vegan", "vegetarian", "keto", "paleo", "omnivore")
# "meat I not eat, fish yes", "seafood is fine", "but fish is ok": a vegetarian who eats fish.
_EATS_FISH_RE = re.compile(
    r"\b(?:eat|eats|have|include|do\s+eat|fine\s+with|ok\s+with|okay\s+with|but|except|apart\s+from|yes)\s+"
    r"(?:\w+\s+){0,2}?(?:fish|seafood)\b"
    r"|\b(?:fish|seafood)(?:\s+and\s+\w+)?\s*(?::|-|is|are)?\s*(?:yes|ok|okay|fine|good|allowed)\b"
)
_NO_FISH_RE = re.compile(r"\b(?:no|not|never|nor|without)\s+(?:\w+\s+){0,2}?(?:fish|seafood)\b")
# Allergies to things that are not food (medicines, latex, pollen, animals, stings): not for a meal plan.
_NOT_FOOD_RE = re.compile(
    r"^(?:(?:to|of)\s+)?(?:penicill?in|amoxicill?in|antibiotics?|ibuprofen|aspirin|nsaids?|codeine|morphine|sulfa|"
    r"sulpha|sulfonamides?|paracetamol|acetaminophen|medications?|medicines?|drugs?|latex|pollen|hay\s*fever|"
    r"grass|dust(?:\s+mites?)?|mites?|mou?ld|cats?|dogs?|pets?|pet\s+dander|dander|horses?|feathers?|bees?|"
    r"bee\s+stings?|stings?|wasps?|insect\s+bites?|nickel|perfumes?|fragrances?|plasters?|the\s+sun|sunlight)$"
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
    r"|\b([a-z']+(?:\s+[a-z']+)?)\s+(?:makes?|gives?)\s+me\s+(?:bloated|gassy|sick|ill|cramps|a\s+stomach\s*ache|"
    r"(?:a\s+lot\s+of\s+|some\s+)?(?:trouble|problems|issues|gas|wind|diarrh?o?ea|heartburn|reflux|a\s+bad\s+stomach))\b"
    r"|\b([a-z']+(?:\s+[a-z']+)?)\s+(?:upsets?|bothers?|wrecks?|kills?)\s+my\s+(?:stomach|gut|tummy|belly)\b"
)
# "can't have tree nuts, I go into anaphylaxis": a severe reaction makes the food an allergy, said or not.
_REACTION_RE = re.compile(
    r"\b(?:anaphyla\w*|epi[\s-]?pens?|hives|allergic\s+reaction|severe\s+reaction|throat\s+(?:closes|swells)|"
    r"(?:swell|swells|swelling)\s+up|can'?t\s+breathe)\b"
)
# "milk makes me bloated" after the allergy is a clause of its own, not a food of the list.
_CLAUSE_VERB_RE = re.compile(r"\b(?:makes?|gives?|is|are|gets?|was|were|has|have|causes?)\b")
_AVOID_CUE_RE = re.compile(
    r"\b(?:can'?t|cannot|can\s+not|must\s+not|mustn'?t|never)\s+(?:have|eat|touch|be\s+near)\s+|\bavoid\s+|"
    r"\bstay\s+away\s+from\s+|\bbecause\s+of\s+(?:an?\s+)?(?:severe\s+)?"
)
_SAID_YES_RE = re.compile(r"\b(?:yes|ok|okay|fine|good)$")
_NOT_BEFORE_RE = re.compile(r"\b(?:not|don'?t)\s+$")
_EXCEPT_CUE_RE = re.compile(r"\b(?:except|but|apart\s+from|other\s+than)\b")
_CONDITION_SUFFIX_RE = re.compile(r"\s+(?:allerg\w*|intoleran\w*)$")
_CELIAC_RE = re.compile(r"\b(?:celiac|coeliac)\b")
_DISLIKE_RE = re.compile(
    r"\b(?:hate|hates|dislike|dislikes|detest|loathe|can'?t\s+stand|cannot\s+stand|(?:don'?t|do\s+not)\s+"
    r"(?:really\s+|much\s+)?(?:like|enjoy|eat|care\s+for)|won'?t\s+eat|will\s+not\s+eat|not\s+(?:a\s+)?"
    r"(?:big\s+|huge\s+)?fan\s+of|rather\s+not\s+eat|not\s+into|(?:(?:eat|like)\s+|^|(?<=[,;.]\s))(?:everything|anything)\s+"
    r"(?:except|but|apart\s+from|other\s+than))\b\s*:?\s*"
)
# fmt: off
_FOOD_STOP_WORDS = {
    "a", "an", "i", "i'm", "im", "am", "my", "have", "has", "severe", "severely", "mild", "mildly", "slight",
    "slightly", "bad", "serious", "minor", "food", "some", "no", "any", "known", "little", "small", "big", "very",
    "quite", "really", "also", "and", "but", "so", "bit", "kind", "of", "the", "m", "s", "got", "with", "to",
    "life", "threatening", "true", "real", "dietary", "or", "nor", "other", "allergy", "allergies", "intolerance",
    "intolerances", "not", "yes", "yeah", "be", "might", "maybe", "probably", "think", "guess",
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
_NO_INTOLERANCES_RE = re.compile(
    r"\b(?:nothing|no\s+food|no\s+foods)\s+(?:that\s+)?(?:i\s+(?:can'?t|cannot)\s+(?:digest|tolerate|handle|stomach)|"
    r"(?:upsets?|bothers?)\s+my\s+(?:stomach|gut|tummy))\b|\bi\s+(?:can\s+)?digest\s+everything\b"
)
_NO_DISLIKES_RE = re.compile(
    r"\b(?:i\s+like\s+(?:everything|all\s+food|all\s+foods|it\s+all)|not\s+(?:a\s+)?picky(?:\s+eater)?|"
    r"nothing\s+(?:that\s+)?i\s+(?:don'?t\s+like|dislike|hate|won'?t\s+eat)|no\s+foods?\s+i\s+(?:dislike|hate|don'?t\s+like)|"
    r"(?:don'?t|do\s+not)\s+(?:really\s+)?dislike\s+anything)\b"
)


# "Everything. None. None." answering "how do you eat, any allergies, ...": the first clause is the diet.
_EVERYTHING_BUT_RE = re.compile(r"^\W*(?:everything|anything)\s+(?:but|except|apart\s+from|other\s+than)\s+(.+)$")
_EATS_EVERYTHING_RE = re.compile(r"^\W*(?:everything|anything|all|whatever|all\s+of\s+it)\W*$")


def _diet_type(norm: str) -> str | None:
    labels = {hit.label for hit in _hits(norm, _DIETS)}
    first = re.split(r"[,;.\n]", norm, maxsplit=1)[0]
    but = _EVERYTHING_BUT_RE.match(first)
    if _EATS_EVERYTHING_RE.match(first) or (but and but.group(1).strip() not in _DIET_WORDS):
        labels.add("omnivore")  # "everything but pork" (but "everything but meat" says nothing of the kind)
    eats_fish = _EATS_FISH_RE.search(norm) and not _NO_FISH_RE.search(norm)
    if labels & {"vegetarian"} and not labels & {"vegan"} and eats_fish:
        labels.add("pescatarian")
    return next((diet for diet in _DIET_PRIORITY if diet in labels), None)


def _food_words(phrase: str) -> str:
    phrase = _EXCEPTION_LEAD_RE.sub("", phrase)  # "dislikes apart from olives"
    words = [word for word in phrase.split() if word not in _FOOD_STOP_WORDS]
    return clean_item(" ".join(words))


_EXCEPTION_LEAD_RE = re.compile(r"^\s*(?:apart\s+from|except(?:\s+for)?|other\s+than|besides|aside\s+from|but)\s+")
_NONE_EXCEPT_RE = re.compile(
    r"\b(?:no|zero|without|not\s+(?:really\s+)?any|(?:don'?t|do\s+not)\s+have\s+any)\s+(?:other\s+|known\s+|food\s+)?"
    r"(?P<kw>allerg\w*|intoleran\w*|sensitivit\w*|injur\w*|limitations?|equipment|dislikes?)\s*,?\s*"
    r"(?:(?:well|oh|actually|um+|uh+|hmm+|ok|okay|i\s+mean|i\s+guess|really)\s*,?\s*)*"
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
        if name == "dislikes":
            items = [item for item in items if not _SAID_YES_RE.search(item)]  # "meat i don't eat, fish yes"
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
        _merge_items(values, "intolerances", [_food_words(match.group(1) or match.group(2) or match.group(3))])
    for sentence in re.split(r"[.;!?\n]+", norm):
        if _REACTION_RE.search(sentence):
            for cue in _AVOID_CUE_RE.finditer(sentence):
                found = [_food_words(item) for item in _object_items(sentence, cue.end(), [])]
                foods = [
                    item
                    for item in found
                    if item and not _REACTION_RE.search(item) and not _CLAUSE_VERB_RE.search(item)
                ]
                _merge_items(values, "allergies", foods)
    if _CELIAC_RE.search(norm):
        _merge_items(values, "intolerances", ["gluten"])
    if values.get("allergies"):
        food = [item for item in values["allergies"] if not _NOT_FOOD_RE.match(item)]
        if len(food) < len(values["allergies"]):
            # "allergic to penicillin": told, but not a food; the meal plan's allergies are the food ones.
            values["allergies"] = food
            return _finish_step6(norm, values, keep_empty=("allergies",))
    return _finish_step6(norm, values)


def _finish_step6(norm: str, values: Values, keep_empty: tuple[str, ...] = ()) -> Values:
    for name in ("allergies", "intolerances", "dislikes"):
        if name in values and not values[name] and name not in keep_empty:
            del values[name]  # a cue with nothing after it ("my allergies are...") says nothing yet
    also = ["dislikes"] if _NO_DISLIKES_RE.search(norm) else []
    if _NO_INTOLERANCES_RE.search(norm):
        also.append("intolerances")
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
