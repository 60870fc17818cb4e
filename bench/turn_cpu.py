"""CPU per chat turn, in process: the service's (or the reference's) Django stack driven by Django's test client.

The load benchmark (``run.py``) measures CPU per request from outside, which on a shared, busy machine moves
with whatever else runs. This measures the CPU time of the thread that serves each request
(``time.thread_time``), so other jobs barely move it: the figure to compare before and after a change.
On PostgreSQL it also gives the database server's CPU per turn: the CPU time of the server's processes
(``/proc``, so the server must run on this machine) over the measured turns, background writers and
autovacuum workers included (an exited one through the postmaster's children's time). That one counts
whatever else uses the server meanwhile: run it on a quiet one.
No gunicorn and no sockets on the client side (the same for both targets); the LLM is the fake Anthropic
server on a thread of its own (its CPU is not counted), answering at once.

    python bench/turn_cpu.py                          # the service: 400 turns, then the reference
    python bench/turn_cpu.py --turns 400 --profile    # and where the service's CPU goes (cProfile, tottime)
    python bench/turn_cpu.py --sqlite --profile       # the service on SQLite (the reference is PostgreSQL only)
    python bench/turn_cpu.py --endpoint stream        # the service's streamed turn (the reference has no stream)
    python bench/turn_cpu.py --history 100            # each account starts with 100 entries of conversation kept

Each account starts with ``--history`` entries of conversation already kept (default 0): the deployment guide's
20-50 messages a user make 40-100 entries, and ``CONVERSATION_HISTORY_MAX_ENTRIES`` keeps up to 400. The
reference's conversation gets the same messages (its entries hold the role and the text only).

Both targets run in one process each (Django is set up once per process), in fresh child processes, and
alternate ``--rounds`` times; the medians and the ratio are printed, and one JSON line.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project's packages importable
    sys.path.insert(0, str(ROOT))

BENCH_DIR = ROOT / "bench"


def _sqlite(database: str) -> bool:
    return database.endswith(".sqlite3")


def _environment(target: str, database: str, fake_url: str, cache_db: int) -> None:
    os.environ.update(
        {
            "DATABASE_URL": f"sqlite:///{database}"
            if _sqlite(database)
            else f"postgres://postgres@127.0.0.1:5432/{database}",
            "SECRET_KEY": "turn-cpu-" + secrets.token_urlsafe(40),
            "DEBUG": "False",
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
            "THROTTLE_CHAT_RATE": "100000/minute",
            "THROTTLE_AUTH_RATE": "100000/minute",
            "LLM_RESPONSE_CACHE_ENABLED": "False",
            "LOG_LEVEL": "WARNING",
            "CACHE_URL": f"redis://127.0.0.1:6379/{cache_db}",
            "CACHE_KEY_PREFIX": f"turn-cpu-{os.getpid()}",
            "LLM_PROVIDER": "anthropic",
            "ANTHROPIC_API_KEY": "bench-key",
            "ANTHROPIC_BASE_URL": fake_url,
        }
    )
    if target == "reference":
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.reference.settings"
    else:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuren.settings")


def _postgres_ticks() -> int:
    """CPU clock ticks used so far by the PostgreSQL server(s) on this machine: its live processes, and those
    that have exited (an autovacuum worker, a backend whose connection closed), which the kernel adds to the
    postmaster's children's time once the postmaster has waited for them."""
    from bench.monitor import postmaster_pids, proc_snapshot, tree_pids

    snapshot = proc_snapshot()
    postmasters = postmaster_pids(snapshot)
    live = sum(snapshot[pid].ticks for pid in tree_pids(snapshot, postmasters))
    return live + sum(snapshot[pid].children_ticks for pid in postmasters)


def _streamed_body(response: Any) -> dict[str, Any]:
    """The ``done`` event's body of a streamed reply (read whole, as the client would), or {} without one."""
    text = b"".join(response.streaming_content).decode()
    for event in text.split("\n\n"):
        if event.startswith("event: done\n"):
            return dict(json.loads(event.split("data: ", 1)[1]))
    return {}


