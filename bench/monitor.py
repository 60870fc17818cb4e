"""Background samplers for a run: CPU and memory of process groups from ``/proc``, PostgreSQL connections.

Both run in daemon threads, sample on a fixed period and keep timestamped samples (``time.monotonic()``),
so the report can cut them to the measured window afterwards. psutil is not a dependency: ``/proc/<pid>/stat``
gives CPU ticks and the parent pid, ``/proc/<pid>/status`` the resident set size.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


@dataclass(frozen=True)
class ProcInfo:
    """What one ``/proc/<pid>/stat`` line says about a process."""

    pid: int
    ppid: int
    comm: str
    ticks: int  # user + system CPU time, in clock ticks
    children_ticks: int = 0  # the same of its children that have exited and been waited for


def proc_read(pid: int) -> ProcInfo | None:
    """The process's parent, name and CPU ticks; None if it has gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # comm is in parentheses and may itself hold spaces or parentheses: split at the last ')'.
    left, _, right = raw.rpartition(")")
    comm = left.partition("(")[2]
    fields = right.split()
    # fields[0] is field 3 (state); ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
    return ProcInfo(
        pid=pid,
        ppid=int(fields[1]),
        comm=comm,
        ticks=int(fields[11]) + int(fields[12]),
        children_ticks=int(fields[13]) + int(fields[14]),
    )


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (0 if it has gone)."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_snapshot() -> dict[int, ProcInfo]:
    """Every process currently visible in ``/proc``."""
    snapshot: dict[int, ProcInfo] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            info = proc_read(int(entry.name))
            if info is not None:
                snapshot[info.pid] = info
    return snapshot


def tree_pids(snapshot: Mapping[int, ProcInfo], roots: Iterable[int]) -> set[int]:
    """``roots`` (those still alive) and all their descendants."""
    children: dict[int, list[int]] = {}
    for info in snapshot.values():
        children.setdefault(info.ppid, []).append(info.pid)
    found: set[int] = set()
    pending = [pid for pid in roots if pid in snapshot]
    while pending:
        pid = pending.pop()
        if pid not in found:
            found.add(pid)
            pending.extend(children.get(pid, []))
    return found


