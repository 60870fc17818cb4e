"""Whole-answer parsers: approvals ("looks good", "ok but make it 3 days"), a bare "none", and the
items of a spoken list.
"""

from __future__ import annotations

import re

from offline_engine.parsing.text import normalize

MAX_LIST_ITEMS = 20
MAX_ITEM_LENGTH = 100


# --- approvals -----------------------------------------------------------------------------

# Negations that approve: "no changes", "nothing to change", "not bad".
_APPROVING_NEGATION_RE = re.compile(
    r"\b(?:no|without)\s+(?:changes?|complaints?|problems?|worries|objections?|issues?|notes)\b"
    r"|\bnothing\s+(?:to\s+change|wrong|else)\b|\bnot\s+bad\b|\bdon'?t\s+change\s+(?:a\s+thing|anything)\b"
    r"|\bno\s+need\s+to\s+change(?:\s+anything)?\b|\bcan'?t\s+complain\b|\bcouldn'?t\s+be\s+better\b"
    r"|\bwhy\s+not\b|\bno\s+doubt\b"
)
_DECLINE_RE = re.compile(
    r"^\W*(?:no|nope|nah|nay)\b|\bno\s+(?:thanks|thank\s+you|way)\b"
    r"|\bnot\s+(?:really|quite|yet|happy|ok|okay|good|great|convinced|for\s+me|what\s+i|a\s+fan|keen|"
    r"approve|agree|right|ready)\b"
    r"|\b(?:don'?t|do\s+not|doesn'?t|does\s+not|didn'?t)\s+(?:really\s+)?(?:like|love|want|approve|agree|think\s+so|"
    r"work|suit|fit)\b"
    r"|\bdislike\b|\bhate\s+(?:it|this|that)\b|\bchange\b|\bdisapprove|\breject|\bdecline|\bwrong\b"
    r"|\bwon'?t\s+work\b|\brather\s+not\b|\bredo\b|\u274c|\U0001f44e|\U0001f645"
)
_ADJUSTMENT_RE = re.compile(
    r"\b(?:swap|replace|instead|switch|move|make\s+(?:it|the|my|them|sessions?|workouts?|[a-z]*day)"
    r"|can\s+(?:you|we|i)|could\s+(?:you|we|i)|would\s+you|add|remove|drop|shorter|longer|lower"
    r"|(?:fewer|more|less)\s+(?!about\b|info|details|information)[a-z0-9]+"
    r"|higher|increase|decrease|reduce|prefer|rather|except|only\s+[0-9]|how\s+about|what\s+about|adjust|tweak"
    r"|modify|edit|update)\b"
)
_HESITATION_RE = re.compile(
    r"\b(?:not\s+sure|unsure|(?:don'?t|do\s+not)\s+know|maybe|perhaps|hmm+|let\s+me\s+think|not\s+yet\s+sure)\b|\?\s*$"
)
_ACCEPT_RE = re.compile(
    r"\b(?:yes|yeah|yea|yep|yup|ya|yah|yas|sure|ok|okay|okey|okie|k|kk|fine|good|great|perfect|awesome|excellent|"
    r"vale|dale|listo|genial|perfecto|claro|bueno|si|"
    r"amazing|wonderful|fantastic|brilliant|lovely|nice|cool|sweet|love\s+it|like\s+it|approved?|agreed?|"
    r"accept(?:ed)?|deal|happy|works\s+for\s+me|that\s+works|correct|exactly|absolutely|definitely|of\s+course|"
    r"lgtm|confirm(?:ed)?|do\s+it|go\s+ahead|go\s+for\s+it|let'?s\s+(?:do\s+(?:it|this|that)|go|start)|alright|"
    r"reasonable|sensible|fair\s+enough|works|"
    r"all\s+right|ready|i'?m\s+in|count\s+me\s+in|makes\s+sense|sounds\s+(?:good|great|fine|right|perfect)|"
    r"looks\s+(?:good|great|fine|right|perfect)|y)\b"
    r"|\U0001f44d|\u2705|\U0001f44c|\U0001f4aa|\U0001f64c|\U0001f525|\U0001f600|\U0001f642|\U0001f60a"
)


def parse_approval(text: str) -> bool | None:
    """True for a plain approval ("looks good", "yes", "👍"); False for a refusal or a change request
    ("no", "not really", "swap Monday's legs for upper body", "ok but make it 3 days"); None otherwise.
    """
    norm = normalize(text)
    approving_negation = bool(_APPROVING_NEGATION_RE.search(norm))
    rest = _APPROVING_NEGATION_RE.sub(" ", norm)
    if _DECLINE_RE.search(rest) or _ADJUSTMENT_RE.search(rest):
        return False
    if _HESITATION_RE.search(rest) and not approving_negation:
        return None  # "not sure", "maybe?": no answer yet
    if approving_negation or _ACCEPT_RE.search(rest):
        return True
    return None


def accepts_with_change(text: str) -> bool:
    """ "Yes, but make it 4 meals": an acceptance that also asks for a change (no refusal in it)."""
    norm = normalize(text)
    rest = _APPROVING_NEGATION_RE.sub(" ", norm)
    return bool(_ACCEPT_RE.search(rest)) and not _DECLINE_RE.search(rest) and not _HESITATION_RE.search(rest)