def measure(
    target: str,
    *,
    turns: int,
    users: int,
    database: str,
    cache_db: int,
    profile: Path | None,
    endpoint: str = "chat",
    history: int = 0,
) -> dict[str, Any]:
    """Run ``turns`` chat turns over ``users`` accounts on a fresh database; CPU ms per turn (thread time).

    ``endpoint="stream"`` sends them to ``onboarding/chat/stream`` and reads each streamed reply whole.
    ``history``: entries of conversation each account holds before the first turn.
    """
    url = "/api/v1/onboarding/chat/stream" if endpoint == "stream" else "/api/v1/onboarding/chat"
    from bench.loadgen import step_message
    from bench.monitor import CLOCK_TICKS
    from bench.run import database_reset
    from devtools.fake_anthropic.__main__ import overrides_from_args
    from devtools.fake_anthropic.server import FakeAnthropicServer, auto_responder

    overrides = overrides_from_args(argparse.Namespace(overrides_json=BENCH_DIR / "overrides.json"))
    with FakeAnthropicServer(responder=auto_responder(0.5, 1, overrides), record_requests=False) as fake:
        _environment(target, database, fake.url, cache_db)
        if _sqlite(database):
            Path(database).unlink(missing_ok=True)
        else:
            database_reset(database)
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.test import Client
        from rest_framework_simplejwt.tokens import AccessToken

        call_command("migrate", verbosity=0)
        user_model = get_user_model()
        accounts = user_model.objects.bulk_create(
            [user_model(**{user_model.USERNAME_FIELD: f"cpu-{i}@bench.invalid"}) for i in range(users)]
        )
        clients = [Client(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(u)}") for u in accounts]
        steps = []
        for client in clients:
            state = client.post("/api/v1/onboarding/start", content_type="application/json").json()
            steps.append([int(state.get("current_step", 1)), 0])
        _history_prefill(target, history)
        cpu: list[float] = []
        errors = 0
        postgres_ticks: list[int] = []
        # The timed turns, then as many again under cProfile: its count of Python function calls per turn does
        # not move with the machine's load, unlike any clock. A profile is written if one was asked for.
        counter = cProfile.Profile(time.thread_time)
        for index in range(2 * turns):
            if index in (turns // 5, turns) and not _sqlite(database):  # the measured turns' two ends
                postgres_ticks.append(_postgres_ticks())
            profiler = counter if index >= turns else None
            slot = index % users
            step, attempt = steps[slot]
            payload = {"message": step_message(step, attempt)}
            started = time.thread_time()
            if profiler is not None:
                profiler.enable()
            response = clients[slot].post(url, payload, content_type="application/json")
            # An error answered before any streaming (401, 409, 429...) is a plain response.
            body = _streamed_body(response) if getattr(response, "streaming", False) else None
            if profiler is not None:
                profiler.disable()
            if profiler is None:
                cpu.append(time.thread_time() - started)
            if response.status_code != 200 or body == {} or (endpoint == "stream" and body is None):
                errors += 1
                continue
            body = body if body is not None else response.json()
            if body.get("is_complete"):
                steps[slot] = [1, 0]
                continue
            next_step = int(body.get("next_step") or step)
            steps[slot] = [next_step, 0 if next_step != step else attempt + 1]
    if profile is not None:
        counter.dump_stats(profile)
    calls = sum(entry[1] for entry in pstats.Stats(counter).stats.values())  # type: ignore[attr-defined]
    measured = cpu[len(cpu) // 5 :]  # the first fifth warms up (imports, caches, connections)
    measured_turns = turns - turns // 5
    return {
        "target": target,
        "turns": len(measured),
        "cpu_ms_median": 1000 * statistics.median(measured),
        "cpu_ms_mean": 1000 * statistics.fmean(measured),
        "postgres_cpu_ms_per_turn": (
            1000 * (postgres_ticks[1] - postgres_ticks[0]) / CLOCK_TICKS / measured_turns if postgres_ticks else None
        ),
        "calls_per_turn": calls / turns,
        "errors": errors,
        "endpoint": endpoint,
        "history": history,
    }


# A kept assistant reply of the usual length (the review's summary is longer, a question shorter).
_REPLY = (
    "Thanks, that's noted. Next, let's look at how many days a week you can train and how long each "
    "session can be. Most people starting out do well with three sessions of 45 minutes; if your week is "
    "busy, two longer sessions work too. Tell me which days suit you and whether you train at home or at a "
    "gym, and I will put the plan together from there. If anything changes later, just say so and I will "
    "adjust the plan and your meal timings to match."
)


def _history_prefill(target: str, entries: int) -> None:
    """Give every account ``entries`` kept entries of conversation, as the target keeps them."""
    if entries <= 0:
        return
    from bench.loadgen import step_message

    texts = [
        ("user", step_message(1 + (n // 2) % 9, n // 18)) if n % 2 == 0 else ("assistant", _REPLY)
        for n in range(entries)
    ]
    if target == "reference":
        from bench.reference.models import Conversation

        Conversation.objects.update(messages=[{"role": role, "content": text} for role, text in texts])
        return
    from onboarding.models import OnboardingState

    extras = {"usage": {"input_tokens": 2500, "output_tokens": 60, "cache_read_input_tokens": 1600}, "model": "m"}
    kept = [
        {"role": role, "content": text, "timestamp": "2026-12-01T09:00:00+00:00", "step": 1 + (n // 2) % 9}
        | {"agent_type": "FITNESS_ASSESSMENT"}
        | (extras if role == "assistant" else {})
        for n, (role, text) in enumerate(texts)
    ]
    OnboardingState.objects.update(conversation_history=kept)


def _child(args: argparse.Namespace, target: str, profile: Path | None) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        target,
        "--turns",
        str(args.turns),
        "--users",
        str(args.users),
        "--database",
        args.database,
        "--cache-db",
        str(args.cache_db),
        "--endpoint",
        args.endpoint,
        "--history",
        str(args.history),
    ]
    if profile is not None:
        command += ["--profile-file", str(profile)]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=900)
    if completed.returncode != 0:
        raise RuntimeError(f"{target} run failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Alternate the service and the reference, print medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE", "") or "shuren_bench")
    parser.add_argument("--cache-db", type=int, default=int(os.environ.get("BENCH_CACHE_DB", "0")))
    parser.add_argument("--profile", action="store_true", help="also profile the service once and print the top")
    parser.add_argument("--only", choices=["service", "reference"], help="measure one target only")
    parser.add_argument("--sqlite", action="store_true", help="the service on a fresh SQLite file (no reference)")
    parser.add_argument(
        "--endpoint",
        choices=["chat", "stream"],
        default="chat",
        help="stream: the service's chat/stream (no reference)",
    )
    parser.add_argument("--history", type=int, default=0, help="entries of conversation each account starts with")
    parser.add_argument("--child", choices=["service", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--profile-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = measure(
            args.child,
            turns=args.turns,
            users=args.users,
            database=args.database,
            cache_db=args.cache_db,
            profile=args.profile_file,
            endpoint=args.endpoint,
            history=args.history,
        )
        print(json.dumps(result))
        return 0
    if args.endpoint == "stream":
        if args.only == "reference":
            parser.error("the reference endpoint has no stream")
        args.only = "service"
    if args.sqlite:
        if args.only == "reference":
            parser.error("the reference endpoint runs on PostgreSQL only")
        args.only = "service"
        args.database = str(BENCH_DIR / "out" / f"turn-cpu-{os.getpid()}.sqlite3")
        Path(args.database).parent.mkdir(parents=True, exist_ok=True)
    targets = [args.only] if args.only else ["service", "reference"]
    runs: dict[str, list[dict[str, Any]]] = {target: [] for target in targets}
    for index in range(args.rounds):
        for target in targets if index % 2 == 0 else list(reversed(targets)):
            result = _child(args, target, None)
            runs[target].append(result)
            postgres = result["postgres_cpu_ms_per_turn"]
            print(
                f"{target}: {result['cpu_ms_median']:.2f} ms median CPU per turn, "
                f"{result['calls_per_turn']:.0f} Python calls per turn ({result['errors']} errors)"
                + ("" if postgres is None else f", PostgreSQL {postgres:.2f} ms per turn"),
                flush=True,
            )
    medians = {t: statistics.median(r["cpu_ms_median"] for r in rs) for t, rs in runs.items()}
    calls = {t: statistics.median(r["calls_per_turn"] for r in rs) for t, rs in runs.items()}
    postgres_medians = {
        t: statistics.median(r["postgres_cpu_ms_per_turn"] for r in rs)
        for t, rs in runs.items()
        if rs[0]["postgres_cpu_ms_per_turn"] is not None
    }
    summary: dict[str, Any] = {
        "cpu_ms_per_turn": medians,
        "postgres_cpu_ms_per_turn": postgres_medians,
        "calls_per_turn": calls,
        "load_average": os.getloadavg(),
        "runs": runs,
    }
    if len(medians) == 2:
        summary["ratio"] = medians["service"] / medians["reference"]
        summary["calls_ratio"] = calls["service"] / calls["reference"]
        print(
            f"service / reference: CPU {summary['ratio']:.2f}x, Python calls {summary['calls_ratio']:.2f}x "
            f"(load average {os.getloadavg()[0]:.1f})"
        )
    if len(postgres_medians) == 2:
        summary["postgres_ratio"] = postgres_medians["service"] / postgres_medians["reference"]
        print(
            f"PostgreSQL CPU per turn: service {postgres_medians['service']:.2f} ms, reference "
            f"{postgres_medians['reference']:.2f} ms, {summary['postgres_ratio']:.2f}x"
        )
    if args.profile:
        path = ROOT / "bench" / "out" / f"turn-cpu-{int(time.time())}.pstats"
        path.parent.mkdir(parents=True, exist_ok=True)
        _child(args, "service", path)
        pstats.Stats(str(path)).sort_stats("tottime").print_stats(35)
        pstats.Stats(str(path)).sort_stats("cumulative").print_stats(60)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
