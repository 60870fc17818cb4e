"""The reference chat turn served async (ASGI): the same work as ``views.chat``, with no thread held on the LLM.

Only to measure the async serving model against the thread model on the same minimal stack
(``bench/run.py --target reference-async``). The database phases run through ``sync_to_async`` with
``thread_sensitive=False``: Django's default (and its async ORM) would run every one of them on a single
thread per process, serialising all users' queries. Each phase returns its connection to the pool before
the LLM wait, like the thread model.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from bench.reference.models import Conversation

_client: anthropic.AsyncAnthropic | None = None  # one per process, created inside its event loop
_auth = JWTAuthentication()


def _async_client() -> anthropic.AsyncAnthropic:
    global _client  # noqa: PLW0603 (one client per worker process)
    if _client is None:
        _client = anthropic.AsyncAnthropic(
            api_key=settings.ANTHROPIC_API_KEY, base_url=settings.ANTHROPIC_BASE_URL, max_retries=0, timeout=60.0
        )
    return _client


def _read(token: Any) -> Conversation:
    """Phase 1 on a pool thread: the user (as simplejwt checks it) and their conversation row."""
    try:
        user = _auth.get_user(token)
        return Conversation.objects.get(user=user)
    finally:
        connection.close()


def _save(conversation: Conversation, message: str, text: str) -> None:
    """Phase 3 on a pool thread: append the two messages and save."""
    try:
        conversation.messages.append({"role": "user", "content": message})
        conversation.messages.append({"role": "assistant", "content": text})
        conversation.save(update_fields=["messages"])
    finally:
        connection.close()


async def chat(request: HttpRequest) -> JsonResponse:
    """One turn: authenticate, read, await the LLM on the event loop, save."""
    try:
        header = _auth.get_header(request)  # type: ignore[arg-type]
        raw = _auth.get_raw_token(header) if header is not None else None
        if raw is None:
            return JsonResponse({"detail": "not authenticated"}, status=401)
        token = _auth.get_validated_token(raw)
        conversation = await sync_to_async(_read, thread_sensitive=False)(token)
    except (InvalidToken, AuthenticationFailed) as exc:
        return JsonResponse({"detail": str(exc)}, status=401)
    message = str(json.loads(request.body or b"{}").get("message", ""))
    reply = await _async_client().messages.create(
        model=settings.LLM_MODEL,
        max_tokens=512,
        system="You are a friendly fitness coach.",
        messages=[{"role": "user", "content": message}],
    )
    text = "".join(block.text for block in reply.content if block.type == "text")
    await sync_to_async(_save, thread_sensitive=False)(conversation, message, text)
    return JsonResponse({"reply": text, "next_step": 1, "is_complete": False})