_BARE_ANSWER_MAX_LENGTH = 200
_BARE_NONE_RE = re.compile(
    r"^\W*(?:(?:no|none|nope|nah|nothing|nil|zero|neither|n/?a|not\s+really|not\s+at\s+all|"
    r"no\s+thanks|none\s+at\s+all|nothing\s+at\s+all|none\s+of\s+(?:them|those|that|these)|no\s+to\s+all|"
    r"nothing\s+(?:else\s+)?to\s+(?:report|mention|add|say)|i\s+(?:don'?t|do\s+not)\s+have\s+any(?:\s+of\s+(?:them|those|that))?|"
    r"i\s+have\s+none|i'?ve\s+got\s+none|not\s+that\s+i\s+know\s+of|all\s+good|i'?m\s+good|nothing\s+else|"
    r"none\s+else|that'?s\s+(?:it|all))\W*)+$"
)


def is_bare_none(text: str) -> bool:
    """True when the whole answer is a plain "none" ("none", "no", "nothing", "I don't have any")."""
    # Such answers are short; skipping long texts spares normalizing a whole message again.
    return len(text) <= _BARE_ANSWER_MAX_LENGTH and bool(_BARE_NONE_RE.match(normalize(text)))


# --- lists ---------------------------------------------------------------------------------

_LIST_SPLIT_RE = re.compile(
    r"\s*(?:[,;\n]|\s/\s|/|&|\+|\band/or\b|\band\b|\bor\b|\bnor\b|\bplus\b|\bas\s+well\s+as\b|\balong\s+with\b"
    r"|(?<!\w)[-*\u2022](?=\s))\s*"
)
_LEADING_FILLER_RE = re.compile(
    r"^(?:(?:actually|well|ok|okay|so|um|uh|hmm|nah|nope|a\s+lot\s+of|a\s+few|a\s+bit\s+of|a\s+little|an|a|the|some|my|our|his|her|their|any|also|just|"
    r"only|maybe|probably|both|either|neither|i'm|im|i've|ive|i'd|i|have|has|had|got|get|own|use|using|with|then|"
    r"so|too|like|e\.?g\.?|pairs?\s+of|sets?\s+of|few|several|lots\s+of|bunch\s+of|little|bit\s+of|"
    r"really|very|am|is|are|there'?s|there\s+is|there\s+are|access\s+to|include|including|which\s+is)\b\s*)+"
)
_TRAILING_FILLER_RE = re.compile(
    r"(?:\s+(?:too|also|as\s+well|at\s+home|at\s+my\s+place|etc\.?|and\s+so\s+on|i\s+think|i\s+guess|please|"
    r"thanks|thank\s+you|though|lol|really))+$"
)
_LEADING_COUNT_RE = re.compile(r"^[0-9]{1,3}\s+(?=[a-z])")
# The user's own framing, not part of the item: "said: full gym", "my answer: none".
_SPEECH_PREFIX_RE = re.compile(r"^(?:i\s+)?(?:said|say|says|wrote|answer|my\s+answer|reply|response|me)\s*:\s*")
_ITEM_EDGE_CHARS = " \t.,;:!?\"'()[]{}*-_~"
# fmt: off
_JUNK_ITEMS = {
    "", "none", "nothing", "no", "that's it", "thats it", "that's all", "thats all", "all", "everything",
    "anything", "stuff", "things", "etc", "that", "it", "this", "them", "those", "other", "others", "else",
    "nothing else", "sure", "not sure", "unsure", "no idea", "idk", "dunno", "don't know", "i don't know",
    "not that i know", "not that i know of", "maybe", "i think so", "not really", "more", "no more",
    "nothing more", "nothing in particular", "nothing really", "nothing limits me", "nothing special",
}
# fmt: on


def clean_item(item: str) -> str:
    """One list item, short and lower case, without articles or fillers ("a yoga mat too" -> "yoga mat")."""
    item = " ".join(item.lower().split()).strip(_ITEM_EDGE_CHARS)
    if item in _JUNK_ITEMS:
        return ""  # "not sure" says nothing, even once "not" would be stripped
    item = _SPEECH_PREFIX_RE.sub("", item)
    item = _LEADING_FILLER_RE.sub("", item).strip(_ITEM_EDGE_CHARS)
    item = _TRAILING_FILLER_RE.sub("", item).strip(_ITEM_EDGE_CHARS)
    item = _LEADING_COUNT_RE.sub("", item)  # "2 dumbbells" -> "dumbbells"; "5kg dumbbells" stays
    if len(item) > MAX_ITEM_LENGTH:
        item = item[:MAX_ITEM_LENGTH].rsplit(" ", 1)[0].strip(_ITEM_EDGE_CHARS)
    return "" if item in _JUNK_ITEMS else item


def parse_list_items(text: str) -> list[str]:
    """The items of a spoken list, lower case and distinct ("a barbell, a bench, and resistance bands" ->
    ["barbell", "bench", "resistance bands"]); at most 20, each at most 100 characters.
    """
    items: list[str] = []
    for part in _LIST_SPLIT_RE.split(normalize(text)):
        item = clean_item(part)
        if item and item not in items:
            items.append(item)
        if len(items) == MAX_LIST_ITEMS:
            break
    return items
