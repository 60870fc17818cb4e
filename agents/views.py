"""Chat endpoints on the caller's onboarding: ``onboarding/chat``, ``chat/stream`` and ``current-agent``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from accounts.authentication import DeferredUserJWTAuthentication, account_ensure_active
from agents import selectors, services
from agents.enabled import agents_ensure_enabled
from agents.serializers import ChatRequestSerializer, ChatResponseSerializer, CurrentAgentSerializer
from agents.throttles import ChatRateThrottle
from agents.turn.metrics import CLIENT_CLOSED, OK, ChatMeter
from core.errors import UnprocessableError
from core.schema import ErrorSerializer
from core.validation import serializer_validate

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Resending a message with the same key returns the first reply and never calls the LLM again.",
)
# A message Swagger UI's "Try it out" can send as is on a freshly started onboarding (it answers step 1).
_CHAT_EXAMPLES = [
    OpenApiExample("A first answer", value={"message": "I'm a beginner, I train twice a week."}, request_only=True)
]
_UNAVAILABLE_WHY = (
    "`llm_unavailable` or `database_unavailable` (with `Retry-After`: nothing was saved, resend), "
    "or `agents_disabled`: the operator switched the chat off (`AGENTS_ENABLED=false`); use the form flow."
)
_UNAVAILABLE = OpenApiResponse(ErrorSerializer, description=_UNAVAILABLE_WHY)
_ERRORS = {
    401: ErrorSerializer,
    404: ErrorSerializer,
    409: ErrorSerializer,
    422: ErrorSerializer,
    429: ErrorSerializer,
    502: ErrorSerializer,  # llm_request_rejected: the stream sends it as an ``error`` event instead
    503: _UNAVAILABLE,
}


def _component(name: str) -> str:
    return f"`#/components/schemas/{name}`"


# OpenAPI 3.0 has no way to type the JSON inside one line of a text body (``contentSchema`` is 3.1), and
# generated clients parse an object schema as JSON. The stream's schema is therefore only a description: the
# ``data`` of each event is a named component it points to (``ChatStreamDelta`` is appended in
# SPECTACULAR_SETTINGS). No ``type: string`` either: schemathesis reads a ``text/event-stream`` schema as the
# shape of each parsed event (an object), so any ``type`` would fail it or mislead clients.
_SSE_STREAM = {
    "description": "Server-Sent Events, each `event: <name>` then `data: <one line of JSON>` and a blank line:"
    f" `delta` events ({_component('ChatStreamDelta')}) as the reply is written, then one `done`"
    f" ({_component('ChatResponse')}, the body of POST onboarding/chat), or one `error` ({_component('Error')})"
    " if the LLM fails (nothing saved).",
}
_SSE_ERROR = {"description": f"One Server-Sent Event `error` whose `data` is an {_component('Error')} as JSON."}
# Errors answered before the stream starts come as JSON, or as one ``error`` event to an
# ``Accept: text/event-stream`` (or ``?format=sse``) request.
_STREAM_ERRORS: dict[Any, Any] = {}
for _code in (400, 401, 404, 409, 413, 422, 429, 503):
    _STREAM_ERRORS[(_code, "application/json")] = ErrorSerializer
    _STREAM_ERRORS[(_code, "text/event-stream")] = OpenApiResponse(response=_SSE_ERROR)
_STREAM_ERRORS[(503, "application/json")] = _UNAVAILABLE
_STREAM_ERRORS[(503, "text/event-stream")] = OpenApiResponse(response=_SSE_ERROR, description=_UNAVAILABLE_WHY)


def _chat_arguments(request: Request) -> dict[str, Any]:
    try:
        return _chat_arguments_parse(request)
    except Exception:
        # The account has not been checked yet (DeferredUserJWTAuthentication): a gone one gets its 401 first.
        account_ensure_active(request.user)
        raise


def _chat_arguments_parse(request: Request) -> dict[str, Any]:
    body, errors = serializer_validate(ChatRequestSerializer, request.data)
    if errors:
        raise ValidationError(errors)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise UnprocessableError(
            "Idempotency-Key must be 1-255 visible ASCII characters.",
            errors={"Idempotency-Key": ["Use 1-255 visible ASCII characters, e.g. a UUID."]},
        )
    return {"message": body["message"], "step": body.get("step"), "idempotency_key": key}


def sse_event(event: str, data: Any) -> str:
    """One Server-Sent Event."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


