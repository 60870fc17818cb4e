"""Onboarding states in the admin: searchable, filterable, readable by ops, with confirmed reset and erase actions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from onboarding.models import AGENT_FIELDS, OnboardingState, agent_fields_in_use
from onboarding.services import onboarding_erase, onboarding_reset
from onboarding.state_writer import onboarding_state_save
from onboarding.steps import STEPS, WEEKDAY_NAMES, FieldSpec, step_get
from onboarding.steps.specs import plain_text

# "2 Dec 2026, 14:05": a person's time, without seconds or microseconds.
TIME_FORMAT = "j M Y, H:i"
CONFIRMATION_TEMPLATE = "admin/onboarding/onboardingstate/action_confirmation.html"
RESET_LOSES = ("their answers to every step", "the conversation", "the agents' memory", "their cached coach replies")
ERASE_LOSES = ("the whole onboarding record", *RESET_LOSES)
# What reads the agent columns: left out while AGENTS_ENABLED is off.
AGENT_DISPLAYS = frozenset({*AGENT_FIELDS, "extra_memory", "transcript"})


def state_title(state: OnboardingState) -> str:
    """The state as ops name it: the user's email and the step they are on."""
    return str(state)


def _plan_display(plan: Any) -> SafeString:
    # The weekly plan as one short line per training day; the exercises are the user's own business.
    if not isinstance(plan, Mapping):
        return format_html("{}", plain_text(plan))
    sessions = [session for session in plan.get("sessions", []) if isinstance(session, Mapping)]
    days = format_html_join(
        "",
        "<li>{}: {}, {} min</li>",
        (
            (
                WEEKDAY_NAMES[session["weekday"]] if session.get("weekday") in range(7) else "?",
                str(session.get("focus", "")).replace("_", " "),
                session.get("minutes", "?"),
            )
            for session in sessions
        ),
    )
    notes = format_html_join("", "<li>Note: {}</li>", ((note,) for note in plan.get("notes", [])))
    return format_html("<ul class='onboarding-plan'>{}{}</ul>", days, notes)


def _value_display(spec: FieldSpec, value: Any) -> SafeString:
    if spec.name == "plan":
        return _plan_display(value)
    try:
        return format_html("{}", spec.display(value))
    except (KeyError, TypeError, ValueError, AttributeError):  # an old or hand-edited value: show it as it is
        return format_html("{}", plain_text(value))


def _rows(rows: list[tuple[str, SafeString]]) -> SafeString:
    return format_html_join("", "<tr><th scope='row'>{}</th><td>{}</td></tr>", rows)


