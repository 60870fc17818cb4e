"""The benchmark report's maths (bench/report.py): percentiles from samples, Prometheus bucket quantiles."""

from __future__ import annotations

import math
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.report import (
    buckets_delta,
    comparison,
    histogram_buckets,
    histogram_quantile,
    latency_summary,
    llm_tokens,
    metric_total,
    offered_load,
    percentile,
    ratio_targets_check,
)

EXPOSITION = """\
# HELP onboarding_db_query_time_seconds Time of each database query.
# TYPE onboarding_db_query_time_seconds histogram
onboarding_db_query_time_seconds_bucket{le="0.001",vendor="postgresql"} 60.0
onboarding_db_query_time_seconds_bucket{le="0.005",vendor="postgresql"} 90.0
onboarding_db_query_time_seconds_bucket{le="0.01",vendor="postgresql"} 100.0
onboarding_db_query_time_seconds_bucket{le="+Inf",vendor="postgresql"} 100.0
onboarding_db_query_time_seconds_bucket{le="0.001",vendor="sqlite"} 40.0
onboarding_db_query_time_seconds_bucket{le="0.005",vendor="sqlite"} 50.0
onboarding_db_query_time_seconds_bucket{le="0.01",vendor="sqlite"} 100.0
onboarding_db_query_time_seconds_bucket{le="+Inf",vendor="sqlite"} 100.0
onboarding_db_query_time_seconds_count{vendor="postgresql"} 100.0
onboarding_db_query_time_seconds_sum{vendor="postgresql"} 0.2
django_db_execute_total{alias="default",vendor="postgresql"} 1200.0
django_db_execute_total{alias="other",vendor="postgresql"} 34.0
"""


def test_percentile_interpolates_between_order_statistics_like_numpy() -> None:
    values = [4.0, 1.0, 3.0, 2.0]

    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 100) == 4.0
    assert percentile(values, 95) == pytest.approx(3.85)
    assert percentile([], 95) is None


def test_latency_summary_of_a_uniform_spread() -> None:
    latencies = [i / 100 for i in range(1, 101)]  # 0.01 .. 1.00 s

    summary = latency_summary(latencies)

    assert summary["p50"] == pytest.approx(0.505)
    assert summary["p99"] == pytest.approx(0.9901)
    assert summary["max"] == 1.0
    assert summary["mean"] == pytest.approx(0.505)


def test_histogram_buckets_sum_label_sets_and_filter_by_label() -> None:
    everything = histogram_buckets(EXPOSITION, "onboarding_db_query_time_seconds")
    postgres = histogram_buckets(EXPOSITION, "onboarding_db_query_time_seconds", {"vendor": "postgresql"})

    assert everything == {0.001: 100.0, 0.005: 140.0, 0.01: 200.0, math.inf: 200.0}
    assert postgres == {0.001: 60.0, 0.005: 90.0, 0.01: 100.0, math.inf: 100.0}
    assert histogram_buckets(EXPOSITION, "no_such_histogram") is None


def test_histogram_quantile_interpolates_within_the_bucket_like_promql() -> None:
    buckets = {0.001: 60.0, 0.005: 90.0, 0.01: 100.0, math.inf: 100.0}

    # rank 95 of 100 lies in (0.005, 0.01], halfway from 90 to 100 observations
    assert histogram_quantile(0.95, buckets) == pytest.approx(0.0075)
    # rank 30 lies in the first bucket, which starts at 0
    assert histogram_quantile(0.30, buckets) == pytest.approx(0.0005)
    assert histogram_quantile(0.95, {0.01: 0.0, math.inf: 0.0}) is None


def test_a_quantile_in_the_inf_bucket_answers_the_highest_finite_bound() -> None:
    assert histogram_quantile(0.99, {0.1: 50.0, 1.0: 90.0, math.inf: 100.0}) == 1.0


def test_buckets_delta_keeps_only_the_window_observations() -> None:
    before = {0.001: 50.0, 0.01: 60.0, math.inf: 60.0}
    after = {0.001: 60.0, 0.01: 100.0, math.inf: 100.0}

    delta = buckets_delta(after, before)

    assert delta == {0.001: 10.0, 0.01: 40.0, math.inf: 40.0}
    assert histogram_quantile(0.5, delta) == pytest.approx(0.001 + 0.009 * 10 / 30)


def test_counter_total_and_offered_load() -> None:
    assert metric_total(EXPOSITION, "django_db_execute_total") == 1234.0
    assert metric_total(EXPOSITION, "django_db_execute_total", {"alias": "other"}) == 34.0
    assert metric_total(EXPOSITION, "absent_total") is None
    assert offered_load(500, think=2.0, llm_latency=1.0) == pytest.approx(166.67, abs=0.01)
    assert offered_load(50, think=0.0, llm_latency=0.0) is None