class EventStreamRenderer(BaseRenderer):
    """Lets clients ask for ``text/event-stream``; errors before the stream starts become one SSE event."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return sse_event("error", data).encode()


def _metered_stream(events: Iterator[tuple[str, Any]], meter: ChatMeter) -> Iterator[str]:
    """The stream's body; a client that leaves before the end is counted as ``client_closed``, not an error."""
    try:
        for event, data in events:
            yield sse_event(event, {"text": data} if event == "delta" else data)
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()  # a turn cut short releases its lock now, not when the generator is collected
        meter.count(CLIENT_CLOSED)  # a no-op when the turn counted its outcome


@extend_schema(tags=["chat"])
class ChatViewSet(ViewSet):
    """Chatting with the agents about the caller's own onboarding (routed like ``OnboardingViewSet``).

    Each action's ``name`` and docstring are what OPTIONS and the browsable API show. Every chat
    request is counted (``agents.turn.metrics``), whatever ends it: an error before the turn starts
    (authentication, throttling, validation, the database at the lock or the read) is counted here with
    the error response's ``code``.
    """

    # Unexpected failures are logged as the deployment guide's "Error in chat_onboarding: ..." (core.errors).
    error_log_name = "chat_onboarding"
    _METERED_ACTIONS = frozenset({"chat", "chat_stream"})
    meter: ChatMeter | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """Start the request's meter before authentication and throttling, so their refusals count too."""
        self.meter = ChatMeter() if self.action in self._METERED_ACTIONS else None
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        """Count a request the turn did not count itself (a stream counts its outcome when it ends)."""
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.meter is not None and not response.streaming:
            if response.status_code >= 400:
                data = getattr(response, "data", None)
                code = data.get("code") if isinstance(data, dict) else None
                code = str(code or response.status_code)
                self.meter.count(code, code)
            else:
                self.meter.count(OK)
        return response

    def check_permissions(self, request: Request) -> None:
        # After authentication (401 first), before the throttle: a switched-off chat costs no quota.
        super().check_permissions(request)
        agents_ensure_enabled()

    @extend_schema(
        operation_id="onboarding_chat",
        request=ChatRequestSerializer,
        examples=_CHAT_EXAMPLES,
        parameters=[_KEY_PARAMETER],
        responses={200: ChatResponseSerializer, **_ERRORS},
    )
    @action(
        detail=False,
        methods=["post"],
        name="Chat",
        throttle_classes=[ChatRateThrottle],
        authentication_classes=[DeferredUserJWTAuthentication],
    )
    def chat(self, request: Request) -> Response:
        """Send a message to the agent of the current (or an earlier) step."""
        reply = services.chat_turn_process(user=request.user, meter=self.meter, **_chat_arguments(request))
        return Response(reply.as_body())

    @extend_schema(
        operation_id="onboarding_chat_stream",
        request=ChatRequestSerializer,
        examples=_CHAT_EXAMPLES,
        parameters=[_KEY_PARAMETER],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                response=_SSE_STREAM,
                description='`event: delta` with `{"text": ...}` as the reply is written, then `event: done` '
                "with the same JSON as POST onboarding/chat, or `event: error` if the LLM fails (nothing saved).",
            ),
            **_STREAM_ERRORS,
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="chat/stream",
        name="Chat Stream",
        throttle_classes=[ChatRateThrottle],
        authentication_classes=[DeferredUserJWTAuthentication],
        renderer_classes=[JSONRenderer, EventStreamRenderer],
    )
    def chat_stream(self, request: Request) -> StreamingHttpResponse:
        """The chat endpoint as Server-Sent Events: ``delta`` events with text, then ``done`` with the chat reply."""
        meter = self.meter or ChatMeter()
        events = services.chat_turn_stream(user=request.user, meter=meter, **_chat_arguments(request))
        body = _metered_stream(events, meter)
        response = StreamingHttpResponse(body, content_type="text/event-stream; charset=utf-8")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response

    @extend_schema(
        operation_id="onboarding_current_agent",
        responses={
            200: CurrentAgentSerializer,
            401: ErrorSerializer,
            404: ErrorSerializer,
            503: OpenApiResponse(
                ErrorSerializer,
                description="`agents_disabled`: the operator switched the chat off (`AGENTS_ENABLED=false`), "
                "or `database_unavailable` (with `Retry-After`).",
            ),
        },
    )
    @action(detail=False, methods=["get"], url_path="current-agent", name="Current Agent")
    def current_agent(self, request: Request) -> Response:
        """The agent for the caller's current step and what the agents remember."""
        return Response(CurrentAgentSerializer(selectors.current_agent_get(user=request.user)).data)
