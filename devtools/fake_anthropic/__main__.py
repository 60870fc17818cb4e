"""Run the fake Anthropic API for load benchmarks: ``python -m devtools.fake_anthropic --port 8765 --latency 1.0``.

Every ``/v1/messages`` call is answered by ``auto_responder`` after the configured latency. Requests are
counted but not recorded, so long runs keep a flat memory profile. Stops cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devtools.fake_anthropic.server import FakeAnthropicServer, LatencySource, auto_responder


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line of ``python -m devtools.fake_anthropic``."""
    parser = argparse.ArgumentParser(prog="python -m devtools.fake_anthropic", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (printed on start)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each /v1/messages answer")
    spread = parser.add_mutually_exclusive_group()
    spread.add_argument("--latency-jitter", type=float, default=0.0, help="uniform +/- seconds around --latency")
    spread.add_argument(
        "--latency-dist",
        metavar="lognormal:MEAN,SIGMA",
        help="draw each latency from a log-normal with this mean (seconds) and shape SIGMA; overrides --latency",
    )
    parser.add_argument("--tool-ratio", type=float, default=1.0, help="share of tool-offering calls that use one")
    parser.add_argument("--seed", type=int, default=0, help="seed for tool-call draws and latency")
    parser.add_argument(
        "--overrides-json", type=Path, help='JSON file {"tool_name": {"field": value}} merged into generated inputs'
    )
    parser.add_argument(
        "--cache-floor",
        type=int,
        default=None,
        help="fewest estimated tokens a prefix needs to be cached (default: the model's own minimum; 0 caches all)",
    )
    return parser.parse_args(argv)


def latency_from_args(args: argparse.Namespace) -> LatencySource:
    """The per-call latency the arguments describe: a constant, or a draw from a seeded distribution."""
    rng = random.Random(args.seed)
    if args.latency_dist:
        kind, _, params = args.latency_dist.partition(":")
        mean, sigma = (float(p) for p in params.split(","))
        if kind != "lognormal" or mean <= 0 or sigma < 0:
            raise ValueError(f"--latency-dist must be lognormal:MEAN,SIGMA with MEAN > 0, got {args.latency_dist!r}")
        # lognormvariate takes the underlying normal's mu; this mu gives the requested mean.
        mu = math.log(mean) - sigma**2 / 2
        return lambda: rng.lognormvariate(mu, sigma)
    if args.latency_jitter:
        low, high = max(0.0, args.latency - args.latency_jitter), args.latency + args.latency_jitter
        return lambda: rng.uniform(low, high)
    return float(args.latency)


def overrides_from_args(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The tool-input overrides file's content, or nothing when no file was given."""
    if args.overrides_json is None:
        return {}
    overrides = json.loads(args.overrides_json.read_text())
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise ValueError("--overrides-json must hold an object of objects: {tool_name: {field: value}}")
    return overrides


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m devtools.fake_anthropic``."""
    args = parse_args(argv)
    server = FakeAnthropicServer(
        args.host,
        args.port,
        responder=auto_responder(args.tool_ratio, args.seed, overrides_from_args(args)),
        latency=latency_from_args(args),
        record_requests=False,
        cache_floor=args.cache_floor,
    )

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await server.start_async()
        print(f"listening on {server.url}", flush=True)
        try:
            await stop.wait()
        finally:
            await server.stop_async()

    asyncio.run(run())
    print(
        f"served {server.request_count} requests, peak concurrency {server.max_concurrency_seen}",
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    main()
