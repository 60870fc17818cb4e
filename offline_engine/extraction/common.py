"""Shared helpers of the per-step extractors: negation cues, vocabulary tables and their hits, explicit
"none" answers per list field, and the lists that follow a cue ("allergic to X and Y").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from offline_engine.parsing import (
    parse_list_items,
)
from onboarding.steps import Group, TextList, step_get

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
    r"really|at\s+all|issues\s+with|an?)\b|[,/&])\s*"
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


def _stated(**candidates: Any) -> Values:
    """The candidates the message stated: None means "not said" (an empty list is an explicit "none")."""
    return {name: value for name, value in candidates.items() if value is not None}
