"""Times every garbage collection of a server process, for ``bench/run.py --gc``.

``bench/run.py --gc`` puts this folder on the server's ``PYTHONPATH``, so Python imports this module
at the start of gunicorn's master and of every worker it forks. Each collection is kept as its end
on the monotonic clock (one clock for every process of the machine, the harness's own), its
generation, and the CPU time of the thread that ran it; at exit a process writes them to
``$BENCH_GC_DIR/<pid>.tsv``, and the harness sums those that ended inside its measured window.
Without ``BENCH_GC_DIR`` it does nothing.
"""

from __future__ import annotations

import atexit
import gc
import os
import threading
import time
from typing import Any

_DIRECTORY = os.environ.get("BENCH_GC_DIR", "")
_collections: list[tuple[float, int, float]] = []
_started = threading.local()  # imported before gevent's patch: a real thread's, which a collection never leaves


def _timed(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started.cpu = time.thread_time()
        return
    cpu = time.thread_time() - getattr(_started, "cpu", time.thread_time())
    _collections.append((time.monotonic(), int(info["generation"]), cpu))


def _written() -> None:
    path = os.path.join(_DIRECTORY, f"{os.getpid()}.tsv")
    with open(path, "w", encoding="utf-8") as out:
        out.writelines(f"{ended:.6f}\t{generation}\t{cpu:.9f}\n" for ended, generation, cpu in _collections)


if _DIRECTORY:
    gc.callbacks.append(_timed)
    atexit.register(_written)