def postmaster_pids(snapshot: Mapping[int, ProcInfo]) -> list[int]:
    """PostgreSQL's postmaster(s): ``postgres`` processes whose parent is not a ``postgres`` process."""
    return [
        info.pid
        for info in snapshot.values()
        if info.comm == "postgres" and snapshot.get(info.ppid, ProcInfo(0, 0, "", 0)).comm != "postgres"
    ]


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot, from ``/proc/stat``."""
    values = [int(v) for v in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


@dataclass
class GroupSample:
    """One sampling instant: cumulative CPU ticks per group and the RSS of the server group."""

    at: float
    ticks: dict[str, int]
    server_rss_kib: int
    server_processes: int


@dataclass
class ProcessSampler:
    """Samples CPU ticks of process groups (server tree, postgres, fake LLM, this process) and server RSS.

    ``groups`` maps a group name to a function returning that group's pids from a ``/proc`` snapshot
    (called every sample, so gunicorn workers that restart are picked up; ``tree_pids`` gives a process and
    its descendants). ``rss_group`` is the group whose RSS is summed.
    """

    groups: Mapping[str, Callable[[Mapping[int, ProcInfo]], Iterable[int]]]
    rss_group: str = "server"
    interval: float = 0.5
    samples: list[GroupSample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    # Ticks of processes that exited, so a group's cumulative count never goes backwards.
    _last_seen: dict[str, dict[int, int]] = field(default_factory=dict)
    _departed: dict[str, int] = field(default_factory=dict)

    def sample(self) -> GroupSample:
        """Take one sample now (also called by the thread)."""
        # Under CPU saturation this thread waits to run: stamp the middle of the reads, not their start.
        before = time.monotonic()
        snapshot = proc_snapshot()
        ticks: dict[str, int] = {}
        rss = processes = 0
        for name, members in self.groups.items():
            pids = {pid for pid in members(snapshot) if pid in snapshot}
            current = {pid: snapshot[pid].ticks for pid in pids}
            previous = self._last_seen.get(name, {})
            self._departed[name] = self._departed.get(name, 0) + sum(
                count for pid, count in previous.items() if pid not in current
            )
            self._last_seen[name] = current
            ticks[name] = self._departed[name] + sum(current.values())
            if name == self.rss_group:
                rss = sum(rss_kib(pid) for pid in pids)
                processes = len(pids)
        busy, total = machine_busy_ticks()
        ticks["_machine_busy"], ticks["_machine_total"] = busy, total
        at = (before + time.monotonic()) / 2
        taken = GroupSample(at=at, ticks=ticks, server_rss_kib=rss, server_processes=processes)
        self.samples.append(taken)
        return taken

    def start(self) -> None:
        """Sample every ``interval`` seconds in a daemon thread until ``stop()``."""
        self._thread = threading.Thread(target=self._loop, name="process-sampler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def summary(self, start: float, end: float, cpus: int, peak_span: float = 5.0) -> dict[str, Any]:
        """CPU % per group over [start, end]: the mean, and for the server group the busiest ``peak_span`` s.

        CPU % is of one core, as ``top`` shows it: 200 % is both cores of a 2-core machine. Elapsed time is
        taken from the machine's own tick counter read in the same sample, not from the clock, so a sampler
        thread delayed by a saturated CPU does not skew the ratio.
        """
        inside = [s for s in self.samples if start <= s.at <= end]
        result: dict[str, Any] = {}
        if len(inside) < 2:
            return result

        def pct(name: str, first: GroupSample, last: GroupSample) -> float | None:
            elapsed = (last.ticks["_machine_total"] - first.ticks["_machine_total"]) / cpus
            return 100 * (last.ticks[name] - first.ticks[name]) / elapsed if elapsed > 0 else None

        first, last = inside[0], inside[-1]
        for name in self.groups:
            result[f"{name}_mean"] = pct(name, first, last)
        machine = pct("_machine_busy", first, last)
        result["machine_mean"] = machine
        if machine is not None:
            # Whatever else ran on the machine meanwhile (other people's jobs on a shared box).
            ours = sum(result[f"{name}_mean"] or 0.0 for name in self.groups)
            result["others_mean"] = max(0.0, machine - ours)
        # Peak: the busiest span of at least peak_span seconds (the shortest such span ending at each sample).
        peak = 0.0
        anchor = 0
        for index in range(1, len(inside)):
            while anchor + 1 < index and inside[index].at - inside[anchor + 1].at >= peak_span:
                anchor += 1
            if inside[index].at - inside[anchor].at >= peak_span:
                peak = max(peak, pct(self.rss_group, inside[anchor], inside[index]) or 0.0)
        result[f"{self.rss_group}_peak"] = peak
        return result

    def rss_peak_kib(self) -> int:
        """The largest summed RSS of the server group seen in any sample."""
        return max((s.server_rss_kib for s in self.samples), default=0)


@dataclass
class PgConnectionPoller:
    """Counts the connections to one database in ``pg_stat_activity`` every ``interval`` seconds.

    It connects to the ``postgres`` maintenance database, so its own connection is not counted.
    """

    conninfo: str
    database: str
    interval: float = 0.25
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (at, total, active)
    errors: list[str] = field(default_factory=list)
    server_starts: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Poll in a daemon thread until ``stop()``."""
        self._thread = threading.Thread(target=self._loop, name="pg-poller", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        query = (
            "SELECT count(*), count(*) FILTER (WHERE state = 'active'), pg_postmaster_start_time()::text "
            "FROM pg_stat_activity WHERE datname = %s"
        )
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=2) as conn:
                    while not self._stop.is_set():
                        row = conn.execute(query, (self.database,)).fetchone()
                        if row is not None:
                            self.samples.append((time.monotonic(), int(row[0]), int(row[1])))
                            self.server_starts.add(str(row[2]))
                        self._stop.wait(self.interval)
            except psycopg.Error as exc:
                # PostgreSQL went away (restarted by someone else on a shared machine): note it, keep polling.
                self.errors.append(f"{time.monotonic():.1f} {type(exc).__name__}: {str(exc).strip()[:120]}")
                self._stop.wait(0.5)

    @property
    def restarts(self) -> int:
        """How many times PostgreSQL restarted while polling (its start time changed)."""
        return max(0, len(self.server_starts) - 1)

    def stop(self) -> None:
        """Stop polling and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def summary(self, start: float, end: float) -> dict[str, Any]:
        """Peak and mean connection counts (and peak active ones) over [start, end]."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if not inside:
            return {"peak": None, "mean": None, "peak_active": None, "samples": 0}
        return {
            "peak": max(total for _, total, _ in inside),
            "mean": sum(total for _, total, _ in inside) / len(inside),
            "peak_active": max(active for _, _, active in inside),
            "peak_whole_run": max(total for _, total, _ in self.samples),
            "samples": len(inside),
        }
