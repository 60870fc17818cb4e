"""A fake Anthropic Messages API: a small asyncio HTTP/1.1 server and its scripting API.

The real ``anthropic`` SDK talks HTTP to it, so tests exercise the SDK's own parsing, retries, timeouts and
streaming instead of a patched method. Everything waits with ``asyncio.sleep``, so a single process holds
hundreds of slow concurrent calls, which is what the load benchmarks need.

Wire formats follow anthropic 2.13.0: JSON messages, SSE streams (``event:`` + ``data:`` lines, sent with
``Transfer-Encoding: chunked`` like the real API), and error bodies
``{"type": "error", "error": {"type": ..., "message": ...}, "request_id": ...}``. That SDK sends its
``api_key`` as ``Authorization: Bearer``; ``x-api-key`` is accepted too.

What anthropic 2.13.0 raises for each scripted outcome (streaming or not, unless said otherwise):

- ``Fault(429)`` ``RateLimitError``; ``Fault(529)`` ``OverloadedError``; ``Fault(500)``
  ``InternalServerError``; other statuses their ``APIStatusError`` subclass. The SDK retries 408/409/429/5xx,
  waiting ``retry_after`` seconds when given. A streaming call raises before yielding any event.
- ``Hang`` longer than the client timeout: ``APITimeoutError``. ``Disconnect``: ``APIConnectionError``.
  Both are retried by the SDK when ``max_retries`` allows.
- ``TruncatedStream``: ``httpx2.RemoteProtocolError`` (not wrapped by the SDK) while iterating a stream;
  ``APIConnectionError`` for a non-streaming call.
- ``RawToolInput``: see its docstring.

Prompt caching behaves like the real API's, on a token estimate: the prompt is read as blocks in the order the
API caches them (tools, then system, then messages), and the prefix up to each ``cache_control`` breakpoint (or,
with a top-level ``cache_control``, up to the last block: automatic caching) is cached only when it reaches the
model's minimum cacheable length (``min_cacheable_tokens``). Below it both cache counts are 0, as the real API
silently does. ``cache_floor`` overrides the per-model figure (0 caches any prefix).

Usage::

    with FakeAnthropicServer() as server:
        server.enqueue(Fault(429, retry_after=0.01), Reply(tool_calls=[ToolCall("save", {"x": 1})]))
        client = anthropic.Anthropic(api_key="test-key", base_url=server.url)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import http
import json
import math
import random
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, urlsplit

DEFAULT_REPLY_TEXT = "Thanks! Tell me more."
MODEL_IDS = ("claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-5-5")

# (error type, message) the real API sends for each status; a Fault may override either.
_ERRORS_BY_STATUS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request"),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}
_REASONS = {529: "Overloaded"}
# Benchmarks run for minutes with per-user system prompts; forgetting old prefixes keeps memory bounded.
_MAX_CACHED_PREFIXES = 100_000
_LOOKBACK_BLOCKS = 20  # how far before a breakpoint the real API looks for a prefix cached earlier
_TEXT_WORDS_PER_DELTA = 3
_JSON_CHARS_PER_DELTA = 24
# Token estimate: about 4 characters a token, Anthropic's rule of thumb for English text. Tool definitions are
# JSON, which real tokenizers split finer, so this undercounts them: a prefix that clears the floor here clears it
# at the real API too.
CHARS_PER_TOKEN = 4
# Minimum cacheable prompt length per model, from Anthropic's prompt-caching docs ("Cache limitations",
# https://platform.claude.com/docs/en/build-with-claude/prompt-caching): 1,024 tokens for every Sonnet (3.7 to
# 4.6) and for Opus 4 and 4.1; 2,048 for Haiku 3 and 3.5; 4,096 for Opus 4.5 and 4.6 and for Haiku 4.5.
# Family -> (from version, floor), newest first; a later version than any listed takes the newest figure.
_CACHE_FLOORS: dict[str, tuple[tuple[tuple[int, int], int], ...]] = {
    "sonnet": (((0, 0), 1024),),
    "opus": (((4, 5), 4096), ((0, 0), 1024)),
    "haiku": (((4, 5), 4096), ((0, 0), 2048)),
}
DEFAULT_CACHE_FLOOR = 1024  # a model id of no known family
# claude-sonnet-4-5-20250929, claude-opus-4-1, claude-3-5-haiku-20241022, claude-haiku-5-5...
_MODEL_ID = re.compile(
    r"^claude-(?:(?P<old_major>\d{1,2})-(?:(?P<old_minor>\d)-)?)?(?P<family>[a-z]+)"
    r"(?:-(?P<major>\d{1,2})(?:-(?P<minor>\d))?)?(?:-|$)"
)


@dataclass(frozen=True)
class ToolCall:
    """A ``tool_use`` block the fake model emits; ``id`` is generated (``toolu_...``) when omitted."""

    name: str
    input: Mapping[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class Usage:
    """Token counts to report instead of the computed ones; fields left as None keep the computed value."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


