"""The fake Anthropic server, driven by the real anthropic SDK over HTTP."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import jsonschema
import pytest
from anthropic.types import TextBlock, ToolParam, ToolUseBlock

from devtools.fake_anthropic import (
    DEFAULT_REPLY_TEXT,
    Disconnect,
    FakeAnthropicServer,
    Fault,
    Hang,
    RawToolInput,
    Reply,
    ToolCall,
    TruncatedStream,
    auto_responder,
    cached_prefix_tokens,
    estimate_tokens,
    min_cacheable_tokens,
    schema_example,
)
from devtools.fake_anthropic.__main__ import latency_from_args, overrides_from_args, parse_args

MODEL = "claude-sonnet-5-5"
PERSONA = "Coach persona. "  # 15 characters: 3.75 tokens by the fake's estimate
MESSAGES: list[Any] = [{"role": "user", "content": "I can do 10 push-ups."}]
TIME = r"^([01]\d|2[0-3]):[0-5]\d$"
SCHEDULE_TOOL: ToolParam = {
    "name": "save_schedule",
    "description": "Save the user's schedule.",
    "input_schema": {
        "type": "object",
        "additionalProperties": False,
        "required": ["workout_days", "workout_time", "meal_times", "approved", "daily_water_ml", "plan"],
        "properties": {
            "workout_days": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0, "maximum": 6},
                "minItems": 3,
                "maxItems": 7,
                "uniqueItems": True,
            },
            "workout_time": {"type": "string", "pattern": TIME},
            "meal_times": {"type": "array", "items": {"type": "string", "pattern": TIME}, "minItems": 4},
            "approved": {"type": "boolean", "enum": [True]},
            "daily_water_ml": {"type": "integer", "minimum": 500, "maximum": 10000},
            "plan": {
                "type": "object",
                "additionalProperties": False,
                "required": ["level", "weight_kg"],
                "properties": {
                    "level": {"type": "string", "enum": ["beginner", "intermediate", "advanced"]},
                    "weight_kg": {"type": "number", "minimum": 30, "maximum": 300},
                    "notes": {"type": "string"},
                },
            },
            "reminder_every_minutes": {"type": "integer", "minimum": 15, "maximum": 480},
        },
    },
}


@pytest.fixture
def server() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as fake:
        yield fake


@pytest.fixture
def client(server: FakeAnthropicServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key="test-key", base_url=server.url, max_retries=0) as sdk:
        yield sdk


def create(client: anthropic.Anthropic, **extra: Any) -> anthropic.types.Message:
    return client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES, **extra)


def test_text_reply_arrives_as_a_text_block(server: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    # given
    server.enqueue(Reply(text="What is your fitness level?"))

    # when
    message = create(client)

    # then
    assert [block.type for block in message.content] == ["text"]
    assert isinstance(message.content[0], TextBlock)
    assert message.content[0].text == "What is your fitness level?"
    assert message.stop_reason == "end_turn"
    assert message.model == MODEL
    assert message.usage.input_tokens > 0
    assert message.usage.output_tokens > 0


def test_unscripted_calls_get_the_default_reply(client: anthropic.Anthropic) -> None:
    # when
    message = create(client)

    # then
    assert isinstance(message.content[0], TextBlock)
    assert message.content[0].text == DEFAULT_REPLY_TEXT


def test_tool_use_reply_is_parsed_with_its_input(server: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    # given
    server.enqueue(
        Reply(text="Saving that.", tool_calls=[ToolCall("save_fitness_level", {"fitness_level": "beginner"})])
    )

    # when
    message = create(client, tools=[SCHEDULE_TOOL])

    # then
    tool_use = message.content[1]
    assert isinstance(tool_use, ToolUseBlock)
    assert tool_use.name == "save_fitness_level"
    assert tool_use.input == {"fitness_level": "beginner"}
    assert tool_use.id.startswith("toolu_")
    assert message.stop_reason == "tool_use"


def test_streamed_text_arrives_in_several_deltas_matching_the_final_message(
    server: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    # given
    text = "Great, ten push-ups is a solid start. How many days a week can you train?"
    server.enqueue(Reply(text=text))

    # when
    with client.messages.stream(model=MODEL, max_tokens=256, messages=MESSAGES) as stream:
        deltas = list(stream.text_stream)
        final = stream.get_final_message()

    # then
    assert len(deltas) >= 3
    assert "".join(deltas) == text
    assert final.content[0].type == "text"
    assert final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 1


def test_streamed_tool_input_is_reassembled_by_the_sdk(
    server: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    # given
    tool_input = {"workout_days": [0, 2, 4], "meal_times": ["07:00", "12:30", "19:00"], "approved": True}
    server.enqueue(Reply(text="", tool_calls=[ToolCall("save_schedule", tool_input)]))

    # when
    with client.messages.stream(model=MODEL, max_tokens=256, messages=MESSAGES, tools=[SCHEDULE_TOOL]) as stream:
        json_pieces = [event.partial_json for event in stream if event.type == "input_json"]
        final = stream.get_final_message()

    # then
    assert len(json_pieces) > 2
    assert json.loads("".join(json_pieces)) == tool_input
    tool_use = final.content[0]
    assert isinstance(tool_use, ToolUseBlock)
    assert tool_use.input == tool_input
    assert final.stop_reason == "tool_use"


def test_stream_via_create_yields_the_real_event_sequence(
    server: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    # given
    server.enqueue(Reply(text="Hi there", tool_calls=[ToolCall("save_schedule", {"approved": True})]))

    # when
    events = list(client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES, stream=True))

    # then
    kinds = [event.type for event in events]
    assert kinds[0] == "message_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 2
    assert events[-2].type == "message_delta"
    assert events[-2].delta.stop_reason == "tool_use"


def test_rate_limit_with_retry_after_is_retried_promptly_and_succeeds(server: FakeAnthropicServer) -> None:
    # given
    server.enqueue(Fault(status=429, retry_after=0.01), Reply(text="Back again."))
    started = time.monotonic()

    # when
    with anthropic.Anthropic(api_key="test-key", base_url=server.url, max_retries=1) as sdk:
        message = create(sdk)

    # then: the SDK waited the server's 10 ms, not its own 0.375 s+ backoff
    assert isinstance(message.content[0], TextBlock)
    assert message.content[0].text == "Back again."
    assert len(server.message_requests()) == 2
    assert time.monotonic() - started < 0.35


def test_overloaded_surfaces_as_overloaded_error_once_retries_run_out(server: FakeAnthropicServer) -> None:
    # given
    server.enqueue(Fault(status=529, retry_after=0.01), Fault(status=529, retry_after=0.01), Reply())

    # when
    with (
        anthropic.Anthropic(api_key="test-key", base_url=server.url, max_retries=1) as sdk,
        pytest.raises(anthropic.OverloadedError) as raised,
    ):
        create(sdk)

    # then
    assert isinstance(raised.value, anthropic.InternalServerError)
    assert raised.value.status_code == 529
    assert raised.value.type == "overloaded_error"
    assert len(server.message_requests()) == 2


def test_fault_on_a_streaming_call_raises_before_any_event(
    server: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    # given
    server.enqueue(Fault(status=500, message="boom"))

    # when
    with pytest.raises(anthropic.InternalServerError) as raised:
        client.messages.stream(model=MODEL, max_tokens=256, messages=MESSAGES).__enter__()

    # then
    assert raised.value.api_message == "boom"
    assert raised.value.type == "api_error"


def test_wrong_api_key_is_rejected_with_authentication_error(server: FakeAnthropicServer) -> None:
    # given
    server.set_accepted_keys({"right-key"})

    # when
    with (
        anthropic.Anthropic(api_key="wrong-key", base_url=server.url, max_retries=0) as sdk,
        pytest.raises(anthropic.AuthenticationError) as raised,
    ):
        create(sdk)

    # then
    assert raised.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        "request_id": raised.value.body["request_id"],  # type: ignore[index]
    }
    with anthropic.Anthropic(api_key="right-key", base_url=server.url, max_retries=0) as sdk:
        assert create(sdk).stop_reason == "end_turn"


def test_call_hanging_past_the_client_timeout_raises_api_timeout_error(
    server: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    # given
    server.enqueue(Hang(5))
    started = time.monotonic()

    # when
    with pytest.raises(anthropic.APITimeoutError):
        create(client.with_options(timeout=0.3))

    # then
    assert time.monotonic() - started < 2


def test_short_hang_delays_the_default_reply(server: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    # given
    server.enqueue(Hang(0.2))
    started = time.monotonic()

    # when
    message = create(client)

    # then
    assert time.monotonic() - started >= 0.2
    assert isinstance(message.content[0], TextBlock)
    assert message.content[0].text == DEFAULT_REPLY_TEXT


def test_disconnect_raises_api_connection_error(server: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    # given
    server.enqueue(Disconnect())

    # when
    with pytest.raises(anthropic.APIConnectionError) as raised:
        create(client)

    # then
    assert not isinstance(raised.value, anthropic.APITimeoutError)
    assert isinstance(raised.value.__cause__, httpx2.RemoteProtocolError)


def test_truncated_stream_raises_a_protocol_error_after_the_first_text(
    server: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    # given: message_start, ping, content_block_start, then one text delta
    server.enqueue(TruncatedStream(text="one two three four five six seven", after_events=4))
    received: list[str] = []

    # when: the SDK does not wrap mid-stream transport errors in its own exception types
    with (
        pytest.raises(httpx2.RemoteProtocolError),
        client.messages.stream(model=MODEL, max_tokens=256, messages=MESSAGES) as stream,
    ):
        received.extend(stream.text_stream)

    # then
    assert received == ["one two three"]


def test_truncated_non_streaming_reply_raises_api_connection_error(
    server: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    # given
    server.enqueue(TruncatedStream())

    # when / then
    with pytest.raises(anthropic.APIConnectionError):
        create(client)


def test_invalid_streamed_tool_json_makes_the_sdk_raise_value_error(
    server: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    # given
    server.enqueue(RawToolInput("save_schedule", '{"approved": tru, }'))

    # when / then
    with (
        pytest.raises(ValueError, match="Unable to parse tool parameter JSON"),
        client.messages.stream(model=MODEL, max_tokens=256, messages=MESSAGES, tools=[SCHEDULE_TOOL]) as stream,
    ):
        stream.until_done()


def test_raw_tool_input_without_streaming_arrives_as_a_string(
    server: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    # given
    server.enqueue(RawToolInput("save_schedule", '{"workout_days": [0, 2', text="Saving."))

    # when
    message = create(client, tools=[SCHEDULE_TOOL])

    # then
    tool_use = message.content[1]
    assert isinstance(tool_use, ToolUseBlock)
    assert tool_use.input == '{"workout_days": [0, 2'


def test_models_retrieve_answers_for_the_configured_model(client: anthropic.Anthropic) -> None:
    # when
    model = client.models.retrieve(MODEL)
    listed = [m.id for m in client.models.list()]

    # then
    assert model.id == MODEL
    assert model.type == "model"
    assert model.display_name
    assert MODEL in listed


def test_requests_are_recorded_with_their_body_and_headers(
    server: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    # when
    create(client, system="You are a fitness coach.", tools=[SCHEDULE_TOOL])

    # then
    recorded = server.requests[-1]
    assert (recorded.method, recorded.path) == ("POST", "/v1/messages")
    assert recorded.headers["authorization"] == "Bearer test-key"
    assert "anthropic-version" in recorded.headers
    body = server.message_requests()[-1]
    assert body["model"] == MODEL
    assert body["max_tokens"] == 256
    assert body["system"] == "You are a fitness coach."
    assert body["tools"][0]["name"] == "save_schedule"


def cached_system(text: str) -> Any:
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]


def test_cached_system_prompt_is_created_once_then_read(client: anthropic.Anthropic) -> None:
    # given: 1,125 estimated tokens, above the 1,024 a Sonnet model needs
    system = cached_system(PERSONA * 300)

    # when
    first = create(client, system=system)
    second = create(client, system=system)
    uncached = create(client, system=PERSONA)

    # then
    assert first.usage.cache_creation_input_tokens == estimate_tokens(PERSONA * 300) == 1125
    assert first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.cache_creation_input_tokens == 0
    assert uncached.usage.cache_creation_input_tokens == uncached.usage.cache_read_input_tokens == 0


def test_a_prefix_below_the_models_floor_is_silently_not_cached(client: anthropic.Anthropic) -> None:
    # given: 1,013 estimated tokens, just below Sonnet's 1,024
    system = cached_system(PERSONA * 270)

    # when
    first = create(client, system=system)
    second = create(client, system=system)

    # then: no error, nothing cached, the whole prompt counted as input
    for message in (first, second):
        assert message.usage.cache_creation_input_tokens == message.usage.cache_read_input_tokens == 0
        assert message.usage.input_tokens > 1000


def test_the_floor_is_each_models_own(client: anthropic.Anthropic) -> None:
    # given: 1,500 estimated tokens, enough for Sonnet (1,024) and not for Haiku 4.5 (4,096)
    system = cached_system(PERSONA * 400)

    # when
    sonnet = create(client, system=system)
    haiku = client.messages.create(model="claude-haiku-4-5", max_tokens=256, messages=MESSAGES, system=system)

    # then
    assert sonnet.usage.cache_creation_input_tokens == 1500
    assert haiku.usage.cache_creation_input_tokens == haiku.usage.cache_read_input_tokens == 0


@pytest.mark.parametrize(
    ("model", "floor"),
    [
        ("claude-sonnet-5-5", 1024),
        ("claude-sonnet-4-5-20250929", 1024),
        ("claude-3-7-sonnet-20250219", 1024),
        ("claude-opus-4-1-20250805", 1024),
        ("claude-opus-4-5-20251101", 4096),
        ("claude-opus-5-5", 4096),
        ("claude-3-5-haiku-20241022", 2048),
        ("claude-3-haiku-20240307", 2048),
        ("claude-haiku-4-5", 4096),
        ("some-other-model", 1024),
    ],
)
def test_minimum_cacheable_length_follows_anthropics_table(model: str, floor: int) -> None:
    assert min_cacheable_tokens(model) == floor


def test_cache_floor_option_replaces_the_models_floor() -> None:
    # given: 375 estimated tokens, far below any model's floor
    system = cached_system(PERSONA * 100)

    # when
    with (
        FakeAnthropicServer(cache_floor=0) as server,
        anthropic.Anthropic(api_key="test-key", base_url=server.url, max_retries=0) as sdk,
    ):
        first = create(sdk, system=system)
        second = create(sdk, system=system)

    # then
    assert first.usage.cache_creation_input_tokens == second.usage.cache_read_input_tokens == 375
    assert parse_args(["--cache-floor", "0"]).cache_floor == 0
    assert parse_args([]).cache_floor is None


def test_prefix_is_measured_up_to_the_last_breakpoint_in_cache_order() -> None:
    # given: tools come before the system prompt, and the user's own context after the breakpoint
    body = {
        "model": MODEL,
        "tools": [{"name": "save", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}}],
        "system": [
            {"type": "text", "text": "s" * 400, "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "this user's context " * 50},
        ],
        "messages": [{"role": "user", "content": "hello"}],
    }
    tool_text = json.dumps({"input_schema": {"type": "object"}, "name": "save"}, sort_keys=True)

    # then
    assert cached_prefix_tokens(body) == estimate_tokens(tool_text) + 100
    assert cached_prefix_tokens({**body, "cache_control": {"type": "ephemeral"}}) > cached_prefix_tokens(body) + 250
    assert cached_prefix_tokens({"model": MODEL, "system": "s" * 400, "messages": []}) == 0


def test_automatic_caching_reads_the_conversation_cached_by_the_previous_turn(client: anthropic.Anthropic) -> None:
    # given: a top-level cache_control puts the breakpoint on the last message, as Anthropic's automatic caching
    history: Any = [{"role": "user", "content": PERSONA * 300}]
    later: Any = [*history, {"role": "assistant", "content": "Noted."}, {"role": "user", "content": "And then?"}]

    # when
    first = client.messages.create(model=MODEL, max_tokens=64, messages=history, cache_control={"type": "ephemeral"})
    second = client.messages.create(model=MODEL, max_tokens=64, messages=later, cache_control={"type": "ephemeral"})

    # then
    assert first.usage.cache_creation_input_tokens == 1125
    assert second.usage.cache_read_input_tokens == 1125
    assert 0 < (second.usage.cache_creation_input_tokens or 0) < 10  # only the two new messages are written


def test_latency_is_applied_to_every_call_concurrently(server: FakeAnthropicServer) -> None:
    # given
    server.set_latency(lambda: 0.3)
    results: list[str] = []

    def call() -> None:
        with anthropic.Anthropic(api_key="test-key", base_url=server.url, max_retries=0) as sdk:
            results.append(create(sdk).stop_reason or "")

    threads = [threading.Thread(target=call) for _ in range(5)]
    started = time.monotonic()

    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then: five 0.3 s calls overlapped instead of queueing (all five were in flight at once, and
    # together they took less than one after the other would; the bound leaves room for a busy machine)
    elapsed = time.monotonic() - started
    assert results == ["end_turn"] * 5
    assert server.max_concurrency_seen == 5
    assert 0.3 <= elapsed < 5 * 0.3


def test_reset_forgets_requests_and_scripted_outcomes(server: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    # given
    create(client)
    server.enqueue(Fault(status=500))
    server.set_default_responder(lambda body: Reply(text="custom"))

    # when
    server.reset()

    # then
    assert server.requests == []
    message = create(client)
    assert isinstance(message.content[0], TextBlock)
    assert message.content[0].text == DEFAULT_REPLY_TEXT


def test_broken_default_responder_shows_up_as_an_api_error(
    server: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    # given
    def broken(body: dict[str, Any]) -> Reply:
        raise KeyError("save_meal_plan")

    server.set_default_responder(broken)

    # when
    with pytest.raises(anthropic.InternalServerError) as raised:
        create(client)

    # then
    assert "save_meal_plan" in (raised.value.api_message or "")


def raw_post(
    server: FakeAnthropicServer, path: str, body: bytes | Iterable[bytes], headers: dict[str, str]
) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=5)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_chunked_request_body_is_accepted(server: FakeAnthropicServer) -> None:
    # given: an iterable body makes http.client send it chunked
    body = json.dumps({"model": MODEL, "max_tokens": 10, "messages": MESSAGES}).encode()

    # when
    status, payload = raw_post(server, "/v1/messages", iter([body[:10], body[10:]]), {"x-api-key": "k"})

    # then
    assert server.requests[-1].headers["transfer-encoding"] == "chunked"
    assert status == 200
    assert payload["content"][0]["text"] == DEFAULT_REPLY_TEXT
    assert server.message_requests()[-1]["max_tokens"] == 10


@pytest.mark.parametrize(
    ("path", "body", "headers", "expected"),
    [
        ("/v1/messages", {"model": MODEL, "max_tokens": 5, "messages": []}, {}, (401, "authentication_error")),
        ("/v1/messages", {"model": MODEL, "messages": []}, {"x-api-key": "k"}, (400, "invalid_request_error")),
        ("/v1/messages", {"max_tokens": 5, "messages": []}, {"x-api-key": "k"}, (400, "invalid_request_error")),
        ("/v1/messages", {"model": MODEL, "max_tokens": 5}, {"x-api-key": "k"}, (400, "invalid_request_error")),
        ("/v1/messages", "not json", {"x-api-key": "k"}, (400, "invalid_request_error")),
        ("/v1/complete", {"prompt": "hi"}, {"x-api-key": "k"}, (404, "not_found_error")),
    ],
)
def test_requests_the_real_api_would_reject_get_its_error_body(
    server: FakeAnthropicServer, path: str, body: Any, headers: dict[str, str], expected: tuple[int, str]
) -> None:
    # given
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()

    # when
    answered_status, payload = raw_post(server, path, raw, headers)

    # then
    assert (answered_status, payload["error"]["type"]) == expected
    assert payload["type"] == "error"
    assert server.requests[-1].path == path


def test_server_without_recording_still_counts_requests() -> None:
    # given
    with FakeAnthropicServer(record_requests=False) as quiet:
        # when
        with anthropic.Anthropic(api_key="test-key", base_url=quiet.url, max_retries=0) as sdk:
            create(sdk)
            create(sdk)

        # then
        assert quiet.requests == []
        assert quiet.request_count == 2


def test_server_refuses_misuse_loudly(server: FakeAnthropicServer) -> None:
    # given
    port = int(server.url.rsplit(":", 1)[1])
    idle = FakeAnthropicServer()

    # when / then
    with pytest.raises(RuntimeError, match="not running"):
        idle.url  # noqa: B018
    with pytest.raises(RuntimeError, match="already running"):
        server.start()
    with pytest.raises(OSError, match="in use"):
        FakeAnthropicServer(port=port).start()


def test_stopped_server_releases_its_port_and_thread() -> None:
    # given
    with FakeAnthropicServer() as fake:
        url = fake.url

    # when / then
    with (
        anthropic.Anthropic(api_key="test-key", base_url=url, max_retries=0) as sdk,
        pytest.raises(anthropic.APIConnectionError),
    ):
        create(sdk)
    assert not any(thread.name == "fake-anthropic" for thread in threading.enumerate())


def test_schema_example_is_valid_against_the_schema() -> None:
    # when
    value = schema_example(SCHEDULE_TOOL["input_schema"])

    # then
    jsonschema.validate(value, SCHEDULE_TOOL["input_schema"])
    assert value["workout_days"] == [0, 1, 2]
    assert value["meal_times"] == ["07:00", "10:00", "13:00", "16:00"]
    assert value["daily_water_ml"] == 5250
    assert "reminder_every_minutes" not in value


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": ["string", "null"], "minLength": 10}, "examplexxx"),
        ({"type": "string", "maxLength": 3}, "exa"),
        ({"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}, "2025-01-01"),
        ({"const": "metric"}, "metric"),
        ({"type": "boolean"}, True),
        ({"type": "null"}, None),
        ({"type": "number", "minimum": 1.5, "maximum": 2.5}, 2.0),
        ({"type": "integer", "exclusiveMaximum": 10}, 9),
        ({"type": "integer"}, 0),
        ({"properties": {"a": {"type": "integer", "minimum": 3}}, "required": ["a"]}, {"a": 3}),
        ({"items": {"type": "string"}}, []),
        ({"type": "array", "minItems": 3, "items": {"enum": ["mon", "wed"]}}, ["mon", "wed", "mon"]),
        ({"type": "array", "minItems": 2, "uniqueItems": True, "items": {"type": "string"}}, ["example1", "example2"]),
        ({"type": "array", "minItems": 2, "items": {"type": "number", "minimum": 0.5}}, [0.5, 1.5]),
        ({"type": "array", "minItems": 2, "items": {"type": "boolean"}}, [True, True]),
        (
            {"type": "array", "minItems": 8, "items": {"type": "string", "pattern": TIME}},
            [f"{h:02d}:00" for h in range(9, 24, 2)],
        ),
    ],
)
def test_schema_example_builds_a_valid_value_for_each_kind(schema: dict[str, Any], expected: Any) -> None:
    # when
    value = schema_example(schema)

    # then
    assert value == expected
    jsonschema.validate(value, schema)


def test_schema_example_follows_refs_and_nullable_branches() -> None:
    # given: the shape pydantic emits
    schema = {
        "$defs": {"Goal": {"type": "string", "enum": ["fat_loss", "muscle_gain"]}},
        "type": "object",
        "required": ["goal", "target_weight_kg"],
        "properties": {
            "goal": {"$ref": "#/$defs/Goal"},
            "target_weight_kg": {"anyOf": [{"type": "null"}, {"type": "integer", "exclusiveMinimum": 29}]},
        },
    }

    # when
    value = schema_example(schema)

    # then
    assert value == {"goal": "fat_loss", "target_weight_kg": 30}


def tool_names(reply: Reply | Fault) -> list[str]:
    assert isinstance(reply, Reply)
    return [call.name for call in reply.tool_calls]


def test_auto_responder_calls_the_first_tool_with_overrides_applied() -> None:
    # given
    responder = auto_responder(tool_ratio=1.0, overrides={"save_schedule": {"workout_days": [0, 2, 4, 6]}})

    # when
    reply = responder({"tools": [SCHEDULE_TOOL, {**SCHEDULE_TOOL, "name": "save_goals"}], "messages": MESSAGES})

    # then
    assert isinstance(reply, Reply)
    (call,) = reply.tool_calls
    assert call.name == "save_schedule"
    assert call.input["workout_days"] == [0, 2, 4, 6]
    jsonschema.validate(call.input, SCHEDULE_TOOL["input_schema"])


def test_auto_responder_calls_tools_at_the_requested_ratio_repeatably() -> None:
    # given
    body = {"tools": [SCHEDULE_TOOL], "messages": MESSAGES}
    responder, same_seed = auto_responder(tool_ratio=0.3, seed=7), auto_responder(tool_ratio=0.3, seed=7)

    # when
    calls = [bool(tool_names(responder(body))) for _ in range(400)]
    repeated = [bool(tool_names(same_seed(body))) for _ in range(400)]

    # then
    assert calls == repeated
    assert 0.2 < sum(calls) / len(calls) < 0.4
    assert tool_names(auto_responder(tool_ratio=1.0)({"messages": MESSAGES})) == []


def test_auto_responder_honours_tool_choice() -> None:
    # given
    body: dict[str, Any] = {"tools": [SCHEDULE_TOOL, {**SCHEDULE_TOOL, "name": "save_goals"}], "messages": MESSAGES}

    # when
    forced = auto_responder(tool_ratio=0.0)({**body, "tool_choice": {"type": "tool", "name": "save_goals"}})
    forbidden = auto_responder(tool_ratio=1.0)({**body, "tool_choice": {"type": "none"}})

    # then
    assert tool_names(forced) == ["save_goals"]
    assert tool_names(forbidden) == []


def test_latency_options_draw_around_the_requested_mean() -> None:
    # given
    lognormal = latency_from_args(parse_args(["--latency-dist", "lognormal:1.0,0.5", "--seed", "3"]))
    jitter = latency_from_args(parse_args(["--latency", "1.0", "--latency-jitter", "0.2"]))
    constant = latency_from_args(parse_args(["--latency", "0.5"]))

    # when
    assert callable(lognormal)
    assert callable(jitter)
    lognormal_draws = [lognormal() for _ in range(4000)]
    jitter_draws = [jitter() for _ in range(200)]

    # then
    assert 0.9 < statistics.fmean(lognormal_draws) < 1.1
    assert all(0.8 <= draw <= 1.2 for draw in jitter_draws)
    assert constant == 0.5
    with pytest.raises(ValueError, match="lognormal"):
        latency_from_args(parse_args(["--latency-dist", "normal:1,2"]))


def test_overrides_file_must_map_tool_names_to_objects(tmp_path: Path) -> None:
    # given
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"save_meal_plan": {"protein_pct": 30}}))
    bad.write_text(json.dumps({"save_meal_plan": 30}))

    # when
    overrides = overrides_from_args(argparse.Namespace(overrides_json=good))

    # then
    assert overrides == {"save_meal_plan": {"protein_pct": 30}}
    assert overrides_from_args(argparse.Namespace(overrides_json=None)) == {}
    with pytest.raises(ValueError, match="object of objects"):
        overrides_from_args(argparse.Namespace(overrides_json=bad))


def test_cli_serves_auto_replies_until_sigterm(tmp_path: Path) -> None:
    # given
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps({"save_schedule": {"workout_days": [1, 3, 5]}}))
    command = [sys.executable, "-m", "devtools.fake_anthropic", "--port", "0", "--overrides-json", str(overrides)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")

        # when
        with anthropic.Anthropic(api_key="bench", base_url=line.removeprefix("listening on "), max_retries=0) as sdk:
            message = create(sdk, tools=[SCHEDULE_TOOL])
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=5)
    finally:
        process.kill()

    # then
    tool_use = message.content[-1]
    assert isinstance(tool_use, ToolUseBlock)
    assert tool_use.input["workout_days"] == [1, 3, 5]
    assert process.returncode == 0
    assert "served 1 requests" in stderr