def _timestamp_display(raw: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        return str(raw or "")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return date_format(timezone.localtime(moment), TIME_FORMAT)


def _answered_names(step_data: Mapping[str, Any]) -> set[str]:
    return {name for answers in step_data.values() if isinstance(answers, Mapping) for name in answers}


@admin.register(OnboardingState)
class OnboardingStateAdmin(admin.ModelAdmin):
    """Find a user's onboarding, read their answers and conversation, reset or erase it after confirming."""

    list_display = ("user_email", "step_name", "current_agent", "is_complete", "updated_at")
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
        "answers",
        "extra_memory",
        "transcript",
    )
    exclude = ("step_data", "agent_context", "conversation_history")

    # With AGENTS_ENABLED off the agent columns are never read (they may be rolled back): the pages leave out
    # the current agent, the agents' memory and the transcript.
    def get_list_display(self, request: HttpRequest) -> Any:
        return self._without_agent_fields(super().get_list_display(request))

    def get_list_filter(self, request: HttpRequest) -> Any:
        return self._without_agent_fields(super().get_list_filter(request))

    def get_readonly_fields(self, request: HttpRequest, obj: OnboardingState | None = None) -> Any:
        return self._without_agent_fields(super().get_readonly_fields(request, obj))

    @staticmethod
    def _without_agent_fields(names: Any) -> Any:
        if agent_fields_in_use():
            return names
        return tuple(name for name in names if name not in AGENT_DISPLAYS)

    def get_fieldsets(self, request: HttpRequest, obj: OnboardingState | None = None) -> Any:
        if not agent_fields_in_use():
            return (
                (None, {"fields": (("user", "current_step", "is_complete"), ("created_at", "updated_at"))}),
                ("Answers", {"fields": ("answers",)}),
            )
        memory_classes = ("collapse",) if obj is None or not self._extra_memory(obj) else ()
        return (
            (
                None,
                {"fields": (("user", "current_step", "current_agent", "is_complete"), ("created_at", "updated_at"))},
            ),
            ("Answers", {"fields": ("answers",)}),
            ("Agent memory not in the answers", {"fields": ("extra_memory",), "classes": memory_classes}),
            ("Conversation", {"fields": ("transcript",)}),
        )

    @admin.display(description="User", ordering="user__email")
    def user_email(self, obj: OnboardingState) -> str:
        return obj.user.email

    @admin.display(description="Step", ordering="current_step")
    def step_name(self, obj: OnboardingState) -> str:
        return f"{obj.current_step}. {step_get(obj.current_step).title}"

    @admin.display(description="Answers by step")
    def answers(self, obj: OnboardingState) -> SafeString:
        panels = []
        for step in STEPS:
            saved = obj.step_data.get(str(step.number))
            if not isinstance(saved, Mapping) or not saved:
                continue
            known = {spec.name: spec for spec in step.fields}
            rows = [
                (
                    known[name].label() if name in known else name.replace("_", " "),
                    _value_display(known[name], value) if name in known else format_html("{}", plain_text(value)),
                )
                for name, value in saved.items()
            ]
            panels.append(
                format_html(
                    "<section class='onboarding-step'><h3>Step {}: {}</h3><table>{}</table></section>",
                    step.number,
                    step.title,
                    _rows(rows),
                )
            )
        if not panels:
            return mark_safe("<p>No answers yet.</p>")
        return format_html_join("", "{}", ((panel,) for panel in panels))

    def _extra_memory(self, obj: OnboardingState) -> list[tuple[str, str, Any]]:
        # The memory mostly repeats saved answers; only what the agents hold beyond them is news to ops.
        answered = _answered_names(obj.step_data)
        return [
            (str(agent), str(name), value)
            for agent, memory in (obj.agent_context or {}).items()
            if isinstance(memory, Mapping)
            for name, value in memory.items()
            if name not in answered and value not in (None, "", [], {})
        ]

    @admin.display(description="Held by the agents")
    def extra_memory(self, obj: OnboardingState) -> SafeString:
        extra = self._extra_memory(obj)
        if not extra:
            return mark_safe("<p>Nothing beyond the saved answers.</p>")
        rows = [
            (f"{name.replace('_', ' ')} ({agent.replace('_', ' ')})", format_html("{}", plain_text(value)))
            for agent, name, value in extra
        ]
        return format_html("<table>{}</table>", _rows(rows))

    @admin.display(description="Transcript")
    def transcript(self, obj: OnboardingState) -> SafeString:
        if not obj.conversation_history:
            return mark_safe("<p>No messages yet.</p>")
        rows = format_html_join(
            "",
            "<div class='onboarding-message'><p><strong>{}</strong> <small>{} · step {}</small></p>"
            "<div style='white-space: pre-wrap'>{}</div></div>",
            (
                (
                    "User" if entry.get("role") == "user" else "Coach",
                    _timestamp_display(entry.get("timestamp", "")),
                    entry.get("step", "?"),
                    entry.get("content", ""),
                )
                for entry in obj.conversation_history
            ),
        )
        return format_html("<div style='max-width: 60em'>{}</div>", rows)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # states are created by the user starting onboarding

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        state = self.get_object(request, object_id)
        context = {
            **(extra_context or {}),
            # Every field is read-only: no Save buttons; erase goes through the confirmed action.
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        if state is not None:
            context["title"] = state_title(state)
            context["subtitle"] = None
        return super().change_view(request, object_id, form_url, extra_context=context)

    def save_model(self, request: HttpRequest, obj: OnboardingState, form: Any, change: bool) -> None:
        # Every field is read-only here; a save still goes through the one writer, which moves updated_at.
        onboarding_state_save(state=obj)

    def delete_model(self, request: HttpRequest, obj: OnboardingState) -> None:
        onboarding_erase(user=obj.user)  # the erase service, so what other apps keep about it goes too

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[OnboardingState]) -> None:
        for state in queryset.select_related("user"):
            onboarding_erase(user=state.user)

    def _confirmation(
        self,
        request: HttpRequest,
        queryset: QuerySet[OnboardingState],
        *,
        action: str,
        verb: str,
        loses: tuple[str, ...],
    ) -> TemplateResponse:
        states = list(queryset.select_related("user"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} {len(states)} onboarding(s)?",
            "opts": self.model._meta,
            "states": [state_title(state) for state in states],
            "selected": [state.pk for state in states],
            "action": action,
            "verb": verb,
            "loses": loses,
            "undoable": action == "reset_onboarding",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, CONFIRMATION_TEMPLATE, context)

    @admin.action(description="Reset onboarding to step 1 (asks first)")
    def reset_onboarding(self, request: HttpRequest, queryset: QuerySet[OnboardingState]) -> TemplateResponse | None:
        if request.POST.get("confirm") != "yes":
            return self._confirmation(request, queryset, action="reset_onboarding", verb="Reset", loses=RESET_LOSES)
        for state in queryset:
            onboarding_reset(state=state)
        self.message_user(request, f"Reset {queryset.count()} onboarding(s).", messages.SUCCESS)
        return None

    @admin.action(description="Erase onboarding data (asks first; cannot be undone)")
    def erase_onboarding(self, request: HttpRequest, queryset: QuerySet[OnboardingState]) -> TemplateResponse | None:
        if request.POST.get("confirm") != "yes":
            return self._confirmation(request, queryset, action="erase_onboarding", verb="Erase", loses=ERASE_LOSES)
        users = [state.user for state in queryset.select_related("user")]
        for user in users:
            onboarding_erase(user=user)  # also drops the user's cached LLM replies
        self.message_user(request, f"Erased {len(users)} onboarding(s).", messages.SUCCESS)
        return None