@dataclass(frozen=True)
class Reply:
    """A successful assistant message: optional text, then one ``tool_use`` block per tool call.

    ``stop_reason`` defaults to ``"tool_use"`` when there are tool calls and ``"end_turn"`` otherwise;
    set it (e.g. ``"max_tokens"``) to script a cut-off answer.
    """

    text: str = DEFAULT_REPLY_TEXT
    tool_calls: Sequence[ToolCall] = ()
    usage: Usage | None = None
    latency: float = 0.0
    stop_reason: str | None = None


@dataclass(frozen=True)
class Fault:
    """An HTTP error answer with the Anthropic error body; ``error_type`` and ``message`` default per status."""

    status: int = 500
    error_type: str | None = None
    message: str | None = None
    retry_after: float | None = None
    latency: float = 0.0


@dataclass(frozen=True)
class Hang:
    """Waits ``seconds`` before answering with the default responder, to trip client timeouts."""

    seconds: float


@dataclass(frozen=True)
class Disconnect:
    """Closes the connection after reading the request, without sending any response."""


@dataclass(frozen=True)
class TruncatedStream:
    """Starts a reply and drops the connection part-way.

    Streaming requests get the response head and the first ``after_events`` SSE events (``message_start``,
    ``ping``, ``content_block_start``, then text deltas...); non-streaming requests get the response head and
    half of the JSON body. Either way the connection is then closed.
    """

    text: str = DEFAULT_REPLY_TEXT
    after_events: int = 3


@dataclass(frozen=True)
class RawToolInput:
    """A ``tool_use`` block whose input is ``raw_json_text`` verbatim, typically invalid or truncated JSON.

    Streaming: the text is sent as ``input_json_delta`` chunks, exactly as a model that produced bad JSON
    would; the SDK's ``messages.stream()`` accumulator then raises ``ValueError`` for invalid JSON, and yields
    a partial dict for a truncated-but-valid prefix (it parses in partial mode).
    Non-streaming: ``input`` is sent as a JSON *string* holding the raw text. The SDK does not validate
    responses by default, so ``ToolUseBlock.input`` arrives as that ``str`` instead of a dict, which is what
    code reading tool input has to survive. (A malformed JSON body would instead fail the whole response.)
    """

    name: str
    raw_json_text: str
    text: str = ""


Outcome: TypeAlias = Reply | Fault | Hang | Disconnect | TruncatedStream | RawToolInput
Responder: TypeAlias = Callable[[dict[str, Any]], Reply | Fault]
LatencySource: TypeAlias = float | Callable[[], float]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it; ``body`` is the parsed JSON, or None if absent or invalid."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    received_at: float


def default_responder(request_body: dict[str, Any]) -> Reply | Fault:
    """The responder used when nothing is scripted: a short text reply that echoes nothing from the request."""
    return Reply()


