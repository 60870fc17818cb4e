"""A closed-model load generator for the onboarding chat: N users, each with its own account and token.

Each simulated user keeps one HTTP/1.1 keep-alive connection and walks the onboarding by chat: it starts
its onboarding (``POST onboarding/start``), then sends one message per step, waiting ``think`` seconds
after each reply before sending the next (one message in flight per user, like a person in the app).
A user whose onboarding completes takes the next unused account from the pool and starts again, so the
offered load stays flat for the whole run; if the pool runs dry the user stops (and the report says so).

The client is a minimal HTTP/1.1 implementation on asyncio streams rather than httpx: on 2 shared cores
the load generator must stay cheap (well under a millisecond of CPU per request), or it steals the CPU
the server is being measured with. It speaks exactly what this benchmark needs: ``Content-Length`` and
``chunked`` bodies, keep-alive, and Server-Sent Events for the streaming endpoint.

Standalone use against a running server (tokens from ``bench/seed.py``)::

    python bench/loadgen.py --port 8000 --tokens tokens.json --users 100 --think 2 --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# What a person would type at each step, in order: a user whose step is not complete after a message sends
# the next one (and cycles). With the fake Anthropic server the words do not matter (its responder decides);
# the offline engine really parses them, and each sequence completes its step (step 7 proposes the plan
# first and needs an explicit approval, hence two messages).
STEP_MESSAGES: dict[int, tuple[str, ...]] = {
    1: ("I'm a beginner",),
    2: ("no equipment, no injuries, no limitations",),
    3: ("I want to build muscle",),
    4: ("home, 3 days a week, 45 minutes",),
    5: ("looks good",),
    6: ("omnivore, no allergies, no intolerances, no dislikes",),
    7: ("2200 calories, 30% protein 45% carbs 25% fat, 3 meals", "looks good"),
    8: ("Monday, Wednesday and Friday at 18:30; meals at 7:30, 12:30 and 19:00",),
    9: ("2.5 liters of water, no supplements",),
}


def step_message(step: int, attempt: int) -> str:
    """The message a user sends on its ``attempt``-th try (from 0) at ``step``."""
    messages = STEP_MESSAGES.get(step, ("ok",))
    return messages[attempt % len(messages)]


START_PATH = "/api/v1/onboarding/start"
CHAT_PATHS = {"chat": "/api/v1/onboarding/chat", "stream": "/api/v1/onboarding/chat/stream"}
_MAX_ERROR_EXAMPLES = 20


@dataclass(frozen=True)
class LoadConfig:
    """One load run: who sends what, for how long."""

    host: str
    port: int
    users: int
    think: float
    duration: float
    warmup: float
    ramp: float
    endpoint: str = "chat"
    request_timeout: float = 60.0
    # gunicorn closes a kept-alive connection after GUNICORN_KEEPALIVE (5 s) of silence; a user idle for
    # longer opens a new one rather than race the server's close.
    keepalive_idle: float = 4.0
    seed: int = 1
    # Each pause drawn uniformly from think +/- think_jitter (the same mean). With a fixed pause and a fixed LLM
    # latency, users that are delayed together stay together, and the offered load arrives in waves.
    think_jitter: float = 0.0


@dataclass
class Sample:
    """One request: when it started (seconds from the run's start), how long it took, how it ended."""

    kind: str
    started: float
    latency: float
    status: int
    error: str | None = None
    ttfb: float | None = None
    first_delta: float | None = None


@dataclass
class LoadResult:
    """Everything the run recorded; times are seconds from the run's start."""

    config: LoadConfig
    samples: list[Sample]
    window_start: float
    window_end: float
    finished_at: float
    accounts_used: int
    onboardings_completed: int
    users_out_of_accounts: int
    error_examples: list[str] = field(default_factory=list)

    def window_samples(self, kind: str = "chat") -> list[Sample]:
        """The samples of ``kind`` that started inside the measured window."""
        return [s for s in self.samples if s.kind == kind and self.window_start <= s.started < self.window_end]

    def error_counts(self, samples: Sequence[Sample] | None = None) -> dict[str, int]:
        """Errors by kind (``http_409``, ``timeout``, ``connect_error``...) among ``samples`` (default: all)."""
        chosen = self.samples if samples is None else samples
        return dict(Counter(s.error for s in chosen if s.error is not None))


class ResponseError(Exception):
    """A request that did not produce a usable answer; ``kind`` is how the report counts it."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


@dataclass
class Response:
    """A parsed HTTP response; ``events`` holds ``(event, data)`` pairs for an SSE body."""

    status: int
    headers: dict[str, str]
    body: bytes
    ttfb: float
    first_delta: float | None = None
    events: list[tuple[str, str]] = field(default_factory=list)

    def json(self) -> Any:
        """The body as JSON (for an SSE body, the ``done`` event's data)."""
        if self.events:
            for event, data in reversed(self.events):
                if event in ("done", "error"):
                    return json.loads(data)
            raise ResponseError("bad_response", "stream ended without a done event")
        return json.loads(self.body)


class Connection:
    """One keep-alive HTTP/1.1 connection to the server, reopened when stale or closed."""

    def __init__(self, host: str, port: int, keepalive_idle: float) -> None:
        self.host = host
        self.port = port
        self.keepalive_idle = keepalive_idle
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._last_used = 0.0

    async def _ensure_open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        stale = time.monotonic() - self._last_used > self.keepalive_idle
        if self._reader is None or self._writer is None or stale or self._reader.at_eof():
            await self.close()
            try:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            except OSError as exc:
                raise ResponseError("connect_error", type(exc).__name__) from exc
            sock = self._writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._reader, self._writer

    async def close(self) -> None:
        """Close the socket (if open) without waiting for the peer."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def request(self, method: str, path: str, token: str, payload: Any = None, *, sse: bool = False) -> Response:
        """Send one request and read the whole response; raises ``ResponseError`` on transport failures."""
        reader, writer = await self._ensure_open()
        body = json.dumps(payload).encode() if payload is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {token}\r\n"
            f"Accept: {'text/event-stream' if sse else 'application/json'}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        sent = time.monotonic()
        try:
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
            status_line = await reader.readuntil(b"\r\n")
            ttfb = time.monotonic() - sent
            response = await self._read_rest(reader, status_line, ttfb, sent)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, OSError) as exc:
            await self.close()
            raise ResponseError("disconnected", type(exc).__name__) from exc
        self._last_used = time.monotonic()
        if response.headers.get("connection", "").lower() == "close":
            await self.close()
        return response

    async def _read_rest(self, reader: asyncio.StreamReader, status_line: bytes, ttfb: float, sent: float) -> Response:
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ResponseError("bad_response", f"status line {status_line[:60]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        raw_head = await reader.readuntil(b"\r\n\r\n")
        for line in raw_head.decode("latin-1").split("\r\n"):
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        response = Response(status=status, headers=headers, body=b"", ttfb=ttfb)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                        pass
                    break
                chunk = await reader.readexactly(size)
                await reader.readexactly(2)
                if response.first_delta is None and b"event: delta" in chunk:
                    response.first_delta = time.monotonic() - sent
                chunks.append(chunk)
            response.body = b"".join(chunks)
        else:
            response.body = await reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("content-type", "").startswith("text/event-stream"):
            response.events = _sse_events(response.body.decode())
        return response


def _sse_events(text: str) -> list[tuple[str, str]]:
    """``(event, data)`` pairs of a complete Server-Sent Events body."""
    events: list[tuple[str, str]] = []
    for block in text.split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            events.append((name, "\n".join(data)))
    return events


class AccountPool:
    """Pre-minted access tokens handed out once each (an account walks the onboarding once)."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._tokens = list(tokens)
        self.used = 0

    def take(self) -> str | None:
        """The next unused token, or None when all are used."""
        if self.used >= len(self._tokens):
            return None
        token = self._tokens[self.used]
        self.used += 1
        return token


class LoadRun:
    """The simulated users of one run and what they recorded."""

    def __init__(self, config: LoadConfig, tokens: Sequence[str]) -> None:
        if config.endpoint not in CHAT_PATHS:
            raise ValueError(f"endpoint must be one of {sorted(CHAT_PATHS)}, got {config.endpoint!r}")
        self.config = config
        self.pool = AccountPool(tokens)
        self.samples: list[Sample] = []
        self.error_examples: list[str] = []
        self.completed = 0
        self.out_of_accounts = 0
        self._t0 = 0.0

    def _now(self) -> float:
        return time.monotonic() - self._t0

    async def _call(
        self, conn: Connection, kind: str, path: str, token: str, payload: Any, *, sse: bool = False
    ) -> tuple[Sample, Any | None]:
        """One request, recorded as a sample; returns it with the JSON answer (None when it failed)."""
        started = self._now()
        sample = Sample(kind=kind, started=started, latency=0.0, status=0)
        answer: Any | None = None
        try:
            async with asyncio.timeout(self.config.request_timeout):
                response = await conn.request("POST", path, token, payload, sse=sse)
            sample.status = response.status
            sample.ttfb = response.ttfb
            sample.first_delta = response.first_delta
            if response.status >= 400:
                code = _error_code(response.body)
                sample.error = f"http_{response.status}" + (f"_{code}" if response.status == 409 and code else "")
                self._example(f"{kind} {response.status}: {response.body[:300]!r}")
            else:
                answer = response.json()
                if response.events and any(event == "error" for event, _ in response.events):
                    sample.error = "stream_error"
                    self._example(f"{kind} stream error event: {response.body[-300:]!r}")
                    answer = None
        except TimeoutError:
            await conn.close()
            sample.error = "timeout"
        except ResponseError as exc:
            sample.error = exc.kind
            self._example(f"{kind} {exc}")
        except ValueError as exc:  # a body that is not the JSON it claims to be
            sample.error = "bad_response"
            self._example(f"{kind} bad body: {exc}")
        sample.latency = self._now() - started
        self.samples.append(sample)
        return sample, answer

    def _example(self, text: str) -> None:
        if len(self.error_examples) < _MAX_ERROR_EXAMPLES:
            self.error_examples.append(f"t={self._now():.2f}s {text}")

    def _think(self, rng: random.Random) -> float:
        """One pause between a user's answer and their next message."""
        think, jitter = self.config.think, self.config.think_jitter
        return max(0.0, rng.uniform(think - jitter, think + jitter)) if jitter else think

    async def _user(self, rng: random.Random, deadline: float) -> None:
        """One person: start, then message, wait, message... until the deadline."""
        config = self.config
        conn = Connection(config.host, config.port, config.keepalive_idle)
        chat_path = CHAT_PATHS[config.endpoint]
        try:
            await asyncio.sleep(rng.uniform(0, config.ramp))
            token: str | None = None
            started = False
            step, attempt = 1, 0
            next_send = self._now()
            while True:
                if token is None:
                    token = self.pool.take()
                    if token is None:
                        self.out_of_accounts += 1
                        return
                    started = False
                if not started:
                    # A start that failed (e.g. 503 while the database restarts) is retried after a pause, as
                    # the app would; chatting without a started onboarding would only collect 404s.
                    if next_send >= deadline:
                        return
                    await asyncio.sleep(max(0.0, next_send - self._now()))
                    _, state = await self._call(conn, "start", START_PATH, token, None)
                    started = isinstance(state, dict)
                    step = int(state.get("current_step", 1)) if isinstance(state, dict) else 1
                    attempt = 0
                    next_send = self._now() + self._think(rng)
                    if not started:
                        continue
                if next_send >= deadline:
                    return
                await asyncio.sleep(max(0.0, next_send - self._now()))
                message = step_message(step, attempt)
                sample, answer = await self._call(
                    conn, "chat", chat_path, token, {"message": message}, sse=config.endpoint == "stream"
                )
                if isinstance(answer, dict):
                    if answer.get("is_complete"):
                        self.completed += 1
                        token, next_send = None, self._now()  # a fresh account starts right away
                        continue
                    next_step = int(answer.get("next_step") or step)
                    attempt = 0 if next_step != step else attempt + 1
                    step = next_step
                elif sample.error == "http_409_onboarding_complete":
                    token, next_send = None, self._now()
                    continue
                next_send = self._now() + self._think(rng)
        finally:
            await conn.close()

    async def run(
        self,
        *,
        on_window_start: Callable[[], Awaitable[None]] | None = None,
        on_window_end: Callable[[], Awaitable[None]] | None = None,
    ) -> LoadResult:
        """Run every user until ``warmup + duration``, let in-flight requests finish, return the record."""
        config = self.config
        self._t0 = time.monotonic()
        window_start = config.warmup
        window_end = config.warmup + config.duration
        rngs = random.Random(config.seed)
        users = [asyncio.create_task(self._user(random.Random(rngs.random()), window_end)) for _ in range(config.users)]

        async def at(moment: float, hook: Callable[[], Awaitable[None]] | None) -> None:
            if hook is not None:
                await asyncio.sleep(max(0.0, moment - self._now()))
                await hook()

        hooks = [
            asyncio.create_task(at(window_start, on_window_start)),
            asyncio.create_task(at(window_end, on_window_end)),
        ]
        # Every user stops sending at window_end; the last requests get request_timeout to finish.
        hard_stop = window_end + config.request_timeout + 5.0
        try:
            async with asyncio.timeout(hard_stop):
                await asyncio.gather(*users, *hooks)
        except TimeoutError:
            for task in users:
                task.cancel()
            await asyncio.gather(*users, return_exceptions=True)
        return LoadResult(
            config=config,
            samples=self.samples,
            window_start=window_start,
            window_end=window_end,
            finished_at=self._now(),
            accounts_used=self.pool.used,
            onboardings_completed=self.completed,
            users_out_of_accounts=self.out_of_accounts,
            error_examples=self.error_examples,
        )


def _error_code(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    code = parsed.get("code") if isinstance(parsed, dict) else None
    return str(code) if code else None


def accounts_needed(users: int, think: float, llm_latency: float, seconds: float, steps: int = 9) -> int:
    """Accounts a run needs: each user finishes one onboarding every ``steps`` cycles, plus a safety margin."""
    cycle = max(think + llm_latency, 0.005)
    per_user = int(seconds / cycle / steps) + 2
    return users * per_user


def main() -> None:
    """Run the load against an already running server and print a short summary."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens", type=Path, required=True, help="access tokens, a JSON list (seed.py)")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--think", type=float, default=2.0)
    parser.add_argument("--think-jitter", type=float, default=0.0, help="each pause uniform in --think +/- this")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--endpoint", choices=sorted(CHAT_PATHS), default="chat")
    args = parser.parse_args()
    config = LoadConfig(
        host=args.host,
        port=args.port,
        users=args.users,
        think=args.think,
        think_jitter=args.think_jitter,
        duration=args.duration,
        warmup=args.warmup,
        ramp=min(args.warmup, args.think + 1.0),
        endpoint=args.endpoint,
    )
    result = asyncio.run(LoadRun(config, json.loads(args.tokens.read_text())).run())
    window = result.window_samples()
    latencies = [s.latency for s in window if s.error is None]
    print(f"requests {len(window)}, throughput {len(window) / config.duration:.1f} req/s")
    if len(latencies) >= 2:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        print(f"p50 {cuts[49]:.3f}s  p95 {cuts[94]:.3f}s  p99 {cuts[98]:.3f}s  max {max(latencies):.3f}s")
    print(f"errors {result.error_counts(window)}")


if __name__ == "__main__":
    main()
