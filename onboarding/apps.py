"""The onboarding domain: state, steps, the form flow."""

from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    """The nine-step onboarding and its form API."""

    name = "onboarding"
    default_auto_field = "django.db.models.BigAutoField"
