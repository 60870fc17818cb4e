"""PNG charts of a benchmark sitting: latency percentiles and throughput against users, service beside reference.

``bench/run.py`` draws them after every invocation with more than one run, into
``bench/out/<time>-sitting/``. To draw them again from saved results (one sitting's ``results.json``, or the
``result.json`` of single runs, or their folders)::

    python bench/charts.py --out DIR bench/out/<time>-sitting/results.json
    python bench/charts.py --out DIR bench/out/2026*-u*/

Runs of the same scenario family (LLM latency, think time, endpoint, mode) and target are one line; several
runs at the same user count (``--rounds``) are reduced to their median.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project's packages importable
    sys.path.insert(0, str(ROOT))

from bench.report import figure, jitter_suffix, median  # noqa: E402

STYLES: dict[str, dict[str, Any]] = {
    "service": {"linestyle": "-", "marker": "o"},
    "reference": {"linestyle": "--", "marker": "s"},
}
PERCENTILE_COLOURS = {"p50": "tab:blue", "p95": "tab:orange", "p99": "tab:red"}


def family_of(result: Mapping[str, Any]) -> str:
    """The scenario family a result belongs to: what stays fixed while the user count varies."""
    return (
        f"{result.get('mode')}-{result.get('endpoint')}-llm{result.get('llm_latency_s', 0):g}"
        f"-think{result.get('think_s', 0):g}" + jitter_suffix(result.get("think_jitter_s"))
    )


def series(results: Iterable[Mapping[str, Any]], path: str) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """``{family: {target: [(users, median value), ...]}}`` for the figure at ``path`` (report.figure)."""
    grouped: dict[tuple[str, str, int], list[float | None]] = defaultdict(list)
    for result in results:
        key = (family_of(result), str(result.get("target", "service")), int(result["users"]))
        grouped[key].append(figure(result, path))
    out: dict[str, dict[str, list[tuple[int, float]]]] = defaultdict(dict)
    for (family, target, users), values in sorted(grouped.items()):
        value = median(values)
        if value is not None:
            out[family].setdefault(target, []).append((users, value))
    return dict(out)


def _subtitle(results: Sequence[Mapping[str, Any]]) -> str:
    loads = [r["load_average"][0] for r in results if r.get("load_average")]
    serving = sorted({str(r.get("serving")) for r in results})
    text = "; ".join(serving)
    if loads:
        text += f"; 1-min load average {min(loads):.1f}-{max(loads):.1f} on {results[0].get('cpus', '?')} CPUs"
    return text


def latency_chart(results: Sequence[Mapping[str, Any]], family: str, path: Path) -> Path:
    """p50/p95/p99 latency against users, one colour per percentile, service solid and reference dashed."""
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    llm = next((r.get("llm_latency_s") for r in results if family_of(r) == family), None)
    for name, colour in PERCENTILE_COLOURS.items():
        for target, points in series(results, f"latency_s.{name}").get(family, {}).items():
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, color=colour, label=f"{target} {name}", **STYLES.get(target, {}))
    if llm:
        ax.axhline(llm, color="grey", linewidth=0.8, linestyle=":", label=f"LLM latency {llm:g} s")
    ax.set_xlabel("simulated users")
    ax.set_ylabel("latency (s)")
    ax.set_title(f"Chat latency percentiles: {family}\n{_subtitle(results)}", fontsize=9)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def throughput_chart(results: Sequence[Mapping[str, Any]], family: str, path: Path) -> Path:
    """Throughput against users, service and reference, with the offered load for scale."""
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for target, points in series(results, "throughput_rps").get(family, {}).items():
        xs, ys = zip(*points, strict=True)
        colour = "tab:blue" if target == "service" else "tab:green"
        ax.plot(xs, ys, color=colour, label=target, **STYLES.get(target, {}))
    offered = series(results, "offered_rps").get(family, {})
    if offered:
        points = next(iter(offered.values()))
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, color="grey", linestyle=":", label="offered load")
    ax.set_xlabel("simulated users")
    ax.set_ylabel("chat requests per second")
    ax.set_title(f"Throughput: {family}\n{_subtitle(results)}", fontsize=9)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def draw_all(results: Sequence[Mapping[str, Any]], directory: Path) -> list[Path]:
    """A latency and a throughput chart per scenario family found in ``results``; returns the files."""
    directory.mkdir(parents=True, exist_ok=True)
    drawn = []
    for family in sorted({family_of(r) for r in results}):
        drawn.append(latency_chart(results, family, directory / f"latency-{family}.png"))
        drawn.append(throughput_chart(results, family, directory / f"throughput-{family}.png"))
    return drawn


def results_load(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Results from ``results.json`` lists, single ``result.json`` documents, or folders holding one."""
    loaded: list[dict[str, Any]] = []
    for path in paths:
        file = path / "result.json" if path.is_dir() else path
        if not file.is_file():
            continue
        data = json.loads(file.read_text())
        loaded += data if isinstance(data, list) else [data]
    return loaded


def main(argv: Sequence[str] | None = None) -> int:
    """Draw the charts from saved results."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNG files")
    args = parser.parse_args(argv)
    results = results_load(args.paths)
    if not results:
        print("no results found", file=sys.stderr)
        return 1
    for path in draw_all(results, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
