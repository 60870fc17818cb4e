"""The service's WSGI application wrapped in a per-thread CPU profiler (``bench/run.py --profile``).

Each request thread gets one ``cProfile.Profile`` timed with ``time.thread_time``, so only CPU time counts
and the seconds a thread sleeps on the LLM's socket do not. Every thread writes its profile to
``$BENCH_PROFILE_DIR/<pid>-<thread>.pstats`` at most every few seconds; ``python bench/profile_wsgi.py DIR``
merges them and prints the top functions. Profiling slows the server down severalfold: use it to see
where the CPU goes, never for the benchmark's figures.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

_DUMP_EVERY_SECONDS = 5.0
_local = threading.local()


def _profile_for_thread() -> cProfile.Profile:
    profile: cProfile.Profile | None = getattr(_local, "profile", None)
    if profile is None:
        profile = cProfile.Profile(time.thread_time)
        _local.profile = profile
        _local.dumped_at = time.monotonic()
    return profile


def _dump_if_due(profile: cProfile.Profile) -> None:
    if time.monotonic() - _local.dumped_at < _DUMP_EVERY_SECONDS:
        return
    _local.dumped_at = time.monotonic()
    directory = Path(os.environ.get("BENCH_PROFILE_DIR", "bench/out/profile"))
    directory.mkdir(parents=True, exist_ok=True)
    profile.dump_stats(directory / f"{os.getpid()}-{threading.get_ident()}.pstats")


if __name__ != "__main__":
    # Django starts here, when gunicorn's worker imports this module (but not for the merge command).
    from shuren.wsgi import application as _application


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The service's application, with this thread's profiler on while it runs."""
    profile = _profile_for_thread()
    profile.enable()
    try:
        return _application(environ, start_response)
    finally:
        profile.disable()
        _dump_if_due(profile)


def main() -> None:
    """Merge the profiles in the given directory and print the functions with the most CPU time."""
    directory = Path(sys.argv[1])
    sort = sys.argv[2] if len(sys.argv) > 2 else "tottime"
    files = sorted(str(path) for path in directory.glob("*.pstats"))
    if not files:
        print(f"no profiles in {directory}")
        return
    stats = pstats.Stats(*files)
    print(f"{len(files)} thread profiles from {directory}")
    stats.files = []  # type: ignore[attr-defined]  # pstats would list every file before the table
    stats.strip_dirs().sort_stats(sort).print_stats(45)


if __name__ == "__main__":
    main()
