"""What the engine works out from one turn's text, remembered for that turn only.

One turn reads its message, and that message's clauses and words, for several steps: ``normalize`` and the
typo correction would do the same work again each time. ``turn_memo()`` (the provider's ``complete``) opens a
memo that ``remembered`` fills; it is gone when the turn ends. Outside one nothing is kept, so no user's words
outlive the turn that read them in the process's memory (process-wide caches kept the last 512 messages and
4,096 words: health details and all, after their accounts were erased).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_memo: ContextVar[dict[tuple[str, str], str] | None] = ContextVar("offline_engine_turn_memo", default=None)


@contextmanager
def turn_memo() -> Iterator[None]:
    """Remember ``remembered``'s results until the block ends."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def remembered(kind: str, text: str, work_out: Callable[[str], str]) -> str:
    """``work_out(text)``, from the turn's memo when it was already worked out this turn (``kind`` names the work)."""
    memo = _memo.get()
    if memo is None:
        return work_out(text)
    result = memo.get((kind, text))
    if result is None:
        result = memo[(kind, text)] = work_out(text)
    return result
