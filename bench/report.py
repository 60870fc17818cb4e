"""The report maths and formatting: percentiles, Prometheus histogram quantiles, the summary tables.

Pure functions with no I/O, so ``tests/test_bench_math.py`` can check them without servers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# name{labels} value  (the text exposition format; timestamps are not used by prometheus_client)
_SAMPLE_LINE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) of ``values`` by linear interpolation between order statistics.

    The same definition as numpy's default ("linear"); None for no values.
    """
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def parse_labels(text: str | None) -> dict[str, str]:
    """The labels of one exposition line, ``a="1",b="2"`` -> ``{"a": "1", "b": "2"}``."""
    if not text:
        return {}
    return {match["key"]: match["value"] for match in _LABEL.finditer(text)}


def histogram_buckets(exposition: str, name: str, match: Mapping[str, str] | None = None) -> dict[float, float] | None:
    """Cumulative bucket counts ``{upper_bound: count}`` of histogram ``name``, summed over its label sets.

    Only series whose labels include every pair of ``match`` count. None when the metric is absent, so a
    caller can tell "not exported" from "no observations".
    """
    wanted = f"{name}_bucket"
    buckets: dict[float, float] = {}
    found = False
    for line in exposition.splitlines():
        if not line.startswith(wanted):
            continue
        parsed = _SAMPLE_LINE.match(line)
        if parsed is None or parsed["name"] != wanted:
            continue
        labels = parse_labels(parsed["labels"])
        if match and any(labels.get(key) != value for key, value in match.items()):
            continue
        found = True
        bound = float(labels["le"])  # "+Inf" parses as inf
        buckets[bound] = buckets.get(bound, 0.0) + float(parsed["value"])
    return buckets if found else None


def metric_total(exposition: str, name: str, match: Mapping[str, str] | None = None) -> float | None:
    """The sum of a counter (or gauge) ``name`` over its label sets; None when it is absent."""
    total = 0.0
    found = False
    for line in exposition.splitlines():
        if not line.startswith(name):
            continue
        parsed = _SAMPLE_LINE.match(line)
        if parsed is None or parsed["name"] != name:
            continue
        labels = parse_labels(parsed["labels"])
        if match and any(labels.get(key) != value for key, value in match.items()):
            continue
        found = True
        total += float(parsed["value"])
    return total if found else None


def buckets_delta(after: Mapping[float, float], before: Mapping[float, float] | None) -> dict[float, float]:
    """The observations made between two scrapes of the same cumulative histogram."""
    before = before or {}
    return {bound: count - before.get(bound, 0.0) for bound, count in after.items()}