def test_llm_tokens_are_the_window_s_deltas_with_the_share_read_from_the_cache() -> None:
    before = """\
anthropic_api_tokens_total{kind="input",provider="anthropic"} 1000.0
anthropic_api_tokens_total{kind="cache_write",provider="anthropic"} 9000.0
anthropic_api_tokens_total{kind="output",provider="anthropic"} 50.0
"""
    after = """\
anthropic_api_tokens_total{kind="input",provider="anthropic"} 1600.0
anthropic_api_tokens_total{kind="cache_read",provider="anthropic"} 5400.0
anthropic_api_tokens_total{kind="cache_write",provider="anthropic"} 9000.0
anthropic_api_tokens_total{kind="output",provider="anthropic"} 80.0
"""

    tokens = llm_tokens(before, after)

    assert tokens == {"input": 600.0, "cache_read": 5400.0, "cache_write": 0.0, "output": 30.0, "cache_read_pct": 90.0}
    assert llm_tokens("", "")["cache_read_pct"] is None
    assert llm_tokens("", "")["cache_read"] is None


# ----- the service against the reference endpoint ------------------------------------------------------------


def _result(target: str, users: int, cpu_ms: float, rps: float, p95: float, *, errors: int = 0) -> dict[str, Any]:
    return {
        "scenario": f"u{users}",
        "target": target,
        "users": users,
        "mode": "anthropic",
        "endpoint": "chat",
        "llm_latency_s": 1.0,
        "think_s": 2.0,
        "serving": "gthread 4x128",
        "cpus": 2,
        "load_average": [3.0, 2.0, 1.0],
        "server_cpu_ms_per_request": cpu_ms,
        "throughput_rps": rps,
        "offered_rps": users / 3,
        "latency_s": {"p50": p95 - 0.1, "p95": p95, "p99": p95 + 0.1},
        "errors": {"timeout": errors} if errors else {},
    }


def test_comparison_takes_the_median_of_each_target_and_their_ratio() -> None:
    service = [_result("service", 500, 12.0, 90.0, 1.2), _result("service", 500, 20.0, 80.0, 1.6)]
    service.append(_result("service", 500, 14.0, 85.0, 1.3, errors=2))
    reference = [_result("reference", 500, 10.0, 100.0, 1.0), _result("reference", 500, 8.0, 100.0, 1.1)]

    rows = {row["key"]: row for row in comparison(service, reference)}

    assert rows["server_cpu_ms_per_request"]["service"] == 14.0
    assert rows["server_cpu_ms_per_request"]["reference"] == 9.0
    assert rows["server_cpu_ms_per_request"]["ratio"] == pytest.approx(14.0 / 9.0)
    assert rows["latency_s.p95"]["ratio"] == pytest.approx(1.3 / 1.05)
    assert rows["errors_count"]["service"] == 0.0  # the median of 0, 0, 2
    assert rows["errors_count"]["ratio"] is None  # no ratio to a reference of 0
    assert rows["throughput_rps"]["runs"] == [3, 2]


def test_the_gc_figure_is_left_out_of_the_comparison_when_it_was_not_measured() -> None:
    service, reference = _result("service", 500, 12.0, 96.0, 1.3), _result("reference", 500, 10.0, 100.0, 1.0)

    keys = {row["key"] for row in comparison([service], [reference])}

    assert "server_gc.cpu_ms_per_request" not in keys
    assert "server_cpu_ms_per_request" in keys


def test_the_gc_figure_is_compared_when_it_was_measured() -> None:
    service, reference = _result("service", 500, 12.0, 96.0, 1.3), _result("reference", 500, 10.0, 100.0, 1.0)
    service["server_gc"], reference["server_gc"] = {"cpu_ms_per_request": 0.5}, {"cpu_ms_per_request": 0.4}

    rows = {row["key"]: row for row in comparison([service], [reference])}

    assert rows["server_gc.cpu_ms_per_request"]["ratio"] == pytest.approx(1.25)


