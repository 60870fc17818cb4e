"""The one row a reference turn reads and writes."""

from django.conf import settings
from django.db import models


class Conversation(models.Model):
    """A user's chat: the messages as one JSON list, like the service's history."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    messages = models.JSONField(default=list)

    # Declared because mypy's Django plugin reads the service's settings, where this app is not installed.
    objects: models.Manager["Conversation"] = models.Manager()

    def __str__(self) -> str:
        return f"conversation {self.pk}"
