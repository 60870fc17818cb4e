"""Onboarding states in the admin: searchable, filterable, readable, with reset and erase actions."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from onboarding.models import OnboardingState
from onboarding.services import onboarding_erase, onboarding_reset


def _pretty(value: Any) -> str:
    return format_html("<pre style='white-space: pre-wrap'>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


@admin.register(OnboardingState)
class OnboardingStateAdmin(admin.ModelAdmin):
    """Find a user's onboarding, read their answers and conversation, reset or erase it."""

    list_display = ("user_email", "current_step", "current_agent", "is_complete", "updated_at")
    list_filter = ("current_step", "current_agent", "is_complete")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    ordering = ("-updated_at",)
    actions = ("reset_onboarding", "erase_onboarding")
    readonly_fields = (
        "user",
        "current_step",
        "current_agent",
        "is_complete",
        "created_at",
        "updated_at",
        "step_data_pretty",
        "agent_context_pretty",
        "transcript",
    )
    exclude = ("step_data", "agent_context", "conversation_history")

    @admin.display(description="User", ordering="user__email")
    def user_email(self, obj: OnboardingState) -> str:
        return obj.user.email

    @admin.display(description="Answers (step_data)")
    def step_data_pretty(self, obj: OnboardingState) -> str:
        return _pretty(obj.step_data)

    @admin.display(description="Agent memory (agent_context)")
    def agent_context_pretty(self, obj: OnboardingState) -> str:
        return _pretty(obj.agent_context)

    @admin.display(description="Conversation")
    def transcript(self, obj: OnboardingState) -> str:
        if not obj.conversation_history:
            return "No messages yet."
        rows = format_html_join(
            "",
            "<p><strong>{}</strong> <small>{} · step {} · {}</small><br>{}</p>",
            (
                (
                    "User" if entry.get("role") == "user" else "Coach",
                    entry.get("timestamp", ""),
                    entry.get("step", "?"),
                    entry.get("agent_type", ""),
                    entry.get("content", ""),
                )
                for entry in obj.conversation_history
            ),
        )
        return format_html("<div style='max-width: 60em'>{}</div>", rows)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # states are created by the user starting onboarding

    @admin.action(description="Reset onboarding to step 1 (clears answers and conversation)")
    def reset_onboarding(self, request: HttpRequest, queryset: QuerySet[OnboardingState]) -> None:
        for state in queryset:
            onboarding_reset(state=state)
        self.message_user(request, f"Reset {queryset.count()} onboarding(s).", messages.SUCCESS)

    @admin.action(description="Erase onboarding data (cannot be undone)")
    def erase_onboarding(self, request: HttpRequest, queryset: QuerySet[OnboardingState]) -> None:
        users = [state.user for state in queryset.select_related("user")]
        for user in users:
            onboarding_erase(user=user)  # also drops the user's cached LLM replies
        self.message_user(request, f"Erased {len(users)} onboarding(s).", messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: OnboardingState) -> None:
        """The admin's plain delete is an erase: the user's cached LLM replies go too."""
        onboarding_erase(user=obj.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[OnboardingState]) -> None:
        for state in queryset.select_related("user"):
            onboarding_erase(user=state.user)