class FakeAnthropicServer:
    """A fake Anthropic API server on an ephemeral (or given) port, scriptable from any thread.

    ``with FakeAnthropicServer() as server:`` runs it on its own event loop in a daemon thread;
    ``start_async()``/``stop_async()`` run it inside an existing loop instead (the CLI does).
    ``reset()`` restores everything scripted to the constructor's settings.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        responder: Responder = default_responder,
        latency: LatencySource = 0.0,
        accepted_keys: Iterable[str] | None = None,
        record_requests: bool = True,
        cache_floor: int | None = None,
    ) -> None:
        self.host = host
        # None: each model's own minimum cacheable length (min_cacheable_tokens); a number: that floor for all.
        self.cache_floor = cache_floor
        self._requested_port = port
        self._port: int | None = None
        self._initial_responder = responder
        self._initial_latency = latency
        self._initial_keys = frozenset(accepted_keys) if accepted_keys is not None else None
        self._record_requests = record_requests
        self._lock = threading.Lock()
        self._queue: deque[Outcome] = deque()
        self._requests: list[RecordedRequest] = []
        self._request_count = 0
        self._cached_prefixes: set[str] = set()
        self._in_flight = 0
        self._max_in_flight = 0
        self._responder = responder
        self._latency = latency
        self._accepted_keys = self._initial_keys
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ----- lifecycle -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL to hand to ``anthropic.Anthropic(base_url=...)``."""
        if self._port is None:
            raise RuntimeError("FakeAnthropicServer is not running")
        return f"http://{self.host}:{self._port}"

    async def start_async(self) -> None:
        """Bind and start serving on the running event loop."""
        # A large backlog because benchmarks open hundreds of connections at once.
        self._server = await asyncio.start_server(self._serve_connection, self.host, self._requested_port, backlog=4096)
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop_async(self) -> None:
        """Stop accepting, cut every open connection (hanging calls included) and release the port."""
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None
        self._port = None

    def start(self) -> FakeAnthropicServer:
        """Run the server on a new event loop in a daemon thread; returns once it accepts connections."""
        if self._thread is not None:
            raise RuntimeError("FakeAnthropicServer is already running")
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:  # surfaced to the caller of start() below
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        thread = threading.Thread(target=run, name="fake-anthropic", daemon=True)
        thread.start()
        started.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._loop, self._thread = loop, thread
        return self

    def stop(self) -> None:
        """Stop the server started with ``start()`` and wait for its thread to end."""
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop_async(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop, self._thread = None, None

    def __enter__(self) -> FakeAnthropicServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----- scripting (thread-safe) -------------------------------------------------------------------------

    def enqueue(self, *items: Outcome) -> None:
        """Script the next ``/v1/messages`` outcomes, consumed in order; the responder answers once they run out."""
        with self._lock:
            self._queue.extend(items)

    def set_default_responder(self, responder: Responder) -> None:
        """Answer unscripted ``/v1/messages`` calls with ``responder(request_body)``."""
        with self._lock:
            self._responder = responder

    def set_latency(self, latency: LatencySource) -> None:
        """Delay every ``/v1/messages`` answer by ``latency`` seconds (or by ``latency()``, drawn per call)."""
        with self._lock:
            self._latency = latency

    def set_accepted_keys(self, keys: Iterable[str] | None) -> None:
        """Accept only these keys (``x-api-key`` or ``Authorization: Bearer``); None accepts any non-empty key."""
        with self._lock:
            self._accepted_keys = frozenset(keys) if keys is not None else None

    def reset(self) -> None:
        """Forget recorded requests, scripted outcomes, cache prefixes and peak concurrency; restore settings."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._request_count = 0
            self._cached_prefixes.clear()
            self._max_in_flight = self._in_flight
            self._responder = self._initial_responder
            self._latency = self._initial_latency
            self._accepted_keys = self._initial_keys

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far (empty when ``record_requests`` is off)."""
        with self._lock:
            return list(self._requests)

    def message_requests(self) -> list[Any]:
        """The JSON bodies of the ``POST /v1/messages`` requests received so far, in order."""
        return [r.body for r in self.requests if r.method == "POST" and r.path == "/v1/messages"]

    @property
    def request_count(self) -> int:
        """How many requests arrived, counted even when ``record_requests`` is off."""
        with self._lock:
            return self._request_count

    @property
    def max_concurrency_seen(self) -> int:
        """Peak number of requests being handled at the same time."""
        with self._lock:
            return self._max_in_flight

    # ----- HTTP ------------------------------------------------------------------------------------------

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                try:
                    request = await _read_request(reader)
                except (ValueError, asyncio.LimitOverrunError, asyncio.IncompleteReadError):
                    await _send_json(writer, 400, _error_body("invalid_request_error", "Malformed HTTP request"))
                    break
                if request is None or not await self._dispatch(request, writer):
                    break
        except (ConnectionError, asyncio.CancelledError):
            # The client went away, or stop_async() is cutting connections: nothing left to answer.
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _dispatch(self, request: _HttpRequest, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; returns whether the connection may carry another."""
        target = urlsplit(request.target)
        body = _parse_json(request.body)
        self._record(request, target.path, dict(parse_qsl(target.query)), body)
        with self._tracking_in_flight():
            key = _api_key(request.headers)
            with self._lock:
                accepted = self._accepted_keys
            if not key or (accepted is not None and key not in accepted):
                await _send_json(writer, 401, _error_body("authentication_error", "invalid x-api-key"))
                return request.keep_alive
            if request.method == "POST" and target.path == "/v1/messages":
                return await self._answer_messages(body, len(request.body), writer) and request.keep_alive
            if request.method == "GET" and target.path == "/v1/models":
                models = [_model_info(model_id) for model_id in MODEL_IDS]
                page = {"data": models, "has_more": False, "first_id": MODEL_IDS[0], "last_id": MODEL_IDS[-1]}
                await _send_json(writer, 200, page)
                return request.keep_alive
            if request.method == "GET" and target.path.startswith("/v1/models/"):
                await _send_json(writer, 200, _model_info(target.path.removeprefix("/v1/models/")))
                return request.keep_alive
            await _send_json(writer, 404, _error_body("not_found_error", f"Not found: {request.method} {target.path}"))
            return request.keep_alive

    def _record(self, request: _HttpRequest, path: str, query: dict[str, str], body: Any) -> None:
        recorded = RecordedRequest(request.method, path, query, dict(request.headers), body, time.time())
        with self._lock:
            self._request_count += 1
            if self._record_requests:
                self._requests.append(recorded)

    @contextlib.contextmanager
    def _tracking_in_flight(self) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    # ----- /v1/messages ----------------------------------------------------------------------------------

    async def _answer_messages(self, body: Any, body_size: int, writer: asyncio.StreamWriter) -> bool:
        problem = _messages_body_problem(body)
        if problem is not None:
            await _send_json(writer, 400, _error_body("invalid_request_error", problem))
            return True
        with self._lock:
            outcome: Outcome | None = self._queue.popleft() if self._queue else None
        if isinstance(outcome, Hang):
            await asyncio.sleep(outcome.seconds)
            outcome = None
        if outcome is None:
            outcome = self._respond_by_default(body)
        await asyncio.sleep(self._latency_seconds() + getattr(outcome, "latency", 0.0))

        if isinstance(outcome, Disconnect):
            return False
        if isinstance(outcome, Fault):
            await _send_fault(writer, outcome)
            return True

        streaming = body.get("stream") is True
        usage = self._usage_for(body, body_size)
        if isinstance(outcome, TruncatedStream):
            message = _message(body, [_text_block(outcome.text)], "end_turn", usage, Usage())
            if streaming:
                events = _stream_events(message)[: outcome.after_events]
                await _send_sse(writer, events, finish=False)
            else:
                payload = json.dumps(message).encode()
                head = _response_head(
                    200, [("content-type", "application/json"), ("content-length", str(len(payload)))]
                )
                writer.write(head + payload[: len(payload) // 2])
                await writer.drain()
            return False

        if isinstance(outcome, RawToolInput):
            blocks = [_text_block(outcome.text)] if outcome.text else []
            blocks.append(
                {"type": "tool_use", "id": _new_id("toolu_"), "name": outcome.name, "input": outcome.raw_json_text}
            )
            message = _message(body, blocks, "tool_use", usage, Usage())
        else:
            blocks = [_text_block(outcome.text)] if outcome.text or not outcome.tool_calls else []
            blocks += [
                {"type": "tool_use", "id": call.id or _new_id("toolu_"), "name": call.name, "input": dict(call.input)}
                for call in outcome.tool_calls
            ]
            stop_reason = outcome.stop_reason or ("tool_use" if outcome.tool_calls else "end_turn")
            message = _message(body, blocks, stop_reason, usage, outcome.usage or Usage())

        if streaming:
            await _send_sse(writer, _stream_events(message), finish=True)
        else:
            await _send_json(writer, 200, message)
        return True

    def _respond_by_default(self, body: dict[str, Any]) -> Reply | Fault:
        with self._lock:
            responder = self._responder
        try:
            return responder(body)
        except Exception as exc:
            # A broken responder (e.g. bad benchmark overrides) should show up as a readable API error,
            # not as a dropped connection.
            return Fault(500, "api_error", f"fake_anthropic responder failed: {exc!r}")

    def _latency_seconds(self) -> float:
        with self._lock:
            latency = self._latency
        return max(0.0, latency() if callable(latency) else latency)

    def cache_floor_for(self, model: str) -> int:
        """The fewest estimated tokens a prefix of ``model`` needs to be cached on this server."""
        return min_cacheable_tokens(model) if self.cache_floor is None else self.cache_floor

    def _usage_for(self, body: dict[str, Any], body_size: int) -> dict[str, int]:
        """Plausible input-side usage: ~4 bytes a token, and prompt caching of the prefixes that clear the floor.

        Like the real API: the longest prefix cached before (looked for up to 20 blocks before each breakpoint)
        is read, the rest up to the last breakpoint is written, and ``input_tokens`` counts what follows it.
        """
        total = max(1, body_size // CHARS_PER_TOKEN)
        floor = self.cache_floor_for(str(body.get("model")))
        prefixes = [(digest, min(tokens, total), marked) for digest, tokens, marked in _prefixes(body)]
        breakpoints = [index for index, (_, tokens, marked) in enumerate(prefixes) if marked and tokens >= floor]
        created = read = 0
        if breakpoints:
            looked_at = {i for b in breakpoints for i in range(max(0, b - _LOOKBACK_BLOCKS), b + 1)}
            with self._lock:
                read = max(
                    (
                        prefixes[i][1]
                        for i in looked_at
                        if prefixes[i][1] >= floor and prefixes[i][0] in self._cached_prefixes
                    ),
                    default=0,
                )
                created = prefixes[breakpoints[-1]][1] - read
                if len(self._cached_prefixes) + len(breakpoints) > _MAX_CACHED_PREFIXES:
                    self._cached_prefixes.clear()
                self._cached_prefixes.update(prefixes[b][0] for b in breakpoints)
        return {
            "input_tokens": max(1, total - read - created),
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
        }


# ----- message and event construction ------------------------------------------------------------------------


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def _text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _block_output_text(block: dict[str, Any]) -> str:
    if block["type"] == "text":
        return str(block["text"])
    raw = block["input"]
    return raw if isinstance(raw, str) else json.dumps(raw)


def _message(
    body: dict[str, Any], blocks: list[dict[str, Any]], stop_reason: str, usage: dict[str, int], override: Usage
) -> dict[str, Any]:
    output_tokens = max(1, sum(len(_block_output_text(block)) for block in blocks) // 4)
    computed = {**usage, "output_tokens": output_tokens}
    for name, value in dataclasses.asdict(override).items():
        if value is not None:
            computed[name] = value
    return {
        "id": _new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": computed["input_tokens"],
            "output_tokens": computed["output_tokens"],
            "cache_creation_input_tokens": computed["cache_creation_input_tokens"],
            "cache_read_input_tokens": computed["cache_read_input_tokens"],
        },
    }


def _stream_events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The SSE events the real API sends for ``message``, in order."""
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {**message["usage"], "output_tokens": 1}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            opening: dict[str, Any] = {"type": "text", "text": ""}
            words = re.findall(r"\s*\S+|\s+$", block["text"])
            pieces = [
                "".join(words[i : i + _TEXT_WORDS_PER_DELTA]) for i in range(0, len(words), _TEXT_WORDS_PER_DELTA)
            ]
            deltas = [{"type": "text_delta", "text": piece} for piece in pieces]
        else:
            opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            raw = _block_output_text(block)
            # The real API opens every tool input with an empty partial_json chunk.
            pieces = ["", *(raw[i : i + _JSON_CHARS_PER_DELTA] for i in range(0, len(raw), _JSON_CHARS_PER_DELTA))]
            deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
        events.append({"type": "content_block_start", "index": index, "content_block": opening})
        events += [{"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas]
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": message["usage"]["output_tokens"]},
        }
    )
    events.append({"type": "message_stop"})
    return events


def _model_info(model_id: str) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": f"Fake {model_id}",
        "created_at": "2025-01-01T00:00:00Z",
        "lifecycle": "active",
        "deprecated_at": None,
        "retires_at": None,
    }


def _api_key(headers: Mapping[str, str]) -> str:
    """The caller's key: ``x-api-key``, or the bearer token anthropic>=2 sends its ``api_key`` as."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return headers.get("x-api-key") or (token.strip() if scheme.lower() == "bearer" else "")


def _error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}, "request_id": _new_id("req_")}


def _messages_body_problem(body: Any) -> str | None:
    """The real API's 400 for a request the SDK would not send, so callers' bugs are not hidden."""
    if not isinstance(body, dict):
        return "Request body must be a JSON object"
    if not isinstance(body.get("model"), str):
        return "model: Field required"
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    if not isinstance(body.get("messages"), list):
        return "messages: Field required"
    return None


def estimate_tokens(text: str) -> int:
    """The fake's token count of ``text``: its length over ``CHARS_PER_TOKEN``, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def min_cacheable_tokens(model: str) -> int:
    """Anthropic's minimum cacheable prompt length for ``model`` (see ``_CACHE_FLOORS``), in tokens."""
    match = _MODEL_ID.match(model)
    floors = _CACHE_FLOORS.get(match["family"]) if match else None
    if match is None or floors is None:
        return DEFAULT_CACHE_FLOOR
    major, minor = (match["major"], match["minor"]) if match["major"] else (match["old_major"], match["old_minor"])
    if major is None:
        return floors[0][1]
    version = (int(major), int(minor or 0))
    return next(floor for since, floor in floors if version >= since)


def _prompt_blocks(body: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The prompt's blocks in the order the API caches them: each tool, each system block, each message's blocks."""
    blocks: list[tuple[str, dict[str, Any]]] = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            blocks.append(("tools", tool))
    system = body.get("system")
    for block in [{"type": "text", "text": system}] if isinstance(system, str) else system or []:
        if isinstance(block, dict):
            blocks.append(("system", block))
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        for block in [{"type": "text", "text": content}] if isinstance(content, str) else content or []:
            if isinstance(block, dict):
                blocks.append((f"messages:{message.get('role')}", block))
    return blocks


def _block_text(section: str, block: Mapping[str, Any]) -> str:
    """What a block costs in the estimate: a text block's text, anything else (a tool, a tool result) as JSON."""
    content = {key: value for key, value in block.items() if key != "cache_control"}
    if section != "tools" and content.get("type") == "text" and isinstance(content.get("text"), str):
        return str(content["text"])
    return json.dumps(content, sort_keys=True)


def _prefixes(body: Mapping[str, Any]) -> list[tuple[str, int, bool]]:
    """For each block in cache order: (digest of the prefix ending there, its estimated tokens, is it a breakpoint).

    A breakpoint is a block with ``cache_control``; a top-level ``cache_control`` (automatic caching) makes the
    last block one. The digest covers the model and every block up to there, ``cache_control`` aside.
    """
    blocks = _prompt_blocks(body)
    automatic = isinstance(body.get("cache_control"), dict)
    digest = hashlib.sha256(json.dumps(body.get("model")).encode())
    tokens = 0
    found: list[tuple[str, int, bool]] = []
    for index, (section, block) in enumerate(blocks):
        text = _block_text(section, block)
        digest.update(f"\x00{section}\x00{text}".encode())
        tokens += estimate_tokens(text)
        found.append((digest.hexdigest(), tokens, "cache_control" in block or (automatic and index == len(blocks) - 1)))
    return found


def cached_prefix_tokens(body: Mapping[str, Any]) -> int:
    """The estimated tokens of a request's prefix up to its last cache breakpoint (0 without one).

    This is the figure compared with the model's floor: tests use it to show that a prompt's cached prefix
    clears ``min_cacheable_tokens``.
    """
    return max((tokens for _, tokens, marked in _prefixes(body) if marked), default=0)


# ----- HTTP/1.1 wire ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _HttpRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


async def _read_request(reader: asyncio.StreamReader) -> _HttpRequest | None:
    """Read one request; None when the client closed the connection between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, version = request_line.split(" ")
    headers: dict[str, str] = {}
    for line in filter(None, header_lines):
        name, _, value = line.partition(":")
        name = name.strip().lower()
        headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()

    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))

    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    return _HttpRequest(method, target, headers, body, keep_alive)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, ignored
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _response_head(status: int, headers: list[tuple[str, str]]) -> bytes:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = _REASONS.get(status, "Unknown")
    lines = [f"HTTP/1.1 {status} {reason}", f"request-id: {_new_id('req_')}", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _send_json(
    writer: asyncio.StreamWriter, status: int, payload: Any, extra_headers: Sequence[tuple[str, str]] = ()
) -> None:
    data = json.dumps(payload).encode()
    headers = [("content-type", "application/json"), ("content-length", str(len(data))), *extra_headers]
    writer.write(_response_head(status, headers) + data)
    await writer.drain()


async def _send_fault(writer: asyncio.StreamWriter, fault: Fault) -> None:
    default_type, default_message = _ERRORS_BY_STATUS.get(fault.status, ("api_error", "Error"))
    body = _error_body(fault.error_type or default_type, fault.message or default_message)
    headers = [("retry-after", f"{fault.retry_after:g}")] if fault.retry_after is not None else []
    await _send_json(writer, fault.status, body, headers)


async def _send_sse(writer: asyncio.StreamWriter, events: list[dict[str, Any]], *, finish: bool) -> None:
    """Send ``events`` as a chunked SSE body; without ``finish`` the body is left unterminated."""
    head = _response_head(
        200,
        [
            ("content-type", "text/event-stream; charset=utf-8"),
            ("cache-control", "no-cache"),
            ("transfer-encoding", "chunked"),
        ],
    )
    writer.write(head)
    for event in events:
        chunk = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
    if finish:
        writer.write(b"0\r\n\r\n")
    await writer.drain()


# ----- auto responder ----------------------------------------------------------------------------------------


def auto_responder(
    tool_ratio: float = 1.0,
    seed: int = 0,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    text: str = "Got it, thanks! Let me note that down.",
) -> Responder:
    """A responder for benchmarks that calls a tool on about ``tool_ratio`` of the requests that offer tools.

    The tool is the one ``tool_choice`` names, else the first in ``tools``; ``tool_choice`` ``any``/``tool``
    forces a call and ``none`` forbids it. Its input is ``schema_example(input_schema)``, its top-level keys
    replaced by ``overrides[tool_name]``, which is where cross-field rules (percentages summing to 100, as many workout
    days as days_per_week) are satisfied. Draws come from ``random.Random(seed)``, so a run is repeatable.
    """
    rng = random.Random(seed)
    rng_lock = threading.Lock()
    fixed = {name: dict(values) for name, values in (overrides or {}).items()}

    def respond(request_body: dict[str, Any]) -> Reply | Fault:
        with rng_lock:
            draw = rng.random()
        tools = [t for t in request_body.get("tools") or [] if isinstance(t, dict) and "input_schema" in t]
        choice = request_body.get("tool_choice") or {}
        choice_type = choice.get("type", "auto") if isinstance(choice, dict) else "auto"
        if choice_type == "tool":
            tools = [t for t in tools if t.get("name") == choice.get("name")]
        if not tools or choice_type == "none" or (choice_type == "auto" and draw >= tool_ratio):
            return Reply(text=text)
        tool = tools[0]
        tool_input = schema_example(tool["input_schema"])
        tool_input.update(fixed.get(tool["name"], {}))
        return Reply(text=text, tool_calls=[ToolCall(tool["name"], tool_input)])

    return respond


def schema_example(schema: Mapping[str, Any]) -> Any:
    """A value valid against ``schema``, for the JSON Schema subset tool definitions use.

    Objects get their required properties only (optional ones often carry cross-field rules), enums their
    first value, numbers the middle of their range, arrays ``minItems`` items (distinct and ascending for
    numbers; ``HH:MM`` times ascending and 3 hours apart from 07:00), booleans ``true``. Local ``$ref``s and
    ``anyOf``/``oneOf`` (first non-null branch) are followed.
    """
    return _example(schema, schema)


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if not (isinstance(ref, str) and ref.startswith("#/")):
        return schema
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return _resolve(node, root)


def _schema_type(schema: Mapping[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), "null")
    if isinstance(declared, str):
        return declared
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _example(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Any:
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        branches = [b for b in schema.get(key, []) if _schema_type(_resolve(b, root)) != "null"]
        if branches:
            return _example(branches[0], root)
    kind = _schema_type(schema)
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: _example(properties[name], root) for name in schema.get("required", []) if name in properties}
    if kind == "array":
        return _array_example(schema, root)
    if kind == "integer":
        low, high = _bounds(schema, step=1)
        return int((low + high) // 2) if low is not None and high is not None else int(low or high or 0)
    if kind == "number":
        low, high = _bounds(schema, step=0.01)
        return (low + high) / 2 if low is not None and high is not None else float(low or high or 0)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string_example(schema)


def _bounds(schema: Mapping[str, Any], *, step: float) -> tuple[float | None, float | None]:
    low = schema.get("minimum")
    if low is None and schema.get("exclusiveMinimum") is not None:
        low = schema["exclusiveMinimum"] + step
    high = schema.get("maximum")
    if high is None and schema.get("exclusiveMaximum") is not None:
        high = schema["exclusiveMaximum"] - step
    return low, high


def _string_example(schema: Mapping[str, Any]) -> str:
    pattern = schema.get("pattern")
    candidates = ["example", "07:00", "2025-01-01", "a", "0"]
    value = next((c for c in candidates if pattern is None or re.search(pattern, c)), "example")
    min_length = schema.get("minLength", 0)
    if len(value) < min_length:
        value = value.ljust(min_length, "x")
    return value[: schema["maxLength"]] if "maxLength" in schema else value


def _array_example(schema: Mapping[str, Any], root: Mapping[str, Any]) -> list[Any]:
    count = int(schema.get("minItems", 0))
    items = _resolve(schema.get("items", {}), root)
    if count == 0:
        return []
    enum = items.get("enum")
    if enum:
        return [enum[i % len(enum)] for i in range(count)]
    kind = _schema_type(items)
    if kind in ("integer", "number"):
        low, _ = _bounds(items, step=1)
        start = low if low is not None else 0
        return [int(start) + i if kind == "integer" else float(start) + i for i in range(count)]
    first = _example(items, root)
    if isinstance(first, str) and re.fullmatch(r"\d\d:\d\d", first):
        return _times(count)
    if isinstance(first, str) and schema.get("uniqueItems"):
        return [f"{first}{i + 1}" for i in range(count)]
    return [_example(items, root) for _ in range(count)]


def _times(count: int) -> list[str]:
    """``count`` ascending HH:MM times at least two hours apart within one day."""
    step = 3 if 7 + 3 * (count - 1) <= 23 else 2
    start = 7 if step == 3 else max(0, 23 - 2 * (count - 1))
    return [f"{start + step * i:02d}:00" for i in range(count)]