def test_gc_summary_sums_the_collections_that_ended_inside_the_window(tmp_path: Path) -> None:
    from bench.run import gc_summary

    (tmp_path / "101.tsv").write_text("9.5\t2\t0.200\n10.0\t0\t0.001\n12.0\t2\t0.050\n")
    (tmp_path / "102.tsv").write_text("11.0\t1\t0.004\n15.0\t2\t0.300\n")

    summary = gc_summary(tmp_path, {"start": 10.0, "end": 15.0}, requests=10)

    assert summary["cpu_ms_by_generation"] == [1.0, 4.0, 50.0]  # 9.5 is before the window, 15.0 at its end
    assert summary["collections_by_generation"] == [1, 1, 1]
    assert summary["cpu_ms_per_request"] == pytest.approx(5.5)
    assert (summary["full"], summary["longest_full_ms"], summary["processes"]) == (1, pytest.approx(50.0), 2)


def test_gc_summary_without_files_reports_no_figure_rather_than_zero(tmp_path: Path) -> None:
    from bench.run import gc_summary

    summary = gc_summary(tmp_path, {"start": 10.0, "end": 15.0}, requests=10)

    assert (summary["cpu_ms_per_request"], summary["longest_full_ms"], summary["processes"]) == (None, None, 0)


def test_a_forked_child_s_gc_file_holds_only_its_own_collections(tmp_path: Path) -> None:
    from bench.run import GC_PROBE_DIR

    code = (
        "import gc, os, sys; gc.collect(); pid = os.fork()\nif pid == 0: gc.collect(1); sys.exit(0)\nos.waitpid(pid, 0)"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(GC_PROBE_DIR), "BENCH_GC_DIR": str(tmp_path)}

    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)

    generations = [{line.split("\t")[1] for line in path.read_text().splitlines()} for path in tmp_path.glob("*.tsv")]
    parent, child = sorted(generations, key=lambda found: "2" not in found)
    assert "2" in parent  # the full collection before the fork
    assert "1" in child
    assert "2" not in child, "the child's file repeats the parent's collections from before the fork"


def test_the_gc_probe_times_a_process_s_collections_only_when_asked(tmp_path: Path) -> None:
    from bench.run import GC_PROBE_DIR

    code = "import gc; gc.collect(); gc.collect(0)"
    on, off = tmp_path / "on", tmp_path / "off"
    for directory in (on, off):
        directory.mkdir()
        asked = str(directory) if directory == on else ""
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(GC_PROBE_DIR), "BENCH_GC_DIR": asked}
        subprocess.run([sys.executable, "-c", code], env=env, cwd=directory, check=True, timeout=60)

    assert list(off.iterdir()) == []
    (written,) = on.glob("*.tsv")
    collections = [line.split("\t") for line in written.read_text().splitlines()]
    assert [generation for _, generation, _ in collections[-2:]] == ["2", "0"]
    assert all(float(cpu) >= 0 for _, _, cpu in collections)


def test_ratio_targets_of_the_standard_scenario() -> None:
    rows = comparison([_result("service", 500, 12.0, 96.0, 1.3)], [_result("reference", 500, 10.0, 100.0, 1.0)])

    checks = {check["name"]: check for check in ratio_targets_check((500, 1.0, 2.0), rows)}

    assert checks["server CPU per request ratio"]["met"] is True  # 1.2x, at the limit
    assert checks["throughput ratio"]["met"] is True  # 0.96x >= 0.95
    assert checks["latency p95 ratio"]["met"] is False  # 1.3x > 1.2
    assert ratio_targets_check((10, 1.0, 2.0), rows) == []


def test_runs_alternate_service_and_reference_from_round_to_round() -> None:
    from bench.run import Scenario, runs_planned

    scenario = Scenario(name="s", users=10, llm_latency=1.0, think=2.0, duration=10.0, warmup=5.0)

    planned = runs_planned([scenario], compare=True, rounds=3)

    assert [run.target for run in planned] == ["service", "reference", "reference", "service", "service", "reference"]
    assert runs_planned([scenario], compare=False, rounds=3) == [scenario]


def test_charts_draw_latency_and_throughput_against_users(tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    from bench.charts import draw_all, series

    results = [
        _result(target, users, 10.0, users / 3.2, 1.0 + users / 1000)
        for target in ("service", "reference")
        for users in (100, 300, 500)
    ]

    drawn = draw_all(results, tmp_path)

    assert sorted(path.name for path in drawn) == [
        "latency-anthropic-chat-llm1-think2.png",
        "throughput-anthropic-chat-llm1-think2.png",
    ]
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in drawn)
    points = series(results, "throughput_rps")["anthropic-chat-llm1-think2"]["service"]
    assert [users for users, _ in points] == [100, 300, 500]


