"""Guards between what an engine extracted and what a turn may change: never lose what the user said.

Whatever the engine (Claude or the offline one), the values it sends for a turn pass
through ``values_guard`` before the step applies them:

* A message that only asks questions saves nothing: a question is answered, never stored.
* An item already saved or collected in a list field (an injury, an allergy) stays unless
  the message removes it explicitly: it names the item with a removal word ("remove the
  knee", "my back has healed", "I don't have dumbbells any more"), or names the field
  with a "no" ("actually no injuries"). An empty list sent because the user said "none"
  to a question about another field removes nothing. New items are added to the kept ones,
  so an engine may send the whole list or only what is new. An entry that only says "no"
  or "not sure" ("actually no injuries") is not an item and is never stored.

The checks read the message itself, so they hold for every engine; ``rapidfuzz`` lets an
item's mention carry a typo ("knea").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from onboarding.steps import StepData, TextList, step_get

# How close a word of the message must be to a word of an item to mention it (0-100): one
# wrong letter in a four-letter word ("knea") still names it; a removal word must stand beside it.
_MENTION_SCORE = 75
# Words that say an item goes away, in English and Spanish (accents stripped).
_REMOVAL = re.compile(
    r"\b(remove|removed|delete|deleted|drop|forget|scratch|cancel|take (it )?(off|out)|no longer|not any ?more|"
    r"any ?more|healed|recovered|gone|fixed|better now|wrong|mistake|quita|quitar|elimina|eliminar|borra|borrar|"
    r"ya no|ya esta bien|curad[oa])\b"
)
# "no X", "not X", "without X", "don't have X": a negation just before an item or a field's name.
_NEGATION_BEFORE = (
    r"(?:\b(?:no|not|without|sin|nor|never|dont have|do not have|don t have|no tengo)\b\W+(?:\w+\W+){0,3})"
)
_NEGATIONS = re.compile(r"\b(no|none|not|nothing|without|zero|never|ningun|ninguna|ninguno|nada|sin)\b")
# A field's name as people say it: what "actually no injuries" has to name to clear the list.
FIELD_WORDS: Mapping[str, tuple[str, ...]] = {
    "equipment": ("equipment", "gear", "equipo", "weights"),
    "injuries": ("injury", "injuries", "injured", "hurt", "pain", "lesion", "lesiones"),
    "limitations": ("limitation", "limitations", "condition", "conditions", "limitacion", "limitaciones"),
    "allergies": ("allergy", "allergies", "allergic", "alergia", "alergias", "alergico", "alergica"),
    "intolerances": ("intolerance", "intolerances", "intolerant", "intolerancia", "intolerancias"),
    "dislikes": ("dislike", "dislikes", "like", "hate", "gusta"),
    "current_supplements": ("supplement", "supplements", "suplemento", "suplementos"),
}
_CLAUSE_BREAK = re.compile(r"[.,!?;\n]+|\bbut\b|\bpero\b|\bhowever\b")
# A "list item" that is really an answer of no: not something to store.
_NOT_AN_ITEM = re.compile(
    r"^(actually |really |honestly )?(no|none|nothing|nope|not sure|not really|dont know|n a|na|nada|ningun[ao]?)\b"
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
# Without a question mark only the English words ask: Spanish "como" is also "I eat", "que" also "that".
_WH_START = re.compile(r"^(what|whats|how|why|which|who|where|when)\b")
# With a question mark, a sentence asks when it is built as a question: "I think intermediate?" is a
# hesitant answer, "does an old injury count?" and "que significa?" ask.
_ASKING_START = re.compile(
    r"^(?:what|whats|how|why|which|who|where|when|is|are|am|do|does|did|can|could|should|would|will|may|shall|"
    r"have|has|isnt|arent|dont|doesnt|que|como|cual|cuanto|cuantos|cuantas|por que|donde|cuando|puedo|es|son|hay)\b"
)
# A change asked for as a question ("can we do 2800 calories instead?") is a request, not a question.
_REQUEST = re.compile(
    r"\b(can|could|would|will) (you|we)\b|\b(please|instead|how about|what about|lets|make it)\b|"
    r"\b(puedes|podrias|podemos|por favor|en vez|en lugar)\b"
)
_STOPWORDS = frozenset({"the", "and", "with", "from", "some", "have", "left", "right", "mild", "slight", "very"})


@dataclass(frozen=True)
class GuardedValues:
    """The values a turn may apply, and what the guards changed about what was sent."""

    values: dict[str, Any]
    removed: dict[str, list[str]] = field(default_factory=dict)  # field -> items the user removed
    kept: dict[str, list[str]] = field(default_factory=dict)  # field -> items kept though the values left them out
    question_only: bool = False  # the message only asked: nothing is applied


def normalized(text: str) -> str:
    """Lower case, accents and apostrophes gone, words separated by single spaces."""
    text = unicodedata.normalize("NFKD", text.lower())
    if not text.isascii():  # combining marks (the accents NFKD split off) are all beyond ASCII
        text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.replace("'", "").replace("\u2019", "")
    return re.sub(r"[^\w.,;!?\n%/+-]+", " ", text).strip()


def message_is_question(message: str) -> bool:
    """Every sentence of the message asks something (a request such as "can you set ..." is not a question)."""
    sentences = [part.strip() for part in _SENTENCE.findall(normalized(message)) if part.strip(" .!?")]
    if not sentences:
        return False
    return all(
        (
            _WH_START.match(sentence) is not None
            or (sentence.endswith("?") and _ASKING_START.match(sentence) is not None)
        )
        and _REQUEST.search(sentence) is None
        for sentence in sentences
    )


def _item_words(item: str) -> list[str]:
    return [word for word in normalized(item).split() if len(word) >= 3 and word not in _STOPWORDS]


def _mention_spans(item: str, text: str) -> list[int]:
    """Where the message mentions ``item``: the start of each of its words that matches a word of the item."""
    words = _item_words(item)
    spans = []
    for match in re.finditer(r"\w+", text):
        if any(fuzz.ratio(match.group(), word) >= _MENTION_SCORE for word in words):
            spans.append(match.start())
    return spans


def _negated_at(text: str, start: int) -> bool:
    return re.search(_NEGATION_BEFORE + r"$", text[:start]) is not None


def _clauses(message: str) -> list[str]:
    """The message cut where one statement ends and another begins, so a removal word stays with its item."""
    return [part for part in _CLAUSE_BREAK.split(normalized(message)) if part.strip()]


def item_removed(item: str, message: str) -> bool:
    """The message explicitly removes ``item``: names it with a removal word, or right after a negation."""
    for clause in _clauses(message):
        spans = _mention_spans(item, clause)
        if spans and (_REMOVAL.search(clause) is not None or any(_negated_at(clause, start) for start in spans)):
            return True
    return False


def field_cleared(name: str, message: str) -> bool:
    """The message explicitly empties field ``name``: it names the field with a "no" ("actually no injuries")."""
    words = FIELD_WORDS.get(name, (name.replace("_", " "),))
    for clause in _clauses(message):
        named = any(fuzz.ratio(m.group(), w) >= _MENTION_SCORE for m in re.finditer(r"\w+", clause) for w in words)
        if named and (_NEGATIONS.search(clause) is not None or _REMOVAL.search(clause) is not None):
            return True
    return False


def _same_item(first: str, second: str) -> bool:
    return fuzz.token_set_ratio(normalized(first), normalized(second)) >= 90


def not_an_item(item: str) -> bool:
    """A list entry that says "no" or "not sure" rather than naming something ("actually no injuries")."""
    return _NOT_AN_ITEM.match(normalized(item)) is not None


def _list_guarded(name: str, old: list[str], sent: list[str], message: str) -> tuple[list[str], list[str], list[str]]:
    """The list to apply, the items removed and the items kept though ``sent`` left them out."""
    missing = [item for item in old if not any(_same_item(item, new) for new in sent)]
    cleared = not sent and field_cleared(name, message)
    removed = [item for item in missing if cleared or item_removed(item, message)]
    kept = [item for item in missing if item not in removed]
    added = [item for item in sent if not any(_same_item(item, known) for known in old)]
    result = [item for item in old if item not in removed] + added
    return result, removed, kept


def values_guard(*, step: int, message: str, values: Mapping[str, Any], known: StepData) -> GuardedValues:
    """What of ``values`` (sent by the engine for ``step``) the turn may apply, given what the step ``known``s."""
    if values and message_is_question(message):
        return GuardedValues(values={}, question_only=True)
    definition = step_get(step)
    names = set(definition.field_names())
    guarded: dict[str, Any] = {}
    removed: dict[str, list[str]] = {}
    kept: dict[str, list[str]] = {}
    for name, value in values.items():
        if name not in names:
            guarded[name] = value  # not a field of this step: validation refuses it and says so
            continue
        spec = definition.spec(name)
        old = known.get(name)
        if not isinstance(spec, TextList) or not isinstance(value, list) or not all(isinstance(i, str) for i in value):
            guarded[name] = value  # validation has the last word on its type
            continue
        items = [item for item in value if not not_an_item(item)]
        if isinstance(old, list) and old:
            merged, gone, stayed = _list_guarded(name, old, items, message)
            if gone:
                removed[name] = gone
            if stayed:
                kept[name] = stayed
            guarded[name] = merged
            continue
        guarded[name] = items
    return GuardedValues(values=guarded, removed=removed, kept=kept)
