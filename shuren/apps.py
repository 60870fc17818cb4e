"""The project's own app: it registers the deploy checks of ``shuren/checks.py``."""

from __future__ import annotations

from django.apps import AppConfig


class ShurenConfig(AppConfig):
    name = "shuren"

    def ready(self) -> None:
        from shuren import checks  # noqa: F401 - registering the checks is the import's effect
