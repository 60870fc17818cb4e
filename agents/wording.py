"""Every sentence the chat turn says to the user, in one place and wrapped for translation.

The agents' own questions (``questions``, ``field_questions``) stay beside each agent,
as its prompt does; what is said around them - acknowledgements, refusals, step changes,
errors - is here. Each is a function so ``gettext`` runs in the request's language.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _


def reply_no_answer(message: str) -> str:
    """A message that answered nothing: a question gets a short reply, the rest a shrug."""
    if message.rstrip().endswith("?"):
        return _("Good question - let's finish setting up your plan first, and I'll help with that after.")
    return _("Sorry, I didn't catch an answer there.")


def reply_ask(asks: Sequence[str]) -> str:
    """Ask for the missing fields, each phrased by the agent (``"your fitness level"``)."""
    return _("Could you tell me %(asks)s?") % {"asks": f" {_('and')} ".join(asks)}


def ask_field(name: str) -> str:
    """How to ask for a field the agent has no question for: ``"your session minutes"``."""
    return _("your %(field)s") % {"field": name.replace("_", " ")}


def reply_acknowledge(saved: Sequence[str]) -> str:
    """Repeat back what was saved, as a sentence, so a misunderstanding shows.

    ``"Got it, I've noted your equipment (dumbbells), your injuries (bad knee) and no limitations."``
    """
    return _("Got it, I've noted %(saved)s.") % {"saved": spoken_list(saved)}


def noted_value(label: str, shown: str, value: object) -> str:
    """One value saved, as said back: ``"your fitness level (beginner)"``, ``"no injuries"``."""
    if value is None or value == [] or value is False:
        return _("no %(label)s") % {"label": label}
    if value is True:
        return _("yes to %(label)s") % {"label": label}
    return _("your %(label)s (%(value)s)") % {"label": label, "value": shown}


def spoken_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return _("%(most)s and %(last)s") % {"most": ", ".join(items[:-1]), "last": items[-1]}


def reply_not_saved(problems: Sequence[str]) -> str:
    """Refused values, each explained (see ``problem_choice`` and ``problem_range``)."""
    return _("I couldn't save that: %(problems)s.") % {"problems": "; ".join(problems)}


def problem_choice(label: str, choices: Sequence[str]) -> str:
    """A value outside a field's choices."""
    return _("%(label)s has to be one of: %(choices)s") % {"label": label, "choices": ", ".join(choices)}


def problem_range(label: str, minimum: float, maximum: float) -> str:
    """A number outside a field's range."""
    return _("%(label)s has to be between %(minimum)s and %(maximum)s") % {
        "label": label,
        "minimum": f"{minimum:g}",
        "maximum": f"{maximum:g}",
    }


def reply_declined() -> str:
    """The user said no to a proposal."""
    return _("No problem - tell me what you would like to change.")


def reply_step_opening(title: str) -> str:
    """The opening of a step whose agent has no question of its own."""
    return _("Let's do %(title)s.") % {"title": title.lower()}


def reply_onboarding_complete() -> str:
    """The last step was answered."""
    return _("That's everything - your onboarding is complete! Your plan is ready in the app.")


def reply_approved(title: str) -> str:
    """A proposal (the workout plan, the meal targets) was approved."""
    return _("Your %(title)s is approved.") % {"title": title.lower()}


def reply_removed(label: str, items: Sequence[str]) -> str:
    """Items the user explicitly removed from a list ("I've taken bad knee off your injuries.")."""
    return _("I've taken %(items)s off your %(label)s.") % {"items": ", ".join(items), "label": label}


def reply_carried(saved: Sequence[str]) -> str:
    """A step opens with answers the user already gave earlier in the conversation."""
    return _("You already told me %(saved)s.") % {"saved": spoken_list(saved)}


def reply_confirm_carried() -> str:
    """Ask to confirm answers given earlier, before the step is done."""
    return _("Is that right? Say yes, or tell me what to change.")


def review_ask(summary: str) -> str:
    """Every step is answered: the summary, and the question that completes onboarding."""
    return _(
        "Here is everything you told me:\n%(summary)s\n\nIs all of that right? Say yes to finish, or tell me "
        "what to change."
    ) % {"summary": summary}


def review_plan(sessions: int) -> str:
    """The workout plan in the summary: how many sessions a week it has."""
    return _("a plan of %(sessions)s sessions a week") % {"sessions": sessions}


def review_nothing() -> str:
    """A step of the summary with nothing to show."""
    return _("nothing noted")


def reply_needs_another_look(title: str) -> str:
    """A corrected answer made a later step's answer out of date."""
    return _("Your answers changed, so %(title)s needs another look.") % {"title": title.lower()}


# --- errors of a turn (the ``detail`` of the error body) -----------------------------------


def error_turn_in_progress() -> str:
    """409 ``turn_in_progress``."""
    return _("Another message is still being answered; wait for its reply, then send this one.")


def error_onboarding_erased() -> str:
    """409 ``onboarding_changed``."""
    return _("Your onboarding was erased while this message was answered.")


def error_turn_expired() -> str:
    """409 ``turn_expired``."""
    return _("This message was superseded; please resend it.")


def error_idempotency_key_reused() -> str:
    """422 ``idempotency_key_reused``."""
    return _("This Idempotency-Key was already used with a different request body.")


def error_context_too_large() -> str:
    """422 ``context_too_large``."""
    return _("The stored answers would exceed their size limit.")


def error_llm_unavailable() -> str:
    """503 ``llm_unavailable``."""
    return _("The coach is temporarily unavailable. Nothing was saved; please resend your message.")


def error_agents_disabled() -> str:
    """503 ``agents_disabled``: the operator turned the chat off (``AGENTS_ENABLED=false``)."""
    return _(
        "The coach chat is switched off for now. Nothing was saved; "
        "answer your onboarding steps with the form (POST onboarding/step) meanwhile."
    )


def error_llm_request_rejected() -> str:
    """502 ``llm_request_rejected``: the LLM refused our request itself."""
    return _("The coach could not answer this message. Nothing was saved; please rephrase it and try again.")


def error_internal() -> str:
    """The ``error`` event of a stream that failed unexpectedly."""
    return _("Internal server error.")