def histogram_quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """The ``q`` quantile (0..1) of a cumulative histogram, interpolated like PromQL's ``histogram_quantile``.

    Linear within the bucket holding the rank, the first bucket starting at 0; a rank in the ``+Inf`` bucket
    answers the highest finite bound. None when there are no observations.
    """
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be within 0..1, got {q}")
    ordered = sorted(buckets.items())
    if not ordered or ordered[-1][1] <= 0:
        return None
    total = ordered[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def llm_tokens(before: str, after: str, name: str = "anthropic_api_tokens_total") -> dict[str, float | None]:
    """Tokens Anthropic reported between two scrapes, by kind, and the share of the prompt read from the cache.

    Prompt tokens are the uncached ``input`` plus ``cache_read`` plus ``cache_write`` (Anthropic reports the three
    apart); a kind never counted is None, and so is the share without any prompt tokens.
    """
    counts: dict[str, float | None] = {}
    for kind in ("input", "cache_read", "cache_write", "output"):
        end = metric_total(after, name, {"kind": kind})
        counts[kind] = None if end is None else end - (metric_total(before, name, {"kind": kind}) or 0.0)
    prompt = sum(counts[kind] or 0.0 for kind in ("input", "cache_read", "cache_write"))
    counts["cache_read_pct"] = 100 * (counts["cache_read"] or 0.0) / prompt if prompt else None
    return counts


def offered_load(users: int, think: float, llm_latency: float) -> float | None:
    """Requests per second a closed model of ``users`` would send if the service added nothing."""
    cycle = think + llm_latency
    return users / cycle if cycle > 0 else None


def jitter_suffix(think_jitter: float | None) -> str:
    """What a scenario's name ends with when its pauses are jittered (``-tj1``), so that its runs, tables and
    charts are never mixed with those of fixed pauses; nothing for fixed pauses."""
    return f"-tj{think_jitter:g}" if think_jitter else ""


def latency_summary(latencies: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99/max/mean in seconds of the given latencies (None each when empty)."""
    return {
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "max": max(latencies) if latencies else None,
        "mean": sum(latencies) / len(latencies) if latencies else None,
    }


# ----- formatting ---------------------------------------------------------------------------------------------


def _fmt(value: Any, unit: str = "", digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def result_table(result: Mapping[str, Any]) -> str:
    """A readable two-column table of one scenario's result (the dict ``run.py`` prints as JSON)."""
    lat = result.get("latency_s") or {}
    cpu = result.get("cpu_pct") or {}
    pg = result.get("pg_connections") or {}
    rows: list[tuple[str, str]] = [
        ("scenario", str(result.get("scenario"))),
        ("mode / endpoint", f"{result.get('mode')} / {result.get('endpoint')}"),
        ("users", _fmt(result.get("users"))),
        ("LLM latency", _fmt(result.get("llm_latency_s"), " s", 2)),
        ("think time", _fmt(result.get("think_s"), " s", 2)),
        ("serving model", str(result.get("serving"))),
        ("measured window", f"{_fmt(result.get('window_s'), ' s', 1)} after {_fmt(result.get('warmup_s'), ' s', 1)}"),
        ("requests (chat)", _fmt(result.get("requests"))),
        ("throughput", _fmt(result.get("throughput_rps"), " req/s", 1)),
        ("offered load", _fmt(result.get("offered_rps"), " req/s", 1)),
        ("throughput / offered", _fmt(result.get("throughput_pct_of_offered"), " %", 1)),
        ("latency p50", _fmt(lat.get("p50"), " s")),
        ("latency p95", _fmt(lat.get("p95"), " s")),
        ("latency p99", _fmt(lat.get("p99"), " s")),
        ("latency max", _fmt(lat.get("max"), " s")),
        ("overhead (p95 - LLM)", _fmt(result.get("overhead_p95_ms"), " ms", 1)),
    ]
    tokens = result.get("llm_tokens") or {}
    if result.get("mode") == "anthropic":
        rows.append(
            (
                "LLM prompt tokens",
                f"cache read {_fmt(tokens.get('cache_read'), '', 0)} ({_fmt(tokens.get('cache_read_pct'), ' %', 1)}), "
                f"cache write {_fmt(tokens.get('cache_write'), '', 0)}, uncached {_fmt(tokens.get('input'), '', 0)}",
            )
        )
    if result.get("endpoint") == "stream":
        ttfb = result.get("ttfb_s") or {}
        delta = result.get("first_delta_s") or {}
        rows += [
            ("time to first byte p50/p95", f"{_fmt(ttfb.get('p50'), ' s')} / {_fmt(ttfb.get('p95'), ' s')}"),
            ("time to first delta p50/p95", f"{_fmt(delta.get('p50'), ' s')} / {_fmt(delta.get('p95'), ' s')}"),
        ]
    errors = result.get("errors") or {}
    rows += [
        ("errors", ", ".join(f"{kind}={count}" for kind, count in sorted(errors.items())) or "0"),
        ("errors incl. warm-up", _fmt(result.get("errors_total_run"))),
        (
            "PG connections peak/mean",
            f"{_fmt(pg.get('peak'))} / {_fmt(pg.get('mean'), '', 1)} (limit {_fmt(pg.get('limit'))}, "
            f"peak active {_fmt(pg.get('peak_active'))})",
        ),
        ("DB query p95", _fmt(result.get("db_query_p95_ms"), " ms", 2)),
        ("DB queries / request", _fmt(result.get("db_queries_per_request"), "", 1)),
        (
            "server CPU peak/mean",
            f"{_fmt(cpu.get('server_peak'), ' %', 0)} / {_fmt(cpu.get('server_mean'), ' %', 0)} of "
            f"{_fmt(result.get('cpus'))}00 %",
        ),
        (
            "other CPU mean",
            f"postgres {_fmt(cpu.get('postgres_mean'), ' %', 0)}, redis {_fmt(cpu.get('redis_mean'), ' %', 0)}, "
            f"fake LLM {_fmt(cpu.get('fake_llm_mean'), ' %', 0)}, "
            f"load generator {_fmt(cpu.get('loadgen_mean'), ' %', 0)}; "
            f"machine {_fmt(cpu.get('machine_mean'), ' %', 0)} "
            f"(of which other jobs {_fmt(cpu.get('others_mean'), ' %', 0)})",
        ),
        ("server CPU per request", _fmt(result.get("server_cpu_ms_per_request"), " ms", 1)),
        ("server RSS peak", _fmt(result.get("server_rss_peak_mib"), " MiB", 0)),
        ("onboardings completed", _fmt(result.get("onboardings_completed"))),
    ]
    gc = result.get("server_gc")
    if gc is not None:
        longest = gc.get("longest_full_ms")
        full = f"the longest {_fmt(longest, ' ms', 0)} of CPU" if longest is not None else "none"
        rows.append(
            (
                "server GC per request",
                f"{_fmt(gc.get('cpu_ms_per_request'), ' ms', 2)} ({_fmt(gc.get('full'))} full collections, {full}; "
                f"files from {_fmt(gc.get('processes'))} processes, the master's included)",
            )
        )
    if result.get("machine_busy_before_pct") is not None:
        rows.append(("machine busy before start", _fmt(result.get("machine_busy_before_pct"), " %", 0)))
    if result.get("pg_restarts"):
        rows.append(("DISTURBED", f"PostgreSQL restarted {result['pg_restarts']} time(s) during the run"))
    targets = result.get("targets") or []
    for target in targets:
        verdict = "met" if target["met"] else "NOT MET"
        rows.append((f"target: {target['name']}", f"{_fmt(target['value'], '', 3)} ({target['limit']}) {verdict}"))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label.ljust(width)}  {value}" for label, value in rows)


def matrix_table(results: Iterable[Mapping[str, Any]]) -> str:
    """One line per scenario: the figures the issue's targets are about, as a Markdown table."""
    header = (
        "| scenario | users | LLM s | think s | req/s | offered | p50 s | p95 s | p99 s | max s | overhead p95 ms "
        "| errors | PG peak | DB p95 ms | server CPU mean/peak % | other jobs CPU % | RSS MiB | cache read % |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in results:
        lat = r.get("latency_s") or {}
        cpu = r.get("cpu_pct") or {}
        errors = sum((r.get("errors") or {}).values())
        lines.append(
            f"| {r.get('scenario')} | {r.get('users')} | {_fmt(r.get('llm_latency_s'), '', 1)} "
            f"| {_fmt(r.get('think_s'), '', 0)} | {_fmt(r.get('throughput_rps'), '', 1)} "
            f"| {_fmt(r.get('offered_rps'), '', 1)} | {_fmt(lat.get('p50'))} | {_fmt(lat.get('p95'))} "
            f"| {_fmt(lat.get('p99'))} | {_fmt(lat.get('max'))} | {_fmt(r.get('overhead_p95_ms'), '', 0)} "
            f"| {errors} | {_fmt((r.get('pg_connections') or {}).get('peak'))} "
            f"| {_fmt(r.get('db_query_p95_ms'), '', 2)} "
            f"| {_fmt(cpu.get('server_mean'), '', 0)} / {_fmt(cpu.get('server_peak'), '', 0)} "
            f"| {_fmt(cpu.get('others_mean'), '', 0)} | {_fmt(r.get('server_rss_peak_mib'), '', 0)} "
            f"| {_fmt((r.get('llm_tokens') or {}).get('cache_read_pct'), '', 1)} |"
        )
    return "\n".join(lines)


# ----- the service against the reference endpoint ---------------------------------------------------------------

# (label, how to read it from a result, unit, digits, better when "lower" or "higher")
COMPARED_FIGURES: tuple[tuple[str, str, str, int, str], ...] = (
    ("server CPU per request", "server_cpu_ms_per_request", "ms", 1, "lower"),
    ("server GC per request", "server_gc.cpu_ms_per_request", "ms", 2, "lower"),
    ("throughput", "throughput_rps", "req/s", 1, "higher"),
    ("throughput / offered", "throughput_pct_of_offered", "%", 1, "higher"),
    ("latency p50", "latency_s.p50", "s", 3, "lower"),
    ("latency p95", "latency_s.p95", "s", 3, "lower"),
    ("latency p99", "latency_s.p99", "s", 3, "lower"),
    ("overhead p95 (p95 - LLM)", "overhead_p95_ms", "ms", 1, "lower"),
    ("errors", "errors_count", "", 0, "lower"),
    ("server RSS peak", "server_rss_peak_mib", "MiB", 0, "lower"),
    ("PG connections peak", "pg_connections.peak_whole_run", "", 0, "lower"),
)

# Measured only when asked for (``--gc``): left out of the table when neither target has them.
OPTIONAL_FIGURES = frozenset({"server_gc.cpu_ms_per_request"})


def figure(result: Mapping[str, Any], path: str) -> float | None:
    """A figure of a result by dotted path (``latency_s.p95``); ``errors_count`` sums the errors by kind."""
    if path == "errors_count":
        errors = result.get("errors")
        return float(sum(errors.values())) if isinstance(errors, Mapping) else None
    value: Any = result
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return float(value) if isinstance(value, int | float) else None


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values that are not None (None if there is none)."""
    present = [v for v in values if v is not None]
    return percentile(present, 50) if present else None


def ratio(service: float | None, reference: float | None) -> float | None:
    """service / reference, None when either is missing or the reference is 0."""
    if service is None or reference is None or reference == 0:
        return None
    return service / reference


def comparison(service: Sequence[Mapping[str, Any]], reference: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each compared figure: the median over the service's runs and the reference's runs, and their ratio.

    The runs of one scenario were interleaved in one sitting, so the ratio of the medians holds on a noisy
    host where the absolute figures do not.
    """
    rows = []
    for label, path, unit, digits, better in COMPARED_FIGURES:
        ours = median(figure(r, path) for r in service)
        theirs = median(figure(r, path) for r in reference)
        if ours is None and theirs is None and path in OPTIONAL_FIGURES:
            continue
        rows.append(
            {
                "figure": label,
                "key": path,
                "unit": unit,
                "digits": digits,
                "better": better,
                "service": ours,
                "reference": theirs,
                "ratio": ratio(ours, theirs),
                "runs": [len(service), len(reference)],
            }
        )
    return rows


# The targets as ratios to the reference, by scenario (users, LLM s, think s): (figure key, op, limit).
RATIO_TARGETS: dict[tuple[int, float, float], tuple[tuple[str, str, float], ...]] = {
    (500, 1.0, 2.0): (
        ("server_cpu_ms_per_request", "<=", 1.2),
        ("throughput_rps", ">=", 0.95),
        ("latency_s.p95", "<=", 1.2),
    ),
    (100, 1.0, 2.0): (("server_cpu_ms_per_request", "<=", 1.2), ("overhead_p95_ms", "<=", 1.3)),
}


def ratio_targets_check(key: tuple[int, float, float], rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The issue's ratio targets that apply to scenario ``key``, each with its measured ratio and verdict."""
    by_key = {row["key"]: row for row in rows}
    checks = []
    for figure_key, op, limit in RATIO_TARGETS.get(key, ()):
        row = by_key.get(figure_key)
        value = row["ratio"] if row else None
        met = value is not None and (value <= limit if op == "<=" else value >= limit)
        label = row["figure"] if row else figure_key
        checks.append({"name": f"{label} ratio", "value": value, "limit": f"{op} {limit}", "met": met})
    return checks


def comparison_table(
    scenario: str,
    rows: Sequence[Mapping[str, Any]],
    load_average: Sequence[float] = (),
    targets: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The comparison of one scenario as a Markdown table (figure, service, reference, ratio)."""
    runs = rows[0]["runs"] if rows else [0, 0]
    head = f"### {scenario}: service vs reference (medians of {runs[0]} / {runs[1]} interleaved runs)"
    if load_average:
        head += f"; load average {' '.join(f'{v:.2f}' for v in load_average)}"
    lines = [head, "", "| figure | service | reference | ratio |", "|---|---|---|---|"]
    for row in rows:
        unit = f" {row['unit']}" if row["unit"] else ""
        lines.append(
            f"| {row['figure']} | {_fmt(row['service'], unit, row['digits'])} "
            f"| {_fmt(row['reference'], unit, row['digits'])} | {_fmt(row['ratio'], 'x', 2)} |"
        )
    for check in targets:
        verdict = "met" if check["met"] else "NOT MET"
        lines.append(f"\ntarget: {check['name']} {_fmt(check['value'], 'x', 2)} ({check['limit']}) {verdict}")
    return "\n".join(lines)
