"""Times every garbage collection of a server process, for ``bench/run.py --gc``.

``bench/run.py --gc`` puts this folder on the server's ``PYTHONPATH``, so Python imports this module
when gunicorn's master starts; the workers it forks inherit it, with its records emptied at the fork.
Each collection is kept as its end on the monotonic clock (one clock for every process of the
machine, the harness's own), its generation, and the CPU time of the thread that ran it; at exit a
process writes them to ``$BENCH_GC_DIR/<pid>.tsv``, and the harness sums those that ended inside its
measured window. Without ``BENCH_GC_DIR`` it does nothing.

Being the ``sitecustomize`` Python finds first, it hides any other one (Debian's system Python has
one in /etc/python3.X); the virtual environment's Python the benchmarks run has none.
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
# Imported before gevent's patch: a real thread's local, which a collection never leaves. Under gevent, a
# finalizer that switched greenlets in the middle of a collection would add their CPU to it (rare).
_started = threading.local()


def _collection_record(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started.cpu = time.thread_time()
        return
    cpu = time.thread_time() - getattr(_started, "cpu", time.thread_time())
    _collections.append((time.monotonic(), int(info["generation"]), cpu))


def _collections_write() -> None:
    path = os.path.join(_DIRECTORY, f"{os.getpid()}.tsv")
    with open(path, "w", encoding="utf-8") as out:
        out.writelines(f"{ended:.6f}\t{generation}\t{cpu:.9f}\n" for ended, generation, cpu in _collections)


if _DIRECTORY:
    gc.callbacks.append(_collection_record)
    os.register_at_fork(after_in_child=_collections.clear)  # a worker's file holds its own collections only
    atexit.register(_collections_write)
