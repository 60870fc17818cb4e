"""The reference chat turn: load the user from the JWT, read one row, call the SDK, append two entries, save."""

from __future__ import annotations

import anthropic
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from bench.reference.models import Conversation

# One client per process, as the service has (created at import, after gunicorn forks: preload_app is off).
client = anthropic.Anthropic(
    api_key=settings.ANTHROPIC_API_KEY, base_url=settings.ANTHROPIC_BASE_URL, max_retries=0, timeout=60.0
)


@api_view(["POST"])
def start(request: Request) -> Response:
    """Start (or resume) the user's conversation; answers like the service's onboarding start."""
    Conversation.objects.get_or_create(user=request.user)
    return Response({"current_step": 1, "is_complete": False})


@api_view(["POST"])
def chat(request: Request) -> Response:
    """One turn: the user's message to the LLM, both messages appended to the conversation."""
    data = request.data if isinstance(request.data, dict) else {}
    message = str(data.get("message", ""))
    conversation = Conversation.objects.get(user=request.user)
    # The pooled connection goes back before the LLM wait, as the service does: held for the whole call it
    # would cap the turns in flight at the pool size, and the reference would measure the pool, not the stack.
    connection.close()
    reply = client.messages.create(
        model=settings.LLM_MODEL,
        max_tokens=512,
        system="You are a friendly fitness coach.",
        messages=[{"role": "user", "content": message}],
    )
    text = "".join(block.text for block in reply.content if block.type == "text")
    conversation.messages.append({"role": "user", "content": message})
    conversation.messages.append({"role": "assistant", "content": text})
    conversation.save(update_fields=["messages"])
    return Response({"reply": text, "next_step": 1, "is_complete": False})


def health(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness for the harness's start-up wait (no dependency is checked)."""
    return JsonResponse({"status": "ok"})
