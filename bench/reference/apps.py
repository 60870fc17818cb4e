"""The reference app."""

from django.apps import AppConfig


class ReferenceConfig(AppConfig):
    """One model and two views: just enough to be a chat turn."""

    name = "bench.reference"
    label = "reference"
    default_auto_field = "django.db.models.BigAutoField"