def test_the_command_line_names_the_database_and_runs_one_scenario_per_user_count() -> None:
    from bench.run import database_url, parse_args, scenarios_from_args

    args = parse_args(["--database", "shuren_bench_h6", "--users", "100,300", "--target", "reference"])

    scenarios = scenarios_from_args(args)

    assert [(s.users, s.database, s.target) for s in scenarios] == [
        (100, "shuren_bench_h6", "reference"),
        (300, "shuren_bench_h6", "reference"),
    ]
    assert len({s.name for s in scenarios}) == 2
    assert database_url("shuren_bench_h6").endswith("/shuren_bench_h6")
    with pytest.raises(SystemExit):
        parse_args(["--users", "0"])


def test_the_command_line_serves_the_service_and_the_reference_with_the_worker_class_it_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bench.run import parse_args, scenarios_from_args, server_env

    monkeypatch.delenv("GUNICORN_WORKER_CLASS", raising=False)
    configured = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))["worker_class"]

    default = scenarios_from_args(parse_args([]))[0]
    gevent = scenarios_from_args(
        parse_args(["--worker-class", "gevent", "--worker-connections", "2000", "--target", "reference"])
    )[0]

    # without --worker-class, what gunicorn.conf.py runs by default, said in the report
    assert default.worker_class == configured
    assert default.serving.startswith(f"{configured} 4x")
    # with it, the server (the reference too: same gunicorn.conf.py) is started with that class
    env = server_env(gevent, tmp_path, "http://127.0.0.1:9", 9)
    assert (env["GUNICORN_WORKER_CLASS"], env["GUNICORN_WORKER_CONNECTIONS"]) == ("gevent", "2000")
    assert env["DJANGO_SETTINGS_MODULE"] == "bench.reference.settings"
    assert gevent.serving == "gevent 4x2000 connections, pool 20/worker, cache redis"
    # and the ASGI reference, served by uvicorn workers of its own, refuses one
    with pytest.raises(SystemExit):
        parse_args(["--target", "reference-async", "--worker-class", "gevent"])
    # and the per-thread profiler, which cannot tell greenlets apart, refuses gevent
    with pytest.raises(SystemExit):
        parse_args(["--worker-class", "gevent", "--profile"])


@pytest.mark.parametrize("kind", [{"endpoint": "stream"}, {"mode": "offline"}], ids=["stream", "offline"])
def test_a_scenario_the_reference_cannot_serve_runs_on_the_service_alone(kind: dict[str, Any]) -> None:
    from bench.run import Scenario, runs_planned

    scenario = Scenario(name="s", users=10, llm_latency=1.0, think=2.0, duration=10.0, warmup=5.0, **kind)

    assert [run.target for run in runs_planned([scenario], compare=True, rounds=2)] == ["service"]


@pytest.mark.parametrize("jitter", [0.0, 1.0])
def test_think_times_keep_their_mean_and_spread_by_the_jitter(jitter: float) -> None:
    import random
    import statistics

    from bench.loadgen import LoadConfig, LoadRun

    config = LoadConfig(
        host="127.0.0.1", port=1, users=1, think=2.0, duration=1.0, warmup=0.0, ramp=0.0, think_jitter=jitter
    )
    rng = random.Random(7)
    state = rng.getstate()

    pauses = [LoadRun(config, [])._think(rng) for _ in range(20_000)]

    if jitter:
        assert statistics.fmean(pauses) == pytest.approx(2.0, abs=0.02)
        assert (min(pauses), max(pauses)) == pytest.approx((2.0 - jitter, 2.0 + jitter), abs=0.01)
    else:  # exactly the pauses of earlier sittings, and no draw that would shift the users' other random numbers
        assert set(pauses) == {2.0}
        assert rng.getstate() == state


def test_jittered_pauses_are_a_scenario_of_their_own_and_stay_within_the_think_time() -> None:
    from bench.charts import family_of
    from bench.run import parse_args, scenarios_from_args

    (fixed,) = scenarios_from_args(parse_args(["--users", "500"]))
    (jittered,) = scenarios_from_args(parse_args(["--users", "500", "--think-jitter", "1"]))

    assert (fixed.name, fixed.think_jitter) == ("standard", 0.0)
    assert (jittered.name, jittered.think_jitter) == ("standard-tj1", 1.0)
    figures = {"mode": "anthropic", "endpoint": "chat", "llm_latency_s": 1.0, "think_s": 2.0}
    assert (
        family_of(figures)
        == family_of({**figures, "think_jitter_s": 0.0})
        != family_of({**figures, "think_jitter_s": 1.0})
    )
    for refused in (["--think-jitter", "3"], ["--think-jitter", "-1"], ["--matrix", "scale", "--think-jitter", "1"]):
        with pytest.raises(SystemExit):
            parse_args(refused)
