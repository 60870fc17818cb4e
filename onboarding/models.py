"""The onboarding state: one row per user.

``current_agent``, ``agent_context`` and ``conversation_history`` arrive in a
separate, reversible migration (``0002_add_agent_fields_to_onboarding``) with
database-level defaults, so code from before it can still insert rows.

With ``AGENTS_ENABLED`` off the same release never touches those three columns: every
query defers them and ``onboarding.state_writer`` leaves them out of its inserts and
updates, so the migration can be rolled back under the running service.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models.functions import Now

from onboarding.steps import FIRST_STEP, LAST_STEP, step_get

# The columns of the agent feature and the migration that adds them.
AGENT_FIELDS = ("current_agent", "agent_context", "conversation_history")
AGENT_FIELDS_MIGRATION = ("onboarding", "0002_add_agent_fields_to_onboarding")


def agent_fields_in_use() -> bool:
    """False while ``AGENTS_ENABLED`` is off: the agent columns may be gone (rolled back), so nothing touches them.

    Read on every call, not at import, so a test (or a settings override) can switch it.
    """
    return bool(settings.AGENTS_ENABLED)


class OnboardingStateQuerySet(models.QuerySet["OnboardingState"]):
    """Reusable filters on onboarding states."""

    def for_user(self, user: Any) -> OnboardingStateQuerySet:
        """Only this user's state (there is at most one)."""
        return self.filter(user=user)

    def with_history_older_than(self, cutoff: Any) -> OnboardingStateQuerySet:
        """States whose conversation was last touched before ``cutoff`` and still hold history."""
        return self.filter(updated_at__lt=cutoff).exclude(conversation_history=[])


class OnboardingStateManager(models.Manager["OnboardingState"]):
    """Every query of the state, without the agent columns while the feature is off: a rolled-back table has none.

    Also the model's base manager (set below the model), which Django uses where the code does not choose: a
    related accessor (``user.onboarding_state``) and the collector of a user's deletion, which the admin's
    delete page runs with ``select_related`` and so without deferring anything on its own.
    """

    def get_queryset(self) -> OnboardingStateQuerySet:
        queryset = OnboardingStateQuerySet(self.model, using=self._db)
        return queryset if agent_fields_in_use() else queryset.defer(*AGENT_FIELDS)

    def for_user(self, user: Any) -> OnboardingStateQuerySet:
        """Only this user's state (there is at most one)."""
        return self.get_queryset().for_user(user)

    def with_history_older_than(self, cutoff: Any) -> OnboardingStateQuerySet:
        """States whose conversation was last touched before ``cutoff`` and still hold history."""
        return self.get_queryset().with_history_older_than(cutoff)


class StateRowsManager(models.Manager[Any]):
    """For a model with a ``state`` foreign key: a state joined in (``select_related``) comes without the
    agent columns while the feature is off. The admin's delete pages join the state into the rows they list.
    """

    def get_queryset(self) -> models.QuerySet[Any]:
        queryset = super().get_queryset()
        return queryset if agent_fields_in_use() else queryset.defer(*(f"state__{name}" for name in AGENT_FIELDS))


class OnboardingState(models.Model):
    """Where a user is in onboarding and everything they have answered."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="onboarding_state")
    current_step = models.PositiveSmallIntegerField(default=FIRST_STEP, db_default=FIRST_STEP)
    is_complete = models.BooleanField(default=False, db_default=False)
    # Validated answers keyed by step number ("1".."9"): JSON object keys are strings.
    step_data = models.JSONField(default=dict, db_default=models.Value({}, output_field=models.JSONField()))
    created_at = models.DateTimeField(auto_now_add=True, db_default=Now())
    # The row's version: onboarding.state_writer, the only writer of this table, moves it on every write.
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    # Added by 0002_add_agent_fields_to_onboarding.
    current_agent = models.CharField(max_length=32, null=True, blank=True, db_default=None)  # noqa: DJ001 - NULL is the contract
    agent_context = models.JSONField(default=dict, db_default=models.Value({}, output_field=models.JSONField()))
    conversation_history = models.JSONField(default=list, db_default=models.Value([], output_field=models.JSONField()))

    objects: ClassVar[OnboardingStateManager] = OnboardingStateManager()

    class Meta:
        db_table = "onboarding_states"
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(current_step__gte=FIRST_STEP) & models.Q(current_step__lte=LAST_STEP),
                name="onboarding_current_step_1_to_9",
            ),
        ]

    def __str__(self) -> str:
        # How ops name a state (admin titles, breadcrumbs, delete pages): whose it is and where they stand.
        return f"{self.user.email} - step {self.current_step} of {LAST_STEP}: {step_get(self.current_step).title}"


# PostgreSQL: the last %s entries of the jsonb array ``{array}`` (an SQL expression), in order; all of them when it
# has fewer, none for 0 or less (lax jsonpath clamps the range to the array's bounds). The chat turn reads the
# conversation history's end with it and cuts the history to CONVERSATION_HISTORY_MAX_ENTRIES with it.
JSONB_LAST_ENTRIES = "jsonb_path_query_array({array}, '$[last - $n + 1 to last]', jsonb_build_object('n', %s::integer))"


def last_entries(entries: list[Any], count: int) -> list[Any]:
    """The last ``count`` of ``entries``, as ``JSONB_LAST_ENTRIES`` takes them where the database does not:
    all when there are fewer, none for 0 or less (not ``entries[-0:]``, which is all of them)."""
    return entries[max(len(entries) - count, 0) :]


def column_of(field: models.Field[Any, Any]) -> str:
    """The column of a concrete field (Django types it optional: a field that is not concrete has none)."""
    assert field.column is not None, f"{field.name} has no column"
    return field.column


def objects_as_base_manager(model: type[models.Model]) -> None:
    """Make the model's ``objects`` its base manager too, so Django's own queries defer the agent columns as well.

    Set on the options rather than as ``Meta.base_manager_name``: a Meta option is part of the migration state,
    and its migration (after 0002) would be the one ``rollback onboarding`` undid instead of 0002. Called right
    after the class, before anything reads the cached ``_meta.base_manager``.
    """
    model._meta.base_manager_name = "objects"


objects_as_base_manager(OnboardingState)
